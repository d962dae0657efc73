"""What redaction finds and what it must leave alone: a table of positives and negatives."""

from __future__ import annotations

import secrets

import pytest

from threadline.privacy.detect import KINDS, Redactor, luhn_valid, parse_kinds, random_looking

ALL = Redactor(KINDS)

# (text, what it becomes with every kind on)
REDACTED = [
    # email
    ("write to jane.doe@example.com today", "write to [email] today"),
    ("JANE_DOE+support@mail.example.co.uk", "[email]"),
    ("<a.b-c@sub.domain.io>", "<[email]>"),
    ("mailto:ops@example.org?subject=hi", "mailto:[email]?subject=hi"),
    # phone, international format
    ("call +1 (415) 555-2671 now", "call [phone] now"),
    ("+44 20 7946 0958", "[phone]"),
    ("my mobile is +49 151 23456789.", "my mobile is [phone]."),
    ("+33 1 42 68 53 00 or +81 3-1234-5678", "[phone] or [phone]"),
    ("whatsapp:+919876543210", "whatsapp:[phone]"),
    # ... or with the 00 dialled for + in Europe and elsewhere
    ("call 0044 20 7946 0958 now", "call [phone] now"),
    ("0049 151 23456789; 0033 1 42 68 53 00.", "[phone]; [phone]."),
    ("tel:0041446681800", "tel:[phone]"),
    ("(0049) 151 23456789 or 0044-20-7946-0958", "[phone] or [phone]"),
    # card (Luhn-valid, with a network's prefix)
    ("visa 4111 1111 1111 1111 exp 12/27", "visa [card] exp 12/27"),
    ("4111-1111-1111-1111", "[card]"),
    ("mc 5555555555554444", "mc [card]"),
    ("amex 3782 822463 10005", "amex [card]"),
    ("discover 6011111111111117.", "discover [card]."),
    # secret: known formats
    ("key AKIAIOSFODNN7EXAMPLE in env", "key [secret] in env"),
    ("ghp_" + "A1b2C3d4" * 4 + "wxyz", "[secret]"),
    ("github_pat_11ABCDEFG0123456789_abcdefghijklmnop", "[secret]"),
    ("SLACK=xoxb-123456789012-1234567890123-AbCdEfGh", "SLACK=[secret]"),
    ("sk_live_4eC39HqLyjWDarjtT1zdp7dc", "[secret]"),
    ("OPENAI_API_KEY=sk-proj-abcdefghijklmnopqrstuvwxyz0123", "OPENAI_API_KEY=[secret]"),
    ("AIzaSyA-1234567890abcdefghijklmnopqrstu", "[secret]"),
    (
        "Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0."
        "dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U",
        "Bearer [secret]",
    ),
    (
        "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA\nabc/def+\n"
        "-----END RSA PRIVATE KEY----- ok",
        "[secret] ok",
    ),
    ("-----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY-----", "[secret]"),
    ("tl_api_" + "Ab3dE6gH9jK2mN5pQ8sT1vW4yZ7bC0eF3hJ6kL9nP2q", "[secret]"),
    # secret: a long random token
    ("token Zx8Qp2LmN4vR7tY1wK9sB3dF6hJ0 here", "token [secret] here"),
    # ip
    ("from 192.168.1.20 and 8.8.8.8", "from [ip] and [ip]"),
    ("host 2001:db8::8a2e:370:7334 up", "host [ip] up"),
    ("fe80::1ff:fe23:4567:890a, fe80::1", "[ip], [ip]"),
    ("2001:0db8:85a3:0000:0000:8a2e:0370:7334", "[ip]"),
    # several at once
    ("jane@example.com +1 415 555 2671 10.0.0.1", "[email] [phone] [ip]"),
]

# Text that must come through unchanged, whatever is on.
KEPT = [
    "released on 2024-05-01 at 12:30:45",
    "on 01/05/2024, 5/1/24 or 2024.05.01",
    "version 2.3.1, v1.2.3.4, version 10.0.0.1, release 1.2.3.4",
    "Python 3.11.7 and node v20.11.1",
    "uuid 123e4567-e89b-12d3-a456-426614174000",
    "commit 3f786850e387550fdab836ed7e6dc881de23001b",
    "sha256 e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "order 1234567890123456 and order #4111111111111112",  # Luhn-invalid
    "invoice 9876543210987654",  # no card network starts with 9
    "price $1,299.99, €1.299,99 or 1 299,99 zł",
    "total 4111.11 USD",
    "call 415-555-2671 or (415) 555-2671",  # national format: not international
    "build +20240501 or +123",  # a + before an impossible number
    "ids 12345678, 000123456789 and 2024000123",
    "order 00123, v1.0044 2079460958, id 100442079460958 and 0012 34",  # no 00-dialled number
    "ID:004915112345678, #004915112345678, x-004915112345678",  # ids, not numbers dialled
    "Order 0012025550143 shipped, invoice 0033612345678, serial 00493012345678",  # unbroken
    "ISBN 978-3-16-148410-0",
    "12:30, 10:20:30, std::vector, a::b",
    "the docs/getting-started/installation-guide page",
    "getConversationByExternalIdAndProject1 and XMLHttpRequestFactory2024v2",
    "CONVERSATION_ID_2024_05_01_ABC",
    "user@localhost and @mention",
    "sk-ab",
    "meeting room 10.20.30",
    "[email] [phone] [card] [secret] [ip]",
]


@pytest.mark.parametrize(("text", "expected"), REDACTED)
def test_redacted(text: str, expected: str) -> None:
    assert ALL.text(text) == expected


@pytest.mark.parametrize("text", KEPT)
def test_kept(text: str) -> None:
    assert ALL.text(text) == text


def test_only_the_kinds_asked_for_are_redacted() -> None:
    text = "jane@example.com +44 20 7946 0958 4111111111111111 AKIAIOSFODNN7EXAMPLE 8.8.8.8"
    assert Redactor(["email"]).text(text).split() == [
        "[email]",
        "+44",
        "20",
        "7946",
        "0958",
        "4111111111111111",
        "AKIAIOSFODNN7EXAMPLE",
        "8.8.8.8",
    ]
    assert Redactor(["card", "ip"]).text(text).endswith("[card] AKIAIOSFODNN7EXAMPLE [ip]")
    assert not Redactor([])


def test_luhn() -> None:
    assert luhn_valid("4111111111111111") and luhn_valid("79927398713")
    assert not luhn_valid("4111111111111112") and not luhn_valid("79927398710")


def test_most_random_tokens_are_found() -> None:
    # The entropy rule is a net under the known formats: it catches most generated tokens and
    # leaves identifiers written by people (KEPT above). 43-character url-safe tokens (32 bytes).
    tokens = [secrets.token_urlsafe(32) for _ in range(500)]
    assert sum(map(random_looking, tokens)) >= 475


def test_kinds_parse_in_order_and_unknown_ones_are_named() -> None:
    assert parse_kinds(" IP, email,phone ") == ("email", "phone", "ip")
    assert parse_kinds("") == ()
    with pytest.raises(ValueError, match="unknown kind names"):
        parse_kinds("email,names")
