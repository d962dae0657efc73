"""Date ranges in the viewer's timezone, and UTC quarter-hours folded into local days."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from threadline.dashboard.period import QUARTER_HOUR_US, local_date, period_from, zone_named
from threadline.timestamps import to_us

TODAY = date(2026, 3, 29)  # Europe's switch to summer time


def test_presets_end_today_and_unknown_input_falls_back() -> None:
    zone = zone_named("Europe/Berlin")
    week = period_from({"range": "7d"}, zone, TODAY)
    assert (week.first_day, week.last_day, week.key) == (date(2026, 3, 23), TODAY, "7d")
    assert period_from({"range": "5y"}, zone, TODAY).key == "30d"
    assert period_from({"from": "nonsense"}, zone, TODAY).key == "30d"


def test_custom_ranges_are_ordered_and_capped() -> None:
    zone = zone_named("UTC")
    swapped = period_from({"range": "custom", "from": "2026-02-10", "to": "2026-02-01"}, zone)
    assert (swapped.first_day, swapped.last_day) == (date(2026, 2, 1), date(2026, 2, 10))
    long = period_from({"from": "2000-01-01", "to": "2026-01-01"}, zone)
    assert len(long.days) == 366
    previous = swapped.previous()
    assert (previous.first_day, previous.last_day) == (date(2026, 1, 22), date(2026, 1, 31))


def test_local_days_follow_the_zone_through_a_dst_change() -> None:
    period = period_from({"range": "7d"}, zone_named("Europe/Berlin"), TODAY)
    # Summer time starts on the 29th: that local day is 23 hours long.
    assert period.end_us - period.previous().end_us == 7 * 86_400_000_000 - 3_600_000_000
    assert period.start_us == to_us(datetime(2026, 3, 22, 23, tzinfo=UTC))


def test_quarter_hours_fold_into_half_hour_offset_days() -> None:
    period = period_from({"range": "7d"}, zone_named("Asia/Kolkata"), TODAY)
    # 18:15 UTC on the 28th is 23:45 in Kolkata; 18:30 UTC is 00:00 on the 29th.
    late = to_us(datetime(2026, 3, 28, 18, 15, tzinfo=UTC))
    assert late % QUARTER_HOUR_US == 0
    counts = period.fold([(late, 2), (late + QUARTER_HOUR_US, 5), (0, 99)])
    assert counts[-2:] == [2, 5]
    assert sum(counts) == 7  # outside the period: not counted


@pytest.mark.parametrize("zone_name", ["Europe/Berlin", "America/Havana", "Asia/Kolkata", "UTC"])
def test_folding_puts_each_quarter_hour_on_its_local_day(zone_name: str) -> None:
    # Havana's summer time begins at local midnight: the 8th of March 2026 starts at 01:00.
    zone = zone_named(zone_name)
    for today in (TODAY, date(2026, 3, 10), date(2026, 11, 3)):
        period = period_from({"range": "7d"}, zone, today)
        start = period.start_us - 4 * 96 * QUARTER_HOUR_US
        buckets = [(start + n * QUARTER_HOUR_US, n + 1) for n in range(15 * 96)]
        expected = [0] * len(period.days)
        for bucket, count in buckets:
            day = local_date(bucket, zone)
            if period.first_day <= day <= period.last_day:
                expected[(day - period.first_day).days] += count
        assert period.fold(buckets) == expected


def test_unknown_zones_are_utc() -> None:
    assert zone_named("Mars/Olympus").key == "UTC"
    assert zone_named("../../etc/passwd").key == "UTC"
    assert zone_named(None).key == "UTC"
