"""Baselines against a naive per-window loop over the raw rows."""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from rnnkit.data import Windows
from rnnkit.errors import InvalidArgumentError
from rnnkit.models import common_sense, mean_baseline, seasonal_naive


@settings(max_examples=40, deadline=None)
@given(step=st.integers(1, 3), n_steps=st.integers(1, 5), delay=st.integers(1, 30),
       horizon=st.integers(1, 3), stride=st.integers(1, 4))
def test_against_naive_loop(step, n_steps, delay, horizon, stride):
    rng = np.random.default_rng(0)
    s = rng.normal(size=200).astype(np.float32)
    lookback = n_steps * step
    w = Windows(s[:, None], target=s, lookback=lookback, step=step, delay=delay, horizon=horizon, stride=stride)
    cs, mb = common_sense(w, s), mean_baseline(w, s)
    period = 24
    def naive_season_row(t, last):
        r = t - period
        while r > last:
            r -= period
        return r

    reachable = all(naive_season_row(t, i * stride + lookback - step) >= 0
                    for i in range(len(w)) for t in w.target_rows(i))
    if reachable:
        sn = seasonal_naive(w, s, period)
    else:
        sn = None
        with pytest.raises(InvalidArgumentError, match="`period`"):
            seasonal_naive(w, s, period)
    for i in range(len(w)):
        start = i * stride
        last = start + lookback - step
        for h, t in enumerate(w.target_rows(i)):
            assert cs[i, h] == s[last]
            assert mb[i, h] == pytest.approx(s[start:last + 1].mean(), rel=1e-5, abs=1e-6)
            if sn is not None:
                assert sn[i, h] == s[naive_season_row(t, last)]


def test_hand_computed_24h_example():
    """Hourly series, 24 h ahead: persistence and 'same hour yesterday' coincide at delay 24."""
    hours = np.arange(24 * 4, dtype=np.float64)
    s = 10 + np.sin(2 * np.pi * hours / 24)
    w = Windows(s[:, None], target=s, lookback=48, delay=24)
    np.testing.assert_array_equal(common_sense(w, s)[:, 0], s[47:47 + len(w)])
    np.testing.assert_array_equal(seasonal_naive(w, s, 24)[:, 0], s[47:47 + len(w)])
    # with delay 6, same hour yesterday is exact on a perfectly periodic series
    w6 = Windows(s[:, None], target=s, lookback=48, delay=6)
    truth = s[47 + 6:47 + 6 + len(w6)]
    np.testing.assert_allclose(seasonal_naive(w6, s, 24)[:, 0], truth, atol=1e-12)
