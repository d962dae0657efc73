"""A query request (wire.query) -> one SQLAlchemy Select over one view of one project.

Result keys follow reference §7.6: `field`, `field.path`, `<agg>`, `<agg>_<field>[.path]`,
`<field>_<unit>`. A query is *grouped* when it has an aggregation, a time bucket or a groupBy:
then every non-aggregate output is a group key, so `select type, count` counts per type.
Grouped queries select from a subquery that computes every expression once, so GROUP BY and
ORDER BY name plain columns (PostgreSQL refuses to match two copies of an expression whose
parameters were bound separately).
"""

from __future__ import annotations

import dataclasses
import decimal
import functools
from collections.abc import Callable, Sequence
from typing import Any

import msgspec
from msgspec import UNSET
from sqlalchemy import Case, Column, ColumnElement, Select, case, false, func, or_, select, true

from threadline.errors import BadRequest, Unprocessable
from threadline.query.catalogue import Field, Kind, View
from threadline.query.counts import (
    counting_table,
    counts_rows_only,
    narrowest,
    on_counts,
    reads_only,
)
from threadline.query.filters import FilterCompiler, refuse
from threadline.query.sql import Sql
from threadline.timestamps import to_iso
from threadline.wire.query import TIME_UNITS

# Runs a statement listing JSON keys; None when there are too many to make columns of.
KeysOf = Callable[[Select[Any]], list[str] | None]

PAGE_SIZE = 1000
MAX_SELECT = 50
MAX_ORDER_BY = 10


@dataclasses.dataclass
class Output:
    key: str
    expression: ColumnElement[Any]
    render: Callable[[Any], Any]
    aggregation: str | None = None  # sum, count, ...: the expression is its argument
    omit_null: bool = False  # the SDK types this key never-null: leave it out instead
    kind: Kind | None = None  # the field's kind, for plain field outputs
    bucket: bool = False  # a time bucket: grouped on, and ordered by first
    # A whole JSON object an export may spread over one column per key (mode "unpack", §7.2).
    unpack: Field | None = None


def _time(value: Any) -> Any:
    return None if value is None else to_iso(int(value))


