"""Build the optional fused CPU kernels (rnnkit.layers.fused._C) at install time.

Everything else about the package is in pyproject.toml. The extension needs torch at build
time; if torch or a C++ compiler is missing, or compiling fails, the install still succeeds
and rnnkit compiles on first use or runs the pure PyTorch path (it warns once).
Set RNNKIT_NO_BUILD=1 to skip the build, RNNKIT_PORTABLE=1 to build without -march=native.
"""
import hashlib
import os
import sys

from setuptools import setup
from setuptools.command.build_ext import build_ext

CSRC = "src/rnnkit/layers/csrc"
ext_modules, cmdclass = [], {}


def _source_hash():
    """Same as rnnkit.layers.fused._loader.source_hash: the loader refuses a stale build."""
    h = hashlib.sha256()
    for name in sorted(os.listdir(CSRC)):
        if name.endswith((".cpp", ".h")):
            with open(os.path.join(CSRC, name), "rb") as f:
                h.update(name.encode() + f.read())
    return h.hexdigest()[:16]


def _flags():
    flags = ["-O3", "-fno-math-errno", "-fno-trapping-math", "-fopenmp-simd"]
    if os.environ.get("RNNKIT_PORTABLE", "0") != "1":
        flags.append("-march=native")
    return flags + [f"-DRNNKIT_SRC_HASH={_source_hash()}"]


if os.environ.get("RNNKIT_NO_BUILD", "0") != "1":
    try:
        from torch.utils.cpp_extension import BuildExtension, CppExtension
    except ImportError:
        print("rnnkit: torch is not importable at build time; the fused kernels will be "
              "compiled on first use instead.", file=sys.stderr)
    else:
        class OptionalBuild(BuildExtension):
            """Never fail the install because of the optional extension."""

            def run(self):
                try:
                    super().run()
                except Exception as e:  # noqa: BLE001
                    print(f"rnnkit: building the fused kernels failed ({e}); rnnkit will use "
                          "the pure PyTorch path.", file=sys.stderr)

            def build_extension(self, ext):
                try:
                    super().build_extension(ext)
                except Exception as e:  # noqa: BLE001
                    print(f"rnnkit: building {ext.name} failed ({e}).", file=sys.stderr)

        sources = sorted(os.path.join(CSRC, f) for f in os.listdir(CSRC) if f.endswith(".cpp"))
        ext_modules = [CppExtension("rnnkit.layers.fused._C", sources,
                                    extra_compile_args=_flags())]
        cmdclass = {"build_ext": OptionalBuild.with_options(use_ninja=True)}

setup(ext_modules=ext_modules, cmdclass=cmdclass)
