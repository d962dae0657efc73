"""Schemathesis against the real server, driven by its own /openapi.json: generated requests
(valid and invalid) to every operation must get no 5xx, only documented statuses, content types
and headers, and bodies matching the documented schemas. Bounded and seeded, so CI is
reproducible and takes about a minute per backend."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.e2e.conftest import LiveServer, log_excerpt

pytestmark = pytest.mark.e2e

CHECKS = [
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_headers_conformance",
    "response_schema_conformance",
]
# Generated requests per operation in the fuzzing phase (~250 per backend, ~20 s).
MAX_EXAMPLES = 10
SEED = 20261123
RUN_SECONDS = 240
# The coverage phase (boundary and wrong-type values of every field, ~2,000 requests per backend,
# ~30 s) is what finds the cases random fuzzing rarely draws. Over the query operations it would
# walk every value of their field enums (330 orderBy keys for semantic threads alone: ~7,000 more
# requests), so those get fuzzing only.
CONFIG = """
[[operations]]
include-path-regex = "^/query/"
phases.coverage.enabled = false
"""


def _env() -> dict[str, str]:
    """No proxy from the environment: every request goes straight to 127.0.0.1."""
    proxies = {"http_proxy", "https_proxy", "all_proxy", "no_proxy"}
    env = {k: v for k, v in os.environ.items() if k.lower() not in proxies}
    env["NO_PROXY"] = "*"
    return env


def test_schemathesis_finds_nothing(live_server: LiveServer, tmp_path: Path) -> None:
    key = live_server.create_key("api")
    config = tmp_path / "schemathesis.toml"
    config.write_text(CONFIG)
    command = [
        sys.executable,
        "-m",
        "schemathesis.cli",
        "--config-file",
        str(config),
        "run",
        f"{live_server.base_url}/openapi.json",
        "--header",
        f"Authorization: Bearer {key}",
        "--checks",
        ",".join(CHECKS),
        "--max-examples",
        str(MAX_EXAMPLES),
        "--seed",
        str(SEED),
        "--continue-on-failure",
        "--request-timeout",
        "10",
        "--generation-database",
        "none",
        "--no-color",
    ]
    result = subprocess.run(
        command,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        cwd=tmp_path,  # nothing read from or written to the repository
        env=_env(),
        timeout=RUN_SECONDS,
        check=False,
    )
    if result.returncode != 0:
        pytest.fail(
            f"schemathesis exited with {result.returncode}\n{result.stdout}\n{result.stderr}"
            f"\n{log_excerpt(live_server.log)}",
            pytrace=False,
        )
