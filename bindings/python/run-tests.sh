#!/bin/bash
# python_bindings: `pip install` of bindings/python into a fresh virtual environment, against the
# library of a CMake build tree, then its pytest suite against the dev stack (REDSTORE_* environment).
#
# usage: run-tests.sh <source dir of bindings/python> <include dir> <directory of libredstore.so> <work dir>
#                     [<sanitizer runtimes to preload, colon-separated>]
#
# With runtimes (the REDSTORE_SANITIZE build), pytest runs with them in LD_PRELOAD and LeakSanitizer off
# (python's own allocations at exit are not the library's leaks; the C suites check those).
# The sources are copied into the work directory first: pip builds in the source tree, and the
# repository's own tree stays untouched by the test (two build trees may test at once).
# The Python is $REDSTORE_PYTHON, else the first of /usr/bin/python3 and python3 that has venv, pytest
# and setuptools (Debian: python3-venv python3-pytest python3-setuptools python3-dev, and swig).
set -euo pipefail
src=$1 inc=$2 libdir=$3 work=$4 preload=${5:-}

python=
for candidate in ${REDSTORE_PYTHON:-} /usr/bin/python3 python3; do
	if command -v "$candidate" > /dev/null 2>&1 &&
	   "$candidate" -c 'import venv, pytest, setuptools, sysconfig, os; assert os.path.exists(os.path.join(sysconfig.get_paths()["include"], "Python.h"))' 2> /dev/null; then
		python=$candidate
		break
	fi
done
[ -n "$python" ] || { echo "python_bindings: no python3 with venv, pytest, setuptools and Python.h (install python3-venv python3-pytest python3-setuptools python3-dev)"; exit 1; }
command -v swig > /dev/null || { echo "python_bindings: swig is not installed"; exit 1; }

rm -rf "$work"
mkdir -p "$work"
cp -r "$src" "$work/src"
rm -rf "$work/src/build" "$work/src"/*.egg-info "$work/src/redstore/capi.py" "$work/src/redstore/capi_wrap.c"

echo "== venv ($("$python" --version), $python)"
"$python" -m venv --system-site-packages "$work/venv"
echo "== pip install (SWIG + compile against $libdir)"
if ! REDSTORE_INCLUDE_DIR=$inc REDSTORE_LIB_DIR=$libdir \
	"$work/venv/bin/pip" install --no-build-isolation --no-index --no-cache-dir -q "$work/src" > "$work/pip.log" 2>&1; then
	cat "$work/pip.log"
	echo "python_bindings: pip install failed"
	exit 1
fi
if [ -n "$preload" ]; then
	export LD_PRELOAD=$preload
	export ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0
fi
# The module must come from the venv, linked to this build's library.
"$work/venv/bin/python" - "$libdir" <<'PY'
import os, sys, redstore, redstore._capi as ext
assert os.path.realpath(redstore.__file__).startswith(os.path.realpath(sys.prefix)), redstore.__file__
maps = open("/proc/self/maps").read()
lib = [l.split()[-1] for l in maps.splitlines() if "libredstore.so" in l]
assert lib and os.path.dirname(os.path.realpath(lib[0])) == os.path.realpath(sys.argv[1]), lib
print("redstore", redstore.version(), "from", os.path.dirname(redstore.__file__), "with", lib[0])
PY
echo "== pytest${preload:+ (preloading $preload, detect_leaks=0)}"
export REDSTORE_INCLUDE_DIR=$inc
export REDSTORE_EXAMPLES_DIR=${REDSTORE_EXAMPLES_DIR:-$(cd "$src/../../examples/python" && pwd)}
cd "$work/src/tests"
exec "$work/venv/bin/python" -m pytest -q -p no:cacheprovider
