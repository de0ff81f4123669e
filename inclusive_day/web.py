"""Small pieces every domain's views share: a rule's error on a form, a file download, a PDF,
where to go next, and which page of a list was asked for."""

from __future__ import annotations

import io
from collections.abc import Callable
from urllib.parse import urlsplit

from flask import Response, request, send_file
from flask_limiter.util import get_remote_address

from inclusive_day.spreadsheets import Export

# The highest page number a list takes; past it a list shows an empty page, never an error.
PAGE_MAX = 100_000
# A `next` longer than this is no page of ours.
NEXT_MAX = 2000


def show_error(form, message, field: str | None = None) -> None:
    """Put a service's message under the form field it names, or above the form."""
    target = getattr(form, field, None) if field else None
    if target is not None and hasattr(target, "errors"):
        target.errors = [*target.errors, str(message)]
    else:
        form.form_errors.append(str(message))


def send_export(result: Export):
    """An exported file as a download that no cache keeps, with its media type said once."""
    response = send_file(
        io.BytesIO(result.data),
        mimetype=result.mimetype,
        as_attachment=True,
        download_name=result.filename,
        max_age=0,
    )
    # Werkzeug adds "; charset=utf-8" to any text/* type, even one that already names it.
    response.headers["Content-Type"] = result.mimetype
    return response


def pdf_response(pdf: bytes, filename: str) -> Response:
    """A PDF shown in the browser, with a file name for saving it."""
    return Response(
        pdf,
        mimetype="application/pdf",
        headers={"Content-Disposition": f'inline; filename="{filename}"'},
    )


def safe_next(target: str | None, default: str) -> str:
    """`target` when it is a path on this site, else `default`: a redirect never leaves the site.

    Browsers read "//host", "/\\host" and "/<tab>/host" (they drop tabs and line breaks) as
    another site, so a path must start with one "/" and hold no backslash, space or control
    character.
    """
    if not target or len(target) > NEXT_MAX or not target.startswith("/"):
        return default
    if target[1:2] == "/" or "\\" in target:
        return default
    if any(ord(c) <= 0x20 or ord(c) == 0x7F for c in target):
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return default
    return target


def page_arg(name: str = "page") -> int:
    """The page of a list the query string asks for, from 1 to PAGE_MAX: a missing, negative
    or absurdly large number is no server error."""
    number = request.args.get(name, 1, type=int)
    return min(max(number, 1), PAGE_MAX)


def client_key(kind: str) -> Callable[[], str]:
    """A rate limit's key function: what is limited (`kind`, e.g. "login-address") and the
    client's address, so that sign-in and sign-up count attempts the same way."""

    def key() -> str:
        return f"{kind}:{get_remote_address() or ''}"

    return key
