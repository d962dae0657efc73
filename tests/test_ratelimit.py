"""Per-key rate limits (threadline.ratelimit): the bucket's arithmetic, and 429 through the app."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from tests.assertions import assert_problem, snapshot
from tests.conftest import KeyMaker
from threadline.app import create_app
from threadline.config import Settings, settings_from_env
from threadline.errors import TooManyRequests
from threadline.ratelimit import RateLimiter
from threadline.store.engine import Database

EVENT = {"type": "t", "messageId": "m1", "entityType": "message"}


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_burst_passes_then_requests_are_refused_until_tokens_refill() -> None:
    clock = FakeClock()
    limiter = RateLimiter(2, 3, clock=clock)
    assert [limiter.take("k") for _ in range(3)] == [0.0, 0.0, 0.0]
    assert limiter.take("k") == pytest.approx(0.5)  # one token comes back every 1/2 s
    clock.now += 0.25
    assert limiter.take("k") == pytest.approx(0.25)  # refusals take nothing
    clock.now += 0.25
    assert limiter.take("k") == 0.0
    assert limiter.take("k") == pytest.approx(0.5)


def test_an_idle_bucket_refills_to_the_burst_and_no_further() -> None:
    clock = FakeClock()
    limiter = RateLimiter(1, 2, clock=clock)
    limiter.take("k")
    limiter.take("k")
    clock.now += 3600
    assert [limiter.take("k") for _ in range(3)] == [0.0, 0.0, pytest.approx(1.0)]


def test_keys_have_buckets_of_their_own() -> None:
    limiter = RateLimiter(1, 1, clock=FakeClock())
    assert limiter.take("a") == 0.0
    assert limiter.take("a") > 0
    assert limiter.take("b") == 0.0


@pytest.mark.parametrize(("per_second", "burst"), [(0.5, 1), (2, 2), (2.5, 3), (100, 100)])
def test_the_burst_defaults_to_one_seconds_worth(per_second: float, burst: int) -> None:
    assert RateLimiter(per_second).burst == burst


@pytest.mark.parametrize("per_second", [0, -1])
def test_a_limiter_needs_a_positive_rate(per_second: float) -> None:
    with pytest.raises(ValueError, match="positive"):
        RateLimiter(per_second)


@pytest.mark.parametrize(
    ("per_second", "waited", "retry_after"),
    [(2, 0.0, "1"), (0.5, 0.0, "2"), (0.1, 0.0, "10"), (0.1, 9.5, "1"), (0.25, 1.0, "3")],
)
def test_check_refuses_with_retry_after_in_whole_seconds_rounded_up(
    per_second: float, waited: float, retry_after: str
) -> None:
    clock = FakeClock()
    limiter = RateLimiter(per_second, 1, clock=clock)
    limiter.check("k")
    clock.now += waited
    with pytest.raises(TooManyRequests) as refused:
        limiter.check("k")
    assert refused.value.headers == {"Retry-After": retry_after}
    assert refused.value.retry_after == int(retry_after)
    assert refused.value.status == 429


def test_the_least_recently_used_bucket_is_forgotten_past_max_keys() -> None:
    limiter = RateLimiter(1, 1, max_keys=2, clock=FakeClock())
    limiter.take("a")
    limiter.take("b")
    assert limiter.take("a") > 0  # "a" is now the most recently used
    limiter.take("c")  # a third key: "b" is forgotten
    assert limiter.take("a") > 0
    assert limiter.take("b") == 0.0  # back with a full bucket


def test_the_settings_come_from_the_environment_and_default_to_off() -> None:
    assert Settings().rate_limit_per_second == 0
    settings = settings_from_env(
        {"THREADLINE_RATE_LIMIT_PER_SECOND": "2.5", "THREADLINE_RATE_LIMIT_BURST": "10"}
    )
    assert (settings.rate_limit_per_second, settings.rate_limit_burst) == (2.5, 10)


def test_over_the_limit_a_key_gets_429_and_other_keys_do_not(
    database_url: str, make_key: KeyMaker, db: Database
) -> None:
    # 0.1/s: the bucket cannot refill a token while the test runs, however slow the machine.
    settings = Settings(database_url=database_url, rate_limit_per_second=0.1, rate_limit_burst=2)
    # Two keys of the same project: the limit is per key.
    limited, other = make_key.headers("api"), make_key.headers("web")
    with TestClient(create_app(settings)) as client:
        for _ in range(2):
            assert client.post("/events", json=EVENT, headers=limited).status_code == 200
        before = snapshot(db)
        response = client.post(
            "/events", json=EVENT, headers={**limited, "Origin": "https://docs.example.com"}
        )
        body = assert_problem(response, 429, "/events")
        assert snapshot(db) == before
        assert 1 <= int(response.headers["retry-after"]) <= 10
        assert "Retry-After" in response.headers["access-control-expose-headers"]
        assert "0.1 requests per second" in body["detail"]
        for _ in range(2):
            assert client.post("/events", json=EVENT, headers=other).status_code == 200
        # Refusals that come before the key is known are not counted, and stay 401.
        unknown = {"Authorization": "Bearer tl_api_unknown"}
        for _ in range(3):
            assert_problem(client.post("/events", json=EVENT, headers=unknown), 401, "/events")


def test_by_default_nothing_is_rate_limited(
    client: TestClient, api_headers: dict[str, str]
) -> None:
    for _ in range(30):
        assert client.post("/events", json=EVENT, headers=api_headers).status_code == 200
