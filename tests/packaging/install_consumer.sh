#!/bin/bash
# install_consumer: installs the build tree into a fresh prefix, then builds tests/packaging/consumer
# against the installed files two ways and runs both programs:
#   (a) cc main.c $(pkg-config --cflags --libs redstore)
#   (b) a CMake project: find_package(redstore REQUIRED) + target_link_libraries(consumer redstore::redstore)
# Each must print "consumer ok" and must have used the installed headers and library, not the build tree's.
set -euo pipefail

usage() {
	echo "usage: $0 --cmake CMAKE --build-dir DIR --config CFG --cc CC --pkg-config PKGCONF --consumer DIR --include DIR --sanitize 0|1" >&2
	exit 2
}
cmake=cmake build='' config='' cc=cc pkgconf=pkg-config consumer='' include='' sanitize=0
while [ $# -gt 0 ]; do
	[ $# -ge 2 ] || usage
	case $1 in
	--cmake) cmake=$2 ;;
	--build-dir) build=$2 ;;
	--config) config=$2 ;;
	--cc) cc=$2 ;;
	--pkg-config) pkgconf=$2 ;;
	--consumer) consumer=$2 ;;
	--include) include=$2 ;;
	--sanitize) sanitize=$2 ;;
	*) usage ;;
	esac
	shift 2
done
if [ -z "$build" ] || [ -z "$consumer" ] || [ -z "$include" ]; then usage; fi

step() { echo "== $*"; }
die() { echo "install_consumer: FAIL: $*" >&2; exit 1; }
# Runs a command quietly, showing its output only when it fails.
quiet() {
	local log=$work/last.log
	if ! "$@" > "$log" 2>&1; then
		cat "$log" >&2
		die "command failed: $*"
	fi
}
canon() { readlink -f -- "$1"; }

work=$(mktemp -d "${TMPDIR:-/tmp}/redstore-install.XXXXXX")
trap 'rm -rf "$work"' EXIT INT TERM
prefix=$work/prefix

# Under the sanitizers the installed library needs the ASan runtime loaded first: the consumer links
# it too. Leak checking is off: it needs ptrace, which containers often forbid.
san_flags=()
if [ "$sanitize" = 1 ]; then
	san_flags=('-fsanitize=address,undefined')
	export ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0
fi

# ------------------------------------------------------------------------------------------ install
step "cmake --install $build --prefix $prefix"
unset DESTDIR
config_args=()
[ -n "$config" ] && config_args=(--config "$config")
quiet "$cmake" --install "$build" --prefix "$prefix" "${config_args[@]}"

# The library directory GNUInstallDirs chose (lib, lib64, lib/x86_64-linux-gnu...).
so=$(find "$prefix" -name libredstore.so -print | head -n 1)
[ -n "$so" ] || die "no libredstore.so was installed under $prefix"
libdir=$(dirname "$so")
echo "library directory: ${libdir#"$prefix"/}"

for f in include/redstore.h "${libdir#"$prefix"/}/libredstore.a" \
         "${libdir#"$prefix"/}/cmake/redstore/redstoreConfig.cmake" \
         "${libdir#"$prefix"/}/cmake/redstore/redstoreConfigVersion.cmake"; do
	[ -e "$prefix/$f" ] || die "not installed: $f"
done
[ -L "$so" ] || die "libredstore.so is not a symlink to the versioned library"
soname=$(objdump -p "$so" | awk '$1 == "SONAME" { print $2 }')
if [ -z "$soname" ] || [ ! -e "$libdir/$soname" ]; then
	die "the SONAME link (${soname:-none}) is not installed in $libdir"
fi
# Every public header of the source tree is installed.
for h in "$include"/redstore/*.h; do
	[ -e "$prefix/include/redstore/${h##*/}" ] || die "not installed: include/redstore/${h##*/}"
done

# ------------------------------------------------------------------------------------------ (a) pkg-config
step "(a) pkg-config"
pc=$(find "$prefix" -name redstore.pc -print | head -n 1)
[ -n "$pc" ] || die "no redstore.pc was installed under $prefix"
PKG_CONFIG_PATH=$(dirname "$pc")
export PKG_CONFIG_PATH
# pkg-config must describe the prefix the files are in, or the consumer silently compiles against
# whatever other copy lives at the configure-time prefix.
pc_include=$("$pkgconf" --variable=includedir redstore) || die "pkg-config cannot read $pc"
pc_libdir=$("$pkgconf" --variable=libdir redstore)
if [ "$(canon "$pc_include")" != "$(canon "$prefix/include")" ] ||
   [ "$(canon "$pc_libdir")" != "$(canon "$libdir")" ]; then
	echo "redstore.pc, installed in $(dirname "$pc"), says:" >&2
	grep -E '^(prefix|exec_prefix|libdir|includedir)=' "$pc" >&2
	die "redstore.pc points at includedir=$pc_include libdir=$pc_libdir, not at the install prefix $prefix:
the .pc file is not relocatable (its prefix was fixed at configure time, so 'cmake --install --prefix'
installs a .pc file that describes another prefix). Make it relative to \${pcfiledir}."
fi
pc_flags=$("$pkgconf" --cflags --libs redstore) || die "pkg-config --cflags --libs redstore failed"
echo "pkg-config --cflags --libs redstore: $pc_flags"
# shellcheck disable=SC2086 # the flags are words
quiet "$cc" -std=c11 -Wall -Wextra -Werror "${san_flags[@]}" -o "$work/consumer-pkgconfig" \
	"$consumer/main.c" $pc_flags

# ------------------------------------------------------------------------------------------ (b) CMake
step "(b) find_package(redstore)"
cmake_args=(-S "$consumer" -B "$work/consumer-build" -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_C_COMPILER="$cc"
	-DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF -DCMAKE_BUILD_TYPE=Debug)
if [ "$sanitize" = 1 ]; then
	cmake_args+=(-DCMAKE_C_FLAGS="${san_flags[*]}" -DCMAKE_EXE_LINKER_FLAGS="${san_flags[*]}")
fi
quiet "$cmake" "${cmake_args[@]}"
found=$(sed -n 's/^redstore_DIR:PATH=//p' "$work/consumer-build/CMakeCache.txt")
[ "$(canon "$found")" = "$(canon "$libdir/cmake/redstore")" ] ||
	die "find_package(redstore) found $found, not the installed $libdir/cmake/redstore"
quiet "$cmake" --build "$work/consumer-build"

# ------------------------------------------------------------------------------------------ run both
for how in pkgconfig cmake; do
	case $how in
	pkgconfig) bin=$work/consumer-pkgconfig ;;
	cmake) bin=$work/consumer-build/consumer ;;
	esac
	step "run the $how consumer"
	[ -x "$bin" ] || die "$bin was not built"
	# The program must load the installed library.
	if command -v ldd > /dev/null; then
		loaded=$(LD_LIBRARY_PATH=$libdir ldd "$bin" | awk '$1 ~ /^libredstore\.so/ { print $3 }')
		[ "$(canon "$loaded")" = "$(canon "$libdir/$soname")" ] ||
			die "the $how consumer loads libredstore from '$loaded', not from $libdir"
	fi
	out=$(LD_LIBRARY_PATH=$libdir "$bin" 2>&1) || { echo "$out" >&2; die "the $how consumer failed"; }
	echo "$out"
	[ "$out" = "consumer ok" ] || die "the $how consumer printed \"$out\", expected \"consumer ok\""
done

echo "install_consumer: ok (prefix layout: include, ${libdir#"$prefix"/})"
