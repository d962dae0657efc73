"""The few SQL expressions SQLite and PostgreSQL spell differently: reading into JSON, JSON
containment and keys, month buckets, and string ordering. Everything else the compiler builds
is plain SQLAlchemy Core, the same on both.

PostgreSQL has native JSONB operators (`#>>`, `@>`, `<@`, `?`). SQLite has json_type,
json_extract and json_each; containment is spelled out with them, element by element, so the
two backends give the same answers.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Float,
    Select,
    String,
    and_,
    case,
    cast,
    exists,
    extract,
    false,
    func,
    literal,
    not_,
    or_,
    select,
    true,
    type_coerce,
)
from sqlalchemy.dialects.postgresql import JSONB

MICROS = {
    "hour": 3_600_000_000,
    "day": 86_400_000_000,
    "week": 7 * 86_400_000_000,
}
# Weeks start on Monday (ISO 8601); the epoch, 1970-01-01, was a Thursday, four days later.
_MONDAY_OFFSET = 4 * 86_400_000_000

JsonPath = Sequence[str]


class Sql:
    """What differs between the backends. `doc` is a JSON column, `path` a list of keys."""

    name = ""

    def json_text(self, doc: ColumnElement[Any], path: JsonPath) -> ColumnElement[str]:
        """The value at path as text (strings unquoted, true/false, numbers, JSON otherwise)."""
        raise NotImplementedError

    def json_number(self, doc: ColumnElement[Any], path: JsonPath) -> ColumnElement[float]:
        """The value at path if it is a JSON number, else NULL (never an error)."""
        raise NotImplementedError

    def json_equals(
        self, doc: ColumnElement[Any], path: JsonPath, value: Any
    ) -> ColumnElement[bool]:
        """The value at path is this JSON scalar (a string equals only a string, and so on)."""
        raise NotImplementedError

    def contains(self, doc: ColumnElement[Any], path: JsonPath, value: Any) -> ColumnElement[bool]:
        """The JSON at path contains `value` as PostgreSQL's @> means it."""
        raise NotImplementedError

    def contained_by(self, doc: ColumnElement[Any], value: Any) -> ColumnElement[bool]:
        """The JSON document is contained in `value` (PostgreSQL's <@)."""
        raise NotImplementedError

    def has_key(self, doc: ColumnElement[Any], key: str) -> ColumnElement[bool]:
        raise NotImplementedError

    def object_keys(
        self, doc: ColumnElement[Any], source: Any, where: Sequence[ColumnElement[bool]]
    ) -> Select[Any]:
        """SELECT the distinct top-level keys of `doc` over `source` rows matching `where`,
        in code-point order, as one column `key`."""
        raise NotImplementedError

    def month(self, micros: ColumnElement[int]) -> ColumnElement[int]:
        """The first instant of the UTC month, in microseconds."""
        raise NotImplementedError

    def ordered(self, expression: ColumnElement[Any]) -> ColumnElement[Any]:
        """A string expression that sorts by code point on both backends."""
        return expression

    def bucket(self, micros: ColumnElement[int], unit: str) -> ColumnElement[int]:
        """Microseconds rounded down to the start of their hour, day, week (Monday) or month,
        in UTC. Timestamps are never before 1970, so integer division rounds down."""
        if unit == "month":
            return self.month(micros)
        size = MICROS[unit]
        if unit == "week":
            return (micros - _MONDAY_OFFSET) // size * size + _MONDAY_OFFSET
        return micros // size * size


