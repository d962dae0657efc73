"""`where` (reference §7.3): every operator on every field kind, null semantics, and/or trees.

Each test asks which rows of the seeded data set (tests/query/conftest.py) match a filter and
expects the same ids on SQLite and PostgreSQL.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.query.conftest import COPIED, SHARED, Dataset

ALL_EVENTS = ["e01", "e02", "e03", "e04", "e05", "e06", "e07", "e08", "e09", "e10"]
ALL_CONVERSATIONS = ["conv_a", "conv_b", "conv_c", "conv_d", "conv_e"]


def cond(field: str, operator: str, *value: Any) -> dict[str, Any]:
    """A condition node; the value is left out when none is given (isNull, isNotNull)."""
    condition: dict[str, Any] = {"field": field, "operator": operator}
    if value:
        condition["value"] = value[0]
    return {"condition": condition}


def at(path: list[str], value: Any) -> dict[str, Any]:
    return {"path": path, "value": value}


def but(*excluded: str, among: list[str] = ALL_EVENTS) -> list[str]:
    return [i for i in among if i not in excluded]


def describe(value: Any) -> str:
    """A test id for a filter: `field operator value`."""
    if isinstance(value, dict) and "condition" in value:
        condition = value["condition"]
        return " ".join(str(condition.get(k, "")) for k in ("field", "operator", "value")).strip()
    if isinstance(value, str):
        return value
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        return ",".join(value) or "none"
    return repr(value)


# -- string fields ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("operator", "value", "expected"),
    [
        ("eq", COPIED, ["e01", "e02", "e03", "e04", "e05", "e07"]),
        ("neq", COPIED, ["e06", "e08", "e09", "e10"]),
        # Strings compare by code point: "search" > "message:copied" > "conversation:..."
        ("gt", COPIED, ["e08", "e09"]),
        ("gte", COPIED, ["e01", "e02", "e03", "e04", "e05", "e07", "e08", "e09"]),
        ("lt", "conversation:started", ["e06"]),
        ("lte", "conversation:started", ["e06", "e10"]),
        ("in", [SHARED, "search"], ["e06", "e08", "e09"]),
        ("notIn", [COPIED, "search"], ["e06", "e10"]),
        ("in", [], []),
        ("notIn", [], ALL_EVENTS),
        ("eq", "Message:Copied", []),  # case matters
    ],
    ids=describe,
)
def test_string_operators(dataset: Dataset, operator: str, value: Any, expected: list[str]) -> None:
    assert dataset.ids("events", cond("type", operator, value)) == expected


@pytest.mark.parametrize(
    ("operator", "value", "expected"),
    [
        ("eq", "how to log events", ["e08"]),
        # A row without a value is "not X": neq and notIn keep it.
        ("neq", "how to log events", but("e08")),
        ("notIn", ["how to log events"], but("e08")),
        ("in", ["Zapier integration", None], but("e08")),
        ("notIn", ["Zapier integration", None], ["e08"]),
        ("in", [None], but("e08", "e09")),
        ("notIn", [None], ["e08", "e09"]),
        # Code points, whatever the database's collation: "Z" sorts before "a" and "h".
        ("lt", "a", ["e09"]),
        ("gt", "Zz", ["e08"]),
    ],
    ids=describe,
)
def test_string_operators_on_a_field_without_values_on_most_rows(
    dataset: Dataset, operator: str, value: Any, expected: list[str]
) -> None:
    assert dataset.ids("events", cond("searchQuery", operator, value)) == expected


def test_null_tests_on_a_string_field(dataset: Dataset) -> None:
    assert dataset.ids("events", cond("searchQuery", "isNull")) == but("e08", "e09")
    assert dataset.ids("events", cond("searchQuery", "isNotNull")) == ["e08", "e09"]
    assert dataset.ids("events", cond("type", "isNull")) == []
    assert dataset.ids("events", cond("type", "isNotNull")) == ALL_EVENTS


def test_integration_and_event_type_are_filterable(dataset: Dataset) -> None:
    backend = dataset.integrations["backend"]
    assert dataset.ids("events", cond("integrationId", "eq", backend)) == ["e08", "e09"]
    assert dataset.ids("events", cond("eventType", "eq", "conversation")) == ["e06", "e10"]
    assert dataset.ids("events", cond("eventType", "in", ["search"])) == ["e08", "e09"]


def test_conversation_id_of_events_comes_from_the_event_or_its_message(dataset: Dataset) -> None:
    """A message event's conversation is its message's (reference §7.9, §11.9)."""
    on_a = dataset.ids("events", cond("conversationId", "eq", "conv_a"))
    assert on_a == ["e01", "e02", "e03", "e06"]
    assert dataset.ids("events", cond("conversationId", "eq", "conv_b")) == ["e04", "e05", "e10"]
    # e07 rates a message never logged; search events have no conversation.
    assert dataset.ids("events", cond("conversationId", "isNull")) == ["e07", "e08", "e09"]
    assert dataset.ids("events", cond("messageId", "eq", "m_b2")) == ["e04", "e05"]


def test_conversation_id_of_feedback_comes_from_the_rated_message(dataset: Dataset) -> None:
    assert dataset.ids("feedback", cond("conversationId", "eq", "conv_a")) == ["f1", "f2"]
    assert dataset.ids("feedback", cond("conversationId", "in", ["conv_b", "conv_c"])) == [
        "f3",
        "f5",
    ]
    assert dataset.ids("feedback", cond("conversationId", "isNull")) == ["f4"]
    assert dataset.ids("feedback", cond("conversationId", "neq", "conv_a")) == ["f3", "f4", "f5"]


def test_details_null_semantics_on_feedback(dataset: Dataset) -> None:
    assert dataset.ids("feedback", cond("details", "neq", "Outdated docs")) == [
        "f1",
        "f3",
        "f4",
        "f5",
    ]
    assert dataset.ids("feedback", cond("details", "isNotNull")) == ["f2", "f5"]
    assert dataset.ids("feedback", cond("type", "eq", "negative")) == ["f2", "f3"]


# -- number fields ------------------------------------------------------------------------------

# userMessageCount: conv_a 2, conv_b 1, conv_c 3, conv_d 1, conv_e 0.


@pytest.mark.parametrize(
    ("operator", "value", "expected"),
    [
        ("eq", 1, ["conv_b", "conv_d"]),
        ("eq", 2.0, ["conv_a"]),
        ("neq", 1, ["conv_a", "conv_c", "conv_e"]),
        ("gt", 1, ["conv_a", "conv_c"]),
        ("gt", 1.5, ["conv_a", "conv_c"]),
        ("gte", 2, ["conv_a", "conv_c"]),
        ("lt", 1, ["conv_e"]),
        ("lte", 1, ["conv_b", "conv_d", "conv_e"]),
        ("gte", -1, ALL_CONVERSATIONS),
        ("in", [0, 3], ["conv_c", "conv_e"]),
        ("in", [1, None], ["conv_b", "conv_d"]),
        ("notIn", [1, 2], ["conv_c", "conv_e"]),
        ("notIn", [1, None], ["conv_a", "conv_c", "conv_e"]),
    ],
    ids=describe,
)
def test_number_operators(dataset: Dataset, operator: str, value: Any, expected: list[str]) -> None:
    assert dataset.ids("conversations", cond("userMessageCount", operator, value)) == expected


def test_null_tests_on_a_number_field(dataset: Dataset) -> None:
    assert dataset.ids("conversations", cond("userMessageCount", "isNull")) == []
    assert dataset.ids("conversations", cond("userMessageCount", "isNotNull")) == (
        ALL_CONVERSATIONS
    )


# -- time fields --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("operator", "value", "expected"),
    [
        # A date is midnight UTC.
        ("gte", "2026-02-01", but("e01")),
        ("lt", "2026-02-01", ["e01"]),
        ("lt", "2026-02-02", ["e01", "e02", "e03", "e04"]),  # e04 is 23:59:59.999
        ("lte", "2026-02-02", ["e01", "e02", "e03", "e04", "e05"]),  # e05 is midnight
        # Offsets are honoured: 10:00+01:00 is 09:00Z.
        ("gte", "2026-02-01T10:00:00+01:00", but("e01")),
        ("gt", "2026-02-01T10:00:00Z", but("e01", "e02", "e03")),
        ("gt", "2026-02-01T05:00:00-05:00", but("e01", "e02", "e03")),
        ("eq", "2026-02-01T10:00:00Z", ["e03"]),
        ("eq", "2026-02-01T11:00:00+01:00", ["e03"]),
        ("eq", "2026-02-01T23:59:59.999Z", ["e04"]),
        ("neq", "2026-02-01T10:00:00Z", but("e03")),
        ("lte", "2026-02-01T23:59:59.999Z", ["e01", "e02", "e03", "e04"]),
        ("in", ["2026-02-02", "2026-02-03T08:00:00Z"], ["e05", "e08"]),
        ("in", ["2026-02-02", None], ["e05"]),
        ("notIn", ["2026-02-02", "2026-02-03T08:00:00Z"], but("e05", "e08")),
    ],
    ids=describe,
)
def test_time_operators(dataset: Dataset, operator: str, value: Any, expected: list[str]) -> None:
    assert dataset.ids("events", cond("createdAt", operator, value)) == expected


def test_a_day_as_a_range(dataset: Dataset) -> None:
    day = {"and": [cond("createdAt", "gte", "2026-02-01"), cond("createdAt", "lt", "2026-02-02")]}
    assert dataset.ids("events", day) == ["e02", "e03", "e04"]


def test_time_fields_of_every_view(dataset: Dataset) -> None:
    assert dataset.ids("events", cond("createdAt", "isNull")) == []
    assert dataset.ids("conversations", cond("firstMessageTime", "gte", "2026-02-02")) == [
        "conv_b",
        "conv_c",
        "conv_d",
    ]
    assert dataset.ids("feedback", cond("updatedAt", "gte", "2026-02-10")) == ["f5"]
    assert dataset.ids("feedback", cond("createdAt", "lt", "2026-02-02T00:00:00+00:00")) == [
        "f1",
        "f2",
    ]
    threads = cond("lastUpdated", "gt", "2026-02-05")
    assert dataset.ids("semantic_threads", threads, key="insights") == ["t3"]


# -- boolean and array fields (semantic threads) ----------------------------------------------

# insights: t1 isClear true, t2 false, t3 null; languages t1 [en], t2 [de, en], t3 [].


@pytest.mark.parametrize(
    ("where", "expected"),
    [
        (cond("isClear", "eq", True), ["t1"]),
        (cond("isClear", "eq", False), ["t2"]),
        (cond("isClear", "neq", True), ["t2", "t3"]),
        (cond("isClear", "in", [True, None]), ["t1", "t3"]),
        (cond("isClear", "notIn", [True]), ["t2", "t3"]),
        (cond("isClear", "notIn", [False, None]), ["t1"]),
        (cond("isClear", "isNull"), ["t3"]),
        (cond("isClear", "isNotNull"), ["t1", "t2"]),
        (cond("hasPositiveFeedback", "eq", True), ["t1"]),
        (cond("isInitialQuestionAnswer", "eq", False), ["t2"]),
        (cond("languages", "arrayContains", "en"), ["t1", "t2"]),
        (cond("languages", "arrayContains", "de"), ["t2"]),
        (cond("languages", "jsonContains", ["en", "de"]), ["t2"]),
        (cond("languages", "jsonContains", []), ["t1", "t2", "t3"]),
        # An array contains no object, even one whose key spells an index of the array.
        (cond("languages", "jsonContains", {"0": "en"}), []),
        (cond("languages", "jsonContains", {"0": "en", "x": "en"}), []),
        (cond("languages", "jsonContainedBy", ["en", "fr"]), ["t1", "t3"]),
        (cond("languages", "eq", ["de", "en"]), ["t2"]),
        (cond("languages", "eq", []), ["t3"]),
        # Equality of JSON arrays is exact, order and repeats included (jsonb's =).
        (cond("languages", "eq", ["en", "de"]), []),
        (cond("languages", "eq", ["en", "en"]), []),
        (cond("conversationIds", "arrayContains", "conv_b"), ["t2"]),
        (cond("messageIds", "jsonContains", ["m_a2"]), ["t1"]),
        (cond("firstPartyEntities", "isNull"), ["t1", "t2", "t3"]),
        (cond("questionLength", "gt", 22), ["t2", "t3"]),
        (cond("subject", "neq", "events"), ["t2", "t3"]),
        (cond("properties", "jsonHasKey", "theme"), ["t1"]),
    ],
    ids=describe,
)
def test_boolean_and_array_operators_on_semantic_threads(
    dataset: Dataset, where: dict[str, Any], expected: list[str]
) -> None:
    assert dataset.ids("semantic_threads", where, key="insights") == expected
    # The docs project has no threads: the same query validates and finds nothing.
    assert dataset.ids("semantic_threads", where) == []


# -- JSON fields: {path, value} -----------------------------------------------------------------

# properties: conv_a {theme: dark, plan: pro, score: 5, tags: [a, b], nested: {x: 1}},
# conv_b {theme: light, score: 2.5}, conv_c none, conv_d {theme: null, score: "5"}, conv_e {}.


@pytest.mark.parametrize(
    ("operator", "value", "expected"),
    [
        ("eq", at(["theme"], "dark"), ["conv_a"]),
        # neq keeps objects without the key, a null at the key, and rows without properties.
        ("neq", at(["theme"], "dark"), ["conv_b", "conv_c", "conv_d", "conv_e"]),
        ("eq", at(["theme"], None), ["conv_c", "conv_d", "conv_e"]),
        ("neq", at(["theme"], None), ["conv_a", "conv_b"]),
        # A JSON value equals only a value of its own type: 5 is not "5".
        ("eq", at(["score"], 5), ["conv_a"]),
        ("eq", at(["score"], "5"), ["conv_d"]),
        ("eq", at(["score"], 2.5), ["conv_b"]),
        ("neq", at(["score"], 5), ["conv_b", "conv_c", "conv_d", "conv_e"]),
        ("eq", at(["nested", "x"], 1), ["conv_a"]),
        # A number compares numbers only (conv_d's "5" is a string).
        ("gt", at(["score"], 2.5), ["conv_a"]),
        ("gte", at(["score"], 2.5), ["conv_a", "conv_b"]),
        ("lt", at(["score"], 5), ["conv_b"]),
        ("lte", at(["score"], 5), ["conv_a", "conv_b"]),
        # A string compares the value as text, by code point.
        ("gt", at(["theme"], "e"), ["conv_b"]),
        ("lte", at(["theme"], "dark"), ["conv_a"]),
        ("gt", at(["score"], "4"), ["conv_a", "conv_d"]),
        ("in", at(["theme"], ["dark", "light"]), ["conv_a", "conv_b"]),
        ("in", at(["theme"], ["dark", None]), ["conv_a", "conv_c", "conv_d", "conv_e"]),
        ("in", at(["score"], [5, "x"]), ["conv_a"]),
        ("notIn", at(["theme"], ["dark"]), ["conv_b", "conv_c", "conv_d", "conv_e"]),
        ("notIn", at(["theme"], ["dark", None]), ["conv_b"]),
        ("isNull", at(["theme"], None), ["conv_c", "conv_d", "conv_e"]),
        ("isNotNull", at(["theme"], None), ["conv_a", "conv_b"]),
    ],
    ids=describe,
)
def test_json_path_comparisons(
    dataset: Dataset, operator: str, value: Any, expected: list[str]
) -> None:
    assert dataset.ids("conversations", cond("properties", operator, value)) == expected


def test_null_tests_on_a_whole_json_field(dataset: Dataset) -> None:
    assert dataset.ids("conversations", cond("properties", "isNull")) == ["conv_c"]
    assert dataset.ids("conversations", cond("properties", "isNotNull")) == [
        "conv_a",
        "conv_b",
        "conv_d",
        "conv_e",
    ]
    assert dataset.ids("conversations", cond("userProperties", "isNull")) == ["conv_d", "conv_e"]


def test_json_path_values_keep_their_types_on_events(dataset: Dataset) -> None:
    """Events' properties are strings on the way out (§7.9), but filters see the JSON types."""
    assert dataset.ids("events", cond("properties", "eq", at(["flag"], True))) == ["e02"]
    assert dataset.ids("events", cond("properties", "eq", at(["flag"], "true"))) == []
    assert dataset.ids("events", cond("properties", "eq", at(["count"], 3))) == ["e02"]
    assert dataset.ids("events", cond("properties", "eq", at(["count"], "3"))) == []
    assert dataset.ids("events", cond("userProperties", "eq", at(["userId"], 7))) == ["e05"]
    assert dataset.ids("events", cond("userProperties", "in", at(["userId"], ["u1", 7]))) == [
        "e02",
        "e04",
        "e05",
    ]
    results = cond("properties", "gte", at(["results"], 0))
    assert dataset.ids("events", results) == ["e08", "e09"]


