"""One chat-completions request to an OpenAI-compatible endpoint, with the standard library only
(no HTTP client is a run-time dependency of threadline)."""

from __future__ import annotations

import urllib.error
import urllib.request
from typing import Any

import msgspec

# An answer larger than this is not labels: refused without reading further.
MAX_RESPONSE_BYTES = 1 << 20


class CompletionError(Exception):
    """The endpoint did not answer with a message (HTTP error, timeout, malformed response).
    Its text never holds the API key: it is sent in a header, which no error message quotes."""


class _Message(msgspec.Struct):
    content: str | None = None
    refusal: str | None = None


class _Choice(msgspec.Struct):
    message: _Message


class _Completion(msgspec.Struct):
    choices: list[_Choice]


_decoder = msgspec.json.Decoder(_Completion)


def complete(base_url: str, api_key: str, body: dict[str, Any], *, timeout: float) -> str:
    """POSTs `body` to {base_url}/chat/completions; the first choice's message content.
    `timeout` bounds the connection and each read. Raises CompletionError."""
    if not base_url.startswith(("http://", "https://")):
        # urllib would also open file: and ftp: URLs; an endpoint is HTTP or nothing.
        raise CompletionError("the LLM base URL must start with http:// or https://")
    request = urllib.request.Request(
        base_url.rstrip("/") + "/chat/completions",
        data=msgspec.json.encode(body),
        method="POST",
        headers={"Content-Type": "application/json", "Accept": "application/json"},
    )
    if api_key:
        # add_unredirected_header: a redirect to another host never carries the key along.
        request.add_unredirected_header("Authorization", f"Bearer {api_key}")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            payload = response.read(MAX_RESPONSE_BYTES + 1)
    except urllib.error.HTTPError as exc:
        raise CompletionError(f"HTTP {exc.code}") from None
    except (OSError, ValueError) as exc:  # URLError, timeouts, resets, a bad URL
        raise CompletionError(f"{type(exc).__name__}: {exc}") from None
    if len(payload) > MAX_RESPONSE_BYTES:
        raise CompletionError("response larger than 1 MiB")
    try:
        completion = _decoder.decode(payload)
    except msgspec.MsgspecError as exc:
        raise CompletionError(f"not a chat completion: {exc}") from None
    if not completion.choices:
        raise CompletionError("no choices in the response")
    message = completion.choices[0].message
    if message.content is None:
        raise CompletionError("the model refused" if message.refusal else "empty message")
    return message.content
