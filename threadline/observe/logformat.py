"""How log lines look: plain text (the default) or one JSON object a line
(THREADLINE_LOG_FORMAT=json), for every logger of the process, uvicorn's included.

A record may carry `fields` (a request line's requestId, route, status...): the JSON format
puts them beside the message as members of their own, so a log pipeline needs no parsing.
"""

from __future__ import annotations

import datetime
import logging
from typing import Any

import msgspec

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
FORMATS = ("text", "json")


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.datetime.fromtimestamp(record.created, datetime.UTC).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            entry.update(fields)
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return msgspec.json.encode(entry).decode()


def formatter(log_format: str) -> logging.Formatter:
    return JsonFormatter() if log_format == "json" else logging.Formatter(TEXT_FORMAT)


# SQLAlchemy logs each statement once its logger is enabled and, at debug, each row fetched:
# message text and user properties. THREADLINE_LOG_LEVEL=debug is for threadline's own lines.
QUIET_LOGGERS = ("sqlalchemy.engine", "sqlalchemy.pool")


def quiet_libraries() -> None:
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)


def configure_logging(level: str, log_format: str) -> None:
    """One handler on the root logger, to stderr, in the chosen format (replacing any)."""
    handler = logging.StreamHandler()
    handler.setFormatter(formatter(log_format))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    quiet_libraries()
