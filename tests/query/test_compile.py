"""Selections, aggregations, time buckets, groupBy, orderBy and paging (reference §7.2, §7.4-§7.7,
§7.11), with exact rows over the seeded data set (tests/query/conftest.py) on both backends."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest

from tests.query.conftest import BULK_EVENTS, COPIED, SHARED, Dataset
from threadline.query.compile import PAGE_SIZE

COUNT = {"type": "aggregation", "aggregation": "count"}


def field(name: str, *path: str) -> dict[str, Any]:
    selection: dict[str, Any] = {"type": "field", "field": name}
    if path:
        selection["path"] = list(path)
    return selection


def aggregate(name: str, of: str | None = None, *path: str) -> dict[str, Any]:
    selection: dict[str, Any] = {"type": "aggregation", "aggregation": name}
    if of is not None:
        selection["field"] = of
    if path:
        selection["path"] = list(path)
    return selection


def bucket(unit: str, of: str | None = None) -> dict[str, Any]:
    selection: dict[str, Any] = {"type": "time", "timeUnit": unit}
    if of is not None:
        selection["field"] = of
    return selection


def order(*keys: str) -> list[dict[str, str]]:
    """orderBy entries: "key" ascending, "-key" descending."""
    return [
        {"field": key.lstrip("-"), "direction": "desc" if key.startswith("-") else "asc"}
        for key in keys
    ]


def where(field_: str, operator: str, value: Any) -> dict[str, Any]:
    return {"condition": {"field": field_, "operator": operator, "value": value}}


def millis(iso: str) -> int:
    return int(datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp() * 1000)


def day(date: str) -> str:
    return f"{date}T00:00:00.000Z"


# -- the worked example of reference §7.11 ------------------------------------------------------


def test_worked_example_events_per_day_and_type(dataset: Dataset) -> None:
    body = {
        "select": [
            {"type": "time", "timeUnit": "day", "field": "createdAt"},
            {"type": "field", "field": "type"},
            {"type": "aggregation", "aggregation": "count"},
        ],
        "groupBy": [{"field": "type"}],
        "where": {
            "and": [
                {
                    "condition": {
                        "field": "type",
                        "operator": "in",
                        "value": ["message:copied", "chat_share_button_clicked"],
                    }
                },
                {
                    "condition": {
                        "field": "createdAt",
                        "operator": "gte",
                        "value": "2026-02-01T00:00:00Z",
                    }
                },
            ]
        },
        "orderBy": [{"field": "createdAt_day", "direction": "asc"}],
        "notes": "Count of events by type",
    }
    data = dataset.data("events", body)
    # Ties within a day are broken by the group columns, ascending.
    assert data == {
        "result": [
            {"createdAt_day": "2026-02-01T00:00:00.000Z", "type": COPIED, "count": 3},
            {"createdAt_day": "2026-02-02T00:00:00.000Z", "type": SHARED, "count": 1},
            {"createdAt_day": "2026-02-02T00:00:00.000Z", "type": COPIED, "count": 2},
        ],
        "total": 3,
        "pageSize": PAGE_SIZE,
        "count": 3,
    }
    assert list(data["result"][0]) == ["createdAt_day", "type", "count"]


# -- plain rows ---------------------------------------------------------------------------------


def test_events_without_select_are_whole_rows_newest_first(dataset: Dataset) -> None:
    docs, site, backend = (
        dataset.projects["docs"],
        dataset.integrations["docs"],
        dataset.integrations["backend"],
    )
    rows = dataset.rows("events", {})
    assert [row["id"] for row in rows] == [
        "e10",
        "e09",
        "e08",
        "e07",
        "e06",
        "e05",
        "e04",
        "e03",
        "e02",
        "e01",
    ]
    by_id = {row["id"]: row for row in rows}
    common = {"organizationId": docs, "projectId": docs, "integrationId": site}
    # Never-null keys without a value are left out (reference §10.12): a search event has no
    # message or conversation, a message event no searchQuery.
    assert by_id["e08"] == {
        **common,
        "id": "e08",
        "integrationId": backend,
        "createdAt": "2026-02-03T08:00:00.000Z",
        "eventType": "search",
        "type": "search",
        "searchQuery": "how to log events",
        "properties": {"results": "4"},
        "userProperties": None,
    }
    assert by_id["e04"] == {
        **common,
        "id": "e04",
        "messageId": "m_b2",
        "conversationId": "conv_b",
        "createdAt": "2026-02-01T23:59:59.999Z",
        "eventType": "message",
        "type": COPIED,
        "properties": {"theme": "dark"},
        "userProperties": {"userId": "u1"},
    }
    assert by_id["e06"] == {
        **common,
        "id": "e06",
        "conversationId": "conv_a",
        "createdAt": "2026-02-02T12:00:00.000Z",
        "eventType": "conversation",
        "type": SHARED,
        "properties": {"channel": "slack"},
        "userProperties": None,
    }
    # A message that was never logged: messageId, but no conversationId.
    assert by_id["e07"] == {
        **common,
        "id": "e07",
        "messageId": "m_gone",
        "createdAt": "2026-02-02T13:00:00.000Z",
        "eventType": "message",
        "type": COPIED,
        "properties": None,
        "userProperties": None,
    }


def test_events_properties_are_objects_of_strings(dataset: Dataset) -> None:
    """The SDK types events' properties and userProperties as {string: string} (§7.9)."""
    body = {
        "select": [field("id"), field("properties"), field("userProperties")],
        "where": where("id", "in", ["e02", "e05"]),
        "orderBy": order("id"),
    }
    assert dataset.rows("events", body) == [
        {
            "id": "e02",
            "properties": {
                "theme": "dark",
                "count": "3",
                "flag": "true",
                "nested": '{"a":1}',
                "list": '["x","y"]',
            },
            "userProperties": {"userId": "u1"},
        },
        {"id": "e05", "properties": None, "userProperties": {"userId": "7"}},
    ]


