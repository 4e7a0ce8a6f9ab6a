"""The CRF against brute force: every tag sequence of tiny sentences enumerated (log partition, best
path, with lengths, with IOB2 constraints), gradients against autograd of the brute-force
log-likelihood, and Viterbi never returning an invalid IOB2 sequence."""
import itertools

import pytest
import torch

from rnnkit.models.crf import CRF, iob2_constraints, is_iob2, valid_iob2

TAGS = ["B-LOC", "B-PER", "I-LOC", "I-PER", "O"]


def _random_crf(tags, seed, constrain=True):
    torch.manual_seed(seed)
    crf = CRF(len(tags), tags=tags, constrain=constrain).double()
    with torch.no_grad():
        for p in (crf.transitions, crf.start, crf.end):
            p.normal_(0, 1.5)
    return crf


def _brute(crf, em, n, allowed=None):
    """(log Z, best path, every (path, score)) of one sentence's first n steps, by enumeration;
    ``allowed`` keeps only the paths it accepts (and scores them without penalties)."""
    K = em.shape[-1]
    scored = []
    for path in itertools.product(range(K), repeat=n):
        if allowed is not None and not allowed(path):
            continue
        s = crf.start[path[0]] + sum(em[t, path[t]] for t in range(n)) + crf.end[path[-1]]
        s = s + sum(crf.transitions[path[t - 1], path[t]] for t in range(1, n))
        scored.append((path, s))
    scores = torch.stack([s for _, s in scored])
    return torch.logsumexp(scores, 0), scored[int(scores.argmax())][0], scored


@pytest.mark.parametrize("constrain", [False, True])
def test_log_partition_and_best_path_equal_enumeration_with_lengths(constrain):
    crf = _random_crf(TAGS, 0, constrain)
    gen = torch.Generator().manual_seed(1)
    em = torch.randn(4, 4, len(TAGS), generator=gen, dtype=torch.float64) * 2
    lengths = torch.tensor([4, 1, 3, 2])
    allowed = (lambda p: valid_iob2([TAGS[i] for i in p])) if constrain else None
    with torch.no_grad():
        logz = crf.log_partition(em, lengths)
    best = crf.decode(em, lengths)
    for b, n in enumerate(lengths.tolist()):
        want_z, want_path, scored = _brute(crf, em[b], n, allowed)
        assert abs((logz[b] - want_z).item()) < 1e-9
        assert tuple(best[b, :n].tolist()) == want_path
        for path, s in scored[:20]:                     # the gold score of any (allowed) path
            tags = torch.tensor(list(path) + [0] * (4 - n))[None]
            got = crf.path_score(em[b:b + 1], tags, torch.tensor([n]))
            assert abs((got[0] - s).item()) < 1e-9
    if constrain:   # the unconstrained enumeration counts more paths: the constraints did something
        assert _random_crf(TAGS, 0, False).log_partition(em, lengths)[0].item() > logz[0].item() + 1e-3


def test_unconstrained_without_iob2_names():
    crf = _random_crf(["NN", "VB", "DT"], 3)
    em = torch.randn(2, 3, 3, dtype=torch.float64)
    for b in range(2):
        want_z, want_path, _ = _brute(crf, em[b], 3)
        assert abs((crf.log_partition(em)[b] - want_z).item()) < 1e-9
        assert tuple(crf.decode(em)[b].tolist()) == want_path


def test_gradients_equal_autograd_of_the_brute_force_likelihood():
    crf = _random_crf(TAGS, 5)
    em = torch.randn(3, 3, len(TAGS), dtype=torch.float64, requires_grad=True)
    lengths = torch.tensor([3, 2, 1])
    gold = torch.tensor([[1, 3, 4], [0, 2, -100], [4, -100, -100]])
    crf.nll(em, gold, lengths).backward()
    got = [em.grad.clone()] + [p.grad.clone() for p in (crf.transitions, crf.start, crf.end)]
    em.grad = None
    crf.zero_grad()
    total = 0
    for b, n in enumerate(lengths.tolist()):
        logz, _, scored = _brute(crf, em[b], n, lambda p: valid_iob2([TAGS[i] for i in p]))
        total = total + logz - dict(scored)[tuple(gold[b, :n].tolist())]
    total.backward()
    want = [em.grad] + [p.grad for p in (crf.transitions, crf.start, crf.end)]
    for g, w in zip(got, want):
        assert torch.allclose(g, w, atol=1e-9)
    assert float(want[1].abs().sum()) > 0


def test_viterbi_never_outputs_an_invalid_iob2_sequence():
    tags = ["B-A", "B-B", "I-A", "I-B", "O"]
    crf = CRF(len(tags), tags=tags)
    gen = torch.Generator().manual_seed(7)
    # emissions that favour I- tags everywhere (the invalid starts and switches an argmax would take)
    em = torch.randn(200, 9, len(tags), generator=gen) * 4
    em[:, :, 2:4] += 3
    lengths = torch.randint(1, 10, (200,), generator=gen)
    paths = crf.decode(em, lengths)
    argmax_invalid = 0
    for b, n in enumerate(lengths.tolist()):
        assert valid_iob2([tags[i] for i in paths[b, :n]])
        argmax_invalid += not valid_iob2([tags[i] for i in em[b, :n].argmax(-1)])
    assert argmax_invalid > 100


def test_constraint_masks_and_names():
    trans, start, end = iob2_constraints(["O", "B-X", "I-X", "B-Y", "I-Y"])
    assert not trans[0, 2] and not trans[1, 4] and not trans[2, 4] and trans[1, 2] and trans[2, 2] and trans[4, 0]
    assert start.tolist() == [True, True, False, True, False] and end.all()
    assert is_iob2(["O", "B-X"]) and not is_iob2(["NN", "O"]) and not is_iob2(["B-"])
    assert valid_iob2(["B-X", "I-X", "O"]) and not valid_iob2(["O", "I-X"]) and not valid_iob2(["B-X", "I-Y"])


def test_bad_shapes_raise_clear_errors():
    from rnnkit.errors import InvalidArgumentError
    crf = CRF(3)
    with pytest.raises(InvalidArgumentError, match="emissions"):
        crf.decode(torch.zeros(2, 3, 4))
    with pytest.raises(InvalidArgumentError, match="lengths"):
        crf.log_partition(torch.zeros(2, 3, 3), torch.tensor([0, 3]))
