"""GET /openapi.json: the OpenAPI 3.1 document, generated from the wire Structs the handlers use.

`OPERATIONS` is the one table of what the app serves; every schema in the document comes from a
single msgspec `schema_components` call over the Structs named there (reference §2.1).
"""

from __future__ import annotations

import dataclasses
import re
from typing import TYPE_CHECKING, Annotated, Any, Literal

import msgspec
from msgspec import UNSET, Meta, Struct, UnsetType
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from threadline import __version__
from threadline.api.idempotency import MAX_KEY_LENGTH
from threadline.api.paging import MAX_LIMIT
from threadline.auth import API_ONLY, WEB
from threadline.errors import (
    PROBLEM_MEDIA_TYPE,
    FieldViolation,
    ThreadlineError,
    error_for_status,
)
from threadline.store.keys import KeyKind
from threadline.wire.batch import BatchIn, BatchOut
from threadline.wire.common import Deleted, Id
from threadline.wire.conversations import ConversationIn, ConversationList, ConversationOut
from threadline.wire.events import EventIn, EventOut
from threadline.wire.feedback import FeedbackIn, FeedbackList, FeedbackOut, FeedbackWithContext
from threadline.wire.query import (
    QUERY_TYPES,
    PropertyKeysQuery,
    PropertyResults,
    PropertyValuesQuery,
    QueryResponse,
)
from threadline.wire.search_stats import TopSearchQueries, WeeklySearchUsers
from threadline.wire.users import UserErased

JSON = "application/json"
CSV = "text/csv"
_REF = "#/components/schemas/{name}"

# --- Shapes the handlers build as dicts; mirrored here so the document can describe them. ----

if TYPE_CHECKING:
    ErrorCode = str
else:  # the closed enum of every code in the error tree (errors.py)
    ErrorCode = Literal[tuple(sorted({cls.code for cls in ThreadlineError.__subclasses__()}))]


class LegacyError(Struct, kw_only=True):
    code: ErrorCode
    message: Annotated[str, Meta(max_length=100)]


class Problem(Struct, kw_only=True):
    """The problem+json body of every refusal (reference §2.5), as errors.problem_body builds it."""

    title: str
    status: int
    detail: str
    instance: str
    requestId: str
    code: ErrorCode
    error: LegacyError
    errors: list[FieldViolation] | UnsetType = UNSET


class Health(Struct, kw_only=True):
    status: Literal["ok"]


class WriterCounters(Struct, kw_only=True):
    queued: int
    committedWrites: int
    commits: int


class ExportCounts(Struct, kw_only=True):
    running: int
    limit: int


class Ready(Struct, kw_only=True):
    status: Literal["ready"]
    database: str
    writer: WriterCounters
    exports: ExportCounts


# --- The table. -----------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Param:
    name: str
    where: Literal["path", "query", "header"]
    type: Any
    description: str
    default: Any = None

    @property
    def required(self) -> bool:
        return self.where == "path"


@dataclasses.dataclass(frozen=True)
class Operation:
    method: str
    path: str
    operation_id: str
    summary: str
    keys: frozenset[KeyKind]  # the key kinds it accepts; empty: no key at all
    response: Any  # the type of the 200 body
    errors: tuple[int, ...]  # every error status it can answer
    body: Any = None  # the type of the request body
    params: tuple[Param, ...] = ()
    media_type: str = JSON  # of the 200 body


def _paged(default: int) -> tuple[Param, ...]:
    return (
        Param(
            "limit",
            "query",
            Annotated[int, Meta(ge=0, le=MAX_LIMIT)],
            "Items per page (an empty value means the default).",
            default,
        ),
        Param(
            "offset",
            "query",
            Annotated[int, Meta(ge=0, le=2**63 - 1)],
            "Items to skip.",
            0,
        ),
    )


