"""Spreadsheets out: tables written as CSV (UTF-8 with BOM) or XLSX, safe to open.

Text that a spreadsheet program would run as a formula (starting with = + - @, a tab or a
carriage return) gets a leading "'", which the station import removes again; numbers stay
numbers. Every export of the application (stations, donations, reports) writes through here.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

from inclusive_day.database import utcnow
from inclusive_day.periods import DEFAULT_ZONE

FORMATS = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
DEFAULT_WIDTH = 14
SHEET_TITLE_MAX = 31  # Excel's limit on a sheet's name


@dataclass(frozen=True)
class Export:
    """An exported file: its bytes, media type and suggested name."""

    data: bytes
    mimetype: str
    filename: str


@dataclass(frozen=True)
class Table:
    """One sheet: a title, column headers, rows of cells and optional column widths."""

    title: str
    headers: Sequence[str]
    rows: Sequence[Sequence[Any]]
    widths: Sequence[int] = field(default_factory=tuple)


def neutralise(value: Any) -> Any:
    """Text that a spreadsheet would read as a formula, made inert; other values as they are."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def _cell(value: Any) -> Any:
    """A value a spreadsheet cell can hold: enums and lazy strings become text."""
    if value is None or isinstance(value, int | float | Decimal | date | datetime | str):
        return neutralise(value)
    return neutralise(str(value))


def stamp() -> str:
    """Today's date in China as YYYYMMDD, for file names."""
    return utcnow().astimezone(DEFAULT_ZONE).strftime("%Y%m%d")


def export(tables: Sequence[Table], fmt: str, name: str) -> Export:
    """`tables` as one file named `name`-<date>.<fmt>; CSV holds the first table only."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown export format {fmt!r}")
    data = to_csv(tables[0]) if fmt == "csv" else to_xlsx(tables)
    return Export(data, FORMATS[fmt], f"{name}-{stamp()}.{fmt}")


def to_csv(table: Table) -> bytes:
    """One table as CSV; the BOM tells Excel on Chinese Windows that this is UTF-8, not GBK."""
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([str(h) for h in table.headers])
    for row in table.rows:
        writer.writerow(["" if v is None else _cell(v) for v in row])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def to_xlsx(tables: Sequence[Table]) -> bytes:
    """Tables as the sheets of one workbook, headers bold and frozen."""
    book = Workbook(write_only=True)
    bold = Font(bold=True)
    for table in tables:
        sheet = book.create_sheet(str(table.title)[:SHEET_TITLE_MAX])
        sheet.freeze_panes = "A2"
        for index in range(len(table.headers)):
            width = table.widths[index] if index < len(table.widths) else DEFAULT_WIDTH
            sheet.column_dimensions[get_column_letter(index + 1)].width = width
        header_cells = []
        for text in table.headers:
            cell = WriteOnlyCell(sheet, value=str(text))
            cell.font = bold
            header_cells.append(cell)
        sheet.append(header_cells)
        for row in table.rows:
            sheet.append([_cell(v) for v in row])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
