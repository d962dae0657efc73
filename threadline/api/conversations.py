"""The conversation operations (reference §4.4-§4.8) and the Conversation response shape (§4.2):
POST /conversations, GET /conversations, GET and DELETE /conversations/{id},
GET /conversations/external/{externalId}."""

from __future__ import annotations

import functools

from starlette.requests import Request
from starlette.responses import Response

from threadline.api.paging import page
from threadline.api.reads import read
from threadline.api.responses import JSONResponse, authorized
from threadline.api.routing import route
from threadline.api.writes import WriteOperation, commit, handle_write
from threadline.auth import API_ONLY, WEB, Principal
from threadline.config import Settings
from threadline.errors import FieldViolation, NotFound, Unprocessable
from threadline.store.conversations import (
    StoredConversation,
    delete_conversation,
    get_conversation,
    get_conversation_by_external_id,
    list_conversations,
    lock_order,
    upsert_conversation,
)
from threadline.store.writer import Job, locking
from threadline.wire.common import Deleted
from threadline.wire.conversations import ConversationIn, ConversationList
from threadline.wire.stored import conversation_out


def _prepare(
    principal: Principal, body: ConversationIn, settings: Settings
) -> Job[StoredConversation]:
    # Refused here, before it reaches the writer; the per-conversation cap needs what is stored,
    # so the job checks that one (docs/operations.md).
    limit = settings.max_messages_per_post
    if len(body.messages) > limit:
        detail = (
            f"this post carries {len(body.messages)} messages; one post carries at most {limit}"
        )
        raise Unprocessable(detail, violations=[FieldViolation(field="$.messages", message=detail)])
    job = functools.partial(
        upsert_conversation,
        project_id=principal.project_id,
        integration_id=principal.integration_id,
        key_kind=principal.kind,
        body=body,
        max_messages=settings.max_messages_per_conversation,
    )
    # Its first lock is the conversation's row (a post without an id names none beforehand).
    return locking(job, *lock_order(principal.project_id, body.id)) if body.id else job


LOG_CONVERSATION = WriteOperation(ConversationIn, _prepare, conversation_out)


async def log_conversation(request: Request) -> Response:
    return await handle_write(request, LOG_CONVERSATION)


async def get_conversation_by_id(request: Request) -> Response:
    # Web keys too: the widget opens shared and saved chats with its web key (reference §4.6).
    ctx, principal = await authorized(request, WEB)
    conversation_id = request.path_params["id"]
    stored = await read(
        ctx, get_conversation, project_id=principal.project_id, conversation_id=conversation_id
    )
    if stored is None:
        raise NotFound(f"No conversation {conversation_id!r} in this project.")
    return JSONResponse(conversation_out(stored))


async def get_all_conversations(request: Request) -> Response:
    ctx, principal = await authorized(request, API_ONLY)
    asked = page(request, default_limit=20)
    total, stored = await read(
        ctx,
        list_conversations,
        project_id=principal.project_id,
        limit=asked.limit,
        offset=asked.offset,
    )
    conversations = [conversation_out(conversation) for conversation in stored]
    return JSONResponse(
        ConversationList(
            conversations=conversations,
            total=total,
            pageSize=asked.limit,
            count=len(conversations),
        )
    )


async def delete_conversation_by_id(request: Request) -> Response:
    # Web keys too: the widget clears saved chats with its web key (reference §4.7, §10.7),
    # but only chats of their own (store.ownership).
    ctx, principal = await authorized(request, WEB)
    conversation_id = request.path_params["id"]
    job = functools.partial(
        delete_conversation,
        project_id=principal.project_id,
        conversation_id=conversation_id,
        integration_id=principal.integration_id,
        key_kind=principal.kind,
    )
    if not await commit(ctx, job):
        raise NotFound(f"No conversation {conversation_id!r} in this project.")
    return JSONResponse(Deleted(success=True, message="Conversation deleted successfully"))


async def get_by_external_id(request: Request) -> Response:
    ctx, principal = await authorized(request, API_ONLY)
    external_id = request.path_params["externalId"]
    stored = await read(
        ctx,
        get_conversation_by_external_id,
        project_id=principal.project_id,
        external_id=external_id,
    )
    if stored is None:
        raise NotFound(f"No conversation with externalId {external_id!r} in this project.")
    return JSONResponse(conversation_out(stored))


routes = [
    route("/conversations", POST=log_conversation, GET=get_all_conversations),
    # :path, so an externalId holding an encoded "/" (%2F) still matches (reference §4.8).
    route("/conversations/external/{externalId:path}", GET=get_by_external_id),
    route("/conversations/{id}", GET=get_conversation_by_id, DELETE=delete_conversation_by_id),
]
