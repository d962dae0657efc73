"""Assistant answers are Markdown: rendered here, safely, for the transcript and Insights pages.

markdown-it-py's CommonMark preset with raw HTML off (an answer's `<script>` is shown as text),
linkify off (a bare URL stays text: only links the answer wrote become links), and three rules of
our own: a link is kept only when its scheme is http, https or mailto (checked after entities are
decoded, so `jav&#x61;script:` is refused too); every link gets rel="nofollow noopener
noreferrer"; an image becomes a link to it, so nothing is fetched from elsewhere and the
Content-Security-Policy stays as strict as before (img-src 'self').
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from urllib.parse import urlsplit

from markdown_it import MarkdownIt
from markdown_it.renderer import RendererHTML
from markdown_it.token import Token
from markdown_it.utils import EnvType, OptionsDict
from markupsafe import Markup, escape

LINK_SCHEMES = frozenset({"http", "https", "mailto"})
LINK_REL = "nofollow noopener noreferrer"
# Longer texts are shown as plain text (escaped, in <pre>): a page of a million characters of
# rendered Markdown helps nobody, and it bounds the parser's time. 50,000-character answers render.
MAX_RENDERED_CHARS = 60_000
# markdown-it scans from every unclosed `](` to the end of its paragraph, and from every `[` for
# its label: crafted texts (thousands of `[a](` or `![[`) take seconds. Past these budgets a text
# is rendered without links and images (their Markdown shows as typed); real answers hold a few
# dozen links per paragraph, far below.
MAX_LINK_SCAN = 1_000_000  # per paragraph: occurrences of "](" times the paragraph's length
MAX_BRACKETS = 2_000


def safe_link(url: str) -> bool:
    """Whether a (decoded, normalised) link target may become an href."""
    text = url.strip()
    if not text:
        return False
    scheme = urlsplit(text).scheme.lower()
    # Scheme-relative (//host) and relative links would resolve against the dashboard itself.
    return scheme in LINK_SCHEMES and not text.startswith("//")


def _link_open(
    self: RendererHTML, tokens: Sequence[Token], idx: int, options: OptionsDict, env: EnvType
) -> str:
    token = tokens[idx]
    token.attrs = {"href": token.attrGet("href") or "", "rel": LINK_REL}
    return self.renderToken(tokens, idx, options, env)


def _image(
    self: RendererHTML, tokens: Sequence[Token], idx: int, options: OptionsDict, env: EnvType
) -> str:
    token = tokens[idx]
    alt = self.renderInlineAsText(token.children or [], options, env) or "image"
    src = str(token.attrGet("src") or "")
    return f'<a href="{escape(src)}" rel="{LINK_REL}" class="md-image">[image: {escape(alt)}]</a>'


def _parser(*, links: bool) -> MarkdownIt:
    md = MarkdownIt("commonmark", {"html": False, "linkify": False, "breaks": True})
    md.validateLink = safe_link  # type: ignore[method-assign]
    md.add_render_rule("link_open", _link_open)
    md.add_render_rule("image", _image)
    if not links:
        md.disable(["link", "image", "reference"])
    return md


_MD = _parser(links=True)
_MD_WITHOUT_LINKS = _parser(links=False)


def _costly_links(source: str) -> bool:
    # Inline parsing never crosses a blank line, so each paragraph's scans are bounded alone.
    scans = sum(part.count("](") * len(part) for part in source.split("\n\n"))
    return scans > MAX_LINK_SCAN or source.count("[") > MAX_BRACKETS


def render_markdown(text: Any) -> Markup:
    """HTML for a message's Markdown text; escaped plain text when it is too long to render."""
    source = "" if text is None else str(text)
    if len(source) > MAX_RENDERED_CHARS:
        return Markup('<pre class="md-plain">{}</pre>').format(source)
    parser = _MD_WITHOUT_LINKS if _costly_links(source) else _MD
    return Markup(parser.render(source))
