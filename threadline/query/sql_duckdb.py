"""The compiler's SQL for the columnar copy (DuckDB, threadline.analytics).

DuckDB reads JSON with json_type / json_extract_string and JSON Pointer paths ('/a/b', where
'~' and '/' inside a key are escaped), which take any key as it is. What is spelled out here
answers exactly as the SQLite and PostgreSQL spellings do: tests/query runs every query on
all of them. The rarer operators whose jsonb semantics DuckDB has no faithful spelling for
here (containment of arrays, `containedBy`, equality of whole objects and arrays) raise
NotColumnar, and the query runs on the primary store instead (api.reads.analytic_read).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Float,
    Select,
    String,
    and_,
    case,
    cast,
    false,
    func,
    literal,
    or_,
    select,
    union_all,
)

from threadline.query.counts import USER_KEY, user_counts_table
from threadline.query.sql import MICROS, JsonPath, Sql, _by_type, any_of
from threadline.store.tables import events
from threadline.timestamps import MONDAY_US

if TYPE_CHECKING:
    from threadline.analytics.shred import Shredded

_NUMBERS = ("BIGINT", "UBIGINT", "HUGEINT", "DOUBLE")


def _floor_div(left: ColumnElement[Any], right: ColumnElement[Any]) -> ColumnElement[Any]:
    """Integer division rounding down (DuckDB's `/` on integers gives a DOUBLE). Bound as
    tightly as `*`, so SQLAlchemy parenthesises a sum on either side."""
    return left.op("//", precedence=8)(right)


class NotColumnar(Exception):
    """This query needs an operator the columnar copy does not answer exactly."""


def _array_index(key: str) -> bool:
    """Whether a JSON Pointer step of this text could select an array element in DuckDB (its
    digits, with a sign or leading zeros kept to be safe, or '-')."""
    return key == "-" or key.lstrip("-+").isdigit()


def _pointer(path: JsonPath) -> str:
    return "".join("/" + key.replace("~", "~0").replace("/", "~1") for key in path)


class DuckDbSql(Sql):
    name = "duckdb"

    def __init__(
        self,
        shredded: Shredded | None = None,
        *,
        event_counts: bool = False,
        kept_searches: bool = False,
    ) -> None:
        self.shredded = shredded
        self.event_counts = event_counts
        self.kept_searches = kept_searches
        found = shredded.lookup(events.c.user_properties, USER_KEY) if shredded else None
        if event_counts and found is not None:
            self.user_counts = user_counts_table(found[1].name, found[0].name)

    def among(self, expression: ColumnElement[Any], values: Sequence[Any]) -> ColumnElement[bool]:
        # One list parameter: DuckDB takes thousands of bound values 5-8x slower (8,000 seqs of
        # a search's filter check: ~130 against ~17 ms of CPU).
        return any_of(expression, values)

    def _shredded(self, doc: ColumnElement[Any], path: JsonPath) -> tuple[Any, Any] | None:
        """The copy's own columns for a top-level key, if it has them (analytics.shred)."""
        if self.shredded is None or len(path) != 1:
            return None
        return self.shredded.lookup(doc, path[0])

    def _type(self, doc: ColumnElement[Any], path: JsonPath) -> ColumnElement[str]:
        if not path:
            return func.json_type(doc, type_=String)
        if shredded := self._shredded(doc, path):
            return shredded[1]  # type: ignore[no-any-return]
        return func.json_type(doc, _pointer(path), type_=String)

    def json_text(self, doc: ColumnElement[Any], path: JsonPath) -> ColumnElement[str]:
        if shredded := self._shredded(doc, path):
            return shredded[0]  # type: ignore[no-any-return]
        return func.json_extract_string(doc, _pointer(path), type_=String)

    def json_number(self, doc: ColumnElement[Any], path: JsonPath) -> ColumnElement[float]:
        return case(
            (self._type(doc, path).in_(_NUMBERS), cast(self.json_text(doc, path), Float)),
            else_=None,
        )

    def _scalar(self, doc: ColumnElement[Any], path: JsonPath, value: Any) -> ColumnElement[bool]:
        kind = self._type(doc, path)
        if value is None:
            return kind == "NULL"
        if isinstance(value, bool):
            return and_(kind == "BOOLEAN", self.json_text(doc, path) == str(value).lower())
        if isinstance(value, (int, float)):
            # FALSE, not NULL, for a string: neq negates it.
            return and_(kind.in_(_NUMBERS), self.json_number(doc, path) == float(value))
        if isinstance(value, str):
            return and_(kind == "VARCHAR", self.json_text(doc, path) == value)
        raise NotColumnar("equality of JSON objects and arrays")

    def json_equals(
        self, doc: ColumnElement[Any], path: JsonPath, value: Any
    ) -> ColumnElement[bool]:
        return self._scalar(doc, path, value)

    def json_in(
        self, doc: ColumnElement[Any], path: JsonPath, values: list[Any]
    ) -> ColumnElement[bool]:
        kind = self._type(doc, path)
        text = self.json_text(doc, path)
        strings, numbers, booleans = _by_type(values)
        return or_(
            false(),
            *([and_(kind == "VARCHAR", text.in_(strings))] if strings else []),
            *([self.json_number(doc, path).in_([float(n) for n in numbers])] if numbers else []),
            *(
                [and_(kind == "BOOLEAN", text.in_([str(b).lower() for b in booleans]))]
                if booleans
                else []
            ),
        )

    def contains(self, doc: ColumnElement[Any], path: JsonPath, value: Any) -> ColumnElement[bool]:
        if isinstance(value, list):
            raise NotColumnar("containment of JSON arrays")
        if not isinstance(value, dict):
            return self._scalar(doc, path, value)
        # An object contains another when it has each of its keys, with a value containing
        # the wanted one: {"userId": "u1"}, the common case, is one equality.
        keys = [self.contains(doc, [*path, str(key)], item) for key, item in value.items()]
        if any(not _array_index(str(key)) for key in value):
            # Each key's test requires its JSON type, found only in an object for a key no
            # array index spells: the object test is implied, and at the top level it would
            # parse every document where the key's test reads a shredded column (1 s of the
            # most active user's events at 10M: docs/performance.md).
            return and_(*keys)
        return and_(self._type(doc, path) == "OBJECT", *keys)

    def contained_by(self, doc: ColumnElement[Any], value: Any) -> ColumnElement[bool]:
        raise NotColumnar("JSON containment")

    def has_key(self, doc: ColumnElement[Any], key: str) -> ColumnElement[bool]:
        if shredded := self._shredded(doc, [key]):
            return shredded[1].is_not(None)  # type: ignore[no-any-return] # only objects have keys
        return and_(self._type(doc, []) == "OBJECT", self._type(doc, [key]).is_not(None))

    def object_keys(
        self, doc: ColumnElement[Any], source: Any, where: Sequence[ColumnElement[bool]]
    ) -> Select[Any]:
        shredded = self.shredded.all_keys(doc) if self.shredded is not None else None
        if shredded is not None:
            return self._shredded_keys(doc, source, where, *shredded)
        keys = (
            select(func.unnest(func.json_keys(doc)).label("key"))
            .select_from(source)
            .where(*where, self._type(doc, []) == "OBJECT")
            .subquery()
        )
        # DuckDB compares strings byte by byte: UTF-8 order is code-point order.
        return select(keys.c.key).group_by(keys.c.key).order_by(keys.c.key)

    def _shredded_keys(
        self,
        doc: ColumnElement[Any],
        source: Any,
        where: Sequence[ColumnElement[bool]],
        kinds: list[tuple[str, Any]],
        rest: Any,
    ) -> Select[Any]:
        """The keys in use, from the shredded columns (a shredded key is in use where its type
        is not NULL) and by parsing only the documents that have other keys too."""
        in_use = [
            select(literal(key, String).label("key"))
            .select_from(source)
            .where(*where, kind.is_not(None))
            .limit(1)
            .subquery()
            for key, kind in kinds
        ]
        others = (
            select(func.unnest(func.json_keys(doc)).label("key"))
            .select_from(source)
            .where(*where, rest)
            .subquery()
        )
        keys = union_all(*(select(q.c.key) for q in in_use), select(others.c.key)).subquery()
        # DuckDB compares strings byte by byte: UTF-8 order is code-point order.
        return select(keys.c.key).group_by(keys.c.key).order_by(keys.c.key)

    def month(self, micros: ColumnElement[int]) -> ColumnElement[int]:
        start = func.date_trunc("month", func.make_timestamp(cast(micros, BigInteger)))
        return func.epoch_us(start, type_=BigInteger)

    def bucket(self, micros: ColumnElement[int], unit: str) -> ColumnElement[int]:
        # DuckDB's `/` divides as a float; `//` is its integer division.
        if unit == "month":
            return self.month(micros)
        size = literal(MICROS[unit], BigInteger)
        if unit == "week":
            offset = literal(MONDAY_US, BigInteger)
            return _floor_div(micros - offset, size) * size + offset
        return _floor_div(micros, size) * size
