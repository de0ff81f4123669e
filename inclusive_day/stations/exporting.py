"""Station spreadsheets out: every station of a unit's subtree as CSV or XLSX.

The columns are the import's Chinese headers, so an exported file imports back unchanged.
Coordinates are written in WGS-84, as stored. Text that a spreadsheet program would run
as a formula (starting with = + - @, a tab or a carriage return) gets a leading "'",
which the import removes again; numbers stay numbers.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from flask_babel import force_locale
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font
from sqlalchemy import select

from inclusive_day.database import utcnow
from inclusive_day.extensions import db
from inclusive_day.stations.importing import COLUMNS, FORMULA_STARTS
from inclusive_day.stations.models import Amenity, Station, StationAmenity
from inclusive_day.units.models import Unit, under

FORMATS = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
CHINA = ZoneInfo("Asia/Shanghai")  # the date in the file name is China's
ROUND_THE_CLOCK = "24小时"
WGS84_LABEL = "WGS-84"
COLUMN_WIDTHS = {"name": 28, "unit": 22, "address": 36, "hours": 20, "amenities": 28}


@dataclass(frozen=True)
class Export:
    """An exported file: its bytes, media type and suggested name."""

    data: bytes
    mimetype: str
    filename: str


def neutralise(value: Any) -> Any:
    """Text that a spreadsheet would read as a formula, made inert; other values as they are."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def station_rows(unit: Unit) -> list[list[Any]]:
    """One row of cells per station under `unit`, in the import's column order (two queries)."""
    scope = Station.unit_id.in_(select(Unit.id).where(under(Unit.path, unit.path)))
    stmt = (
        select(Station, Unit.name, Unit.code)
        .join(Unit, Unit.id == Station.unit_id)
        .where(scope)
        .order_by(Station.code)
    )
    amenities: dict[int, set[Amenity]] = {}
    for station_id, amenity in db.session.execute(
        select(StationAmenity.station_id, StationAmenity.amenity).join(Station).where(scope)
    ):
        amenities.setdefault(station_id, set()).add(amenity)
    rows = []
    # Values are written in Chinese, like the headers, whatever the reader's language.
    with force_locale("zh"):
        for station, unit_name, unit_code in db.session.execute(stmt):
            have = amenities.get(station.id, set())
            cells = {
                "code": station.code,
                "name": station.name,
                "unit": unit_name,
                "unit_code": unit_code or "",
                "address": station.address,
                "longitude": station.longitude,
                "latitude": station.latitude,
                "coord_system": WGS84_LABEL if station.latitude is not None else "",
                "hours": ROUND_THE_CLOCK if station.open_24h else station.opening_hours,
                "amenities": "、".join(str(a.label) for a in Amenity if a in have),
                "partner": station.partner,
                "services": station.services,
                "phone": station.phone,
                "status": str(station.status.label),
            }
            rows.append([cells[c.key] for c in COLUMNS])
    return rows


def export_stations(unit: Unit, fmt: str) -> Export:
    """The stations of `unit`'s subtree as a CSV (UTF-8 with BOM) or XLSX file."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown export format {fmt!r}")
    rows = station_rows(unit)
    headers = [c.header for c in COLUMNS]
    data = _csv(headers, rows) if fmt == "csv" else _xlsx(headers, rows)
    stamp = utcnow().astimezone(CHINA).strftime("%Y%m%d")
    return Export(data, FORMATS[fmt], f"stations-{unit.code or unit.id}-{stamp}.{fmt}")


def _csv(headers: list[str], rows: list[list[Any]]) -> bytes:
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(headers)
    for row in rows:
        writer.writerow(["" if v is None else neutralise(v) for v in row])
    # The BOM tells Excel on Chinese Windows that this is UTF-8, not GBK.
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def _xlsx(headers: list[str], rows: list[list[Any]]) -> bytes:
    book = Workbook(write_only=True)
    sheet = book.create_sheet("驿站")
    sheet.freeze_panes = "A2"
    for index, column in enumerate(COLUMNS):
        letter = chr(ord("A") + index)
        sheet.column_dimensions[letter].width = COLUMN_WIDTHS.get(column.key, 14)
    bold = Font(bold=True)
    header_cells = []
    for text in headers:
        cell = WriteOnlyCell(sheet, value=text)
        cell.font = bold
        header_cells.append(cell)
    sheet.append(header_cells)
    for row in rows:
        sheet.append([neutralise(v) for v in row])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
