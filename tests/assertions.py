"""Shared assertions: the one problem+json shape check, and database snapshots."""

from __future__ import annotations

from typing import Any

import httpx2 as httpx
from sqlalchemy import Select, Table, select

from threadline.store.engine import Database
from threadline.store.tables import DATA_TABLES

TITLES = {
    400: ("Bad Request", "bad_request"),
    401: ("Unauthorized", "unauthorized"),
    403: ("Forbidden", "forbidden"),
    404: ("Not Found", "not_found"),
    405: ("Method Not Allowed", "method_not_allowed"),
    408: ("Request Timeout", "request_timeout"),
    413: ("Payload Too Large", "payload_too_large"),
    431: ("Request Header Fields Too Large", "request_header_fields_too_large"),
    422: ("Unprocessable Entity", "unprocessable_entity"),
    429: ("Too Many Requests", "too_many_requests"),
    500: ("Internal Server Error", "internal_server_error"),
    503: ("Service Unavailable", "service_unavailable"),
}


def assert_problem(
    response: httpx.Response, status: int, path: str | None = None
) -> dict[str, Any]:
    """The response is the problem+json of reference §2.5 for `status`; returns the body."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    title, code = TITLES[status]
    assert body["title"] == title
    assert body["status"] == status
    assert body["code"] == code
    assert isinstance(body["detail"], str) and body["detail"]
    assert body["error"]["code"] == code
    message = body["error"]["message"]
    assert len(message) <= 100
    assert body["detail"].startswith(message.removesuffix("..."))
    assert body["requestId"].startswith("req_")
    assert response.headers["x-request-id"] == body["requestId"]
    if path is not None:
        assert body["instance"] == path
    return body


def _stored(table: Table) -> Select[Any]:
    """The table's columns, but a key's last use: a refused request with a valid key did use
    it, and the server records that (in a batch, at most once a minute, and at shutdown)."""
    return select(*(column for column in table.c if column.name != "last_used_at"))


def snapshot(database: Database) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table, to prove that a refused request changed nothing."""
    with database.reader.connect() as connection:
        return {
            table.name: sorted(map(tuple, connection.execute(_stored(table))), key=repr)
            for table in DATA_TABLES
        }


def count(database: Database, table_name: str) -> int:
    with database.reader.connect() as connection:
        table = next(t for t in DATA_TABLES if t.name == table_name)
        return len(connection.execute(select(table)).all())


def assert_refused(
    client: Any,
    database: Database,
    path: str,
    body: Any,
    headers: dict[str, str],
    fields: list[str],
) -> dict[str, Any]:
    """POST body is a 400 naming exactly `fields` (in order), and the database is unchanged."""
    before = snapshot(database)
    problem = assert_problem(client.post(path, json=body, headers=headers), 400, path)
    assert [v["field"] for v in problem["errors"]] == fields
    for field in fields:
        assert field in problem["detail"]
    assert snapshot(database) == before
    return problem
