"""The Insights pages: subjects, knowledge gaps and labels over time from the semantic threads;
the threads list (by subject, searched); and the form a person confirms or corrects labels with."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from threadline.api.reads import analytic_read, read
from threadline.api.responses import services
from threadline.dashboard.charts import stacked_bar_chart
from threadline.dashboard.data import integration_choices
from threadline.dashboard.forms import read_form
from threadline.dashboard.insights_data import insights, threads_body
from threadline.dashboard.render import PAGE_ROWS, period_links, renderer
from threadline.dashboard.session import check_csrf, require_session
from threadline.dashboard.signin import safe_next
from threadline.dashboard.viewer import viewer
from threadline.insights.model import EMOTIONS, SENTIMENTS
from threadline.store.semantic_threads import VerifiedLabels, verify_labels
from threadline.timestamps import now_us

THREADS_PATH = "/dashboard/insights/threads"
# Subjects shown at once; the rest fold under "N more subjects", so the gaps stay near the top.
SHOWN_SUBJECTS = 10


def _ordered(series: dict[str, list[int]], order: Sequence[str]) -> dict[str, list[int]]:
    """The vocabulary's order first (so colours keep their meaning), anything else after."""
    known = {name: series[name] for name in order if name in series}
    return known | {name: values for name, values in series.items() if name not in known}


def trend(current: int, previous: int) -> dict[str, str]:
    """How a count moved against the previous period (for gaps, up is the bad direction)."""
    if previous == 0:
        return {"text": "new" if current else "no change", "direction": "up" if current else ""}
    percent = (current - previous) * 100 / previous
    direction = "up" if percent > 0 else "down" if percent < 0 else ""
    return {"text": f"{percent:+.0f}%", "direction": direction}


async def insights_page(request: Request) -> Response:
    v = await viewer(request)
    found = await analytic_read(v.ctx, insights, project_id=v.project_id, filters=v.filters)
    labels = [f"{day:%b %-d}" for day in v.period.days]
    charts: dict[str, Any] = {}
    if found.threads:
        sentiment = _ordered(found.daily.sentiment, SENTIMENTS)
        emotion = _ordered(found.daily.emotion, EMOTIONS)
        charts = {
            "sentiment": stacked_bar_chart("Threads per day by sentiment", labels, sentiment),
            "sentiment_names": list(sentiment),
            "emotion": stacked_bar_chart("Threads per day by emotion", labels, emotion),
            "emotion_names": list(emotion),
        }
    integrations = await read(v.ctx, integration_choices, project_id=v.project_id)
    return renderer(request).page(
        request,
        "insights.html",
        session=v.session,
        current="insights",
        filters=v.filters,
        period=v.period,
        ranges=period_links(v.period),
        found=found,
        charts=charts,
        trend=trend,
        integrations=integrations,
        threads_path=THREADS_PATH,
        shown_subjects=SHOWN_SUBJECTS,
    )


async def threads_page(request: Request) -> Response:
    v = await viewer(request)
    rows, total = await v.table_page("semantic_threads", threads_body(v.filters))
    integrations = await read(v.ctx, integration_choices, project_id=v.project_id)
    return renderer(request).page(
        request,
        "insights_threads.html",
        session=v.session,
        current="insights",
        filters=v.filters,
        period=v.period,
        ranges=period_links(v.period),
        rows=rows,
        total=total,
        integrations=integrations,
        page_rows=PAGE_ROWS,
        here=f"{THREADS_PATH}?{v.filters.query()}",
    )


async def confirm_labels(request: Request) -> Response:
    """A person confirms or corrects a thread's subject, gap flag and gapSummary."""
    session = await require_session(request)
    form = await read_form(request)
    check_csrf(request, session, form.get("csrf", ""))
    labels = VerifiedLabels(
        subject=form.get("subject", ""),
        is_gap=form.get("gap") == "1",
        gap_summary=form.get("gapSummary", ""),
    ).checked()
    thread_id = request.path_params["id"]
    ctx = services(request)
    now = now_us()
    await ctx.writer.submit(
        lambda connection: verify_labels(
            connection,
            project_id=session.project_id,
            thread_id=thread_id,
            labels=labels,
            now=now,
        )
    )
    target = safe_next(form.get("next", ""))
    return RedirectResponse(target if target != "/dashboard/" else THREADS_PATH, status_code=303)
