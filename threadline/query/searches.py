"""Which search events are searches people made (docs/decisions.md, "Counting searches").

The widget sends two or three events per search and, with its default `debounceTimeMs: 0`, a
search per keystroke (inkeep-widget.md §10). Only the searches count, and the prefixes one
person typed on the way to a query fold into it. The stored events are never changed: on the
primary store this is one SQL statement with window functions that SQLite and PostgreSQL answer
alike; the columnar copy keeps the searches with the same marks from its sync
(analytics.searches) and reads them instead of windowing every search of the range.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    ColumnElement,
    FunctionElement,
    MetaData,
    Over,
    Select,
    String,
    Subquery,
    Table,
    and_,
    case,
    func,
    not_,
    or_,
    select,
)

from threadline.query.sql import Sql
from threadline.store.tables import events

# Two searches of one person this close together are one burst of typing; 5 s covers a pause
# between keystrokes, and a query refined that quickly is still being typed.
FOLD_WINDOW_US = 5 * 1_000_000
# Python's whitespace (str.isspace): a query of only these is blank, in SQL as in
# search_stats.spelling(), which trims and splits on them.
WHITESPACE = (
    "\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005"
    "\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
)
# The widget's answer to a search follows it; it is not another search (inkeep-widget.md §10).
RESPONSE_TYPES = ("search_query_response_received",)

# In the columnar copy only (analytics.searches keeps it at sync time): every search event that
# is a search or a click, with what the statistics need of it already worked out (the person,
# and the marks of fold_marks), so they read these rows instead of filtering every event,
# parsing its userProperties and windowing the range's searches.
SEARCHES = Table(
    "rollup_searches",
    MetaData(),
    Column("project_id", String),
    Column("seq", BigInteger),
    Column("search_query", String),
    Column("created_at", BigInteger),
    Column("who", String),  # searcher(); NULL on clicks
    Column("click", Boolean),  # is_click(); else a search (typed_searches)
    # The person's next search, when it extends this one within the window; else NULL (also
    # when `who` is NULL: nobody's searches fold).
    Column("typed_on_at", BigInteger),
    # The person's previous search, when it extends this one within the window; else NULL.
    Column("erased_at", BigInteger),
)


def search_conditions(
    project_id: str, after: int | None, before: int | None = None
) -> list[ColumnElement[bool]]:
    """The project's search events at or after `after` and before `before` (microseconds),
    where given (the API takes `after` only; the dashboard's date ranges have an end too)."""
    conditions = [events.c.project_id == project_id, events.c.entity_type == "search"]
    if after is not None:
        conditions.append(events.c.created_at >= after)
    if before is not None:
        conditions.append(events.c.created_at < before)
    return conditions


def is_click() -> ColumnElement[bool]:
    """A click on a result: the widget's search_result_clicked and any client's event with
    `click` in its type (ASCII case ignored: SQLite's lower() folds ASCII only)."""
    return func.lower(events.c.type).contains("click", autoescape=True)


def searcher(sql: Sql) -> ColumnElement[Any]:
    """userProperties.userId, else userProperties.id, as text (42 and "42" are one user);
    NULL when neither is set or both are empty. `sql` is the connection's (query.dialects):
    its JSON text is the same on every engine, and on the columnar copy it reads the copy's
    own columns for these keys rather than parsing every document."""
    user_id = sql.json_text(events.c.user_properties, ("userId",))
    any_id = func.nullif(sql.json_text(events.c.user_properties, ("id",)), "")
    # CASE rather than COALESCE: DuckDB then reads `id` (rarely shredded, so parsed from the
    # document) only for rows without a userId; 2.5x faster over a million searches.
    return case((user_id != "", user_id), else_=any_id)


def typed_searches(sql: Sql, *conditions: ColumnElement[bool]) -> Select[Any]:
    """Every search event matching `conditions` that is a search, keystrokes included:
    (project_id, text, at, who, seq).

    A search event is a search unless it is a click or the widget's response event, or its
    query is blank."""
    return select(
        events.c.project_id,
        events.c.search_query.label("text"),
        events.c.created_at.label("at"),
        searcher(sql).label("who"),
        events.c.seq,
    ).where(
        events.c.entity_type == "search",
        *conditions,
        not_(is_click()),
        events.c.type.not_in(RESPONSE_TYPES),
        func.ltrim(events.c.search_query, WHITESPACE) != "",
    )


def search_rows(
    sql: Sql, project_id: str, after: int | None, before: int | None = None
) -> Subquery:
    """Every search between `after` and `before`, keystrokes included (typed_searches)."""
    if sql.kept_searches:
        kept = SEARCHES.c
        return (
            select(
                kept.search_query.label("text"),
                kept.created_at.label("at"),
                kept.who,
                kept.seq,
            )
            .where(*kept_conditions(project_id, after, before, click=False))
            .subquery("typed")
        )
    return typed_searches(sql, *search_conditions(project_id, after, before)).subquery("typed")


def kept_conditions(
    project_id: str, after: int | None, before: int | None, *, click: bool
) -> list[ColumnElement[bool]]:
    """search_conditions on the copy's SEARCHES, its searches or its clicks."""
    kept = SEARCHES.c
    conditions = [kept.project_id == project_id, kept.click.is_(click)]
    if after is not None:
        conditions.append(kept.created_at >= after)
    if before is not None:
        conditions.append(kept.created_at < before)
    return conditions


def clicked_queries(
    sql: Sql, project_id: str, after: int | None, before: int | None = None
) -> Select[Any]:
    """The texts of the clicks on results between `after` and `before`, each once."""
    if sql.kept_searches:
        kept = SEARCHES.c
        return (
            select(kept.search_query)
            .where(*kept_conditions(project_id, after, before, click=True))
            .distinct()
        )
    return (
        select(events.c.search_query)
        .where(*search_conditions(project_id, after, before), is_click())
        .distinct()
    )


def _extends(longer: ColumnElement[Any], shorter: ColumnElement[Any]) -> ColumnElement[bool]:
    """`longer` is `shorter` typed on: it starts with it and has more characters (code points
    on all three engines, so "日本" is extended by "日本語" everywhere)."""
    size = func.length(shorter)
    return and_(func.length(longer) > size, func.substr(longer, 1, size) == shorter)


def fold_marks(typed: Subquery, *, projects: bool = True) -> Select[Any]:
    """`typed` (typed_searches' columns) with each search's marks: typed_on_at, the time of the
    person's next search when it extends or repeats this one within FOLD_WINDOW_US (typing on:
    "in" before "ins"; the widget asking again for a search cut short: "ins" before "ins"), and
    erased_at, the time of their previous one when it extends this one (erasing: "ins" after
    "inst"); NULL when it does not. A person is a `who` of one project (`projects`
    False: `typed` holds one project's searches, and the window need not split by project)."""
    person = (typed.c.project_id, typed.c.who) if projects else (typed.c.who,)

    def neighbour(step: Any, column: ColumnElement[Any]) -> Over[Any]:
        function: FunctionElement[Any] = step(column)
        return function.over(partition_by=person, order_by=(typed.c.at, typed.c.seq))

    near = select(
        typed.c.project_id,
        typed.c.seq,
        typed.c.text,
        typed.c.at,
        typed.c.who,
        neighbour(func.lag, typed.c.text).label("before_text"),
        neighbour(func.lag, typed.c.at).label("before_at"),
        neighbour(func.lead, typed.c.text).label("after_text"),
        neighbour(func.lead, typed.c.at).label("after_at"),
    ).subquery("near")
    # A missing neighbour is NULL: the condition is NULL then, and CASE gives NULL.
    typed_on = and_(
        near.c.after_at - near.c.at <= FOLD_WINDOW_US,
        or_(_extends(near.c.after_text, near.c.text), near.c.after_text == near.c.text),
    )
    erased = and_(
        near.c.at - near.c.before_at <= FOLD_WINDOW_US,
        _extends(near.c.before_text, near.c.text),
    )
    return select(
        near.c.project_id,
        near.c.seq,
        near.c.text,
        near.c.at,
        near.c.who,
        case((typed_on, near.c.after_at)).label("typed_on_at"),
        case((erased, near.c.before_at)).label("erased_at"),
    )


def searches_made(
    sql: Sql, project_id: str, after: int | None, before: int | None = None
) -> Subquery:
    """The searches people made between `after` and `before`: (text, at) per search,
    keystrokes folded.

    One person's (`who`) search is folded away when their search just before or just after
    it, within FOLD_WINDOW_US, extends it: typing on ("in" before "ins") or erasing ("ins"
    after "inst"); or when the next one repeats it (the widget asks again for a search the
    next key cut short). What is left of a burst is each query the person typed out. Searches of
    nobody known are never folded: two visitors' keystrokes cannot be told apart. Only events
    in the range are looked at, so a burst cut by the range's edge folds on each side of it.
    """
    if sql.kept_searches:
        return _searches_kept(project_id, after, before)
    typed = search_rows(sql, project_id, after, before)
    marks = fold_marks(typed, projects=False).subquery("marks")
    folded = and_(
        marks.c.who.is_not(None),
        or_(marks.c.typed_on_at.is_not(None), marks.c.erased_at.is_not(None)),
    )
    return select(marks.c.text, marks.c.at).where(not_(folded)).subquery("searches")


def _searches_kept(project_id: str, after: int | None, before: int | None) -> Subquery:
    """searches_made from the marks the columnar copy keeps on each search. They were taken
    over all of a person's searches; a neighbour outside the range is not one inside it (the
    range is a span of time, so a search's neighbour in the range is its neighbour overall or
    none), hence a mark folds a search only when its neighbour's time is inside the range."""
    kept = SEARCHES.c
    typed_on: ColumnElement[bool] = kept.typed_on_at.is_not(None)
    if before is not None:
        typed_on = and_(typed_on, kept.typed_on_at < before)
    erased: ColumnElement[bool] = kept.erased_at.is_not(None)
    if after is not None:
        erased = and_(erased, kept.erased_at >= after)
    return (
        select(kept.search_query.label("text"), kept.created_at.label("at"))
        .where(
            *kept_conditions(project_id, after, before, click=False), not_(or_(typed_on, erased))
        )
        .subquery("searches")
    )
