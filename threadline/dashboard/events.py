"""The events explorer: events by type, entity and property, per day and one by one."""

from __future__ import annotations

from functools import partial

from starlette.requests import Request
from starlette.responses import Response

from threadline.api.reads import analytic_reads, read
from threadline.dashboard import filters as f
from threadline.dashboard.charts import bar_chart
from threadline.dashboard.data import counts_by, daily_counts, integration_choices
from threadline.dashboard.render import PAGE_ROWS, period_links, renderer
from threadline.dashboard.viewer import events_query, viewer
from threadline.query.properties import property_keys


async def events_page(request: Request) -> Response:
    v = await viewer(request)
    view, body = await events_query(v)
    where = f.events_where(v.filters)
    rows, total = await v.table_page(view, body)
    daily, by_type, all_types, keys = await analytic_reads(
        v.ctx,
        partial(daily_counts, view="events", where=where, project_id=v.project_id, period=v.period),
        partial(counts_by, view="events", field="type", where=where, project_id=v.project_id),
        # The type picker offers every type of the period, whatever the other filters.
        partial(
            counts_by,
            view="events",
            field="type",
            where=f.period_where("createdAt", v.period),
            project_id=v.project_id,
            limit=200,
        ),
        partial(
            property_keys,
            body=f.property_keys_body("events", "createdAt", v.period),
            project_id=v.project_id,
        ),
    )
    integrations = await read(v.ctx, integration_choices, project_id=v.project_id)
    labels = [f"{day:%b %-d}" for day in v.period.days]
    return renderer(request).page(
        request,
        "events.html",
        session=v.session,
        current="events",
        filters=v.filters,
        period=v.period,
        ranges=period_links(v.period),
        rows=rows,
        total=total,
        chart=bar_chart("Events per day", labels, daily),
        by_type=by_type,
        type_choices=sorted(name for name, _ in all_types),
        entity_types=f.ENTITY_TYPES,
        integrations=integrations,
        property_keys=keys,
        page_rows=PAGE_ROWS,
    )
