"""softmax_cross_entropy equals torch's F.cross_entropy (values and gradients) and refuses bad shapes."""
import pytest
import torch
from hypothesis import given, settings, strategies as st
from torch.nn import functional as F

from rnnkit.errors import InvalidArgumentError
from rnnkit.models.softmax_loss import softmax_cross_entropy


@settings(max_examples=30, deadline=None)
@given(n=st.integers(1, 40), v=st.integers(1, 300), scale=st.sampled_from([0.1, 1.0, 30.0]), seed=st.integers(0, 99))
def test_value_and_gradient_equal_torch_cross_entropy(n, v, scale, seed):
    g = torch.Generator().manual_seed(seed)
    logits = (torch.randn(n, v, generator=g, dtype=torch.float64) * scale).requires_grad_()
    targets = torch.randint(0, v, (n,), generator=g)
    mine = softmax_cross_entropy(logits, targets)
    (mine * 3).backward()                        # an upstream gradient other than 1
    got = logits.grad.clone()
    logits.grad = None
    ref = F.cross_entropy(logits, targets)
    (ref * 3).backward()
    assert mine.item() == pytest.approx(ref.item(), rel=1e-12, abs=1e-12)
    assert torch.allclose(got, logits.grad, rtol=1e-10, atol=1e-14)


def test_float32_large_vocabulary():
    logits = torch.randn(70, 10001, requires_grad=True)
    t = torch.randint(0, 10001, (70,))
    softmax_cross_entropy(logits, t).backward()
    got = logits.grad.clone()
    logits.grad = None
    F.cross_entropy(logits, t).backward()
    assert torch.allclose(got, logits.grad, atol=1e-8)


@pytest.mark.parametrize("shape, tshape", [((4, 3, 2), (4,)), ((4, 3), (5,)), ((4,), (4,))])
def test_bad_shapes_are_one_clear_error(shape, tshape):
    with pytest.raises(InvalidArgumentError, match="shapes"):
        softmax_cross_entropy(torch.zeros(shape), torch.zeros(tshape, dtype=torch.long))


def test_a_second_backward_over_one_graph_is_a_clear_error():
    x = torch.randn(3, 4, requires_grad=True)
    loss = softmax_cross_entropy(x, torch.tensor([0, 1, 2]))
    loss.backward(retain_graph=True)
    with pytest.raises(RuntimeError, match="ran twice"):
        loss.backward()
