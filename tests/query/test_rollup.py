"""Distinct users per day, week, month and range, and counts of events, answered from the
columnar copy's rollups (analytics.rollups, query.rollup, query.counts): on the columnar path
Dataset.post compares every answer with the primary store's byte for byte; these tests also
check the figures, and that the rollups answered the queries they qualify for and left the
others to SQL."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import msgspec
import pytest

from tests.query.conftest import Dataset, columnar_view
from threadline.analytics.shred import Shredded
from threadline.query.catalogue import VIEWS
from threadline.query.compile import compile_query
from threadline.query.sql_duckdb import DuckDbSql
from threadline.wire.query import QUERY_TYPES

USERS = {
    "type": "aggregation",
    "aggregation": "countDistinct",
    "field": "userProperties",
    "path": ["userId"],
}
COUNT = {"type": "aggregation", "aggregation": "count"}
USERS_KEY = "countDistinct_userProperties.userId"


def _bucket(unit: str) -> dict[str, Any]:
    return {"type": "time", "timeUnit": unit, "field": "createdAt"}


def _created(operator: str, value: str) -> dict[str, Any]:
    return {"condition": {"field": "createdAt", "operator": operator, "value": value}}


def _entity(value: str) -> dict[str, Any]:
    return {"condition": {"field": "eventType", "operator": "eq", "value": value}}


# The docs project's events with a userId: u1 on 02-01 (twice), u2 on 02-01, 7 (a number) on
# 02-02; every other event names no user.
ANSWERED: list[tuple[dict[str, Any], list[dict[str, Any]]]] = [
    (
        {"select": [_bucket("day"), USERS]},
        [
            {"createdAt_day": "2026-01-31T00:00:00.000Z", USERS_KEY: 0},
            {"createdAt_day": "2026-02-01T00:00:00.000Z", USERS_KEY: 2},
            {"createdAt_day": "2026-02-02T00:00:00.000Z", USERS_KEY: 1},
            {"createdAt_day": "2026-02-03T00:00:00.000Z", USERS_KEY: 0},
            {"createdAt_day": "2026-02-10T00:00:00.000Z", USERS_KEY: 0},
            {"createdAt_day": "2026-03-02T00:00:00.000Z", USERS_KEY: 0},
        ],
    ),
    (
        {"select": [_bucket("week"), USERS, COUNT]},
        [
            {"createdAt_week": "2026-01-26T00:00:00.000Z", USERS_KEY: 2, "count": 4},
            {"createdAt_week": "2026-02-02T00:00:00.000Z", USERS_KEY: 1, "count": 4},
            {"createdAt_week": "2026-02-09T00:00:00.000Z", USERS_KEY: 0, "count": 1},
            {"createdAt_week": "2026-03-02T00:00:00.000Z", USERS_KEY: 0, "count": 1},
        ],
    ),
    (
        {
            "select": [USERS, _bucket("month")],
            "orderBy": [{"field": "createdAt_month", "direction": "desc"}],
        },
        [
            {USERS_KEY: 0, "createdAt_month": "2026-03-01T00:00:00.000Z"},
            {USERS_KEY: 3, "createdAt_month": "2026-02-01T00:00:00.000Z"},
            {USERS_KEY: 0, "createdAt_month": "2026-01-01T00:00:00.000Z"},
        ],
    ),
    ({"select": [USERS]}, [{USERS_KEY: 3}]),
    (
        {
            "select": [USERS, {"type": "aggregation", "aggregation": "count", "field": "id"}],
            "where": {
                "and": [_created("gte", "2026-02-01"), _created("lt", "2026-02-02T00:00:00Z")]
            },
        },
        [{USERS_KEY: 2, "count_id": 3}],
    ),
    (
        {
            "select": [_bucket("day"), USERS],
            "where": {"and": [_created("gt", "2026-02-01T23:59:59.999999Z"), _entity("message")]},
        },
        [{"createdAt_day": "2026-02-02T00:00:00.000Z", USERS_KEY: 1}],
    ),
    # Nothing matches: no bucket, and one row of zeros without buckets.
    ({"select": [_bucket("day"), USERS], "where": _entity("nothing")}, []),
    (
        {"select": [USERS, COUNT], "where": _created("gte", "2027-01-01")},
        [{USERS_KEY: 0, "count": 0}],
    ),
]

# Near misses: the same answers, from SQL.
NOT_ANSWERED: list[dict[str, Any]] = [
    {"select": [_bucket("hour"), USERS]},
    {"select": [_bucket("day"), USERS], "where": _created("gte", "2026-02-01T09:00:00Z")},
    {
        "select": [_bucket("day"), USERS, COUNT],
        "orderBy": [{"field": "count", "direction": "desc"}],
    },
    {"select": [_bucket("day"), {**USERS, "path": ["supportAgentName"]}]},
    {
        "select": [_bucket("day"), USERS],
        "where": {"condition": {"field": "type", "operator": "eq", "value": "message:copied"}},
    },
    {"select": [{"type": "field", "field": "type"}, USERS], "groupBy": [{"field": "type"}]},
    {"select": [_bucket("day"), COUNT]},
]


@pytest.fixture(scope="module")
def columnar(seeded: Dataset) -> Iterator[Dataset]:
    with columnar_view(seeded) as view:
        yield view


def _answered(dataset: Dataset) -> int:
    copy = dataset.client.app.state.services.columnar  # type: ignore[attr-defined]
    return int(copy.rollups.answered)


@pytest.mark.parametrize(("body", "expected"), ANSWERED)
def test_distinct_users_are_exact_on_both_paths(
    dataset: Dataset, body: dict[str, Any], expected: list[dict[str, Any]]
) -> None:
    assert dataset.rows("events", body) == expected


@pytest.mark.parametrize(("body", "expected"), ANSWERED)
def test_the_rollup_answers_distinct_users(
    columnar: Dataset, body: dict[str, Any], expected: list[dict[str, Any]]
) -> None:
    before = _answered(columnar)
    assert columnar.rows("events", body) == expected
    assert _answered(columnar) == before + 1


@pytest.mark.parametrize("body", NOT_ANSWERED)
def test_other_queries_are_left_to_sql(columnar: Dataset, body: dict[str, Any]) -> None:
    before = _answered(columnar)
    columnar.rows("events", body)  # compared with the primary store's answer
    assert _answered(columnar) == before


def test_projects_are_kept_apart(columnar: Dataset) -> None:
    body = {"select": [USERS, COUNT]}
    assert columnar.rows("events", body, key="bulk") == [{USERS_KEY: 0, "count": 1003}]


def _type(operator: str, value: Any) -> dict[str, Any]:
    return {"condition": {"field": "type", "operator": operator, "value": value}}


# Counts the rollup of event counts answers (per quarter hour, entity type, type, integration).
COUNTED: list[dict[str, Any]] = [
    {"select": [_bucket("day"), COUNT]},
    {"select": [_bucket("hour"), {"type": "field", "field": "type"}, COUNT]},
    {
        "select": [{"type": "field", "field": "integrationId"}, COUNT],
        "groupBy": [{"field": "eventType"}],
        "orderBy": [{"field": "count", "direction": "desc"}],
    },
    {
        "select": [{"type": "field", "field": "type"}, {**COUNT, "field": "id"}],
        "groupBy": [{"field": "type"}],
        "where": {
            "or": [
                _type("neq", "search"),
                {"and": [_created("gte", "2026-02-01T09:15:00Z"), _entity("message")]},
            ]
        },
    },
    {"select": [COUNT], "where": _created("lt", "2026-02-02")},
    {"select": [COUNT], "where": _created("gte", "2030-01-01")},  # none: one row of 0
    {"select": [{"type": "field", "field": "type"}], "groupBy": [{"field": "type"}]},
    # Rows (not grouped): counted for their total only.
    {"select": [{"type": "field", "field": "createdAt"}], "where": _entity("message")},
]
# Not countable: a filter or group on what the rollup does not keep, or a time cut inside a
# quarter hour.
NOT_COUNTED: list[dict[str, Any]] = [
    {"select": [COUNT], "where": _created("gte", "2026-02-01T09:05:00Z")},
    {"select": [COUNT], "where": _created("eq", "2026-02-01T09:05:00Z")},
    {"select": [{**COUNT, "field": "messageId"}]},
    {
        "select": [COUNT],
        "where": {"condition": {"field": "messageId", "operator": "eq", "value": "x"}},
    },
    {"select": [{"type": "aggregation", "aggregation": "min", "field": "createdAt"}]},
    # With the search query: per hour, or cut inside a day (its rollup is per UTC day).
    {"select": [_bucket("hour"), {"type": "field", "field": "searchQuery"}, COUNT]},
    {
        "select": [{"type": "field", "field": "searchQuery"}, COUNT],
        "where": _created("gte", "2026-02-03T08:15:00Z"),
    },
]
_QUERY = {"type": "field", "field": "searchQuery"}
# Counts the rollup per UTC day with the search query answers.
SEARCH_COUNTED: list[dict[str, Any]] = [
    {  # bench/queries.py's top search queries
        "select": [_QUERY, {**COUNT, "field": "id"}],
        "groupBy": [{"field": "searchQuery"}],
        "where": _entity("search"),
        "orderBy": [{"field": "count_id", "direction": "desc"}],
    },
    {"select": [_QUERY, COUNT]},  # every event's: no query is a group too
    {
        "select": [_bucket("week"), _QUERY, COUNT],
        "where": {"and": [_created("gte", "2026-02-03"), _created("lt", "2026-02-10")]},
    },
    {
        "select": [_bucket("day"), COUNT],
        "where": {
            "condition": {
                "field": "searchQuery",
                "operator": "in",
                "value": ["how to log events", "x"],
            }
        },
    },
    {"select": [_bucket("month"), _QUERY, COUNT], "where": _created("lt", "2026-02-10")},
    # Rows: counted for their total only.
    {
        "select": [{"type": "field", "field": "createdAt"}],
        "where": {"condition": {"field": "searchQuery", "operator": "isNotNull"}},
    },
]


# The user counts (each user's events, for all time): counts and totals filtered only on the
# shredded userId (and the project).
def _user(operator: str, value: Any) -> dict[str, Any]:
    return {"condition": {"field": "userProperties", "operator": operator, "value": value}}


USER_COUNTED: list[dict[str, Any]] = [
    {"select": [COUNT], "where": _user("jsonContains", {"userId": "u1"})},
    {
        "select": [{**COUNT, "field": "id"}],
        "where": _user("eq", {"path": ["userId"], "value": "u2"}),
    },
    {"select": [COUNT], "where": _user("jsonContains", {"userId": 7})},  # a number: not "7"
    {"select": [COUNT], "where": _user("jsonContains", {"userId": "nobody"})},
    {
        "select": [COUNT],
        "where": {
            "or": [_user("jsonContains", {"userId": "u1"}), _user("jsonContains", {"userId": "u2"})]
        },
    },
    {"where": _user("jsonContains", {"userId": "u1"})},  # rows: counted for their total
]
USER_NOT_COUNTED: list[dict[str, Any]] = [
    {
        "select": [COUNT],
        "where": {"and": [_user("jsonContains", {"userId": "u1"}), _created("gte", "2026-02-01")]},
    },
    {"select": [_bucket("day"), COUNT], "where": _user("jsonContains", {"userId": "u1"})},
    {
        "select": [COUNT],
        "where": {"and": [_user("jsonContains", {"userId": "u1"}), _entity("message")]},
    },
    {"select": [COUNT], "where": _user("jsonContains", {"supportAgentName": "Ann"})},
    {"select": [COUNT], "where": _user("jsonContains", {"userId": "u1", "x": "y"})},
]
_SHREDDED_USER = Shredded({"events": {"user_properties": ("identificationType", "userId")}})


def _duckdb_sql(body: dict[str, Any], shredded: Shredded | None = None) -> str:
    """The statements the compiler makes for the columnar copy with its rollups."""
    parsed = msgspec.convert(body, QUERY_TYPES["events"].body)
    sql = DuckDbSql(shredded, event_counts=True)
    compiled = compile_query(VIEWS["events"], sql, parsed, project_id="p")
    return f"{compiled.statement} {compiled.count_statement()}"


# Of those, the ones on nothing but the project and the time: read from the totals per quarter
# hour (rollup_event_totals), tens of times fewer rows than the counts by type and integration.
TOTALLED = [COUNTED[0], COUNTED[4], COUNTED[5]]


@pytest.mark.parametrize("body", USER_COUNTED)
def test_user_counts_are_exact_on_both_paths(dataset: Dataset, body: dict[str, Any]) -> None:
    dataset.data("events", body)  # on the columnar path: compared with the primary's answer
    assert "rollup_user_counts" in _duckdb_sql(body, _SHREDDED_USER)
    assert "rollup_user_counts" not in _duckdb_sql(body)  # userId not shredded: no such rollup


@pytest.mark.parametrize("body", USER_NOT_COUNTED)
def test_other_user_queries_read_the_events(dataset: Dataset, body: dict[str, Any]) -> None:
    dataset.data("events", body)
    assert "rollup_user_counts" not in _duckdb_sql(body, _SHREDDED_USER)


@pytest.mark.parametrize("body", COUNTED)
def test_event_counts_are_exact_on_both_paths(dataset: Dataset, body: dict[str, Any]) -> None:
    dataset.data("events", body)  # on the columnar path: compared with the primary's answer
    sql = _duckdb_sql(body)
    if body in TOTALLED:
        assert "rollup_event_totals" in sql and "rollup_event_counts" not in sql
    else:
        assert "rollup_event_counts" in sql and "rollup_event_totals" not in sql


@pytest.mark.parametrize("body", SEARCH_COUNTED)
def test_search_counts_are_exact_on_both_paths(dataset: Dataset, body: dict[str, Any]) -> None:
    dataset.data("events", body)  # on the columnar path: compared with the primary's answer
    assert "rollup_search_counts" in _duckdb_sql(body)


@pytest.mark.parametrize("body", NOT_COUNTED)
def test_other_counts_read_the_events(dataset: Dataset, body: dict[str, Any]) -> None:
    dataset.data("events", body)
    assert "rollup_event_counts" not in _duckdb_sql(body)
    assert "rollup_event_totals" not in _duckdb_sql(body)

    sql = _duckdb_sql(body)
    assert "rollup_event_counts" not in sql
    assert "rollup_search_counts" not in sql