_ID = (Param("id", "path", Id, "The id the client or threadline gave it."),)
_EXTERNAL_ID = (Param("externalId", "path", Id, "The conversation's externalId."),)
_IDEMPOTENCY_KEY = Param(
    "Idempotency-Key",
    "header",
    Annotated[str, Meta(min_length=1, max_length=MAX_KEY_LENGTH)],
    "A retry with the same key and body gets the first answer replayed, for 24 hours.",
)
_SEARCH_STATS = (
    Param("after", "query", str, "Only searches from this date (UTC) or date-time on."),
    Param("project_id", "query", str, "The project (the key's own is the only one visible)."),
)

NO_KEY: frozenset[KeyKind] = frozenset()
# Statuses: every op can fail with 500; a key is checked (401), counted (429) and looked up in
# the database (503); api-only ops refuse web keys (403); bodies can be refused (400, 413) or
# arrive too slowly (408); writes can meet a busy or reused Idempotency-Key (409, 422), a full
# writer (503), and a web key another user's record (403, store.ownership).
_WRITE = (400, 401, 403, 408, 409, 413, 422, 429, 500, 503)
_READ = (401, 429, 500, 503)
_API_READ = (401, 403, 429, 500, 503)
_QUERY = (400, 401, 403, 408, 413, 422, 429, 500, 503)


def _write(path: str, operation_id: str, summary: str, body: Any, response: Any) -> Operation:
    return Operation(
        "POST", path, operation_id, summary, WEB, response, _WRITE, body, (_IDEMPOTENCY_KEY,)
    )


def _query(view: str, path: str, name: str) -> tuple[Operation, Operation]:
    body = QUERY_TYPES[view].body
    return (
        Operation(
            "POST", path, f"query{name}", f"Query {view}", API_ONLY, QueryResponse, _QUERY, body
        ),
        Operation(
            "POST",
            f"{path}/export",
            f"export{name}QueryResults",
            f"Export a {view} query as CSV",
            API_ONLY,
            str,
            _QUERY,
            body,
            media_type=CSV,
        ),
    )