def _number(value: Any) -> Any:
    if isinstance(value, decimal.Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    return value


def _float(value: Any) -> Any:
    return None if value is None else float(value)


def _int(value: Any) -> Any:
    return None if value is None else int(value)


def _millis(value: Any) -> Any:
    # min/max of a time field: a number, as the SDK types every aggregate (epoch milliseconds).
    return None if value is None else int(value) // 1000


def _bool(value: Any) -> Any:
    return None if value is None else bool(value)


def _as_is(value: Any) -> Any:
    return value


def _strings(value: Any) -> Any:
    """Events' properties are typed {string: string} in the SDK (§7.9): encode other values."""
    if not isinstance(value, dict):
        return value
    # A null value is left out: the SDK takes strings only, and "null" would be a string.
    return {
        key: item if isinstance(item, str) else msgspec.json.encode(item).decode()
        for key, item in value.items()
        if item is not None
    }


def normalize_json_text(value: Any) -> Any:
    """Text read from a JSON path; nested objects and arrays are minified the same way on both
    backends (PostgreSQL's jsonb text puts spaces after separators)."""
    if isinstance(value, str) and value[:1] in ("{", "["):
        try:
            return msgspec.json.encode(msgspec.json.decode(value)).decode()
        except msgspec.DecodeError:
            return value
    return value


RENDER_BY_KIND: dict[Kind, Callable[[Any], Any]] = {
    Kind.STRING: _as_is,
    Kind.NUMBER: _number,
    Kind.TIME: _time,
    Kind.BOOLEAN: _bool,
    Kind.OBJECT: _as_is,
    Kind.ARRAY: _as_is,
}
_AGGREGATE: dict[str, Callable[[ColumnElement[Any]], ColumnElement[Any]]] = {
    "sum": func.sum,
    "avg": func.avg,
    "min": func.min,
    "max": func.max,
    "count": func.count,
    "countDistinct": lambda column: func.count(column.distinct()),
}


@dataclasses.dataclass
class CompiledQuery:
    view: View
    outputs: list[Output]  # in result order; the rest of the Select's columns are hidden
    statement: Select[Any]  # ordered, not paged
    unordered: Select[Any]
    # For rows that need a join only for some output columns: (the view's table, its
    # conditions, its order). A page is then chosen on that table alone and only its rows
    # joined, and counted without the join (which keeps the row count: it is to one row at
    # most). DuckDB would otherwise join all ten million rows before taking the first page.
    narrow: tuple[Any, list[Any], list[Any]] | None = None
    # The same rows as (quarter-hour start `c0`, how many `weight`), from the columnar copy's
    # rollup of event counts (query.counts), when it can count them.
    counted: Select[Any] | None = None

    def count_statement(self) -> Select[Any]:
        if self.counted is not None:
            weights = self.counted.subquery()
            return select(func.coalesce(func.sum(weights.c.weight), 0))
        if self.narrow is not None:
            table, where, _ = self.narrow
            return select(func.count()).select_from(table).where(*where)
        return select(func.count()).select_from(self.unordered.subquery())

    def page(self, limit: int, offset: int = 0) -> Select[Any]:
        """The statement for `limit` rows from `offset`."""
        if self.narrow is None:
            return self.statement.limit(limit).offset(offset)
        table, where, order = self.narrow
        keys = (
            select(table.c.seq.label("page_seq"))
            .where(*where)
            .order_by(*order)
            .limit(limit)
            .offset(offset)
            .subquery("page_keys")
        )
        return self.statement.where(table.c.seq == keys.c.page_seq)

    @functools.cached_property
    def _rendering(self) -> list[tuple[str, Callable[[Any], Any] | None, bool]]:
        """(key, render or None for a value kept as it is, omit_null) of each output."""
        return [
            (o.key, None if o.render is _as_is else o.render, o.omit_null) for o in self.outputs
        ]

    def render(self, row: Any) -> dict[str, Any]:
        # Per value of up to 1,000 rows a page: no call where the value is kept as it is.
        out: dict[str, Any] = {}
        for (key, render, omit_null), value in zip(self._rendering, row, strict=False):
            if render is not None:
                value = render(value)
            if value is None and omit_null:
                continue
            out[key] = value
        return out


class QueryCompiler:
    """Compiles one request body against one view, for one project."""

    def __init__(
        self,
        view: View,
        sql: Sql,
        body: Any,
        project_id: str,
        ranking: Sequence[Any] | None = None,
    ) -> None:
        self.view = view
        self.sql = sql
        self.body = body
        self.filters = FilterCompiler(view, sql, project_id)
        conditions = [view.project_id == project_id]
        if body.where not in (UNSET, None):
            conditions.append(self.filters.compile(body.where))
        search = getattr(body, "query", UNSET)
        self.ranking = None
        if ranking is not None:
            # Semantic threads' `query` (§7.1), ranked by meaning beforehand (query.semantic):
            # the threads it found, most similar first unless the body orders otherwise (and a
            # conversation text search's page, best match first).
            self.ranking = list(ranking)
            among = sql.among(view.ranking_key, self.ranking) if self.ranking else false()
            conditions.append(among)
        elif search not in (UNSET, None) and search.strip():
            # Without a ranking (no embeddings to compare): a case-blind substring search.
            text = search.strip().lower()
            conditions.append(
                or_(*[func.lower(c).contains(text, autoescape=True) for c in view.searchable])
            )
        self.where = conditions
        self.joined = any(view.field(name).joined for name in self.filters.fields_used)

    # -- outputs -----------------------------------------------------------------------------

    def field_output(self, field: Field, path: Any, mode: Any, where: str) -> Output:
        if path is UNSET:
            render = _strings if field.string_values else RENDER_BY_KIND[field.kind]
            unpack = field if field.kind is Kind.OBJECT and mode != "json" else None
            return Output(
                field.name,
                field.expression,
                render,
                omit_null=not field.nullable,
                kind=field.kind,
                unpack=unpack,
            )
        self._json_path(field, where)
        if mode == "json":
            raise refuse(BadRequest, f"{where}.mode", '"json" cannot be combined with a path')
        key = ".".join([field.name, *path])
        return Output(
            key, self.sql.json_text(field.expression, path), normalize_json_text, kind=Kind.STRING
        )

    def _json_path(self, field: Field, where: str) -> None:
        if not field.kind.is_json:
            raise refuse(
                Unprocessable,
                f"{where}.path",
                f"{field.name} is a {field.kind.value} field; paths apply to JSON fields",
            )

    def aggregation_output(self, selection: Any, where: str) -> Output:
        name = selection.aggregation
        if selection.field is UNSET:
            if selection.path is not UNSET:
                raise refuse(BadRequest, f"{where}.path", "needs a field")
            if name != "count":
                raise refuse(Unprocessable, f"{where}.field", f"{name!r} needs a field")
            return Output("count", true(), _int, aggregation="count")
        field = self.view.field(selection.field)
        self._note_field(field)
        key = f"{name}_{field.name}"
        expression = field.expression
        kind = field.kind
        if selection.path is not UNSET:
            self._json_path(field, where)
            key = ".".join([key, *selection.path])
            numeric = name in ("sum", "avg", "min", "max")
            expression = (
                self.sql.json_number(field.expression, selection.path)
                if numeric
                else self.sql.json_text(field.expression, selection.path)
            )
            kind = Kind.NUMBER if numeric else Kind.STRING
        if name in ("count", "countDistinct"):
            return Output(key, expression, _int, aggregation=name)
        render = _aggregate_render(name, kind, field, where)
        if kind is Kind.BOOLEAN:  # sum/avg of a boolean: how many are true, what share
            expression = _boolean_as_number(expression)
        # Over no values, sum/avg/min/max are null; the SDK takes a number or no key (§7.6).
        return Output(key, expression, render, aggregation=name, omit_null=True)

    def time_output(self, selection: Any, where: str) -> Output:
        field = self.view.field(
            self.view.default_time if selection.field is UNSET else selection.field
        )
        self._note_field(field)
        if field.kind is not Kind.TIME:
            raise refuse(
                Unprocessable,
                f"{where}.field",
                f"{field.name} is not a time field; time buckets need one",
            )
        key = f"{field.name}_{selection.timeUnit}"
        expression = self.sql.bucket(field.expression, selection.timeUnit)
        return Output(key, expression, _time, kind=Kind.TIME, bucket=True)

    def _note_field(self, field: Field) -> None:
        self.joined = self.joined or field.joined

    def outputs(self) -> tuple[list[Output], list[Output], bool]:
        """(outputs in result order, group-only outputs, whether the query is grouped)."""
        selections = [] if self.body.select in (UNSET, None) else self.body.select
        group_by = [] if self.body.groupBy in (UNSET, None) else self.body.groupBy
        if len(selections) > MAX_SELECT:
            raise refuse(BadRequest, "$.select", f"at most {MAX_SELECT} selections")
        outputs: list[Output] = []
        for i, selection in enumerate(selections):
            where = f"$.select[{i}]"
            kind = type(selection).__name__
            if kind.endswith("FieldSelection"):
                field = self.view.field(selection.field)
                self._note_field(field)
                output = self.field_output(field, selection.path, selection.mode, where)
            elif kind.endswith("AggregationSelection"):
                output = self.aggregation_output(selection, where)
            else:
                output = self.time_output(selection, where)
            outputs.append(output)
        grouped = bool(group_by) or any(o.aggregation or o.bucket for o in outputs)
        group_only: list[Output] = []
        for i, entry in enumerate(group_by):
            field = self.view.field(entry.field)
            self._note_field(field)
            output = self.field_output(field, entry.path, UNSET, f"$.groupBy[{i}]")
            (outputs if entry.includeInSelect else group_only).append(output)
        if not outputs and grouped:
            raise refuse(
                Unprocessable,
                "$.select",
                "the query returns no column: select something, or group by a field with "
                "includeInSelect true",
            )
        if not outputs:
            outputs = [
                self.field_output(field, UNSET, UNSET, "$") for field in self.view.fields.values()
            ]
            self.joined = self.joined or any(f.joined for f in self.view.fields.values())
        return _unique(outputs), _unique(group_only), grouped

    # -- the statement -----------------------------------------------------------------------

    def compile(self, keys_of: KeysOf | None = None) -> CompiledQuery:
        """The query; with `keys_of` (exports), whole JSON objects become a column per key."""
        outputs, group_only, grouped = self.outputs()
        if keys_of is not None:
            outputs = _unique([o for output in outputs for o in self._unpack(output, keys_of)])
        if grouped:
            return self._groups(outputs, group_only)
        return self._rows(outputs)

    def object_keys(self, field: Field) -> Select[Any]:
        """The distinct top-level keys of a JSON field over the rows this query matches."""
        return self.sql.object_keys(field.expression, self._source(), self.where)

    def key_values(self, field: Field, key: str) -> Select[Any]:
        """Each distinct value (as text) of one key of a JSON field over the rows this query
        matches, with how many rows hold it: columns `value`, `rows`."""
        text = self.sql.json_text(field.expression, [key]).label("value")
        inner = select(text).select_from(self._source()).where(*self.where).subquery()
        return (
            select(inner.c.value, func.count().label("rows"))
            .where(inner.c.value.is_not(None))
            .group_by(inner.c.value)
        )

    def _unpack(self, output: Output, keys_of: KeysOf) -> list[Output]:
        if output.unpack is None:
            return [output]
        keys = keys_of(self.object_keys(output.unpack))
        if not keys:  # none, or too many for columns: the object stays one JSON column
            return [output]
        return [self.field_output(output.unpack, [key], UNSET, "$") for key in keys]

    def _source(self) -> Any:
        return self.view.joined_table if self.joined else self.view.table

    def _rows(self, outputs: list[Output]) -> CompiledQuery:
        columns = [o.expression.label(f"c{i}") for i, o in enumerate(outputs)]
        by_key = {o.key: (o, column) for o, column in zip(outputs, columns, strict=True)}
        order, order_expressions = [], []
        for i, entry in enumerate(self._order_entries()):
            if entry.field in by_key:
                output, column = by_key[entry.field]
                expression = self._ordered(column, output.kind)
                bare = self._ordered(output.expression, output.kind)
            else:
                expression = bare = self._row_order(entry.field, f"$.orderBy[{i}].field")
            order.append(_direction(expression, entry.direction))
            order_expressions.append(_direction(bare, entry.direction))
        if not order and self.ranking:
            order.append(self.sql.position(self.view.ranking_key, self.ranking).asc())
            order_expressions.append(order[-1])
        if not order:
            default = self.view.field(self.view.default_time).expression
            # A NOT NULL column needs no NULLS LAST, which would keep PostgreSQL from reading
            # its (project_id, created_at) index backwards (docs/performance.md).
            never_null = isinstance(default, Column) and not default.nullable
            order.append(default.desc() if never_null else default.desc().nulls_last())
            order_expressions.append(order[-1])
        order.append(self.sql.ordered(self.view.row_id).desc())
        order_expressions.append(order[-1])
        base = select(*columns).select_from(self._source()).where(*self.where)
        table = self.view.table
        narrow = None
        if self.joined and all(_only_on(e, table) for e in [*self.where, *order_expressions]):
            narrow = (table, self.where, order_expressions)
        counted = None
        if (counts := self._counting(self.where, grouped=False)) is not None:
            counted = select(
                counts.c.created_at.label("c0"), counts.c.events.label("weight")
            ).where(*[on_counts(condition, counts) for condition in self.where])
        return CompiledQuery(self.view, outputs, base.order_by(*order), base, narrow, counted)

    def _counting(self, reads: list[ColumnElement[Any]], *, grouped: bool) -> Any:
        """The rollup of event counts that can answer, if any (query.counts); `reads` are the
        query's conditions and groups."""
        if not self.sql.event_counts or self.view.name != "events" or self.ranking is not None:
            return None
        found = counting_table(self.body, grouped=grouped)
        if found is not None:
            found = narrowest(found, reads)
        users = self.sql.user_counts
        if (
            found is None
            and users is not None
            and counts_rows_only(self.body, grouped=grouped)
            and all(reads_only(condition, users) for condition in self.where)
        ):
            return users
        return found

    def _row_order(self, key: str, where: str) -> ColumnElement[Any]:
        """An orderBy key that is not a result column: a field, or a field's time bucket."""
        name, _, unit = key.rpartition("_")
        field = self.view.fields.get(key)
        if field is None and unit in TIME_UNITS and name in self.view.fields:
            field = self.view.fields[name]
            if field.kind is not Kind.TIME:
                raise refuse(Unprocessable, where, f"{name} is not a time field")
            self._note_field(field)
            return self.sql.bucket(field.expression, unit)
        if field is None:
            raise refuse(
                Unprocessable,
                where,
                f"{key!r} is an aggregation; select it, in a grouped query, to order by it",
            )
        self._note_field(field)
        return self._ordered(field.expression, field.kind)

    def _ordered(self, expression: ColumnElement[Any], kind: Kind | None) -> ColumnElement[Any]:
        return self.sql.ordered(expression) if kind is Kind.STRING else expression

    def _groups(self, outputs: list[Output], group_only: list[Output]) -> CompiledQuery:
        everything = outputs + group_only
        grouping = [o.expression for o in everything if not o.aggregation]
        counts = self._counting([*self.where, *grouping], grouped=True)
        counted = counts is not None
        if counts is not None:  # the same columns from the rollup; counts are sums of its counts
            expressions = [
                counts.c.events if o.aggregation else on_counts(o.expression, counts)
                for o in everything
            ]
            source: Any = counts
            where = [on_counts(condition, counts) for condition in self.where]
            expressions.append(counts.c.events)  # the weight, last
        else:
            expressions = [o.expression for o in everything]
            source, where = self._source(), self.where
        inner = (
            select(*[e.label(f"c{i}") for i, e in enumerate(expressions)])
            .select_from(source)
            .where(*where)
            .subquery("q")
        )
        columns: list[ColumnElement[Any]] = []
        groups: list[tuple[Output, ColumnElement[Any]]] = []
        by_key: dict[str, ColumnElement[Any]] = {}
        for i, output in enumerate(everything):
            column: ColumnElement[Any] = inner.c[f"c{i}"]
            if output.aggregation and counted:
                column = func.coalesce(func.sum(column), 0)
            elif output.aggregation:
                column = _AGGREGATE[output.aggregation](column)
            else:
                groups.append((output, column))
            by_key[output.key] = column
            if i < len(outputs):
                columns.append(column.label(f"c{i}"))
        order = []
        for i, entry in enumerate(self._order_entries()):
            if entry.field not in by_key:
                raise refuse(
                    Unprocessable,
                    f"$.orderBy[{i}].field",
                    f"{entry.field!r} is neither selected nor grouped by in this query",
                )
            output = next(o for o in everything if o.key == entry.field)
            order.append(
                _direction(self._ordered(by_key[entry.field], output.kind), entry.direction)
            )
        if not order:
            # Time buckets in time order; otherwise the largest first aggregate first.
            order += [by_key[o.key].asc().nulls_first() for o in outputs if o.bucket]
            order += [by_key[o.key].desc().nulls_last() for o in outputs if o.aggregation][:1]
        order += [self._ordered(column, o.kind).asc().nulls_first() for o, column in groups]
        base = select(*columns).select_from(inner).group_by(*[c for _, c in groups])
        if counted and groups:
            # Deltas may sum to nothing: a group whose events were all deleted is no group.
            base = base.having(func.sum(inner.c[f"c{len(everything)}"]) > 0)
        return CompiledQuery(self.view, outputs, base.order_by(*order), base)

    def _order_entries(self) -> list[Any]:
        entries: list[Any] = [] if self.body.orderBy in (UNSET, None) else self.body.orderBy
        if len(entries) > MAX_ORDER_BY:
            raise refuse(BadRequest, "$.orderBy", f"at most {MAX_ORDER_BY} entries")
        return entries


def _only_on(expression: Any, table: Any) -> bool:
    """Whether `expression` reads no table but `table` (so it needs no join)."""
    return all(source is table for source in expression._from_objects)


def _direction(expression: ColumnElement[Any], direction: str) -> Any:
    # Nulls sort as the smallest value on both backends (PostgreSQL's default is the opposite).
    return expression.asc().nulls_first() if direction == "asc" else expression.desc().nulls_last()


def _boolean_as_number(expression: ColumnElement[Any]) -> Case[Any]:
    return case((expression.is_(None), None), (expression, 1), else_=0)


def _aggregate_render(name: str, kind: Kind, field: Field, where: str) -> Callable[[Any], Any]:
    if name in ("sum", "avg") and kind not in (Kind.NUMBER, Kind.BOOLEAN):
        raise refuse(
            Unprocessable,
            f"{where}.aggregation",
            f"{name} needs a number field; {field.name} is a {kind.value} field",
        )
    if name in ("min", "max") and kind not in (Kind.NUMBER, Kind.TIME):
        raise refuse(
            Unprocessable,
            f"{where}.aggregation",
            f"{name} needs a number or time field; {field.name} is a {kind.value} field",
        )
    if name == "avg":
        return _float
    if kind is Kind.TIME:
        return _millis
    return _number


def _unique(outputs: list[Output]) -> list[Output]:
    """The first output of each key (the same selection twice is one column)."""
    seen: dict[str, Output] = {}
    for output in outputs:
        seen.setdefault(output.key, output)
    return list(seen.values())


def compile_query(
    view: View,
    sql: Sql,
    body: Any,
    *,
    project_id: str,
    keys_of: KeysOf | None = None,
    ranking: Sequence[Any] | None = None,
) -> CompiledQuery:
    return QueryCompiler(view, sql, body, project_id, ranking).compile(keys_of)
