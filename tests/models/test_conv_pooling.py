"""Windowed max-pooling (rnnkit.models.window_pool) against torch.nn.MaxPool1d, a forecaster's conv
front-end on right-padded rows against the rows alone, and a classifier's lengths checked before
its conv blocks pad the time axis."""
import pytest
import torch

from rnnkit.errors import InvalidArgumentError
from rnnkit.models import Forecaster, ForecasterConfig
from rnnkit.models.classifier import ClassifierConfig, SequenceClassifier
from rnnkit.models.window_pool import WindowMaxPool, window_max


@pytest.mark.parametrize("ceil_mode", [False, True])
def test_window_max_is_max_pool1d(ceil_mode):
    gen = torch.Generator().manual_seed(0)
    for size in (1, 2, 3, 5):
        for T in range(size if not ceil_mode else 1, 23):
            x = torch.randn(2, 3, T, generator=gen, requires_grad=True)
            ref = torch.nn.MaxPool1d(size, ceil_mode=ceil_mode)(x)
            got = WindowMaxPool(size, ceil_mode)(x)
            assert torch.equal(got, ref), (size, T)
            g = torch.randn(ref.shape, generator=gen)
            gx_ref, = torch.autograd.grad(ref, x, g)
            gx, = torch.autograd.grad(window_max(x, size, ceil_mode), x, g)
            assert torch.equal(gx, gx_ref), (size, T)


@pytest.mark.parametrize("kernel,pool", [(3, 2), (4, 3), (5, 1)])
def test_conv_front_end_on_padded_rows_gives_the_rows_alone(kernel, pool):
    torch.manual_seed(0)
    model = Forecaster(ForecasterConfig(n_features=3, cell="gru", units=5, conv_filters=4, conv_kernel=kernel,
                                        pool_size=pool)).eval()
    T, lengths = 13, torch.tensor([13, 7, 1, 4, 6, 2, 12])
    x = torch.randn(7, T, 3)
    x[torch.arange(T) >= lengths.unsqueeze(1)] = 1e3       # padding that would dominate any max
    with torch.no_grad():
        padded = model(x, lengths)
        alone = torch.cat([model(x[b:b + 1, :n]) for b, n in enumerate(lengths.tolist())])
    torch.testing.assert_close(padded, alone, atol=1e-5, rtol=0)


@pytest.mark.parametrize("cell", ["conv", "gru"])
def test_classifier_lengths_past_time_are_refused(cell):
    model = SequenceClassifier(ClassifierConfig(n_classes=2, vocab_size=20, embedding_dim=4, cell=cell, units=4,
                                                conv_filters=0 if cell == "conv" else 3, conv_kernel=3,
                                                pool_size=2))
    x = torch.randint(1, 20, (2, 10))
    for bad in (torch.tensor([11, 3]), torch.tensor([0, 3]), torch.tensor([3])):
        with pytest.raises(InvalidArgumentError, match="lengths"):
            model(x, bad)