def test_whole_json_values_compare_as_json(dataset: Dataset) -> None:
    assert dataset.ids("conversations", cond("properties", "eq", {})) == ["conv_e"]
    light = {"score": 2.5, "theme": "light"}
    assert dataset.ids("conversations", cond("properties", "eq", light)) == ["conv_b"]
    assert dataset.ids("conversations", cond("properties", "neq", {})) == [
        "conv_a",
        "conv_b",
        "conv_c",
        "conv_d",
    ]


# -- JSON operators -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("operator", "value", "expected"),
    [
        ("jsonContains", {"theme": "dark"}, ["conv_a"]),
        ("jsonContains", {"theme": "dark", "plan": "pro"}, ["conv_a"]),
        ("jsonContains", {"theme": "dark", "plan": "free"}, []),
        ("jsonContains", {"tags": ["b"]}, ["conv_a"]),
        ("jsonContains", {"tags": ["b", "a"]}, ["conv_a"]),
        # As in PostgreSQL, an array contains a scalar only at the top level.
        ("jsonContains", {"tags": "a"}, []),
        ("jsonContains", {"nested": {}}, ["conv_a"]),
        ("jsonContains", {"theme": None}, ["conv_d"]),
        ("jsonContains", {"score": 5}, ["conv_a"]),
        ("jsonContains", {"score": "5"}, ["conv_d"]),
        ("jsonContains", {}, ["conv_a", "conv_b", "conv_d", "conv_e"]),
        ("jsonContains", at(["nested"], {"x": 1}), ["conv_a"]),
        ("jsonContains", at(["tags"], ["a"]), ["conv_a"]),
        ("jsonContainedBy", {"theme": "light", "score": 2.5, "extra": True}, ["conv_b", "conv_e"]),
        ("jsonContainedBy", {"theme": None, "score": "5"}, ["conv_d", "conv_e"]),
        ("jsonHasKey", "theme", ["conv_a", "conv_b", "conv_d"]),
        ("jsonHasKey", "plan", ["conv_a"]),
        ("jsonHasKey", "missing", []),
        ("jsonHasAnyKey", ["plan", "score"], ["conv_a", "conv_b", "conv_d"]),
        ("jsonHasAnyKey", ["nothing", "plan"], ["conv_a"]),
        ("jsonHasAllKeys", ["theme", "score"], ["conv_a", "conv_b", "conv_d"]),
        ("jsonHasAllKeys", ["theme", "plan"], ["conv_a"]),
        ("arrayContains", at(["tags"], "a"), ["conv_a"]),
        ("arrayContains", at(["tags"], "c"), []),
        # Without a path the field itself must be an array: properties is an object.
        ("arrayContains", "a", []),
    ],
    ids=describe,
)
def test_json_operators_on_properties(
    dataset: Dataset, operator: str, value: Any, expected: list[str]
) -> None:
    assert dataset.ids("conversations", cond("properties", operator, value)) == expected


