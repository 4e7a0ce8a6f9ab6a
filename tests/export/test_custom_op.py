"""The fused kernel as the registered operator ``torch.ops.rnnkit.fused_scan``: opcheck (schema,
fake implementation, autograd registration), gradients against the reference scan, and
torch.export / torch.jit.trace / torch.compile(fullgraph=True) of Forecasters (LSTM, GRU; with and
without lengths) on the fused path, compared with eager on inputs of other shapes."""
import warnings
from pathlib import Path

import pytest
import torch
from torch.export import Dim

from rnnkit.errors import InvalidArgumentError
from rnnkit.layers import fused
from rnnkit.layers.scan import reference_scan
from rnnkit.models import Forecaster, ForecasterConfig

pytestmark = pytest.mark.skipif(not fused.backend().startswith("fused-cpp"),
                                reason="the fused kernels are not available here: " + fused.backend())
MODES = {"lstm": (0, 4), "gru": (1, 3), "rnn": (2, 1)}


def _op_args(mode, B=3, T=5, I=2, H=4, lengths=(5, 2, 4), requires_grad=False, reset_after=True):
    g = torch.Generator().manual_seed(0)
    G = MODES[mode][1]
    t = lambda *s: torch.randn(*s, generator=g, dtype=torch.float64).requires_grad_(requires_grad)  # noqa: E731
    c0 = t(B, H) if mode == "lstm" else None
    return [t(B, T, I), t(B, H), c0, t(G * H, I), t(G * H, H), t(G * H), t(G * H),
            None if lengths is None else torch.tensor(lengths), None,
            MODES[mode][0], False, reset_after, False, requires_grad, -1]


@pytest.mark.parametrize("mode", ["lstm", "gru"])
def test_opcheck(mode):
    op = torch.ops.rnnkit.fused_scan.default
    torch.library.opcheck(op, _op_args(mode, lengths=None, requires_grad=True))
    # with lengths, the work buffers kept for backward (outputs 3..9) leave the steps of finished
    # rows unwritten, so two runs differ there and the eager-vs-AOT comparison of every output
    # cannot hold; AOT autograd with lengths is checked on real models in the compile test below
    torch.library.opcheck(op, _op_args(mode, requires_grad=True),
                          test_utils=("test_schema", "test_autograd_registration", "test_faketensor"))


@pytest.mark.parametrize("mode,reset_after", [("lstm", True), ("gru", True), ("gru", False), ("rnn", True)])
def test_op_gradients_match_the_reference_scan(mode, reset_after):
    args = _op_args(mode, requires_grad=True, reset_after=reset_after)
    r = torch.ops.rnnkit.fused_scan(*args)
    x, h0, c0, w_ih, w_hh, b_ih, b_hh, lengths = args[:8]
    ref = reference_scan(mode, x, h0, c0, w_ih, w_hh, b_ih, b_hh, lengths, reset_after=reset_after)
    torch.testing.assert_close(r[0], ref[0])
    torch.testing.assert_close(r[1], ref[1])
    inputs = [a for a in args[:7] if a is not None]
    w = torch.randn_like(r[0])
    got = torch.autograd.grad((r[0] * w).sum() + r[1].sum(), inputs)
    want = torch.autograd.grad((ref[0] * w).sum() + ref[1].sum(), inputs)
    for a, b in zip(got, want):
        torch.testing.assert_close(a, b)


def test_bad_lengths_are_refused_when_the_op_runs():
    args = _op_args("gru", lengths=(5, 0, 6))
    with pytest.raises(InvalidArgumentError, match=r"every length in \[1, 5\]"):
        torch.ops.rnnkit.fused_scan(*args)


def _model(cell):
    torch.manual_seed(0)
    return Forecaster(ForecasterConfig(n_features=3, cell=cell, units=8, layers=2, horizon=2,
                                       residual_index=0)).eval()


def _inputs(lengths):
    x, x2 = torch.randn(4, 9, 3), torch.randn(3, 6, 3)
    return ((x, torch.tensor([9, 3, 7, 1])), (x2, torch.tensor([6, 2, 5]))) if lengths else ((x,), (x2,))


CASES = [(c, w) for c in ("lstm", "gru") for w in (True, False)]


@pytest.mark.parametrize("cell,lengths", CASES)
def test_torch_export(cell, lengths):
    m = _model(cell)
    example, other = _inputs(lengths)
    b, t = Dim("batch"), Dim("time")
    shapes = ({0: b, 1: t}, {0: b}) if lengths else ({0: b, 1: t},)
    ep = torch.export.export(m, example, dynamic_shapes=shapes)
    assert sum("rnnkit.fused_scan" in str(n.target) for n in ep.graph.nodes) == 2   # 2 layers, fused
    with torch.no_grad():
        for args in (example, other):
            torch.testing.assert_close(ep.module()(*args), m(*args), rtol=1e-6, atol=1e-6)


def test_exported_graph_checks_lengths_when_it_runs():
    m = _model("gru")
    (x, lengths), _ = _inputs(True)
    ep = torch.export.export(m, (x, lengths), dynamic_shapes=({0: Dim("b"), 1: Dim("t")}, {0: Dim("b")}))
    with pytest.raises(InvalidArgumentError, match="lengths"):
        ep.module()(x, torch.tensor([9, 3, 10, 1]))


@pytest.mark.parametrize("cell,lengths", CASES)
def test_torch_jit_trace(cell, lengths):
    m = _model(cell)
    example, other = _inputs(lengths)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", torch.jit.TracerWarning)
        traced = torch.jit.trace(m, example, check_trace=False)
    assert "rnnkit::fused_scan" in str(traced.inlined_graph)
    with torch.no_grad():
        for args in (example, other):
            torch.testing.assert_close(traced(*args), m(*args), rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("cell,lengths", CASES)
def test_torch_compile_fullgraph_forward_and_backward(cell, lengths):
    """aot_eager: dynamo's full-graph capture and AOT autograd through the fake implementation
    and the registered backward (fast); inductor itself is in the next test."""
    m = _model(cell).train()
    example, other = _inputs(lengths)
    torch._dynamo.reset()
    compiled = torch.compile(m, fullgraph=True, dynamic=True, backend="aot_eager")
    for args in (example, other):
        xa = args[0].clone().requires_grad_(True)
        xb = args[0].clone().requires_grad_(True)
        ya, yb = compiled(xa, *args[1:]), m(xb, *args[1:])
        torch.testing.assert_close(ya, yb, rtol=1e-6, atol=1e-6)
        ga = torch.autograd.grad(ya.pow(2).sum(), [xa, *m.parameters()])
        gb = torch.autograd.grad(yb.pow(2).sum(), [xb, *m.parameters()])
        for a, b in zip(ga, gb):
            torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6)


@pytest.mark.skipif(" " in str(Path(torch.__file__).parent), reason=(
    "torch's Inductor passes its -L library folder to the linker unquoted, so it cannot link when torch "
    "is installed under a path with a space (pytorch/pytorch PR 191010); the op itself is not involved"))
def test_torch_compile_inductor():
    m = _model("gru")
    example, other = _inputs(True)
    torch._dynamo.reset()
    compiled = torch.compile(m, fullgraph=True, dynamic=True)
    with torch.no_grad():
        for args in (example, other):
            torch.testing.assert_close(compiled(*args), m(*args), rtol=1e-6, atol=1e-6)
