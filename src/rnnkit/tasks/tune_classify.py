"""The classification task of ``rnnkit tune``: one trial = one ``rnnkit classify`` training scored
by its validation error rate (1 - accuracy); the best job is run once by ``run_classify``, the
only run that computes test metrics. (The data are read and split as ``rnnkit classify`` does,
so the test rows are encoded with the rest, but no trial predicts them.)

    >>> from rnnkit.tasks.classify import ClassifyConfig
    >>> task = ClassifyTune()
    >>> task.apply(ClassifyConfig(csv="r.csv"), {"units": 16, "cell": "gru"}).units
    16
    >>> task.command(ClassifyConfig(csv="r.csv", units=16, bidirectional=True))
    'rnnkit classify --csv r.csv --units 16 --bidirectional'
"""
from __future__ import annotations

import argparse
import dataclasses

from rnnkit.tasks.tune_trial import ReportToTrial
from rnnkit.tasks.classify import ClassifyConfig, _embedding, batches, predict_proba, prepare_classify, run_classify
from rnnkit.tasks.options import add_options, config_from_args
from rnnkit.models.classifier import SequenceClassifier
from rnnkit.tasks import classify_report as rep
from rnnkit.training.trainer import Trainer
from rnnkit.tasks.tune_report import command_line
from rnnkit.tasks.classify_defaults import resolve

__all__ = ["ClassifyTune", "CLASSIFY_SPACE"]

CLASSIFY_SPACE = "units=16:128:log,lr=3e-4:3e-3:log,cell=lstm|gru,dropout=0.0:0.4"
SKIP = ("out", "resume", "quiet", "name")


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="rnnkit classify", add_help=False)
    add_options(p, ClassifyConfig)
    return p


class ClassifyTune:
    """``rnnkit tune classify``: see the module docstring."""

    name = "classify"
    default_space = CLASSIFY_SPACE
    value_name = "val error"

    def allowed(self, name: str) -> bool:
        return name in {f.name for f in dataclasses.fields(ClassifyConfig)} - {
            "csv", "test_csv", "idx", "ts", "test_ts", "text_col", "label_col", "encoding", "out", "resume", "quiet",
            "name", "split", "glove"}

    def apply(self, job, params: dict):
        return dataclasses.replace(job, **{k: tuple(v) if isinstance(v, list) else v for k, v in params.items()},
                                   out=None, resume=False)

    def train(self, job, trial) -> dict:
        import torch
        data = prepare_classify(job)
        job = resolve(job, data)[0]
        matrix, dim = (_embedding(job, data, lambda *a: None) if job.glove else (None, job.embedding_dim))
        vocab = len(data.encoder.vocabulary) if data.encoder is not None else 0
        cfg = dataclasses.replace(job.model_config(len(data.classes), vocab, data.n_features), embedding_dim=dim or 32)
        cfg.check_memory()
        torch.manual_seed(job.seed)
        model = SequenceClassifier(cfg)
        if matrix is not None:
            model.load_embedding(matrix)
        train_cfg = dataclasses.replace(job.train_config(cfg.binary), quiet=True, tensorboard=False)
        trainer = Trainer(model, train_cfg, None, callbacks=[ReportToTrial(trial, "val_accuracy", -1.0, 1.0)])
        p = data.parts
        history = trainer.fit(batches(p["train"], job.batch_size, cfg.binary, job.seed),
                              batches(p["val"], 512, cfg.binary))
        val = rep.scores(p["val"].y, predict_proba(model, p["val"].x, p["val"].lengths).argmax(1))
        return {"value": 1.0 - val["accuracy"], "val_accuracy": val["accuracy"], "val_macro_f1": val["macro_f1"],
                "epochs": len(history.rows)}

    def final(self, job, out, resume: bool = False) -> dict:
        result = run_classify(dataclasses.replace(job, out=str(out), resume=resume))
        return {"run_dir": result["run_dir"], "test": result["test"], "val": result["val"]}

    def command(self, job) -> str:
        return command_line(["rnnkit", "classify"], _parser(), job,
                            lambda a: config_from_args(ClassifyConfig, a, resume=False), skip=SKIP)