def test_json_operators_on_user_properties_and_events(dataset: Dataset) -> None:
    agent = cond("userProperties", "jsonContains", {"supportAgentName": "Ann"})
    assert dataset.ids("conversations", agent) == ["conv_a"]
    users = cond("userProperties", "jsonContains", {"userId": "u1"})
    assert dataset.ids("conversations", users) == ["conv_a", "conv_c"]
    assert dataset.ids("events", cond("properties", "jsonContains", {"list": ["y"]})) == ["e02"]
    assert dataset.ids("events", cond("properties", "arrayContains", at(["list"], "x"))) == ["e02"]
    assert dataset.ids("events", cond("properties", "jsonHasKey", "theme")) == [
        "e01",
        "e02",
        "e03",
        "e04",
    ]
    assert dataset.ids("events", cond("properties", "jsonContains", {"referrer": None})) == ["e10"]
    assert dataset.ids("feedback", cond("properties", "jsonHasKey", "source")) == ["f1"]


@pytest.mark.parametrize(
    ("field", "operator", "value", "expected"),
    [
        ("reasons", "jsonArrayContainsObject", {"label": "inaccurate"}, ["f2"]),
        ("reasons", "jsonArrayContainsObject", {"label": "accurate", "details": "spot on"}, ["f1"]),
        ("reasons", "jsonArrayContainsObject", {"label": "accurate", "details": "other"}, []),
        ("reasons", "jsonArrayContainsObject", {}, ["f1", "f2"]),
        ("sources", "jsonArrayContainsObject", {"type": "negative"}, ["f2"]),
        ("sources", "jsonArrayContainsObject", {"type": None}, ["f5"]),
        ("sources", "jsonArrayContainsObject", {"title": "Guide", "type": "positive"}, ["f5"]),
        ("reasons", "jsonContains", [{"label": "too_long"}], ["f2"]),
        # Elements are objects, so no element is the string.
        ("reasons", "arrayContains", "accurate", []),
        ("reasons", "isNull", None, ["f3", "f4", "f5"]),
        ("reasons", "isNotNull", None, ["f1", "f2"]),
        ("sources", "jsonContainedBy", [{"type": "negative", "title": "Old page", "url": "x"}], []),
    ],
    ids=describe,
)
def test_json_array_operators_on_feedback(
    dataset: Dataset, field: str, operator: str, value: Any, expected: list[str]
) -> None:
    condition = cond(field, operator) if value is None else cond(field, operator, value)
    assert dataset.ids("feedback", condition) == expected


