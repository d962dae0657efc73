"""Who may change a stored conversation or feedback: the one check, made where the row is loaded.

Api keys change anything in their project. Web keys are public (any page that embeds one shows
it), and a conversation id is public once shared, so a web key changes only what its own
integration's web keys wrote for the same user: the stored `userProperties.id` must be set and
equal to the one the request sends. A row without a user cannot be claimed by anyone: a web key
may only append messages to such a private conversation (the widget without a stored user id
posts its growing history so), never rewrite what is stored, and may not touch such a public
one (the widget's shared copy, whose id the share link publishes) or such feedback at all. A
delete sends no user; a web key deletes only a conversation of its integration's web keys that
names a user.
docs/decisions.md ("What a web key may change") gives the reasons.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from threadline.errors import Forbidden
from threadline.store.keys import KeyKind

# What a key may do to a stored row: anything, or only add messages to it.
Access = Literal["full", "append"]


def user_id(user_properties: Any) -> str | int | float | None:
    """The user a `userProperties` value names (its `id`, a string or a number), if any."""
    if not isinstance(user_properties, dict):
        return None
    value = user_properties.get("id")
    if isinstance(value, bool) or not isinstance(value, str | int | float) or value == "":
        return None
    return value


def _written_by_integration(row: Mapping[Any, Any], integration_id: str) -> bool:
    return bool(row["key_kind"] == "web" and row["integration_id"] == integration_id)


def _refuse(what: str) -> Forbidden:
    return Forbidden(
        f"A web key may change only the {what} its own integration's web keys wrote for the "
        "same userProperties.id; use an api key."
    )


def check_may_change(
    row: Mapping[Any, Any],
    *,
    key_kind: KeyKind,
    integration_id: str,
    user_properties: Any,
    what: str,
    appendable: bool = False,
) -> Access:
    """How this key may change `row` with a body naming user_properties; Forbidden if not at
    all. `appendable`: the row is a private conversation, which a web key of its integration
    may extend when neither it nor the body names a user."""
    if key_kind == "api":
        return "full"
    if _written_by_integration(row, integration_id):
        owner = user_id(row["user_properties"])
        claimed = user_id(user_properties)
        if owner is not None and claimed == owner:
            return "full"
        if appendable and owner is None and claimed is None:
            return "append"
    raise _refuse(what)


def check_may_delete(
    row: Mapping[Any, Any], *, key_kind: KeyKind, integration_id: str, what: str
) -> None:
    """Raise Forbidden unless this key may delete `row` (a delete carries no user to compare)."""
    if key_kind == "api":
        return
    if _written_by_integration(row, integration_id) and user_id(row["user_properties"]) is not None:
        return
    raise _refuse(what)
