"""The Markdown renderer against hostile answers: no raw HTML, no script-bearing links in any
Markdown link form, no images fetched from elsewhere, and bounded work on crafted texts."""

from __future__ import annotations

import re

import pytest

from threadline.dashboard.markdown import (
    LINK_REL,
    MAX_RENDERED_CHARS,
    render_markdown,
    safe_link,
)

_HREF = re.compile(r'href="([^"]*)"')
_TAG = re.compile(r"<([a-zA-Z][a-zA-Z0-9]*)([^>]*)>")
_ATTRIBUTE = re.compile(r'\s([a-zA-Z-]+)="')
# The only attributes the renderer writes (class: a code block's language, or md-image).
_ATTRIBUTES = {"href", "rel", "class"}
# Every tag CommonMark can produce from Markdown syntax; anything else came from raw HTML.
_MARKDOWN_TAGS = {
    "p", "em", "strong", "a", "code", "pre", "ul", "ol", "li", "blockquote", "h1", "h2", "h3",
    "h4", "h5", "h6", "hr", "br",
}  # fmt: skip


def _assert_safe(html: str) -> None:
    for tag, attributes in _TAG.findall(html):
        assert tag in _MARKDOWN_TAGS, html
        assert set(_ATTRIBUTE.findall(attributes)) <= _ATTRIBUTES, html
    for href in _HREF.findall(html):
        assert href.startswith(("https://", "http://", "mailto:")), html


def test_markdown_renders_lists_code_and_links() -> None:
    html = render_markdown(
        "Steps:\n\n1. Install\n2. Run `tl serve`\n\n```sh\necho '<b>'\n```\n\n"
        "See [the guide](https://docs.example.com/guide)."
    )
    assert "<ol>" in html and "<code>tl serve</code>" in html
    assert "<code class=\"language-sh\">echo '&lt;b&gt;'" in html
    assert f'<a href="https://docs.example.com/guide" rel="{LINK_REL}">the guide</a>' in html


HOSTILE = [
    "<script>alert(1)</script>",
    '<img src=x onerror="alert(1)">',
    "<iframe src=https://evil.example></iframe>",
    '<a href="javascript:alert(1)">x</a>',
    "[inline](javascript:alert(1))",
    "[upper](JAVASCRIPT:alert(1))",
    "[spaced](  javascript:alert(1))",
    "[angle](<javascript:alert(1)>)",
    "[ref][r]\n\n[r]: javascript:alert(1)",
    "[collapsed][]\n\n[collapsed]: javascript:alert(1)",
    "[shortcut]\n\n[shortcut]: vbscript:msgbox(1)",
    "<javascript:alert(1)>",
    "[entity](jav&#x61;script:alert(1))",
    "[decimal](&#106;avascript:alert(1))",
    "[named](javascript&colon;alert(1))",
    "[percent](%6Aavascript:alert(1))",
    "[escaped](java\\script:alert(1))",
    "[tab](java\tscript:alert(1))",
    "[data](data:text/html;base64,PHNjcmlwdD4=)",
    "[vb](vbscript:msgbox(1))",
    "[file](file:///etc/passwd)",
    "[rel](//evil.example/x)",
    "![img](https://evil.example/track.png)",
    "![img](javascript:alert(1))",
    "![data](data:image/svg+xml;base64,PHN2Zz4=)",
    '[title](https://ok.example "x\\" onmouseover=\\"alert(1)")',
    '<https://ok.example/?a="><script>alert(1)</script>>',
    "```\n</code></pre><script>alert(1)</script>\n```",
]


@pytest.mark.parametrize("text", HOSTILE)
def test_hostile_markdown_renders_inert(text: str) -> None:
    html = render_markdown(text)
    _assert_safe(html)
    assert "<script" not in html and "<iframe" not in html


@pytest.mark.parametrize(
    "url", ["javascript:x", "JavaScript:x", " javascript:x", "data:x", "vbscript:x", "//e", "/a"]
)
def test_unsafe_link_targets_are_refused(url: str) -> None:
    assert not safe_link(url)


def test_an_image_becomes_a_link_and_nothing_is_loaded() -> None:
    html = render_markdown("![a chart](https://cdn.example/chart.png)")
    assert "<img" not in html
    assert f'<a href="https://cdn.example/chart.png" rel="{LINK_REL}" class="md-image">' in html
    assert "[image: a chart]" in html


def test_a_50000_character_answer_renders_as_markdown() -> None:
    text = ("A paragraph with **bold**, `code` and [a link](https://docs.example.com/x).\n\n") * 680
    assert len(text) >= 50_000
    html = render_markdown(text)
    assert html.count("<strong>bold</strong>") == 680
    assert html.count(f'rel="{LINK_REL}"') == 680


def test_a_text_beyond_the_limit_is_shown_escaped_and_whole() -> None:
    text = "<b>x</b> " * (MAX_RENDERED_CHARS // 9 + 1)
    html = render_markdown(text)
    assert html.startswith('<pre class="md-plain">') and "<b>" not in html
    assert html.count("&lt;b&gt;x&lt;/b&gt;") == MAX_RENDERED_CHARS // 9 + 1


BOMBS = {
    "emphasis": "*a " * 16_000,
    "strong": "**" * 25_000,
    "underscores": "_a" * 25_000,
    "mixed emphasis": "*a **b " * 7_000,
    "brackets": "[" * 50_000,
    "image brackets": "![[" * 16_000,
    "unclosed links": "[a](" * 12_000,
    "long unclosed links": ("[a](" + "x" * 1_500) * 33,
    "many links": "[a](https://x.example) " * 2_000,
    "blockquotes": "> " * 25_000 + "x",
    "lists": "- " * 25_000,
    "backticks": "`" * 50_000,
    "angles": "<" * 50_000,
}


@pytest.mark.timeout(20)  # a guard: the renderer must finish, not a timing assertion
@pytest.mark.parametrize("name", BOMBS)
def test_crafted_texts_render_and_stay_inert(name: str) -> None:
    html = render_markdown(BOMBS[name])
    _assert_safe(html)


def test_past_the_link_budget_links_show_as_typed() -> None:
    text = "[a](https://x.example) " * 400  # one paragraph of 400 links
    html = render_markdown(text)
    assert "<a " not in html and "[a](https://x.example)" in html