def test_json_contained_by_whole_arrays_on_feedback(dataset: Dataset) -> None:
    old_page = {"type": "negative", "title": "Old page", "url": "https://docs.example/old"}
    assert dataset.ids("feedback", cond("sources", "jsonContainedBy", [old_page])) == ["f2"]
    assert dataset.ids("feedback", cond("sources", "eq", [old_page])) == ["f2"]


# -- and / or -----------------------------------------------------------------------------------


def test_nested_and_or(dataset: Dataset) -> None:
    where = {
        "or": [
            {"and": [cond("type", "eq", COPIED), cond("createdAt", "lt", "2026-02-01")]},
            cond("searchQuery", "eq", "Zapier integration"),
            {"and": [cond("eventType", "eq", "conversation"), {"or": [cond("id", "eq", "e10")]}]},
        ]
    }
    assert dataset.ids("events", where) == ["e01", "e09", "e10"]


def test_and_of_ors(dataset: Dataset) -> None:
    where = {
        "and": [
            {"or": [cond("type", "eq", COPIED), cond("type", "eq", SHARED)]},
            {
                "or": [
                    cond("conversationId", "eq", "conv_b"),
                    cond("createdAt", "gte", "2026-02-02"),
                ]
            },
        ]
    }
    assert dataset.ids("events", where) == ["e04", "e05", "e06", "e07"]


