"""Content-Encoding: gzip request bodies on every write route, and what is refused (bombs too)."""

from __future__ import annotations

import asyncio
import gzip
import os
import threading
import zlib
from collections.abc import Iterator

import msgspec
import pytest
from starlette.requests import Request
from starlette.testclient import TestClient
from starlette.types import Message

from tests.assertions import assert_problem, count, snapshot
from threadline.api.body import INLINE_GZIP_BYTES, Gunzip, read_body
from threadline.app import create_app
from threadline.config import Settings
from threadline.errors import PayloadTooLarge
from threadline.store.engine import Database

LIMIT = Settings().max_body_bytes
# The seeds' example requests (README), one per write route, and the table each writes to.
SEEDS = {
    "/feedback": (
        {
            "id": "string",
            "type": "positive",
            "messageId": "string",
            "createdAt": "2019-08-24T14:15:22Z",
            "reasons": [{"label": "string", "details": "string"}],
            "properties": {},
            "userProperties": {"id": "string", "identificationType": "COOKIED"},
        },
        "feedback",
    ),
    "/events": ({"type": "string", "messageId": "string", "entityType": "message"}, "events"),
    "/conversations": (
        {
            "type": "openai",
            "messages": [
                {"role": "user", "content": "How do I log feedback?"},
                {"role": "assistant", "content": "POST /feedback"},
            ],
        },
        "conversations",
    ),
}
WRITE_ROUTES = list(SEEDS)


@pytest.fixture(scope="module")
def bomb() -> bytes:
    """50 MB of zeros as about 50 KB of gzip: small on the wire, 25 times the limit inflated."""
    return gzip.compress(b"0" * 50_000_000, compresslevel=9)


@pytest.mark.parametrize("path", WRITE_ROUTES)
@pytest.mark.parametrize("encoding", ["gzip", "GZIP", "x-gzip", " gzip ", "identity, gzip"])
def test_gzipped_seed_bodies_are_stored_on_every_write_route(
    client: TestClient,
    api_headers: dict[str, str],
    db: Database,
    path: str,
    encoding: str,
) -> None:
    body, table = SEEDS[path]
    response = client.post(
        path,
        content=gzip.compress(msgspec.json.encode(body)),
        headers={**api_headers, "Content-Type": "application/json", "Content-Encoding": encoding},
    )
    assert response.status_code == 200, response.text
    assert response.json()["type"] == body["type"]
    assert count(db, table) == 1


@pytest.mark.parametrize("encoding", ["identity", "IDENTITY", ""])
def test_identity_is_no_encoding(
    client: TestClient, api_headers: dict[str, str], encoding: str
) -> None:
    body, _ = SEEDS["/events"]
    response = client.post(
        "/events",
        content=msgspec.json.encode(body),
        headers={**api_headers, "Content-Type": "application/json", "Content-Encoding": encoding},
    )
    assert response.status_code == 200, response.text


def test_a_body_of_several_gzip_members_is_read_whole(
    client: TestClient, api_headers: dict[str, str]
) -> None:
    # RFC 1952 §2.2: a gzip file is a series of members; `cat a.gz b.gz` is valid gzip.
    encoded = msgspec.json.encode({"type": "t", "entityType": "search", "searchQuery": "q"})
    content = gzip.compress(encoded[:10]) + gzip.compress(encoded[10:])
    response = client.post(
        "/events",
        content=content,
        headers={**api_headers, "Content-Type": "application/json", "Content-Encoding": "gzip"},
    )
    assert response.status_code == 200, response.text
    assert response.json()["searchQuery"] == "q"


def _event_of_size(size: int) -> bytes:
    envelope = b'{"type": "t", "entityType": "search", "searchQuery": ""}'
    return envelope.replace(b'""', b'"' + b"q" * (size - len(envelope)) + b'"')


