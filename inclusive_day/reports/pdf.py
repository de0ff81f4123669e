"""Report PDFs drawn from their templates by WeasyPrint (A4, Chinese fonts embedded).

What a report shows is built in documents.py; this module only turns a template and its
plain values into PDF bytes, with the running header, footer and page counter.
"""

from __future__ import annotations

import gc
import json
import threading

from flask import current_app, render_template
from flask_babel import gettext as _
from weasyprint.text.fonts import FontConfiguration

from inclusive_day.pdfs import html_document, release_render_memory, write_pdf

LANGUAGES = ("zh", "en")


def css_string(text: str) -> str:
    """Text as a CSS string literal for `content:` in page margins, safe inside <style>."""
    return json.dumps(str(text), ensure_ascii=False).replace("<", "\\3c ")


def css_page_counter(template: str) -> str:
    """A translated "Page %(page)s of %(pages)s" as a CSS `content` value with live counters."""
    quoted = css_string(template)
    for name in ("page", "pages"):
        quoted = quoted.replace(f"%({name})s", f'" counter({name}) "')
    return quoted


_fonts: FontConfiguration | None = None
_render_lock = threading.Lock()


def render_pdf(template: str, **context) -> bytes:
    """Render a report template (already inside the wanted locale) to PDF bytes.

    The reports declare no web fonts, so one font configuration serves every render in the
    process (fontconfig's lookups stay warm); renders take turns, as WeasyPrint's font
    objects are not meant to be shared between threads."""
    global _fonts
    html = render_template(template, **context)
    with _render_lock:
        if _fonts is None:
            _fonts = FontConfiguration()
        document = html_document(html).render(font_config=_fonts)
        data = write_pdf(document)
        del document
        release_render_memory()
        _freeze_long_lived()
        return data


_frozen = False


def _freeze_long_lived() -> None:
    """After the first render, move what lives on (modules, the app, templates, fonts) out
    of the collector's sight: the full collection after each render then walks only that
    render's objects, 0.15 s less per report."""
    global _frozen
    if not _frozen:
        gc.freeze()
        _frozen = True


def check_language(lang: str | None) -> str:
    """The report language asked for, or the default (Chinese)."""
    return lang if lang in LANGUAGES else current_app.config["BABEL_DEFAULT_LOCALE"]


def file_name(*parts: str) -> str:
    """A PDF's file name from its parts (unit, kind, period), without characters that file
    systems refuse."""
    safe = ["".join(c for c in str(p) if c not in '/\\:*?"<>|').strip() for p in parts]
    return "-".join(p for p in safe if p) + ".pdf"


def page_margins(header_left: str, header_right: str, footer_left: str) -> dict:
    """The running header, footer and page counter of a report, as CSS `content` values in
    the current language."""
    return {
        "header_left": css_string(header_left),
        "header_right": css_string(header_right),
        "footer_left": css_string(footer_left),
        "page_counter": css_page_counter(_("Page %(page)s of %(pages)s")),
    }
