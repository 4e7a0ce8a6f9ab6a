"""What ``rnnkit classify`` reports: accuracy and macro-F1 (scikit-learn), the majority-class and
TF-IDF logistic-regression baselines, the comparison table, the confusion-matrix PNG and the CSV of
misclassified test examples.

    >>> scores([0, 1, 1, 0], [0, 1, 0, 0])
    {'accuracy': 0.75, 'macro_f1': 0.7333333333333334}
    >>> majority([1, 1, 0], [0, 1, 1, 1])
    {'accuracy': 0.75, 'macro_f1': 0.42857142857142855}
"""
from __future__ import annotations

import io

import numpy as np
import pandas as pd
from rnnkit.training.checkpoint import atomic_write_bytes
from rnnkit.training.plots import _pyplot

__all__ = ["scores", "majority", "tfidf_logreg", "format_table", "plot_confusion", "misclassified_table"]

LABELS = {"model": "model", "majority": "majority class", "tfidf_logreg": "TF-IDF logistic regression"}


def scores(y_true, y_pred) -> dict:
    """``{"accuracy", "macro_f1"}`` of integer labels (scikit-learn)."""
    from sklearn.metrics import accuracy_score, f1_score

    return {"accuracy": float(accuracy_score(y_true, y_pred)),
            "macro_f1": float(f1_score(y_true, y_pred, average="macro", zero_division=0))}


def majority(y_train, y_true) -> dict:
    """The scores of always predicting the most frequent training class."""
    most = int(np.bincount(np.asarray(y_train)).argmax())
    return scores(y_true, np.full(len(y_true), most))


def tfidf_logreg(train_texts, y_train, parts: dict, seed: int = 0) -> dict:
    """TF-IDF of word unigrams and bigrams (sublinear tf, terms in at least 2 training texts) and
    a logistic regression, fitted on the training texts; ``parts`` maps a name to ``(texts, y)``.
    Returns ``{name: scores}``."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    vec = TfidfVectorizer(ngram_range=(1, 2), min_df=2 if len(train_texts) >= 50 else 1, sublinear_tf=True,
                          max_features=200_000, token_pattern=r"(?u)\b\w+\b")
    try:
        xtr = vec.fit_transform(train_texts)
    except ValueError:                       # no term at all (e.g. every text empty)
        return {}
    clf = LogisticRegression(C=4.0, max_iter=2000, random_state=seed)
    clf.fit(xtr, y_train)
    return {name: scores(y, clf.predict(vec.transform(texts))) for name, (texts, y) in parts.items()}


def format_table(test: dict, n: int, classes: list, model_label: str = "model") -> str:
    """The printed test table: one row per model/baseline."""
    lines = [f"test set ({n} examples, {len(classes)} classes):", f"{'':34s}{'accuracy':>10s}{'macro-F1':>10s}"]
    for name, m in test.items():
        label = model_label if name == "model" else LABELS.get(name, name)
        lines.append(f"{label:34s}{m['accuracy']:>10.4f}{m['macro_f1']:>10.4f}")
    return "\n".join(lines)


def plot_confusion(path, y_true, y_pred, classes: list, title: str = "") -> None:
    """The confusion matrix (rows: true class, columns: predicted) with counts, as a PNG."""
    from sklearn.metrics import confusion_matrix


    plt = _pyplot()
    k = len(classes)
    cm = confusion_matrix(y_true, y_pred, labels=list(range(k)))
    size = min(12.0, 2.5 + 0.45 * k)
    fig, ax = plt.subplots(figsize=(size, size * 0.9))
    im = ax.imshow(cm, cmap="Blues")
    fig.colorbar(im, ax=ax, fraction=0.046, pad=0.04)
    names = [str(c)[:14] for c in classes]
    ax.set_xticks(range(k), names, rotation=45 if k > 4 else 0, ha="right" if k > 4 else "center")
    ax.set_yticks(range(k), names)
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    if k <= 25:
        top = cm.max() if cm.size else 0
        for i in range(k):
            for j in range(k):
                ax.text(j, i, str(cm[i, j]), ha="center", va="center", fontsize=8 if k > 10 else 10,
                        color="white" if cm[i, j] > top / 2 else "black")
    acc = np.trace(cm) / max(1, cm.sum())
    ax.set_title((title + "\n" if title else "") + f"test accuracy {acc:.4f} ({int(cm.sum())} examples)")
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    plt.close(fig)
    atomic_write_bytes(path, buf.getvalue())


def misclassified_table(part, proba: np.ndarray, classes: list, max_text: int = 500) -> pd.DataFrame:
    """One row per misclassified example: its row in the source, true and predicted class, the
    predicted class's probability and that of the true class (and the text, cut to ``max_text``)."""
    pred = proba.argmax(1)
    wrong = np.flatnonzero(pred != part.y)
    table = pd.DataFrame({"row": part.rows[wrong], "true": [classes[i] for i in part.y[wrong]],
                          "predicted": [classes[i] for i in pred[wrong]],
                          "probability": proba[wrong, pred[wrong]].round(4),
                          "probability_true": proba[wrong, part.y[wrong]].round(4)})
    if part.texts is not None:
        table["text"] = [part.texts[i][:max_text] for i in wrong]
    return table
