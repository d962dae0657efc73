"""Durations as people write them on a command line: 90d, 24h, 30m, 45s, 2w (or 0)."""

from __future__ import annotations

import re

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86_400, "w": 7 * 86_400}
_DURATION = re.compile(r"(\d+(?:\.\d+)?)([smhdw])")
EXPECTED = "a number and a unit: s, m, h, d or w (90d, 24h, 30m)"


def parse_duration(text: str) -> float:
    """Seconds in `text`; "0" alone needs no unit. Raises ValueError saying what is expected."""
    cleaned = text.strip().lower()
    if cleaned == "0":
        return 0.0
    found = _DURATION.fullmatch(cleaned)
    if found is None:
        raise ValueError(f"{text!r} is not a duration: give {EXPECTED}")
    return float(found.group(1)) * _UNITS[found.group(2)]
