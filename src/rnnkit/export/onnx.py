"""ONNX export of rnnkit models, checked by onnxruntime.

The graph comes from ``torch.onnx.export(dynamo=True)``: ``torch.export`` records each rnnkit
recurrent layer and direction as one ``rnnkit::fused_scan`` node (:mod:`rnnkit.layers.fused.op`),
and :func:`fused_scan_to_onnx` translates that node into ONNX's own ``LSTM``/``GRU``/``RNN``
operator with ``sequence_lens`` (gates reordered to ONNX's order, GRU ``reset_after`` as
``linear_before_reset``), then zeroes the outputs at and past each length with a ``Where``.
So variable lengths are right in the exported graph (outputs past a length are zero; the final
state is the one after the last valid step; the reverse direction starts at the last valid
step), unlike the ``torch.nn`` packed-sequence route. Batch and time are dynamic axes (time is
fixed at the trained window only for the dense forecaster, which flattens it; conv bodies and
front-ends pool with :func:`rnnkit.models.window_pool.window_max`, whose pooled length stays
symbolic).

Every kind of run exports (:func:`export_run`; ``rnnkit export``), one module each, which also
says the inputs and outputs: a forecaster (:mod:`~rnnkit.export.onnx_forecast`), a classifier
(:mod:`~rnnkit.export.onnx_classify`), a tagger (:mod:`~rnnkit.export.onnx_tag`), a language
model's per-step decoder (:mod:`~rnnkit.export.onnx_lm`) and a translator's encoder and per-step
decoder (:mod:`~rnnkit.export.onnx_seq2seq`). Inputs are ``x`` ((batch, time, features) float32,
token ids (batch, time) int64 for text) and, where the model takes them, ``lengths`` (batch,)
int64 (pass the full time for unpadded rows); the main output is ``y``. The ONNX
``metadata_props`` hold what a consumer needs to use the model without rnnkit (read them with
``onnxruntime.InferenceSession(path).get_modelmeta().custom_metadata_map``; every value is JSON):
``rnnkit.task``, ``rnnkit.usage`` (how to prepare the inputs and read the outputs, in words) and
the task's own keys. A forecaster's: ``rnnkit.features`` (the input columns in order),
``rnnkit.scaler`` (``{"columns", "mean", "std"}``: feed ``(raw - mean) / std``),
``rnnkit.static_scaler``, ``rnnkit.target`` (the forecast is in scaled target units: ``y *
std[target] + mean[target]``), ``rnnkit.window`` (lookback, step, delay, horizon). A text
model's: the vocabulary and the tokeniser's rules (:mod:`rnnkit.export.onnx_text`).

    >>> import os, tempfile, torch, rnnkit
    >>> from rnnkit.models import Forecaster, ForecasterConfig
    >>> m = Forecaster(ForecasterConfig(n_features=3, cell="gru", units=4)).eval()
    >>> path = os.path.join(tempfile.mkdtemp(), "m.onnx")
    >>> if rnnkit.layers.fused.available():
    ...     _ = export_module(m, path, n_features=3, lengths=True)
    ...     import onnxruntime as ort
    ...     print([i.name for i in ort.InferenceSession(path).get_inputs()])
    ... else:
    ...     print(['x', 'lengths'])
    ['x', 'lengths']
"""
from __future__ import annotations

import contextlib
import importlib
import io
import json
import os
import tempfile
import warnings
from pathlib import Path

import torch

from rnnkit.errors import CheckpointError, InvalidArgumentError, RnnkitError, StorageError
from rnnkit.layers import fused
from rnnkit.training import manifest
from rnnkit.load import run_task
from rnnkit._optional import require
from rnnkit.tasks import registry
from rnnkit.tasks.registry import run_task

OPSETS = (18, 19, 20, 21, 22, 23)     # torch's exporter writes >= 18; each one checked with onnxruntime
DEFAULT_OPSET = 18
_ORDER = {0: (0, 3, 1, 2), 1: (1, 0, 2), 2: (0,)}     # torch gate order -> ONNX's (LSTM iofc, GRU zrh)


def require_export():
    """onnx (returned) and onnxscript (torch.onnx's exporter), or one paragraph naming the ``export`` extra."""
    feature = "ONNX export (`rnnkit export`)"
    require("onnxscript", extra="export", feature=feature)
    return require("onnx", extra="export", feature=feature)


def check_opset(opset) -> int:
    """The opset as an int from :data:`OPSETS` (InvalidArgumentError naming ``--opset`` otherwise)."""
    if opset is None:
        return DEFAULT_OPSET
    if isinstance(opset, bool) or not isinstance(opset, int) or opset not in OPSETS:
        raise InvalidArgumentError.for_argument(
            "--opset", opset, f"one of {', '.join(map(str, OPSETS))}",
            f"rnnkit exports through torch.onnx (opset 18 and newer) and checks these with onnxruntime; "
            f"omit --opset for {DEFAULT_OPSET}.")
    return opset


