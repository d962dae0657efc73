"""The kinds of rule a setting can have: each turns an environment variable's text into a value
and says, in one phrase, what a valid value is (threadline.config gives every setting one)."""

from __future__ import annotations

import abc
import dataclasses
import ipaddress
import math
import re
from typing import Any

_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off"})
# As DuckDB reads a memory limit: a number and a unit (1GB, 512MiB, 0.5TB).
_SIZE = re.compile(r"\d+(\.\d+)?\s*(B|KB|MB|GB|TB|KIB|MIB|GIB|TIB)", re.IGNORECASE)
# A browser's Origin header: a scheme and a host with an optional port, never a path.
_ORIGIN = re.compile(r"https?://[^/\s?#]+")
_DATABASE_SCHEMES = ("sqlite", "sqlite+pysqlite", "postgresql", "postgres", "postgresql+psycopg")


class Rule:
    """What a valid value is. `parse` reads an environment variable's text; `valid` judges a
    value however it came (a variable, a flag, or Settings(...) in code)."""

    def expects(self) -> str:
        """The rule in words, completing "must be ..."."""
        return "text"

    def parse(self, raw: str) -> Any:
        return raw

    def valid(self, value: Any) -> bool:
        return isinstance(value, str)


@dataclasses.dataclass(frozen=True)
class Whole(Rule):
    low: int
    high: int | None = None

    def expects(self) -> str:
        if self.high is None:
            return f"a whole number, at least {self.low}"
        return f"a whole number from {self.low} to {self.high}"

    def parse(self, raw: str) -> Any:
        try:
            return int(raw.strip())
        except ValueError:
            return raw  # not a number: `valid` refuses it with the rule's words

    def valid(self, value: Any) -> bool:
        if not isinstance(value, int) or isinstance(value, bool):
            return False
        return value >= self.low and (self.high is None or value <= self.high)


@dataclasses.dataclass(frozen=True)
class Number(Rule):
    low: float
    high: float | None = None
    # What the number counts ("seconds"), for the message.
    unit: str = ""
    # The low end itself is refused (a share of 0 would never work).
    above_low: bool = False

    def expects(self) -> str:
        what = f"a number of {self.unit}" if self.unit else "a number"
        low = f"above {self.low:g}" if self.above_low else f"at least {self.low:g}"
        if self.high is None:
            return f"{what}, {low}"
        return f"{what}, {low} and at most {self.high:g}"

    def parse(self, raw: str) -> Any:
        try:
            return float(raw.strip())
        except ValueError:
            return raw

    def valid(self, value: Any) -> bool:
        if not isinstance(value, (int, float)) or isinstance(value, bool):
            return False
        if not math.isfinite(value) or value < self.low or (self.above_low and value == self.low):
            return False
        return self.high is None or value <= self.high


class Flag(Rule):
    def expects(self) -> str:
        return "on or off (also true/false, yes/no, 1/0)"

    def parse(self, raw: str) -> Any:
        word = raw.strip().lower()
        if word in _TRUE:
            return True
        if word in _FALSE:
            return False
        return raw

    def valid(self, value: Any) -> bool:
        return isinstance(value, bool)


class Choice(Rule):
    def __init__(self, *options: str) -> None:
        self.options = options

    def expects(self) -> str:
        return "one of " + ", ".join(self.options)

    def parse(self, raw: str) -> Any:
        return raw.strip().lower()

    def valid(self, value: Any) -> bool:
        return value in self.options


@dataclasses.dataclass(frozen=True)
class Text(Rule):
    empty_ok: bool = True

    def expects(self) -> str:
        return "any text" if self.empty_ok else "not empty"

    def valid(self, value: Any) -> bool:
        return isinstance(value, str) and (self.empty_ok or value.strip() != "")


class DatabaseUrl(Rule):
    def expects(self) -> str:
        return "sqlite:///path.db or postgresql://user:password@host:5432/db"

    def valid(self, value: Any) -> bool:
        if not isinstance(value, str):
            return False
        scheme, separator, rest = value.partition("://")
        return separator == "://" and scheme.lower() in _DATABASE_SCHEMES and rest != ""


class HttpUrl(Rule):
    def expects(self) -> str:
        return "empty, or an http:// or https:// URL"

    def valid(self, value: Any) -> bool:
        return value == "" or (isinstance(value, str) and bool(re.match(r"https?://\S+$", value)))


class Size(Rule):
    def expects(self) -> str:
        return "an amount of memory such as 512MB or 2GB"

    def valid(self, value: Any) -> bool:
        return isinstance(value, str) and _SIZE.fullmatch(value.strip()) is not None


class _Items(Rule, abc.ABC):
    """A comma-separated list (a tuple in Settings), each item judged by `item_valid`."""

    def parse(self, raw: str) -> Any:
        return tuple(part.strip() for part in raw.split(",") if part.strip())

    def valid(self, value: Any) -> bool:
        return isinstance(value, tuple) and all(
            isinstance(item, str) and self.item_valid(item) for item in value
        )

    @abc.abstractmethod
    def item_valid(self, item: str) -> bool:
        """Whether one item of the list is valid (each kind of list says)."""


class Origins(_Items):
    def expects(self) -> str:
        return "* or comma-separated origins such as https://docs.example.com (no path, no /)"

    def item_valid(self, item: str) -> bool:
        return item == "*" or _ORIGIN.fullmatch(item) is not None


class Networks(_Items):
    def expects(self) -> str:
        return "comma-separated IP addresses or CIDR ranges such as 10.0.0.0/8"

    def item_valid(self, item: str) -> bool:
        try:
            ipaddress.ip_network(item, strict=False)
        except ValueError:
            return False
        return True
