"""Builds that move (issue 7): the fused library targets a named ISA level, carries a build
record, and is refused (then rebuilt in a cache keyed by the same facts) on a CPU, torch or
source tree it was not built for. Every CPU is simulated by passing its feature set."""
import importlib.util

import pytest

from rnnkit.layers.fused import _build, _loader

V3 = set(_build.required("x86-64-v3"))
V4 = set(_build.required("x86-64-v4"))


@pytest.mark.parametrize("arch,features,level", [
    ("x86_64", V4 | {"avx512_bf16"}, "x86-64-v4"),     # AVX-512 (e.g. Zen 4, Sapphire Rapids)
    ("x86_64", V3 | {"sha_ni"}, "x86-64-v3"),          # AVX2 only (e.g. Zen 3)
    ("x86_64", V3 - {"fma"}, "x86-64-v2"),
    ("x86_64", set(), "x86-64"),
    ("aarch64", {"fp", "asimd"}, "armv8-a"),
    ("riscv64", set(), None),
])
def test_level_is_the_highest_the_cpu_has(arch, features, level):
    assert _build.target_level(arch, features, env={}) == level


def test_level_overrides():
    assert _build.target_level("x86_64", V4, env={"RNNKIT_ISA": "x86-64-v3"}) == "x86-64-v3"
    assert _build.target_level("x86_64", V4, env={"RNNKIT_PORTABLE": "1"}) == "x86-64"
    assert _build.target_level("aarch64", set(), env={"RNNKIT_PORTABLE": "1"}) == "armv8-a"
    with pytest.raises(ValueError, match="RNNKIT_ISA"):
        _build.target_level("x86_64", V4, env={"RNNKIT_ISA": "native"})


def test_flags_never_use_native():
    for level in ("x86-64-v4", "x86-64-v3", "armv8-a", None):
        flags = _build.compile_flags(level)
        assert "-march=native" not in flags
        assert (f"-march={level}" in flags) == (level is not None)


def _info(**change):
    info = _build.build_info("2.13.0+cpu", "x86-64-v4")
    info["machine"] = _build.machine()
    info.update(change)
    return info


def test_a_v4_build_is_refused_on_an_avx2_cpu_and_accepted_on_avx512():
    why = _build.why_not_loadable(_info(), "2.13.0+cpu", features=V3)
    assert why and "avx512" in why and "illegal instruction" in why
    assert _build.why_not_loadable(_info(), "2.13.0+cpu", features=V4) is None


def test_other_torch_other_sources_other_machine_or_no_record_are_refused():
    assert "torch 2.12" in _build.why_not_loadable(_info(torch="2.12.0"), "2.13.0+cpu", features=V4)
    assert "other sources" in _build.why_not_loadable(_info(src="0" * 16), "2.13.0+cpu", features=V4)
    assert "built for" in _build.why_not_loadable(_info(machine="aarch64" if _build.machine() != "aarch64"
                                                        else "x86_64"), "2.13.0+cpu", features=V4)
    assert "no build record" in _build.why_not_loadable(None, "2.13.0+cpu", features=V4)


def test_cache_key_changes_with_torch_and_level():
    keys = {_loader.fingerprint(t, lv) for t in ("2.13.0", "2.14.1") for lv in ("x86-64-v3", "x86-64-v4")}
    assert len(keys) == 4


def test_installed_library_has_a_record_that_matches_this_machine():
    spec = importlib.util.find_spec("rnnkit.layers.fused._C")
    if spec is None:
        pytest.skip("no build from install")
    import torch
    info = _build.read_info(spec.origin)
    assert info is not None, "setup.py must write the build record beside the library"
    assert "-march=native" not in info["flags"]
    assert _build.why_not_loadable(info, torch.__version__) is None


def test_a_refused_installed_build_is_not_imported(monkeypatch, tmp_path):
    """The loader decides from the record alone; the refused library is never imported."""
    spec = importlib.util.find_spec("rnnkit.layers.fused._C")
    if spec is None:
        pytest.skip("no build from install")
    monkeypatch.setattr(_build, "cpu_features", lambda: {"sse2"})  # an old CPU
    monkeypatch.setattr(_build, "read_info", lambda lib: _info(torch=__import__("torch").__version__,
                                                               src=_build.source_hash()))
    imported = []
    monkeypatch.setattr(_loader.importlib, "import_module", lambda name: imported.append(name))
    mod, why = _loader._installed()
    assert mod is None and "illegal instruction" in why and imported == []
