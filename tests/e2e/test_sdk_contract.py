"""The official npm SDK (`@inkeep/inkeep-analytics`, pinned in sdk/package.json) against the real
server: sdk/write_calls.mjs drives every write call, sdk/read_calls.mjs the read and delete
calls, sdk/query_calls.mjs the query, export, property and search-statistics calls, and
sdk/semantic_calls.mjs reads threads the insight worker labelled; each fails on any response the
SDK's zod schemas reject. Node.js and npm are required: CI installs
them, so their absence fails, never skips."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.conftest import LiveServer, _child_env, log_excerpt

# One worker runs this module's tests (scripts/test runs pytest-xdist with --dist loadgroup), so
# the session's `npm ci` happens once, not once per worker.
pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("npm-sdk")]

SDK_SOURCE = Path(__file__).parent / "sdk"
SDK_FILES = (
    "package.json",
    "package-lock.json",
    "write_calls.mjs",
    "read_calls.mjs",
    "query_calls.mjs",
    "semantic_calls.mjs",
)
NODE_MAJOR = 20  # package.json "engines"
NPM_CI_SECONDS = 300
SCRIPT_SECONDS = 120
INSIGHTS_RUN_SECONDS = 180  # loads the model, then labels four conversations


def _output(stdout: str | bytes | None, stderr: str | bytes | None) -> str:
    def text(value: str | bytes | None) -> str:
        return value.decode(errors="replace") if isinstance(value, bytes) else value or ""

    return f"--- stdout ---\n{text(stdout)}\n--- stderr ---\n{text(stderr)}"


class _Unavailable(Exception):
    """Node.js or the SDK cannot be set up; the message says why."""


class SdkWorkspace:
    """A scratch copy of tests/e2e/sdk, `npm ci`-ed once per session (no node_modules in the repo).

    Installing happens inside the first test that asks, so a missing Node.js or a failed install
    is that test's failure (not a setup error), and every later test fails with the same message.
    """

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._node: str | None = None
        self._failure: str | None = None

    def install(self) -> tuple[str, Path]:
        """(path of `node`, directory to run the scripts in)."""
        if self._failure is None and self._node is None:
            try:
                self._node = self._install()
            except _Unavailable as exc:
                self._failure = str(exc)
        if self._failure is not None:
            pytest.fail(self._failure)
        assert self._node is not None
        return self._node, self.directory

    def _install(self) -> str:
        node, npm = _tool("node"), _tool("npm")
        version = subprocess.run(
            [node, "--version"], capture_output=True, text=True, timeout=30, check=False
        ).stdout.strip()
        if int(version.lstrip("v").split(".")[0] or 0) < NODE_MAJOR:
            raise _Unavailable(f"Node.js {version!r} is too old: the SDK needs >= {NODE_MAJOR}.")
        for name in SDK_FILES:
            shutil.copyfile(SDK_SOURCE / name, self.directory / name)
        try:
            result = subprocess.run(
                [npm, "ci", "--no-audit", "--no-fund"],
                cwd=self.directory,
                stdin=subprocess.DEVNULL,
                capture_output=True,
                text=True,
                timeout=NPM_CI_SECONDS,
                check=False,
            )
        except subprocess.TimeoutExpired as exc:
            raise _Unavailable(
                f"`npm ci` did not finish within {NPM_CI_SECONDS} s.\n"
                f"{_output(exc.stdout, exc.stderr)}"
            ) from None
        if result.returncode != 0:
            raise _Unavailable(
                f"`npm ci` exited with {result.returncode}.\n"
                f"{_output(result.stdout, result.stderr)}"
            )
        return node


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise _Unavailable(
            f"`{name}` is not on PATH. The SDK contract test needs Node.js >= {NODE_MAJOR} and npm "
            "(CI installs them; locally e.g. `apt-get install nodejs npm`)."
        )
    return path


@pytest.fixture(scope="session")
def sdk(tmp_path_factory: pytest.TempPathFactory) -> SdkWorkspace:
    return SdkWorkspace(tmp_path_factory.mktemp("sdk"))


def _run_node(
    node: str, sdk_dir: Path, script: str, env: dict[str, str], server: LiveServer
) -> str:
    """Runs one SDK script; fails the test unless it exits 0 with no failed check."""
    try:
        result = subprocess.run(
            [node, script],
            cwd=sdk_dir,
            env={**os.environ, **env},
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=SCRIPT_SECONDS,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        pytest.fail(
            f"{script} did not finish within {SCRIPT_SECONDS} s.\n"
            f"{_output(exc.stdout, exc.stderr)}\n--- server log ---\n{server.log}"
        )
    assert result.returncode == 0, (
        f"{script} exited with {result.returncode}.\n"
        f"{_output(result.stdout, result.stderr)}\n--- server log ---\n{server.log}"
    )
    assert result.stdout.rstrip().endswith(" 0 failed"), result.stdout
    return result.stdout


@pytest.mark.parametrize("script", ["write_calls.mjs", "read_calls.mjs", "query_calls.mjs"])
def test_official_sdk_calls(sdk: SdkWorkspace, live_server: LiveServer, script: str) -> None:
    node, sdk_dir = sdk.install()
    env = {
        "THREADLINE_URL": live_server.base_url,
        "THREADLINE_WEB_KEY": live_server.create_key("web"),
        "THREADLINE_API_KEY": live_server.create_key("api"),
    }
    _run_node(node, sdk_dir, script, env, live_server)


@pytest.fixture
def server_without_worker(database_url: str, tmp_path: Path) -> Iterator[LiveServer]:
    """A server whose insight worker is off: the test labels with `threadline insights run`,
    so the threads exist exactly when it says (no polling, no race with a child worker)."""
    server = LiveServer(database_url, tmp_path, env={"THREADLINE_INSIGHTS": "off"})
    try:
        server.wait_until_healthy()
    except BaseException:
        server.kill()
        raise
    yield server
    server.stop_cleanly()


def test_official_sdk_reads_labelled_semantic_threads(
    sdk: SdkWorkspace, server_without_worker: LiveServer
) -> None:
    """Conversations logged through the SDK, labelled by `threadline insights run` beside the
    running server, read back through querySemanticThreads (semantic_calls.mjs)."""
    server = server_without_worker
    node, sdk_dir = sdk.install()
    env = {"THREADLINE_URL": server.base_url, "THREADLINE_API_KEY": server.create_key("api")}
    _run_node(node, sdk_dir, "semantic_calls.mjs", {**env, "THREADLINE_SDK_PHASE": "log"}, server)
    command = ["insights", "run", "--project", "docs", "--database-url", server.database_url]
    labelled = subprocess.run(
        [sys.executable, "-m", "threadline", *command],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        cwd=server.workdir,
        env=_child_env(),
        timeout=INSIGHTS_RUN_SECONDS,
        check=False,
    )
    assert labelled.returncode == 0, _output(labelled.stdout, labelled.stderr)
    assert "4 conversations, 4 threads labelled, 0 failed" in labelled.stderr, (
        f"{_output(labelled.stdout, labelled.stderr)}\n{log_excerpt(server.log)}"
    )
    _run_node(node, sdk_dir, "semantic_calls.mjs", {**env, "THREADLINE_SDK_PHASE": "check"}, server)