OPERATIONS: tuple[Operation, ...] = (
    _write(
        "/conversations", "logConversation", "Log a conversation", ConversationIn, ConversationOut
    ),
    Operation(
        "GET",
        "/conversations",
        "getAllConversation",
        "List conversations, newest first",
        API_ONLY,
        ConversationList,
        (400, *_API_READ),
        params=_paged(20),
    ),
    Operation(
        "GET",
        "/conversations/{id}",
        "getConversation",
        "Get a conversation",
        WEB,
        ConversationOut,
        (404, *_READ),
        params=_ID,
    ),
    Operation(
        "DELETE",
        "/conversations/{id}",
        "deleteConversation",
        "Delete a conversation and its messages",
        WEB,
        Deleted,
        (403, 404, *_READ),
        params=_ID,
    ),
    Operation(
        "GET",
        "/conversations/external/{externalId}",
        "getConversationByExternalId",
        "Get the latest conversation with an externalId",
        API_ONLY,
        ConversationOut,
        (404, *_API_READ),
        params=_EXTERNAL_ID,
    ),
    _write("/events", "logEvent", "Log an event", EventIn, EventOut),
    _write("/feedback", "logFeedback", "Log feedback", FeedbackIn, FeedbackOut),
    Operation(
        "GET",
        "/feedback",
        "getAllFeedback",
        "List feedback with its conversation and message",
        API_ONLY,
        FeedbackList,
        (400, *_API_READ),
        params=_paged(10),
    ),
    Operation(
        "GET",
        "/feedback/{id}",
        "getFeedbackById",
        "Get a feedback with its conversation and message",
        API_ONLY,
        FeedbackWithContext,
        (404, 422, *_API_READ),
        params=_ID,
    ),
    Operation(
        "DELETE",
        "/feedback/{id}",
        "deleteFeedbackById",
        "Delete a feedback",
        API_ONLY,
        Deleted,
        (404, *_API_READ),
        params=_ID,
    ),
    *_query("conversations", "/query/conversations", "Conversations"),
    *_query("events", "/query/events", "Events"),
    *_query("feedback", "/query/feedback", "Feedback"),
    *_query("semantic_threads", "/query/semantic-threads", "SemanticThreads"),
    Operation(
        "POST",
        "/query/property-keys",
        "queryPropertyKeys",
        "The keys seen in properties or userProperties",
        API_ONLY,
        PropertyResults,
        _QUERY,
        PropertyKeysQuery,
    ),
    Operation(
        "POST",
        "/query/property-values",
        "queryPropertyValues",
        "The values seen for one key of properties or userProperties",
        API_ONLY,
        PropertyResults,
        _QUERY,
        PropertyValuesQuery,
    ),
    Operation(
        "GET",
        "/query/top-search-queries",
        "topSearchQueries",
        "The most frequent search queries",
        API_ONLY,
        TopSearchQueries,
        (400, *_API_READ),
        params=_SEARCH_STATS,
    ),
    Operation(
        "GET",
        "/query/weekly-search-users",
        "weeklySearchUsers",
        "Distinct searching users per week",
        API_ONLY,
        WeeklySearchUsers,
        (400, *_API_READ),
        params=_SEARCH_STATS,
    ),
    Operation(
        "DELETE",
        "/users/{userId}",
        "eraseUser",
        "Erase an end user: every conversation, message, feedback, event and thread naming "
        "them in userProperties (userId or id), with what belongs to those, in one transaction",
        API_ONLY,
        UserErased,
        # 404 only for an id no user can have (U+0000, api.routing); none stored is a 200 of 0s.
        (404, *_API_READ),
        params=(Param("userId", "path", Id, "userProperties.userId or .id of the user."),),
    ),
    _write(
        "/batch", "logBatch", "Log events, feedback and conversations at once", BatchIn, BatchOut
    ),
    Operation("GET", "/health", "getHealth", "The process is alive", NO_KEY, Health, (500,)),
    Operation("GET", "/ready", "getReady", "The database answers too", NO_KEY, Ready, (500, 503)),
    Operation(
        "GET",
        "/openapi.json",
        "getOpenApiDocument",
        "This document",
        NO_KEY,
        dict[str, Any],
        (500,),
    ),
)

# --- Building the document. -------------------------------------------------------------------

# Reference §2.2: both kinds of key are bearer tokens in the same header.
_SCHEMES: dict[KeyKind, str] = {"web": "webIntegrationKey", "api": "apiIntegrationKey"}
_WHEN = {
    400: "The request is malformed or its body breaks the schema; `errors` names every violation.",
    401: "The Authorization header is missing, malformed, or names an unknown or revoked key.",
    403: "The key's kind may not call this operation (web keys only write), or a web key may not "
    "change this record (only what its integration's web keys wrote for the same "
    "userProperties.id).",
    404: "Nothing with this id in the key's project.",
    408: "The body did not arrive in full within the body timeout (30 s by default); the "
    "connection is closed.",
    409: "A request with this Idempotency-Key is still being written; retry once it is answered.",
    413: "The body is larger than the limit (2 MiB by default), as sent or decompressed.",
    422: "Well-formed, but cannot be applied (see `detail`), or the Idempotency-Key was used for "
    "another body.",
    429: "The key's rate limit is exceeded; retry after `Retry-After` seconds.",
    500: "An unexpected error; the log has the requestId.",
    503: "Storage is unavailable or overloaded; retry after `Retry-After` seconds.",
}
_HEADERS: dict[str, Any] = {
    "RequestId": {
        "description": "The request's id, as in a problem's `requestId`.",
        "required": True,
        "schema": {"type": "string"},
    },
    "RetryAfter": {
        "description": "Seconds to wait before retrying.",
        "required": True,
        "schema": {"type": "integer", "minimum": 0},
    },
    "IdempotentReplayed": {
        "description": "`true` when this is the stored answer to an earlier request.",
        "schema": {"const": "true"},
    },
}
_PATH_PARAMETER = re.compile(r"{(\w+)(?::\w+)?}")


