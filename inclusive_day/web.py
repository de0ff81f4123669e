"""Small pieces every domain's views share: a rule's error on a form, a file download, a PDF."""

from __future__ import annotations

import io

from flask import Response, send_file

from inclusive_day.spreadsheets import Export


def show_error(form, message, field: str | None = None) -> None:
    """Put a service's message under the form field it names, or above the form."""
    target = getattr(form, field, None) if field else None
    if target is not None and hasattr(target, "errors"):
        target.errors = [*target.errors, str(message)]
    else:
        form.form_errors.append(str(message))


def send_export(result: Export):
    """An exported file as a download that no cache keeps."""
    return send_file(
        io.BytesIO(result.data),
        mimetype=result.mimetype,
        as_attachment=True,
        download_name=result.filename,
        max_age=0,
    )


def pdf_response(pdf: bytes, filename: str) -> Response:
    """A PDF shown in the browser, with a file name for saving it."""
    return Response(
        pdf,
        mimetype="application/pdf",
        headers={"Content-Disposition": f'inline; filename="{filename}"'},
    )
