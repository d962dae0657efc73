"""Timestamps: integer microseconds in storage, RFC 3339 UTC with Z on the wire."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from threadline.ids import new_id, positional_message_id
from threadline.timestamps import now_us, to_iso, to_us, week_start


def test_offsets_are_converted_to_utc() -> None:
    local = datetime(2019, 8, 24, 16, 15, 22, tzinfo=timezone(timedelta(hours=2)))
    assert to_iso(to_us(local)) == "2019-08-24T14:15:22.000Z"


def test_milliseconds_always_and_microseconds_only_when_sent() -> None:
    assert (
        to_iso(to_us(datetime(2026, 2, 1, 10, 0, 0, 123000, tzinfo=UTC)))
        == "2026-02-01T10:00:00.123Z"
    )
    assert (
        to_iso(to_us(datetime(2026, 2, 1, 10, 0, 0, 123456, tzinfo=UTC)))
        == "2026-02-01T10:00:00.123456Z"
    )


def test_server_time_has_millisecond_precision() -> None:
    assert now_us() % 1000 == 0
    assert to_iso(now_us()).endswith("Z")


def test_generated_ids_are_unique_and_time_ordered() -> None:
    ids = [new_id("evt") for _ in range(1000)]
    assert len(set(ids)) == 1000
    assert all(i.startswith("evt_") for i in ids)
    assert new_id("evt")[:15] >= ids[0][:15]


def test_positional_message_ids_are_stable() -> None:
    assert positional_message_id("conv_1", 0) == positional_message_id("conv_1", 0)
    assert positional_message_id("conv_1", 0) != positional_message_id("conv_1", 1)
    assert positional_message_id("conv_1", 0) != positional_message_id("conv_2", 0)


def test_weeks_start_on_monday_midnight_utc() -> None:
    monday = to_us(datetime(2026, 11, 30, tzinfo=UTC))
    sunday_night = to_us(datetime(2026, 12, 6, 23, 59, 59, tzinfo=UTC))
    assert week_start(monday) == monday
    assert week_start(sunday_night) == monday
    assert week_start(monday - 1) == to_us(datetime(2026, 11, 23, tzinfo=UTC))
    # Before the epoch's first Monday (1970-01-05), and before the epoch itself.
    assert week_start(0) == to_us(datetime(1969, 12, 29, tzinfo=UTC))
    assert week_start(to_us(datetime(1969, 12, 31, tzinfo=UTC))) == week_start(0)
