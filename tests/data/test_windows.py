"""Windows against independent references: the seed 001 generator, naive copies, hand cases."""
import numpy as np
import pytest
import torch
from hypothesis import given, settings, strategies as st

from rnnkit.data.windows import Windows, windows_view
from rnnkit.errors import DataError, InvalidArgumentError


def seed_generator(data, lookback, delay, min_index, max_index,
                   shuffle=False, batch_size=128, step=6):
    """Copied from seed 001 (Chollet's Jena temperature example), unchanged."""
    if max_index is None:
        max_index = len(data) - delay - 1
    i = min_index + lookback
    while 1:
        if shuffle:
            rows = np.random.randint(
                min_index + lookback, max_index, size=batch_size)
        else:
            if i + batch_size >= max_index:
                i = min_index + lookback
            rows = np.arange(i, min(i + batch_size, max_index))
            i += len(rows)

        samples = np.zeros((len(rows),
                           lookback // step,
                           data.shape[-1]))
        targets = np.zeros((len(rows),))
        for j, row in enumerate(rows):
            indices = range(rows[j] - lookback, rows[j], step)
            samples[j] = data[indices]
            targets[j] = data[rows[j] + delay][1]
        yield samples, targets


@pytest.mark.parametrize("lookback,step,delay,min_index,max_index,batch_size", [
    (1440, 6, 144, 0, 4000, 128),        # the seed's own parameters, shorter data
    (720, 3, 144, 2001, 5000, 64),       # the seed's conv+GRU variant, a later segment
    (60, 6, 10, 300, None, 32),          # max_index=None: up to len(data) - delay - 1
    (5, 1, 1, 0, 40, 7),
])
def test_reproduces_seed_generator_chronological(lookback, step, delay, min_index, max_index, batch_size):
    rng = np.random.default_rng(0)
    data = rng.standard_normal((6000, 14))
    # The mapping documented in rnnkit.data.windows:
    end = (len(data) - 1) if max_index is None else max_index + delay
    w = Windows(data, target=data[:, 1], lookback=lookback, step=step, delay=delay + step,
                start=min_index, end=end)
    mx = len(data) - delay - 1 if max_index is None else max_index
    assert len(w) == mx - min_index - lookback
    n_seed_batches = (len(w) - 1) // batch_size        # the seed drops its tail, then cycles
    gen = seed_generator(data, lookback, delay, min_index, max_index, batch_size=batch_size, step=step)
    ours = iter(w.batches(batch_size=batch_size))
    for _ in range(n_seed_batches):
        xs, ys = next(gen)
        x, y = next(ours)
        assert x.dtype == torch.float64
        np.testing.assert_array_equal(x.numpy(), xs)
        np.testing.assert_array_equal(y[:, 0].numpy(), ys)     # y is (batch, horizon=1)
    xs, _ = next(gen)      # the seed starts over here
    np.testing.assert_array_equal(w.get_batch(range(batch_size))[0].numpy(), xs)


def naive(data, target, lookback, step, delay, horizon, stride, start, end, target_step, seq2seq):
    """Materialise every window with plain loops (the reference)."""
    xs, ys = [], []
    s = start
    while True:
        last = s + lookback - step
        if last + delay + (horizon - 1) * target_step > end - 1:
            break
        rows = list(range(s, s + lookback, step))
        xs.append(data[rows])
        if seq2seq:
            ys.append(np.stack([[target[r + delay + h * target_step] for h in range(horizon)] for r in rows]))
        else:
            ys.append(np.array([target[last + delay + h * target_step] for h in range(horizon)]))
        s += stride
    return xs, ys


@settings(max_examples=60, deadline=None)
@given(n_steps=st.integers(1, 6), step=st.integers(1, 4), delay=st.integers(1, 7),
       horizon=st.integers(1, 4), stride=st.integers(1, 9), rows=st.integers(1, 70),
       start=st.integers(0, 10), cut=st.integers(0, 10), target_step=st.integers(1, 3),
       seq2seq=st.booleans(), features=st.integers(1, 3))
