"""Who may change a stored conversation or feedback: the one check, made where the row is loaded.

Api keys change anything in their project. Web keys are public (any page that embeds one shows
it), and a conversation id is public once shared, so a web key changes only what its own
integration's web keys wrote for the same user: the stored `userProperties.id` must be set and
equal to the one the request sends. A row without a user cannot be claimed by anyone, so web
keys cannot change it after writing it (the widget's shared copy is such a row). A delete sends
no user; a web key deletes only a conversation of its integration's web keys that names a user.
docs/decisions.md ("What a web key may change") gives the reasons.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import RowMapping

from threadline.errors import Forbidden
from threadline.store.keys import KeyKind


def user_id(user_properties: Any) -> str | int | float | None:
    """The user a `userProperties` value names (its `id`, a string or a number), if any."""
    if not isinstance(user_properties, dict):
        return None
    value = user_properties.get("id")
    if isinstance(value, bool) or not isinstance(value, str | int | float) or value == "":
        return None
    return value


def _written_by_integration(row: RowMapping, integration_id: str) -> bool:
    return bool(row["key_kind"] == "web" and row["integration_id"] == integration_id)


def _refuse(what: str) -> Forbidden:
    return Forbidden(
        f"A web key may change only the {what} its own integration's web keys wrote for the "
        "same userProperties.id; use an api key."
    )


def check_may_change(
    row: RowMapping, *, key_kind: KeyKind, integration_id: str, user_properties: Any, what: str
) -> None:
    """Raise Forbidden unless this key may overwrite `row` with a body naming user_properties."""
    if key_kind == "api":
        return
    owner = user_id(row["user_properties"])
    if (
        _written_by_integration(row, integration_id)
        and owner is not None
        and user_id(user_properties) == owner
    ):
        return
    raise _refuse(what)


def check_may_delete(row: RowMapping, *, key_kind: KeyKind, integration_id: str, what: str) -> None:
    """Raise Forbidden unless this key may delete `row` (a delete carries no user to compare)."""
    if key_kind == "api":
        return
    if _written_by_integration(row, integration_id) and user_id(row["user_properties"]) is not None:
        return
    raise _refuse(what)
