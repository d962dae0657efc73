"""The optional LLM labeller against a local stub of the chat-completions API: labels from the
model's JSON, the local labels on every kind of failure and beyond the rate and the daily cap,
the key sent as a Bearer header and never logged, and nothing sent for projects not opted in."""

from __future__ import annotations

import dataclasses
import http.server
import json
import logging
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import select
from starlette.testclient import TestClient

from tests.conftest import KeyMaker
from tests.insights.conftest import conversation, make_thread
from threadline.cli import main
from threadline.config import settings_from_env
from threadline.insights.embed import Embedder
from threadline.insights.labels import label_thread
from threadline.insights.llm import LlmConfig, LlmLabeller
from threadline.insights.llm.prompt import MAX_ANSWER_CHARS, MAX_USER_CHARS
from threadline.insights.model import EMOTIONS, QUESTION_TYPES, SENTIMENTS, ProjectVocabulary
from threadline.insights.worker import Worker
from threadline.store import insight_queue
from threadline.store.engine import Database
from threadline.store.tables import semantic_threads
from threadline.timestamps import now_us

KEY = "sk-test-0123456789-secret"
STALL = "stall"
VOCABULARY = ProjectVocabulary(product_names=("Skyport", "Skyport CLI"))
THREAD = make_thread(
    "Wie konfiguriere ich SSO mit Okta in Skyport?",
    "I'm not sure; the docs do not cover Okta.",
)
ANSWER: dict[str, Any] = {
    "languages": ["DE-de", "en"],
    "sentiment": "positive",
    "emotion": "curious",
    "questionType": "how_to",
    "isOnTopic": True,
    "isClear": True,
    "isAnswerConfident": False,
    "isDocumented": False,
    "isFeatureSupported": None,
    "gapSummary": "The docs do not explain SSO with Okta.",
    "firstPartyEntities": ["Skyport", " Skyport "],
    "thirdPartyEntities": ["Okta"],
}


def completion(content: str) -> dict[str, Any]:
    return {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": content},
                "finish_reason": "stop",
            }
        ],
    }


