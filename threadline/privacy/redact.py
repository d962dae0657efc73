"""Redacting a decoded write body in place, before it is prepared, stored or fingerprinted.

What is redacted, by field name, in conversations, messages, feedback, events and /batch items:
message `content` (a string, or the `text` of each part), feedback `details` (its own and each
reason's), an event's `searchQuery`, and every string anywhere inside `properties` and
`userProperties`, except `userProperties.id` and `.userId`: they identify the user, and a web
key's right to change a conversation (store.ownership) and erasure (privacy.erase) match on them;
an email there would make every user with one the same "[email]" (docs/decisions.md).

Ids, roles, types, links, tool calls and `metadata` are left as sent: the widget reads them back.
"""

from __future__ import annotations

from typing import Any

import msgspec
from msgspec import Struct

from threadline.privacy.detect import Redactor
from threadline.wire.batch import BatchIn

_TEXT = frozenset({"content", "details", "searchQuery", "text"})
_DATA = frozenset({"properties", "userProperties"})
_NESTED = frozenset({"messages", "reasons", "content"})  # lists of the shapes above
_IDENTITY = frozenset({"id", "userId"})


def _data(value: Any, redactor: Redactor) -> Any:
    """Every string in a JSON value, redacted (keys stay)."""
    if isinstance(value, str):
        return redactor.text(value)
    if isinstance(value, dict):
        return {key: _data(item, redactor) for key, item in value.items()}
    if isinstance(value, list):
        return [_data(item, redactor) for item in value]
    return value


def _user_properties(value: Any, redactor: Redactor) -> Any:
    if not isinstance(value, dict):
        return _data(value, redactor)
    return {key: item if key in _IDENTITY else _data(item, redactor) for key, item in value.items()}


def _field(name: str, value: Any, redactor: Redactor) -> Any:
    if name in _TEXT and isinstance(value, str):
        return redactor.text(value)
    if name == "userProperties":
        return _user_properties(value, redactor)
    if name in _DATA:
        return _data(value, redactor)
    if name in _NESTED and isinstance(value, list):
        return [_shape(item, redactor) for item in value]
    return value


def _shape(value: Any, redactor: Redactor) -> Any:
    """A Struct or a JSON object of a write body, its fields redacted by name."""
    if isinstance(value, Struct):
        for name in value.__struct_fields__:
            current = getattr(value, name)
            redacted = _field(name, current, redactor)
            if redacted is not current:
                setattr(value, name, redacted)
        return value
    if isinstance(value, dict):
        return {name: _field(name, item, redactor) for name, item in value.items()}
    return value


def redact_body(body: Any, redactor: Redactor) -> Any:
    """The body with what `redactor` finds replaced (Structs are changed in place). /batch items
    are still raw JSON here (each is decoded against its own schema later): they are parsed,
    redacted and encoded again."""
    if isinstance(body, BatchIn):
        for item in body.items:
            try:
                document = msgspec.json.decode(item.body)
            except msgspec.DecodeError:
                continue  # refused later, item by item, as it is
            item.body = msgspec.Raw(msgspec.json.encode(_shape(document, redactor)))
        return body
    return _shape(body, redactor)
