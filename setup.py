"""Build the optional fused CPU kernels (rnnkit.layers.fused._C) at install time.

Everything else about the package is in pyproject.toml. The extension needs torch at build
time; if torch or a C++ compiler is missing, or compiling fails, the install still succeeds
and rnnkit compiles on first use or runs the pure PyTorch path (it warns once).
The library targets a named instruction-set level (src/rnnkit/layers/fused/_build.py), and a
build record beside it lets rnnkit refuse it on a CPU or torch it was not built for.
Set RNNKIT_NO_BUILD=1 to skip the build, RNNKIT_ISA=x86-64-v3 (say) to pick the level,
RNNKIT_PORTABLE=1 for the baseline level.
"""
import importlib.util
import os
import sys

from setuptools import setup

CSRC = "src/rnnkit/layers/csrc"
ext_modules, cmdclass = [], {}


def _build_module():
    """rnnkit.layers.fused._build, loaded by path (rnnkit itself is not importable yet)."""
    spec = importlib.util.spec_from_file_location(
        "rnnkit_build", os.path.join("src", "rnnkit", "layers", "fused", "_build.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


if os.environ.get("RNNKIT_NO_BUILD", "0") != "1":
    try:
        import torch
        from torch.utils.cpp_extension import BuildExtension, CppExtension
    except ImportError:
        print("rnnkit: torch is not importable at build time; the fused kernels will be "
              "compiled on first use instead.", file=sys.stderr)
    else:
        build = _build_module()
        level = build.target_level()
        info = build.build_info(torch.__version__, level, CSRC)

        class OptionalBuild(BuildExtension):
            """Never fail the install because of the optional extension."""

            def run(self):
                self.built_ok = set()
                try:
                    super().run()
                except Exception as e:  # noqa: BLE001
                    print(f"rnnkit: building the fused kernels failed ({e}); rnnkit will use "
                          "the pure PyTorch path.", file=sys.stderr)
                    return
                # The record goes beside the library where it ends up (in place for editable
                # installs), and only for a library this build made: never for a stale one.
                for ext in self.extensions:
                    if ext.name in self.built_ok:
                        build.write_info(self.get_ext_fullpath(ext.name), info)

            def build_extension(self, ext):
                try:
                    super().build_extension(ext)
                except Exception as e:  # noqa: BLE001
                    print(f"rnnkit: building {ext.name} failed ({e}).", file=sys.stderr)
                    return
                self.built_ok.add(ext.name)

        sources = sorted(os.path.join(CSRC, f) for f in os.listdir(CSRC) if f.endswith(".cpp"))
        flags = info["flags"] + [f"-DRNNKIT_SRC_HASH={info['src']}"]
        ext_modules = [CppExtension("rnnkit.layers.fused._C", sources, extra_compile_args=flags,
                                    extra_link_args=build.OPENMP_FLAGS)]
        cmdclass = {"build_ext": OptionalBuild.with_options(use_ninja=True)}

setup(ext_modules=ext_modules, cmdclass=cmdclass)
