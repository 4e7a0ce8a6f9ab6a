"""A run directory read back from a notebook: :class:`Run` (what a notebook call returns) and
:func:`open_run` (a run written earlier, by the CLI or from Python)."""
from __future__ import annotations

import json
from functools import cached_property
from pathlib import Path

import pandas as pd

from rnnkit.api._common import csv_of, flushing_subnormals, strings, temp_file
from rnnkit.api._files import image_array, write_idx_images, write_token_lines, write_ts
from rnnkit.errors import InvalidArgumentError
from rnnkit.load import load_model
from rnnkit.tasks import registry
from rnnkit.tasks.classify_cli import predict_table
from rnnkit.tasks.forecast_predict import forecast_from_run
from rnnkit.tasks.lm_load import generate
from rnnkit.tasks.tag_cli import tag_text
from rnnkit.tasks.translate_cli import translate_texts
from rnnkit.training import manifest
from rnnkit.training.history import read_history_csv
from rnnkit.training.plots import history_figure

__all__ = ["Run", "open_run"]


class Run:
    """A run directory, read back.

    Attributes:
        path: the run directory (:class:`pathlib.Path`).
        task: its task (``"forecast"``, ``"classify"``, ``"tag"``, ``"lm"``, ...).
        metrics: ``metrics.json`` as a dict (the test scores beside the baselines, why training stopped).
        history: ``history.csv`` as a DataFrame, one row per epoch.
        model: the trained module (eval mode, CPU), as :func:`rnnkit.load_model` gives it.
    """

    def __init__(self, path, data=None):
        self.path = Path(path)
        self.task = registry.run_task(self.path)
        self._data = data               # what the run trained on, for predict() without data

    def __repr__(self) -> str:
        return f"Run({str(self.path)!r}, task={self.task!r})"

    @cached_property
    def metrics(self) -> dict:
        manifest.verify(self.path, ["metrics.json"])
        return json.loads((self.path / "metrics.json").read_text(encoding="utf-8"))

    @property
    def history(self) -> pd.DataFrame:
        return pd.DataFrame(read_history_csv(self.path / "history.csv"))

    @cached_property
    def model(self):
        return load_model(self.path)

    @flushing_subnormals
    def predict(self, data=None, *, device: str = "auto"):
        """What ``rnnkit predict --run PATH --device DEVICE`` writes for ``data``, as a DataFrame:

        - forecast: a DataFrame with the training columns; the forecast after the end of each
          series (``data=None``: the data the run trained on);
        - classify: texts (a list, or a DataFrame with the text column), images (an array
          ``N x rows x cols`` of pixels 0-255) or series (an array ``N x steps x features`` or a
          list of ``steps x features`` arrays), as the run was trained on; ``row, label, probability``;
        - tag: sentences as token lists; ``sentence, token, tag`` per token;
        - lm: a prompt (``None``: the run's default), the text of 200 generated tokens (a string;
          :meth:`generate` takes the sampling options);
        - translate: a list of source texts; ``source, translation`` per text (the run's decoding).
        """
        data = self._data if data is None else data
        if self.task == "forecast":
            return forecast_from_run(self.path, data, device)
        if self.task == "lm":
            return self.generate(data or "", length=200, seed=0, device=device)
        if data is None:
            raise InvalidArgumentError.for_argument("data", None, f"the inputs to give the {self.task} run")
        if self.task == "classify":
            return self._classify(data, device)
        if self.task == "tag":
            return self._tag(data, device)
        if self.task == "translate":
            texts = strings(data, "texts")
            return pd.DataFrame({"source": texts, "translation": translate_texts(self.path, texts, device=device)})
        raise InvalidArgumentError.for_argument(
            "run", f"a {self.task} run", "a forecast, classify, tag, lm or translate run",
            f"Use `rnnkit predict --run {self.path}` for {self.task} runs.")

    def _classify(self, data, device: str) -> pd.DataFrame:
        cfg = json.loads((self.path / "config.json").read_text(encoding="utf-8"))
        kind = cfg.get("data", {}).get("kind", "text")
        if kind == "image":
            images = image_array(data)
            writing = temp_file("images-idx3-ubyte", lambda p: write_idx_images(p, images))
        elif kind == "series":
            writing = temp_file("data.ts", lambda p: write_ts(p, data, None))
        else:
            frame = data if isinstance(data, pd.DataFrame) else pd.DataFrame({cfg["job"]["text_col"]: strings(data, "texts")})
            writing = csv_of(frame)
        with writing as path:
            return predict_table(self.path, path, device)

    def _tag(self, sentences, device: str) -> pd.DataFrame:
        with temp_file("sentences.txt", lambda p: write_token_lines(p, sentences)) as path:
            tagged = tag_text(self.path, path, device)
        rows = [(i, tok, tag) for i, s in enumerate(tagged) for tok, tag in s]
        return pd.DataFrame(rows, columns=["sentence", "token", "tag"])

    @flushing_subnormals
    def generate(self, prompt: str = "", length: int = 500, temperature: float = 0.8, top_k: int | None = None,
                 top_p: float | None = None, seed: int | None = None, device: str = "auto") -> str:
        """A language-model run's text after ``prompt`` (``rnnkit lm generate``'s options), returned
        instead of printed."""
        if self.task != "lm":
            raise InvalidArgumentError.for_argument("run", f"a {self.task} run", "a language-model (lm) run",
                                                    "Use run.predict(...) for other runs.")
        return generate(self.path, prompt, length, temperature, top_k, top_p, seed, write=lambda s: None,
                        device=device)

    def plot(self, metrics=None):
        """The loss curves (training and validation per epoch) as a matplotlib figure, as in the
        run's ``loss.png``; ``metrics``: extra columns of :attr:`history` in their own panels."""
        return history_figure(read_history_csv(self.path / "history.csv"), metrics,
                              title=f"{self.task}: {self.path.name}")

    @property
    def images(self) -> list[Path]:
        """The PNG plots the command wrote into the run directory (loss curves, forecasts, ...)."""
        return sorted(self.path.glob("*.png"))


def open_run(path) -> Run:
    """The :class:`Run` of an existing run directory (any task; read as untrusted input)."""
    if not (Path(path) / "config.json").is_file():
        raise InvalidArgumentError.for_argument("path", str(path), "a run directory (with config.json)")
    return Run(path)
