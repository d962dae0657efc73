"""`serve`'s logging: one handler on stderr, text or one JSON object a line, SQLAlchemy's
statement (and row) logging kept off."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator

import pytest

from threadline.observe.logformat import QUIET_LOGGERS, configure_logging


@pytest.fixture
def restored_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    quiet = {name: logging.getLogger(name).level for name in QUIET_LOGGERS}
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
    for name, was in quiet.items():
        logging.getLogger(name).setLevel(was)


@pytest.mark.usefixtures("restored_logging")
def test_json_lines_carry_a_request_lines_fields(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("debug", "json")
    fields = {"requestId": "req_1", "route": "/events", "status": 200, "project": None}
    logging.getLogger("threadline.access").info("POST /events 200", extra={"fields": fields})
    try:
        raise ValueError("boom")
    except ValueError:
        logging.getLogger("threadline.test").exception("failed")
    assert logging.getLogger("sqlalchemy.engine").getEffectiveLevel() == logging.WARNING
    lines = [json.loads(line) for line in capsys.readouterr().err.splitlines()]
    assert lines[0]["logger"] == "threadline.access" and lines[0]["level"] == "info"
    assert lines[0]["message"] == "POST /events 200"
    assert {k: lines[0][k] for k in fields} == fields
    assert lines[1]["level"] == "error" and "ValueError: boom" in lines[1]["exception"]


@pytest.mark.usefixtures("restored_logging")
def test_text_is_the_default_format(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("info", "text")
    logging.getLogger("threadline.test").info("hello")
    logging.getLogger("threadline.test").debug("not at info")
    (line,) = capsys.readouterr().err.splitlines()
    assert line.endswith(" INFO threadline.test: hello")
