"""Follower: new rows past a cursor, and rows committed out of order (several writers)."""

from __future__ import annotations

from sqlalchemy import column

from threadline.store.follow import GAP_WAIT, Follower


def test_in_order_rows_move_the_cursor() -> None:
    follower = Follower()
    follower.saw([1, 2, 3], now=0.0)
    assert (follower.cursor, follower.gaps) == (3, {})


def test_a_skipped_seq_is_asked_for_again_until_it_arrives() -> None:
    follower = Follower()
    follower.saw([1, 2, 5], now=0.0)
    assert follower.cursor == 5 and set(follower.gaps) == {3, 4}
    follower.saw([4], now=1.0)  # committed late by another instance
    assert set(follower.gaps) == {3}


def test_a_gap_is_given_up_after_gap_wait() -> None:
    follower = Follower(cursor=10)
    follower.saw([12], now=0.0)
    follower.saw([], now=GAP_WAIT / 2)
    assert set(follower.gaps) == {11}
    follower.saw([], now=GAP_WAIT + 1)
    assert follower.gaps == {}


def test_newer_asks_for_the_gaps_too() -> None:

    follower = Follower(cursor=7, gaps={5: 0.0})
    clause = follower.newer(column("seq"))
    compiled = str(clause.compile(compile_kwargs={"literal_binds": True}))
    assert "seq > 7" in compiled and "IN (5)" in compiled