def test_the_limit_applies_to_the_decompressed_size(
    client: TestClient, api_headers: dict[str, str], db: Database
) -> None:
    headers = {**api_headers, "Content-Type": "application/json", "Content-Encoding": "gzip"}
    at_limit = gzip.compress(_event_of_size(LIMIT))
    assert len(at_limit) < LIMIT // 100
    assert client.post("/events", content=at_limit, headers=headers).status_code == 200
    before = snapshot(db)
    response = client.post(
        "/events", content=gzip.compress(_event_of_size(LIMIT + 1)), headers=headers
    )
    assert "decompressed" in assert_problem(response, 413, "/events")["detail"]
    assert snapshot(db) == before


@pytest.mark.parametrize("path", WRITE_ROUTES)
def test_a_gzip_bomb_is_413_and_stores_nothing(
    client: TestClient, api_headers: dict[str, str], db: Database, path: str, bomb: bytes
) -> None:
    assert len(bomb) < 100_000
    before = snapshot(db)
    response = client.post(
        path,
        content=bomb,
        headers={**api_headers, "Content-Type": "application/json", "Content-Encoding": "gzip"},
    )
    body = assert_problem(response, 413, path)
    assert f"{LIMIT}-byte limit once decompressed" in body["detail"]
    assert snapshot(db) == before


def test_a_bomb_is_never_inflated_past_the_limit(bomb: bytes) -> None:
    gunzip = Gunzip(LIMIT)
    fed = 0
    with pytest.raises(PayloadTooLarge):
        for offset in range(0, len(bomb), 1024):
            gunzip.feed(bomb[offset : offset + 1024])
            fed += 1024
    assert gunzip.size == LIMIT + 1  # the output stopped one byte past the limit
    assert fed < len(bomb) // 10  # and most of the bomb was never even read


def _request(chunks: list[bytes], headers: dict[str, str]) -> tuple[Request, list[int]]:
    """A Request over `chunks`, and a list that counts how many of them the server pulled."""
    pulled = [0]

    async def receive() -> Message:
        index = pulled[0]
        pulled[0] += 1
        more = index + 1 < len(chunks)
        return {"type": "http.request", "body": chunks[index], "more_body": more}

    scope = {
        "type": "http",
        "method": "POST",
        "path": "/events",
        "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()],
    }
    return Request(scope, receive), pulled


def test_read_body_stops_pulling_a_bomb_at_the_limit(bomb: bytes) -> None:
    chunks = [bomb[offset : offset + 1024] for offset in range(0, len(bomb), 1024)]
    request, pulled = _request(chunks, {"Content-Encoding": "gzip"})
    with pytest.raises(PayloadTooLarge, match="decompressed"):
        asyncio.run(read_body(request, LIMIT))
    assert pulled[0] < len(chunks) // 10


def test_a_compressed_body_over_the_limit_is_413_before_it_is_inflated(
    database_url: str, api_headers: dict[str, str], db: Database
) -> None:
    limit = 4096
    content = gzip.compress(os.urandom(2 * limit))  # incompressible: larger than the limit as sent
    assert len(content) > limit
    headers = {**api_headers, "Content-Type": "application/json", "Content-Encoding": "gzip"}
    before = snapshot(db)
    with TestClient(
        create_app(Settings(database_url=database_url, max_body_bytes=limit))
    ) as client:
        response = client.post("/events", content=content, headers=headers)
        detail = assert_problem(response, 413, "/events")["detail"]
        assert "decompressed" not in detail  # refused from Content-Length, never inflated

        def chunks() -> Iterator[bytes]:  # no Content-Length: counted while streaming
            for offset in range(0, len(content), 1000):
                yield content[offset : offset + 1000]

        assert_problem(client.post("/events", content=chunks(), headers=headers), 413, "/events")
    assert snapshot(db) == before


