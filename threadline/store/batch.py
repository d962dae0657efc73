"""One writer job for all the good items of a POST /batch: one transaction, one commit.

Event writes go in together as one executemany. Every other item runs inside a savepoint, so an
item that cannot be applied (a 422) is rolled back alone and the others still commit.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.exc import OperationalError, SQLAlchemyError

from threadline.errors import InternalError, ThreadlineError
from threadline.store.events import EventWrite, insert_events

log = logging.getLogger(__name__)

# An item is a writer job, or the error it was already refused with (it is passed through).
Item = Callable[[Connection], Any] | ThreadlineError


@dataclasses.dataclass(frozen=True)
class BatchWrite:
    items: list[Item]

    def __call__(self, connection: Connection) -> list[Any]:
        """Each item's result, or the ThreadlineError it was refused with."""
        outcomes: list[Any] = list(self.items)
        events = [i for i, item in enumerate(self.items) if isinstance(item, EventWrite)]
        if events:
            stored = insert_events(connection, [self.items[i] for i in events])  # type: ignore[misc]
            for index, row in zip(events, stored, strict=True):
                outcomes[index] = row
        for index, item in enumerate(self.items):
            if isinstance(item, ThreadlineError | EventWrite):
                continue
            outcomes[index] = _in_savepoint(connection, item)
        return outcomes


def _in_savepoint(connection: Connection, job: Callable[[Connection], Any]) -> Any:
    try:
        with connection.begin_nested():
            return job(connection)
    except ThreadlineError as exc:
        return exc
    except OperationalError:
        raise  # the database itself failed: the whole batch is refused with 503
    except SQLAlchemyError:
        log.exception("batch item failed")
        return InternalError()
