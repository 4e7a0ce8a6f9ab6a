"""``rnnkit export --run DIR --onnx FILE [--opset N] [--force]``: the run's model as ONNX, with the
scaler and feature order in its metadata (see :mod:`rnnkit.export.onnx`).

    >>> import argparse
    >>> sub = argparse.ArgumentParser(prog="rnnkit").add_subparsers()
    >>> add_commands(sub)
    >>> args = sub.choices["export"].parse_args(["--run", "runs/r", "--onnx", "m.onnx", "--opset", "20"])
    >>> args.opset, args.force
    (20, False)
"""
from __future__ import annotations


def _export(args) -> int:
    from rnnkit.export.onnx import export_run
    path = export_run(args.run, args.onnx, opset=args.opset, force=args.force)
    print(f"wrote {path} (inputs x{'' if 'lengths' not in _inputs(path) else ', lengths'}; output y; the scaler "
          "and feature order are in its metadata_props)")
    return 0


def _inputs(path) -> list[str]:
    import onnx
    return [i.name for i in onnx.load(str(path)).graph.input]


def _opset(text: str):
    try:
        return int(text)
    except ValueError:
        return text            # export_run names it in a one-paragraph error


def add_commands(sub) -> None:
    p = sub.add_parser("export", help="export a trained run's model to ONNX",
                       description="Export a trained run's model to ONNX (dynamic batch and time; inputs x and "
                                   "lengths, output y), with the scaler and feature order in its metadata.")
    p.add_argument("--run", required=True, help="run directory written by an rnnkit training command")
    p.add_argument("--onnx", required=True, metavar="FILE", help="the .onnx file to write (a new file)")
    p.add_argument("--opset", type=_opset, default=None, metavar="N", help="ONNX opset (18-23; default 18)")
    p.add_argument("--force", action="store_true", help="overwrite an existing --onnx file")
    p.set_defaults(func=_export)
