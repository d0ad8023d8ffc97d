#!/bin/sh
# header_clang_module: the public headers as Swift sees them, checked with Clang (no Swift toolchain is
# installable here).
#  1. Every include/redstore/*.h opens REDSTORE_ASSUME_NONNULL_BEGIN after each REDSTORE_BEGIN_DECLS and
#     closes it before REDSTORE_END_DECLS: a header without the region would have no nullability at all,
#     which step 2 cannot see (Clang asks for completeness only in files that annotate something).
#  2. Each header alone, as strict C11 and C++11, with -Wnullability-completeness(-on-arrays) -Werror:
#     inside the region an unmarked pointer is non-null, so what is left to catch is a pointer to a
#     pointer or an array parameter without a mark on every level.
#  3. bindings/swift/Sources/CRedstore/module.modulemap builds as a Clang module (`clang -fmodules
#     -fsyntax-only`, the same flags) and a program that imports it sees the API.
#  4. Through the module, passing NULL where a header says non-null is diagnosed (-Wnonnull): the
#     annotations are in effect, not just present.
#
# usage: check_clang_module.sh <clang> <include dir> <module map dir>
set -eu
clang=$1 inc=$2 mapdir=$3

work=$(mktemp -d "${TMPDIR:-/tmp}/redstore-clang-module.XXXXXX")
trap 'rm -rf "$work"' EXIT INT TERM
strict="-pedantic -Wall -Wextra -Werror -Wnullability-completeness -Wnullability-completeness-on-arrays -Wnullability"
fail=0

echo "== 1. every header declares inside an assume-nonnull region"
for header in "$inc"/redstore/*.h; do
	name=${header##*/}
	decls=$(grep -c '^REDSTORE_BEGIN_DECLS$' "$header" || true)
	begins=$(grep -c '^REDSTORE_ASSUME_NONNULL_BEGIN$' "$header" || true)
	ends=$(grep -c '^REDSTORE_ASSUME_NONNULL_END$' "$header" || true)
	if [ "$decls" -eq 0 ]; then
		echo "include/redstore/$name: open its declarations with REDSTORE_BEGIN_DECLS and REDSTORE_ASSUME_NONNULL_BEGIN"
		echo "  (not a hand-written extern \"C\" block), close them with REDSTORE_ASSUME_NONNULL_END and"
		echo "  REDSTORE_END_DECLS, and mark the pointers that may be NULL with REDSTORE_NULLABLE"
		fail=1
	elif [ "$begins" -ne "$decls" ] || [ "$ends" -ne "$decls" ]; then
		echo "include/redstore/$name: put REDSTORE_ASSUME_NONNULL_BEGIN on the line after each REDSTORE_BEGIN_DECLS"
		echo "  and REDSTORE_ASSUME_NONNULL_END on the line before each REDSTORE_END_DECLS, then mark the"
		echo "  pointers that may be NULL with REDSTORE_NULLABLE (found $decls/$begins/$ends)"
		fail=1
	fi
done

echo "== 2. each header alone, C11 and C++11, nullability complete"
for header in "$inc"/redstore/*.h "$inc"/redstore.h; do
	rel=${header#"$inc"/}
	printf '#include <%s>\n' "$rel" > "$work/one.c"
	# $strict is a list of flags: split on purpose.
	# shellcheck disable=SC2086
	if ! "$clang" -x c -std=c11 $strict -fsyntax-only -I"$inc" "$work/one.c" ||
	   ! "$clang" -x c++ -std=c++11 $strict -fsyntax-only -I"$inc" "$work/one.c"; then
		echo "include/$rel: fails the nullability check above"
		fail=1
	fi
done

echo "== 3. the module map builds as a Clang module"
cat > "$work/import.c" <<'TU'
#pragma clang module import CRedstore
int main(void)
{
	redstore_client *client = NULL;
	char id[REDSTORE_ID_SIZE];
	if (redstore_id_new(id) != REDSTORE_OK || redstore_client_new(&client, NULL) != REDSTORE_OK)
		return 1;
	redstore_client_free(client);
	return redstore_version(NULL, NULL, NULL)[0] == '\0';
}
TU
# shellcheck disable=SC2086
if ! "$clang" -std=c11 $strict -fmodules -fmodules-cache-path="$work/cache" -fsyntax-only -I"$inc" \
	-fmodule-map-file="$mapdir/module.modulemap" "$work/import.c"; then
	echo "the CRedstore module does not build or does not export the API"
	fail=1
fi

echo "== 4. NULL for a non-null parameter is diagnosed through the module"
cat > "$work/null.c" <<'TU'
#pragma clang module import CRedstore
int main(void)
{
	return redstore_client_use_store(NULL, "demo");
}
TU
# shellcheck disable=SC2086
if "$clang" -std=c11 -Werror=nonnull -fmodules -fmodules-cache-path="$work/cache" -fsyntax-only -I"$inc" \
	-fmodule-map-file="$mapdir/module.modulemap" "$work/null.c" > "$work/null.log" 2>&1; then
	echo "passing NULL as the client of redstore_client_use_store() compiled without a diagnostic:"
	echo "the nullability annotations are not in effect"
	fail=1
elif ! grep -q 'nonnull' "$work/null.log"; then
	cat "$work/null.log"
	echo "the NULL argument failed to compile for another reason than -Wnonnull"
	fail=1
fi

[ $fail -eq 0 ] && echo "header_clang_module: ok"
exit $fail
