"""Uploaded spreadsheets, judged by what their bytes are, never by their name, and read into rows.

One reader serves every spreadsheet that comes in: the station import and the paper sign-in
sheet read their files with `read_table`, and the upload forms judge a file with `sniff`
(through the `SniffedFile` validator) before anything reads it. What they take:

- **XLSX**: a zip whose entries include ``[Content_Types].xml`` and ``xl/workbook.xml``, that
  would unpack to at most UPLOAD_MAX_UNPACKED_BYTES (50 MB, or what the reader is told) in at
  most MAX_ZIP_ENTRIES entries. Nothing is unpacked to decide: the sizes are the ones the zip
  declares, and Python's zipfile never inflates an entry beyond its declared size, so the
  check bounds what openpyxl can later unpack (a zip bomb is refused before anyone reads it).
- **CSV**: text in UTF-8 (with or without BOM), GB18030 (which covers GBK) or UTF-16 with a
  BOM (Excel's "Unicode text"), with no NUL and hardly any other control character, that does
  not look like a web page or script; its delimiter (comma, tab or semicolon) is sniffed.

Anything else (pictures, PDFs, Word files, HTML renamed .csv...) is refused with one error,
UploadRefused, whose `code` (a Reason) says which refusal it is and whose `message` says it,
translated; a form shows it under its file field and changes nothing, an import reports it
(a caller may word a code its own way, as the imports do for a file that is too large). A
file named .csv that is really an XLSX is read as the XLSX it is where the form takes
workbooks (the station import); a reader that takes CSV only (the paper sign-in sheet)
refuses a workbook and says to save the sheet as CSV.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
import warnings
import zipfile
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import PurePath
from typing import Any

import openpyxl
from flask import current_app
from flask_babel import lazy_gettext as _l
from werkzeug.datastructures import FileStorage
from wtforms.validators import StopValidation

CSV, XLSX = "csv", "xlsx"
MAX_UNPACKED_BYTES = 50 * 1024 * 1024  # default of config UPLOAD_MAX_UNPACKED_BYTES
MAX_ZIP_ENTRIES = 10_000
XLSX_PARTS = ("[Content_Types].xml", "xl/workbook.xml")
SNIFF_CHARS = 65536
DELIMITER_LINES = 10  # the first lines of a CSV, in which its delimiter is counted
DELIMITERS = (",", "\t", ";")

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
# How a CSV's characters were encoded, in words people know.
ENCODING_LABELS = {
    "utf-8-sig": "UTF-8 (BOM)",
    "utf-8": "UTF-8",
    "gb18030": "GBK / GB18030",
    "utf-16": "UTF-16",
}


class Reason(StrEnum):
    """Why an upload is refused: the code an UploadRefused carries."""

    EMPTY = "empty"
    TOO_LARGE = "too_large"  # more bytes than the reader takes
    NOT_ACCEPTED = "not_accepted"  # not a kind of file the reader takes
    OLD_EXCEL = "old_excel"  # an Excel 97-2003 workbook (.xls)
    WORKBOOK = "workbook"  # a workbook where only CSV is taken
    UNPACKS_TOO_LARGE = "unpacks_too_large"  # a workbook too large once unpacked
    NOT_UTF8 = "not_utf8"  # starts with a UTF-8 BOM, then is not UTF-8
    ENCODING = "encoding"  # text in neither UTF-8 nor GB18030
    DAMAGED = "damaged"  # a workbook openpyxl cannot read
    UNREADABLE = "unreadable"  # a CSV the csv module cannot parse


class UploadRefused(ValueError):
    """The upload cannot be read: `code` (a Reason) says which refusal, `message` says why."""

    def __init__(self, message, code: Reason) -> None:
        super().__init__(str(message))
        self.message = message
        self.code = code


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


@dataclass
class Table:
    """A spreadsheet read into rows, each numbered as a spreadsheet shows it (the first is 1).

    `kind` is "csv" or "xlsx"; `encoding` how a CSV's characters were encoded ("utf-8-sig",
    "utf-8", "gb18030" or "utf-16"); `sheet` the title of the workbook's sheet read.
    """

    kind: str
    encoding: str = ""
    sheet: str = ""
    rows: list[tuple[int, Sequence[Any]]] = field(default_factory=list)


@dataclass
class RowError:
    """One reason a row (or, with no row number, the whole file) cannot be imported."""

    row: int | None  # as the spreadsheet shows it: the header is row 1
    column: str  # the header as the file spells it; "" for the whole row or file
    message: Any  # a lazy string, shown in the reader's language

    def __str__(self) -> str:
        where = [str(x) for x in (self.row, self.column) if x]
        return f"{', '.join(where)}: {self.message}" if where else str(self.message)


def not_accepted(accept: Collection[str]):
    """The refusal of a file that is not what a reader taking `accept` takes, in its words."""
    if set(accept) == {CSV}:
        return _l("This is not a CSV file.")
    return _l("This is not a CSV file or an Excel workbook (.xlsx).")


def format_size(n: int) -> str:
    """A byte count as people read it ("10 MB", "512 KB")."""
    if n >= 1024 * 1024:
        return f"{n / (1024 * 1024):.3g} MB"
    if n >= 1024:
        return f"{n / 1024:.3g} KB"
    return f"{n} B"


def encoding_label(encoding: str) -> str:
    """How a CSV's characters were encoded (as Table.encoding says), in words people know."""
    return ENCODING_LABELS.get(encoding, encoding)