class Stub:
    """The chat-completions API of an OpenAI-compatible server, recording every request.
    Each request takes the next of `replies` ((status, body) or STALL), else `default`."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, dict[str, str], Any]] = []
        self.replies: list[Any] = []
        self.default: Any = (200, completion(json.dumps(ANSWER)))
        self.release = threading.Event()
        self.base_url = ""

    def reply(self) -> Any:
        return self.replies.pop(0) if self.replies else self.default

    def questions(self) -> list[str]:
        return [
            json.loads(b["messages"][1]["content"])["userMessages"][0] for _, _, b in self.requests
        ]


class _Handler(http.server.BaseHTTPRequestHandler):
    server: _Server

    def do_POST(self) -> None:
        stub = self.server.stub
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        stub.requests.append((self.path, dict(self.headers.items()), body))
        reply = stub.reply()
        if reply == STALL:  # until the test is over: the client times out first
            stub.release.wait()
            return
        status, payload = reply
        data = payload.encode() if isinstance(payload, str) else json.dumps(payload).encode()
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        except OSError:  # the client gave up
            pass

    def log_message(self, format: str, *args: Any) -> None:
        pass


class _Server(http.server.ThreadingHTTPServer):
    stub: Stub


@pytest.fixture
def stub() -> Iterator[Stub]:
    server = _Server(("127.0.0.1", 0), _Handler)
    server.stub = Stub()
    server.stub.base_url = f"http://127.0.0.1:{server.server_address[1]}/v1"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.stub
    server.stub.release.set()
    server.shutdown()
    server.server_close()
    thread.join()


def config(stub: Stub, **changes: Any) -> LlmConfig:
    return dataclasses.replace(
        LlmConfig(base_url=stub.base_url, model="tiny-labeller", api_key=KEY), **changes
    )


def test_labels_come_from_the_models_json_and_the_request_is_constrained(stub: Stub) -> None:
    labeller = LlmLabeller(config(stub))
    labels = labeller(THREAD, VOCABULARY)
    assert labels.languages == ("de", "en")
    assert (labels.sentiment, labels.emotion, labels.question_type) == (
        "positive",
        "curious",
        "how_to",
    )
    assert labels.gap_summary == "The docs do not explain SSO with Okta."
    assert labels.first_party_entities == ("Skyport",)
    assert labels.third_party_entities == ("Okta",)
    assert labels != label_thread(THREAD, VOCABULARY)
    assert (labeller.labelled, sum(labeller.fallbacks.values())) == (1, 0)

    [(path, headers, body)] = stub.requests
    assert path == "/v1/chat/completions"
    assert headers["Authorization"] == f"Bearer {KEY}"
    assert body["model"] == "tiny-labeller"
    response_format = body["response_format"]
    assert response_format["type"] == "json_schema"
    assert response_format["json_schema"]["strict"] is True
    schema = response_format["json_schema"]["schema"]
    assert schema["additionalProperties"] is False
    assert sorted(schema["required"]) == sorted(ANSWER)
    properties = schema["properties"]
    assert sorted(properties["sentiment"]["enum"]) == sorted(SENTIMENTS)
    assert sorted(properties["emotion"]["enum"]) == sorted(EMOTIONS)
    assert sorted(properties["questionType"]["enum"]) == sorted(QUESTION_TYPES)
    sent = json.loads(body["messages"][1]["content"])
    assert sent["userMessages"] == [THREAD.question]
    assert sent["assistantAnswer"] == THREAD.answer
    assert sent["productNames"] == ["Skyport", "Skyport CLI"]


def test_the_answer_is_normalised_to_the_vocabularys_rules(stub: Stub) -> None:
    # Off topic: no gap summary and no feature support, whatever the model says; an on-topic
    # gap without a summary gets the local one-sentence summary.
    off_topic = {**ANSWER, "isOnTopic": False, "isFeatureSupported": True}
    no_summary = {**ANSWER, "gapSummary": None}
    stub.replies = [(200, completion(json.dumps(a))) for a in (off_topic, no_summary)]
    labeller = LlmLabeller(config(stub))
    first = labeller(THREAD, VOCABULARY)
    assert (first.gap_summary, first.is_feature_supported) == (None, None)
    second = labeller(THREAD, VOCABULARY)
    assert second.gap_summary and second.gap_summary == label_thread(THREAD, VOCABULARY).gap_summary
    assert sum(labeller.fallbacks.values()) == 0


@pytest.mark.parametrize(
    "reply",
    [
        (500, {"error": {"message": "overloaded"}}),
        (401, {"error": {"message": "bad key"}}),
        (200, "<html>not json</html>"),
        (200, {"choices": []}),
        (200, completion("this is not JSON")),
        (200, completion(json.dumps({**ANSWER, "sentiment": "angry"}))),
        (200, completion(json.dumps({**ANSWER, "languages": ["english"]}))),
        (200, completion(json.dumps({k: v for k, v in ANSWER.items() if k != "isClear"}))),
        (200, completion(json.dumps({**ANSWER, "extra": 1}))),
    ],
    ids=[
        "http-500",
        "http-401",
        "not-json",
        "no-choices",
        "content-not-json",
        "enum-violation",
        "bad-language",
        "missing-field",
        "unknown-field",
    ],
)
def test_any_failure_falls_back_to_the_local_labels(stub: Stub, reply: Any) -> None:
    stub.replies = [reply]
    labeller = LlmLabeller(config(stub))
    assert labeller(THREAD, VOCABULARY) == label_thread(THREAD, VOCABULARY)
    assert len(stub.requests) == 1
    assert (labeller.labelled, sum(labeller.fallbacks.values())) == (0, 1)


def test_a_stalled_endpoint_times_out_to_the_local_labels(stub: Stub) -> None:
    stub.replies = [STALL]
    labeller = LlmLabeller(config(stub, timeout_seconds=0.05))
    assert labeller(THREAD, VOCABULARY) == label_thread(THREAD, VOCABULARY)
    assert labeller.fallbacks == {"request": 1}


def test_an_endpoint_that_is_not_http_is_never_opened(stub: Stub) -> None:
    labeller = LlmLabeller(config(stub, base_url="file:///etc"))
    assert labeller(THREAD, VOCABULARY) == label_thread(THREAD, VOCABULARY)
    assert labeller.fallbacks == {"request": 1}


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000 * 86_400.0 + 3600

    def __call__(self) -> float:
        return self.now


def test_beyond_the_rate_limit_threads_are_labelled_locally(stub: Stub) -> None:
    clock = Clock()
    labeller = LlmLabeller(config(stub, max_requests_per_minute=2), clock=clock)
    local = label_thread(THREAD, VOCABULARY)
    results = [labeller(THREAD, VOCABULARY) for _ in range(3)]
    assert [r == local for r in results] == [False, False, True]
    assert len(stub.requests) == 2 and labeller.fallbacks == {"rate_limit": 1}
    clock.now += 61  # a minute later the rate allows requests again
    assert labeller(THREAD, VOCABULARY) != local
    assert len(stub.requests) == 3


def test_beyond_the_daily_cap_threads_are_labelled_locally_until_the_next_day(
    stub: Stub,
) -> None:
    clock = Clock()
    labeller = LlmLabeller(
        config(stub, max_requests_per_minute=0, max_threads_per_day=2), clock=clock
    )
    for _ in range(4):
        labeller(THREAD, VOCABULARY)
    assert len(stub.requests) == 2 and labeller.fallbacks == {"daily_cap": 2}
    clock.now += 86_400
    labeller(THREAD, VOCABULARY)
    assert len(stub.requests) == 3


def test_what_is_sent_is_bounded(stub: Stub) -> None:
    huge = "x" * 50_000
    thread = make_thread(huge, huge, huge, huge)
    LlmLabeller(config(stub))(thread, VOCABULARY)
    sent = json.loads(stub.requests[0][2]["messages"][1]["content"])
    assert sum(len(m) for m in sent["userMessages"]) <= MAX_USER_CHARS + 1
    assert len(sent["assistantAnswer"]) <= MAX_ANSWER_CHARS + 1


def test_the_key_is_never_logged(stub: Stub, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    stub.replies = [(500, {"error": KEY}), STALL, (200, completion(KEY))]
    labeller = LlmLabeller(config(stub, timeout_seconds=0.05))
    for _ in range(4):
        labeller(THREAD, VOCABULARY)
    assert [h["Authorization"] for _, h, _ in stub.requests] == [f"Bearer {KEY}"] * 4
    assert caplog.records and KEY not in caplog.text
    settings = settings_from_env(
        {"THREADLINE_LLM_BASE_URL": stub.base_url, "THREADLINE_LLM_MODEL": "m"},
        llm_api_key=KEY,
    )
    assert KEY not in repr(settings) and KEY not in repr(LlmConfig.from_settings(settings))


def test_settings_come_from_the_environment_and_are_off_by_default() -> None:
    assert LlmConfig.from_settings(settings_from_env({})) is None
    assert LlmConfig.from_settings(settings_from_env({"THREADLINE_LLM_MODEL": "m"})) is None
    env = {
        "THREADLINE_LLM_BASE_URL": "http://127.0.0.1:1/v1",
        "THREADLINE_LLM_MODEL": "m",
        "THREADLINE_LLM_API_KEY": KEY,
        "THREADLINE_LLM_MAX_REQUESTS_PER_MINUTE": "7",
        "THREADLINE_LLM_MAX_THREADS_PER_DAY": "70",
        "THREADLINE_LLM_TIMEOUT_SECONDS": "2.5",
    }
    assert LlmConfig.from_settings(settings_from_env(env)) == LlmConfig(
        base_url="http://127.0.0.1:1/v1",
        model="m",
        api_key=KEY,
        max_requests_per_minute=7,
        max_threads_per_day=70,
        timeout_seconds=2.5,
    )


# Through the worker, on both backends: one project opted in, one not.

DOCS_QUESTION = "How do I configure SSO with Okta in Skyport?"
OTHER_QUESTION = "How do I rotate my API key?"


def _post(client: TestClient, headers: dict[str, str], body: dict[str, Any]) -> None:
    response = client.post("/conversations", json=body, headers=headers)
    assert response.status_code in (200, 201), response.text


def _opt(database_url: str, project: str, llm: str) -> None:
    result = CliRunner().invoke(
        main,
        ["projects", "set", "--project", project, "--llm", llm, "--database-url", database_url],
    )
    assert result.exit_code == 0, result.output


def _sentiments(db: Database) -> dict[str, str]:
    t = semantic_threads.c
    with db.reader.connect() as connection:
        return {q: s for q, s in connection.execute(select(t.question, t.sentiment))}


def test_only_opted_in_projects_are_sent_through_the_worker(
    stub: Stub,
    client: TestClient,
    make_key: KeyMaker,
    db: Database,
    database_url: str,
    embedder: Embedder,
) -> None:
    docs, other = make_key.headers("api", "docs"), make_key.headers("api", "other")
    _opt(database_url, "docs", "on")
    _post(client, docs, conversation("d1", ("user", DOCS_QUESTION), ("assistant", "Not sure.")))
    _post(client, other, conversation("o1", ("user", OTHER_QUESTION), ("assistant", "Rotate.")))
    labeller = LlmLabeller(config(stub))
    worker = Worker(db, llm_labeller=labeller, embedder=embedder)
    worker.step(now_us() + insight_queue.DEBOUNCE_US + 1_000_000)
    assert stub.questions() == [DOCS_QUESTION]
    # The opted-in project's thread has the model's labels, the other the local ones.
    assert _sentiments(db) == {DOCS_QUESTION: "positive", OTHER_QUESTION: "neutral"}

    # Opted out again: a new turn is labelled locally and nothing more is sent.
    _opt(database_url, "docs", "off")
    _post(
        client,
        docs,
        conversation(
            "d1",
            ("user", DOCS_QUESTION),
            ("assistant", "Not sure."),
            ("user", "that didn't work"),
        ),
    )
    worker.step(now_us() + 2 * (insight_queue.DEBOUNCE_US + 1_000_000))
    assert stub.questions() == [DOCS_QUESTION]
    assert _sentiments(db)[DOCS_QUESTION] != "positive"


def test_insights_run_takes_the_llm_flags(
    stub: Stub, client: TestClient, make_key: KeyMaker, database_url: str
) -> None:
    _post(
        client,
        make_key.headers("api", "docs"),
        conversation("d1", ("user", DOCS_QUESTION), ("assistant", "Not sure.")),
    )
    args = ["insights", "run", "--database-url", database_url, "--llm-base-url", stub.base_url]
    args += ["--llm-model", "tiny-labeller", "--llm-max-threads-per-day", "5"]
    # Not opted in: the flags alone send nothing.
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    assert stub.requests == [] and "LLM: 0 threads labelled" in result.output
    # Opted in: the unchanged conversation is offered to the model; it fails, so the thread
    # keeps local labels, and the next run offers it again.
    _opt(database_url, "docs", "on")
    stub.replies = [(503, {"error": "overloaded"})]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    assert stub.questions() == [DOCS_QUESTION]
    assert "LLM: 0 threads labelled, 1 labelled locally" in result.output
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    assert stub.questions() == [DOCS_QUESTION] * 2
    assert "LLM: 1 threads labelled, 0 labelled locally" in result.output
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    assert len(stub.requests) == 2 and "LLM: 0 threads labelled" in result.output


def test_projects_set_needs_something_to_set(database_url: str) -> None:
    result = CliRunner().invoke(
        main, ["projects", "set", "--project", "docs", "--database-url", database_url]
    )
    assert (
        result.exit_code == 2
        and "--product-names, --llm, --retention-days, --redact or several" in result.output
    )
