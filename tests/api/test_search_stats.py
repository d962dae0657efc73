"""GET /query/top-search-queries and GET /query/weekly-search-users (reference §8.3, §8.4,
§10.6, §11.14): searches posted through POST /events, back-filled, then counted."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import pytest
from starlette.testclient import TestClient

from tests.assertions import assert_problem
from tests.conftest import KeyMaker

TOP = "/query/top-search-queries"
WEEKLY = "/query/weekly-search-users"
PATHS = [TOP, WEEKLY]


def search(
    client: TestClient,
    headers: dict[str, str],
    query: str,
    at: str = "2026-02-03T10:00:00Z",
    user: dict[str, Any] | None = None,
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "entityType": "search",
        "type": "search_performed",
        "searchQuery": query,
        "createdAt": at,
    }
    if user is not None:
        body["userProperties"] = user
    response = client.post("/events", json=body, headers=headers)
    assert response.status_code == 200, response.text
    stored: dict[str, Any] = response.json()
    return stored


def stats(client: TestClient, headers: dict[str, str], path: str, query: str = "") -> Any:
    response = client.get(f"{path}{query}", headers=headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    # No `status` key (reference §8.3, §8.4).
    assert set(body) == {"data"} and set(body["data"]) == {"result", "total"}
    return body["data"]


def top(client: TestClient, headers: dict[str, str], query: str = "") -> list[tuple[str, str]]:
    data = stats(client, headers, TOP, query)
    assert all(set(row) == {"search_query", "count"} for row in data["result"])
    return [(row["search_query"], row["count"]) for row in data["result"]]


def weekly(client: TestClient, headers: dict[str, str], query: str = "") -> list[tuple[str, str]]:
    data = stats(client, headers, WEEKLY, query)
    assert data["total"] == len(data["result"])
    assert all(set(row) == {"week", "unique_users"} for row in data["result"])
    return [(row["week"], row["unique_users"]) for row in data["result"]]


def test_top_queries_most_searched_first_ties_by_text(
    client: TestClient, api_headers: dict[str, str]
) -> None:
    for query in ["install"] * 3 + ["pricing", "auth"] * 2 + ["zeta", "Alpha"]:
        search(client, api_headers, query)
    data = stats(client, api_headers, TOP)
    assert data["result"] == [
        {"search_query": "install", "count": "3"},
        {"search_query": "auth", "count": "2"},
        {"search_query": "pricing", "count": "2"},
        {"search_query": "Alpha", "count": "1"},
        {"search_query": "zeta", "count": "1"},
    ]
    assert data["total"] == 5


def test_spellings_of_one_query_are_counted_together(
    client: TestClient, api_headers: dict[str, str]
) -> None:
    spellings = ["Foo ", "foo", "FOO", " foo", "how  to\tinstall ", "How to install", "Ärger"]
    for second, query in enumerate([*spellings, "ärger", "", "   "]):
        search(client, api_headers, query, f"2026-02-03T10:00:{second:02d}Z")
    # The most searched spelling is shown ("foo": twice, once trimmed); on a tie, the first
    # searched ("how to install" was first sent with extra whitespace, shown collapsed).
    assert top(client, api_headers) == [("foo", "4"), ("how to install", "2"), ("Ärger", "2")]
    assert stats(client, api_headers, TOP)["total"] == 3


def test_top_queries_are_the_first_100_of_the_total(
    client: TestClient, api_headers: dict[str, str]
) -> None:
    items = [
        {"kind": "event", "body": {"entityType": "search", "type": "s", "searchQuery": f"q{n:03d}"}}
        for n in range(105)
    ]
    items.append(items[104])  # q104 twice: the most searched, first despite sorting last
    response = client.post("/batch", json={"items": items}, headers=api_headers)
    assert response.status_code == 200, response.text
    data = stats(client, api_headers, TOP)
    assert data["total"] == 105
    assert len(data["result"]) == 100
    assert data["result"][0] == {"search_query": "q104", "count": "2"}
    assert [row["search_query"] for row in data["result"][1:]] == [f"q{n:03d}" for n in range(99)]


def test_other_entity_types_are_ignored(client: TestClient, api_headers: dict[str, str]) -> None:
    user = {"userId": "u1"}
    for body in (
        {"entityType": "message", "type": "copied", "messageId": "m1", "userProperties": user},
        {"entityType": "conversation", "type": "shared", "conversationId": "c1"},
    ):
        assert client.post("/events", json=body, headers=api_headers).status_code == 200
    assert stats(client, api_headers, TOP) == {"result": [], "total": 0}
    assert stats(client, api_headers, WEEKLY) == {"result": [], "total": 0}
    search(client, api_headers, "install", "2026-02-03T10:00:00Z", {"userId": "u2"})
    assert top(client, api_headers) == [("install", "1")]
    assert weekly(client, api_headers) == [("2026-02-02", "1")]


def test_weeks_start_on_monday_midnight_utc(
    client: TestClient, api_headers: dict[str, str]
) -> None:
    # 2026-02-01 is a Sunday, 2026-02-02 a Monday.
    search(client, api_headers, "a", "2026-02-01T23:59:59.999Z", {"userId": "sunday"})
    search(client, api_headers, "a", "2026-02-02T00:00:00Z", {"userId": "monday"})
    search(client, api_headers, "a", "2026-02-08T23:59:59Z", {"userId": "monday"})
    # 00:30 on Monday in Paris is still Sunday in UTC.
    search(client, api_headers, "a", "2026-02-09T00:30:00+01:00", {"userId": "late sunday"})
    search(client, api_headers, "a", "2026-01-26T00:00:00Z", {"userId": "monday"})
    assert weekly(client, api_headers) == [("2026-01-26", "2"), ("2026-02-02", "2")]


def test_weeks_around_and_before_the_epoch(client: TestClient, api_headers: dict[str, str]) -> None:
    # 1970-01-01 was a Thursday; timestamps before it are negative microseconds.
    search(client, api_headers, "a", "1969-12-29T00:00:00Z", {"userId": "u1"})
    search(client, api_headers, "a", "1970-01-01T00:00:01Z", {"userId": "u2"})
    search(client, api_headers, "a", "1970-01-04T23:59:59Z", {"userId": "u3"})
    search(client, api_headers, "a", "1970-01-05T00:00:00Z", {"userId": "u1"})
    search(client, api_headers, "a", "1969-12-28T23:59:59Z", {"userId": "u1"})
    assert weekly(client, api_headers) == [
        ("1969-12-22", "1"),
        ("1969-12-29", "3"),
        ("1970-01-05", "1"),
    ]


def test_users_are_user_id_else_id_compared_as_text(
    client: TestClient, api_headers: dict[str, str]
) -> None:
    users: list[dict[str, Any] | None] = [
        {"userId": 42},
        {"userId": "42", "id": "cookie-1"},  # userId wins over id: still user 42
        {"id": 42},  # no userId: id 42, the same text as userId 42
        {"id": "cookie-2", "identificationType": "COOKIED"},
        {"userId": "", "id": "cookie-2"},  # an empty userId names no one: id
        {"userId": 7.5},
        {"userId": None, "id": None},  # no user
        {"supportAgentName": "Ann"},  # no user
        None,  # no userProperties at all
    ]
    for user in users:
        search(client, api_headers, "a", "2026-02-03T10:00:00Z", user)
    # Anonymous searches only: the week is listed, with no users.
    search(client, api_headers, "a", "2026-02-10T10:00:00Z", {"identificationType": "COOKIED"})
    assert weekly(client, api_headers) == [("2026-02-02", "3"), ("2026-02-09", "0")]


@pytest.mark.parametrize(
    ("after", "top_counts", "weeks"),
    [
        ("", [("q", "4")], [("2026-01-26", "2"), ("2026-02-02", "2")]),
        ("2026-02-01", [("q", "3")], [("2026-01-26", "1"), ("2026-02-02", "2")]),
        ("2026-02-02T00:00:00Z", [("q", "2")], [("2026-02-02", "2")]),
        # 13:00 in Paris is 12:00 UTC: the search at 12:00 UTC counts, the one at 11:59 does not.
        (quote("2026-02-02T13:00:00+01:00"), [("q", "1")], [("2026-02-02", "1")]),
        # The same with its "+" left unencoded, which a query string reads as a space.
        ("2026-02-02T13:00:00+01:00", [("q", "1")], [("2026-02-02", "1")]),
        ("2026-02-02T12:00:00.001Z", [], []),
    ],
)
def test_after_counts_searches_from_that_instant_on(
    client: TestClient,
    api_headers: dict[str, str],
    after: str,
    top_counts: list[tuple[str, str]],
    weeks: list[tuple[str, str]],
) -> None:
    search(client, api_headers, "q", "2026-01-31T23:59:59.999Z", {"userId": "u1"})
    search(client, api_headers, "q", "2026-02-01T00:00:00Z", {"userId": "u2"})
    search(client, api_headers, "q", "2026-02-02T11:59:59Z", {"userId": "u3"})
    search(client, api_headers, "q", "2026-02-02T12:00:00Z", {"userId": "u4"})
    assert top(client, api_headers, f"?after={after}") == top_counts
    assert weekly(client, api_headers, f"?after={after}") == weeks


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize(
    "after",
    [
        "yesterday",
        "2026-02-30",
        "2026-2-1",
        "2026-02-01T10:00:00",
        "1769904000",
        "2026-02-01T25:00Z",
    ],
)
def test_an_unreadable_after_is_400_naming_it(
    client: TestClient, api_headers: dict[str, str], path: str, after: str
) -> None:
    problem = assert_problem(client.get(f"{path}?after={after}", headers=api_headers), 400, path)
    assert problem["detail"].startswith("after ")
    assert [violation["field"] for violation in problem["errors"]] == ["after"]


@pytest.mark.parametrize("path", PATHS)
def test_search_statistics_are_for_api_keys(
    client: TestClient, make_key: KeyMaker, path: str
) -> None:
    assert_problem(client.get(path), 401, path)
    assert_problem(client.get(path, headers={"Authorization": "Bearer tl_api_nope"}), 401, path)
    assert_problem(client.get(path, headers=make_key.headers("web")), 403, path)


def test_another_projects_searches_are_never_counted(
    client: TestClient, make_key: KeyMaker
) -> None:
    docs = make_key.headers("api", "docs")
    other = make_key.headers("api", "other")
    search(client, docs, "install", user={"userId": "u1"})
    other_project = search(client, other, "secret", user={"userId": "u2"})["projectId"]
    search(client, other, "install", user={"userId": "u3"})
    assert top(client, docs) == [("install", "1")]
    assert weekly(client, docs) == [("2026-02-02", "1")]
    # project_id never widens access (reference §10.6): the key's project is answered.
    for query in (f"?project_id={other_project}", "?project_id=proj_unknown", "?project_id="):
        assert top(client, docs, query) == [("install", "1")]
        assert weekly(client, docs, query) == [("2026-02-02", "1")]
    assert top(client, other) == [("install", "1"), ("secret", "1")]
