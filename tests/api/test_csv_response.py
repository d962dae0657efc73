"""Every CSV export answers as an attachment that no cache may store (issue 18)."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from threadline.api.query import PATHS


@pytest.mark.parametrize("view", sorted(PATHS))
def test_exports_are_attachments_never_stored(
    client: TestClient, api_headers: dict[str, str], view: str
) -> None:
    path = PATHS[view]
    response = client.post(f"{path}/export", json={}, headers=api_headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert response.headers["cache-control"] == "no-store"
    filename = path.rsplit("/", 1)[-1] + ".csv"
    assert response.headers["content-disposition"] == f'attachment; filename="{filename}"'
