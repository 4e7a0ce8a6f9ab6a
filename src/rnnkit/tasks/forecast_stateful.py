"""``rnnkit forecast --stateful``: train the model a streamer runs (seed 000's stateful RNN).

Each part's rows are cut into ``--batch-size`` contiguous streams; batch ``k`` holds the
``k``-th non-overlapping window of ``--lookback`` rows of every stream, the recurrent state is
carried from one batch to the next (reset at the start of every pass and every segment), and the
loss is over the target ``--delay`` rows after every input row (the per-step, seq2seq target).
Validation runs the same way over the val part (one stream per segment), so ``val_loss`` is the
loss of a state carried through the whole val part.
The test table is the ordinary one: after training the state is dropped and every test window
starts from zeros, exactly like the baselines' windows, so the numbers compare with a run
without ``--stateful``. With ``--quantiles`` the per-step head is the monotone quantile head of
the non-stateful path (one output per quantile after every row), trained with the pinball loss
over every step of the carried windows (``val_loss`` too); the test table adds the coverage and
mean width of each central interval over the ordinary test windows, and ``rnnkit predict``
prints the quantiles. ``rnnkit predict --follow`` starts a ``--stateful`` run's streamer from
the whole followed file (the state the model was trained to carry) instead of its last window.

    >>> from rnnkit.tasks.forecast import ForecastJob
    >>> check_stateful(ForecastJob(stateful=True, cell="dense"))
    Traceback (most recent call last):
    ...
    rnnkit.errors.InvalidArgumentError: Received an invalid value for argument `--stateful`, expected ...
"""
from __future__ import annotations

import numpy as np

from rnnkit.errors import DataError, InvalidArgumentError
from rnnkit.tasks.stateful_batches import StatefulBatches
from rnnkit.training import distributed

__all__ = ["check_stateful", "stateful_batches", "end_stateful"]


def check_stateful(job) -> None:
    """Refuse the options ``--stateful`` cannot train, each with its own one-paragraph reason."""
    if not job.stateful:
        return
    why = (f"--cell {job.cell} has no recurrent state to carry; use --cell gru, lstm or rnn"
           if job.cell not in ("gru", "lstm", "rnn") else
           "--bidirectional reads each window backwards too, and a carried state runs forwards only; "
           "drop --bidirectional" if job.bidirectional else
           f"--conv-filters {job.conv_filters} pools several rows into one recurrent step, so the state no longer "
           "advances one row at a time; drop --conv-filters" if job.conv_filters else
           f"--step {job.step} skips rows, and a streamed model reads every row; drop --step"
           if job.step != 1 else
           f"--horizon {job.horizon}: the per-step target of stateful training is one value --delay rows ahead; "
           "drop --horizon (or train without --stateful)" if job.horizon != 1 else
           f"--stride {job.stride}: stateful windows are consecutive and never overlap (their stride is "
           "--lookback); drop --stride" if job.stride != 1 else
           "it runs in one process: under torchrun the batches of a carried state would be split across "
           "processes; run it without torchrun" if distributed.env_world_size() > 1 else None)
    if why:
        raise InvalidArgumentError.for_argument(
            "--stateful", True, "options a stateful recurrent model can train with",
            f"It cannot be used here: {why}.")


def _inputs(prepared) -> np.ndarray:
    """The model's input rows: the data columns, plus each series' static features repeated on
    every row of it (as the windows append them as channels)."""
    if prepared.static is None:
        return prepared.data
    per_row = np.empty((len(prepared.data), prepared.static.shape[1]), np.float32)
    for i, (a, b) in enumerate(prepared.bounds):
        per_row[a:b] = prepared.static[i]
    return np.concatenate([prepared.data, per_row], 1)


def _max_streams(segments, lookback: int, delay: int) -> int:
    return max([(b - a - delay) // lookback for a, b in segments] + [0])


def stateful_batches(job, prepared, model):
    """``(train, val)`` :class:`~rnnkit.tasks.stateful_batches.StatefulBatches` of ``prepared``'s parts
    for ``model`` (its body switched to ``stateful``). Train uses ``--batch-size`` streams; val
    one stream per segment, the state carried through all of it, as a streamer started at the
    beginning of the val part carries it (a few hundred forward calls of one window at most)."""
    x, target = _inputs(prepared), prepared.data[:, prepared.target_index]
    kw = dict(lookback=job.lookback, delay=job.delay, model=model)
    most = _max_streams(prepared.parts["train"], job.lookback, job.delay)
    if most < job.batch_size:
        raise InvalidArgumentError.for_argument(
            "--batch-size", job.batch_size, f"at most {most} streams with --stateful" if most else
            "a training part long enough for one stream",
            f"With --stateful each of the --batch-size streams needs at least one window of --lookback "
            f"{job.lookback} rows (+ --delay {job.delay}) of a training segment: "
            + (f"pass --batch-size {most} or less." if most else "use a shorter --lookback or more data."))
    train = StatefulBatches(x, target, batch_size=job.batch_size, segments=prepared.parts["train"], **kw)
    if _max_streams(prepared.parts["val"], job.lookback, job.delay) < 1:
        raise DataError(f"The validation part has no run of --lookback {job.lookback} + --delay {job.delay} rows "
                        "without a gap: stateful validation needs one. Give a larger val fraction (--split) or a "
                        "shorter --lookback.")
    val = StatefulBatches(x, target, batch_size=1, segments=prepared.parts["val"], **kw)
    return train, val


def end_stateful(model) -> None:
    """After stateful training: the body forgets its carried state and stops carrying one, so
    every evaluation window starts from zeros (comparable with the baselines' windows)."""
    model.body.stateful = False
    model.body.reset_state()
