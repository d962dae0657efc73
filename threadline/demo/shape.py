"""How much demo data there is and when it happened: the counts that scale with the number of
events, and the random draws of times (busy weekdays and afternoons, growing traffic) and of
Zipf-skewed ranks (a few users, queries and pages account for most activity)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import itertools
import random

from threadline.timestamps import DAY_US, HOUR_US


def _scaled(events: int, per_million: int, minimum: int) -> int:
    return max(minimum, round(events * per_million / 1_000_000))


@dataclasses.dataclass(frozen=True)
class Shape:
    """Everything that decides the data: the same Shape always generates the same rows."""

    events: int
    conversations: int
    feedback: int
    users: int
    search_queries: int
    pages: int
    days: int
    end_us: int  # the data ends just before this instant (µs since the epoch, UTC)
    seed: int

    @classmethod
    def for_events(cls, events: int, *, end_us: int, days: int = 90, seed: int = 1) -> Shape:
        """The shape of a project with `events` events; every other count scales with it
        (per million events: 50,000 conversations, 20,000 feedback, 20,000 users)."""
        return cls(
            events=events,
            conversations=_scaled(events, 50_000, 10),
            feedback=_scaled(events, 20_000, 5),
            users=_scaled(events, 20_000, 20),
            search_queries=_scaled(events, 5_000, 10),
            pages=300,
            days=days,
            end_us=end_us,
            seed=seed,
        )

    @property
    def start_us(self) -> int:
        return self.end_us - self.days * DAY_US


class Zipf:
    """Ranks 0..n-1 drawn with weight 1 / (rank + 1) ** s."""

    def __init__(self, n: int, s: float) -> None:
        self.cumulative = list(itertools.accumulate(1 / (rank + 1) ** s for rank in range(n)))
        self.population = range(n)

    def draw(self, rng: random.Random, k: int) -> list[int]:
        return rng.choices(self.population, cum_weights=self.cumulative, k=k)


class Clock:
    """Timestamps in the shape's days: weekdays ~2x weekends, afternoons (UTC) busiest, and
    traffic growing from 0.7 to 1.3 of the mean over the period."""

    def __init__(self, shape: Shape) -> None:
        self.start_us = shape.start_us
        self.days = shape.days
        start = dt.datetime.fromtimestamp(shape.start_us / 1e6, dt.UTC)
        weights = []
        for day in range(shape.days):
            weekday = (start + dt.timedelta(days=day)).weekday()
            growth = 0.7 + 0.6 * day / max(1, shape.days - 1)
            weights.append(growth * (0.45 if weekday >= 5 else 1.0))
        self.day_weights = weights
        hours = [0.25 + 2.0 ** (-(((hour - 15) / 4) ** 2)) for hour in range(24)]
        self.cumulative_days = list(itertools.accumulate(weights))
        self.cumulative_hours = list(itertools.accumulate(hours))

    def draw(self, rng: random.Random, k: int) -> list[int]:
        """k instants anywhere in the period (millisecond precision, in µs)."""
        days = rng.choices(range(self.days), cum_weights=self.cumulative_days, k=k)
        offsets = self.within_day(rng, k)
        return [self.start_us + d * DAY_US + at for d, at in zip(days, offsets, strict=True)]

    def within_day(self, rng: random.Random, k: int) -> list[int]:
        """k offsets into a day (µs), afternoons busiest."""
        hours = rng.choices(range(24), cum_weights=self.cumulative_hours, k=k)
        return [h * HOUR_US + int(rng.random() * 3_600_000) * 1000 for h in hours]

    def split(self, total: int, rng: random.Random) -> list[int]:
        """`total` spread over the days by their weights, each jittered by ±10%."""
        jittered = [w * rng.uniform(0.9, 1.1) for w in self.day_weights]
        scale = total / sum(jittered)
        counts = [int(w * scale) for w in jittered]
        for day in range(total - sum(counts)):  # hand out what rounding down left over
            counts[day % self.days] += 1
        return counts


def day_of(us: int) -> int:
    return us // DAY_US * DAY_US
