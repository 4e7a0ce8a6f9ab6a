"""The training loop against independent references: torch optimisers stepping a copy."""
import copy

import pytest
import torch
from torch.utils.data import DataLoader, TensorDataset

from training_helpers import TinyGRU, linear_batches, sequence_data
from rnnkit.errors import DataError, InvalidArgumentError, RnnkitError
from rnnkit.training import Callback, TrainConfig, Trainer, seed_everything


def reference_steps(model, batches, opt, loss_fn, epochs=1, clip=None, penalty=None):
    for _ in range(epochs):
        for x, y in batches:
            opt.zero_grad()
            loss = loss_fn(model(x), y)
            if penalty is not None:
                loss = loss + penalty(model)
            loss.backward()
            if clip is not None:  # by hand: scale so the global norm is at most `clip`
                norm = torch.sqrt(sum((p.grad ** 2).sum() for p in model.parameters()))
                if norm > clip:
                    for p in model.parameters():
                        p.grad.mul_(clip / (norm + 1e-6))
            opt.step()


def assert_same_weights(a, b, atol=0.0):
    for (na, pa), (nb, pb) in zip(a.named_parameters(), b.named_parameters()):
        assert na == nb
        torch.testing.assert_close(pa, pb, rtol=0, atol=atol, msg=na)


def test_rmsprop_default_matches_torch_rmsprop_with_keras_constants(batches):
    torch.manual_seed(0)
    model = torch.nn.Linear(3, 1)
    ref = copy.deepcopy(model)
    Trainer(model, TrainConfig(epochs=3, quiet=True)).fit(batches)
    opt = torch.optim.RMSprop(ref.parameters(), lr=1e-3, alpha=0.9, eps=1e-7)
    reference_steps(ref, batches, opt, torch.nn.L1Loss(), epochs=3)
    assert_same_weights(model, ref)


def test_adam_mse_with_clipping_matches_reference(batches):
    torch.manual_seed(1)
    model = torch.nn.Linear(3, 1)
    ref = copy.deepcopy(model)
    cfg = TrainConfig(epochs=2, optimizer="adam", lr=0.05, loss="mse", clip_norm=0.5, quiet=True)
    Trainer(model, cfg).fit(batches)
    opt = torch.optim.Adam(ref.parameters(), lr=0.05, eps=1e-7)
    reference_steps(ref, batches, opt, torch.nn.MSELoss(), epochs=2, clip=0.5)
    assert_same_weights(model, ref, atol=1e-6)


def test_clip_value_bounds_each_gradient():
    seen = []  # largest |gradient| the optimizer receives at each step
    model = torch.nn.Linear(3, 1)
    trainer = Trainer(model, TrainConfig(epochs=1, clip_value=0.01, loss="mse", quiet=True))
    orig = trainer.optimizer.step

    def step(*a, **k):
        seen.append(max(p.grad.abs().max().item() for p in model.parameters()))
        return orig(*a, **k)

    trainer.optimizer.step = step
    trainer.fit([(torch.randn(8, 3) * 100, torch.randn(8, 1))])
    assert seen and max(seen) <= 0.01


class Penalised(torch.nn.Module):
    """Linear layer exposing an L1 penalty, nested to check penalties are found and summed."""

    def __init__(self):
        super().__init__()
        self.lin = torch.nn.Linear(3, 1)

    def forward(self, x):
        return self.lin(x)

    def penalty(self):
        return 0.05 * self.lin.weight.abs().sum()