def test_null_values_in_events_properties_are_left_out(dataset: Dataset) -> None:
    """e10 was logged with {"score": 2, "referrer": null}: null fails the SDK's
    z.record(z.string()) as much as a number does, and "null" would be a string (compile.py)."""
    body = {"select": [field("properties")], "where": where("id", "eq", "e10")}
    assert dataset.rows("events", body) == [{"properties": {"score": "2"}}]


def test_conversations_and_feedback_json_fields_are_returned_as_stored(dataset: Dataset) -> None:
    rows = dataset.rows("conversations", {"select": [field("id"), field("properties")]})
    assert rows == [
        {"id": "conv_d", "properties": {"theme": None, "score": "5"}},
        {"id": "conv_c", "properties": None},
        {"id": "conv_b", "properties": {"theme": "light", "score": 2.5}},
        {
            "id": "conv_a",
            "properties": {
                "theme": "dark",
                "plan": "pro",
                "score": 5,
                "tags": ["a", "b"],
                "nested": {"x": 1},
            },
        },
        {"id": "conv_e", "properties": {}},
    ]
    body = {
        "select": [field("reasons"), field("sources")],
        "where": where("id", "in", ["f2", "f5"]),
        "orderBy": order("id"),
    }
    assert dataset.rows("feedback", body) == [
        {
            "reasons": [
                {"label": "inaccurate", "details": "outdated"},
                {"label": "too_long", "details": ""},
            ],
            "sources": [
                {"type": "negative", "title": "Old page", "url": "https://docs.example/old"}
            ],
        },
        {
            "reasons": None,
            "sources": [
                {"type": "positive", "title": "Guide", "url": "https://docs.example/guide"},
                {"type": None},
            ],
        },
    ]


def test_conversations_without_select(dataset: Dataset) -> None:
    docs, site = dataset.projects["docs"], dataset.integrations["docs"]
    rows = dataset.rows("conversations", {})
    assert [(r["id"], r["userMessageCount"], r["type"], r["firstMessageTime"]) for r in rows] == [
        ("conv_d", 1, "support_copilot", "2026-03-01T00:00:00.000Z"),
        ("conv_c", 3, "support_ticket", "2026-02-09T08:00:00.000Z"),
        ("conv_b", 1, "openai", "2026-02-02T15:30:00.000Z"),
        ("conv_a", 2, "openai", "2026-02-01T09:00:00.000Z"),
        ("conv_e", 0, "openai", "2026-01-31T23:59:59.000Z"),
    ]
    assert rows[2] == {
        "id": "conv_b",
        "userMessageCount": 1,
        "organizationId": docs,
        "projectId": docs,
        "integrationId": site,
        "firstMessageTime": "2026-02-02T15:30:00.000Z",
        "type": "openai",
        "properties": {"theme": "light", "score": 2.5},
        "userProperties": {"userId": "u2"},
    }


def test_feedback_without_select_carries_the_conversation_of_its_message(
    dataset: Dataset,
) -> None:
    docs, site = dataset.projects["docs"], dataset.integrations["docs"]
    rows = dataset.rows("feedback", {})
    assert [(r["id"], r.get("conversationId")) for r in rows] == [
        ("f5", "conv_c"),
        ("f4", None),
        ("f3", "conv_b"),
        ("f2", "conv_a"),
        ("f1", "conv_a"),
    ]
    # The rated message was never logged: conversationId (never null) is left out.
    assert "conversationId" not in rows[1]
    assert rows[0] == {
        "id": "f5",
        "type": "positive",
        "messageId": "s2",
        "createdAt": "2026-02-09T10:00:00.000Z",
        "updatedAt": "2026-02-10T10:00:00.000Z",
        "organizationId": docs,
        "reasons": None,
        "sources": [
            {"type": "positive", "title": "Guide", "url": "https://docs.example/guide"},
            {"type": None},
        ],
        "details": "Agent was great",
        "properties": None,
        "userProperties": None,
        "conversationId": "conv_c",
        "projectId": docs,
        "integrationId": site,
    }