def test_windows_equal_naive_copies(n_steps, step, delay, horizon, stride, rows, start, cut,
                                    target_step, seq2seq, features):
    lookback = n_steps * step
    rows = rows + start + cut
    data = np.arange(rows * features, dtype=np.float32).reshape(rows, features)
    target = -np.arange(rows, dtype=np.float32)
    end = rows - cut
    args = dict(lookback=lookback, step=step, delay=delay, horizon=horizon, stride=stride,
                target_step=target_step, seq2seq=seq2seq)
    xs, ys = naive(data, target, start=start, end=end, **args)
    if not xs:
        with pytest.raises(DataError, match="too short"):
            Windows(data, target, start=start, end=end, **args)
        return
    w = Windows(data, target, start=start, end=end, **args)
    assert len(w) == len(xs)
    for i in [0, len(xs) - 1, len(xs) // 2]:
        x, y = w[i]
        np.testing.assert_array_equal(x.numpy(), xs[i])
        np.testing.assert_array_equal(y.numpy(), ys[i])
    xb, yb = w.get_batch(range(len(w)))
    assert xb.shape == (len(xs), n_steps, features)
    assert yb.shape == ((len(xs), n_steps, horizon) if seq2seq else (len(xs), horizon))
    np.testing.assert_array_equal(xb.numpy(), np.stack(xs))
    np.testing.assert_array_equal(yb.numpy(), np.stack(ys))


@settings(max_examples=40, deadline=None)
@given(n_steps=st.integers(1, 5), step=st.integers(1, 3), stride=st.integers(1, 5),
       rows=st.integers(1, 40))
def test_windows_view_is_zero_copy_and_equals_naive(n_steps, step, stride, rows):
    lookback = n_steps * step
    data = torch.arange(rows * 2, dtype=torch.float32).reshape(rows, 2)
    v = windows_view(data, lookback, step=step, stride=stride)
    ref = [data[s:s + lookback:step] for s in range(0, rows - lookback + step, stride)]
    assert v.shape[0] == len(ref)
    if ref:
        assert v.untyped_storage().data_ptr() == data.untyped_storage().data_ptr()
        assert torch.equal(v, torch.stack(ref))


def test_several_segments_never_cross_and_static_features():
    data = np.arange(30, dtype=np.float32).reshape(30, 1)
    static = np.array([[1.0, 2.0], [3.0, 4.0]], dtype=np.float32)
    w = Windows(data, target=0, lookback=3, delay=1, segments=[(0, 10), (10, 30)], static=static)
    # segment 0: span 4 -> starts 0..6 (7 windows); segment 1: starts 10..26 (17 windows)
    assert len(w) == 7 + 17
    assert [w.start_row(i) for i in (0, 6, 7, 23)] == [0, 6, 10, 26]
    x, y = w[6]
    assert x.tolist() == [[6, 1, 2], [7, 1, 2], [8, 1, 2]] and y.tolist() == [9]
    x, y = w[7]
    assert x.tolist() == [[10, 3, 4], [11, 3, 4], [12, 3, 4]] and y.tolist() == [13]
    ws = Windows(data, target=0, lookback=3, segments=[(0, 10), (10, 30)], static=static, static_as="separate")
    xb, yb, sb = ws.get_batch([0, 23])
    assert xb.shape == (2, 3, 1) and sb.tolist() == [[1, 2], [3, 4]]


def test_target_shapes_and_column_selection():
    data = np.arange(40, dtype=np.float32).reshape(20, 2)
    x, y = Windows(data, target=[0, 1], lookback=2, horizon=3).get_batch([0, 1])
    assert y.shape == (2, 3, 2)
    assert y[0].tolist() == [[4, 5], [6, 7], [8, 9]]        # rows 2, 3, 4
    x, y = Windows(data, target=None, lookback=2).get_batch([0])
    assert y.shape == (1, 1, 2)


def test_non_overlapping_windows_as_in_seed_000():
    seq = np.arange(1, 15, dtype=np.float32).reshape(14, 1)        # 1..14
    w = Windows(seq, target=0, lookback=7, stride=7, delay=1, seq2seq=True, end=14)
    # seed 003 "reshape approach": (1..7), (8..14); the shifted targets need one more row,
    # so only the first window fits in 14 rows
    assert len(w) == 1 and w[0][1].flatten().tolist() == list(range(2, 9))
    w = Windows(seq, target=0, lookback=7, stride=2, delay=1)       # "shift approach", target shift 1
    assert [w[i][0].flatten()[0].item() for i in range(len(w))] == [1, 3, 5, 7]


def test_shuffled_batches_are_seeded_permutations():
    data = np.arange(50, dtype=np.float32).reshape(50, 1)
    w = Windows(data, target=0, lookback=1)
    b = w.batches(batch_size=8, shuffle=True, seed=3)
    first = torch.cat([x[:, 0, 0] for x, _ in b])
    second = torch.cat([x[:, 0, 0] for x, _ in b])
    assert sorted(first.tolist()) == list(range(49))
    assert not torch.equal(first, second)                 # a new permutation each pass
    b2 = w.batches(batch_size=8, shuffle=True, seed=3)
    b2.set_epoch(1)
    assert torch.equal(torch.cat([x[:, 0, 0] for x, _ in b2]), second)


def test_dataloader_batched_fetch():
    data = np.arange(20, dtype=np.float32).reshape(20, 1)
    w = Windows(data, target=0, lookback=2)
    sampler = torch.utils.data.BatchSampler(torch.utils.data.SequentialSampler(w), 4, False)
    loader = torch.utils.data.DataLoader(w, batch_sampler=sampler, collate_fn=lambda b: b)
    x, y = next(iter(loader))
    assert x[:, :, 0].tolist() == [[0, 1], [1, 2], [2, 3], [3, 4]] and y[:, 0].tolist() == [2, 3, 4, 5]
    x, y = w[[0, 5]]
    assert x[:, :, 0].tolist() == [[0, 1], [5, 6]]


@pytest.mark.parametrize("kwargs,match", [
    (dict(lookback=10, step=3), "`lookback`.*multiple of step=3"),
    (dict(lookback=6, step=0), "`step`"),
    (dict(lookback=6, delay=0), "`delay`"),
    (dict(lookback=6, horizon=-1), "`horizon`"),
    (dict(lookback=6, stride=0), "`stride`"),
    (dict(lookback=0), "`lookback`"),
    (dict(lookback=4, start=50), "`start`"),
    (dict(lookback=4, end=100), "`end`"),
])
def test_bad_arguments_name_the_argument(kwargs, match):
    data = np.zeros((30, 2), np.float32)
    with pytest.raises(InvalidArgumentError, match=match):
        Windows(data, target=0, **kwargs)


def test_too_short_series_is_a_data_error_with_numbers():
    with pytest.raises(DataError, match="span = .* = 12 rows.* 10 rows"):
        Windows(np.zeros((10, 1), np.float32), lookback=6, step=1, delay=6)
    with pytest.raises(InvalidArgumentError, match="`target`.*as many rows"):
        Windows(np.zeros((10, 1)), target=np.zeros(9), lookback=2)
    with pytest.raises(InvalidArgumentError, match="`data`"):
        Windows(np.zeros(10), lookback=2)
    with pytest.raises(InvalidArgumentError, match="numeric"):
        Windows(np.array([["a"]] * 10), lookback=2)


def test_memory_is_shared_not_copied():
    data = np.zeros((1000, 3), np.float32)
    w = Windows(data, target=np.zeros(1000, np.float32), lookback=500, step=5)
    assert w.data.data_ptr() == data.ctypes.data
