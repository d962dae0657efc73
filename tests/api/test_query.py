"""POST /query/conversations, /query/events, /query/feedback, /query/semantic-threads at the HTTP
level (reference §7, §10.6, §10.7): keys, refusals and their problem bodies, tenancy, and the
shape of each view's rows. What the queries compute is in tests/query/."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from starlette.testclient import TestClient

from tests.assertions import assert_problem
from tests.conftest import KeyMaker
from threadline.app import create_app
from threadline.config import Settings
from threadline.query.compile import MAX_ORDER_BY, MAX_SELECT, PAGE_SIZE
from threadline.query.filters import MAX_CONDITIONS, MAX_DEPTH, MAX_LIST_VALUES

PATHS = {
    "conversations": "/query/conversations",
    "events": "/query/events",
    "feedback": "/query/feedback",
    "semantic_threads": "/query/semantic-threads",
}
VIEWS = list(PATHS)
FIELDS = {
    "conversations": {
        "id",
        "userMessageCount",
        "organizationId",
        "projectId",
        "integrationId",
        "firstMessageTime",
        "type",
        "properties",
        "userProperties",
    },
    "events": {
        "id",
        "organizationId",
        "messageId",
        "conversationId",
        "createdAt",
        "projectId",
        "integrationId",
        "eventType",
        "type",
        "searchQuery",
        "properties",
        "userProperties",
    },
    "feedback": {
        "id",
        "type",
        "messageId",
        "createdAt",
        "updatedAt",
        "organizationId",
        "reasons",
        "sources",
        "details",
        "properties",
        "userProperties",
        "conversationId",
        "projectId",
        "integrationId",
    },
}
TIME_FIELD = {
    "conversations": "firstMessageTime",
    "events": "createdAt",
    "feedback": "createdAt",
    "semantic_threads": "firstMessageTime",
}
EMPTY = {"status": "ok", "data": {"result": [], "total": 0, "pageSize": PAGE_SIZE, "count": 0}}
CONVERSATION = {
    "id": "conv_1",
    "type": "openai",
    "createdAt": "2026-02-01T09:00:00Z",
    "properties": {"plan": "pro"},
    "messages": [
        {"id": "m_q", "role": "user", "content": "How?", "createdAt": "2026-02-01T09:00:00Z"},
        {"id": "m_a", "role": "assistant", "content": "So.", "createdAt": "2026-02-01T09:00:01Z"},
    ],
}
EVENT = {
    "id": "e_1",
    "type": "message:copied",
    "entityType": "message",
    "messageId": "m_a",
    "createdAt": "2026-02-01T09:01:00Z",
}
FEEDBACK = {
    "id": "f_1",
    "type": "negative",
    "messageId": "m_a",
    "createdAt": "2026-02-01T09:02:00Z",
    "reasons": [{"label": "unclear", "details": "too short"}],
}


def cond(field: str, operator: str, *value: Any) -> dict[str, Any]:
    condition: dict[str, Any] = {"field": field, "operator": operator}
    if value:
        condition["value"] = value[0]
    return {"condition": condition}


def seed(client: TestClient, headers: dict[str, str]) -> None:
    for path, body in (
        ("/conversations", CONVERSATION),
        ("/events", EVENT),
        ("/feedback", FEEDBACK),
    ):
        response = client.post(path, json=body, headers=headers)
        assert response.status_code == 200, response.text


def query(client: TestClient, headers: dict[str, str], view: str, body: Any) -> dict[str, Any]:
    response = client.post(PATHS[view], json=body, headers=headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/json"
    answer: dict[str, Any] = response.json()
    return answer


def refused(
    client: TestClient,
    headers: dict[str, str],
    view: str,
    body: Any,
    status: int,
    field: str,
) -> dict[str, Any]:
    """The body is refused with `status`, a problem whose one violation names `field`."""
    path = PATHS[view]
    problem = assert_problem(client.post(path, json=body, headers=headers), status, path)
    assert [violation["field"] for violation in problem["errors"]] == [field], problem
    assert field in problem["detail"]
    return problem


# -- keys ---------------------------------------------------------------------------------------


def test_queries_are_for_api_keys_only(
    client: TestClient, web_headers: dict[str, str], subtests: pytest.Subtests
) -> None:
    for path in PATHS.values():
        with subtests.test(path=path):
            assert_problem(client.post(path, json={}, headers=web_headers), 403, path)
            # Refused before the body is read: even a bad body is a 403.
            response = client.post(path, json={"select": 1}, headers=web_headers)
            assert_problem(response, 403, path)


def test_queries_without_a_valid_key_are_401(client: TestClient, subtests: pytest.Subtests) -> None:
    for authorization in (None, "Bearer tl_api_not-a-real-key", "Basic eDp5", "Bearer "):
        headers = {} if authorization is None else {"Authorization": authorization}
        for path in PATHS.values():
            with subtests.test(path=path, authorization=authorization):
                assert_problem(client.post(path, json={}, headers=headers), 401, path)


# -- each view's shape --------------------------------------------------------------------------


def test_an_empty_project_answers_the_empty_envelope(
    client: TestClient, api_headers: dict[str, str]
) -> None:
    """`{}` is a valid query (the DOCS curl examples send it), and so is `notes`."""
    nothing = {"select": None, "groupBy": None, "where": None, "orderBy": None, "notes": None}
    for view in VIEWS:
        assert query(client, api_headers, view, {}) == EMPTY
        assert query(client, api_headers, view, {"notes": "n" * 80}) == EMPTY
        assert query(client, api_headers, view, nothing) == EMPTY


def test_each_view_answers_rows_with_its_own_fields(client: TestClient, make_key: KeyMaker) -> None:
    headers = make_key.headers("api", "docs")
    seed(client, headers)
    project = query(
        client, headers, "events", {"select": [{"type": "field", "field": "projectId"}]}
    )
    [row] = project["data"]["result"]
    docs = row["projectId"]
    for view, fields in FIELDS.items():
        answer = query(client, headers, view, {})
        assert answer["status"] == "ok"
        assert answer["data"]["total"] == answer["data"]["count"] == 1
        assert answer["data"]["pageSize"] == PAGE_SIZE
        [row] = answer["data"]["result"]
        # An event on a message has no searchQuery: never null in the SDK, so left out.
        expected = fields - {"searchQuery"} if view == "events" else fields
        assert set(row) == expected, view
        assert row["projectId"] == row["organizationId"] == docs
    events = query(client, headers, "events", {})["data"]["result"]
    assert events[0]["conversationId"] == "conv_1"
    assert events[0]["eventType"] == "message"
    feedback = query(client, headers, "feedback", {})["data"]["result"]
    assert feedback[0]["conversationId"] == "conv_1"
    assert feedback[0]["reasons"] == [{"label": "unclear", "details": "too short"}]
    conversations = query(client, headers, "conversations", {})["data"]["result"]
    assert conversations[0]["userMessageCount"] == 1
    assert conversations[0]["firstMessageTime"] == "2026-02-01T09:00:00.000Z"


def test_semantic_threads_accept_the_query_text(
    client: TestClient, api_headers: dict[str, str]
) -> None:
    """`query` (§7.1) is a semantic-threads field; the table is filled by no API, so empty."""
    seed(client, api_headers)
    body = {
        "query": "how do I log feedback",
        "select": [
            {"type": "field", "field": "question"},
            {"type": "time", "timeUnit": "week"},
            {"type": "aggregation", "aggregation": "avg", "field": "isOnTopic"},
        ],
        "where": {
            "and": [
                cond("isDocumented", "eq", False),
                cond("languages", "arrayContains", "en"),
                cond("lastUpdated", "gte", "2026-01-01"),
            ]
        },
        "orderBy": [{"field": "firstMessageTime_week", "direction": "desc"}],
    }
    assert query(client, api_headers, "semantic_threads", body) == EMPTY
    assert query(client, api_headers, "semantic_threads", {"query": ""}) == EMPTY
    problem = refused(client, api_headers, "semantic_threads", {"query": 5}, 400, "$.query")
    assert "str" in problem["detail"]


# -- tenancy ------------------------------------------------------------------------------------


def project_of(client: TestClient, headers: dict[str, str]) -> str:
    body = {"select": [{"type": "field", "field": "projectId"}]}
    [row] = query(client, headers, "events", body)["data"]["result"]
    project: str = row["projectId"]
    return project


def test_rows_of_another_project_never_appear(client: TestClient, make_key: KeyMaker) -> None:
    docs, other = make_key.headers("api", "docs"), make_key.headers("api", "other")
    seed(client, docs)
    seed(client, other)  # the same ids in another project: joins must stay in the project
    mine, theirs = project_of(client, docs), project_of(client, other)
    assert mine != theirs
    count = {"select": [{"type": "aggregation", "aggregation": "count"}]}
    for view in FIELDS:
        for where in (
            cond("projectId", "eq", theirs),
            cond("organizationId", "in", [theirs]),
            {"or": [cond("projectId", "eq", theirs), cond("projectId", "isNull")]},
        ):
            assert query(client, docs, view, {"where": where}) == EMPTY, view
        assert query(client, docs, view, count)["data"]["result"] == [{"count": 1}], view
        rows = query(client, docs, view, {"select": [{"type": "field", "field": "projectId"}]})
        assert rows["data"]["result"] == [{"projectId": mine}], view
        assert query(client, docs, view, {"groupBy": [{"field": "projectId"}]})["data"][
            "result"
        ] == [{"projectId": mine}], view


# -- refusals -----------------------------------------------------------------------------------


UNKNOWN_FIELDS = [
    ("events", {"where": cond("entityType", "eq", "message")}, "$.where.condition.field"),
    (
        "events",
        {"where": {"and": [cond("type", "eq", "x"), cond("nope", "eq", "x")]}},
        "$.where.and[1].condition.field",
    ),
    ("feedback", {"select": [{"type": "field", "field": "searchQuery"}]}, "$.select[0].field"),
    (
        "conversations",
        {"select": [{"type": "aggregation", "aggregation": "count", "field": "createdAt"}]},
        "$.select[0].field",
    ),
    ("events", {"groupBy": [{"field": "question"}]}, "$.groupBy[0].field"),
    ("events", {"orderBy": [{"field": "nope", "direction": "asc"}]}, "$.orderBy[0].field"),
    # Path aliases are not in the orderBy enum (§7.5).
    (
        "events",
        {"orderBy": [{"field": "properties.theme", "direction": "asc"}]},
        "$.orderBy[0].field",
    ),
    ("semantic_threads", {"where": cond("type", "eq", "x")}, "$.where.condition.field"),
]


def test_an_unknown_field_is_400_naming_it(
    client: TestClient, api_headers: dict[str, str], subtests: pytest.Subtests
) -> None:
    for view, body, field in UNKNOWN_FIELDS:
        with subtests.test(field, view=view, body=body):
            refused(client, api_headers, view, body, 400, field)


MISFIT_OPERATORS = [
    ("events", cond("type", "jsonHasKey", "x"), "$.where.condition.operator"),
    ("events", cond("type", "arrayContains", "x"), "$.where.condition.operator"),
    (
        "conversations",
        cond("userMessageCount", "jsonContains", {"a": 1}),
        "$.where.condition.operator",
    ),
    ("events", cond("createdAt", "jsonHasAnyKey", ["a"]), "$.where.condition.operator"),
    ("semantic_threads", cond("isClear", "gt", True), "$.where.condition.operator"),
    (
        "feedback",
        {
            "or": [
                cond("type", "eq", "positive"),
                cond("details", "jsonArrayContainsObject", {}),
            ]
        },
        "$.where.or[1].condition.operator",
    ),
]


def test_an_operator_that_does_not_fit_the_field_is_422(
    client: TestClient, api_headers: dict[str, str], subtests: pytest.Subtests
) -> None:
    for view, where, field in MISFIT_OPERATORS:
        with subtests.test(field, view=view, where=where):
            refused(client, api_headers, view, {"where": where}, 422, field)


WRONG_VALUES = [
    ("events", cond("type", "eq", 1), "$.where.condition.value"),
    ("events", cond("type", "eq", None), "$.where.condition.value"),
    ("events", cond("type", "eq"), "$.where.condition.value"),
    ("events", cond("type", "in", "message:copied"), "$.where.condition.value"),
    ("events", cond("type", "in", ["a", 1]), "$.where.condition.value[1]"),
    ("conversations", cond("userMessageCount", "gt", "1"), "$.where.condition.value"),
    ("conversations", cond("userMessageCount", "eq", True), "$.where.condition.value"),
    ("events", cond("createdAt", "gte", "yesterday"), "$.where.condition.value"),
    ("events", cond("createdAt", "gte", "2026-02-01T00:00:00"), "$.where.condition.value"),
    ("events", cond("createdAt", "lt", "2026-02-30"), "$.where.condition.value"),
    ("events", cond("createdAt", "lt", 1769904000000), "$.where.condition.value"),
    ("semantic_threads", cond("isClear", "eq", "true"), "$.where.condition.value"),
    ("events", cond("properties", "eq", "dark"), "$.where.condition.value"),
    (
        "events",
        cond("properties", "gt", {"path": "theme", "value": 1}),
        "$.where.condition.value.path",
    ),
    (
        "events",
        cond("properties", "gt", {"path": ["x"], "value": True}),
        "$.where.condition.value.value",
    ),
    ("events", cond("properties", "eq", {"path": ["x"]}), "$.where.condition.value.value"),
    (
        "events",
        cond("properties", "in", {"path": ["x"], "value": "a"}),
        "$.where.condition.value.value",
    ),
    ("events", cond("properties", "jsonHasKey", ""), "$.where.condition.value"),
    ("events", cond("properties", "jsonHasAnyKey", []), "$.where.condition.value"),
    ("events", cond("properties", "jsonContains", "dark"), "$.where.condition.value"),
    (
        "feedback",
        cond("reasons", "jsonArrayContainsObject", "wrong"),
        "$.where.condition.value",
    ),
    ("feedback", cond("reasons", "arrayContains", {"label": "x"}), "$.where.condition.value"),
]


def test_a_value_of_the_wrong_type_is_400_naming_it(
    client: TestClient, api_headers: dict[str, str], subtests: pytest.Subtests
) -> None:
    for view, where, field in WRONG_VALUES:
        with subtests.test(field, view=view, where=where):
            refused(client, api_headers, view, {"where": where}, 400, field)


BAD_SELECTIONS = [
    (
        "events",
        {"type": "aggregation", "aggregation": "sum", "field": "type"},
        422,
        "$.select[0].aggregation",
    ),
    (
        "events",
        {"type": "aggregation", "aggregation": "avg", "field": "createdAt"},
        422,
        "$.select[0].aggregation",
    ),
    (
        "events",
        {"type": "aggregation", "aggregation": "min", "field": "type"},
        422,
        "$.select[0].aggregation",
    ),
    (
        "semantic_threads",
        {"type": "aggregation", "aggregation": "max", "field": "isClear"},
        422,
        "$.select[0].aggregation",
    ),
    ("events", {"type": "aggregation", "aggregation": "sum"}, 422, "$.select[0].field"),
    (
        "events",
        {"type": "aggregation", "aggregation": "count", "path": ["x"]},
        400,
        "$.select[0].path",
    ),
    ("events", {"type": "time", "timeUnit": "day", "field": "type"}, 422, "$.select[0].field"),
    (
        "conversations",
        {"type": "time", "timeUnit": "week", "field": "userMessageCount"},
        422,
        "$.select[0].field",
    ),
    ("events", {"type": "time", "timeUnit": "year"}, 400, "$.select[0].timeUnit"),
    ("events", {"type": "field", "field": "type", "path": ["x"]}, 422, "$.select[0].path"),
    (
        "events",
        {"type": "aggregation", "aggregation": "countDistinct", "field": "type", "path": ["x"]},
        422,
        "$.select[0].path",
    ),
    (
        "events",
        {"type": "field", "field": "properties", "path": ["x"], "mode": "json"},
        400,
        "$.select[0].mode",
    ),
    ("events", {"type": "field", "field": "properties", "path": []}, 400, "$.select[0].path"),
    (
        "events",
        {"type": "field", "field": "properties", "mode": "flat"},
        400,
        "$.select[0].mode",
    ),
    ("events", {"type": "median", "field": "id"}, 400, "$.select[0].type"),
]


def test_a_selection_that_cannot_be_computed_is_refused(
    client: TestClient, api_headers: dict[str, str], subtests: pytest.Subtests
) -> None:
    for view, selection, status, field in BAD_SELECTIONS:
        with subtests.test(field, view=view, selection=selection):
            refused(client, api_headers, view, {"select": [selection]}, status, field)


def test_group_by_a_path_of_a_non_json_field_is_422(
    client: TestClient, api_headers: dict[str, str]
) -> None:
    body = {"groupBy": [{"field": "type", "path": ["x"]}]}
    refused(client, api_headers, "events", body, 422, "$.groupBy[0].path")


BAD_NODES = [
    ({}, "$.where"),
    ({"condition": {"field": "id", "operator": "eq", "value": "x"}, "and": []}, "$.where"),
    ({"and": [], "or": []}, "$.where"),
    ({"or": [cond("id", "eq", "x"), {}]}, "$.where.or[1]"),
    (
        {"and": [{"or": [{"and": [], "condition": {"field": "id", "operator": "isNull"}}]}]},
        "$.where.and[0].or[0]",
    ),
]


def test_a_filter_node_needs_exactly_one_of_condition_and_or(
    client: TestClient, api_headers: dict[str, str], subtests: pytest.Subtests
) -> None:
    for where, field in BAD_NODES:
        with subtests.test(field, where=where):
            problem = refused(client, api_headers, "events", {"where": where}, 400, field)
            assert "exactly one of condition, and, or" in problem["detail"]


def test_filters_nested_too_deep_are_400(client: TestClient, api_headers: dict[str, str]) -> None:
    where: dict[str, Any] = cond("id", "eq", "x")
    for _ in range(MAX_DEPTH):
        where = {"or": [where]}
    field = "$.where" + ".or[0]" * MAX_DEPTH
    problem = refused(client, api_headers, "events", {"where": where}, 400, field)
    assert f"at most {MAX_DEPTH} levels" in problem["detail"]


def test_too_many_conditions_are_400(client: TestClient, api_headers: dict[str, str]) -> None:
    where = {"and": [cond("id", "eq", str(i)) for i in range(MAX_CONDITIONS + 1)]}
    field = f"$.where.and[{MAX_CONDITIONS}]"
    refused(client, api_headers, "events", {"where": where}, 400, field)
    where = {"and": [cond("id", "eq", str(i)) for i in range(MAX_CONDITIONS)]}
    assert query(client, api_headers, "events", {"where": where}) == EMPTY


def test_too_many_values_selections_or_orders_are_400(
    client: TestClient, api_headers: dict[str, str]
) -> None:
    values = [str(i) for i in range(MAX_LIST_VALUES + 1)]
    refused(
        client,
        api_headers,
        "events",
        {"where": cond("id", "in", values)},
        400,
        "$.where.condition.value",
    )
    select = [{"type": "field", "field": "id"}] * (MAX_SELECT + 1)
    refused(client, api_headers, "events", {"select": select}, 400, "$.select")
    orders = [{"field": "id", "direction": "asc"}] * (MAX_ORDER_BY + 1)
    refused(client, api_headers, "events", {"orderBy": orders}, 400, "$.orderBy")


MISSING_ORDERS = [
    # A grouped query orders by its own columns only.
    (
        "events",
        {
            "select": [{"type": "aggregation", "aggregation": "count"}],
            "orderBy": [{"field": "type", "direction": "asc"}],
        },
    ),
    (
        "events",
        {
            "select": [
                {"type": "field", "field": "type"},
                {"type": "aggregation", "aggregation": "count"},
            ],
            "orderBy": [{"field": "createdAt_day", "direction": "asc"}],
        },
    ),
    (
        "conversations",
        {
            "groupBy": [{"field": "type"}],
            "orderBy": [{"field": "sum_userMessageCount", "direction": "desc"}],
        },
    ),
    # Rows cannot be ordered by an aggregate, nor by a bucket of a field that is not a time.
    ("events", {"orderBy": [{"field": "count_id", "direction": "asc"}]}),
    ("events", {"orderBy": [{"field": "type_day", "direction": "asc"}]}),
]


def test_order_by_what_the_query_does_not_have_is_422(
    client: TestClient, api_headers: dict[str, str], subtests: pytest.Subtests
) -> None:
    for view, body in MISSING_ORDERS:
        with subtests.test(view=view, body=body):
            refused(client, api_headers, view, body, 422, "$.orderBy[0].field")


def test_notes_longer_than_80_are_400(client: TestClient, api_headers: dict[str, str]) -> None:
    refused(client, api_headers, "events", {"notes": "n" * 81}, 400, "$.notes")
    refused(client, api_headers, "feedback", {"notes": 80}, 400, "$.notes")


UNREADABLE = [
    (b"", "empty"),
    (b'{"select": [', "not valid JSON"),
    (b"[]", "must be object"),
    (b'"query"', "must be object"),
]


def test_unreadable_bodies_are_400(
    client: TestClient, api_headers: dict[str, str], subtests: pytest.Subtests
) -> None:
    headers = {**api_headers, "Content-Type": "application/json"}
    for content, says in UNREADABLE:
        for path in PATHS.values():
            with subtests.test(says, path=path, content=content):
                response = client.post(path, content=content, headers=headers)
                assert says in assert_problem(response, 400, path)["detail"]


# -- never a 500 --------------------------------------------------------------------------------


def nested(levels: int) -> bytes:
    """A where of `levels` and-nodes, as raw JSON (deeper than Python's json would write)."""
    condition = b'{"condition":{"field":"id","operator":"eq","value":"x"}}'
    return b'{"where":' + b'{"and":[' * levels + condition + b"]}" * levels + b"}"


def deep_object(levels: int) -> str:
    return '{"a":' * levels + "1" + "}" * levels


def bodies_to_refuse(view: str) -> dict[str, Any]:
    """Bodies no view can run, by name: each must be a 400 or a 422, whatever the backend."""
    time = TIME_FIELD[view]

    def where(field: str, operator: str, value: Any) -> dict[str, Any]:
        return {"where": cond(field, operator, value)}

    return {
        "select not a list": {"select": {}},
        "empty selection": {"select": [{}]},
        "field selection without field": {"select": [{"type": "field"}]},
        "unknown aggregation": {"select": [{"type": "aggregation", "aggregation": "median"}]},
        "sum of a string": {
            "select": [{"type": "aggregation", "aggregation": "sum", "field": "id"}]
        },
        "bucket of a string": {"select": [{"type": "time", "timeUnit": "day", "field": "id"}]},
        "path on a string": {"select": [{"type": "field", "field": "id", "path": ["a"]}]},
        "groupBy not a list": {"groupBy": {"field": "id"}},
        "includeInSelect not a boolean": {"groupBy": [{"field": "id", "includeInSelect": "yes"}]},
        "orderBy without direction": {"orderBy": [{"field": "id"}]},
        "orderBy an aggregate of rows": {"orderBy": [{"field": "count", "direction": "asc"}]},
        "where a list": {"where": []},
        "where a string": {"where": "id = 1"},
        "where empty": {"where": {}},
        "and not a list": {"where": {"and": {}}},
        "and of a number": {"where": {"and": [1]}},
        "and of null": {"where": {"and": [None]}},
        "empty condition": {"where": {"condition": {}}},
        "condition without operator": {"where": {"condition": {"field": "id"}}},
        "unknown operator": {"where": {"condition": {"field": "id", "operator": "like"}}},
        "string eq object": where("id", "eq", {"a": 1}),
        "string eq list": where("id", "eq", [1]),
        "in of lists": where("id", "in", [["x"]]),
        "in of objects": where("id", "in", [{"a": 1}]),
        "string gt boolean": where("id", "gt", True),
        "json operator on a string": where("id", "jsonHasKey", "x"),
        "time not a time": where(time, "eq", "soon"),
        "month 13": where(time, "eq", "2026-13-01"),
        "year 275760": where(time, "eq", "+275760-09-13T00:00:00Z"),
        "time in with a number": where(time, "in", ["2026-01-01", 5]),
        "empty path": where("properties", "eq", {"path": [], "value": 1}),
        "empty key": where("properties", "eq", {"path": [""], "value": 1}),
        "key with a quote": where("properties", "eq", {"path": ['a"b'], "value": 1}),
        "key not a string": where("properties", "eq", {"path": [1], "value": 1}),
        "extra key in a path pair": where("properties", "eq", {"path": ["a"], "value": 1, "x": 2}),
        "object at a path": where("properties", "eq", {"path": ["a"], "value": {"b": 1}}),
        "lt null at a path": where("properties", "lt", {"path": ["a"], "value": None}),
        "lt list at a path": where("properties", "lt", {"path": ["a"], "value": [1]}),
        "in of lists at a path": where("properties", "in", {"path": ["a"], "value": [[1]]}),
        "jsonHasKey number": where("properties", "jsonHasKey", 1),
        "jsonHasAnyKey string": where("properties", "jsonHasAnyKey", "a"),
        "jsonHasAllKeys numbers": where("properties", "jsonHasAllKeys", [1]),
        "jsonContains number": where("properties", "jsonContains", 1),
        "jsonArrayContainsObject list": where("properties", "jsonArrayContainsObject", [1]),
        "arrayContains list": where("properties", "arrayContains", [1]),
        "json gt number": where("properties", "gt", 5),
        "too many values": where("id", "in", ["x"] * (MAX_LIST_VALUES + 1)),
        "too many conditions": {"where": {"and": [cond("id", "eq", "x")] * (MAX_CONDITIONS + 1)}},
        "notes too long": {"notes": "n" * 81},
        "notes a list": {"notes": ["n"]},
        "nested too deep": nested(MAX_DEPTH),
        "nested 1000 deep": nested(1000),  # deeper than the JSON decoder recurses
        "a list": b"[]",
        "null": b"null",
        "a huge number": b"1e999",
        "truncated": b'{"where": ',
        "not UTF-8": b"\xff\xfe",
    }


def bodies_to_survive(view: str) -> dict[str, Any]:
    """Bodies that are odd but not wrong, by name: any answer but a 5xx (200, 400 or 422)."""
    number = {"conversations": "userMessageCount", "semantic_threads": "messagesCount"}
    huge = 10**20

    def where(field: str, operator: str, value: Any) -> dict[str, Any]:
        return {"where": cond(field, operator, value)}

    odd: dict[str, Any] = {
        "NUL in a value": where("id", "eq", "a\u0000b"),
        "NUL in a list": where("id", "in", ["\u0000"]),
        "NUL in a key": where("properties", "jsonHasKey", "a\u0000"),
        "NUL in a contained key": where("properties", "jsonContains", {"a\u0000": 1}),
        "NUL at a path": where("properties", "eq", {"path": ["x"], "value": "\u0000"}),
        "NUL in a selected path": {
            "select": [{"type": "field", "field": "properties", "path": ["\u0000"]}]
        },
        "path punctuation": {
            "select": [{"type": "field", "field": "properties", "path": ["a\\b", "'", "$", "."]}]
        },
        "lone surrogate": (
            b'{"where":{"condition":{"field":"id","operator":"eq","value":"\\ud800"}}}'
        ),
        "huge int gt at a path": where("properties", "gt", {"path": ["x"], "value": huge}),
        "huge int eq at a path": where("properties", "eq", {"path": ["x"], "value": huge}),
        "huge ints in at a path": where("properties", "in", {"path": ["x"], "value": [-huge]}),
        "huge int contained": where("properties", "jsonContains", {"x": huge}),
        "huge float at a path": where("properties", "gt", {"path": ["x"], "value": 1e308}),
        "year 1": where(TIME_FIELD[view], "gte", "0001-01-01"),
        "year 9999": where(TIME_FIELD[view], "lte", "9999-12-31T23:59:59.999999Z"),
        "list nested 40 deep": where(
            "properties", "jsonContains", json.loads("[" * 40 + "1" + "]" * 40)
        ),
        "object nested 200 deep": where(
            "properties", "jsonContainedBy", json.loads(deep_object(200))
        ),
        "object nested 3000 deep": (
            b'{"where":{"condition":{"field":"properties","operator":"jsonContains","value":'
            + deep_object(3000).encode()
            + b"}}}"
        ),
    }
    if view in number:
        odd["huge int gt"] = where(number[view], "gt", huge)
        odd["huge int in"] = where(number[view], "in", [huge])
        odd["huge negative float"] = where(number[view], "lt", -1e308)
    if view == "semantic_threads":
        odd["NUL in the query text"] = {"query": "\u0000"}
        odd["wildcards in the query text"] = {"query": "%_\\" * 1000}
    return odd


def _send(client: TestClient, headers: dict[str, str], path: str, body: Any) -> int:
    if isinstance(body, bytes):
        headers = {**headers, "Content-Type": "application/json"}
        return client.post(path, content=body, headers=headers).status_code
    return client.post(path, json=body, headers=headers).status_code


@pytest.mark.parametrize("view", VIEWS)
def test_nasty_bodies_are_refused_never_a_server_error(
    client: TestClient, api_headers: dict[str, str], view: str
) -> None:
    """Every refusal is a 400 or a 422 (the problem shape is checked above); nothing is a 5xx.
    The failure lists each body by name with the status it got."""
    seed(client, api_headers)
    path = PATHS[view]
    wrong = {
        name: status
        for name, body in bodies_to_refuse(view).items()
        if (status := _send(client, api_headers, path, body)) not in (400, 422)
    }
    failed = {
        name: status
        for name, body in bodies_to_survive(view).items()
        if (status := _send(client, api_headers, path, body)) >= 500
    }
    assert {"not refused": wrong, "server errors": failed} == {
        "not refused": {},
        "server errors": {},
    }


@pytest.fixture
def patient_client(database_url: str) -> Iterator[TestClient]:
    """A server whose query deadline cannot be what a loaded test machine runs into: these
    queries take a few seconds on a quiet one, but once took the default 15 s under load 20."""
    settings = Settings(database_url=database_url, query_timeout_seconds=300)
    with TestClient(create_app(settings)) as test_client:
        yield test_client


def test_filters_as_large_as_the_limits_allow_are_answered(
    patient_client: TestClient, api_headers: dict[str, str]
) -> None:
    """Within the documented limits (docs/decisions.md: 1,000 values in a list, 200 conditions)
    a query is answered, on both backends. Neither a 400 (the limit is 1,000) nor a 5xx: a 503
    would be worse than a 500 here, the SDK retries it for an hour (§2.4)."""
    client = patient_client
    seed(client, api_headers)
    values = list(range(MAX_LIST_VALUES))
    ids = [f"id_{i}" for i in range(MAX_LIST_VALUES)]
    bodies = {
        "in at a JSON path": {"where": cond("properties", "in", {"path": ["n"], "value": values})},
        "many conditions of many values": {
            "where": {"and": [cond("id", "notIn", ids) for _ in range(70)]}
        },
        "a wide jsonContainedBy": {
            "where": cond("properties", "jsonContainedBy", {f"k{i}": i for i in values})
        },
    }
    statuses = {
        name: client.post(PATHS["events"], json=body, headers=api_headers).status_code
        for name, body in bodies.items()
    }
    assert statuses == {name: 200 for name in bodies}
