"""Redaction at ingest: a project that asked for it never has the personal data on disk (tables,
idempotency answers) or in the logs; a change of the setting reaches a running server within 5 s."""

from __future__ import annotations

import logging
import time
from typing import Any

import msgspec
import pytest
from click.testing import CliRunner
from starlette.testclient import TestClient

from tests.assertions import snapshot
from tests.conftest import KeyMaker
from threadline.cli import main
from threadline.privacy.detect import KINDS, Redactor
from threadline.privacy.redact import redact_body
from threadline.store.engine import Database
from threadline.wire.conversations import OpenAIConversationIn

EMAIL, PHONE, CARD = "jane.roe@example.com", "+44 20 7946 0958", "4111 1111 1111 1111"
SECRET, IP = "sk_live_4eC39HqLyjWDarjtT1zdp7dc", "203.0.113.9"
PERSONAL = (EMAIL, PHONE, CARD, SECRET, IP, "jane.roe", "7946 0958", "4eC39HqLyjWDarjtT1zdp7dc")
SAYS = f"I am {EMAIL}, call {PHONE}, card {CARD}, key {SECRET}, from {IP}"


def _cli(*args: str) -> Any:
    result = CliRunner().invoke(main, list(args))
    assert result.exit_code == 0, result.output
    return result


def _writes(headers: dict[str, str]) -> list[tuple[str, dict[str, Any], dict[str, str]]]:
    conversation = {
        "id": "c1",
        "type": "openai",
        "properties": {"contact": {"emails": [EMAIL], "note": SAYS}, "count": 3},
        "userProperties": {"id": "u-17", "supportAgentEmail": EMAIL, "ip": IP},
        "messages": [
            {"id": "m1", "role": "user", "content": SAYS, "userProperties": {"userId": "u-17"}},
            {"id": "m2", "role": "user", "content": [{"type": "text", "text": SAYS}]},
            {"id": "m3", "role": "assistant", "content": "Sure."},
        ],
    }
    feedback = {
        "id": "f1",
        "type": "negative",
        "messageId": "m3",
        "details": SAYS,
        "reasons": [{"label": "Wrong", "details": SAYS}],
        "properties": {"page": SAYS},
    }
    event = {"id": "e1", "type": "search", "entityType": "search", "searchQuery": SAYS}
    batch = {
        "items": [
            {"kind": "event", "body": {**event, "id": "e2", "properties": {"q": SAYS}}},
            {"kind": "feedback", "body": {**feedback, "id": "f2"}},
        ]
    }
    idempotent = {**headers, "Idempotency-Key": "k1"}
    return [
        ("/conversations", conversation, idempotent),
        ("/feedback", feedback, headers),
        ("/events", event, headers),
        ("/batch", batch, {**headers, "Idempotency-Key": "k2"}),
    ]


def test_a_redacting_project_never_stores_or_logs_the_personal_data(
    client: TestClient,
    make_key: KeyMaker,
    db: Database,
    database_url: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    headers = make_key.headers("api", project="docs")
    _cli(
        "projects",
        "set",
        "--project",
        "docs",
        "--redact",
        ",".join(KINDS),
        "--database-url",
        database_url,
    )
    listed = _cli("projects", "list", "--database-url", database_url).stdout
    assert listed.splitlines()[1].endswith("\temail,phone,card,secret,ip")
    caplog.set_level(logging.DEBUG)
    answers = []
    for path, body, with_headers in _writes(headers):
        response = client.post(path, json=body, headers=with_headers)
        assert response.status_code == 200, response.text
        answers.append(response.text)
    conversation = client.get("/conversations/c1", headers=headers).json()
    placeholders = "I am [email], call [phone], card [card], key [secret], from [ip]"
    assert [m["content"] for m in conversation["messages"]] == [
        placeholders,
        [{"type": "text", "text": placeholders}],
        "Sure.",
    ]
    assert conversation["userProperties"] == {
        "id": "u-17",
        "supportAgentEmail": "[email]",
        "ip": "[ip]",
    }
    assert conversation["properties"]["contact"] == {"emails": ["[email]"], "note": placeholders}
    assert conversation["properties"]["count"] == 3
    stored = str(snapshot(db))
    seen = "\n".join([stored, *answers, caplog.text])
    assert [p for p in PERSONAL if p in seen] == []
    assert stored.count(placeholders) >= 8  # 2 messages, 4 feedback texts, 2 search queries
    # A replay hands out the redacted answer it stored.
    path, body, with_headers = _writes(headers)[0]
    replay = client.post(path, json=body, headers=with_headers)
    assert replay.headers["idempotent-replayed"] == "true" and EMAIL not in replay.text

    # A project that did not ask keeps what it was sent.
    other = make_key.headers("api", project="plain")
    client.post(
        "/events", json={"type": "s", "entityType": "search", "searchQuery": SAYS}, headers=other
    )
    assert SAYS in str(snapshot(db)["events"])


def test_a_change_reaches_the_running_server_within_5_seconds(
    client: TestClient, make_key: KeyMaker, database_url: str
) -> None:
    headers = make_key.headers("api", project="docs")
    event = {"type": "s", "entityType": "search", "searchQuery": EMAIL}

    def stored_query() -> str:
        response = client.post("/events", json=event, headers=headers)
        assert response.status_code == 200
        return str(response.json()["searchQuery"])

    assert stored_query() == EMAIL  # the server has now read the settings: none
    args = ["projects", "set", "--project", "docs", "--redact", "email"]
    _cli(*args, "--database-url", database_url)
    deadline = time.monotonic() + 5.0
    while stored_query() != "[email]":
        assert time.monotonic() < deadline, "--redact email not applied within 5 s"
        time.sleep(0.05)


def test_unknown_kinds_are_refused_naming_them(database_url: str) -> None:
    args = ["projects", "set", "--project", "docs", "--redact", "email,names"]
    result = CliRunner().invoke(main, [*args, "--database-url", database_url])
    assert result.exit_code == 2 and "unknown kind names" in result.output


def test_the_users_identity_is_kept_for_ownership_and_erasure() -> None:
    body = msgspec.json.decode(
        msgspec.json.encode(
            {
                "type": "openai",
                "userProperties": {"id": EMAIL, "userId": EMAIL, "name": EMAIL},
                "messages": [{"role": "user", "content": EMAIL, "name": "x", "links": None}],
            }
        ),
        type=OpenAIConversationIn,
    )
    redacted = redact_body(body, Redactor(["email"]))
    assert redacted.userProperties == {"id": EMAIL, "userId": EMAIL, "name": "[email]"}
    assert redacted.messages[0].content == "[email]"
