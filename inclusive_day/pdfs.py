"""WeasyPrint behind a fence: a PDF render never fetches file:// or outside URLs.

Every PDF of the application (recaps, league tables, receipts, posters) is laid out from HTML
through `html_document`. Its URL fetcher hands WeasyPrint only

- files inside the application's static folder (real paths after resolving symlinks and
  "..", so neither a relative path nor a link inside the folder leads out of it), and
- ``data:`` URLs, which the templates use for the QR codes and icons they draw themselves.

Everything else (``file:///etc/passwd``, ``http(s)://``, ``ftp:``, other schemes) raises
`FetchRefused`; WeasyPrint then leaves the image or stylesheet out and renders the rest. User
text reaches the templates autoescaped, so this is the second fence, not the first.

Fonts are not fetched: the templates name installed families ("Noto Sans CJK SC"...) that
fontconfig finds, and declare no @font-face, so the CJK fonts stay embedded as before.

A render takes a couple of hundred MB for a moment (layout boxes, the CJK fonts' bytes,
their subsets). `release_render_memory` hands that back once the PDF is written: the
collector frees the render's cycles, and glibc's `malloc_trim` returns the freed pages to the
system. Without the trim a worker's threads each keep their own malloc arena at the size of
the largest render they took part in, and a long-running worker's memory creeps up render by
render until every thread has had its turn.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
import logging
import mimetypes
import os
from functools import cache
from urllib.parse import unquote, urlsplit
from urllib.request import url2pathname

from flask import current_app
from weasyprint import HTML
from weasyprint.urls import URLFetcher, URLFetcherResponse

log = logging.getLogger(__name__)

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
