"""The few SQL expressions SQLite and PostgreSQL spell differently: reading into JSON, JSON
containment and keys, month buckets, and string ordering. Everything else the compiler builds
is plain SQLAlchemy Core, the same on both.

PostgreSQL has native JSONB operators (`#>>`, `@>`, `<@`, `?`). SQLite has json_type,
json_extract and json_each; containment is spelled out with them, element by element, so the
two backends give the same answers.
"""

from __future__ import annotations

import abc
from collections.abc import Sequence
from typing import Any

import msgspec
from sqlalchemy import (
    BigInteger,
    Boolean,
    ColumnElement,
    Float,
    Select,
    String,
    and_,
    any_,
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
from sqlalchemy.dialects.postgresql import ARRAY, JSONB

from threadline.timestamps import DAY_US, HOUR_US, MONDAY_US, WEEK_US

MICROS = {"hour": HOUR_US, "day": DAY_US, "week": WEEK_US}

JsonPath = Sequence[str]
# Between the values of a list whose order `Sql.position` tells: a character seqs and generated
# ids never hold (a client's own conversation id may: its place is then where it first matches).
POSITION_SEPARATOR = "\n"


class Sql(abc.ABC):
    """What differs between the backends. `doc` is a JSON column, `path` a list of keys."""

    name = ""
    # Whether the connection has the columnar copy's rollup of event counts (query.counts).
    event_counts = False
    # The columnar copy's rollup of each user's events (query.counts), if it keeps one.
    user_counts: Any = None
    # Whether it keeps the searches worked out for their statistics (query.searches.SEARCHES).
    kept_searches = False

    @abc.abstractmethod
    def json_text(self, doc: ColumnElement[Any], path: JsonPath) -> ColumnElement[str]:
        """The value at path as text (strings unquoted, true/false, numbers, JSON otherwise)."""

    @abc.abstractmethod
    def json_number(self, doc: ColumnElement[Any], path: JsonPath) -> ColumnElement[float]:
        """The value at path if it is a JSON number, else NULL (never an error)."""

    @abc.abstractmethod
    def json_equals(
        self, doc: ColumnElement[Any], path: JsonPath, value: Any
    ) -> ColumnElement[bool]:
        """The value at path is this JSON scalar (a string equals only a string, and so on)."""

    @abc.abstractmethod
    def contains(self, doc: ColumnElement[Any], path: JsonPath, value: Any) -> ColumnElement[bool]:
        """The JSON at path contains `value` as PostgreSQL's @> means it."""

    @abc.abstractmethod
    def contained_by(self, doc: ColumnElement[Any], value: Any) -> ColumnElement[bool]:
        """The JSON document is contained in `value` (PostgreSQL's <@)."""

    @abc.abstractmethod
    def has_key(self, doc: ColumnElement[Any], key: str) -> ColumnElement[bool]:
        """The JSON document is an object with this key (PostgreSQL's ?)."""

    @abc.abstractmethod
    def json_in(
        self, doc: ColumnElement[Any], path: JsonPath, values: list[Any]
    ) -> ColumnElement[bool]:
        """The value at path equals one of these JSON scalars (typed, as json_equals)."""

    def is_in(self, expression: ColumnElement[Any], values: list[Any]) -> ColumnElement[bool]:
        """expression IN values (values all of one type: strings, or numbers)."""
        return expression.in_(values)

    @abc.abstractmethod
    def object_keys(
        self, doc: ColumnElement[Any], source: Any, where: Sequence[ColumnElement[bool]]
    ) -> Select[Any]:
        """SELECT the distinct top-level keys of `doc` over `source` rows matching `where`,
        in code-point order, as one column `key`."""

    @abc.abstractmethod
    def month(self, micros: ColumnElement[int]) -> ColumnElement[int]:
        """The first instant of the UTC month, in microseconds."""

    def ordered(self, expression: ColumnElement[Any]) -> ColumnElement[Any]:
        """A string expression that sorts by code point on both backends."""
        return expression

    def among(self, expression: ColumnElement[Any], values: Sequence[Any]) -> ColumnElement[bool]:
        """expression IN values, for thousands of ids or seqs of one type (a search's threads):
        one list parameter where the backend takes one (SQLite binds each value, cheaply)."""
        return expression.in_(values)

    def position(self, expression: ColumnElement[int], values: Sequence[int]) -> ColumnElement[int]:
        """A number that grows with the place of `expression` among `values`, to order rows as
        `values` are: one bound string of the values searched per row, where a CASE would
        compile, bind and test one branch per value (a search's page orders 1,000 seqs)."""
        joined = POSITION_SEPARATOR.join(["", *map(str, values), ""])
        as_text = cast(expression, String())
        return self._find(
            literal(joined, String()), POSITION_SEPARATOR + as_text + POSITION_SEPARATOR
        )

    def _find(self, haystack: ColumnElement[str], needle: ColumnElement[str]) -> ColumnElement[int]:
        """Where `needle` first starts in `haystack` (from 1), 0 if nowhere."""
        return func.instr(haystack, needle)

    def bucket(self, micros: ColumnElement[int], unit: str) -> ColumnElement[int]:
        """Microseconds rounded down to the start of their hour, day, week (Monday) or month,
        in UTC. Timestamps are never before 1970, so integer division rounds down."""
        if unit == "month":
            return self.month(micros)
        size = MICROS[unit]
        if unit == "week":
            return (micros - MONDAY_US) // size * size + MONDAY_US
        return micros // size * size


class PostgresSql(Sql):
    name = "postgresql"

    @staticmethod
    def _jsonb(doc: ColumnElement[Any]) -> Any:
        return type_coerce(doc, JSONB)

    # jsonb_extract_path takes each key as its own parameter: a key may hold any character,
    # where a text[] literal ('{a,b}') would need quoting.
    def _node(self, doc: ColumnElement[Any], path: JsonPath) -> ColumnElement[Any]:
        return func.jsonb_extract_path(self._jsonb(doc), *path, type_=JSONB)

    def json_text(self, doc: ColumnElement[Any], path: JsonPath) -> ColumnElement[str]:
        return func.jsonb_extract_path_text(self._jsonb(doc), *path, type_=String)

    def json_number(self, doc: ColumnElement[Any], path: JsonPath) -> ColumnElement[float]:
        return case(
            (
                func.jsonb_typeof(self._node(doc, path)) == "number",
                cast(self.json_text(doc, path), Float),
            ),
            else_=None,
        )

    def json_equals(
        self, doc: ColumnElement[Any], path: JsonPath, value: Any
    ) -> ColumnElement[bool]:
        node = self._node(doc, path) if path else self._jsonb(doc)
        return node == literal(value, JSONB)

    def json_in(
        self, doc: ColumnElement[Any], path: JsonPath, values: list[Any]
    ) -> ColumnElement[bool]:
        kind = func.jsonb_typeof(self._node(doc, path))
        text = self.json_text(doc, path)
        strings, numbers, booleans = _by_type(values)
        return or_(
            false(),
            *([and_(kind == "string", self.is_in(text, strings))] if strings else []),
            *([self.is_in(self.json_number(doc, path), numbers)] if numbers else []),
            *(
                [and_(kind == "boolean", text.in_([str(b).lower() for b in booleans]))]
                if booleans
                else []
            ),
        )

    def is_in(self, expression: ColumnElement[Any], values: list[Any]) -> ColumnElement[bool]:
        # One array parameter, not one parameter per value: PostgreSQL takes 65,535 at most.
        return any_of(expression, values)

    def among(self, expression: ColumnElement[Any], values: Sequence[Any]) -> ColumnElement[bool]:
        return any_of(expression, values)

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

    def _find(self, haystack: ColumnElement[str], needle: ColumnElement[str]) -> ColumnElement[int]:
        return func.strpos(haystack, needle)


def any_of(expression: ColumnElement[Any], values: Sequence[Any]) -> ColumnElement[bool]:
    """expression = ANY(one array parameter) (PostgreSQL, DuckDB): values of one type."""
    if all(isinstance(v, str) for v in values):
        kind: Any = String()
    elif all(isinstance(v, bool) for v in values):
        kind = Boolean()
    elif all(isinstance(v, int) for v in values):
        kind = BigInteger()
    else:
        kind = Float()
    return expression == any_(literal(list(values), ARRAY(kind)))


def _sqlite_path(path: JsonPath) -> str:
    return "$" + "".join(f'."{key}"' for key in path)


class SqliteSql(Sql):
    name = "sqlite"

    def among(self, expression: ColumnElement[Any], values: Sequence[Any]) -> ColumnElement[bool]:
        # One JSON array parameter: SQLite binds at most 32,766 values to a statement.
        listed = func.json_each(literal(msgspec.json.encode(list(values)).decode(), String()))
        return expression.in_(select(listed.table_valued("value").c.value))

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
        return self._equal_at(doc, _sqlite_path(path), value)

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

    def _equal_at(self, doc: ColumnElement[Any], where: str, value: Any) -> ColumnElement[bool]:
        """jsonb's `=`: arrays equal element by element in order, objects key by key."""
        kind = func.json_type(doc, where)
        if isinstance(value, list):
            items = [self._equal_at(doc, f"{where}[{i}]", item) for i, item in enumerate(value)]
            length = func.json_array_length(doc, where) == len(value)
            return and_(kind == "array", length, *items)
        if isinstance(value, dict):
            element = self._elements(doc, where)
            size = select(func.count()).select_from(element).correlate_except(element)
            keys = [self._equal_at(doc, self._child(where, k), v) for k, v in value.items()]
            return and_(kind == "object", size.scalar_subquery() == len(value), *keys)
        return self._scalar_at(doc, where, value)

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

    # Containment compares the scalars of a value all at once, through json_each over the value
    # itself (sent as one JSON parameter), so a value with a thousand keys is one subquery, not
    # a thousand-deep expression that SQLite's parser refuses. Nested objects and arrays (few:
    # filters.check_json_value bounds them) recurse.

    @staticmethod
    def _same(stored: Any, wanted: Any) -> ColumnElement[bool]:
        """Two json_each rows hold equal scalars (1 equals 1.0, as in jsonb)."""
        numbers = ("integer", "real")
        return and_(
            stored.c.atom.is_not_distinct_from(wanted.c.atom),
            or_(
                stored.c.type == wanted.c.type,
                and_(stored.c.type.in_(numbers), wanted.c.type.in_(numbers)),
            ),
        )

    def _wanted(self, scalars: Any) -> Any:
        return (
            func.json_each(literal(msgspec.json.encode(scalars).decode()))
            .table_valued("key", "type", "atom")
            .alias()
        )

    def _stored(self, doc: ColumnElement[Any], where: Any) -> Any:
        return func.json_each(doc, where).table_valued("key", "fullkey", "type", "atom").alias()

    def _scalar_match(
        self, stored: Any, keyed: bool, children: list[tuple[str | None, Any]]
    ) -> tuple[Any, ColumnElement[bool]] | None:
        """(the json_each of the value's scalar children, the condition pairing one with a
        stored element: equal, and under the same key in an object), or None without any."""
        scalars = [(k, v) for k, v in children if not isinstance(v, (dict, list))]
        if not scalars:
            return None
        wanted = self._wanted(dict(scalars) if keyed else [v for _, v in scalars])
        key = [stored.c.key == wanted.c.key] if keyed else []
        return wanted, and_(self._same(stored, wanted), *key)

    def _contains(self, doc: ColumnElement[Any], where: Any, value: Any) -> ColumnElement[bool]:
        if not isinstance(value, (dict, list)):
            return self._scalar_at(doc, where, value)
        keyed = isinstance(value, dict)
        children = _children(value)
        parts = [func.json_type(doc, where) == ("object" if keyed else "array")]
        stored = self._stored(doc, where)
        if (scalars := self._scalar_match(stored, keyed, children)) is not None:
            wanted, match = scalars
            # No wanted scalar lacks a stored element matching it.
            parts.append(not_(self._any(wanted, not_(self._any(stored, match)))))
        for key, item in children:
            if not isinstance(item, (dict, list)):
                continue
            if keyed:
                parts.append(self._contains(doc, self._child(where, str(key)), item))
            else:
                element = self._stored(doc, where)
                parts.append(self._any(element, self._contains(doc, element.c.fullkey, item)))
        return and_(*parts)

    def _contained_by(self, doc: ColumnElement[Any], where: Any, value: Any) -> ColumnElement[bool]:
        if not isinstance(value, (dict, list)):
            return self._scalar_at(doc, where, value)
        keyed = isinstance(value, dict)
        children = _children(value)
        stored = self._stored(doc, where)
        allowed = []
        if (scalars := self._scalar_match(stored, keyed, children)) is not None:
            wanted, match = scalars
            allowed.append(self._any(wanted, match))
        for key, item in children:
            if isinstance(item, (dict, list)):
                inside = self._contained_by(doc, stored.c.fullkey, item)
                allowed.append(and_(stored.c.key == key, inside) if keyed else inside)
        # No stored element that the value does not allow.
        stray = self._any(stored, not_(or_(false(), *allowed)))
        kind = func.json_type(doc, where) == ("object" if keyed else "array")
        return and_(kind, not_(stray))

    def json_in(
        self, doc: ColumnElement[Any], path: JsonPath, values: list[Any]
    ) -> ColumnElement[bool]:
        where = _sqlite_path(path)
        kind = func.json_type(doc, where)
        extracted = func.json_extract(doc, where)
        strings, numbers, booleans = _by_type(values)
        return or_(
            false(),
            *([and_(kind == "text", extracted.in_(strings))] if strings else []),
            *([and_(kind.in_(("integer", "real")), extracted.in_(numbers))] if numbers else []),
            *([kind.in_(["true" if b else "false" for b in booleans])] if booleans else []),
        )


def _children(value: dict[str, Any] | list[Any]) -> list[tuple[str | None, Any]]:
    """(key, child) of an object, (None, element) of an array."""
    if isinstance(value, dict):
        return list(value.items())
    return [(None, item) for item in value]


def _by_type(values: list[Any]) -> tuple[list[str], list[int | float], list[bool]]:
    strings = [v for v in values if isinstance(v, str)]
    booleans = [v for v in values if isinstance(v, bool)]
    numbers = [v for v in values if isinstance(v, (int, float)) and not isinstance(v, bool)]
    return strings, numbers, booleans
