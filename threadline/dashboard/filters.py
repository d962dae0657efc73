"""A page's filter form, read from its query string, and the wire query bodies it stands for.

Tables, charts and CSV downloads of a page are built from the same body (the query language of
POST /query/<view>, reference §7), so a download always holds what the table shows.
"""

from __future__ import annotations

import dataclasses
from typing import Any
from urllib.parse import urlencode

import msgspec
from starlette.datastructures import QueryParams

from threadline.dashboard.period import Period
from threadline.query.filters import MAX_LIST_VALUES
from threadline.timestamps import to_iso
from threadline.wire.query import QUERY_TYPES, PropertyKeysQuery

# Query-string name -> Filters attribute. The names are short because they show in URLs.
_PARAMS = {
    "type": "type",
    "entity": "entity",
    "integration": "integration",
    "feedback": "feedback",
    "user": "user",
    "key": "prop_key",
    "value": "prop_value",
    "q": "text",
    "conversation": "conversation",
    "subject": "subject",  # insights: threads of one subject
    "gap": "gap",  # insights: knowledge gaps only ("1")
}
CONVERSATION_TYPES = ("openai", "support_ticket", "support_copilot")
FEEDBACK_TYPES = ("positive", "negative")
ENTITY_TYPES = ("message", "conversation", "search")
FEEDBACK_FILTERS = {
    "positive": "Rated positive",
    "negative": "Rated negative",
    "any": "Any feedback",
}
# Text search and the feedback filter are not fields of the conversations view: they become an
# `id in [...]` condition listing matching conversations. The feedback filter alone lists the
# newest, at most this many; a text search pages through all its matches, best first, and a
# CSV download of it holds this many of the best.
MAX_MATCHED_IDS = MAX_LIST_VALUES


@dataclasses.dataclass(frozen=True)
class Filters:
    """What a page's filter form asked for. Empty strings mean "no filter"."""

    period: Period
    type: str = ""
    entity: str = ""
    integration: str = ""
    feedback: str = ""
    user: str = ""
    prop_key: str = ""
    prop_value: str = ""
    text: str = ""
    conversation: str = ""  # events: those naming this conversation (or its messages)
    subject: str = ""
    gap: str = ""
    page: int = 1

    @classmethod
    def read(cls, params: QueryParams, period: Period) -> Filters:
        values = {attr: params.get(name, "").strip()[:200] for name, attr in _PARAMS.items()}
        raw_page = params.get("page", "1")
        page = int(raw_page) if raw_page.isdigit() and 0 < int(raw_page) < 100_000 else 1
        return cls(period=period, page=page, **values)

    def params(self, **changes: Any) -> dict[str, str]:
        """The query string that asks for these filters again (with `changes`)."""
        out: dict[str, str] = {}
        if self.period.key == "custom":
            out["from"], out["to"] = str(self.period.first_day), str(self.period.last_day)
        else:
            out["range"] = self.period.key
        for name, attr in _PARAMS.items():
            if getattr(self, attr):
                out[name] = getattr(self, attr)
        if self.page > 1:
            out["page"] = str(self.page)
        for name, value in changes.items():
            if value in (None, ""):
                out.pop(name, None)
            else:
                out[name] = str(value)
        return out

    def query(self, **changes: Any) -> str:
        return urlencode(self.params(**changes))

    @property
    def active(self) -> bool:
        """Whether any filter beyond the date range is set."""
        return any(getattr(self, attr) for attr in _PARAMS.values())


def _condition(field: str, operator: str, value: Any = None) -> dict[str, Any]:
    condition: dict[str, Any] = {"field": field, "operator": operator}
    if operator not in ("isNull", "isNotNull"):
        condition["value"] = value
    return {"condition": condition}


def json_candidates(text: str) -> list[Any]:
    """The JSON values a typed-in property value may stand for: "42" matches "42" and 42,
    "true" matches "true" and true (stored values keep their JSON type, docs/decisions.md)."""
    values: list[Any] = [text]
    if text in ("true", "false"):
        values.append(text == "true")
    else:
        try:
            number = float(text)
            values.append(int(number) if number.is_integer() and "." not in text else number)
        except ValueError:
            pass
    return values


def _property(field: str, key: str, value: str) -> dict[str, Any]:
    if not value:
        return _condition(field, "jsonHasKey", key)
    return _condition(field, "in", {"path": [key], "value": json_candidates(value)})


def _in_period(time_field: str, period: Period) -> list[dict[str, Any]]:
    return [
        _condition(time_field, "gte", to_iso(period.start_us)),
        _condition(time_field, "lt", to_iso(period.end_us)),
    ]


def _user(user: str) -> dict[str, Any]:
    """userProperties.userId, else userProperties.id (as the search statistics read users)."""
    candidates = json_candidates(user)
    return {
        "or": [
            _condition("userProperties", "in", {"path": [key], "value": candidates})
            for key in ("userId", "id")
        ]
    }