class PostgresSql(Sql):
    name = "postgresql"

    @staticmethod
    def _jsonb(doc: ColumnElement[Any]) -> Any:
        return type_coerce(doc, JSONB)

    def json_text(self, doc: ColumnElement[Any], path: JsonPath) -> ColumnElement[str]:
        return self._jsonb(doc)[tuple(path)].astext  # type: ignore[no-any-return]

    def json_number(self, doc: ColumnElement[Any], path: JsonPath) -> ColumnElement[float]:
        node = self._jsonb(doc)[tuple(path)]
        return case(
            (func.jsonb_typeof(node) == "number", cast(node.astext, Float)),
            else_=None,
        )

    def json_equals(
        self, doc: ColumnElement[Any], path: JsonPath, value: Any
    ) -> ColumnElement[bool]:
        node = self._jsonb(doc)[tuple(path)]
        return node == literal(value, JSONB)  # type: ignore[no-any-return]

    def contains(self, doc: ColumnElement[Any], path: JsonPath, value: Any) -> ColumnElement[bool]:
        for key in reversed(path):
            value = {key: value}
        return self._jsonb(doc).contains(literal(value, JSONB))  # type: ignore[no-any-return]

    def contained_by(self, doc: ColumnElement[Any], value: Any) -> ColumnElement[bool]:
        return self._jsonb(doc).contained_by(literal(value, JSONB))  # type: ignore[no-any-return]

    def has_key(self, doc: ColumnElement[Any], key: str) -> ColumnElement[bool]:
        return self._jsonb(doc).has_key(key)  # type: ignore[no-any-return]

    def object_keys(
        self, doc: ColumnElement[Any], source: Any, where: Sequence[ColumnElement[bool]]
    ) -> Select[Any]:
        jsonb = self._jsonb(doc)
        keys = (
            select(func.jsonb_object_keys(jsonb).label("key"))
            .select_from(source)
            .where(*where, func.jsonb_typeof(jsonb) == "object")
            .subquery()
        )
        return select(keys.c.key).group_by(keys.c.key).order_by(keys.c.key.collate("C"))

    def month(self, micros: ColumnElement[int]) -> ColumnElement[int]:
        utc = func.timezone("UTC", func.to_timestamp(micros // 1_000_000))
        seconds = extract("epoch", func.date_trunc("month", utc))
        return cast(seconds, BigInteger) * 1_000_000

    def ordered(self, expression: ColumnElement[Any]) -> ColumnElement[Any]:
        # The database's collation might be a language's; SQLite compares code points.
        return expression.collate("C")


def _sqlite_path(path: JsonPath) -> str:
    return "$" + "".join(f'."{key}"' for key in path)


class SqliteSql(Sql):
    name = "sqlite"

    def json_text(self, doc: ColumnElement[Any], path: JsonPath) -> ColumnElement[str]:
        where = _sqlite_path(path)
        kind = func.json_type(doc, where)
        # json_extract gives 1/0 for true/false; PostgreSQL's #>> gives 'true'/'false'.
        return case(
            (kind == "true", "true"),
            (kind == "false", "false"),
            else_=cast(func.json_extract(doc, where), String),
        )

    def json_number(self, doc: ColumnElement[Any], path: JsonPath) -> ColumnElement[float]:
        where = _sqlite_path(path)
        return case(
            (
                func.json_type(doc, where).in_(("integer", "real")),
                cast(func.json_extract(doc, where), Float),
            ),
            else_=None,
        )

    def json_equals(
        self, doc: ColumnElement[Any], path: JsonPath, value: Any
    ) -> ColumnElement[bool]:
        if isinstance(value, (dict, list)):
            return and_(
                self.contains(doc, path, value), self._contained_by(doc, _sqlite_path(path), value)
            )
        return self._scalar_at(doc, _sqlite_path(path), value)

    def contains(self, doc: ColumnElement[Any], path: JsonPath, value: Any) -> ColumnElement[bool]:
        return self._contains(doc, _sqlite_path(path), value)

    def contained_by(self, doc: ColumnElement[Any], value: Any) -> ColumnElement[bool]:
        return self._contained_by(doc, "$", value)

    def has_key(self, doc: ColumnElement[Any], key: str) -> ColumnElement[bool]:
        return and_(
            func.json_type(doc) == "object",
            func.json_type(doc, _sqlite_path([key])).is_not(None),
        )

    def object_keys(
        self, doc: ColumnElement[Any], source: Any, where: Sequence[ColumnElement[bool]]
    ) -> Select[Any]:
        element = func.json_each(doc).table_valued("key").alias()
        return (
            select(element.c.key)
            .select_from(source.join(element, true()))
            .where(*where, func.json_type(doc) == "object")
            .distinct()
            .order_by(element.c.key)
        )

    def month(self, micros: ColumnElement[int]) -> ColumnElement[int]:
        start = func.strftime("%s", micros // 1_000_000, "unixepoch", "start of month")
        return cast(start, BigInteger) * 1_000_000

    # A node is (doc, where): a JSON document and an SQLite JSON path into it, either a Python
    # string or, inside json_each, the element's `fullkey` column.

    def _scalar_at(self, doc: ColumnElement[Any], where: Any, value: Any) -> ColumnElement[bool]:
        kind = func.json_type(doc, where)
        if value is None:
            return kind == "null"
        if isinstance(value, bool):
            return kind == ("true" if value else "false")
        extracted = func.json_extract(doc, where)
        if isinstance(value, (int, float)):
            return and_(kind.in_(("integer", "real")), extracted == value)
        return and_(kind == "text", extracted == value)

    def _elements(self, doc: ColumnElement[Any], where: Any) -> Any:
        return func.json_each(doc, where).table_valued("key", "fullkey").alias()

    @staticmethod
    def _any(element: Any, condition: ColumnElement[bool]) -> ColumnElement[bool]:
        """Some element of a json_each matches; the document's table comes from outside,
        however deep the nesting (SQLAlchemy only correlates one level on its own)."""
        return exists(select(1).select_from(element).where(condition).correlate_except(element))

    @staticmethod
    def _child(where: Any, key: str) -> Any:
        step = f'."{key}"'
        return where + step if isinstance(where, str) else where.op("||")(step)

    def _contains(self, doc: ColumnElement[Any], where: Any, value: Any) -> ColumnElement[bool]:
        kind = func.json_type(doc, where)
        if isinstance(value, dict):
            parts = [self._contains(doc, self._child(where, k), v) for k, v in value.items()]
            return and_(kind == "object", *parts)
        if isinstance(value, list):
            parts = []
            for item in value:
                element = self._elements(doc, where)
                match = self._contains(doc, element.c.fullkey, item)
                parts.append(self._any(element, match))
            return and_(kind == "array", *parts)
        return self._scalar_at(doc, where, value)

    def _contained_by(self, doc: ColumnElement[Any], where: Any, value: Any) -> ColumnElement[bool]:
        kind = func.json_type(doc, where)
        if isinstance(value, (dict, list)):
            element = self._elements(doc, where)
            if isinstance(value, dict):
                allowed = [
                    and_(element.c.key == k, self._contained_by(doc, element.c.fullkey, v))
                    for k, v in value.items()
                ]
            else:
                allowed = [self._contained_by(doc, element.c.fullkey, v) for v in value]
            stray = self._any(element, not_(or_(false(), *allowed)))
            return and_(kind == ("object" if isinstance(value, dict) else "array"), not_(stray))
        return self._scalar_at(doc, where, value)


def sql_for(dialect_name: str) -> Sql:
    return PostgresSql() if dialect_name == "postgresql" else SqliteSql()