def test_selected_fields_only_in_select_order(dataset: Dataset) -> None:
    body = {
        "select": [field("type"), field("conversationId"), field("id")],
        "where": where("id", "in", ["e06", "e08"]),
    }
    rows = dataset.rows("events", body)
    assert rows == [
        {"type": "search", "id": "e08"},
        {"type": SHARED, "conversationId": "conv_a", "id": "e06"},
    ]
    assert list(rows[1]) == ["type", "conversationId", "id"]


def test_the_same_selection_twice_is_one_key(dataset: Dataset) -> None:
    body = {"select": [field("id"), field("id")], "where": where("id", "eq", "e01")}
    assert dataset.rows("events", body) == [{"id": "e01"}]


# -- field selections with a path ---------------------------------------------------------------


def test_path_selections_are_text_or_null(dataset: Dataset) -> None:
    """`<field>.<path>` values are strings or null (§7.6): numbers, booleans, objects and
    arrays as text, minified alike on both backends."""
    body = {
        "select": [
            field("properties", "theme"),
            field("properties", "count"),
            field("properties", "flag"),
            field("properties", "nested"),
            field("properties", "nested", "a"),
            field("properties", "list"),
            field("properties", "missing"),
            field("userProperties", "userId"),
        ],
        "where": where("id", "in", ["e02", "e05"]),
        "orderBy": order("createdAt"),
    }
    assert dataset.rows("events", body) == [
        {
            "properties.theme": "dark",
            "properties.count": "3",
            "properties.flag": "true",
            "properties.nested": '{"a":1}',
            "properties.nested.a": "1",
            "properties.list": '["x","y"]',
            "properties.missing": None,
            "userProperties.userId": "u1",
        },
        {
            "properties.theme": None,
            "properties.count": None,
            "properties.flag": None,
            "properties.nested": None,
            "properties.nested.a": None,
            "properties.list": None,
            "properties.missing": None,
            "userProperties.userId": "7",
        },
    ]


def test_path_selections_on_conversations(dataset: Dataset) -> None:
    body = {
        "select": [field("id"), field("properties", "score"), field("properties", "theme")],
        "orderBy": order("id"),
    }
    assert dataset.rows("conversations", body) == [
        {"id": "conv_a", "properties.score": "5", "properties.theme": "dark"},
        {"id": "conv_b", "properties.score": "2.5", "properties.theme": "light"},
        {"id": "conv_c", "properties.score": None, "properties.theme": None},
        {"id": "conv_d", "properties.score": "5", "properties.theme": None},
        {"id": "conv_e", "properties.score": None, "properties.theme": None},
    ]


def test_mode_unpack_is_accepted_on_queries(dataset: Dataset) -> None:
    body = {
        "select": [{"type": "field", "field": "properties", "path": ["theme"], "mode": "unpack"}],
        "where": where("id", "eq", "e01"),
    }
    assert dataset.rows("events", body) == [{"properties.theme": "dark"}]


# -- aggregations -------------------------------------------------------------------------------


def test_count_without_a_field_counts_rows(dataset: Dataset) -> None:
    assert dataset.data("events", {"select": [COUNT]}) == {
        "result": [{"count": 10}],
        "total": 1,
        "pageSize": PAGE_SIZE,
        "count": 1,
    }
    assert dataset.rows("feedback", {"select": [COUNT]}) == [{"count": 5}]
    assert dataset.rows("conversations", {"select": [COUNT]}) == [{"count": 5}]


def test_count_of_nothing_is_zero(dataset: Dataset) -> None:
    body = {"select": [COUNT, aggregate("count", "id")], "where": {"or": []}}
    assert dataset.rows("events", body) == [{"count": 0, "count_id": 0}]


def test_counts_with_a_field_count_values(dataset: Dataset) -> None:
    body = {
        "select": [
            aggregate("count", "id"),
            aggregate("count", "searchQuery"),
            aggregate("count", "conversationId"),
            aggregate("countDistinct", "conversationId"),
            aggregate("countDistinct", "type"),
            aggregate("count", "userProperties", "userId"),
            aggregate("countDistinct", "userProperties", "userId"),
        ]
    }
    [row] = dataset.rows("events", body)
    assert row == {
        "count_id": 10,
        "count_searchQuery": 2,
        "count_conversationId": 7,
        "countDistinct_conversationId": 2,
        "countDistinct_type": 4,
        "count_userProperties.userId": 4,
        # u1, u2 and 7 (a number, counted by its text)
        "countDistinct_userProperties.userId": 3,
    }
    assert all(type(value) is int for value in row.values())