def _common(filters: Filters, time_field: str) -> list[dict[str, Any]]:
    where = _in_period(time_field, filters.period)
    if filters.integration:
        where.append(_condition("integrationId", "eq", filters.integration))
    if filters.user:
        where.append(_user(filters.user))
    if filters.prop_key:
        where.append(_property("properties", filters.prop_key, filters.prop_value))
    return where


def body_for(view: str, query: dict[str, Any]) -> Any:
    """A wire query Struct from a plain dict (the same decoding POST /query/<view> does)."""
    return msgspec.convert(query, QUERY_TYPES[view].body)


def conversations_body(
    filters: Filters, matched_ids: list[str] | None, *, ranked: bool = False
) -> Any:
    """The conversations table: one row per conversation, newest first; `ranked`: in the
    order of `matched_ids` (a text search's, best match first) instead."""
    where = _common(filters, "firstMessageTime")
    if filters.type in CONVERSATION_TYPES:
        where.append(_condition("type", "eq", filters.type))
    if matched_ids is not None:
        where.append(_condition("id", "in", matched_ids))
    fields = ("id", "firstMessageTime", "type", "integrationId", "userMessageCount")
    return body_for(
        "conversations",
        {
            "select": [
                *({"type": "field", "field": f} for f in fields),
                {"type": "field", "field": "userProperties"},
                {"type": "field", "field": "properties"},
            ],
            "where": {"and": where},
            **({} if ranked else {"orderBy": [{"field": "firstMessageTime", "direction": "desc"}]}),
        },
    )


def feedback_body(filters: Filters) -> Any:
    where = _common(filters, "createdAt")
    if filters.type in FEEDBACK_TYPES:
        where.append(_condition("type", "eq", filters.type))
    fields = ("id", "createdAt", "type", "reasons", "details", "messageId", "conversationId")
    return body_for(
        "feedback",
        {
            "select": [{"type": "field", "field": f} for f in (*fields, "userProperties")],
            "where": {"and": where},
            "orderBy": [{"field": "createdAt", "direction": "desc"}],
        },
    )


def events_where(filters: Filters) -> dict[str, Any]:
    where = _common(filters, "createdAt")
    if filters.type:
        where.append(_condition("type", "eq", filters.type))
    if filters.entity in ENTITY_TYPES:
        where.append(_condition("eventType", "eq", filters.entity))
    if filters.conversation:
        where.append(_condition("conversationId", "eq", filters.conversation))
    return {"and": where}


def events_body(filters: Filters) -> Any:
    fields = ("createdAt", "type", "eventType", "conversationId", "messageId", "searchQuery")
    return body_for(
        "events",
        {
            "select": [{"type": "field", "field": f} for f in (*fields, "properties", "id")],
            "where": events_where(filters),
            "orderBy": [{"field": "createdAt", "direction": "desc"}],
        },
    )


def count_by(view: str, field: str, where: dict[str, Any]) -> Any:
    """`field` and how many rows hold each value, most first."""
    return body_for(
        view,
        {
            "select": [
                {"type": "field", "field": field},
                {"type": "aggregation", "aggregation": "count"},
            ],
            "where": where,
            "orderBy": [{"field": "count", "direction": "desc"}],
        },
    )


def times_of(view: str, time_field: str, where: dict[str, Any]) -> Any:
    """The time field alone of each matching row: charts group these by quarter-hour."""
    return body_for(view, {"select": [{"type": "field", "field": time_field}], "where": where})


def period_where(time_field: str, period: Period) -> dict[str, Any]:
    return {"and": _in_period(time_field, period)}


def property_keys_body(view: str, time_field: str, period: Period) -> PropertyKeysQuery:
    """The `properties` keys seen in the period, for the property filter's suggestions (the
    same question POST /query/property-keys answers for filter pickers, reference §8.1)."""
    return msgspec.convert(
        {
            "field": "properties",
            "views": [f"{view}_view"],
            "where": {"and": _in_period(time_field, period)},
        },
        PropertyKeysQuery,
    )


def searches_where(period: Period, extra: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {
        "and": [
            *_in_period("createdAt", period),
            _condition("eventType", "eq", "search"),
            *(extra or []),
        ]
    }


def search_queries_body(period: Period) -> Any:
    """The top search queries as the events export can give them (exact texts, not folded)."""
    where = searches_where(period, [_condition("searchQuery", "neq", "")])
    return count_by("events", "searchQuery", where)


def search_users_body(period: Period) -> Any:
    """Distinct searching users per ISO week (userProperties.userId)."""
    return body_for(
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
                {"type": "aggregation", "aggregation": "count"},
            ],
            "where": searches_where(period),
        },
    )


def unclicked_body(period: Period, queries: list[str]) -> Any:
    """The searches of these queries (the ones no result click followed), per exact text."""
    where = searches_where(period, [_condition("searchQuery", "in", queries or [""])])
    return count_by("events", "searchQuery", where)
