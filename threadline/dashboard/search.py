"""Search analytics: the top queries, searching users per week, and queries nobody clicked."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from threadline.api.reads import analytic_read
from threadline.dashboard.charts import line_chart
from threadline.dashboard.render import PAGE_ROWS, period_links, renderer
from threadline.dashboard.viewer import viewer
from threadline.query.search_stats import search_page as search_statistics


def _page_of(rows: list[tuple[str, int]], page: int) -> list[tuple[str, int]]:
    return rows[(page - 1) * PAGE_ROWS : page * PAGE_ROWS]


async def search_page(request: Request) -> Response:
    v = await viewer(request)
    span = {"project_id": v.project_id, "after": v.period.start_us, "before": v.period.end_us}
    stats = await analytic_read(v.ctx, search_statistics, **span)
    top, weeks, unclicked = stats.top, stats.weeks, stats.unclicked
    raw_page = request.query_params.get("npage", "1")
    unclicked_page = int(raw_page) if raw_page.isdigit() and int(raw_page) > 0 else 1
    return renderer(request).page(
        request,
        "search.html",
        session=v.session,
        current="search",
        filters=v.filters,
        period=v.period,
        ranges=period_links(v.period),
        top=_page_of(top, v.filters.page),
        top_total=len(top),
        distinct=stats.distinct,
        weeks=weeks,
        chart=line_chart("Searching users per week", [w for w, _ in weeks], [n for _, n in weeks]),
        unclicked=_page_of(unclicked.top, unclicked_page),
        unclicked_total=len(unclicked.top),
        unclicked_distinct=unclicked.total,
        unclicked_page=unclicked_page,
        page_rows=PAGE_ROWS,
    )