def max_unpacked_bytes() -> int:
    """How much an XLSX may unpack to (config UPLOAD_MAX_UNPACKED_BYTES, default 50 MB)."""
    return int(current_app.config.get("UPLOAD_MAX_UNPACKED_BYTES", MAX_UNPACKED_BYTES))


# ---------------------------------------------------------------------------------------
# Judging the bytes


def _zip_entries(data: bytes) -> list[zipfile.ZipInfo] | None:
    """The entries a zip declares, or None when it cannot be read as a zip."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            return archive.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, EOFError):
        return None


def _is_workbook(entries: list[zipfile.ZipInfo]) -> bool:
    names = {entry.filename for entry in entries}
    return all(part in names for part in XLSX_PARTS)


def _check_xlsx(data: bytes, accept: Collection[str], max_unpacked: int) -> None:
    entries = _zip_entries(data)
    if entries is None or not _is_workbook(entries):
        raise UploadRefused(not_accepted(accept), Reason.NOT_ACCEPTED)
    unpacked = sum(entry.file_size for entry in entries)
    if len(entries) > MAX_ZIP_ENTRIES or unpacked > max_unpacked:
        raise UploadRefused(
            _l("The workbook is too large once unpacked."), Reason.UNPACKS_TOO_LARGE
        )


def _decode(data: bytes, accept: Collection[str]) -> tuple[str, str]:
    """The text of `data` and its encoding: UTF-8 (BOM or not), UTF-16 with a BOM or GB18030."""
    if data.startswith(codecs.BOM_UTF8):
        try:
            return data[len(codecs.BOM_UTF8) :].decode("utf-8"), "utf-8-sig"
        except UnicodeDecodeError:
            raise UploadRefused(
                _l("The file starts as UTF-8 but is not valid UTF-8."), Reason.NOT_UTF8
            ) from None
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            return data.decode("utf-16"), "utf-16"
        except UnicodeDecodeError:
            raise UploadRefused(not_accepted(accept), Reason.NOT_ACCEPTED) from None
    for encoding in ("utf-8", "gb18030"):
        try:
            return data.decode(encoding), encoding
        except UnicodeDecodeError:
            continue
    raise UploadRefused(
        _l("The file's characters are neither UTF-8 nor GBK: save it as CSV (UTF-8) again."),
        Reason.ENCODING,
    )


def _looks_binary(text: str) -> bool:
    head = text[:SNIFF_CHARS]
    return "\x00" in text or len(_CONTROL.findall(head)) > len(head) // 100


def _looks_like_markup(text: str) -> bool:
    head = text[:SNIFF_CHARS]
    return bool(_MARKUP_START.match(head) or _MARKUP_ANYWHERE.search(head))


def _examine(
    data: bytes, accept: Collection[str], max_bytes: int | None, max_unpacked: int
) -> tuple[str, str, str]:
    """What `data` is ("csv" or "xlsx"), with a CSV's text and encoding; else UploadRefused."""
    if not data:
        raise UploadRefused(_l("The file is empty."), Reason.EMPTY)
    if max_bytes is not None:
        _check_size(len(data), max_bytes)
    if data.startswith(ZIP_MAGIC):
        if XLSX not in accept:
            entries = _zip_entries(data)
            if entries is not None and not _is_workbook(entries):
                raise UploadRefused(not_accepted(accept), Reason.NOT_ACCEPTED)
            raise _workbook_not_csv()
        _check_xlsx(data, accept, max_unpacked)
        return XLSX, "", ""
    if data.startswith(OLE_MAGIC):
        if XLSX not in accept:
            raise _workbook_not_csv()
        raise UploadRefused(
            _l("Excel 97-2003 workbooks (.xls) cannot be read: save the file as .xlsx or CSV."),
            Reason.OLD_EXCEL,
        )
    if CSV not in accept or data.startswith(BINARY_MAGIC):
        raise UploadRefused(not_accepted(accept), Reason.NOT_ACCEPTED)
    text, encoding = _decode(data, accept)
    if _looks_binary(text) or _looks_like_markup(text):
        raise UploadRefused(not_accepted(accept), Reason.NOT_ACCEPTED)
    return CSV, text, encoding


