"""Entities: the project's names and third-party names, whole words, canonical casing."""

from __future__ import annotations

import pytest

from threadline.insights.labels.entities import (
    build_gazetteer,
    find_entities,
    third_party_gazetteer,
)

OWN = ("Skyport", "Skyport CLI", "Skyport Postgres", "skyport.toml")


@pytest.mark.parametrize(
    ("text", "third"),
    [
        ("How do I configure SAML with okta and terraform?", ("Okta", "Terraform")),
        ("Deploying from GitHub Actions to AWS", ("AWS", "GitHub Actions")),
        ("we use next.js and node.js", ("Next.js", "Node.js")),
        ("Certificates come from Let's Encrypt", ("Let's Encrypt",)),
        ("It is Redis-compatible", ("Redis",)),
        ("my docker-compose file", ("Docker Compose",)),
        ("Run `npm install -g skyport`", ("npm",)),
        ("It's written in Go and Rust.", ("Go", "Rust")),
        ("We moved from PlanetScale to NeonTech", ("NeonTech", "PlanetScale")),
        ("Socket.IO and C++ and C#", ("C#", "C++", "Socket.IO")),
    ],
)
def test_third_party(text: str, third: tuple[str, ...]) -> None:
    assert find_entities(text, OWN)[1] == third


@pytest.mark.parametrize(
    "text",
    [
        "Go to Settings and go back.",  # sentence-initial and lowercase: the verb
        "Les builds disposent de 8 Go de mémoire.",  # a unit after a number
        "I'll go with a rusty old setup, the windows are open",
        "See https://github.com/acme/okta-terraform for details",  # URLs are not mentions
        "```\nimport stripe\n```",  # neither are fenced code blocks
        "X-Skyport-Signature header",  # nor the middle of a compound
        "Use WebSockets with most enterprise IdPs",
    ],
)
def test_not_names(text: str) -> None:
    assert find_entities(text, ()) == ((), ())


def test_first_party_longest_match_and_casing() -> None:
    first, third = find_entities(
        "Can I use skyport postgres from the Skyport CLI? And SKYPORT's skyport.toml?", OWN
    )
    assert first == ("Skyport", "Skyport CLI", "Skyport Postgres", "skyport.toml")
    assert third == ()
    # The project's name wins over a gazetteer entry of the same spelling.
    assert find_entities("We deploy on Render", ("Render",)) == (("Render",), ())
    # A Postgres inside the product's name is not a third-party mention.
    assert find_entities("Skyport Postgres is down", OWN) == (("Skyport Postgres",), ())
    assert find_entities("Postgres is down", OWN) == ((), ("PostgreSQL",))


def test_gazetteer_is_large_and_well_formed() -> None:
    gazetteer = third_party_gazetteer()
    canonical = {name for name, _own in gazetteer.insensitive.values()} | {
        name for name, _own in gazetteer.sensitive.values()
    }
    assert len(canonical) >= 900
    assert {"Okta", "Terraform", "Docker", "Stripe", "GitHub"} <= canonical


def test_gazetteer_lines() -> None:
    gazetteer = build_gazetteer(["# comment", "", "Foo Bar | FB", "=Baz"])
    assert gazetteer.insensitive[("foo", "bar")] == ("Foo Bar", False)
    assert gazetteer.insensitive[("fb",)] == ("Foo Bar", False)
    assert gazetteer.sensitive[("Baz",)] == ("Baz", False)
    assert ("baz",) not in gazetteer.insensitive
