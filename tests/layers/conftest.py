"""Every layer test runs twice: on the fused C++ kernels and on the reference Python loop."""
import pytest

import rnnkit.layers.recurrent as recurrent
from rnnkit.layers import fused
from rnnkit.layers.scan import reference_scan


@pytest.fixture(autouse=True, params=["fused", "reference"])
def scan_path(request, monkeypatch):
    if request.param == "fused":
        if not fused.available():
            pytest.skip("the fused kernels are not available here: " + fused.backend())
    else:
        monkeypatch.setattr(recurrent, "scan", reference_scan)
    return request.param