def test_number_aggregations(dataset: Dataset) -> None:
    body = {
        "select": [
            aggregate("sum", "userMessageCount"),
            aggregate("avg", "userMessageCount"),
            aggregate("min", "userMessageCount"),
            aggregate("max", "userMessageCount"),
        ]
    }
    [row] = dataset.rows("conversations", body)
    assert row == {
        "sum_userMessageCount": 7,
        "avg_userMessageCount": pytest.approx(1.4),
        "min_userMessageCount": 0,
        "max_userMessageCount": 3,
    }
    assert all(isinstance(value, int | float) for value in row.values())


def test_aggregations_at_a_json_path_use_json_numbers_only(dataset: Dataset) -> None:
    """score: conv_a 5, conv_b 2.5, conv_d "5" (a string: not summed, but counted)."""
    body = {
        "select": [
            aggregate("sum", "properties", "score"),
            aggregate("avg", "properties", "score"),
            aggregate("min", "properties", "score"),
            aggregate("max", "properties", "score"),
            aggregate("count", "properties", "score"),
            aggregate("countDistinct", "properties", "score"),
        ]
    }
    assert dataset.rows("conversations", body) == [
        {
            "sum_properties.score": 7.5,
            "avg_properties.score": 3.75,
            "min_properties.score": 2.5,
            "max_properties.score": 5,
            "count_properties.score": 3,
            "countDistinct_properties.score": 2,
        }
    ]


def test_min_and_max_of_a_time_field_are_epoch_milliseconds(dataset: Dataset) -> None:
    body = {"select": [aggregate("min", "createdAt"), aggregate("max", "createdAt")]}
    assert dataset.rows("events", body) == [
        {
            "min_createdAt": millis("2026-01-31T23:00:00Z"),
            "max_createdAt": millis("2026-03-02T00:00:00Z"),
        }
    ]
    body = {"select": [aggregate("min", "firstMessageTime"), aggregate("max", "firstMessageTime")]}
    assert dataset.rows("conversations", body) == [
        {
            "min_firstMessageTime": millis("2026-01-31T23:59:59Z"),
            "max_firstMessageTime": millis("2026-03-01T00:00:00Z"),
        }
    ]


def test_aggregates_of_no_values_are_left_out(dataset: Dataset) -> None:
    """The SDK types every aggregate as an optional number (§7.6): null would fail its
    validation, so sum/avg/min/max over no values leave their key out; counts are 0."""
    body = {
        "select": [
            aggregate("sum", "userMessageCount"),
            aggregate("avg", "userMessageCount"),
            aggregate("min", "firstMessageTime"),
            aggregate("max", "properties", "missing"),
            aggregate("count", "properties", "missing"),
        ],
        "where": {"or": []},
    }
    assert dataset.rows("conversations", body) == [{"count_properties.missing": 0}]
    body = {"select": [field("type"), aggregate("avg", "properties", "score")]}
    assert dataset.rows("conversations", body) == [
        {"type": "openai", "avg_properties.score": 3.75},
        {"type": "support_copilot"},  # "5" is a string: no number to average
        {"type": "support_ticket"},
    ]


def test_boolean_and_number_aggregations_on_semantic_threads(dataset: Dataset) -> None:
    """sum of a boolean counts the true values and avg gives their share; nulls are skipped."""
    body = {
        "select": [
            aggregate("sum", "isOnTopic"),
            aggregate("avg", "isOnTopic"),
            aggregate("avg", "isClear"),
            aggregate("sum", "hasPositiveFeedback"),
            aggregate("count", "isClear"),
            aggregate("sum", "messagesCount"),
            aggregate("avg", "questionLength"),
            aggregate("countDistinct", "subject"),
            aggregate("min", "lastUpdated"),
        ]
    }
    assert dataset.rows("semantic_threads", body, key="insights") == [
        {
            "sum_isOnTopic": 2,
            "avg_isOnTopic": pytest.approx(2 / 3),
            "avg_isClear": 0.5,
            "sum_hasPositiveFeedback": 1,
            "count_isClear": 2,
            "sum_messagesCount": 5,
            "avg_questionLength": pytest.approx(73 / 3),
            "countDistinct_subject": 2,
            "min_lastUpdated": millis("2026-02-05T00:00:00Z"),
        }
    ]


# -- time buckets -------------------------------------------------------------------------------


