"""Temperature, top-k and top-p against distributions computed by hand."""
import math

import pytest
import torch

from rnnkit.errors import InvalidArgumentError
from rnnkit.models.sampling import check_sampling, next_token_probs

P = [0.4, 0.3, 0.2, 0.1]
Z = torch.log(torch.tensor(P, dtype=torch.float64))


def close(a, b):
    return all(math.isclose(x, y, abs_tol=1e-9) for x, y in zip(a.tolist(), b))


def test_temperature_one_is_softmax_and_sums_to_one():
    assert close(next_token_probs(Z), P)
    assert close(next_token_probs(Z + 3.0), P)      # shift invariant


def test_temperature_sharpens_and_flattens():
    # T = 0.5: p_i^2 / sum p^2
    sq = [p * p for p in P]
    assert close(next_token_probs(Z, temperature=0.5), [s / sum(sq) for s in sq])
    # T = 2: sqrt(p_i) / sum sqrt(p)
    rt = [math.sqrt(p) for p in P]
    assert close(next_token_probs(Z, temperature=2.0), [r / sum(rt) for r in rt])


def test_top_k_renormalises_the_k_largest():
    assert close(next_token_probs(Z, top_k=2), [0.4 / 0.7, 0.3 / 0.7, 0, 0])
    assert close(next_token_probs(Z, top_k=1), [1, 0, 0, 0])
    assert close(next_token_probs(Z, top_k=10), P)
    shuffled = torch.log(torch.tensor([0.1, 0.4, 0.2, 0.3], dtype=torch.float64))
    assert close(next_token_probs(shuffled, top_k=2), [0, 0.4 / 0.7, 0, 0.3 / 0.7])


def test_top_p_keeps_the_smallest_set_reaching_the_mass():
    assert close(next_token_probs(Z, top_p=0.39), [1, 0, 0, 0])          # 0.4 already reaches it
    assert close(next_token_probs(Z, top_p=0.41), [0.4 / 0.7, 0.3 / 0.7, 0, 0])
    assert close(next_token_probs(Z, top_p=0.5), [0.4 / 0.7, 0.3 / 0.7, 0, 0])
    assert close(next_token_probs(Z, top_p=0.69), [0.4 / 0.7, 0.3 / 0.7, 0, 0])
    assert close(next_token_probs(Z, top_p=0.75), [0.4 / 0.9, 0.3 / 0.9, 0.2 / 0.9, 0])
    assert close(next_token_probs(Z, top_p=1.0), P)
    assert close(next_token_probs(Z, top_p=0.01), [1, 0, 0, 0])          # never empty


def test_top_k_then_top_p():
    # top_k=3 -> [4/9, 3/9, 2/9]; top_p=0.5 keeps 4/9 + 3/9
    assert close(next_token_probs(Z, top_k=3, top_p=0.5), [4 / 7, 3 / 7, 0, 0])


def test_greedy_is_argmax_first_on_ties():
    assert close(next_token_probs(Z, temperature=0), [1, 0, 0, 0])
    tie = torch.tensor([0.0, 2.0, 2.0, 1.0])
    assert close(next_token_probs(tie, temperature=0), [0, 1, 0, 0])


def test_batched_rows():
    z = torch.stack([Z, Z.flip(0)])
    out = next_token_probs(z, top_k=1)
    assert out.tolist() == [[1, 0, 0, 0], [0, 0, 0, 1]]


@pytest.mark.parametrize("kw, name", [({"temperature": -1}, "temperature"), ({"temperature": float("nan")}, "temperature"),
                                      ({"top_p": 0}, "top_p"), ({"top_p": 1.01}, "top_p"), ({"top_p": -0.5}, "top_p"),
                                      ({"top_k": 0}, "top_k"), ({"top_k": 2.5}, "top_k")])
def test_bad_values(kw, name):
    with pytest.raises(InvalidArgumentError, match=name):
        check_sampling(**kw)
    with pytest.raises(InvalidArgumentError, match=name):
        next_token_probs(Z, **kw)
