"""One error shape everywhere: problem+json for every refusal on every route, CORS on all of it."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest
from starlette.requests import Request
from starlette.routing import Route
from starlette.testclient import TestClient

from tests.assertions import assert_problem, snapshot
from tests.conftest import KeyMaker
from threadline.app import create_app
from threadline.config import Settings
from threadline.store.engine import Database

WRITE_ROUTES = ["/feedback", "/events", "/conversations"]
VALID = {
    "/feedback": {"type": "positive", "messageId": "m1"},
    "/events": {"type": "t", "messageId": "m1", "entityType": "message"},
    "/conversations": {"type": "openai", "messages": [{"role": "user", "content": "hi"}]},
}


@pytest.mark.parametrize("path", WRITE_ROUTES)
@pytest.mark.parametrize(
    ("content", "content_type", "status", "says"),
    [
        (b'{"type": ', "application/json", 400, "not valid JSON"),
        (b"[1, 2", "application/json", 400, "not valid JSON"),
        (b"", "application/json", 400, "empty"),
        (b"type=positive", "application/x-www-form-urlencoded", 400, "Content-Type"),
        (b'{"type": "x"}', "text/plain", 400, "Content-Type"),
        (b"[]", "application/json", 400, "must be object"),
        (b'"hello"', "application/json; charset=utf-8", 400, "must be object"),
    ],
)
def test_bad_bodies_are_400_on_every_write_route(
    client: TestClient,
    api_headers: dict[str, str],
    db: Database,
    path: str,
    content: bytes,
    content_type: str,
    status: int,
    says: str,
) -> None:
    before = snapshot(db)
    response = client.post(
        path, content=content, headers={**api_headers, "Content-Type": content_type}
    )
    assert says in assert_problem(response, status, path)["detail"]
    assert snapshot(db) == before


@pytest.mark.parametrize("path", WRITE_ROUTES)
def test_json_content_types_with_parameters_or_none_are_accepted(
    client: TestClient, api_headers: dict[str, str], path: str
) -> None:
    import msgspec

    body = msgspec.json.encode(VALID[path])
    for content_type in ("application/json; charset=utf-8", "application/problem+json", None):
        headers = dict(api_headers)
        if content_type:
            headers["Content-Type"] = content_type
        assert client.post(path, content=body, headers=headers).status_code == 200


@pytest.mark.parametrize("path", WRITE_ROUTES)
@pytest.mark.parametrize(
    "authorization",
    [
        None,
        "",
        "Bearer",
        "Bearer ",
        "Basic dXNlcjpwYXNz",
        "Bearer tl_api_not-a-real-key",
        "tl_api_x",
    ],
)
def test_missing_malformed_or_unknown_keys_are_401(
    client: TestClient, db: Database, path: str, authorization: str | None
) -> None:
    headers = {} if authorization is None else {"Authorization": authorization}
    before = snapshot(db)
    assert_problem(client.post(path, json=VALID[path], headers=headers), 401, path)
    assert snapshot(db) == before


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/conversations"),
        ("GET", "/conversations/conv_1"),
        ("DELETE", "/conversations/conv_1"),
        ("GET", "/conversations/external/ext_1"),
        ("GET", "/feedback"),
        ("GET", "/feedback/fb_1"),
        ("DELETE", "/feedback/fb_1"),
    ],
)
@pytest.mark.parametrize("authorization", [None, "Bearer tl_api_not-a-real-key"])
def test_reads_and_deletes_without_a_valid_key_are_401(
    client: TestClient, method: str, path: str, authorization: str | None
) -> None:
    headers = {} if authorization is None else {"Authorization": authorization}
    assert_problem(client.request(method, path, headers=headers), 401, path)


@pytest.mark.parametrize("path", WRITE_ROUTES)
def test_a_revoked_key_is_401(
    database_url: str, make_key: KeyMaker, db: Database, path: str
) -> None:
    from threadline.store.keys import revoke_key

    key = make_key("web")
    # key_cache_seconds=0: the check is made on every request (the default caches 5 s).
    settings = Settings(database_url=database_url, key_cache_seconds=0)
    with TestClient(create_app(settings)) as client:
        headers = {"Authorization": f"Bearer {key}"}
        assert client.post(path, json=VALID[path], headers=headers).status_code == 200
        with db.writer.begin() as connection:
            revoke_key(connection, key[:15])
        assert_problem(client.post(path, json=VALID[path], headers=headers), 401, path)


def test_the_sdk_may_send_bearer_in_any_case(client: TestClient, make_key: KeyMaker) -> None:
    key = make_key("web")
    for scheme in ("Bearer", "bearer", "BEARER"):
        response = client.post(
            "/feedback", json=VALID["/feedback"], headers={"Authorization": f"{scheme} {key}"}
        )
        assert response.status_code == 200


@pytest.mark.parametrize("path", WRITE_ROUTES)
def test_bodies_over_the_limit_are_413_before_they_are_read(
    client: TestClient, api_headers: dict[str, str], db: Database, path: str
) -> None:
    limit = Settings().max_body_bytes
    padding = "x" * (limit + 1)
    body = b'{"type": "positive", "messageId": "' + padding.encode() + b'"}'
    before = snapshot(db)
    response = client.post(
        path, content=body, headers={**api_headers, "Content-Type": "application/json"}
    )
    assert "limit" in assert_problem(response, 413, path)["detail"]

    def chunks() -> Iterator[bytes]:  # no Content-Length: counted while streaming
        for _ in range(limit // 65_536 + 2):
            yield b"x" * 65_536

    response = client.post(
        path, content=chunks(), headers={**api_headers, "Content-Type": "application/json"}
    )
    assert_problem(response, 413, path)
    assert snapshot(db) == before


def test_a_body_just_under_the_limit_is_accepted(
    client: TestClient, api_headers: dict[str, str]
) -> None:
    limit = Settings().max_body_bytes
    envelope = b'{"type": "t", "entityType": "search", "searchQuery": ""}'
    query = "q" * (limit - len(envelope))
    body = envelope.replace(b'""', b'"' + query.encode() + b'"')
    assert len(body) == limit
    response = client.post(
        "/events", content=body, headers={**api_headers, "Content-Type": "application/json"}
    )
    assert response.status_code == 200
    assert len(response.json()["searchQuery"]) == len(query)


def test_unknown_routes_and_methods_are_problems(client: TestClient) -> None:
    assert_problem(client.get("/nowhere"), 404, "/nowhere")
    response = client.put("/feedback")
    assert_problem(response, 405, "/feedback")
    assert {"GET", "POST"} <= set(response.headers["allow"].split(", "))
    assert_problem(client.delete("/conversations"), 405, "/conversations")


def test_an_unexpected_error_is_a_logged_500_without_internals(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    app = create_app(settings)

    async def explode(_request: Request) -> None:
        raise RuntimeError("secret connection string postgres://admin:hunter2@db")

    app.router.routes.append(Route("/explode", explode, methods=["POST"]))
    with TestClient(app, raise_server_exceptions=False) as client, caplog.at_level(logging.ERROR):
        response = client.post("/explode", headers={"Origin": "https://docs.example.com"})
    body = assert_problem(response, 500, "/explode")
    assert "hunter2" not in response.text and "Traceback" not in response.text
    assert response.headers["access-control-allow-origin"] == "*"
    logged = [r for r in caplog.records if body["requestId"] in r.getMessage()]
    assert logged and logged[0].exc_info is not None


@pytest.mark.parametrize(
    "path",
    [
        *WRITE_ROUTES,
        "/conversations/conv_1",
        "/conversations/external/ext_1",
        "/feedback/fb_1",
    ],
)
def test_cors_preflight_names_authorization(client: TestClient, path: str) -> None:
    # What Chromium sent for the Inkeep widget (widget §3).
    response = client.options(
        path,
        headers={
            "Origin": "https://docs.example.com",
            "Access-Control-Request-Method": "POST" if path in WRITE_ROUTES else "GET",
            "Access-Control-Request-Headers": "authorization,content-type",
        },
    )
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == "*"
    allowed = response.headers["access-control-allow-headers"].lower()
    assert "authorization" in allowed and "content-type" in allowed
    assert {"GET", "POST", "DELETE"} <= set(
        response.headers["access-control-allow-methods"].split(", ")
    )


@pytest.mark.parametrize("path", WRITE_ROUTES)
def test_every_answer_carries_cors_headers(
    client: TestClient, web_headers: dict[str, str], path: str
) -> None:
    origin = {"Origin": "https://docs.example.com"}
    ok = client.post(path, json=VALID[path], headers={**web_headers, **origin})
    refused = client.post(path, json={}, headers={**web_headers, **origin})
    unauthorized = client.post(path, json=VALID[path], headers=origin)
    for response in (ok, refused, unauthorized):
        assert response.headers["access-control-allow-origin"] == "*"
        assert "X-Request-ID" in response.headers["access-control-expose-headers"]


def test_allowed_origins_can_be_restricted(database_url: str) -> None:
    settings = Settings(database_url=database_url, cors_origins=("https://docs.example.com",))
    with TestClient(create_app(settings)) as client:
        preflight = {
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization",
        }
        allowed = client.options(
            "/events", headers={"Origin": "https://docs.example.com", **preflight}
        )
        other = client.options("/events", headers={"Origin": "https://evil.example", **preflight})
    assert allowed.headers["access-control-allow-origin"] == "https://docs.example.com"
    assert other.status_code == 400
    assert "access-control-allow-origin" not in other.headers
