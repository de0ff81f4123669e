"""Uploaded spreadsheets, judged by what their bytes are, never by their name.

One place reads an upload (no more than the form's limit) and sniffs it:

- **XLSX**: a zip whose entries include ``[Content_Types].xml`` and ``xl/workbook.xml``, that
  would unpack to at most UPLOAD_MAX_UNPACKED_BYTES (50 MB) in at most MAX_ZIP_ENTRIES
  entries. Nothing is unpacked to decide: the sizes are the ones the zip declares, and
  Python's zipfile never inflates an entry beyond its declared size, so the check bounds what
  openpyxl can later unpack (a zip bomb is refused before anyone reads it).
- **CSV**: text in UTF-8 (with or without BOM), GB18030 (which covers GBK) or UTF-16 with a
  BOM (Excel's "Unicode text"), with no NUL and hardly any other control character, that does
  not look like a web page or script.

Anything else (pictures, PDFs, Word files, HTML renamed .csv...) is refused with a translated
message that the form shows under its file field; the view then changes nothing. A file named
.csv that is really an XLSX is read as the XLSX it is where the form takes workbooks (the
station import); a form that takes CSV only (the paper sign-in sheet) refuses it and says to
save the sheet as CSV.
"""

from __future__ import annotations

import codecs
import io
import re
import zipfile
from collections.abc import Callable, Collection
from dataclasses import dataclass
from pathlib import PurePath

from flask import current_app
from flask_babel import lazy_gettext as _l
from werkzeug.datastructures import FileStorage
from wtforms.validators import StopValidation

CSV, XLSX = "csv", "xlsx"
MAX_UNPACKED_BYTES = 50 * 1024 * 1024  # default of config UPLOAD_MAX_UNPACKED_BYTES
MAX_ZIP_ENTRIES = 10_000
XLSX_PARTS = ("[Content_Types].xml", "xl/workbook.xml")
SNIFF_CHARS = 65536

ZIP_MAGIC = b"PK\x03\x04"
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # Excel 97-2003 .xls, old Word, WPS
# Files that are never a spreadsheet, whatever bytes follow the first few.
BINARY_MAGIC = (
    b"\x89PNG",
    b"\xff\xd8\xff",  # JPEG
    b"GIF8",
    b"%PDF-",
    b"\x1f\x8b",  # gzip
    b"7z\xbc\xaf",
    b"Rar!",
    b"\x7fELF",
)
# Markup a spreadsheet never starts with, and a page or script nearly always holds early on.
_MARKUP_START = re.compile(
    r"\s*<(?:!doctype|html|head|body|script|svg|\?xml|!--|iframe|meta)\b", re.I
)
_MARKUP_ANYWHERE = re.compile(r"<(?:script|html|iframe|object|embed)\b|javascript:", re.I)
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


class UploadRefused(ValueError):
    """The upload is not a file the form accepts; `message` says why, translated."""

    def __init__(self, message):
        super().__init__(str(message))
        self.message = message


@dataclass(frozen=True)
class Upload:
    """A checked upload: its bytes, what they are ("csv" or "xlsx"), and a name to show.

    `name` is the name it was sent under when that name's suffix agrees with the content,
    else that name with the content's suffix added ("photo.csv.xlsx"), so that code that
    looks at suffixes further on reads it as what it is.
    """

    data: bytes
    kind: str
    name: str


def _not_accepted(accept: Collection[str]):
    if set(accept) == {CSV}:
        return _l("This is not a CSV file.")
    return _l("This is not a CSV file or an Excel workbook (.xlsx).")


def max_unpacked_bytes() -> int:
    """How much an XLSX may unpack to (config UPLOAD_MAX_UNPACKED_BYTES, default 50 MB)."""
    return int(current_app.config.get("UPLOAD_MAX_UNPACKED_BYTES", MAX_UNPACKED_BYTES))


def _check_xlsx(data: bytes, accept: Collection[str]) -> None:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            entries = archive.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, EOFError):
        raise UploadRefused(_not_accepted(accept)) from None
    names = {entry.filename for entry in entries}
    if not all(part in names for part in XLSX_PARTS):
        raise UploadRefused(_not_accepted(accept))
    unpacked = sum(entry.file_size for entry in entries)
    if len(entries) > MAX_ZIP_ENTRIES or unpacked > max_unpacked_bytes():
        raise UploadRefused(_l("The workbook is too large once unpacked."))


