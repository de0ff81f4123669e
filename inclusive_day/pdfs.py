"""WeasyPrint behind a fence: a PDF render never fetches file:// or outside URLs.

Every PDF of the application (recaps, league tables, receipts, posters) is laid out from HTML
through `html_document`. Its URL fetcher hands WeasyPrint only

- files inside the application's static folder (real paths after resolving symlinks and
  "..", so neither a relative path nor a link inside the folder leads out of it), and
- ``data:`` URLs, which the templates use for the QR codes and icons they draw themselves.

Everything else (``file:///etc/passwd``, ``http(s)://``, ``ftp:``, other schemes) raises
`FetchRefused`; WeasyPrint then leaves the image or stylesheet out and renders the rest. User
text reaches the templates autoescaped, so this is the second fence, not the first.

Every PDF is written by `write_pdf` as tagged PDF/UA-1 (`PDF_VARIANT`): a structure tree
that follows the HTML's order (headings, paragraphs, lists, tables with their header cells,
figures with their alternative text), the language from ``<html lang>`` and the title from
``<title>``, so that screen readers and text extraction read a report in its order. The
templates are written for it: a figure and its label sit in one element on one line, side by
side tables are not tables, images carry ``alt`` and charts a ``<title>``. (pdftotext does
not read the structure tree: it orders text by where it stands on the page, so the layout
has to read in order too.)

Fonts are not fetched: the templates name installed families ("Noto Sans CJK SC"...) that
fontconfig finds, and declare no @font-face, so the CJK fonts stay embedded as before.

A render takes a couple of hundred MB for a moment (layout boxes, the CJK fonts' bytes,
their subsets). `release_render_memory` hands that back once the PDF is written: the
collector frees the render's cycles, and glibc's `malloc_trim` returns the freed pages to the
system. Without the trim a worker's threads each keep their own malloc arena at the size of
the largest render they took part in, and a long-running worker's memory creeps up render by
render until every thread has had its turn.

A decoration that carries letters (the receipt's mark of thanks) draws them as shapes, not as
text: `glyph_outlines` takes their outlines from the font fontconfig picks for the family, as
WeasyPrint would, so that text extraction and screen readers never meet loose letters mixed
into the document's words.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
import logging
import mimetypes
import os
from dataclasses import dataclass
from functools import cache
from urllib.parse import unquote, urlsplit
from urllib.request import url2pathname

from flask import current_app
from fontTools.pens.svgPathPen import SVGPathPen  # fontTools comes with WeasyPrint
from fontTools.ttLib import TTFont, TTLibError
from weasyprint import HTML, Document
from weasyprint.urls import URLFetcher, URLFetcherResponse

log = logging.getLogger(__name__)

# Tagged PDF for accessibility, with the document's title and language (WeasyPrint >= 57).
PDF_VARIANT = "pdf/ua-1"
ALLOWED_SCHEMES = ("file", "data")
LOCAL_HOSTS = ("", "localhost")


class FetchRefused(ValueError):
    """A URL a PDF may not fetch."""


class StaticOnlyFetcher(URLFetcher):
    """A WeasyPrint URL fetcher for files under `root` and data: URLs, refusing all else."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        super().__init__(allowed_protocols=ALLOWED_SCHEMES, allow_redirects=False)
        self.root = os.path.realpath(root)

    def fetch(self, url: str, headers=None) -> URLFetcherResponse:
        """The resource at `url` if it is allowed; FetchRefused otherwise."""
        scheme = urlsplit(url).scheme.lower()
        if scheme == "data":
            return super().fetch(url, headers)
        if scheme == "file":
            path = self.local_path(url)
            with open(path, "rb") as file:
                body = file.read()
            content_type = mimetypes.guess_type(path)[0] or "application/octet-stream"
            return URLFetcherResponse(url, body, {"Content-Type": content_type})
        raise self._refuse(url)

    def local_path(self, url: str) -> str:
        """The real path of a file: URL, if it names a file inside the root."""
        parts = urlsplit(url)
        if parts.netloc.lower() not in LOCAL_HOSTS:
            raise self._refuse(url)
        path = os.path.realpath(url2pathname(unquote(parts.path)))
        if os.path.commonpath([path, self.root]) != self.root or not os.path.isfile(path):
            raise self._refuse(url)
        return path

    @staticmethod
    def _refuse(url: str) -> FetchRefused:
        shown = url if len(url) <= 200 else url[:200] + "..."
        log.info("PDF render: refused to fetch %s", shown)
        return FetchRefused(f"outside the PDF sandbox: {shown}")


