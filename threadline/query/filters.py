"""`where` (reference §7.3): a tree of and/or nodes over conditions, compiled to one SQL boolean.

Which operators a field takes follows from its kind (catalogue.Kind), as a table. A value of
the wrong shape is a 400 and an operator that cannot apply to the field a 422, each naming
the condition (`$.where.and[1].condition`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import msgspec
from msgspec import UNSET
from sqlalchemy import ColumnElement, and_, false, not_, or_, true

from threadline.errors import BadRequest, FieldViolation, ThreadlineError, Unprocessable
from threadline.query.catalogue import Field, Kind, View
from threadline.query.sql import Sql
from threadline.timestamps import to_us
from threadline.wire.common import Timestamp
from threadline.wire.query import OPERATORS

MAX_DEPTH = 16
MAX_CONDITIONS = 200
MAX_LIST_VALUES = 1000

_SCALAR_OPERATORS = {"eq", "neq", "in", "notIn", "isNull", "isNotNull"}
_ORDERED_OPERATORS = _SCALAR_OPERATORS | {"gt", "gte", "lt", "lte"}
_JSON_OPERATORS = set(OPERATORS)  # every one: the arrayContains and json* ones are JSON-only
OPERATORS_BY_KIND = {
    Kind.STRING: _ORDERED_OPERATORS,
    Kind.NUMBER: _ORDERED_OPERATORS,
    Kind.TIME: _ORDERED_OPERATORS,
    Kind.BOOLEAN: _SCALAR_OPERATORS,
    Kind.OBJECT: _JSON_OPERATORS,
    Kind.ARRAY: _JSON_OPERATORS,
}

_timestamp = msgspec.json.Decoder(Timestamp)


def refuse(error: type[ThreadlineError], where: str, message: str) -> ThreadlineError:
    return error(f"{where}: {message}", violations=[FieldViolation(where, message)])


def time_value(value: Any, where: str) -> int:
    """An ISO 8601 date-time with a timezone, or a date (midnight UTC), as microseconds."""
    if isinstance(value, str):
        try:
            return to_us(_timestamp.decode(msgspec.json.encode(value)))
        except msgspec.ValidationError:
            pass
        try:
            day = dt.date.fromisoformat(value)
            return to_us(dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC))
        except ValueError:
            pass
    raise refuse(
        BadRequest,
        where,
        "must be an ISO 8601 date-time with a timezone (2026-02-01T00:00:00Z) or a date "
        f"(2026-02-01), got {value!r}",
    )


class FilterCompiler:
    """Compiles one `where` tree against one view."""

    def __init__(self, view: View, sql: Sql, project_id: str | None = None) -> None:
        self.view = view
        self.sql = sql
        self.project_id = project_id  # known: a joined field's equality may skip the join
        self.conditions = 0
        self.fields_used: set[str] = set()

    def compile(self, node: Any, where: str = "$.where", depth: int = 1) -> ColumnElement[bool]:
        if depth > MAX_DEPTH:
            raise refuse(BadRequest, where, f"filters may nest at most {MAX_DEPTH} levels deep")
        given = [
            name
            for name, value in (("condition", node.condition), ("and", node.and_), ("or", node.or_))
            if value is not UNSET
        ]
        if len(given) != 1:
            raise refuse(
                BadRequest,
                where,
                "a filter needs exactly one of condition, and, or; got "
                + (", ".join(given) or "none"),
            )
        if node.condition is not UNSET:
            self.conditions += 1
            if self.conditions > MAX_CONDITIONS:
                raise refuse(BadRequest, where, f"at most {MAX_CONDITIONS} conditions per query")
            return self.condition(node.condition, f"{where}.condition")
        children, combine, empty = (
            (node.and_, and_, true()) if node.and_ is not UNSET else (node.or_, or_, false())
        )
        name = given[0]
        parts = [
            self.compile(child, f"{where}.{name}[{i}]", depth + 1)
            for i, child in enumerate(children)
        ]
        return combine(empty, *parts) if not parts else combine(*parts)

    def condition(self, condition: Any, where: str) -> ColumnElement[bool]:
        field = self.view.field(condition.field)
        operator = condition.operator
        if operator not in OPERATORS_BY_KIND[field.kind]:
            raise refuse(
                Unprocessable,
                f"{where}.operator",
                f"{operator!r} does not apply to {field.name}, a {field.kind.value} field; use "
                + ", ".join(sorted(OPERATORS_BY_KIND[field.kind])),
            )
        equals = field.equals_without_join
        if equals and operator == "eq" and isinstance(condition.value, str) and self.project_id:
            return equals(condition.value, self.project_id)
        self.fields_used.add(field.name)
        value_where = f"{where}.value"
        if operator in ("isNull", "isNotNull"):
            return self._null_test(field, operator, condition.value, value_where)
        if condition.value is UNSET:
            raise refuse(BadRequest, value_where, f"is required with {operator!r}")
        if field.kind.is_json:
            return JsonConditions(self.sql, field, value_where).build(operator, condition.value)
        return self._scalar(field.expression, field.kind, operator, condition.value, value_where)

    def _null_test(
        self, field: Field, operator: str, value: Any, where: str
    ) -> ColumnElement[bool]:
        expression = field.expression
        if field.kind.is_json and value is not UNSET and value is not None:
            path = _path_pair(value, where, needs_value=False)[0]
            expression = self.sql.json_text(field.expression, path)
        return expression.is_(None) if operator == "isNull" else expression.is_not(None)

    def _scalar(
        self, expression: ColumnElement[Any], kind: Kind, operator: str, value: Any, where: str
    ) -> ColumnElement[bool]:
        if operator in ("in", "notIn"):
            items = _list(value, where)
            wanted = [
                _coerce(kind, item, f"{where}[{i}]")
                for i, item in enumerate(items)
                if item is not None
            ]
            # Equality needs no collation (and an index on the column stays usable).
            listed = or_(false(), *([self.sql.is_in(expression, wanted)] if wanted else []))
            return _membership(operator, expression, listed, null_listed=None in items)
        target = _coerce(kind, value, where)
        if target is None:
            raise refuse(BadRequest, where, f"null needs isNull or isNotNull, not {operator!r}")
        if operator in ("eq", "neq"):
            return _COMPARISONS[operator](expression, target)
        return _COMPARISONS[operator](self._ordered(expression, kind), target)

    def _ordered(self, expression: ColumnElement[Any], kind: Kind) -> ColumnElement[Any]:
        return self.sql.ordered(expression) if kind is Kind.STRING else expression


_COMPARISONS: dict[str, Callable[[Any, Any], ColumnElement[bool]]] = {
    "eq": lambda column, value: column == value,
    # neq keeps rows with no value at all: "type is not X" is true of a row with no type.
    "neq": lambda column, value: column.is_distinct_from(value),
    "gt": lambda column, value: column > value,
    "gte": lambda column, value: column >= value,
    "lt": lambda column, value: column < value,
    "lte": lambda column, value: column <= value,
}


def _membership(
    operator: str, value: ColumnElement[Any], listed: ColumnElement[bool], *, null_listed: bool
) -> ColumnElement[bool]:
    """in / notIn, given `listed` (the value is one of the non-null items). A row without a
    value is in the list when null is listed; notIn keeps it otherwise, as neq does."""
    if operator == "in":
        return or_(listed, value.is_(None)) if null_listed else listed
    if null_listed:
        return and_(value.is_not(None), not_(listed))
    return or_(value.is_(None), not_(listed))


def _list(value: Any, where: str) -> list[Any]:
    if not isinstance(value, list):
        raise refuse(BadRequest, where, "must be an array")
    if len(value) > MAX_LIST_VALUES:
        raise refuse(BadRequest, where, f"may list at most {MAX_LIST_VALUES} values")
    return value


MAX_JSON_DEPTH = 16
MAX_JSON_SCALARS = 1000
MAX_JSON_CONTAINERS = 100
_INT64 = 2**63


def check_json_value(value: Any, where: str) -> None:
    """A filter's JSON value within what both backends can compare: integers that fit 64 bits,
    at most MAX_JSON_DEPTH levels, MAX_JSON_SCALARS scalars and MAX_JSON_CONTAINERS objects or
    arrays (each nested one becomes its own subquery on SQLite)."""
    scalars = containers = 0
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, (dict, list)):
            containers += 1
            if depth > MAX_JSON_DEPTH or containers > MAX_JSON_CONTAINERS:
                raise refuse(
                    BadRequest,
                    where,
                    f"a filter value may nest {MAX_JSON_DEPTH} levels and hold "
                    f"{MAX_JSON_CONTAINERS} objects or arrays at most",
                )
            children = item.values() if isinstance(item, dict) else item
            stack.extend((child, depth + 1) for child in children)
            continue
        scalars += 1
        if scalars > MAX_JSON_SCALARS:
            raise refuse(
                BadRequest, where, f"a filter value may hold {MAX_JSON_SCALARS} values at most"
            )
        _check_number(item, where)


def _check_number(value: Any, where: str) -> None:
    if isinstance(value, int) and not isinstance(value, bool) and not -_INT64 <= value < _INT64:
        raise refuse(BadRequest, where, f"{value} does not fit in 64 bits")
    if isinstance(value, float) and value in (float("inf"), float("-inf")):
        raise refuse(BadRequest, where, "numbers must be finite")


def _coerce(kind: Kind, value: Any, where: str) -> Any:
    """A filter value checked against the field's kind (None stays None)."""
    if value is None:
        return None
    if kind is Kind.TIME:
        return time_value(value, where)
    if kind is Kind.NUMBER:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise refuse(BadRequest, where, f"must be a number, got {value!r}")
        _check_number(value, where)
        return value
    if kind is Kind.BOOLEAN:
        if not isinstance(value, bool):
            raise refuse(BadRequest, where, f"must be true or false, got {value!r}")
        return value
    if not isinstance(value, str):
        raise refuse(BadRequest, where, f"must be a string, got {value!r}")
    return value


