"""`threadline insights run` / run_backlog: a backlog labelled now, safely re-run; and
`threadline projects set --product-names`."""

from __future__ import annotations

from typing import Any

from click.testing import CliRunner
from sqlalchemy import select
from starlette.testclient import TestClient

from tests.insights.conftest import CountingLabeller, conversation
from threadline.cli import main
from threadline.insights.run import run_backlog
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
