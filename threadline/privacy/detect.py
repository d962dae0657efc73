"""Finding personal data and secrets in text, and replacing each find by a typed placeholder.

Kinds (`threadline projects set --redact ...`):

- email:  local@domain.tld;
- phone:  numbers in international format (a leading + or 00), found and checked against each
          country's numbering plan by `phonenumbers` (Google's libphonenumber), so dates, ids and
          prices, which carry no + or 00, and + followed by an impossible number stay;
- card:   13 to 19 digits, plain or in groups of 4 (Amex 4-6-5), with a card network's prefix
          and a valid Luhn check digit;
- secret: known key formats (AWS, GitHub, Slack, Stripe, OpenAI, Google, threadline's own keys,
          JWTs, PEM private keys), and long random-looking tokens: 24+ characters mixing upper
          case, lower case and digits with high Shannon entropy (uuids and hex digests, which
          are ids, stay);
- ip:     IPv4 (not after "v" or "version", which names a release) and IPv6 (checked with the
          standard library's parser).

No library covers the others well enough to be worth a dependency: detect-secrets scans files
line by line and pulls in requests and PyYAML; scrubadub and Presidio bring NLP models. The
patterns here are small and table-tested (tests/privacy/test_detect.py), positives and negatives.
"""

from __future__ import annotations

import ipaddress
import itertools
import math
import re
from collections import Counter
from collections.abc import Callable, Iterable, Iterator

import phonenumbers

KINDS = ("email", "phone", "card", "secret", "ip")
Span = tuple[int, int]

_EMAIL = re.compile(
    r"(?<![\w.%+-])[A-Za-z0-9][A-Za-z0-9._%+-]*@"
    r"(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?\.)+[A-Za-z]{2,24}(?![\w-])"
)

_KNOWN_SECRETS = re.compile(
    "|".join(
        (
            r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY-----[\s\S]*?"
            r"-----END (?:[A-Z0-9]+ )*PRIVATE KEY-----",
            r"\b(?:AKIA|ASIA|AGPA|AIDA|AROA|ANPA|ANVA)[0-9A-Z]{16}\b",  # AWS access key ids
            r"\bgh[pousr]_[A-Za-z0-9]{36,255}\b",  # GitHub tokens
            r"\bgithub_pat_[A-Za-z0-9_]{22,255}\b",
            r"\bxox[abposr]-[A-Za-z0-9-]{10,}",  # Slack
            r"\b(?:sk|rk)_(?:live|test)_[A-Za-z0-9]{16,}\b",  # Stripe
            r"\bsk-(?:proj-|svcacct-|admin-)?[A-Za-z0-9_-]{20,}",  # OpenAI
            r"\bAIza[0-9A-Za-z_-]{35}\b",  # Google API keys
            r"\btl_(?:api|web)_[A-Za-z0-9_-]{40,}",  # threadline's own keys
            r"\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{16,}",  # JWT
        )
    )
)
# Every known format starts with one of these: plain substring tests (fast) decide whether the
# alternation above (~30 µs on a 300-character text) runs at all.
_SECRET_MARKERS = (
    "-----BEGIN",
    "AKIA",
    "ASIA",
    "AGPA",
    "AIDA",
    "AROA",
    "ANPA",
    "ANVA",
    "ghp_",
    "gho_",
    "ghu_",
    "ghs_",
    "ghr_",
    "github_pat_",
    "xox",
    "sk_",
    "rk_",
    "sk-",
    "AIza",
    "tl_api_",
    "tl_web_",
    "eyJ",
)
# A candidate random token: no separators a sentence or path would have.
_TOKEN = re.compile(r"(?<![A-Za-z0-9+/=_-])[A-Za-z0-9+/=_-]{24,}(?![A-Za-z0-9+/=_-])")
_HEX_ID = re.compile(r"[0-9a-fA-F-]+")
_MIN_ENTROPY = 3.5  # bits per character
_MIN_CLASS_CHANGES = 0.4  # of adjacent character pairs; random tokens ~0.65, camelCase ~0.3

_CARD = re.compile(r"(?<![\d.,-])\d(?:[ -]?\d){12,18}(?![\d-]|[.,]\d)")
_CARD_GROUPS = re.compile(r"\d{4}([ -])\d{4}\1\d{4}\1\d{1,7}|\d{4}([ -])\d{6}\2\d{5}")
# Issuer prefixes of the card networks (Visa, Mastercard, Amex, Discover, Diners, JCB,
# UnionPay, Maestro, Mir): a Luhn-valid order number without one is not a card.
_CARD_PREFIX = re.compile(r"4|5[0-9]|2[2-7]|3[4-9]|30[0-5]|6[0-9]")

_IPV4 = re.compile(
    r"(?<![\w.])(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)"
    r"(?![\w]|\.\d)"
)
_VERSION_BEFORE = re.compile(r"(?:\bv|\bversion\s*|\brelease\s*|\bv\.\s*)$", re.IGNORECASE)
_IPV6 = re.compile(r"(?<![\w:.])(?:[0-9A-Fa-f]{0,4}:){2,7}[0-9A-Fa-f]{0,4}(?![\w:])")
_PHONE_HINT = re.compile(r"\+\s?\(?\d")
# The international call prefix written as 00 (Europe, most of Africa and Asia) before a country
# code, which never starts with 0: in a tel: link; or at the start, after white space or "(",
# with the country code set apart ("0044 20 7946 0958", "(0049) 151…"). Not an unbroken run of
# digits ("Order 0012025550143" is an id) nor after other punctuation ("ID:0049151…"):
# redaction cannot be undone, so a 00 number written without spaces is kept.
_DIALLED_00 = re.compile(r"(?<=[Tt][Ee][Ll]:)00(?=[1-9])|(?<![^\s(])00(?=[1-9]\d{0,2}[\s().-])")


