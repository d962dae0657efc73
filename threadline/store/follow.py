"""Following an ever-growing `seq` without missing a row.

One writer commits in seq order, and `seq > cursor` finds every new row. Several writers (two
threadline instances on one PostgreSQL) commit out of order: seq 7 may commit after seq 8 was
read. So a seq skipped over is remembered as a gap and asked for again on every sync until it
shows up or GAP_WAIT has passed (a rolled-back transaction, or an insert that met a conflict,
uses up a sequence value for good). Transactions here last milliseconds; GAP_WAIT is generous.
"""

from __future__ import annotations

import bisect
import dataclasses
import logging
from typing import Any

from sqlalchemy import ColumnElement, or_

log = logging.getLogger(__name__)

GAP_WAIT = 30.0  # seconds
MAX_GAPS = 10_000


@dataclasses.dataclass
class Follower:
    cursor: int = 0
    gaps: dict[int, float] = dataclasses.field(default_factory=dict)  # seq -> first missed

    def newer(self, seq: ColumnElement[Any]) -> ColumnElement[bool]:
        """Rows not yet seen: beyond the cursor, or in a gap still awaited."""
        if not self.gaps:
            return seq > self.cursor
        return or_(seq > self.cursor, seq.in_(sorted(self.gaps)))

    def saw(self, seqs: list[int], now: float) -> None:
        """These rows have been copied (seqs ascending, as read)."""
        if self.gaps:
            for seq in seqs:
                self.gaps.pop(seq, None)
        top = seqs[-1] if seqs else self.cursor
        if top > self.cursor:
            # Ascending: those beyond the cursor are the tail (a build sees a million at once).
            missing = top - self.cursor - (len(seqs) - bisect.bisect_right(seqs, self.cursor))
            if missing > MAX_GAPS:
                log.warning("%d sequence values skipped at once; not waiting for them", missing)
            elif missing:
                seen = set(seqs)
                for seq in range(self.cursor + 1, top):
                    if seq not in seen:
                        self.gaps[seq] = now
            self.cursor = top
        for seq, since in list(self.gaps.items()):
            if now - since > GAP_WAIT:
                del self.gaps[seq]
        if len(self.gaps) > MAX_GAPS:  # keep the newest
            for seq in sorted(self.gaps)[: len(self.gaps) - MAX_GAPS]:
                del self.gaps[seq]