def fused_scan_to_onnx(x, h0, c0, w_ih, w_hh, b_ih, b_hh, lengths, mask, mode, reverse, reset_after, relu,
                       train, backend):
    """ONNX translation of ``rnnkit::fused_scan`` (inference: no recurrent-dropout mask)."""
    from onnxscript import opset18 as op
    if mask is not None:
        raise RnnkitError("A recurrent-dropout mask cannot be exported: call model.eval() before exporting.")
    H = int(w_hh.shape[1])
    G = len(_ORDER[mode])

    def onnx_order(w):
        parts = op.Split(w, num_outputs=G, axis=0) if G > 1 else [w]
        return op.Concat(*[parts[i] for i in _ORDER[mode]], axis=0)

    W = op.Unsqueeze(onnx_order(w_ih), [0])
    R = op.Unsqueeze(onnx_order(w_hh), [0])
    zeros = op.ConstantOfShape(op.Constant(value_ints=[G * H]))
    bias = op.Unsqueeze(op.Concat(onnx_order(b_ih) if b_ih is not None else zeros,
                                  onnx_order(b_hh) if b_hh is not None else zeros, axis=0), [0])
    X = op.Transpose(x, perm=[1, 0, 2])                             # ONNX: (time, batch, features)
    seq = op.Cast(lengths, to=6) if lengths is not None else None    # int32
    kw = dict(hidden_size=H, direction="reverse" if reverse else "forward")
    h = op.Unsqueeze(h0, [0])
    empty = op.Constant(value_floats=[])
    if mode == 0:
        Y, Y_h, Y_c = op.LSTM(X, W, R, bias, seq, h, op.Unsqueeze(c0, [0]), **kw)
        c_n = op.Squeeze(Y_c, [0])
    elif mode == 1:
        Y, Y_h = op.GRU(X, W, R, bias, seq, h, linear_before_reset=1 if reset_after else 0, **kw)
        c_n = empty
    else:
        Y, Y_h = op.RNN(X, W, R, bias, seq, h, activations=["Relu" if relu else "Tanh"], **kw)
        c_n = empty
    out = op.Transpose(op.Squeeze(Y, [1]), perm=[1, 0, 2])          # (batch, time, H)
    if lengths is not None:                                          # exact zeros past each length
        t = op.Range(op.Constant(value_int=0), op.Shape(x, start=1, end=2), op.Constant(value_int=1))
        valid = op.Less(op.Unsqueeze(t, [0]), op.Unsqueeze(lengths, [1]))
        out = op.Where(op.Unsqueeze(valid, [2]), out, op.CastLike(op.Constant(value_float=0.0), out))
    return (out, op.Squeeze(Y_h, [0]), c_n, empty, empty, empty, empty, empty, empty, empty)


def _require_fused() -> None:
    if not fused.available():
        raise RnnkitError(
            "ONNX export of recurrent layers needs rnnkit's fused kernels (they give the exporter one node per "
            f"layer, with a dynamic time axis); here the layers run {fused.backend()}. Install rnnkit with a C++ "
            "compiler available (pip install -e . builds them) and export again.")


def check_destination(path, force: bool = False, sidecar: bool = False) -> Path:
    """Where ``--onnx FILE`` may be written: a ``.onnx`` file (any name for a ``sidecar``, a file written
    beside it) in an existing folder outside any rnnkit run directory, and over an existing file only
    with ``force``."""
    p = Path(path)
    bad = InvalidArgumentError.for_argument
    if p.suffix != ".onnx" and not sidecar:
        raise bad("--onnx", str(p), "a file name ending in .onnx", f"Pass e.g. --onnx {p.with_suffix('.onnx').name}.")
    if p.is_dir():
        raise bad("--onnx", str(p), "a file name, not a directory", f"Pass e.g. --onnx {p / 'model.onnx'}.")
    if not p.parent.is_dir():
        raise bad("--onnx", str(p), "a file in an existing folder", f"Create {p.parent} first.")
    runs = [a for a in p.resolve().parents if manifest.is_run_dir(a)]
    if runs:
        raise bad("--onnx", str(p), "a file outside run directories",
                  f"{p} is inside the run directory {runs[0]}, whose files rnnkit never changes (--force does not "
                  "apply). Write it elsewhere, e.g. --onnx model.onnx.")
    if p.exists() and not force:
        raise bad("--onnx", str(p), "a new file", "It exists: pass --force to overwrite it, or choose another name.")
    return p


