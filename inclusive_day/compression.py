"""Text answers compressed for the phones that read them: gzip, or Brotli where it is installed.

An answer is compressed when the client accepts an encoding, it is a whole 200 answer of a
text type (HTML, CSS, JavaScript, JSON, XML, SVG, CSV, GeoJSON, KML...), at least MIN_SIZE
bytes, not already encoded, not a range and not a stream. Files (static files, served by
send_file) are compressed once per version, by their ETag, and kept. Every answer of a text
type says `Vary: Accept-Encoding`, so that caches keep one copy per encoding; a compressed
one's ETag becomes weak (the same content, another encoding), which still revalidates.

Pages for a signed-in user go uncompressed: they carry secrets (the CSRF token, new API
tokens) beside text the request may echo, which is what the BREACH attack reads through
compressed sizes. Public pages, files and the JSON API are compressed.
"""

from __future__ import annotations

import gzip

from flask import Flask, Response, request
from flask_login import current_user

try:  # Brotli comes with WeasyPrint's font tools on CPython; gzip serves where it does not.
    import brotli
except ImportError:  # pragma: no cover - every supported install has it
    brotli = None

MIN_SIZE = 500  # below this, an encoding's headers and framing eat most of the gain
MAX_FILE_SIZE = 8 * 1024 * 1024  # larger files are sent as they are, not read into memory
GZIP_LEVEL = 6
BROTLI_QUALITY = 5  # as small as gzip's best at a fraction of its time, fine per request
FILE_CACHE_ENTRIES = 256
TEXT_TYPES = frozenset(
    {
        "application/javascript",
        "application/json",
        "application/xml",
        "image/svg+xml",
        "application/vnd.google-earth.kml+xml",
    }
)

# (path, ETag, encoding) -> the compressed bytes of a file, for files served again and again.
_files: dict[tuple[str, str, str], bytes] = {}


def is_text(mimetype: str) -> bool:
    """Whether a media type is text that compresses well (images and archives already are)."""
    return (
        mimetype.startswith("text/")
        or mimetype in TEXT_TYPES
        or mimetype.endswith(("+json", "+xml"))
    )


def chosen_encoding() -> str | None:
    """The encoding to send this request's answer in: Brotli when accepted at least as much as
    gzip (and installed), else gzip, else none."""
    accepted = request.accept_encodings
    gzip_quality = accepted["gzip"]
    if brotli is not None and accepted["br"] and accepted["br"] >= gzip_quality:
        return "br"
    return "gzip" if gzip_quality else None


def compress(data: bytes, encoding: str) -> bytes:
    """`data` in `encoding` ("gzip" or "br"); gzip without a time stamp, so the same bytes
    always give the same answer."""
    if encoding == "br":
        return brotli.compress(data, quality=BROTLI_QUALITY)
    return gzip.compress(data, compresslevel=GZIP_LEVEL, mtime=0)


def _file_body(response: Response, encoding: str) -> bytes | None:
    """A send_file answer's body compressed, from the kept copy when this version was seen."""
    length = response.content_length
    if length is None or length < MIN_SIZE or length > MAX_FILE_SIZE:
        return None
    etag, _weak = response.get_etag()
    key = (request.path, etag or "", encoding)
    body = _files.get(key) if etag else None
    if body is not None:
        response.close()  # the file is not read: the kept copy answers
        return body
    response.direct_passthrough = False
    body = compress(response.get_data(), encoding)
    if etag:
        if len(_files) >= FILE_CACHE_ENTRIES:
            _files.clear()
        _files[key] = body
    return body


def compress_response(response: Response) -> Response:
    """The answer compressed when it should be (see the module's rules), else as it is."""
    if not is_text(response.mimetype):
        return response
    response.vary.add("Accept-Encoding")
    if (
        response.status_code != 200
        or "Content-Encoding" in response.headers
        or request.range is not None
        or (response.is_streamed and not response.direct_passthrough)
    ):
        return response
    encoding = chosen_encoding()
    if encoding is None:
        return response
    if response.mimetype == "text/html" and current_user.is_authenticated:
        return response
    if response.direct_passthrough:
        body = _file_body(response, encoding)
        if body is None:
            return response
    else:
        data = response.get_data()
        if len(data) < MIN_SIZE:
            return response
        body = compress(data, encoding)
        if len(body) >= len(data):
            return response
    response.set_data(body)
    response.headers["Content-Encoding"] = encoding
    response.headers.pop("Accept-Ranges", None)  # ranges of the encoded bytes are not offered
    etag, weak = response.get_etag()
    if etag and not weak:
        response.set_etag(etag, weak=True)
    return response


def register(app: Flask) -> None:
    """Compress the app's answers. Register it before any other after_request function, so that
    it runs last (Flask runs them in reverse) and compresses the finished body."""
    app.after_request(compress_response)
