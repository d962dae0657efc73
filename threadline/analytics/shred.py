"""Shredding: the common top-level keys of `properties` and `userProperties`, stored in the copy
as columns of their own, so queries on them read a compressed column instead of parsing JSON.

Parsing JSON is what bounds the copy's queries: DuckDB takes ~150 ms to pull one key out of a
million documents, and a filter, a group-by or a distinct count on a property does that on
every row (docs/performance.md). For each shredded key the copy keeps two columns, filled while
rows are loaded (one parse of the document for all texts, one for all types):

    <column>__s<i>  json_extract_string(document, '/<key>')   the key's value as text
    <column>__t<i>  json_type(document, '/<key>')             its JSON type

They hold exactly what those functions return, so query.sql_duckdb answers from them and from
the document alike; keys that were not shredded (rare ones, or new since the copy was built)
are read from the document. Which keys: those on at least 1% of a sample of the newest rows,
the MAX_KEYS most frequent, chosen when the copy is built.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from typing import Any

import msgspec
from sqlalchemy import Boolean, Column, ColumnElement, Connection, Text, cast, column, select
from sqlalchemy.sql.selectable import Alias

from threadline.analytics.schema import MIRRORED

SHREDDABLE = ("properties", "user_properties")
MAX_KEYS = 24
SAMPLE_ROWS = 20_000
MIN_SHARE = 0.01


def _pointer(key: str) -> str:
    return "/" + key.replace("~", "~0").replace("/", "~1")


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


@dataclasses.dataclass(frozen=True)
class Shredded:
    """Which keys of which JSON columns have columns of their own."""

    keys: dict[str, dict[str, tuple[str, ...]]] = dataclasses.field(default_factory=dict)

    def encode(self) -> str:
        return msgspec.json.encode(self.keys).decode()

    @classmethod
    def decode(cls, text: str) -> Shredded:
        raw = msgspec.json.decode(text, type=dict[str, dict[str, list[str]]])
        return cls({t: {c: tuple(k) for c, k in cols.items()} for t, cols in raw.items()})

    def _columns(self, table: str, row: str) -> list[tuple[str, str, str]]:
        """(name, DuckDB type, SQL filling it from `row`) of each shredded column of `table`.
        `row` has `<column>__str` and `<column>__typ`, lists of the shredded keys' texts and
        JSON types, from one parse of the document each (extractions())."""
        columns = []
        for source, keys in self.keys.get(table, {}).items():
            for i in range(len(keys)):
                columns.append((f"{source}__s{i}", "VARCHAR", f"{row}.{source}__str[{i + 1}]"))
                columns.append((f"{source}__t{i}", "VARCHAR", f"{row}.{source}__typ[{i + 1}]"))
            # Whether the document has keys without columns: only those rows are parsed when
            # a query lists the keys in use (property discovery). More keys than shredded ones
            # present (a JSON type is NULL only for a missing key); a document repeating a key
            # is counted as having others, which only costs parsing it there.
            present = f"list_filter({row}.{source}__typ, lambda t: t IS NOT NULL)"
            others = f"len(json_keys({row}.{source})) > len({present})"
            columns.append((f"{source}__rest", "BOOLEAN", f"coalesce({others}, false)"))
        return columns

    def columns(self, table: str) -> list[tuple[str, str]]:
        """(name, DuckDB type) of the shredded columns of `table`, in table order."""
        return [(name, kind) for name, kind, _ in self._columns(table, "r")]

    def expressions(self, table: str, row: str) -> list[str]:
        """SQL filling columns(table) from `row` (see _columns)."""
        return [sql for _, _, sql in self._columns(table, row)]

    def extractions(self, table: str) -> list[str]:
        """SQL for the `<column>__str` and `<column>__typ` lists that expressions() reads:
        json_extract_string and json_type with a list of paths parse the document once each
        and answer what they answer for each path alone (half the build's time went to
        parsing each key's value again, docs/performance.md)."""
        found = []
        for source, keys in self.keys.get(table, {}).items():
            paths = ", ".join(_quote(_pointer(k)) for k in keys)
            found.append(f"json_extract_string({source}, [{paths}]) AS {source}__str")
            found.append(f"json_type({source}, [{paths}]) AS {source}__typ")
        return found

    def lacks(self, other: Shredded) -> bool:
        """Whether `other` has a key this one has no columns for."""
        return any(
            set(keys) - set(self.keys.get(table, {}).get(source, ()))
            for table, sources in other.keys.items()
            for source, keys in sources.items()
        )

    def _keys_of(self, doc: ColumnElement[Any]) -> tuple[str, ...]:
        if not isinstance(doc, Column) or doc.table is None:
            return ()
        base = doc.table.element if isinstance(doc.table, Alias) else doc.table
        return self.keys.get(getattr(base, "name", ""), {}).get(doc.name, ())

    def lookup(self, doc: ColumnElement[Any], key: str) -> tuple[Any, Any] | None:
        """(text column, type column) for `key` of the JSON column `doc`, if shredded."""
        keys = self._keys_of(doc)
        if key not in keys:
            return None
        i = keys.index(key)
        text = column(f"{doc.name}__s{i}", Text, _selectable=doc.table)
        kind = column(f"{doc.name}__t{i}", Text, _selectable=doc.table)
        return text, kind

    def all_keys(self, doc: ColumnElement[Any]) -> tuple[list[tuple[str, Any]], Any] | None:
        """((key, type column) of each shredded key, the column saying whether a row has other
        keys) for the JSON column `doc`; None if it is not shredded."""
        keys = self._keys_of(doc)
        if not keys:
            return None
        table = doc.table
        kinds = [
            (key, column(f"{doc.name}__t{i}", Text, _selectable=table))
            for i, key in enumerate(keys)
        ]
        return kinds, column(f"{doc.name}__rest", Boolean, _selectable=table)


def discover(primary: Connection, min_share: float = MIN_SHARE) -> Shredded:
    """The keys worth shredding: on at least min_share of the newest rows of each table."""
    found: dict[str, dict[str, tuple[str, ...]]] = {}
    for table in MIRRORED:
        name = table.name
        sources = [c for c in SHREDDABLE if c in table.c]
        if not sources:
            continue
        rows = primary.execute(
            select(*(cast(table.c[c], Text) for c in sources))
            .order_by(table.c.seq.desc())
            .limit(SAMPLE_ROWS)
        ).all()
        for i, source in enumerate(sources):
            counts: Counter[str] = Counter()
            for row in rows:
                if row[i] is None:
                    continue
                document = msgspec.json.decode(row[i])
                if isinstance(document, dict):
                    counts.update(document.keys())
            least = max(1, int(len(rows) * min_share))
            keys = [k for k, n in counts.most_common(MAX_KEYS) if n >= least]
            if keys:
                found.setdefault(name, {})[source] = tuple(sorted(keys))
    return Shredded(found)
