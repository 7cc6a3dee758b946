"""Accuracy scoring the way the official MLPerf Tiny runner scores it.

Each classifier result vector is normalised to sum 1; vectors are averaged per
file (only AD has several inferences per file: its windows); top-1 is the
argmax of the average against the label; AUC is sklearn's `roc_auc_score`:
binary on column 1 for two classes, one-vs-rest otherwise, and on the averaged
anomaly score for AD (label 1 = anomaly, so a higher score means anomalous).
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass

import numpy as np

from harness.benchmarks import Benchmark, get_benchmark

# (file, label, result vector) for one inference; label None = no ground truth.
Result = tuple[str, int | None, Sequence[float]]


@dataclass(frozen=True)
class FileScores:
    files: list[str]
    labels: np.ndarray  # int, one per file
    scores: np.ndarray  # classifiers: (files, classes) normalised averages; AD: (files,) mean score


@dataclass(frozen=True)
class Quality:
    metric: str  # "top1" or "auc": the one the target applies to
    value: float | None
    target: float
    passed: bool
    files: int
    top1: float | None
    auc: float | None
    note: str | None = None  # why a value is missing

    def to_dict(self) -> dict:
        return asdict(self)


def normalise(values: Sequence[float]) -> np.ndarray:
    """`values / sum(values)`; a vector summing to 0 (nothing printed above 0.000) becomes uniform.

    The official runner would divide by zero there; uniform keeps the file in
    the average without favouring any class.
    """
    v = np.asarray(values, dtype=np.float64)
    total = v.sum()
    return v / total if total != 0 else np.full(v.shape, 1.0 / v.size)


def per_file(bench: Benchmark | str, results: Iterable[Result]) -> FileScores:
    """Average the labelled results per file, in first-seen file order; unlabelled ones are skipped."""
    bench = bench if isinstance(bench, Benchmark) else get_benchmark(bench)
    grouped: dict[str, list[np.ndarray]] = {}
    labels: dict[str, int] = {}
    for file, label, values in results:
        if label is None:
            continue
        if labels.setdefault(file, label) != label:
            raise ValueError(f"{file} has results with labels {labels[file]} and {label}")
        if len(values) != bench.outputs:
            raise ValueError(f"{file}: {bench.name} results have {bench.outputs} values, got {len(values)}")
        vector = np.asarray(values, dtype=np.float64) if bench.outputs == 1 else normalise(values)
        grouped.setdefault(file, []).append(vector)
    files = list(grouped)
    means = [np.mean(grouped[f], axis=0) for f in files]
    shape = (len(files),) if bench.outputs == 1 else (len(files), bench.outputs)
    scores = np.array(means, dtype=np.float64).reshape(shape)
    return FileScores(files, np.array([labels[f] for f in files], dtype=np.int64), scores)


def top1_accuracy(scores: np.ndarray, labels: np.ndarray) -> float:
    """Fraction of rows whose argmax is the label (ties go to the lower class, as np.argmax does)."""
    if len(labels) == 0:
        raise ValueError("top-1 accuracy needs at least one labelled file")
    return float(np.mean(np.argmax(scores, axis=1) == labels))


def roc_auc(bench: Benchmark | str, scores: np.ndarray, labels: np.ndarray) -> float:
    """The official AUC; ValueError unless every class of the benchmark appears in `labels`."""
    # Imported here: scikit-learn takes about a second to import and only scoring needs it.
    from sklearn.metrics import roc_auc_score

    bench = bench if isinstance(bench, Benchmark) else get_benchmark(bench)
    missing = sorted(set(range(bench.classes)) - set(labels.tolist()))
    if missing:
        raise ValueError(f"AUC needs files of every class; none of class {', '.join(map(str, missing))}")
    if bench.outputs == 1:
        return float(roc_auc_score(labels, scores))
    if bench.classes == 2:
        return float(roc_auc_score(labels, scores[:, 1]))
    return float(roc_auc_score(labels, scores, multi_class="ovr", labels=list(range(bench.classes))))


def evaluate(bench: Benchmark | str, results: Iterable[Result]) -> Quality | None:
    """Top-1 and AUC over the labelled results and PASS/FAIL on the target; None if nothing is labelled."""
    bench = bench if isinstance(bench, Benchmark) else get_benchmark(bench)
    fs = per_file(bench, results)
    if not fs.files:
        return None
    top1 = top1_accuracy(fs.scores, fs.labels) if bench.outputs > 1 else None
    try:
        auc, note = roc_auc(bench, fs.scores, fs.labels), None
    except ValueError as err:
        auc, note = None, str(err)
    value = top1 if bench.metric == "top1" else auc
    passed = value is not None and value >= bench.target
    return Quality(bench.metric, value, bench.target, passed, len(fs.files), top1, auc, note)
