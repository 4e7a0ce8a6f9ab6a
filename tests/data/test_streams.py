"""B parallel streams and BPTT windows, checked against layouts written out by hand."""
import pytest
import torch

from rnnkit.data.streams import StreamBatches, stream_layout
from rnnkit.errors import DataError, InvalidArgumentError


def test_layout_by_hand():
    s = stream_layout(torch.arange(11), batch_size=2, bptt=3)      # L = 10 // 2 = 5
    assert s.tolist() == [[0, 1, 2, 3, 4, 5], [5, 6, 7, 8, 9, 10]]


def test_eval_pass_covers_every_step_once_with_a_short_last_window():
    ids = torch.arange(100, 123)                                   # N = 23, B = 2 -> L = 11
    s = StreamBatches(ids, 2, 4)
    wins = list(s)
    assert [x.shape[1] for (x, _), _ in wins] == [4, 4, 3]
    assert [bool(r) for (_, r), _ in wins] == [True, False, False]
    x = torch.cat([w[0][0] for w in wins], 1)
    y = torch.cat([w[1] for w in wins], 1)
    assert x.tolist() == [list(range(100, 111)), list(range(111, 122))]
    assert y.tolist() == [list(range(101, 112)), list(range(112, 123))]
    assert s.tokens_per_pass == 22 and len(s) == 3
    d = StreamBatches(ids, 2, 4, drop_last=True)
    assert [x.shape[1] for (x, _), _ in d] == [4, 4] and len(d) == 2


def test_training_order_is_a_function_of_the_epoch():
    ids = torch.arange(1000)
    s = StreamBatches(ids, 4, 10, windows_per_epoch=7, seed=3)
    per_pass = s.windows_per_pass
    assert per_pass == (249 - 9) // 10
    epochs = []
    for k in range(5):
        s.set_epoch(k)
        epochs.append([(x.clone(), bool(r), y.clone()) for (x, r), y in s])
    flat = [w for e in epochs for w in e]
    # resumable: epoch 3 alone (a fresh object, as after a restart) is the same windows
    t = StreamBatches(ids, 4, 10, windows_per_epoch=7, seed=3)
    t.set_epoch(3)
    assert all(torch.equal(a[0], b[0][0]) and torch.equal(a[2], b[1]) for a, b in zip(epochs[3], t))
    # within a pass, row b of window w + 1 continues row b of window w; resets at each pass start
    for g, (x, r, y) in enumerate(flat):
        assert r == (g % per_pass == 0)
        assert torch.equal(y[:, :-1], x[:, 1:])
        if g % per_pass:
            assert torch.equal(x[:, 0], flat[g - 1][0][:, -1] + 1)
    # each stream stays inside its own rows of the corpus
    for x, _, y in flat:
        assert ((y.max(1).values - torch.arange(4) * 249) <= 249).all()


def test_passes_shift_their_window_edges():
    s = StreamBatches(torch.arange(2000), 2, 10, windows_per_epoch=None, seed=0)
    starts = set()
    for k in range(6):
        s.set_epoch(k)
        starts.add(int(next(iter(s))[0][0][0, 0]))
    assert len(starts) > 1 and all(0 <= v < 10 for v in starts)
    n = StreamBatches(torch.arange(2000), 2, 10, shift=False)
    n.set_epoch(4)
    assert int(next(iter(n))[0][0][0, 0]) == 0


def test_bad_input():
    with pytest.raises(DataError, match="empty"):
        StreamBatches(torch.tensor([], dtype=torch.long), 2, 5)
    with pytest.raises(DataError, match="shorter than one BPTT window of 5 steps"):
        StreamBatches(torch.arange(10), 2, 5)                      # needs 2 * 5 + 1 = 11
    assert len(StreamBatches(torch.arange(11), 2, 5)) == 1
    for bad in (0, -3, 2.5, True):
        with pytest.raises(InvalidArgumentError, match="bptt"):
            StreamBatches(torch.arange(100), 2, bad)
    with pytest.raises(InvalidArgumentError, match="batch_size"):
        StreamBatches(torch.arange(100), 0, 5)
    with pytest.raises(InvalidArgumentError, match="windows_per_epoch"):
        StreamBatches(torch.arange(100), 2, 5, windows_per_epoch=0)