def export_module(model: torch.nn.Module, path, *, n_features: int, lengths: bool, example_time: int = 8,
                  opset: int | None = None, metadata: dict | None = None, verbose: bool = False,
                  force: bool = False, dynamic_time: bool = True) -> Path:
    """Export ``model(x[, lengths])`` (eval mode) to ``path`` with inputs ``x`` (batch, time, n_features)
    float32 and, if ``lengths``, ``lengths`` (batch,) int64; output ``y``; dynamic batch and (with
    ``dynamic_time``, else fixed at ``example_time``) time.
    ``metadata``: string -> JSON-able values stored JSON-encoded as ONNX metadata_props. Written atomically."""
    from torch.export import Dim
    B, T = 3, max(int(example_time), 3) if dynamic_time else int(example_time)
    x = torch.randn(B, T, n_features)
    batch, time = Dim("batch"), Dim("time")
    xs = {0: batch, 1: time} if dynamic_time else {0: batch}
    inputs = {"x": (x, xs)}
    if lengths:
        inputs["lengths"] = (torch.tensor([T, T - 1, 2]), {0: batch})
    return export_graph(model, path, inputs, ["y"], opset=opset, metadata=metadata, verbose=verbose, force=force)


@contextlib.contextmanager
def _quiet():
    """The exporter's progress lines (stdout) and its loggers' warnings, hidden."""
    import logging
    loggers = [logging.getLogger(n) for n in ("torch.onnx", "onnxscript", "onnx_ir")]
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.setLevel(logging.ERROR)
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            yield
    finally:
        for lg, level in zip(loggers, levels):
            lg.setLevel(level)


def export_graph(model: torch.nn.Module, path, inputs: dict, outputs: list, *, opset: int | None = None,
                 metadata: dict | None = None, verbose: bool = False, force: bool = False) -> Path:
    """Export ``model(**example inputs)`` (eval mode) to ``path``: ``inputs`` maps each ONNX input name (a
    parameter of ``forward``; the graph's inputs come in this order) to ``(example tensor, {axis:
    torch.export.Dim})`` (the dynamic axes; one Dim object shared by several inputs is one axis);
    ``outputs`` names the outputs in order.
    ``metadata``: string -> JSON-able values stored JSON-encoded as ONNX metadata_props. Checked with
    ``onnx.checker`` and written atomically."""
    onnx = require_export()
    opset = check_opset(opset)
    path = Path(path)
    if not force and path.exists():
        raise InvalidArgumentError.for_argument("path", str(path), "a new file", "Pass force=True to overwrite it.")
    _require_fused()
    was, threads = model.training, torch.get_num_threads()
    model.eval()
    kwargs = {name: example for name, (example, _) in inputs.items()}
    shapes = {name: dims for name, (_, dims) in inputs.items()}
    table = {torch.ops.rnnkit.fused_scan.default: fused_scan_to_onnx}
    quiet = contextlib.nullcontext() if verbose else _quiet()
    try:
        # one thread: the layers then always take rnnkit's fused scan (with several threads a large LSTM
        # takes torch's own kernel, which the exporter would unroll over the example's time steps)
        torch.set_num_threads(1)
        with torch.no_grad(), quiet, warnings.catch_warnings():
            warnings.simplefilter("ignore")
            program = torch.onnx.export(model, (), kwargs=kwargs, input_names=list(inputs), output_names=list(outputs),
                                        dynamic_shapes=shapes, custom_translation_table=table, dynamo=True,
                                        opset_version=opset, external_data=False, verbose=False)
    finally:
        model.train(was)
        torch.set_num_threads(threads)
    proto = program.model_proto
    for key, value in (metadata or {}).items():
        entry = proto.metadata_props.add()
        entry.key, entry.value = key, json.dumps(value)
    onnx.checker.check_model(proto)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        onnx.save(proto, tmp)
        os.replace(tmp, path)
    except OSError as e:
        raise StorageError.for_write(path, e) from None
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
    return path


# task -> the module of rnnkit.export that exports its runs: ``export(run_dir, paths, opset) -> list[Path]``
# and ``files(path) -> list[Path]`` (the files one --onnx FILE stands for: one, a seq2seq's encoder and decoder,
# or a tagger and its CRF scores, NAME.crf.json)
def exporter(task: str):
    """The module of :mod:`rnnkit.export` that exports ``task``'s runs, as its registered task names
    it (:attr:`rnnkit.tasks.base.Task.exporter`); CheckpointError for a task with none."""
    name = registry.get(task).exporter
    if name is None:
        known = [t.name for t in registry.TASKS.values() if t.exporter]
        raise CheckpointError(f"This rnnkit cannot export {task!r} runs to ONNX (it exports: {', '.join(known)}).")
    return importlib.import_module(f"rnnkit.export.{name}")


def export_run(run_dir, path, opset: int | None = None, force: bool = False) -> list[Path]:
    """Export the model of a run directory to ``path`` (a seq2seq run: ``NAME.encoder.onnx`` and
    ``NAME.decoder.onnx`` beside it) and return the files written. Everything is checked before anything
    is written: the opset, the run's task, the destinations, the run (checksums included)."""
    require_export()
    opset = check_opset(opset)
    task = run_task(run_dir)
    module = exporter(task)
    check_destination(path, force=True)      # the name itself (.onnx, an existing folder, outside runs)
    paths = [check_destination(p, force, sidecar=p.suffix != ".onnx") for p in module.files(Path(path))]
    return module.export(run_dir, paths, opset)
