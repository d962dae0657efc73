"""`threadline insights run` / run_backlog: a backlog labelled now, safely re-run; and
`threadline projects set --product-names`."""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import select
from starlette.testclient import TestClient

from tests.insights.conftest import CountingLabeller, conversation
from threadline.cli import main
from threadline.insights.run import _stop_when_orphaned, run_backlog, work_forever
from threadline.store import insight_queue
from threadline.store.engine import Database
from threadline.store.insight_threads import product_names
from threadline.store.tables import insight_subjects, projects, semantic_threads


def _post_all(client: TestClient, headers: dict[str, str], n: int) -> None:
    topics = ["rotate an API key", "export invoices as PDF", "configure SSO with Okta"]
    for i in range(n):
        body = conversation(
            f"c{i}",
            ("user", f"How do I {topics[i % 3]}? (case {i})"),
            ("assistant", "Like this."),
        )
        assert client.post("/conversations", json=body, headers=headers).status_code == 200


def test_a_backlog_is_labelled_now_and_a_rerun_relabels_nothing(
    client: TestClient, api_headers: dict[str, str], db: Database, database_url: str
) -> None:
    _post_all(client, api_headers, 9)
    labeller = CountingLabeller()
    seen: list[tuple[int, int]] = []
    result = run_backlog(
        database_url,
        project="docs",
        since_us=None,
        progress=lambda done, total: seen.append((done, total)),
        labeller=labeller,
    )
    assert (result.claimed, result.threads_labelled, result.failed) == (9, 9, 0)
    assert seen[-1] == (9, 9)
    with db.reader.connect() as connection:
        rows = connection.execute(select(semantic_threads.c.subject)).scalars().all()
        subjects = connection.execute(select(insight_subjects.c.name)).scalars().all()
    assert len(rows) == 9 and all(rows) and len(subjects) >= 2
    again = run_backlog(
        database_url, project="docs", since_us=None, progress=lambda *_: None, labeller=labeller
    )
    assert again.threads_labelled == 0 and len(labeller.calls) == 9


def test_other_projects_and_older_conversations_are_left_alone(
    client: TestClient, api_headers: dict[str, str], database_url: str
) -> None:
    _post_all(client, api_headers, 2)
    labeller = CountingLabeller()
    other = run_backlog(
        database_url,
        project="elsewhere",
        since_us=None,
        progress=lambda *_: None,
        labeller=labeller,
    )
    future = run_backlog(
        database_url, project=None, since_us=2**62, progress=lambda *_: None, labeller=labeller
    )
    assert other.claimed == future.claimed == 0 and labeller.calls == []


def test_the_cli_sets_product_names_and_runs_an_empty_backlog(
    db: Database, database_url: str
) -> None:
    runner = CliRunner()
    result = runner.invoke(
        main,
        [
            "projects",
            "set",
            "--project",
            "acme",
            "--product-names",
            "Acme, Acme CLI ,",
            "--database-url",
            database_url,
        ],
    )
    assert result.exit_code == 0, result.output
    with db.reader.connect() as connection:
        project_id = connection.execute(
            select(projects.c.id).where(projects.c.name == "acme")
        ).scalar_one()
        assert product_names(connection, project_id) == ("Acme", "Acme CLI")
    result = runner.invoke(main, ["insights", "run", "--database-url", database_url])
    assert result.exit_code == 0, result.output
    assert "0 conversations" in result.output
    bad: Any = runner.invoke(
        main, ["insights", "run", "--database-url", database_url, "--since", "yesterday"]
    )
    assert bad.exit_code == 2 and "--since" in bad.output


def test_the_child_stops_once_its_parent_is_gone(monkeypatch: pytest.MonkeyPatch) -> None:
    # A parent killed outright leaves the child with another parent (init or a subreaper).
    parents = iter([100, 100, 1])
    monkeypatch.setattr(os, "getppid", lambda: next(parents))
    stop = threading.Event()
    _stop_when_orphaned(stop, 100, 0.001)
    assert stop.is_set()
    # Gone before the child even looked: the parent's pid it was given decides.
    monkeypatch.setattr(os, "getppid", lambda: 1)
    early = threading.Event()
    _stop_when_orphaned(early, 100, 0.001)
    assert early.is_set()


def test_an_unreachable_database_is_one_warning_line(caplog: pytest.LogCaptureFixture) -> None:
    # A closed port: every step fails to connect. The worker keeps going, quietly.
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    stop = threading.Event()
    url = f"postgresql://postgres@127.0.0.1:{port}/nowhere"
    worker = threading.Thread(target=work_forever, args=(url, 0.01, stop))
    with caplog.at_level(logging.WARNING, logger="threadline.insights.run"):
        worker.start()
        deadline = time.monotonic() + 30
        while len(caplog.records) < 2 and time.monotonic() < deadline:
            time.sleep(0.01)
        stop.set()
        worker.join(timeout=30)
    assert not worker.is_alive()
    assert len(caplog.records) >= 2
    assert all(r.levelno == logging.WARNING and r.exc_info is None for r in caplog.records)
    assert all("storage unavailable" in r.getMessage() for r in caplog.records)


class RecordedStop(threading.Event):
    """A stop event that records how long the worker asked to wait, and stops it at the second
    wait."""

    def __init__(self) -> None:
        super().__init__()
        self.waits: list[float | None] = []

    def wait(self, timeout: float | None = None) -> bool:
        self.waits.append(timeout)
        if len(self.waits) >= 2:
            self.set()
        return self.is_set()


@pytest.mark.parametrize("cpu_share", [0.25, 1.0])
def test_the_worker_rests_in_proportion_to_its_work(
    client: TestClient,
    api_headers: dict[str, str],
    database_url: str,
    db: Database,
    cpu_share: float,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Beside `threadline serve` on a small box, labelling a backlog must leave the server its
    # cores: after a step of t seconds the worker rests t * (1 - share) / share.
    monkeypatch.setattr(insight_queue, "DEBOUNCE_US", 0)  # due at once, not after the debounce
    _post_all(client, api_headers, 3)
    stop = RecordedStop()
    work_forever(database_url, 5.0, stop, cpu_share=cpu_share)
    with db.reader.connect() as connection:
        assert len(connection.execute(select(semantic_threads.c.id)).all()) == 3
    if cpu_share == 1.0:
        assert stop.waits == [5.0, 5.0]  # no rest after work; the idle interval once caught up
    else:
        rest = stop.waits[0]
        assert rest is not None and 0 < rest != 5.0
        assert stop.waits[1] == 5.0
