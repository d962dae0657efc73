"""threadline.demo.load: a small dataset stored on both backends, and read back through the API."""

from __future__ import annotations

from sqlalchemy import ColumnElement, Table, func, select
from starlette.testclient import TestClient

from threadline.app import create_app
from threadline.config import Settings
from threadline.demo.generate import generate
from threadline.demo.load import issue_api_key, load
from threadline.demo.scripts import SCRIPTS
from threadline.demo.shape import Shape
from threadline.store.engine import Database
from threadline.store.tables import conversations, events, feedback, integrations, messages

END_US = 1_795_392_000_000_000  # 2026-11-23T00:00:00Z


def _count(database: Database, table: Table, *where: ColumnElement[bool]) -> int:
    with database.reader.connect() as connection:
        query = select(func.count()).select_from(table).where(*where)
        return int(connection.execute(query).scalar() or 0)


def test_load_stores_every_generated_row(db: Database, database_url: str) -> None:
    dataset = generate(Shape.for_events(3_000, end_us=END_US, days=30))
    loaded = load(db, dataset)

    message_count = sum(len(c.times) for c in dataset.conversations)
    assert loaded.counts == {
        "conversations": len(dataset.conversations),
        "messages": message_count,
        "feedback": len(dataset.feedback),
        "events": 3_000,
    }
    for table, want in (
        (conversations, len(dataset.conversations)),
        (messages, message_count),
        (feedback, len(dataset.feedback)),
        (events, 3_000),
    ):
        assert _count(db, table, table.c.project_id == loaded.project_id) == want
    assert _count(db, integrations, integrations.c.project_id == loaded.project_id) == 6
    # First answers cite their sources; questions never do.
    assert _count(db, messages, messages.c.role == "user", messages.c.links.is_not(None)) == 0
    assert _count(db, messages, messages.c.position == 1, messages.c.links.is_not(None)) > 0

    key = issue_api_key(db)
    headers = {"Authorization": f"Bearer {key}"}
    with TestClient(create_app(Settings(database_url=database_url))) as client:
        answer = client.post(
            "/query/events",
            headers=headers,
            json={"select": [{"type": "aggregation", "aggregation": "count"}]},
        )
        assert answer.status_code == 200, answer.text
        assert answer.json()["data"]["result"] == [{"count": 3_000}]
        negative = client.post(
            "/query/feedback",
            headers=headers,
            json={
                "select": [{"type": "aggregation", "aggregation": "count"}],
                "where": {"condition": {"field": "type", "operator": "eq", "value": "negative"}},
            },
        ).json()["data"]["result"][0]["count"]
        assert negative == sum(not f.positive for f in dataset.feedback)
        # A rated message's conversation resolves: feedback reads join them.
        page = client.get("/feedback?limit=5", headers=headers)
        assert page.status_code == 200, page.text
        first = client.get("/conversations?limit=1", headers=headers).json()["conversations"][0]
        assert first["messages"][0]["content"].endswith("?")


def test_scripted_texts_are_stored_whole_and_gap_answers_cite_nothing(db: Database) -> None:
    dataset = generate(Shape.for_events(3_000, end_us=END_US, days=30))
    loaded = load(db, dataset)
    where = messages.c.project_id == loaded.project_id
    with db.reader.connect() as connection:
        stored = {
            (row.conversation_id, row.position): (row.content, row.links)
            for row in connection.execute(select(messages).where(where))
        }
    scripted = [c for c in dataset.conversations if c.script >= 0]
    assert scripted
    for c in scripted:
        for number, turn in enumerate(SCRIPTS[c.script].turns):
            assert stored[(c.id, 2 * number)] == (turn.question, None)
            answer, links = stored[(c.id, 2 * number + 1)]
            assert answer == turn.answer
            assert (links is None) == (turn.cites is None)
    languages = {SCRIPTS[c.script].language for c in scripted}
    assert {"de", "fr", "es", "pt", "ja"} <= languages