def _header_ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/headers/{name}"}


def _error_name(status: int) -> str:
    return type(error_for_status(status)).__name__


def _error_response(status: int) -> dict[str, Any]:
    headers = {"X-Request-ID": _header_ref("RequestId")}
    if status in (429, 503):
        headers["Retry-After"] = _header_ref("RetryAfter")
    return {
        "description": f"{error_for_status(status).title}: {_WHEN[status]}",
        "headers": headers,
        "content": {PROBLEM_MEDIA_TYPE: {"schema": {"$ref": _REF.format(name="Problem")}}},
    }


def _parameter(param: Param, schema: dict[str, Any]) -> dict[str, Any]:
    if param.default is not None:
        schema = {**schema, "default": param.default}
    return {
        "name": param.name,
        "in": param.where,
        "required": param.required,
        "description": param.description,
        "schema": schema,
    }


def _operation(op: Operation, schema: dict[Any, dict[str, Any]]) -> dict[str, Any]:
    headers = {"X-Request-ID": _header_ref("RequestId")}
    if _IDEMPOTENCY_KEY in op.params:
        headers["Idempotent-Replayed"] = _header_ref("IdempotentReplayed")
    out: dict[str, Any] = {
        "operationId": op.operation_id,
        "summary": op.summary,
        "security": [{_SCHEMES[kind]: []} for kind in sorted(op.keys, reverse=True)],
    }
    if op.params:
        out["parameters"] = [_parameter(p, schema[p.type]) for p in op.params]
    if op.body is not None:
        out["requestBody"] = {"required": True, "content": {JSON: {"schema": schema[op.body]}}}
    out["responses"] = {
        "200": {
            "description": "OK",
            "headers": headers,
            "content": {op.media_type: {"schema": schema[op.response]}},
        },
        **{str(s): {"$ref": f"#/components/responses/{_error_name(s)}"} for s in op.errors},
    }
    return out


def openapi_path(route_path: str) -> str:
    """A Starlette route path as an OpenAPI path: `{externalId:path}` -> `{externalId}`."""
    return _PATH_PARAMETER.sub(r"{\1}", route_path)


def build_document(operations: tuple[Operation, ...] = OPERATIONS) -> dict[str, Any]:
    types: list[Any] = [Problem]
    for op in operations:
        types += [op.response, *(p.type for p in op.params)]
        if op.body is not None:
            types.append(op.body)
    types = list(dict.fromkeys(types))
    schemas, components = msgspec.json.schema_components(types, ref_template=_REF)
    schema = dict(zip(types, schemas, strict=True))
    paths: dict[str, dict[str, Any]] = {}
    for op in operations:
        paths.setdefault(op.path, {})[op.method.lower()] = _operation(op, schema)
    statuses = sorted({s for op in operations for s in op.errors})
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "threadline",
            "version": __version__,
            "description": "A self-hosted, wire-compatible Inkeep Analytics API.",
        },
        "servers": [{"url": "/"}],
        "paths": paths,
        "components": {
            "schemas": components,
            "responses": {_error_name(s): _error_response(s) for s in statuses},
            "headers": _HEADERS,
            "securitySchemes": {
                name: {"type": "http", "scheme": "bearer", "description": f"A {kind} key."}
                for kind, name in _SCHEMES.items()
            },
        },
    }


async def openapi_json(request: Request) -> Response:
    # Built on the first request, then served from the app's state.
    state = request.app.state
    document: bytes | None = getattr(state, "openapi_document", None)
    if document is None:
        document = state.openapi_document = msgspec.json.encode(build_document())
    return Response(document, media_type=JSON)


routes = [Route("/openapi.json", openapi_json, methods=["GET"])]
