"""The conversations browser and the transcript of one conversation."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from starlette.requests import Request
from starlette.responses import Response

from threadline.api.reads import analytic_read, read
from threadline.api.responses import services
from threadline.dashboard import filters as f
from threadline.dashboard.data import (
    conversation_summaries,
    integration_choices,
    transcript_attachments,
)
from threadline.dashboard.period import MAX_DAYS, local_date
from threadline.dashboard.render import PAGE_ROWS, period_links, renderer, viewer_zone
from threadline.dashboard.session import require_session
from threadline.dashboard.viewer import conversations_table, viewer
from threadline.errors import NotFound
from threadline.query.properties import property_keys
from threadline.store.conversations import get_conversation


async def conversations_page(request: Request) -> Response:
    v = await viewer(request)
    rows, total = await conversations_table(v)
    # A page's 25 conversations: lookups on the primary store's indexes (messages by
    # conversation, feedback by message) take a millisecond or two, where the columnar copy
    # scans every message's conversation id (up to 30 ms at 3M events: docs/performance.md).
    summaries = await read(
        v.ctx,
        conversation_summaries,
        project_id=v.project_id,
        conversation_ids=[row["id"] for row in rows],
    )
    integrations = await read(v.ctx, integration_choices, project_id=v.project_id)
    keys = await analytic_read(
        v.ctx,
        property_keys,
        body=f.property_keys_body("conversations", "firstMessageTime", v.period),
        project_id=v.project_id,
    )
    return renderer(request).page(
        request,
        "conversations.html",
        session=v.session,
        current="conversations",
        filters=v.filters,
        period=v.period,
        ranges=period_links(v.period),
        rows=rows,
        total=total,
        summaries=summaries,
        integrations=integrations,
        property_keys=keys,
        integration_names=dict(integrations),
        conversation_types=f.CONVERSATION_TYPES,
        feedback_filters=f.FEEDBACK_FILTERS,
        # The feedback filter alone looks at the newest matches; a text search counts them all.
        capped=total >= f.MAX_MATCHED_IDS and bool(v.filters.feedback) and not v.filters.text,
        page_rows=PAGE_ROWS,
    )


def _message_text(row: Any) -> str:
    if row["content"] is not None:
        return str(row["content"])
    parts = row["content_parts"] or []
    texts = [str(p.get("text", "")) for p in parts if isinstance(p, dict) and p.get("text")]
    return "\n".join(texts)


async def transcript_page(request: Request) -> Response:
    session = await require_session(request)
    ctx = services(request)
    conversation_id = request.path_params["id"]
    stored = await read(
        ctx, get_conversation, project_id=session.project_id, conversation_id=conversation_id
    )
    if stored is None:
        raise NotFound(f"There is no conversation {conversation_id!r} in this project.")
    message_ids = [row["id"] for row in stored.messages]
    attached = await read(
        ctx,
        transcript_attachments,
        project_id=session.project_id,
        conversation_id=conversation_id,
        message_ids=message_ids,
    )
    integrations = dict(await read(ctx, integration_choices, project_id=session.project_id))
    messages = [
        {
            "row": row,
            "text": _message_text(row),
            "links": [link for link in row["links"] or [] if isinstance(link, dict)],
            "feedback": attached.feedback.get(row["id"], []),
            "events": attached.events.get(row["id"], []),
        }
        for row in stored.messages
    ]
    return renderer(request).page(
        request,
        "transcript.html",
        session=session,
        current="conversations",
        conversation=stored.conversation,
        integration=integrations.get(stored.conversation["integration_id"] or "", ""),
        messages=messages,
        conversation_events=attached.conversation_events,
        back=request.query_params.get("back", ""),
        events_query=_events_of(stored.conversation, viewer_zone(request)),
    )


def _events_of(conversation: Any, zone: ZoneInfo) -> str:
    """The events explorer's query string for this conversation's events: from the day it
    started to today (at most the longest range a page shows)."""
    started = local_date(conversation["first_message_at"] or conversation["created_at"], zone)
    today = datetime.now(zone).date()
    first = max(min(started, today), today - timedelta(days=MAX_DAYS - 1))
    return urlencode(
        {"range": "custom", "from": first, "to": today, "conversation": conversation["id"]}
    )
