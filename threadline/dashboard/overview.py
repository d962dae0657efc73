"""The overview: activity per day over the chosen range, compared with the period before."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from threadline.api.reads import analytic_read, read
from threadline.dashboard.charts import SMALL, bar_chart
from threadline.dashboard.data import integration_choices, overview
from threadline.dashboard.render import change, period_links, renderer
from threadline.dashboard.viewer import viewer

SERIES = (
    ("conversations", "Conversations"),
    ("messages", "Messages"),
    ("feedback", "Feedback"),
    ("events", "Events"),
)


def _rate(types: dict[str, int]) -> float | None:
    rated = types.get("positive", 0) + types.get("negative", 0)
    return None if rated == 0 else types.get("positive", 0) * 100 / rated


async def overview_page(request: Request) -> Response:
    v = await viewer(request)
    data = await analytic_read(v.ctx, overview, project_id=v.project_id, period=v.period)
    labels = [f"{day:%b %-d}" for day in v.period.days]
    cards = []
    for name, title in SERIES:
        total = sum(data.daily[name])
        cards.append(
            {
                "name": name,
                "title": title,
                "total": total,
                "change": change(total, data.previous_totals[name]),
                "chart": bar_chart(f"{title} per day", labels, data.daily[name], SMALL),
            }
        )
    rate, previous_rate = _rate(data.feedback_types), _rate(data.previous_feedback_types)
    return renderer(request).page(
        request,
        "overview.html",
        session=v.session,
        current="overview",
        filters=v.filters,
        period=v.period,
        ranges=period_links(v.period),
        cards=cards,
        empty=not any(card["total"] for card in cards),
        feedback_types=data.feedback_types,
        rate=rate,
        previous_rate=previous_rate,
        top_event_types=data.top_event_types,
        top_integrations=data.top_integrations,
        integration_names=dict(await read(v.ctx, integration_choices, project_id=v.project_id)),
    )