def _corrupt() -> dict[str, tuple[bytes, str]]:
    good = gzip.compress(msgspec.json.encode(SEEDS["/events"][0]))
    bad_crc = good[:-8] + bytes([good[-8] ^ 0xFF]) + good[-7:]
    deflated = zlib.compress(msgspec.json.encode(SEEDS["/events"][0]))
    return {
        "not gzip at all": (b'{"type": "t", "messageId": "m", "entityType": "message"}', "gzip"),
        "raw zlib, not gzip": (deflated, "gzip"),
        "truncated": (good[: len(good) // 2], "truncated"),
        "no trailer": (good[:-8], "truncated"),
        "wrong checksum": (bad_crc, "gzip"),
        "garbage after the end": (good + b"garbage!", "gzip"),
    }


@pytest.mark.parametrize("path", WRITE_ROUTES)
@pytest.mark.parametrize("case", list(_corrupt()))
def test_corrupt_or_truncated_gzip_is_400(
    client: TestClient, api_headers: dict[str, str], db: Database, path: str, case: str
) -> None:
    content, says = _corrupt()[case]
    before = snapshot(db)
    response = client.post(
        path,
        content=content,
        headers={**api_headers, "Content-Type": "application/json", "Content-Encoding": "gzip"},
    )
    assert says in assert_problem(response, 400, path)["detail"]
    assert snapshot(db) == before


@pytest.mark.parametrize("path", WRITE_ROUTES)
@pytest.mark.parametrize("encoding", ["br", "deflate", "zstd", "compress", "gzip, gzip", "x-foo"])
def test_an_encoding_the_server_cannot_read_is_400_naming_it(
    client: TestClient, api_headers: dict[str, str], db: Database, path: str, encoding: str
) -> None:
    before = snapshot(db)
    response = client.post(
        path,
        content=msgspec.json.encode(SEEDS[path][0]),
        headers={**api_headers, "Content-Type": "application/json", "Content-Encoding": encoding},
    )
    detail = assert_problem(response, 400, path)["detail"]
    assert f"Content-Encoding {encoding!r} is not supported" in detail
    assert snapshot(db) == before


def test_an_empty_gzip_body_is_400_empty(client: TestClient, api_headers: dict[str, str]) -> None:
    headers = {**api_headers, "Content-Type": "application/json", "Content-Encoding": "gzip"}
    for content in (b"", gzip.compress(b""), gzip.compress(b"  \n")):
        response = client.post("/events", content=content, headers=headers)
        assert "empty" in assert_problem(response, 400, "/events")["detail"]


def _inflating_threads(content: bytes, monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    """For each chunk of `content` read_body inflates, whether it ran on the event loop's thread."""
    on_loop: list[bool] = []
    feed = Gunzip.feed

    def recording_feed(self: Gunzip, data: bytes) -> bytes:
        on_loop.append(threading.get_ident() == loop_thread)
        return feed(self, data)

    monkeypatch.setattr(Gunzip, "feed", recording_feed)
    loop_thread = threading.get_ident()  # asyncio.run runs the loop on this thread
    chunks = [content[offset : offset + 4096] for offset in range(0, len(content), 4096)]
    request, _ = _request(chunks, {"Content-Encoding": "gzip"})
    body = asyncio.run(read_body(request, LIMIT))
    assert body.endswith(b'"}')
    return on_loop


def test_a_large_gzip_body_is_inflated_off_the_event_loop(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Many tiny members: the costliest gzip per byte (a fresh inflater per member).
    text = _event_of_size(20_000)
    content = b"".join(gzip.compress(text[i : i + 4]) for i in range(0, len(text), 4))
    assert len(content) > 4 * INLINE_GZIP_BYTES
    on_loop = _inflating_threads(content, monkeypatch)
    inline_chunks = INLINE_GZIP_BYTES // 4096
    assert on_loop == [True] * inline_chunks + [False] * (len(on_loop) - inline_chunks)


def test_a_small_gzip_body_is_inflated_on_the_event_loop(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    content = gzip.compress(_event_of_size(30_000))
    assert len(content) < INLINE_GZIP_BYTES
    assert all(_inflating_threads(content, monkeypatch))
