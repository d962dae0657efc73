"""Shapes shared by several resources: timestamps, properties, userProperties, links (ref §3)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from msgspec import UNSET, Meta, Struct, UnsetType

# ISO 8601 with a timezone (reference §2.3): a timestamp without an offset is refused.
Timestamp = Annotated[
    datetime,
    Meta(tz=True, description="A timestamp in ISO 8601 format with timezone information."),
]
# Ids are opaque strings; an empty id cannot be an upsert key (docs/decisions.md).
Id = Annotated[str, Meta(min_length=1)]
NonEmptyStr = Annotated[str, Meta(min_length=1)]

Properties = Annotated[
    dict[str, Any],
    Meta(description="A customizable collection of custom properties or attributes."),
]

# userProperties is an open object, but the keys the Inkeep portal and widget understand have
# types the official SDK checks on every response (reference §3.2). Declaring them here puts
# them in the JSON Schema (and so in the full list of violations); check_user_properties
# enforces them on the fast path.
_ID_TYPES: tuple[type, ...] = (str, int, float)
_STR_TYPES: tuple[type, ...] = (str,)
USER_PROPERTY_TYPES: dict[str, tuple[type, ...]] = {
    "id": _ID_TYPES,
    "identificationType": _STR_TYPES,
    "userId": _ID_TYPES,
    "supportAgentName": _STR_TYPES,
    "supportAgentEmail": _STR_TYPES,
    "userType": _STR_TYPES,
}
_JSON_TYPE_NAMES = {str: "string", int: "number", float: "number"}


def _user_properties_schema() -> dict[str, Any]:
    properties = {}
    for key, types in USER_PROPERTY_TYPES.items():
        names = sorted({_JSON_TYPE_NAMES[t] for t in types})
        properties[key] = {"type": [*names, "null"]}
    return {"properties": properties}


UserProperties = Annotated[
    dict[str, Any],
    Meta(
        description=(
            "A customizable collection of custom properties or attributes. Some properties "
            "have first class support for the Inkeep Portal or Widget."
        ),
        extra_json_schema=_user_properties_schema(),
    ),
]


def check_user_properties(value: dict[str, Any] | None | UnsetType) -> None:
    """Raise TypeError (msgspec reports it with its path) if a known key has a wrong type."""
    if not isinstance(value, dict):
        return
    for key, types in USER_PROPERTY_TYPES.items():
        item = value.get(key)
        if item is None:
            continue
        if isinstance(item, bool) or not isinstance(item, types):
            expected = " or ".join(sorted({_JSON_TYPE_NAMES[t] for t in types}))
            raise TypeError(f"userProperties.{key} must be a {expected} or null")


class Link(Struct, kw_only=True):
    """A citation shown with an assistant answer (reference §3.3)."""

    url: str
    label: str | None | UnsetType = UNSET
    title: str | None | UnsetType = UNSET
    description: str | None | UnsetType = UNSET
    # Known values are documented, but any string is valid (an open enum).
    type: str | None | UnsetType = UNSET
    breadcrumbs: list[str] | None | UnsetType = UNSET


class ImageUrl(Struct, kw_only=True):
    url: str
    detail: Literal["auto", "low", "high"] = "auto"


class ContentItem(Struct, kw_only=True):
    """One part of an OpenAI message's array content (reference §3.4)."""

    type: Literal["text", "image_url"]
    text: str | None | UnsetType = UNSET
    image_url: ImageUrl | None | UnsetType = UNSET


class ToolCallFunction(Struct, kw_only=True):
    name: str
    arguments: str


class ToolCall(Struct, kw_only=True):
    """An OpenAI tool call (reference §3.5)."""

    id: str
    type: Literal["function"]
    function: ToolCallFunction


class Deleted(Struct, kw_only=True):
    """The answer to a DELETE (reference §4.7, §6.5)."""

    success: bool
    message: str
