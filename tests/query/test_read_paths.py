"""The query endpoints answer from the columnar copy, with the primary store's exact answers.

Every query test in this package already runs on both read paths (conftest.READ_PATHS), and on
the columnar path Dataset.post compares each answer with the primary store's, byte for byte.
These tests check the other half: that the copy, not the primary, answered.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.query.conftest import Dataset, columnar_view


@pytest.fixture(scope="module")
def columnar(seeded: Dataset) -> Iterator[Dataset]:
    with columnar_view(seeded) as view:
        yield view


def _day(field: str = "createdAt") -> dict[str, Any]:
    return {"type": "time", "timeUnit": "day", "field": field}


COUNT = {"type": "aggregation", "aggregation": "count"}

# What a dashboard asks: counts per day, by type, by a property, distinct users per week, top
# search queries; on every view.
DASHBOARD_QUERIES: list[tuple[str, dict[str, Any]]] = [
    ("events", {"select": [_day(), COUNT]}),
    (
        "events",
        {"select": [{"type": "field", "field": "type"}, COUNT], "groupBy": [{"field": "type"}]},
    ),
    (
        "events",
        {
            "select": [{"type": "field", "field": "properties", "path": ["theme"]}, COUNT],
            "groupBy": [{"field": "properties", "path": ["theme"]}],
        },
    ),
    (
        "events",
        {
            "select": [
                {"type": "time", "timeUnit": "week", "field": "createdAt"},
                {
                    "type": "aggregation",
                    "aggregation": "countDistinct",
                    "field": "userProperties",
                    "path": ["userId"],
                },
            ]
        },
    ),
    (
        "events",
        {
            "select": [
                {"type": "field", "field": "searchQuery"},
                {"type": "aggregation", "aggregation": "count", "field": "id"},
            ],
            "groupBy": [{"field": "searchQuery"}],
            "where": {"condition": {"field": "eventType", "operator": "eq", "value": "search"}},
            "orderBy": [{"field": "count_id", "direction": "desc"}],
        },
    ),
    ("conversations", {"select": [{"type": "time", "timeUnit": "week"}, COUNT]}),
    ("feedback", {"select": [_day(), {"type": "field", "field": "type"}, COUNT]}),
    ("semantic_threads", {}),
    ("events", {}),
]


@pytest.mark.parametrize(("view", "body"), DASHBOARD_QUERIES)
def test_dashboard_queries_are_answered_by_the_copy(
    columnar: Dataset, view: str, body: dict[str, Any]
) -> None:
    columnar.served.clear()
    columnar.data(view, body)  # compared with the primary's answer inside
    assert columnar.served == [("columnar", body)]


def test_another_project_is_invisible_in_the_copy_too(columnar: Dataset) -> None:
    body = {"select": [COUNT]}
    columnar.served.clear()
    docs = columnar.rows("events", body)
    other = columnar.rows("events", body, key="other")
    assert docs != other
    assert columnar.served == [("columnar", body), ("columnar", body)]


def test_containment_of_objects_is_answered_by_the_copy(columnar: Dataset) -> None:
    body = {
        "where": {
            "condition": {
                "field": "properties",
                "operator": "jsonContains",
                "value": {"nested": {"x": 1}, "theme": "dark"},
            }
        }
    }
    columnar.served.clear()
    assert [row["id"] for row in columnar.rows("conversations", body)] == ["conv_a"]
    assert columnar.served == [("columnar", body)]


def test_containment_of_an_array_falls_back_to_the_primary(columnar: Dataset) -> None:
    body = {
        "where": {
            "condition": {
                "field": "properties",
                "operator": "jsonContains",
                "value": {"tags": ["b"]},
            }
        }
    }
    columnar.served.clear()
    assert [row["id"] for row in columnar.rows("conversations", body)] == ["conv_a"]
    assert columnar.served == [("primary", body)]


@pytest.mark.parametrize("field", ["properties", "userProperties"])
def test_property_keys_come_from_the_copy(columnar: Dataset, field: str) -> None:
    assert columnar.primary is not None
    reads = columnar.client.app.state.services.analytic_reads  # type: ignore[attr-defined]
    both = ["events_view", "conversations_view"]
    for body in ({"field": field}, {"field": field, "views": both}):
        before = reads["columnar"]
        answer = columnar.client.post("/query/property-keys", json=body, headers=columnar.headers())
        expected = columnar.primary.post(
            "/query/property-keys", json=body, headers=columnar.headers()
        )
        assert answer.status_code == 200, answer.text
        assert answer.json() == expected.json()
        assert answer.json()["results"], "the data set has keys in use"
        assert reads["columnar"] == before + 1