def test_hour_buckets(dataset: Dataset) -> None:
    body = {
        "select": [bucket("hour", "createdAt"), COUNT],
        "where": {
            "and": [where("createdAt", "gte", "2026-02-01"), where("createdAt", "lt", "2026-02-03")]
        },
    }
    assert dataset.rows("events", body) == [
        {"createdAt_hour": "2026-02-01T09:00:00.000Z", "count": 1},
        {"createdAt_hour": "2026-02-01T10:00:00.000Z", "count": 1},
        {"createdAt_hour": "2026-02-01T23:00:00.000Z", "count": 1},
        {"createdAt_hour": "2026-02-02T00:00:00.000Z", "count": 1},
        {"createdAt_hour": "2026-02-02T12:00:00.000Z", "count": 1},
        {"createdAt_hour": "2026-02-02T13:00:00.000Z", "count": 1},
    ]


def test_day_buckets_in_time_order_by_default(dataset: Dataset) -> None:
    assert dataset.rows("events", {"select": [bucket("day", "createdAt"), COUNT]}) == [
        {"createdAt_day": day("2026-01-31"), "count": 1},
        {"createdAt_day": day("2026-02-01"), "count": 3},
        {"createdAt_day": day("2026-02-02"), "count": 3},
        {"createdAt_day": day("2026-02-03"), "count": 1},
        {"createdAt_day": day("2026-02-10"), "count": 1},
        {"createdAt_day": day("2026-03-02"), "count": 1},
    ]


def test_week_buckets_start_on_monday(dataset: Dataset) -> None:
    """2026-01-31 is a Saturday and 02-01 a Sunday: both in the week of Monday 01-26."""
    assert dataset.rows("events", {"select": [bucket("week", "createdAt"), COUNT]}) == [
        {"createdAt_week": day("2026-01-26"), "count": 4},
        {"createdAt_week": day("2026-02-02"), "count": 4},
        {"createdAt_week": day("2026-02-09"), "count": 1},
        {"createdAt_week": day("2026-03-02"), "count": 1},
    ]


def test_month_buckets(dataset: Dataset) -> None:
    assert dataset.rows("events", {"select": [bucket("month", "createdAt"), COUNT]}) == [
        {"createdAt_month": day("2026-01-01"), "count": 1},
        {"createdAt_month": day("2026-02-01"), "count": 8},
        {"createdAt_month": day("2026-03-01"), "count": 1},
    ]


@pytest.mark.parametrize(
    ("view", "key", "expected"),
    [
        (
            "conversations",
            "docs",
            [
                {"firstMessageTime_month": day("2026-01-01"), "count": 1},
                {"firstMessageTime_month": day("2026-02-01"), "count": 3},
                {"firstMessageTime_month": day("2026-03-01"), "count": 1},
            ],
        ),
        (
            "events",
            "docs",
            [
                {"createdAt_month": day("2026-01-01"), "count": 1},
                {"createdAt_month": day("2026-02-01"), "count": 8},
                {"createdAt_month": day("2026-03-01"), "count": 1},
            ],
        ),
        (
            "feedback",
            "docs",
            [{"createdAt_month": day("2026-02-01"), "count": 5}],
        ),
        (
            "semantic_threads",
            "insights",
            [{"firstMessageTime_month": day("2026-02-01"), "count": 3}],
        ),
    ],
)
def test_time_buckets_default_to_the_views_time_field(
    dataset: Dataset, view: str, key: str, expected: list[dict[str, Any]]
) -> None:
    """Events and feedback: createdAt; conversations and semantic threads: firstMessageTime."""
    assert dataset.rows(view, {"select": [bucket("month"), COUNT]}, key=key) == expected


def test_buckets_of_other_time_fields(dataset: Dataset) -> None:
    body = {"select": [bucket("day", "updatedAt"), COUNT], "where": where("id", "in", ["f4", "f5"])}
    assert dataset.rows("feedback", body) == [
        {"updatedAt_day": day("2026-02-03"), "count": 1},
        {"updatedAt_day": day("2026-02-10"), "count": 1},
    ]
    body = {"select": [bucket("week", "firstMessageTime"), field("id")]}
    assert dataset.rows("semantic_threads", body, key="insights") == [
        {"firstMessageTime_week": day("2026-01-26"), "id": "t1"},
        {"firstMessageTime_week": day("2026-02-02"), "id": "t2"},
        {"firstMessageTime_week": day("2026-02-09"), "id": "t3"},
    ]


def test_a_bucket_alone_lists_the_buckets(dataset: Dataset) -> None:
    body = {"select": [bucket("day")], "where": where("type", "eq", COPIED)}
    assert dataset.rows("events", body) == [
        {"createdAt_day": day("2026-01-31")},
        {"createdAt_day": day("2026-02-01")},
        {"createdAt_day": day("2026-02-02")},
    ]


