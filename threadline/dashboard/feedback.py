"""Feedback: positive and negative ratings per day, the reasons given, and each rating."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from threadline.api.reads import analytic_read, read
from threadline.dashboard import filters as f
from threadline.dashboard.charts import SMALL, bar_chart
from threadline.dashboard.data import (
    daily_counts,
    integration_choices,
    message_snippets,
    reason_counts,
)
from threadline.dashboard.render import PAGE_ROWS, period_links, renderer
from threadline.dashboard.viewer import feedback_query, viewer


async def feedback_page(request: Request) -> Response:
    v = await viewer(request)
    view, body = await feedback_query(v)
    rows, total = await v.table_page(view, body)
    snippets = await analytic_read(
        v.ctx,
        message_snippets,
        project_id=v.project_id,
        message_ids=[row["messageId"] for row in rows],
    )
    labels = [f"{day:%b %-d}" for day in v.period.days]
    charts = {}
    totals = {}
    for kind in f.FEEDBACK_TYPES:
        where = f.period_where("createdAt", v.period)
        where["and"].append({"condition": {"field": "type", "operator": "eq", "value": kind}})
        daily = await analytic_read(
            v.ctx,
            daily_counts,
            view="feedback",
            where=where,
            project_id=v.project_id,
            period=v.period,
        )
        totals[kind] = sum(daily)
        charts[kind] = bar_chart(f"{kind.title()} feedback per day", labels, daily, SMALL)
    reasons = await analytic_read(v.ctx, reason_counts, project_id=v.project_id, period=v.period)
    integrations = await read(v.ctx, integration_choices, project_id=v.project_id)
    rated = totals["positive"] + totals["negative"]
    return renderer(request).page(
        request,
        "feedback.html",
        session=v.session,
        current="feedback",
        filters=v.filters,
        period=v.period,
        ranges=period_links(v.period),
        rows=rows,
        total=total,
        snippets=snippets,
        charts=charts,
        totals=totals,
        rate=None if rated == 0 else totals["positive"] * 100 / rated,
        reasons=reasons,
        integrations=integrations,
        feedback_types=f.FEEDBACK_TYPES,
        page_rows=PAGE_ROWS,
    )
