"""Scoring as the official runner does it, against values worked out by hand."""
from __future__ import annotations

import numpy as np
import pytest

from harness.metrics import evaluate, normalise, per_file, roc_auc, top1_accuracy


def test_normalise_to_sum_one():
    np.testing.assert_allclose(normalise([1, 3]), [0.25, 0.75])
    np.testing.assert_allclose(normalise([2, 2, 4]), [0.25, 0.25, 0.5])
    np.testing.assert_allclose(normalise([0, 0, 0, 0]), [0.25] * 4)  # nothing printed above 0.000


def test_top1_of_three_samples():
    scores = np.array([[0.1, 0.7, 0.2],   # predicts 1, label 1: right
                       [0.5, 0.3, 0.2],   # predicts 0, label 1: wrong
                       [0.2, 0.2, 0.6]])  # predicts 2, label 2: right
    assert top1_accuracy(scores, np.array([1, 1, 2])) == pytest.approx(2 / 3)


def test_vectors_are_normalised_before_averaging_per_file():
    # raw mean would be [30.05, 20.45] (class 0); normalised mean is [0.35, 0.65] (class 1)
    fs = per_file("vww", [("f", 1, [0.1, 0.9]), ("f", 1, [60, 40])])
    assert fs.files == ["f"]
    np.testing.assert_allclose(fs.scores, [[0.35, 0.65]])
    assert top1_accuracy(fs.scores, fs.labels) == 1.0


def test_unlabelled_results_are_skipped_and_files_keep_first_seen_order():
    fs = per_file("vww", [("b", 0, [1, 0]), ("x", None, [0, 1]), ("a", 1, [0, 1])])
    assert fs.files == ["b", "a"] and fs.labels.tolist() == [0, 1]


def test_ad_auc_by_hand():
    # per-file mean scores: normal 1, 2, 4; anomaly 3, 5.
    # anomaly-above-normal pairs: 3 beats 1 and 2 (not 4), 5 beats all three: 5 of 6.
    results = [("n1", 0, [0.5]), ("n1", 0, [1.5]), ("n2", 0, [2.0]), ("n3", 0, [4.0]),
               ("a1", 1, [2.0]), ("a1", 1, [4.0]), ("a2", 1, [5.0])]
    fs = per_file("ad", results)
    np.testing.assert_allclose(fs.scores, [1, 2, 4, 3, 5])
    q = evaluate("ad", results)
    assert q.metric == "auc" and q.auc == pytest.approx(5 / 6) and q.value == q.auc
    assert q.top1 is None and q.files == 5
    assert q.passed is False  # 0.833 < 0.85


def test_binary_auc_uses_column_1():
    # class-1 scores: negatives 0.2, 0.6; positives 0.4, 0.9 -> pairs won: 0.4>0.2, 0.9>0.2, 0.9>0.6 = 3 of 4
    results = [("a", 0, [0.8, 0.2]), ("b", 0, [0.4, 0.6]), ("c", 1, [0.6, 0.4]), ("d", 1, [0.1, 0.9])]
    q = evaluate("vww", results)
    assert q.auc == pytest.approx(0.75)
    assert q.top1 == pytest.approx(0.5) and q.metric == "top1" and q.passed is False


def test_multiclass_auc_is_one_vs_rest_macro():
    # ten files, one per class, each predicted with 0.91 on one class and 0.01 elsewhere;
    # files 0 and 1 are predicted as each other's class.
    # class 0 (and 1): the positive scores 0.01, losing to one negative (0.91) and tying eight: 4/9.
    # classes 2..9: the positive 0.91 beats every negative: 1. Macro mean: (2 * 4/9 + 8) / 10.
    results = []
    for label in range(10):
        predicted = {0: 1, 1: 0}.get(label, label)
        vector = [0.01] * 10
        vector[predicted] = 0.91
        results.append((f"f{label}", label, vector))
    q = evaluate("ic", results)
    assert q.auc == pytest.approx((2 * 4 / 9 + 8) / 10)
    assert q.top1 == pytest.approx(0.8) and q.passed is False  # target 0.85


def test_top1_target_passes():
    results = [(f"f{i}", i % 2, [0.9, 0.1] if i % 2 == 0 else [0.2, 0.8]) for i in range(10)]
    q = evaluate("vww", results)
    assert (q.value, q.target, q.passed, q.auc) == (1.0, 0.80, True, 1.0)


def test_auc_needs_every_class():
    with pytest.raises(ValueError, match="none of class 1"):
        roc_auc("ad", np.array([1.0, 2.0]), np.array([0, 0]))
    q = evaluate("ad", [("n", 0, [1.0])])
    assert q.value is None and q.passed is False and "none of class 1" in q.note
    q = evaluate("kws", [("f", 3, [0] * 3 + [1] + [0] * 8)])
    assert q.top1 == 1.0 and q.passed is True and q.auc is None  # top-1 is the target metric


def test_nothing_labelled_gives_no_verdict():
    assert evaluate("kws", [("synthetic-0000", None, [1 / 12] * 12)]) is None


def test_inconsistent_results_are_errors():
    with pytest.raises(ValueError, match="labels 0 and 1"):
        per_file("ad", [("f", 0, [1.0]), ("f", 1, [2.0])])
    with pytest.raises(ValueError, match="vww results have 2 values, got 3"):
        per_file("vww", [("f", 0, [1.0, 0.0, 0.0])])
