"""``rnnkit export --run DIR --onnx FILE [--opset N] [--force]``: the run's model as ONNX (any task; a
seq2seq run gives ``NAME.encoder.onnx`` and ``NAME.decoder.onnx``, a tag run ``NAME.onnx`` and its CRF scores
``NAME.crf.json``), with what a consumer needs (the
scaler and feature order, or the vocabulary and tokeniser) in its metadata (see :mod:`rnnkit.export.onnx`).

    >>> import argparse
    >>> sub = argparse.ArgumentParser(prog="rnnkit").add_subparsers()
    >>> add_commands(sub)
    >>> args = sub.choices["export"].parse_args(["--run", "runs/r", "--onnx", "m.onnx", "--opset", "20"])
    >>> args.opset, args.force
    (20, False)
"""
from __future__ import annotations
from rnnkit.export.onnx import export_run, require_export


def _export(args) -> int:
    for path in export_run(args.run, args.onnx, opset=args.opset, force=args.force):
        if path.suffix != ".onnx":        # a file beside the graph (a tagger's CRF scores)
            print(f"wrote {path} (read with the graph: see its metadata_props, rnnkit.usage)")
            continue
        inputs, outputs = _names(path)
        print(f"wrote {path} (inputs {', '.join(inputs)}; outputs {', '.join(outputs)}; how to prepare the inputs "
              "and read the outputs: its metadata_props, rnnkit.usage)")
    return 0


def _names(path) -> tuple[list[str], list[str]]:
    graph = require_export().load(str(path)).graph
    return [i.name for i in graph.input], [o.name for o in graph.output]


def _opset(text: str):
    try:
        return int(text)
    except ValueError:
        return text            # export_run names it in a one-paragraph error


def add_commands(sub) -> None:
    p = sub.add_parser("export", help="export a trained run's model to ONNX",
                       description="Export a trained run's model to ONNX (dynamic batch and time; inputs x and "
                                   "lengths, output y; a language model's and a translator's decoder per step, "
                                   "with its state), with the scaler and feature order or the vocabulary in its "
                                   "metadata.")
    p.add_argument("--run", required=True, help="run directory written by an rnnkit training command")
    p.add_argument("--onnx", required=True, metavar="FILE", help="the .onnx file to write (a new file; a translation run writes "
                                                                  "FILE's NAME.encoder.onnx and NAME.decoder.onnx)")
    p.add_argument("--opset", type=_opset, default=None, metavar="N", help="ONNX opset (18-23; default 18)")
    p.add_argument("--force", action="store_true", help="overwrite an existing --onnx file")
    p.set_defaults(func=_export)