def _workbook_not_csv() -> UploadRefused:
    return UploadRefused(
        _l("This is an Excel workbook: save the sheet as CSV first."), Reason.WORKBOOK
    )


def _check_size(size: int, limit: int) -> None:
    if size > limit:
        raise UploadRefused(
            _l("The file is larger than %(limit)s.", limit=format_size(limit)), Reason.TOO_LARGE
        )


def sniff(data: bytes, accept: Collection[str] = (CSV, XLSX)) -> str:
    """What `data` is, "csv" or "xlsx", if the form accepts that; else UploadRefused.

    A form's judgement: text in no encoding we read is simply not a CSV (read_table, which
    reads it, says what is wrong with its characters).
    """
    try:
        return _examine(data, accept, None, max_unpacked_bytes())[0]
    except UploadRefused as refused:
        if refused.code in (Reason.NOT_UTF8, Reason.ENCODING):
            raise UploadRefused(not_accepted(accept), Reason.NOT_ACCEPTED) from None
        raise


# ---------------------------------------------------------------------------------------
# Reading the rows


def read_table(
    data: bytes,
    accept: Collection[str] = (CSV, XLSX),
    *,
    max_bytes: int | None = None,
    max_unpacked: int | None = None,
    choose_sheet: Callable[[list[tuple[int, Sequence[Any]]]], bool] | None = None,
) -> Table:
    """The rows of a spreadsheet file, read as what its bytes are; else UploadRefused.

    `max_bytes` caps the file (Reason.TOO_LARGE), `max_unpacked` what a workbook may unpack
    to (default config UPLOAD_MAX_UNPACKED_BYTES). Of a workbook the first sheet is read, or
    with `choose_sheet` the first sheet whose rows it accepts (else the first).
    """
    unpacked = max_unpacked_bytes() if max_unpacked is None else max_unpacked
    kind, text, encoding = _examine(data, accept, max_bytes, unpacked)
    if kind == XLSX:
        return _read_xlsx(data, choose_sheet)
    return _read_csv(text, encoding)


def _read_csv(text: str, encoding: str) -> Table:
    """A CSV's rows, split at the delimiter its first lines use most."""
    head = text[:8192].splitlines()[:DELIMITER_LINES]
    counts = {d: max((line.count(d) for line in head), default=0) for d in DELIMITERS}
    delimiter = max(counts, key=counts.get) if any(counts.values()) else ","
    try:
        rows = list(enumerate(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter), 1))
    except csv.Error as error:
        raise UploadRefused(
            _l("The CSV file cannot be read: %(reason)s", reason=str(error)), Reason.UNREADABLE
        ) from None
    return Table(CSV, encoding, rows=rows)


def _read_xlsx(data: bytes, choose_sheet) -> Table:
    """A workbook's rows of cell values, from the sheet chosen."""
    damaged = UploadRefused(_l("The Excel workbook cannot be read; is it damaged?"), Reason.DAMAGED)
    with warnings.catch_warnings():
        # openpyxl warns about features it skips (data validation, default styles).
        warnings.simplefilter("ignore")
        try:
            book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        except Exception:  # a damaged or foreign zip: openpyxl raises many kinds
            raise damaged from None
        try:
            chosen = None
            for sheet in book.worksheets:
                rows = list(enumerate(sheet.iter_rows(values_only=True), 1))
                if chosen is None:
                    chosen = (sheet.title, rows)
                if choose_sheet is None or choose_sheet(rows):
                    chosen = (sheet.title, rows)
                    break
        except Exception:
            raise damaged from None
        finally:
            book.close()
    if chosen is None:
        raise UploadRefused(_l("The file is empty."), Reason.EMPTY)
    return Table(XLSX, sheet=chosen[0], rows=chosen[1])


# ---------------------------------------------------------------------------------------
# Upload forms


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
    _check_size(len(data), limit)
    kind = sniff(data, accept)
    return Upload(data, kind, _display_name(storage.filename or "", kind))


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
