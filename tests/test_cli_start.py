"""`threadline serve` starting up: an unreachable database is one line and no banner; the
banner comes once the socket is bound, with the port the system gave for --port 0."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx2 as httpx
import pytest
from click.testing import CliRunner

from tests.conftest import BACKENDS
from tests.store.test_reach import unreachable_url
from threadline.cli import main

STARTUP_SECONDS = 30.0


@pytest.fixture(autouse=True)
def _elsewhere(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    for name in [n for n in os.environ if n.startswith("THREADLINE_")]:
        monkeypatch.delenv(name)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize(
    "command",
    [["serve"], ["migrate"], ["keys", "list"], ["insights", "run"], ["insights", "work"]],
)
def test_an_unreachable_database_is_one_line_and_no_banner(
    backend: str, command: list[str], tmp_path: Path
) -> None:
    url = unreachable_url(backend, tmp_path)
    result = CliRunner(env={"THREADLINE_INSIGHTS": "off"}).invoke(
        main, [*command, "--database-url", url]
    )
    assert result.exit_code == 1, result.output
    (line,) = result.stderr.splitlines()
    assert line.startswith("Error: cannot reach the database ")
    assert line.endswith("(--wait-for-database SECONDS waits for it)")
    assert "listening" not in result.output and result.stdout == ""


@pytest.mark.parametrize("command", [["serve"], ["insights", "run"], ["insights", "work"]])
def test_a_command_waits_for_the_database_as_told(command: list[str], tmp_path: Path) -> None:
    url = unreachable_url("sqlite", tmp_path)
    result = CliRunner().invoke(
        main, [*command, "--database-url", url, "--wait-for-database", "0.3"]
    )
    assert result.exit_code == 1, result.output
    *retries, last = result.stderr.splitlines()
    assert retries and all(line.startswith("database not reachable yet (") for line in retries)
    assert re.search(r"\(tried \d+ times in 0.3 s\)$", last), last


def test_the_banner_comes_once_the_socket_is_bound(database_url: str, tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("THREADLINE_")}
    env.update(THREADLINE_INSIGHTS="off", THREADLINE_ANALYTICS="off", PYTHONUNBUFFERED="1")
    command = [sys.executable, "-m", "threadline", "serve", "--port", "0"]
    process = subprocess.Popen(
        [*command, "--database-url", database_url],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        cwd=tmp_path,
        env=env,
    )
    try:
        assert process.stderr is not None
        deadline = time.monotonic() + STARTUP_SECONDS
        seen = []
        while time.monotonic() < deadline and (line := process.stderr.readline()):
            seen.append(line)
            found = re.match(r"threadline \S+ listening on (http://127\.0\.0\.1:(\d+))$", line)
            if found:
                break
        else:
            pytest.fail("no banner:\n" + "".join(seen))
        assert int(found.group(2)) > 0
        # Bound before the banner: the first request, at once, is answered.
        assert httpx.get(found.group(1) + "/health", trust_env=False).status_code == 200
    finally:
        process.send_signal(signal.SIGTERM)
        code = process.wait(timeout=STARTUP_SECONDS)
        assert process.stderr is not None
        process.stderr.close()
    assert code == 0
