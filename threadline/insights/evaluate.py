"""Scoring the labellers against a hand-labelled evaluation set (tests/insights/eval/): per-field
accuracy, knowledge-gap precision/recall/F1, entity F1, and the pairwise F1 the subject
clustering is judged by. Pure functions but for the subject vectors (the model);
bench/insights_eval.py and bench/subjects_eval.py print them."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterable, Sequence
from itertools import combinations
from pathlib import Path
from typing import Any

from threadline.insights.embed import Vectors
from threadline.insights.labels import label_thread
from threadline.insights.model import Labels, ProjectVocabulary, ThreadText
from threadline.insights.subject_embed import SubjectEmbedder
from threadline.insights.subjects import recluster

# Fields compared for equality, as named in Labels and in the eval set's `expected`.
EXACT_FIELDS = (
    "languages",
    "sentiment",
    "emotion",
    "question_type",
    "is_on_topic",
    "is_clear",
    "is_answer_confident",
    "is_documented",
    "is_feature_supported",
)


@dataclasses.dataclass(frozen=True)
class EvalThread:
    id: str
    split: str
    subject: str
    thread: ThreadText
    expected: dict[str, Any]


@dataclasses.dataclass(frozen=True)
class PrecisionRecall:
    precision: float
    recall: float
    f1: float

    @classmethod
    def of(cls, true_positives: int, predicted: int, actual: int) -> PrecisionRecall:
        precision = true_positives / predicted if predicted else 1.0
        recall = true_positives / actual if actual else 1.0
        total = precision + recall
        return cls(precision, recall, 2 * precision * recall / total if total else 0.0)


@dataclasses.dataclass(frozen=True)
class Scores:
    threads: int
    accuracy: dict[str, float]
    gap: PrecisionRecall
    third_party: PrecisionRecall
    first_party: PrecisionRecall
    # (thread id, field, expected, got) for every field that missed.
    misses: tuple[tuple[str, str, Any, Any], ...]


def load_eval_set(path: Path) -> tuple[list[EvalThread], ProjectVocabulary]:
    """The threads of `path` (JSON lines) and the vocabulary beside it (vocabulary.json)."""
    threads = []
    for line in path.read_text("utf-8").splitlines():
        if not line.strip():
            continue
        row = json.loads(line)
        users = tuple(row["user_messages"])
        thread = ThreadText(
            question=users[0] if users else "",
            user_messages=users,
            assistant_messages=tuple(row["assistant_messages"]),
            cited_urls=tuple(row.get("cited_urls", ())),
            has_positive_feedback=row.get("has_positive_feedback", False),
            has_negative_feedback=row.get("has_negative_feedback", False),
        )
        threads.append(EvalThread(row["id"], row["split"], row["subject"], thread, row["expected"]))
    vocabulary_file = json.loads((path.parent / "vocabulary.json").read_text("utf-8"))
    vocabulary = ProjectVocabulary(
        product_names=tuple(vocabulary_file["product_names"]),
        learned_terms=tuple(vocabulary_file["learned_terms"]),
    )
    return threads, vocabulary


def score(threads: Sequence[EvalThread], vocabulary: ProjectVocabulary) -> Scores:
    right = dict.fromkeys(EXACT_FIELDS, 0)
    misses: list[tuple[str, str, Any, Any]] = []
    gap_counts = [0, 0, 0]
    entity_counts = {"third_party_entities": [0, 0, 0], "first_party_entities": [0, 0, 0]}
    for item in threads:
        labels = label_thread(item.thread, vocabulary)
        for field in EXACT_FIELDS:
            got = _value(labels, field)
            if got == item.expected[field]:
                right[field] += 1
            else:
                misses.append((item.id, field, item.expected[field], got))
        expected_gap, got_gap = bool(item.expected["is_gap"]), labels.gap_summary is not None
        _count(gap_counts, {item.id} if got_gap else set(), {item.id} if expected_gap else set())
        if expected_gap != got_gap:
            misses.append((item.id, "is_gap", expected_gap, got_gap))
        for field, counts in entity_counts.items():
            got_names, expected_names = set(getattr(labels, field)), set(item.expected[field])
            _count(counts, got_names, expected_names)
            if got_names != expected_names:
                misses.append((item.id, field, sorted(expected_names), sorted(got_names)))
    total = len(threads) or 1
    return Scores(
        threads=len(threads),
        accuracy={field: right[field] / total for field in EXACT_FIELDS},
        gap=PrecisionRecall.of(*gap_counts),
        third_party=PrecisionRecall.of(*entity_counts["third_party_entities"]),
        first_party=PrecisionRecall.of(*entity_counts["first_party_entities"]),
        misses=tuple(misses),
    )


def _value(labels: Labels, field: str) -> Any:
    value = getattr(labels, field)
    return list(value) if isinstance(value, tuple) else value


def _count(counts: list[int], got: set[str], expected: set[str]) -> None:
    counts[0] += len(got & expected)
    counts[1] += len(got)
    counts[2] += len(expected)


def subject_vectors(threads: Sequence[EvalThread], embedder: SubjectEmbedder) -> Vectors:
    """The threads' subject vectors, embedded as the pipeline does (question and answer)."""
    return embedder.embed(
        [item.thread.question for item in threads], [item.thread.answer for item in threads]
    )


def subject_ids(threads: Sequence[EvalThread], vectors: Vectors) -> list[int]:
    """The subject the pipeline gives each thread when it clusters them all at once (a first
    clustering, insights.subjects.recluster)."""
    questions = [item.thread.question for item in threads]
    _, ids = recluster(vectors, questions, [None] * len(threads), [])
    return ids


def pairwise_f1(true_labels: Sequence[object], predicted_labels: Sequence[object]) -> float:
    """Pairwise F1 of a clustering: over every pair of items, a pair is predicted together when
    both have the same predicted label and truly together when both have the same true label.
    Label values need only compare equal; 1.0 when there is no pair to get wrong."""
    if len(true_labels) != len(predicted_labels):
        raise ValueError("true_labels and predicted_labels must have the same length")
    together_true = _pairs(true_labels)
    together_predicted = _pairs(predicted_labels)
    both = len(together_true & together_predicted)
    return PrecisionRecall.of(both, len(together_predicted), len(together_true)).f1


def _pairs(labels: Iterable[object]) -> set[tuple[int, int]]:
    groups: dict[object, list[int]] = {}
    for index, label in enumerate(labels):
        groups.setdefault(label, []).append(index)
    return {pair for members in groups.values() for pair in combinations(members, 2)}
