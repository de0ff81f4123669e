"""Station spreadsheets out: every station of a unit's subtree as CSV or XLSX.

The columns are the import's Chinese headers, so an exported file imports back unchanged;
one more column at the end, each station's door visits over the last 30 days (its header
names the days), is for reading only: the import ignores a column it does not know.
Coordinates are written in WGS-84, as stored; `inclusive_day.spreadsheets` writes the file.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from flask_babel import force_locale
from sqlalchemy import select
from sqlalchemy.orm import aliased

from inclusive_day.attendance.traffic import RECENT_DAYS, recent_days, traffic_by_station
from inclusive_day.extensions import db
from inclusive_day.periods import local_today
from inclusive_day.spreadsheets import Export, Table, export
from inclusive_day.stations.importing import COLUMNS
from inclusive_day.stations.models import (
    Amenity,
    HostType,
    Label,
    LabelAward,
    Partner,
    Station,
    StationAmenity,
    StationPartner,
)
from inclusive_day.units.models import Unit

ROUND_THE_CLOCK = "24小时"
WGS84_LABEL = "WGS-84"
COLUMN_WIDTHS = {
    "name": 28,
    "unit": 22,
    "address": 36,
    "hours": 20,
    "amenities": 28,
    "labels": 30,
    "partners": 24,
}


def _labels_cells(scope) -> dict[int, str]:
    """Each station's labels as the import reads them: "省级工会驿站 2023；示范驿站 2024 @530100",
    the awarding unit named (by code, else name) only when it is not the station's own."""
    awarding = aliased(Unit)
    stmt = (
        select(
            LabelAward.station_id,
            Label.name_zh,
            LabelAward.year,
            LabelAward.awarded_by_id,
            Station.unit_id,
            awarding.code,
            awarding.name,
        )
        .join(Label, Label.id == LabelAward.label_id)
        .join(Station, Station.id == LabelAward.station_id)
        .join(awarding, awarding.id == LabelAward.awarded_by_id)
        .where(scope)
        .order_by(LabelAward.station_id, Label.position, Label.id)
    )
    cells: dict[int, list[str]] = {}
    for station_id, name, year, by_id, own_id, by_code, by_name in db.session.execute(stmt):
        text = f"{name} {year}" if by_id == own_id else f"{name} {year} @{by_code or by_name}"
        cells.setdefault(station_id, []).append(text)
    return {station_id: "；".join(texts) for station_id, texts in cells.items()}


def _partner_cells(scope) -> dict[int, str]:
    """Each station's partners' names, as the form and the import write them."""
    stmt = (
        select(StationPartner.station_id, Partner.name)
        .join(Partner, Partner.id == StationPartner.partner_id)
        .join(Station, Station.id == StationPartner.station_id)
        .where(scope)
        .order_by(StationPartner.station_id, Partner.name)
    )
    cells: dict[int, list[str]] = {}
    for station_id, name in db.session.execute(stmt):
        cells.setdefault(station_id, []).append(name)
    return {station_id: "、".join(names) for station_id, names in cells.items()}


def visits_header(first: date, last: date) -> str:
    """The header of the door visits column, naming its days (the import does not read it)."""
    return f"到访人次（近{RECENT_DAYS}日，{first.isoformat()}至{last.isoformat()}）"


def station_rows(unit: Unit, first: date, last: date) -> list[list[Any]]:
    """One row of cells per station under `unit`, in the import's column order, then its door
    visits from `first` to `last` (five queries)."""
    scope = Station.under(unit.path)
    stmt = (
        select(Station, Unit.name, Unit.code, HostType.name_zh)
        .join(Unit, Unit.id == Station.unit_id)
        .join(HostType, HostType.id == Station.host_type_id)
        .where(scope)
        .order_by(Station.code)
    )
    amenities: dict[int, set[Amenity]] = {}
    for station_id, amenity in db.session.execute(
        select(StationAmenity.station_id, StationAmenity.amenity).join(Station).where(scope)
    ):
        amenities.setdefault(station_id, set()).add(amenity)
    labels = _labels_cells(scope)
    partners = _partner_cells(scope)
    traffic = traffic_by_station(select(Station.id).where(scope), first, last)
    rows = []
    # Values are written in Chinese, like the headers, whatever the reader's language.
    with force_locale("zh"):
        for station, unit_name, unit_code, host_type in db.session.execute(stmt):
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
                "host_type": host_type,
                "labels": labels.get(station.id, ""),
                "partners": partners.get(station.id, ""),
                "services": station.services,
                "phone": station.phone,
                "status": str(station.status.label),
                "opened_on": station.opened_on.isoformat() if station.opened_on else "",
                "closed_on": station.closed_on.isoformat() if station.closed_on else "",
                "closure_reason": station.closure_reason,
            }
            visits = traffic[station.id].visits if station.id in traffic else 0
            rows.append([*(cells[c.key] for c in COLUMNS), visits])
    return rows


def export_stations(unit: Unit, fmt: str, today: date | None = None) -> Export:
    """The stations of `unit`'s subtree as a CSV (UTF-8 with BOM) or XLSX file, with their
    door visits over the 30 days up to `today` (default: today, China's day)."""
    first, last = recent_days(today or local_today())
    widths = [*(COLUMN_WIDTHS.get(c.key, 14) for c in COLUMNS), 24]
    headers = [*(c.header for c in COLUMNS), visits_header(first, last)]
    table = Table("驿站", headers, station_rows(unit, first, last), widths)
    return export([table], fmt, f"stations-{unit.code or unit.id}")