def luhn_valid(digits: str) -> bool:
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = ord(char) - 48
        if index % 2:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return total % 10 == 0


def entropy(text: str) -> float:
    """Shannon entropy of the text's characters, in bits per character."""
    length = len(text)
    return -sum(n / length * math.log2(n / length) for n in Counter(text).values())


def _emails(text: str) -> Iterator[Span]:
    if "@" in text:
        yield from (m.span() for m in _EMAIL.finditer(text))


def _class(char: str) -> int:
    return 0 if char.islower() else 1 if char.isupper() else 2 if char.isdigit() else 3


def random_looking(token: str) -> bool:
    """Whether a long token looks generated rather than written: upper and lower case and at
    least two digits, the character class changing often (camelCase names change at word
    boundaries only, every 5-8 characters) and high entropy. Catches ~90% of 24-character and
    ~99% of 43-character url-safe random tokens (tests/privacy/test_detect.py)."""
    if _HEX_ID.fullmatch(token):  # uuids, digests: ids, not secrets
        return False
    classes = [_class(char) for char in token]
    if classes.count(2) < 2 or 0 not in classes or 1 not in classes:
        return False
    changes = sum(a != b for a, b in itertools.pairwise(classes))
    return changes >= _MIN_CLASS_CHANGES * (len(token) - 1) and entropy(token) >= _MIN_ENTROPY


def _secrets(text: str) -> Iterator[Span]:
    if any(marker in text for marker in _SECRET_MARKERS):
        yield from (m.span() for m in _KNOWN_SECRETS.finditer(text))
    for match in _TOKEN.finditer(text):
        if random_looking(match.group()):
            yield match.span()


def _cards(text: str) -> Iterator[Span]:
    for match in _CARD.finditer(text):
        raw = match.group()
        digits = raw.replace(" ", "").replace("-", "")
        if not 13 <= len(digits) <= 19 or not _CARD_PREFIX.match(digits):
            continue
        if raw != digits and not _CARD_GROUPS.fullmatch(raw):
            continue  # digits grouped otherwise (a phone number, a date run together)
        if luhn_valid(digits):
            yield match.span()


def _ips(text: str) -> Iterator[Span]:
    if "." in text:
        for match in _IPV4.finditer(text):
            if not _VERSION_BEFORE.search(text, max(0, match.start() - 9), match.start()):
                yield match.span()
    if "::" in text or text.count(":") >= 7:
        for match in _IPV6.finditer(text):
            candidate = match.group()
            # "a::b" in code is a valid address too: want a real-looking group or several.
            groups = candidate.split(":")
            if candidate.count(":") < 3 and max(map(len, groups)) < 3:
                continue
            try:
                ipaddress.IPv6Address(candidate)
            except ValueError:
                continue
            yield match.span()


def _phones(text: str) -> Iterator[Span]:
    # "0044 20 7946 0958" is "+44 20 7946 0958" dialled from Europe: its 00 is read as a + (two
    # characters for two, so the matcher's spans stay those of `text`), then given back to it.
    international = _DIALLED_00.sub(" +", text)
    # The matcher costs ~100 µs on a short text; only a "+digit" can start an international one.
    if _PHONE_HINT.search(international):
        for match in phonenumbers.PhoneNumberMatcher(international, None):
            start = match.start
            if text[start] != international[start]:  # the + of a 00: the span takes both 0s
                start -= 1
            yield start, match.end


# In priority order: where finds overlap, the earlier kind's wins (a JWT is not an email).
_DETECTORS: dict[str, Callable[[str], Iterator[Span]]] = {
    "secret": _secrets,
    "email": _emails,
    "card": _cards,
    "ip": _ips,
    "phone": _phones,
}


def parse_kinds(value: str) -> tuple[str, ...]:
    """'email, phone' -> ('email', 'phone') in the canonical order; ValueError naming an
    unknown kind. An empty value means none."""
    asked = {part.strip().lower() for part in value.split(",") if part.strip()}
    unknown = sorted(asked - set(KINDS))
    if unknown:
        raise ValueError(
            f"unknown kind {', '.join(unknown)}: redact takes {', '.join(KINDS)} (or none)"
        )
    return tuple(kind for kind in KINDS if kind in asked)


class Redactor:
    """Replaces what the kinds asked for by `[kind]` placeholders."""

    def __init__(self, kinds: Iterable[str]) -> None:
        self.kinds = tuple(kind for kind in _DETECTORS if kind in set(kinds))

    def __bool__(self) -> bool:
        return bool(self.kinds)

    def finds(self, text: str) -> list[tuple[int, int, str]]:
        """(start, end, kind) of each find, in text order, none overlapping."""
        taken: list[tuple[int, int, str]] = []
        seen = text
        for kind in self.kinds:
            found: list[tuple[int, int, str]] = []
            for start, end in _DETECTORS[kind](seen):
                if all(end <= s or start >= e for s, e, _ in taken + found):
                    found.append((start, end, kind))
            if found:
                taken += found
                # Later kinds see finds as blanks (same length: offsets hold), so an address
                # right after a phone number does not make the number look longer.
                for start, end, _ in found:
                    seen = seen[:start] + " " * (end - start) + seen[end:]
        return sorted(taken)

    def text(self, text: str) -> str:
        finds = self.finds(text)
        if not finds:
            return text
        parts = []
        position = 0
        for start, end, kind in finds:
            parts.append(text[position:start])
            parts.append(f"[{kind}]")
            position = end
        parts.append(text[position:])
        return "".join(parts)
