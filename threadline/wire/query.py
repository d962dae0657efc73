"""The query language (reference §7) and property discovery (§8), as msgspec Structs.

Each of the four views has its own closed field enum, so each gets its own family of Structs
(`EventsQuery`, `EventsCondition`, ...), generated here from the field lists: a query naming a
field of another view is a 400 naming the field, and /openapi.json lists each view's fields.
"""

from __future__ import annotations

import dataclasses
from typing import Annotated, Any, Literal

import msgspec
from msgspec import UNSET, Meta, Struct, UnsetType

VIEW_FIELDS: dict[str, tuple[str, ...]] = {
    "conversations": (
        "id",
        "userMessageCount",
        "organizationId",
        "projectId",
        "integrationId",
        "firstMessageTime",
        "type",
        "properties",
        "userProperties",
    ),
    "events": (
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
    ),
    "feedback": (
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
    ),
    "semantic_threads": (
        "id",
        "messageIds",
        "messagesCount",
        "organizationId",
        "question",
        "questionLength",
        "answer",
        "isOnTopic",
        "isClear",
        "isDocumented",
        "isFeatureSupported",
        "isAnswerConfident",
        "gapSummary",
        "subject",
        "category",
        "questionType",
        "languages",
        "firstPartyEntities",
        "thirdPartyEntities",
        "emotion",
        "sentiment",
        "projectId",
        "integrationId",
        "properties",
        "userProperties",
        "firstMessageTime",
        "lastMessageTime",
        "lastUpdated",
        "hasPositiveFeedback",
        "hasNegativeFeedback",
        "conversationIds",
        "areAIAnnotationsVerified",
        "isInitialQuestionAnswer",
    ),
}
# Component-name prefix and view name (`events_view`, as property discovery names views) of each.
VIEW_NAMES = {
    "conversations": ("Conversations", "conversations_view"),
    "events": ("Events", "events_view"),
    "feedback": ("Feedback", "feedback_view"),
    "semantic_threads": ("SemanticThreads", "semantic_threads_view"),
}
AGGREGATIONS = ("sum", "count", "countDistinct", "avg", "min", "max")
TIME_UNITS = ("hour", "day", "week", "month")
OPERATORS = (
    "eq",
    "neq",
    "gt",
    "gte",
    "lt",
    "lte",
    "in",
    "notIn",
    "arrayContains",
    "jsonContains",
    "jsonContainedBy",
    "jsonHasKey",
    "jsonHasAnyKey",
    "jsonHasAllKeys",
    "jsonArrayContainsObject",
    "isNull",
    "isNotNull",
)
# Aggregations the SDK's orderBy enum names (§7.5); we also accept countDistinct_<f> and the bare
# aggregation names, which the SDK cannot send but other clients may.
_SDK_ORDER_AGGREGATIONS = ("sum", "count", "avg", "min", "max")

# A key may not hold '"': SQLite's JSON paths cannot express it.
PathKey = Annotated[str, Meta(min_length=1, pattern='^[^"]+$')]
Path = Annotated[list[PathKey], Meta(min_length=1, max_length=16)]
Direction = Literal["asc", "desc"]
Aggregation = Literal[AGGREGATIONS]  # type: ignore[valid-type]
TimeUnit = Literal[TIME_UNITS]  # type: ignore[valid-type]
Operator = Literal[OPERATORS]  # type: ignore[valid-type]
Notes = Annotated[str, Meta(max_length=80, description="A label for debugging; never stored.")]


def order_keys(fields: tuple[str, ...]) -> tuple[str, ...]:
    """Every orderBy key of a view: F, F_<unit>, <agg>_F, countDistinct_F and bare aggregations."""
    keys = list(fields)
    keys += [f"{field}_{unit}" for field in fields for unit in TIME_UNITS]
    keys += [f"{agg}_{field}" for field in fields for agg in _SDK_ORDER_AGGREGATIONS]
    keys += [f"countDistinct_{field}" for field in fields]
    keys += list(AGGREGATIONS)
    return tuple(keys)


@dataclasses.dataclass(frozen=True)
class QueryTypes:
    """The Structs of one view's query language."""

    view: str
    body: Any  # <View>Query: the request body of POST /query/<view> and its export
    filter: Any  # <View>Filter: one node of `where`
    condition: Any  # <View>Condition


def _defstruct(name: str, fields: list[Any], **options: Any) -> Any:
    struct = msgspec.defstruct(name, fields, module=__name__, kw_only=True, **options)
    # Generated Structs refer to each other by name (Filter is recursive), so they live here.
    globals()[name] = struct
    return struct