def decode_text(data: bytes) -> str | None:
    """The text of `data` in UTF-8 (BOM or not), UTF-16 with a BOM or GB18030; else None."""
    if data.startswith(codecs.BOM_UTF8):
        candidates = [("utf-8-sig", data)]
    elif data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        candidates = [("utf-16", data)]
    else:
        candidates = [("utf-8", data), ("gb18030", data)]
    for encoding, raw in candidates:
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    return None


def _looks_binary(text: str) -> bool:
    head = text[:SNIFF_CHARS]
    return "\x00" in text or len(_CONTROL.findall(head)) > len(head) // 100


def _looks_like_markup(text: str) -> bool:
    head = text[:SNIFF_CHARS]
    return bool(_MARKUP_START.match(head) or _MARKUP_ANYWHERE.search(head))


def sniff(data: bytes, accept: Collection[str] = (CSV, XLSX)) -> str:
    """What `data` is, "csv" or "xlsx", if the form accepts that; else UploadRefused."""
    if not data:
        raise UploadRefused(_l("The file is empty."))
    if data.startswith(ZIP_MAGIC):
        _check_xlsx(data, accept)
        if XLSX not in accept:
            raise UploadRefused(_l("This is an Excel workbook: save the sheet as CSV first."))
        return XLSX
    if data.startswith(OLE_MAGIC):
        raise UploadRefused(
            _l("Excel 97-2003 workbooks (.xls) cannot be read: save the file as .xlsx or CSV.")
        )
    text = decode_text(data)
    if (
        text is None
        or data.startswith(BINARY_MAGIC)
        or _looks_binary(text)
        or _looks_like_markup(text)
        or CSV not in accept
    ):
        raise UploadRefused(_not_accepted(accept))
    return CSV


def _display_name(filename: str, kind: str) -> str:
    name = PurePath(filename or "").name or f"upload.{kind}"
    suffix = PurePath(name).suffix.lower()
    fits = suffix == f".{kind}" or (kind == CSV and suffix in {".txt", ".tsv"})
    return name if fits else f"{name}.{kind}"


def read_upload(
    storage: FileStorage, accept: Collection[str] = (CSV, XLSX), max_bytes: int | None = None
) -> Upload:
    """Read an uploaded file (at most `max_bytes`, default MAX_CONTENT_LENGTH) and sniff it.

    Raises UploadRefused with the reason when it is too large or not what `accept` names.
    """
    limit = max_bytes or int(current_app.config.get("MAX_CONTENT_LENGTH") or 16 * 1024 * 1024)
    data = storage.stream.read(limit + 1)
    if len(data) > limit:
        raise UploadRefused(_l("The file is larger than %(limit)s.", limit=_size(limit)))
    kind = sniff(data, accept)
    return Upload(data, kind, _display_name(storage.filename or "", kind))


def _size(n: int) -> str:
    if n >= 1024 * 1024:
        return f"{n / (1024 * 1024):.3g} MB"
    if n >= 1024:
        return f"{n / 1024:.3g} KB"
    return f"{n} B"


class SniffedFile:
    """A WTForms validator for a FileField: the file's content must be one of `accept`.

    On success the checked Upload is left on the field as `field.upload`; on failure the
    reason is the field's error. `max_bytes` is a number or a function giving one (read when
    the form is checked, so that configuration and tests can change it).
    """

    def __init__(
        self, accept: Collection[str], max_bytes: int | Callable[[], int] | None = None
    ) -> None:
        self.accept = tuple(accept)
        self.max_bytes = max_bytes

    def __call__(self, form, field) -> None:
        field.upload = None
        storage = field.data
        if not isinstance(storage, FileStorage):
            return  # FileRequired decides whether a file must be there
        limit = self.max_bytes() if callable(self.max_bytes) else self.max_bytes
        try:
            field.upload = read_upload(storage, self.accept, limit)
        except UploadRefused as refused:
            raise StopValidation(str(refused.message)) from None