def _is_scalar(value: Any) -> bool:
    return value is None or isinstance(value, (str, int, float, bool))


def _path_pair(value: Any, where: str, *, needs_value: bool = True) -> tuple[list[str], Any]:
    """A {path, value} pair (reference §7.3): a key path into a JSON field and a value."""
    if not isinstance(value, dict) or "path" not in value:
        raise refuse(BadRequest, where, 'must be {"path": [...], "value": ...} on a JSON field')
    path = value["path"]
    if not (
        isinstance(path, list)
        and path
        and all(isinstance(key, str) and key and '"' not in key for key in path)
    ):
        raise refuse(
            BadRequest, f"{where}.path", "must be a non-empty array of non-empty keys without '\"'"
        )
    extra = set(value) - {"path", "value"}
    if extra:
        raise refuse(BadRequest, where, f"unexpected keys {sorted(extra)}")
    if needs_value and "value" not in value:
        raise refuse(BadRequest, f"{where}.value", "is required")
    return path, value.get("value")


class JsonConditions:
    """Conditions on a JSON field: the JSON operators, or a scalar comparison at a key path."""

    def __init__(self, sql: Sql, field: Field, where: str) -> None:
        self.sql = sql
        self.column = field.expression
        self.field = field
        self.where = where

    def build(self, operator: str, value: Any) -> ColumnElement[bool]:
        pair = isinstance(value, dict) and "path" in value
        check_json_value(value.get("value") if pair else value, self.where)
        if operator in _COMPARISONS or operator in ("in", "notIn"):
            if isinstance(value, dict) and "path" in value:
                path, target = _path_pair(value, self.where)
                return self._at_path(operator, path, target)
            if operator in ("eq", "neq") and isinstance(value, (dict, list)):
                equal = self.sql.json_equals(self.column, [], value)
                return equal if operator == "eq" else or_(self.column.is_(None), not_(equal))
            raise refuse(
                BadRequest,
                self.where,
                f'{operator!r} on {self.field.name} takes {{"path": [...], "value": ...}}'
                + (" or a whole JSON value" if operator in ("eq", "neq") else ""),
            )
        return self._json_operator(operator, value)

    def _at_path(self, operator: str, path: list[str], target: Any) -> ColumnElement[bool]:
        text = self.sql.json_text(self.column, path)
        value_where = f"{self.where}.value"
        if operator in ("in", "notIn"):
            items = _list(target, value_where)
            present = [item for item in items if item is not None]
            if not all(_is_scalar(item) for item in present):
                raise refuse(
                    BadRequest, value_where, "must list strings, numbers, booleans or null"
                )
            listed = self.sql.json_in(self.column, path, present)
            return _membership(operator, text, listed, null_listed=None in items)
        if operator in ("eq", "neq"):
            if target is None:
                return text.is_(None) if operator == "eq" else text.is_not(None)
            equal = self._equal(path, target)
            # neq keeps objects without the key, as it keeps rows without a value.
            return equal if operator == "eq" else or_(text.is_(None), not_(equal))
        if target is None or isinstance(target, bool) or not _is_scalar(target):
            raise refuse(BadRequest, value_where, f"{operator!r} compares a number or a string")
        if isinstance(target, (int, float)):
            return _COMPARISONS[operator](self.sql.json_number(self.column, path), target)
        return _COMPARISONS[operator](self.sql.ordered(text), target)

    def _equal(self, path: list[str], target: Any) -> ColumnElement[bool]:
        if not _is_scalar(target):
            raise refuse(
                BadRequest, f"{self.where}.value", "must list strings, numbers, booleans or null"
            )
        # A JSON scalar of the same type: "5" does not equal 5, as in PostgreSQL's jsonb.
        return self.sql.json_equals(self.column, path, target)

    def _json_operator(self, operator: str, value: Any) -> ColumnElement[bool]:
        column, sql, where = self.column, self.sql, self.where
        if operator in ("jsonHasKey", "jsonHasAnyKey", "jsonHasAllKeys"):
            keys = [value] if operator == "jsonHasKey" else _list(value, where)
            if not keys or not all(isinstance(key, str) and key and '"' not in key for key in keys):
                raise refuse(
                    BadRequest,
                    where,
                    "must be a key (string)"
                    if operator == "jsonHasKey"
                    else "must be a non-empty array of keys",
                )
            tests = [sql.has_key(column, key) for key in keys]
            return or_(*tests) if operator == "jsonHasAnyKey" else and_(*tests)
        path: list[str] = []
        if isinstance(value, dict) and "path" in value and operator != "jsonContainedBy":
            path, value = _path_pair(value, where)
        if operator == "arrayContains":
            if not _is_scalar(value):
                raise refuse(BadRequest, where, "must be a string, number, boolean or null")
            return sql.contains(column, path, [value])
        if operator == "jsonArrayContainsObject":
            if not isinstance(value, dict):
                raise refuse(BadRequest, where, "must be a JSON object")
            return sql.contains(column, path, [value])
        if not isinstance(value, (dict, list)):
            raise refuse(BadRequest, where, "must be a JSON object or array")
        if operator == "jsonContains":
            return sql.contains(column, path, value)
        return sql.contained_by(column, value)
