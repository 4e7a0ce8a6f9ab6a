"""Every layer test runs on the fused C++ kernels, once with the default GEMM choice and once
with each GEMM backend forced for every product (those that run on this CPU; the others are
skipped with the probe's reason), and on the reference Python loop."""
import pytest

import rnnkit.layers.recurrent as recurrent
from rnnkit.layers import fused
from rnnkit.layers.fused import _loader, backends
from rnnkit.layers.scan import reference_scan


@pytest.fixture(autouse=True, params=["fused", "fused-aten", "fused-blas", "fused-dnnl", "reference"])
def scan_path(request, monkeypatch):
    if request.param.startswith("fused"):
        if not fused.available():
            pytest.skip("the fused kernels are not available here: " + fused.backend())
        if "-" in request.param:
            name = request.param.split("-")[1]
            why = backends.probe(_loader.load())[name]
            if why is not None:
                pytest.skip(f"the {name} GEMM backend does not run on this CPU: {why}")
            monkeypatch.setenv("RNNKIT_GEMM", name)
        else:
            monkeypatch.delenv("RNNKIT_GEMM", raising=False)
    else:
        monkeypatch.setattr(recurrent, "scan", reference_scan)
    return request.param
