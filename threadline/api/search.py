"""Semantic search's ranking for a semantic-threads query body, shared by the API (its query and
export) and the dashboard's search box over threads (query.semantic, docs/insights.md)."""

from __future__ import annotations

import functools
from typing import Any

from threadline.api.reads import analytic_reads, read
from threadline.query.semantic import (
    literal_matches,
    ranked,
    score_threads,
    search_text,
    similar_threads,
)
from threadline.services import Services


async def ranking(ctx: Services, view: str, body: Any, project_id: str) -> list[int] | None:
    """The threads the body's `query` text finds, most similar first; None when the body has
    no `query` text (or is not over semantic threads)."""
    if view != "semantic_threads" or search_text(body) is None:
        return None
    scored = await read(
        ctx, score_threads, body=body, project_id=project_id, embed=_embed, index=ctx.vectors
    )
    # The filter checks of the most similar and the literal search of the nearest: one
    # analytic read (one slot, one deadline) whose two parts run at once on the columnar copy,
    # where DuckDB lets go of the GIL, so the two use both cores.
    arguments = {"body": body, "project_id": project_id, "scored": scored}
    similar, literal = await analytic_reads(
        ctx,
        functools.partial(similar_threads, **arguments),
        functools.partial(literal_matches, **arguments),
    )
    return ranked(scored, similar, literal)


def _embed(text: str) -> Any:
    # Loaded on the first search, then kept (the model is ~100 MB in memory).
    from threadline.insights.embed import shared

    return shared().embed_one(text)