def test_empty_and_matches_everything_and_empty_or_nothing(dataset: Dataset) -> None:
    assert dataset.ids("events", {"and": []}) == ALL_EVENTS
    assert dataset.ids("events", {"or": []}) == []
    assert dataset.ids("events", {"and": [{"or": []}]}) == []
    assert dataset.ids("events", {"or": [{"and": []}]}) == ALL_EVENTS
    assert dataset.ids("events", {"or": [{"or": []}, cond("id", "eq", "e03")]}) == ["e03"]


def test_a_filter_nested_sixteen_levels_deep_is_accepted(dataset: Dataset) -> None:
    where = cond("id", "eq", "e05")
    for _ in range(15):
        where = {"and": [where]}
    assert dataset.ids("events", where) == ["e05"]


def test_null_where_is_no_filter(dataset: Dataset) -> None:
    assert dataset.ids("events", None) == ALL_EVENTS


# -- tenancy ------------------------------------------------------------------------------------


def test_no_filter_reaches_another_project(dataset: Dataset) -> None:
    other = dataset.projects["other"]
    for view in ("conversations", "events", "feedback"):
        assert dataset.ids(view, cond("projectId", "eq", other)) == []
        assert dataset.ids(view, cond("organizationId", "eq", other)) == []
        assert dataset.ids(view, {"or": [{"and": []}, cond("projectId", "eq", other)]}) != []
    # The same ids exist in both projects; each key sees its own.
    assert dataset.ids("events", cond("id", "in", ["e01", "e02", "x01"])) == ["e01", "e02"]
    assert dataset.ids("events", cond("id", "in", ["e01", "e02", "x01"]), key="other") == [
        "e01",
        "e02",
        "x01",
    ]
    assert dataset.ids("feedback", cond("id", "eq", "x1")) == []
    assert dataset.ids("semantic_threads", cond("id", "in", ["t1", "t2", "t3"])) == []
