#!/bin/sh
# Checks the symbols a library exports.
#
# usage: check_symbols.sh shared <libredstore.so> <expected SONAME>
#        check_symbols.sh static <libredstore.a>
#
# shared: every dynamic symbol the library defines starts with `redstore_` (never `redstore__`, the
#         prefix of internal helpers, which must stay hidden); the version script's node (REDSTORE_0)
#         is defined; the SONAME is the expected one.
# static: every global symbol of the archive starts with `redstore_` (hidden helpers included: a
#         static link cannot hide them, so an unprefixed one could collide with the program's own).
set -eu
mode=$1 lib=$2

[ -f "$lib" ] || { echo "$lib: no such file"; exit 1; }

case $mode in
shared) listing=$(nm -D --defined-only "$lib") || { echo "nm -D $lib failed"; exit 1; } ;;
static) listing=$(nm -g --defined-only "$lib") || { echo "nm -g $lib failed"; exit 1; } ;;
*) echo "usage: $0 shared|static <library> [soname]"; exit 2 ;;
esac

# "address type name[@[@]version]"; archive member headers ("x.c.o:") and blank lines have one field.
names=$(printf '%s\n' "$listing" | awk 'NF >= 2 { print $NF }' | sed 's/@.*//' | sort -u)
[ -n "$names" ] || { echo "$lib: defines no symbols at all"; exit 1; }

fail=0
count=0
for sym in $names; do
	case $sym in
	REDSTORE_[0-9]*) [ "$mode" = shared ] && continue ;;   # a version node of the version script
	_init|_fini|_edata|_end|__bss_start) [ "$mode" = shared ] && continue ;;   # linker-defined
	__odr_asan[._]*|__asan_*|___asan_*|__ubsan_*|__sanitizer_*) continue ;;   # REDSTORE_SANITIZE instrumentation
	esac
	case $mode:$sym in
	shared:redstore__*)
		echo "exported internal symbol: $sym (redstore__ helpers must be static or hidden)"; fail=1 ;;
	*:redstore_?*)
		count=$((count + 1)) ;;
	*)
		echo "symbol without the redstore_ prefix: $sym"; fail=1 ;;
	esac
done

if [ "$mode" = shared ]; then
	expected=$3
	dynamic=$(objdump -p "$lib") || { echo "objdump -p $lib failed"; exit 1; }
	soname=$(printf '%s\n' "$dynamic" | awk '$1 == "SONAME" { print $2 }')
	if [ "$soname" != "$expected" ]; then
		echo "SONAME is \"$soname\", expected \"$expected\""
		fail=1
	fi
	# The version script names the node; without it the exports are unversioned.
	if ! printf '%s\n' "$dynamic" | sed -n '/^Version definitions:/,/^$/p' | grep -q 'REDSTORE_0'; then
		echo "no REDSTORE_0 version definition: is the version script (lib/redstore.map) applied?"
		fail=1
	fi
fi

if [ $fail -eq 0 ]; then
	echo "$lib: $count symbols, all prefixed redstore_"
	[ "$mode" = shared ] && echo "SONAME $soname, version node REDSTORE_0"
fi
exit $fail