class _QuietRefusals(logging.Filter):
    """Drop WeasyPrint's error line for a fetch we refused; ours (at info) says it already."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args if isinstance(record.args, tuple) else (record.args,)
        texts = [str(arg) for arg in args]
        if record.exc_info and record.exc_info[1] is not None:
            texts.append(str(record.exc_info[1]))
        return not any(FetchRefused.__name__ in text for text in texts)


_weasy_log = logging.getLogger("weasyprint")
if not any(isinstance(f, _QuietRefusals) for f in _weasy_log.filters):
    _weasy_log.addFilter(_QuietRefusals())


def html_document(html: str) -> HTML:
    """A WeasyPrint document from a rendered template, its URLs fenced into static/."""
    root = current_app.static_folder
    return HTML(string=html, base_url=root, url_fetcher=StaticOnlyFetcher(root))


def write_pdf(document: Document) -> bytes:
    """A laid-out document as PDF bytes, tagged (PDF/UA-1) like every PDF of the application."""
    return document.write_pdf(pdf_variant=PDF_VARIANT)


@cache
def _malloc_trim():
    """glibc's malloc_trim, or None where the C library has none (musl, macOS)."""
    try:
        return ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").malloc_trim
    except (OSError, AttributeError):
        return None


def release_render_memory() -> bool:
    """After a PDF is written: free the render's objects and give the freed memory back to
    the system. True when the C library could be asked to (glibc)."""
    gc.collect()
    trim = _malloc_trim()
    if trim is None:
        return False
    trim(0)
    return True


# --- Letters drawn as shapes -----------------------------------------------------------------

FC_MATCH_PATTERN, FC_RESULT_MATCH = 0, 0


@dataclass(frozen=True)
class Outline:
    """A glyph's shape in font units (y up): SVG path data, its advance, the em and the height
    of the central baseline (the middle of the em box, where CJK text centres)."""

    path: str
    advance: float
    units_per_em: int
    central: float


@cache
def _fontconfig():
    """The fontconfig library WeasyPrint (Pango) finds its fonts with, or None."""
    try:
        lib = ctypes.CDLL(ctypes.util.find_library("fontconfig") or "libfontconfig.so.1")
    except OSError:
        return None
    pointer, text, number = ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int
    lib.FcNameParse.restype, lib.FcNameParse.argtypes = pointer, [text]
    lib.FcConfigSubstitute.argtypes = [pointer, pointer, number]
    lib.FcDefaultSubstitute.argtypes = [pointer]
    lib.FcFontMatch.restype = pointer
    lib.FcFontMatch.argtypes = [pointer, pointer, ctypes.POINTER(number)]
    lib.FcPatternGetString.argtypes = [pointer, text, number, ctypes.POINTER(text)]
    lib.FcPatternGetInteger.argtypes = [pointer, text, number, ctypes.POINTER(number)]
    lib.FcPatternDestroy.argtypes = [pointer]
    return lib


def font_file(pattern: str) -> tuple[str, int] | None:
    """The font file and face index fontconfig picks for a pattern such as
    "Noto Sans CJK SC:bold", or None without fontconfig or a match."""
    lib = _fontconfig()
    if lib is None:
        return None
    wanted = lib.FcNameParse(pattern.encode())
    if not wanted:
        return None
    lib.FcConfigSubstitute(None, wanted, FC_MATCH_PATTERN)
    lib.FcDefaultSubstitute(wanted)
    result = ctypes.c_int()
    match = lib.FcFontMatch(None, wanted, ctypes.byref(result))
    lib.FcPatternDestroy(wanted)
    if not match:
        return None
    path, index = ctypes.c_char_p(), ctypes.c_int(0)
    found = lib.FcPatternGetString(match, b"file", 0, ctypes.byref(path)) == FC_RESULT_MATCH
    lib.FcPatternGetInteger(match, b"index", 0, ctypes.byref(index))
    answer = (os.fsdecode(path.value), index.value) if found and path.value else None
    lib.FcPatternDestroy(match)
    return answer


def glyph_outlines(pattern: str, letters: str) -> dict[str, Outline] | None:
    """The outline of each of `letters` in the font fontconfig picks for `pattern`; None if
    that font cannot be read or lacks one of them. Callers keep the (small) answer: the
    font is read anew on each call and let go."""
    found = font_file(pattern)
    if found is None:
        return None
    path, index = found
    try:
        with TTFont(path, fontNumber=index, lazy=True) as font:
            return _outlines(font, letters)
    except (OSError, TTLibError, KeyError) as error:  # unreadable, or a table missing
        log.info("PDF decoration: cannot read the outlines of %s: %s", path, error)
        return None


def _outlines(font: TTFont, letters: str) -> dict[str, Outline] | None:
    """The outlines of `letters` in an open font, or None if it lacks one."""
    glyphs, cmap = font.getGlyphSet(), font.getBestCmap()
    units_per_em, advances = font["head"].unitsPerEm, font["hmtx"]
    metrics = font["OS/2"]
    central = (metrics.sTypoAscender + metrics.sTypoDescender) / 2
    outlines = {}
    for letter in set(letters):
        name = cmap.get(ord(letter))
        if name is None:
            return None
        pen = SVGPathPen(glyphs)
        glyphs[name].draw(pen)
        outlines[letter] = Outline(pen.getCommands(), advances[name][0], units_per_em, central)
    return outlines
