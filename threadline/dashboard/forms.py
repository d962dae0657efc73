"""Reading the dashboard's form posts: a small urlencoded body only, bounded before it is parsed.

Every dashboard form is a few short fields (a key, a CSRF token, a timezone, a path), and the
sign-in form is open to anyone, so the CSRF check cannot come first: the body itself must cost
nothing to refuse. Multipart is never parsed (Starlette would spool its files to disk), a body
past MAX_FORM_BYTES is refused by its Content-Length or as soon as reading passes the limit, and
a form of more than MAX_FORM_FIELDS fields is refused before any value is decoded.
"""

from __future__ import annotations

from urllib.parse import parse_qsl

from starlette.requests import Request

from threadline.api.body import read_body
from threadline.errors import PayloadTooLarge, UnsupportedMediaType

FORM_MEDIA_TYPE = "application/x-www-form-urlencoded"
# The sign-in form is about 700 bytes with a long `next` path; 16 KiB leaves room to spare.
MAX_FORM_BYTES = 16 * 1024
MAX_FORM_FIELDS = 16


async def read_form(request: Request) -> dict[str, str]:
    """The form's fields (the first value of a repeated name), or a 415/413 page."""
    media_type = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if media_type != FORM_MEDIA_TYPE:
        raise UnsupportedMediaType(
            f"Dashboard forms are sent as {FORM_MEDIA_TYPE}; reload the page and try again."
        )
    body = await read_body(request, MAX_FORM_BYTES)
    try:
        pairs = parse_qsl(
            body.decode("utf-8", "replace"), keep_blank_values=True, max_num_fields=MAX_FORM_FIELDS
        )
    except ValueError:  # counted from the separators, before anything is decoded
        raise PayloadTooLarge(f"A dashboard form has at most {MAX_FORM_FIELDS} fields.") from None
    form: dict[str, str] = {}
    for name, value in pairs:
        form.setdefault(name, value)
    return form
