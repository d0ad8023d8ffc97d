#!/bin/sh
# Fails when a header of include/redstore/ is not reached from the umbrella header redstore.h: the
# headers are installed wholesale, and only what redstore.h reaches is public API (STYLE.md).
#
# usage: check_umbrella.sh <cc> <include dir> <translation unit that includes redstore.h>
set -eu
cc=$1 inc=$2 tu=$3

# The preprocessor's dependency list is every header redstore.h reaches, directly or not.
deps=$("$cc" -std=c11 -I"$inc" -M "$tu") || { echo "header_umbrella_complete: $cc -M failed"; exit 1; }
# shellcheck disable=SC1003 # the dependency list separates words with spaces and backslash-newlines
deps=$(printf '%s\n' "$deps" | tr -s ' \\' '\n' | sed -n 's|.*/redstore/\([^/]*\.h\)$|\1|p' | sort -u)

missing=0
for header in "$inc"/redstore/*.h; do
	[ -e "$header" ] || continue
	name=${header##*/}
	if ! printf '%s\n' "$deps" | grep -qx "$name"; then
		echo "include/redstore/$name is not reached from include/redstore.h: add #include \"redstore/$name\""
		missing=1
	fi
done
[ $missing -eq 0 ] && echo "every include/redstore/*.h is reached from redstore.h"
exit $missing
