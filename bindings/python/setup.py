"""Builds redstore.capi, the SWIG extension, against libredstore.

Where the library is found, first match wins:
  1. REDSTORE_INCLUDE_DIR and REDSTORE_LIB_DIR.
  2. REDSTORE_BUILD_DIR: a CMake build tree of this repository (headers from ../../include, the shared
     library from the build directory), when built from the repository itself (not from a copy).
  3. pkg-config redstore (an installed library; PKG_CONFIG_PATH for a custom prefix).
SWIG (Debian: swig) runs as part of the build: pip install --no-build-isolation bindings/python.
"""
import os
import shlex
import subprocess

from setuptools import Extension, setup
from setuptools.command.build_py import build_py

HERE = os.path.dirname(os.path.abspath(__file__))


def locate():
    inc, lib = os.environ.get("REDSTORE_INCLUDE_DIR"), os.environ.get("REDSTORE_LIB_DIR")
    if inc and lib:
        return [inc], [lib], []
    build, repo_inc = os.environ.get("REDSTORE_BUILD_DIR"), os.path.join(HERE, "..", "..", "include")
    if build and os.path.isfile(os.path.join(repo_inc, "redstore.h")):
        return [repo_inc], [os.path.abspath(build)], []
    try:
        out = subprocess.run(["pkg-config", "--cflags", "--libs", "redstore"], check=True,
                             capture_output=True, text=True).stdout
    except (OSError, subprocess.CalledProcessError) as e:
        raise SystemExit("redstore: libredstore not found: set REDSTORE_BUILD_DIR to a CMake build "
                         "directory, or install the library where pkg-config finds it (%s)" % e)
    flags = shlex.split(out)
    incs = [f[2:] for f in flags if f.startswith("-I")]
    libs = [f[2:] for f in flags if f.startswith("-L")]
    return incs, libs, [f for f in flags if not f.startswith(("-I", "-L", "-l"))]


class BuildPyAfterExt(build_py):
    """SWIG writes capi.py while building the extension: build it first so the module is packaged."""

    def run(self):
        self.run_command("build_ext")
        super().run()


incs, libdirs, extra = locate()
capi = Extension(
    "redstore._capi",
    sources=["redstore/capi.i"],
    swig_opts=["-threads", "-DSWIGWORDSIZE64"] + ["-I" + d for d in incs],
    include_dirs=incs,
    library_dirs=libdirs,
    runtime_library_dirs=libdirs,
    libraries=["redstore"],
    extra_compile_args=extra + ["-Wno-unused-parameter"],
)

setup(ext_modules=[capi], cmdclass={"build_py": BuildPyAfterExt})
