"""GET /health and GET /ready."""

from __future__ import annotations

from starlette.testclient import TestClient

from tests.assertions import assert_problem
from threadline.app import create_app
from threadline.config import Settings
from threadline.services import Services


def test_health_answers(client: TestClient) -> None:
    response = client.get("/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_ready_when_the_database_answers(client: TestClient, database_url: str) -> None:
    response = client.get("/ready")
    assert response.status_code == 200
    assert response.json()["database"] == database_url.split(":")[0].split("+")[0]


def test_not_ready_when_the_database_is_unreachable() -> None:
    # Nothing listens on port 1: connecting is refused at once.
    settings = Settings(database_url="postgresql://postgres@127.0.0.1:1/none")
    services = Services.create(settings)
    with TestClient(create_app(settings, services)) as client:
        assert client.get("/health").status_code == 200
        body = assert_problem(client.get("/ready"), 503, "/ready")
        assert "database" in body["detail"]
        assert client.get("/ready").headers["retry-after"] == "1"
    services.database.dispose()
