"""POST /feedback, as seed 000 and reference §6.1 describe it."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from tests.assertions import assert_refused, count
from tests.conftest import KeyMaker
from tests.contract import FEEDBACK_KEYS, SEED_FEEDBACK_REQUEST
from threadline.store.engine import Database

SEED_REQUEST = SEED_FEEDBACK_REQUEST
RESPONSE_KEYS = FEEDBACK_KEYS


def test_seed_example_gets_the_documented_answer(
    client: TestClient, api_headers: dict[str, str]
) -> None:
    response = client.post("/feedback", json=SEED_REQUEST, headers=api_headers)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert set(body) == RESPONSE_KEYS
    expected = {**SEED_REQUEST, "createdAt": "2019-08-24T14:15:22.000Z"}
    assert {k: body[k] for k in expected} == expected
    assert body["details"] is None and body["sources"] is None
    assert body["updatedAt"].endswith("Z") and "T" in body["updatedAt"]


def test_minimal_feedback_gets_an_id_and_server_time(
    client: TestClient, api_headers: dict[str, str]
) -> None:
    body = client.post(
        "/feedback", json={"type": "negative", "messageId": "m1"}, headers=api_headers
    ).json()
    assert body["id"].startswith("fb_")
    assert body["createdAt"] == body["updatedAt"]
    assert body["reasons"] is None and body["properties"] is None
    assert body["userProperties"] is None


def test_web_keys_may_send_feedback(client: TestClient, web_headers: dict[str, str]) -> None:
    # Browser widgets have one web key and send thumbs with it (widget §6.2).
    response = client.post(
        "/feedback", json={"type": "positive", "messageId": "m1"}, headers=web_headers
    )
    assert response.status_code == 200


def test_a_client_id_makes_it_an_upsert(
    client: TestClient, api_headers: dict[str, str], db: Database
) -> None:
    first = client.post("/feedback", json=SEED_REQUEST, headers=api_headers).json()
    flipped = client.post(
        "/feedback",
        json={"id": "string", "type": "negative", "messageId": "string"},
        headers=api_headers,
    ).json()
    assert count(db, "feedback") == 1
    assert flipped["id"] == first["id"]
    assert flipped["type"] == "negative"
    # What the update left out keeps its stored value; the creation time stays.
    assert flipped["reasons"] == SEED_REQUEST["reasons"]
    assert flipped["userProperties"] == SEED_REQUEST["userProperties"]
    assert flipped["createdAt"] == first["createdAt"]
    assert flipped["updatedAt"] >= first["updatedAt"]


def test_an_explicit_null_clears_a_stored_value(
    client: TestClient, api_headers: dict[str, str]
) -> None:
    client.post("/feedback", json=SEED_REQUEST, headers=api_headers)
    body = client.post(
        "/feedback",
        json={"id": "string", "type": "positive", "messageId": "string", "reasons": None},
        headers=api_headers,
    ).json()
    assert body["reasons"] is None


def test_sdk_only_fields_round_trip(client: TestClient, api_headers: dict[str, str]) -> None:
    sent = {
        "type": "negative",
        "messageId": "m1",
        "details": "The answer was outdated",
        "sources": [
            {"type": "negative", "title": "Old page", "url": "https://docs.example.com/old"},
            {"type": None},
        ],
        "updatedAt": "2026-02-01T10:00:00.123+01:00",
    }
    body = client.post("/feedback", json=sent, headers=api_headers).json()
    assert body["details"] == sent["details"]
    assert body["sources"] == sent["sources"]
    assert body["updatedAt"] == "2026-02-01T09:00:00.123Z"


def test_a_reason_without_details_is_kept_with_empty_details(
    client: TestClient, api_headers: dict[str, str]
) -> None:
    # Third-party clients omit details; refusing would lose their feedback (reference §11.15).
    body = client.post(
        "/feedback",
        json={"type": "negative", "messageId": "m1", "reasons": [{"label": "inaccurate"}]},
        headers=api_headers,
    ).json()
    assert body["reasons"] == [{"label": "inaccurate", "details": ""}]


def test_unknown_keys_are_tolerated(client: TestClient, web_headers: dict[str, str]) -> None:
    response = client.post(
        "/feedback",
        json={"type": "positive", "messageId": "m1", "eventName": "x", "comment": {"a": 1}},
        headers=web_headers,
    )
    assert response.status_code == 200


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({"messageId": "m1"}, ["$.type"]),
        ({"type": "meh", "messageId": "m1"}, ["$.type"]),
        ({"type": "positive"}, ["$.messageId"]),
        ({"type": "positive", "messageId": "m1", "id": ""}, ["$.id"]),
        ({"type": "positive", "messageId": 5}, ["$.messageId"]),
        (
            {"type": "positive", "messageId": "m", "createdAt": "2019-08-24T14:15:22"},
            ["$.createdAt"],
        ),
        ({"type": "positive", "messageId": "m", "createdAt": "yesterday"}, ["$.createdAt"]),
        (
            {"type": "positive", "messageId": "m", "reasons": [{"details": "x"}]},
            ["$.reasons[0].label"],
        ),
        ({"type": "positive", "messageId": "m", "properties": []}, ["$.properties"]),
        (
            {"type": "positive", "messageId": "m", "userProperties": {"id": {}}},
            ["$.userProperties.id"],
        ),
        (
            {"type": "positive", "messageId": "m", "sources": [{"title": "t"}]},
            ["$.sources[0].type"],
        ),
        (
            {"type": "meh", "reasons": "no", "userProperties": {"userId": []}},
            ["$.messageId", "$.reasons", "$.type", "$.userProperties.userId"],
        ),
    ],
)
def test_invalid_feedback_names_every_violation_and_changes_nothing(
    client: TestClient,
    api_headers: dict[str, str],
    db: Database,
    body: dict[str, object],
    fields: list[str],
) -> None:
    client.post("/feedback", json=SEED_REQUEST, headers=api_headers)
    assert_refused(client, db, "/feedback", body, api_headers, fields)


def test_feedback_ids_are_per_project(client: TestClient, make_key: KeyMaker, db: Database) -> None:
    docs = make_key.headers("api", project="docs")
    shop = make_key.headers("api", project="shop")
    client.post("/feedback", json=SEED_REQUEST, headers=docs)
    other = client.post(
        "/feedback", json={"id": "string", "type": "negative", "messageId": "x"}, headers=shop
    ).json()
    assert other["type"] == "negative"
    assert other["reasons"] is None  # nothing of the docs project's feedback leaked
    again = client.post("/feedback", json=SEED_REQUEST, headers=docs).json()
    assert again["type"] == "positive"
    assert count(db, "feedback") == 2
