"""What an import did, per kind: how many records it imported, skipped and refused, and why."""

from __future__ import annotations

import collections
import dataclasses
from typing import Literal

Outcome = Literal["imported", "skipped", "refused"]
OUTCOMES: tuple[Outcome, ...] = ("imported", "skipped", "refused")
# Refusals named one by one in the summary; beyond these only their reasons are counted.
MAX_NAMED = 20


@dataclasses.dataclass
class Tally:
    counts: dict[str, collections.Counter[Outcome]] = dataclasses.field(default_factory=dict)
    # (kind, outcome, reason) -> how many records it covers.
    reasons: collections.Counter[tuple[str, Outcome, str]] = dataclasses.field(
        default_factory=collections.Counter
    )
    # The first refusals, each naming its record ("conversation conv_1", "events.ndjson:12").
    named: list[str] = dataclasses.field(default_factory=list)

    def add(self, kind: str, outcome: Outcome, count: int = 1, reason: str | None = None) -> None:
        if count <= 0:
            return
        self.counts.setdefault(kind, collections.Counter())[outcome] += count
        if reason is not None:
            self.reasons[(kind, outcome, reason)] += count

    def refuse(self, kind: str, where: str, reason: str) -> None:
        self.add(kind, "refused")
        self.reasons[(kind, "refused", _short(reason))] += 1
        if len(self.named) < MAX_NAMED:
            self.named.append(f"{where}: {reason}")

    def count(self, kind: str, outcome: Outcome) -> int:
        return self.counts.get(kind, collections.Counter())[outcome]

    def lines(self) -> list[str]:
        """The summary printed at the end of an import."""
        out = []
        for kind, counter in self.counts.items():
            out.append(f"{kind}: " + ", ".join(f"{counter[o]} {o}" for o in OUTCOMES))
        for (kind, outcome, reason), count in sorted(self.reasons.items()):
            out.append(f"  {kind} {outcome} ({count}): {reason}")
        if self.named:
            out.append("refused records (first ones):")
            out.extend(f"  {line}" for line in self.named)
        return out


def _short(reason: str) -> str:
    # Reasons are grouped by their first line; ids in them would make every group one record.
    return reason.splitlines()[0][:200] if reason else "refused"
