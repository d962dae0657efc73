"""A FastAPI chat back end that logs every turn, thumbs up/down and copy events to threadline.

Run (with fastapi, uvicorn and threadline-client installed):

    THREADLINE_URL=http://127.0.0.1:8080 THREADLINE_API_KEY=tl_api_... \
        uvicorn fastapi_chat:app --port 8000

Logging never slows an answer or fails a request: `log_*` only queue, and a background task
sends the queue as POST /batch, retrying through server restarts. The lifespan closes the
client on shutdown, which sends what is still queued (for up to five seconds).
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, Literal

from fastapi import FastAPI
from pydantic import BaseModel
from threadline_client import AsyncThreadline

threadline: AsyncThreadline | None = None


@asynccontextmanager
async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
    global threadline
    threadline = AsyncThreadline(os.environ["THREADLINE_URL"], os.environ["THREADLINE_API_KEY"])
    async with threadline:  # on shutdown: flush, then close
        yield


app = FastAPI(lifespan=lifespan)


class Turn(BaseModel):
    conversation_id: str | None = None
    user_id: str
    history: list[dict[str, Any]]  # [{"id", "role", "content"}, ...] so far, without the answer
    question: str


class Thumb(BaseModel):
    message_id: str
    user_id: str
    type: Literal["positive", "negative"]
    reason: str | None = None


async def answer_with_your_llm(history: list[dict[str, Any]]) -> str:
    return "Call your model here."  # the assistant itself is not threadline's business


@app.post("/chat")
async def chat(turn: Turn) -> dict[str, Any]:
    assert threadline is not None
    messages = [
        *turn.history,
        {"id": os.urandom(8).hex(), "role": "user", "content": turn.question},
    ]
    reply = await answer_with_your_llm(messages)
    messages.append({"id": os.urandom(8).hex(), "role": "assistant", "content": reply})
    conversation: Any = {
        "type": "openai",
        "messages": messages,
        "userProperties": {"id": turn.user_id, "identificationType": "ID_PROVIDED"},
    }
    if turn.conversation_id:
        conversation["id"] = turn.conversation_id
    # The whole history each turn: threadline upserts by id and never duplicates a message.
    conversation_id = threadline.log_conversation(conversation)
    return {"conversation_id": conversation_id, "messages": messages}


@app.post("/feedback")
async def feedback(thumb: Thumb) -> dict[str, str]:
    assert threadline is not None
    body: Any = {
        "type": thumb.type,
        "messageId": thumb.message_id,
        "userProperties": {"id": thumb.user_id, "identificationType": "ID_PROVIDED"},
    }
    if thumb.reason:
        body["reasons"] = [{"label": thumb.reason}]
    threadline.log_feedback(body)
    return {"status": "queued"}


@app.post("/messages/{message_id}/copied")
async def copied(message_id: str) -> dict[str, str]:
    assert threadline is not None
    threadline.log_event(
        {"type": "message_copied", "entityType": "message", "messageId": message_id}
    )
    return {"status": "queued"}


@app.get("/stats")
async def stats() -> dict[str, int]:
    """The client's counters: sent, rejected, dropped, failed, retries, queued."""
    assert threadline is not None
    return threadline.stats
