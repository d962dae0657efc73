"""Semantic search's ranking for a semantic-threads query body, shared by the API (its query and
export) and the dashboard's search box over threads (query.semantic, docs/insights.md)."""

from __future__ import annotations

import asyncio
from typing import Any

from threadline.api.reads import analytic_read, read
from threadline.query.semantic import (
    literal_matches,
    rank_threads,
    score_threads,
    search_text,
)
from threadline.services import Services


async def ranking(ctx: Services, view: str, body: Any, project_id: str) -> list[str] | None:
    """The threads the body's `query` text finds, most similar first; None when the body has
    no `query` text (or is not over semantic threads)."""
    if view != "semantic_threads" or search_text(body) is None:
        return None
    # The vectors' scores (primary store) and the text's literal matches (an analytic scan)
    # at once: numpy and the database both let go of the GIL, so the two use both cores.
    scored, literal = await asyncio.gather(
        read(ctx, score_threads, body=body, project_id=project_id, embed=_embed, index=ctx.vectors),
        analytic_read(ctx, literal_matches, body=body, project_id=project_id),
    )
    return await analytic_read(
        ctx, rank_threads, body=body, project_id=project_id, scored=scored, literal=literal
    )


def _embed(text: str) -> Any:
    # Loaded on the first search, then kept (the model is ~100 MB in memory).
    from threadline.insights.embed import shared

    return shared().embed_one(text)