def test_buckets_ordered_newest_first(dataset: Dataset) -> None:
    body = {"select": [bucket("month"), COUNT], "orderBy": order("-createdAt_month")}
    assert [row["createdAt_month"] for row in dataset.rows("events", body)] == [
        day("2026-03-01"),
        day("2026-02-01"),
        day("2026-01-01"),
    ]


# -- groupBy ------------------------------------------------------------------------------------


def test_group_by_adds_the_group_to_the_row_by_default(dataset: Dataset) -> None:
    """Default order of a grouped query: the first aggregate, largest first, then the groups."""
    body = {"select": [COUNT], "groupBy": [{"field": "type"}]}
    assert dataset.rows("events", body) == [
        {"count": 6, "type": COPIED},
        {"count": 2, "type": "search"},
        {"count": 1, "type": SHARED},
        {"count": 1, "type": "conversation:started"},
    ]


def test_group_by_with_include_in_select_false_groups_without_the_key(dataset: Dataset) -> None:
    body = {"select": [COUNT], "groupBy": [{"field": "type", "includeInSelect": False}]}
    assert dataset.rows("events", body) == [{"count": 6}, {"count": 2}, {"count": 1}, {"count": 1}]


def test_group_by_a_json_path(dataset: Dataset) -> None:
    """Groups of userProperties.userId; 7 (a number) is grouped as its text, null first."""
    body = {"select": [COUNT], "groupBy": [{"field": "userProperties", "path": ["userId"]}]}
    assert dataset.rows("events", body) == [
        {"count": 6, "userProperties.userId": None},
        {"count": 2, "userProperties.userId": "u1"},
        {"count": 1, "userProperties.userId": "7"},
        {"count": 1, "userProperties.userId": "u2"},
    ]


def test_group_by_without_aggregation_lists_distinct_values(dataset: Dataset) -> None:
    body = {"select": [field("type")], "groupBy": [{"field": "type"}]}
    assert dataset.rows("events", body) == [
        {"type": SHARED},
        {"type": "conversation:started"},
        {"type": COPIED},
        {"type": "search"},
    ]
    body = {"groupBy": [{"field": "eventType"}]}
    assert dataset.rows("events", body) == [
        {"eventType": "conversation"},
        {"eventType": "message"},
        {"eventType": "search"},
    ]


def test_a_selected_field_is_a_group_in_a_grouped_query(dataset: Dataset) -> None:
    body = {"select": [field("type"), aggregate("sum", "userMessageCount")]}
    assert dataset.rows("conversations", body) == [
        {"type": "openai", "sum_userMessageCount": 3},
        {"type": "support_ticket", "sum_userMessageCount": 3},
        {"type": "support_copilot", "sum_userMessageCount": 1},
    ]


def test_group_by_two_fields(dataset: Dataset) -> None:
    body = {
        "select": [field("type"), field("conversationId"), COUNT],
        "groupBy": [{"field": "type"}, {"field": "conversationId"}],
        "orderBy": order("type", "conversationId"),
    }
    # conversationId is never null on the wire: the group without one leaves the key out.
    assert dataset.rows("feedback", body) == [
        {"type": "negative", "conversationId": "conv_a", "count": 1},
        {"type": "negative", "conversationId": "conv_b", "count": 1},
        {"type": "positive", "count": 1},
        {"type": "positive", "conversationId": "conv_a", "count": 1},
        {"type": "positive", "conversationId": "conv_c", "count": 1},
    ]


def test_group_by_integration(dataset: Dataset) -> None:
    site, backend = dataset.integrations["docs"], dataset.integrations["backend"]
    body = {"select": [COUNT], "groupBy": [{"field": "integrationId"}]}
    assert dataset.rows("events", body) == [
        {"count": 8, "integrationId": site},
        {"count": 2, "integrationId": backend},
    ]


def test_group_by_a_boolean(dataset: Dataset) -> None:
    body = {"select": [COUNT], "groupBy": [{"field": "isOnTopic"}]}
    assert dataset.rows("semantic_threads", body, key="insights") == [
        {"count": 2, "isOnTopic": True},
        {"count": 1, "isOnTopic": False},
    ]


def test_buckets_per_group(dataset: Dataset) -> None:
    body = {
        "select": [bucket("week"), field("type"), COUNT],
        "where": where("type", "in", [COPIED, "search"]),
    }
    assert dataset.rows("events", body) == [
        {"createdAt_week": day("2026-01-26"), "type": COPIED, "count": 4},
        {"createdAt_week": day("2026-02-02"), "type": COPIED, "count": 2},
        {"createdAt_week": day("2026-02-02"), "type": "search", "count": 1},
        {"createdAt_week": day("2026-02-09"), "type": "search", "count": 1},
    ]


# -- orderBy ------------------------------------------------------------------------------------