class Outer(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.a, self.b = Penalised(), Penalised()

    def forward(self, x):
        return self.a(x) + self.b(x)


def test_penalties_of_submodules_are_added_to_the_loss(batches):
    torch.manual_seed(2)
    model = Outer()
    ref = copy.deepcopy(model)
    Trainer(model, TrainConfig(epochs=2, lr=0.01, quiet=True)).fit(batches)
    opt = torch.optim.RMSprop(ref.parameters(), lr=0.01, alpha=0.9, eps=1e-7)
    reference_steps(ref, batches, opt, torch.nn.L1Loss(), epochs=2,
                    penalty=lambda m: m.a.penalty() + m.b.penalty())
    assert_same_weights(model, ref, atol=1e-7)
    # and the penalty really changed the result
    plain = copy.deepcopy(ref)
    torch.manual_seed(2)
    no_pen = Outer()
    no_pen.a.penalty = no_pen.b.penalty = lambda: None
    Trainer(no_pen, TrainConfig(epochs=2, lr=0.01, quiet=True)).fit(batches)
    assert not torch.equal(no_pen.a.lin.weight, plain.a.lin.weight)


class Snapshots(Callback):
    def __init__(self):
        self.states = {}

    def on_epoch_end(self, trainer, epoch, logs):
        self.states[epoch] = copy.deepcopy(trainer.model.state_dict())


def drifting_val(offsets):
    """Validation data whose targets move by offsets[epoch-1]: val loss ~ |offset| while the
    (near-frozen) model barely changes."""
    x = torch.zeros(4, 3)

    def data(epoch):
        return [(x, torch.full((4, 1), offsets[epoch - 1]))]
    return data


def test_early_stopping_stops_after_patience_and_restores_best():
    model = torch.nn.Linear(3, 1)
    torch.nn.init.zeros_(model.weight)
    torch.nn.init.zeros_(model.bias)
    snaps = Snapshots()
    cfg = TrainConfig(epochs=20, lr=1e-3, patience=2, quiet=True)
    train = [(torch.randn(4, 3), torch.randn(4, 1))]
    hist = Trainer(model, cfg, callbacks=[snaps]).fit(train, drifting_val([5, 1, 3, 4, 6, 7, 8]))
    assert [r["epoch"] for r in hist.rows] == [1, 2, 3, 4]
    for k, v in model.state_dict().items():
        assert torch.equal(v, snaps.states[2][k])
    assert not torch.equal(snaps.states[4]["weight"], snaps.states[2]["weight"])


def test_reduce_lr_on_plateau_schedule():
    cfg = TrainConfig(epochs=7, lr=1e-3, lr_patience=1, lr_factor=0.5, quiet=True)
    model = torch.nn.Linear(3, 1)
    torch.nn.init.zeros_(model.weight)
    torch.nn.init.zeros_(model.bias)
    train = [(torch.randn(4, 3), torch.randn(4, 1))]
    hist = Trainer(model, cfg).fit(train, drifting_val([5, 1, 2, 3, 4, 5, 6]))
    # torch reduces once num_bad_epochs > patience: after epochs 4 and 6
    assert hist.column("lr") == pytest.approx([1e-3] * 4 + [5e-4] * 2 + [2.5e-4])


def test_seeded_runs_are_bitwise_identical_with_shuffling_and_dropout():
    x, y = sequence_data()

    def run():
        seed_everything(3)
        model = TinyGRU()
        trainer = Trainer(model, TrainConfig(epochs=3, seed=3, quiet=True))
        loader = DataLoader(TensorDataset(x, y), batch_size=8, shuffle=True,
                            generator=trainer.generator)
        trainer.fit(loader, loader)
        return model

    a, b = run(), run()
    assert_same_weights(a, b)


def test_predict_accepts_pairs_and_bare_inputs(batches):
    model = torch.nn.Linear(3, 1)
    t = Trainer(model, quiet=True)
    p1 = t.predict(batches)
    p2 = t.predict([x for x, _ in batches])
    assert p1.shape == (32, 1) and torch.equal(p1, p2)
    with torch.no_grad():
        assert torch.equal(p1, model(torch.cat([x for x, _ in batches])))


def test_multi_input_models_get_x_unpacked():
    class Two(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.lin = torch.nn.Linear(3, 1)

        def forward(self, x, scale):
            return self.lin(x) * scale

    data = [((torch.randn(4, 3), torch.full((4, 1), 2.0)), torch.randn(4, 1))]
    hist = Trainer(Two(), epochs=2, quiet=True).fit(data, data)
    assert len(hist.rows) == 2


def test_clear_errors_for_bad_batches_and_outputs():
    lin = torch.nn.Linear(3, 1)
    with pytest.raises(InvalidArgumentError, match=r"target shape \(4,\).*\(4, 1\)"):
        Trainer(lin, quiet=True).fit([(torch.randn(4, 3), torch.randn(4))])
    with pytest.raises(DataError, match="pair"):
        Trainer(lin, quiet=True).fit([torch.randn(4, 3)])
    gen = ((torch.randn(4, 3), torch.randn(4, 1)) for _ in range(2))
    with pytest.raises(DataError, match="re-iterable"):
        Trainer(lin, epochs=2, quiet=True).fit(gen)
    with pytest.raises(RnnkitError, match="returned a tuple"):
        Trainer(torch.nn.GRU(3, 2, batch_first=True), quiet=True).fit(
            [(torch.randn(2, 4, 3), torch.randn(2, 4, 2))])
    with pytest.raises(RnnkitError, match="clip_norm"):
        Trainer(lin, lr=1e30, loss="mse", epochs=5, quiet=True).fit(
            [(torch.randn(4, 3) * 1e20, torch.randn(4, 1))])


def test_cross_entropy_sequence_tagging_trains():
    torch.manual_seed(0)
    emb = torch.nn.Sequential(torch.nn.Embedding(5, 8), torch.nn.Linear(8, 5))
    tokens = torch.randint(0, 5, (16, 7))
    target = tokens.clone()
    target[:, 5:] = -100  # padding
    data = [(tokens, target)]
    cfg = TrainConfig(epochs=30, optimizer="adam", lr=0.05, loss="cross_entropy",
                      metrics=("accuracy",), quiet=True)
    hist = Trainer(emb, cfg).fit(data, data)
    assert hist.rows[-1]["val_accuracy"] == 1.0
    assert hist.rows[-1]["val_loss"] < hist.rows[0]["val_loss"]


def test_steps_per_epoch_and_val_steps_cap_the_batches(batches):
    seen = {"train": 0, "val": 0}

    class Count(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.lin = torch.nn.Linear(3, 1)

        def forward(self, x):
            seen["train" if self.training else "val"] += 1
            return self.lin(x)

    Trainer(Count(), epochs=2, steps_per_epoch=3, val_steps=1, quiet=True).fit(batches, batches)
    assert seen == {"train": 6, "val": 2}
