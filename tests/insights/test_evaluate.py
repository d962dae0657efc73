"""The scorer: pairwise F1 for the subject clustering, and the regression guard that keeps the
labellers' figures on the evaluation set's test split at or above their targets."""

from __future__ import annotations

from pathlib import Path

import pytest

from threadline.insights import subjects
from threadline.insights.evaluate import (
    PrecisionRecall,
    load_eval_set,
    pairwise_f1,
    score,
    subject_ids,
    subject_vectors,
)
from threadline.insights.subject_embed import shared

EVAL_SET = Path(__file__).parent / "eval" / "threads.jsonl"


def test_pairwise_f1() -> None:
    assert pairwise_f1(["a", "a", "b", "b"], [1, 1, 2, 2]) == 1.0
    assert pairwise_f1(["a", "a", "b", "b"], [1, 2, 3, 4]) == 0.0
    # True pairs {01, 02, 12}, predicted {01, 23}: precision 1/2, recall 1/3.
    assert pairwise_f1(["a", "a", "a", "b"], [1, 1, 2, 2]) == pytest.approx(0.4)
    assert pairwise_f1(["a", "b", "c"], [1, 1, 1]) == 0.0
    assert pairwise_f1([], []) == 1.0
    with pytest.raises(ValueError):
        pairwise_f1(["a"], [])


def test_precision_recall() -> None:
    assert PrecisionRecall.of(0, 0, 0) == PrecisionRecall(1.0, 1.0, 1.0)
    assert PrecisionRecall.of(1, 2, 4).f1 == pytest.approx(2 * 0.5 * 0.25 / 0.75)


def test_eval_set_shape() -> None:
    threads, vocabulary = load_eval_set(EVAL_SET)
    assert len(threads) >= 150
    assert {item.split for item in threads} == {"dev", "test"}
    languages = {code for item in threads for code in item.expected["languages"]}
    assert {"en", "de", "fr", "es", "pt", "ja", "zh"} <= languages
    assert len({item.id for item in threads}) == len(threads)
    assert "Skyport" in vocabulary.product_names
    for item in threads:
        expected = item.expected
        assert expected["is_gap"] == (
            expected["is_on_topic"]
            and not (expected["is_documented"] and expected["is_answer_confident"])
        ), item.id


# The targets of issue 13 on the test split; every one is met today (docs/insights.md).
TARGETS = {
    "languages": 0.95,
    "sentiment": 0.8,
    "is_on_topic": 0.9,
    "is_answer_confident": 0.9,
    "question_type": 0.7,
}


def test_targets_on_the_test_split_stay_met() -> None:
    threads, vocabulary = load_eval_set(EVAL_SET)
    scores = score([item for item in threads if item.split == "test"], vocabulary)
    for field, target in TARGETS.items():
        assert scores.accuracy[field] >= target, (field, scores.accuracy[field])
    assert scores.gap.f1 >= 0.8
    assert scores.third_party.f1 >= 0.75


def test_subject_clustering_target_on_the_test_split_stays_met(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    threads, _ = load_eval_set(EVAL_SET)
    test = [item for item in threads if item.split == "test"]
    truth = [item.subject for item in test]
    vectors = subject_vectors(test, shared())
    assert pairwise_f1(truth, subject_ids(test, vectors)) >= 0.6
    # The guard can fail: clusters that merge too far (or not at all) fall below the target.
    for broken in (1.5, 0.2):
        monkeypatch.setattr(subjects, "MERGE_DISTANCE", broken)
        assert pairwise_f1(truth, subject_ids(test, vectors)) < 0.6, broken