def ordered_ids(dataset: Dataset, view: str, body: dict[str, Any], key: str = "docs") -> list[str]:
    return [row["id"] for row in dataset.rows(view, {"select": [field("id")], **body}, key=key)]


def test_order_by_a_field(dataset: Dataset) -> None:
    ascending = ordered_ids(dataset, "events", {"orderBy": order("createdAt")})
    assert ascending == ["e01", "e02", "e03", "e04", "e05", "e06", "e07", "e08", "e09", "e10"]
    descending = ordered_ids(dataset, "events", {"orderBy": order("-createdAt")})
    assert descending == ascending[::-1]


def test_ties_are_broken_by_id_descending(dataset: Dataset) -> None:
    assert ordered_ids(dataset, "events", {"orderBy": order("type")}) == [
        "e06",  # chat_share_button_clicked
        "e10",  # conversation:started
        "e07",  # message:copied, newest id first
        "e05",
        "e04",
        "e03",
        "e02",
        "e01",
        "e09",  # search
        "e08",
    ]
    assert ordered_ids(dataset, "events", {"orderBy": order("-type", "createdAt")}) == [
        "e08",
        "e09",
        "e01",
        "e02",
        "e03",
        "e04",
        "e05",
        "e07",
        "e10",
        "e06",
    ]


def test_nulls_sort_first_ascending_and_last_descending(dataset: Dataset) -> None:
    """Nulls are the smallest value on both backends; strings compare by code point."""
    nulls = ["e10", "e07", "e06", "e05", "e04", "e03", "e02", "e01"]
    ascending = ordered_ids(dataset, "events", {"orderBy": order("searchQuery")})
    assert ascending == [*nulls, "e09", "e08"]  # "Zapier ..." < "how ..."
    descending = ordered_ids(dataset, "events", {"orderBy": order("-searchQuery")})
    assert descending == ["e08", "e09", *nulls]


def test_order_by_a_field_that_is_not_selected(dataset: Dataset) -> None:
    body = {"orderBy": order("-userMessageCount", "firstMessageTime")}
    assert ordered_ids(dataset, "conversations", body) == [
        "conv_c",
        "conv_a",
        "conv_b",
        "conv_d",
        "conv_e",
    ]


def test_order_by_a_time_bucket_of_rows(dataset: Dataset) -> None:
    body = {"where": where("type", "eq", COPIED), "orderBy": order("createdAt_day")}
    assert ordered_ids(dataset, "events", body) == ["e01", "e04", "e03", "e02", "e07", "e05"]


def test_default_orders_per_view(dataset: Dataset) -> None:
    assert ordered_ids(dataset, "conversations", {}) == [
        "conv_d",
        "conv_c",
        "conv_b",
        "conv_a",
        "conv_e",
    ]
    assert ordered_ids(dataset, "feedback", {}) == ["f5", "f4", "f3", "f2", "f1"]
    assert ordered_ids(dataset, "semantic_threads", {}, key="insights") == ["t3", "t2", "t1"]


def test_order_by_aggregates_in_a_grouped_query(dataset: Dataset) -> None:
    body = {
        "select": [field("type"), aggregate("sum", "userMessageCount"), COUNT],
        "orderBy": order("sum_userMessageCount", "-count"),
    }
    assert dataset.rows("conversations", body) == [
        {"type": "support_copilot", "sum_userMessageCount": 1, "count": 1},
        {"type": "openai", "sum_userMessageCount": 3, "count": 3},
        {"type": "support_ticket", "sum_userMessageCount": 3, "count": 1},
    ]


def test_order_by_count_distinct_and_bare_aggregations(dataset: Dataset) -> None:
    """Not in the SDK's orderBy enum, but accepted for other clients (wire/query.py)."""
    body = {
        "select": [field("type"), aggregate("countDistinct", "conversationId"), COUNT],
        "orderBy": order("-countDistinct_conversationId", "count"),
    }
    assert dataset.rows("events", body) == [
        {"type": COPIED, "countDistinct_conversationId": 2, "count": 6},
        {"type": SHARED, "countDistinct_conversationId": 1, "count": 1},
        {"type": "conversation:started", "countDistinct_conversationId": 1, "count": 1},
        {"type": "search", "countDistinct_conversationId": 0, "count": 2},
    ]


def test_order_by_a_group_that_is_not_selected(dataset: Dataset) -> None:
    body = {
        "select": [COUNT],
        "groupBy": [{"field": "type", "includeInSelect": False}],
        "orderBy": order("-type"),
    }
    assert dataset.rows("events", body) == [{"count": 2}, {"count": 6}, {"count": 1}, {"count": 1}]


# -- paging -------------------------------------------------------------------------------------