def _query_types(
    view: str, prefix: str, fields: tuple[str, ...], *, semantic_search: bool
) -> QueryTypes:
    field = Literal[fields]  # type: ignore[valid-type]
    order_field = Literal[order_keys(fields)]  # type: ignore[valid-type]
    unset = msgspec.field(default=UNSET)
    select_field = _defstruct(
        f"{prefix}FieldSelection",
        [
            ("field", field),
            ("path", Path | UnsetType, unset),
            ("mode", Literal["unpack", "json"] | UnsetType, unset),
        ],
        tag="field",
        tag_field="type",
    )
    select_aggregation = _defstruct(
        f"{prefix}AggregationSelection",
        [
            ("aggregation", Aggregation),
            ("field", field | UnsetType, unset),
            ("path", Path | UnsetType, unset),
        ],
        tag="aggregation",
        tag_field="type",
    )
    select_time = _defstruct(
        f"{prefix}TimeSelection",
        [("timeUnit", TimeUnit), ("field", field | UnsetType, unset)],
        tag="time",
        tag_field="type",
    )
    selection = select_field | select_aggregation | select_time
    condition = _defstruct(
        f"{prefix}Condition",
        [("field", field), ("operator", Operator), ("value", Any, unset)],
    )
    filter_name = f"{prefix}Filter"
    filters = list[filter_name]  # type: ignore[valid-type]
    filter_ = _defstruct(
        filter_name,
        [
            ("condition", condition | UnsetType, unset),
            ("and_", filters | UnsetType, msgspec.field(default=UNSET, name="and")),
            ("or_", filters | UnsetType, msgspec.field(default=UNSET, name="or")),
        ],
    )
    group_by = _defstruct(
        f"{prefix}GroupBy",
        [("field", field), ("path", Path | UnsetType, unset), ("includeInSelect", bool, True)],
    )
    order_by = _defstruct(f"{prefix}OrderBy", [("field", order_field), ("direction", Direction)])
    body_fields = [
        ("select", list[selection] | None | UnsetType, unset),  # type: ignore[valid-type]
        ("groupBy", list[group_by] | None | UnsetType, unset),  # type: ignore[valid-type]
        ("where", filter_ | None | UnsetType, unset),
        ("orderBy", list[order_by] | None | UnsetType, unset),  # type: ignore[valid-type]
        ("notes", Notes | None | UnsetType, unset),
    ]
    if semantic_search:
        body_fields.append(("query", str | None | UnsetType, unset))
    body = _defstruct(f"{prefix}Query", body_fields)
    return QueryTypes(view=view, body=body, filter=filter_, condition=condition)


QUERY_TYPES = {
    view: _query_types(
        view, VIEW_NAMES[view][0], fields, semantic_search=view == "semantic_threads"
    )
    for view, fields in VIEW_FIELDS.items()
}

# Property discovery takes a filter over any view's fields (reference §8.1); each view applies
# it where it has every field the filter names.
ALL_FIELDS = tuple(dict.fromkeys(f for fields in VIEW_FIELDS.values() for f in fields))
ANY_VIEW = _query_types("any", "AnyView", ALL_FIELDS, semantic_search=False)
ViewName = Literal["events_view", "conversations_view", "semantic_threads_view", "feedback_view"]
JsonField = Literal["properties", "userProperties"]


class QueryData(Struct, kw_only=True):
    result: list[dict[str, Any]]
    total: int
    pageSize: int
    count: int


class QueryResponse(Struct, kw_only=True):
    """The answer to POST /query/<view> (reference §7.7)."""

    status: Literal["ok"]
    data: QueryData


class PropertyKeysQuery(Struct, kw_only=True):
    """The body of POST /query/property-keys (reference §8.1)."""

    field: JsonField
    views: list[ViewName] | None | UnsetType = UNSET
    where: ANY_VIEW.filter | None | UnsetType = UNSET  # type: ignore[name-defined]


class PropertyValuesQuery(Struct, kw_only=True):
    """The body of POST /query/property-values (reference §8.2)."""

    field: JsonField
    key: PathKey
    views: list[ViewName] | None | UnsetType = UNSET
    where: ANY_VIEW.filter | None | UnsetType = UNSET  # type: ignore[name-defined]
    limit: Annotated[int, Meta(ge=1, le=1000)] = 100


class PropertyResults(Struct, kw_only=True):
    results: list[str]
