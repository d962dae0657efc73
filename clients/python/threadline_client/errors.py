"""The client's errors.

    ThreadlineClientError
    ├── ApiError(status, problem)   the server answered with an error status
    └── TransportFailed             no answer after every retry (network, server down)

The background queue never raises them into the host application: it counts (Stats).
"""

from __future__ import annotations

from typing import Any


class ThreadlineClientError(Exception):
    """Anything this client raises."""


class ApiError(ThreadlineClientError):
    """An error answer; `problem` is its problem+json body (`detail`, `errors`) when it had one."""

    def __init__(self, status: int, problem: dict[str, Any] | None, text: str = "") -> None:
        self.status = status
        self.problem = problem or {}
        detail = self.problem.get("detail") or self.problem.get("title") or text[:200]
        super().__init__(f"HTTP {status}: {detail}")


class TransportFailed(ThreadlineClientError):
    """Every attempt failed without an answer that could be trusted."""