def test_a_page_holds_at_most_page_size_rows_and_total_counts_them_all(dataset: Dataset) -> None:
    data = dataset.data("events", {}, key="bulk")
    assert (data["total"], data["count"], data["pageSize"]) == (BULK_EVENTS, PAGE_SIZE, PAGE_SIZE)
    ids = [row["id"] for row in data["result"]]
    assert len(set(ids)) == PAGE_SIZE
    # Newest day first (day 28: i % 28 == 27), then ids descending.
    assert ids[:3] == ["b0979", "b0951", "b0923"]


def test_total_of_a_grouped_query_counts_groups(dataset: Dataset) -> None:
    body = {"select": [field("id"), COUNT], "groupBy": [{"field": "id"}]}
    data = dataset.data("events", body, key="bulk")
    assert (data["total"], data["count"]) == (BULK_EVENTS, PAGE_SIZE)
    assert dataset.data("events", {"select": [COUNT]}, key="bulk")["result"] == [
        {"count": BULK_EVENTS}
    ]


@pytest.mark.parametrize("matching", [PAGE_SIZE - 1, PAGE_SIZE, PAGE_SIZE + 1])
def test_total_around_the_page_size(dataset: Dataset, matching: int) -> None:
    body = {
        "select": [field("id")],
        "where": {
            "condition": {
                "field": "properties",
                "operator": "lt",
                "value": {"path": ["n"], "value": matching},
            }
        },
    }
    data = dataset.data("events", body, key="bulk")
    assert (data["total"], data["count"]) == (matching, min(matching, PAGE_SIZE))


def test_bulk_rows_per_day(dataset: Dataset) -> None:
    """PAGE_SIZE + 3 events over 28 days: the first 23 days have one more."""
    rows = dataset.rows("events", {"select": [bucket("day"), COUNT]}, key="bulk")
    per_day = BULK_EVENTS // 28
    extra = BULK_EVENTS % 28
    assert rows == [
        {"createdAt_day": day(f"2026-01-{d:02d}"), "count": per_day + (d <= extra)}
        for d in range(1, 29)
    ]


# -- semantic threads ---------------------------------------------------------------------------


def test_semantic_threads_rows(dataset: Dataset) -> None:
    insights = dataset.projects["insights"]
    pipeline = dataset.integrations["insights"]
    body = {"where": where("id", "eq", "t1")}
    assert dataset.rows("semantic_threads", body, key="insights") == [
        {
            "id": "t1",
            "messageIds": ["m_a1", "m_a2"],
            "messagesCount": 2,
            "organizationId": insights,
            "question": "How do I log events?",
            "questionLength": 20,
            "answer": "POST /events",
            "isOnTopic": True,
            "isClear": True,
            "isDocumented": True,
            "isFeatureSupported": None,
            "isAnswerConfident": None,
            "gapSummary": None,
            "subject": "events",
            "category": None,
            "questionType": None,
            "languages": ["en"],
            "firstPartyEntities": None,
            "thirdPartyEntities": None,
            "emotion": None,
            "sentiment": None,
            "projectId": insights,
            "integrationId": pipeline,
            "properties": {"theme": "dark"},
            "userProperties": None,
            "firstMessageTime": "2026-02-01T09:00:00.000Z",
            "lastMessageTime": "2026-02-01T09:00:05.000Z",
            "lastUpdated": "2026-02-05T00:00:00.000Z",
            "hasPositiveFeedback": True,
            "hasNegativeFeedback": False,
            "conversationIds": ["conv_a"],
            "areAIAnnotationsVerified": None,
            "isInitialQuestionAnswer": True,
        }
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("zapier", ["t3"]),  # in the question, whatever the case
        ("POST", ["t1", "t2"]),  # in the answer
        ("post /", ["t1", "t2"]),
        ("  feedback  ", ["t2"]),  # trimmed
        ("%", []),  # LIKE wildcards are plain characters
        ("_", []),
        ("", ["t1", "t2", "t3"]),  # blank: no search
        ("   ", ["t1", "t2", "t3"]),
        (None, ["t1", "t2", "t3"]),
    ],
)
def test_semantic_threads_query_text(
    dataset: Dataset, text: str | None, expected: list[str]
) -> None:
    body = {"query": text, "select": [field("id")], "orderBy": order("id")}
    assert [row["id"] for row in dataset.rows("semantic_threads", body, key="insights")] == (
        expected
    )


def test_semantic_threads_of_a_project_without_any_are_empty(dataset: Dataset) -> None:
    for body in (
        {},
        {"query": "how do I log events"},
        {"select": [COUNT]},
        {"select": [bucket("week"), COUNT], "groupBy": [{"field": "subject"}]},
    ):
        data = dataset.data("semantic_threads", body)
        expected = [{"count": 0}] if body.get("select") == [COUNT] else []
        assert data == {
            "result": expected,
            "total": len(expected),
            "pageSize": PAGE_SIZE,
            "count": len(expected),
        }
