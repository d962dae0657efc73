"""A person's word on a semantic thread's labels: confirm or correct its subject, its knowledge-gap
flag and gapSummary. Run through the single writer (store.writer) like every other write.

A verified row (are_ai_annotations_verified = true) is the person's: the insight pipeline must
never overwrite its labels (it may still refresh hasPositive/NegativeFeedback, which are facts,
not labels). See docs/decisions.md, "Insights: person-verified labels".
"""

from __future__ import annotations

import dataclasses

from sqlalchemy import Connection, update

from threadline.errors import NotFound, Unprocessable
from threadline.store.tables import semantic_threads

MAX_SUBJECT_CHARS = 80
MAX_GAP_SUMMARY_CHARS = 300


@dataclasses.dataclass(frozen=True)
class VerifiedLabels:
    """What a person said about a thread."""

    subject: str
    is_gap: bool
    gap_summary: str

    def checked(self) -> VerifiedLabels:
        """The labels trimmed, or Unprocessable when they break the vocabulary's rules
        (shared/reference/semantic-threads.md: a subject is a short label; gapSummary is
        non-null exactly when the thread is a gap)."""
        subject = " ".join(self.subject.split())
        summary = " ".join(self.gap_summary.split())
        if not subject:
            raise Unprocessable("A thread needs a subject.")
        if len(subject) > MAX_SUBJECT_CHARS:
            raise Unprocessable(f"A subject is a short label: at most {MAX_SUBJECT_CHARS} chars.")
        if self.is_gap and not summary:
            raise Unprocessable("A knowledge gap needs a one-sentence summary of what is missing.")
        if len(summary) > MAX_GAP_SUMMARY_CHARS:
            raise Unprocessable(f"A gap summary is one sentence: at most {MAX_GAP_SUMMARY_CHARS}.")
        return VerifiedLabels(subject, self.is_gap, summary if self.is_gap else "")


def verify_labels(
    connection: Connection, *, project_id: str, thread_id: str, labels: VerifiedLabels, now: int
) -> None:
    """Write a person's labels on one thread of the project and mark them verified.

    A gap is an on-topic question the docs do not answer: marking one sets isOnTopic true and
    isDocumented false; clearing one says the docs answered it (isDocumented and
    isAnswerConfident true), so the row keeps the view's rule that gapSummary is non-null
    exactly when the thread is an on-topic gap."""
    labels = labels.checked()
    t = semantic_threads.c
    values: dict[str, object] = {
        "subject": labels.subject,
        "are_ai_annotations_verified": True,
        "last_updated_at": now,
    }
    if labels.is_gap:
        values |= {"gap_summary": labels.gap_summary, "is_on_topic": True, "is_documented": False}
    else:
        values |= {"gap_summary": None, "is_documented": True, "is_answer_confident": True}
    result = connection.execute(
        update(semantic_threads)
        .where(t.project_id == project_id, t.id == thread_id)
        .values(**values)
    )
    if result.rowcount == 0:
        raise NotFound(f"There is no thread {thread_id!r} in this project.")
