"""A person's word on a thread's labels (threadline.store.semantic_threads), on both backends:
the row is written and marked verified, stays consistent, and stays within its project."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from tests.dashboard.threads import thread, write_threads
from threadline.errors import NotFound, Unprocessable
from threadline.store.engine import Database
from threadline.store.semantic_threads import VerifiedLabels, verify_labels
from threadline.store.tables import semantic_threads

NOW = 1_800_000_000_000_000


def _row(db: Database, thread_id: str) -> Any:
    with db.reader.connect() as connection:
        return connection.execute(
            select(semantic_threads).where(semantic_threads.c.id == thread_id)
        ).one()


def _verify(db: Database, project_id: str, thread_id: str, labels: VerifiedLabels) -> None:
    with db.writer.begin() as connection:
        verify_labels(
            connection, project_id=project_id, thread_id=thread_id, labels=labels, now=NOW
        )


def test_a_correction_is_written_and_marked_verified(db: Database) -> None:
    with db.writer.begin() as connection:
        write_threads(connection, [thread(1, project_id="p1"), thread(2, project_id="p1")])
    _verify(db, "p1", "p1-thread-1", VerifiedLabels(" SSO  setup ", True, " No Okta guide. "))
    row = _row(db, "p1-thread-1")
    assert (row.subject, row.gap_summary) == ("SSO setup", "No Okta guide.")
    assert row.are_ai_annotations_verified and row.is_on_topic
    assert row.is_documented is False and row.last_updated_at == NOW
    untouched = _row(db, "p1-thread-2")
    assert untouched.are_ai_annotations_verified is False


def test_clearing_a_gap_clears_its_summary(db: Database) -> None:
    with db.writer.begin() as connection:
        write_threads(connection, [thread(1, project_id="p1", gap="Missing page.")])
    _verify(db, "p1", "p1-thread-1", VerifiedLabels("installation", False, "ignored"))
    row = _row(db, "p1-thread-1")
    assert row.gap_summary is None and row.is_documented and row.is_answer_confident


def test_another_projects_thread_is_not_found(db: Database) -> None:
    with db.writer.begin() as connection:
        write_threads(connection, [thread(1, project_id="p2")])
    with pytest.raises(NotFound):
        _verify(db, "p1", "p2-thread-1", VerifiedLabels("mine", False, ""))
    assert _row(db, "p2-thread-1").are_ai_annotations_verified is False


@pytest.mark.parametrize(
    "labels",
    [
        VerifiedLabels("  ", False, ""),
        VerifiedLabels("x" * 81, False, ""),
        VerifiedLabels("billing", True, "   "),
        VerifiedLabels("billing", True, "y" * 301),
    ],
)
def test_labels_outside_the_vocabulary_rules_are_refused(labels: VerifiedLabels) -> None:
    with pytest.raises(Unprocessable):
        labels.checked()
