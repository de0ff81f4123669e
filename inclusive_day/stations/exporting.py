"""Station spreadsheets out: every station of a unit's subtree as CSV or XLSX.

The columns are the import's Chinese headers, so an exported file imports back unchanged.
Coordinates are written in WGS-84, as stored; `inclusive_day.spreadsheets` writes the file.
"""

from __future__ import annotations

from typing import Any

from flask_babel import force_locale
from sqlalchemy import select

from inclusive_day.extensions import db
from inclusive_day.spreadsheets import Export, Table, export
from inclusive_day.stations.importing import COLUMNS
from inclusive_day.stations.models import Amenity, Station, StationAmenity
from inclusive_day.units.models import Unit

ROUND_THE_CLOCK = "24小时"
WGS84_LABEL = "WGS-84"
COLUMN_WIDTHS = {"name": 28, "unit": 22, "address": 36, "hours": 20, "amenities": 28}


def station_rows(unit: Unit) -> list[list[Any]]:
    """One row of cells per station under `unit`, in the import's column order (two queries)."""
    scope = Station.under(unit.path)
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
    widths = [COLUMN_WIDTHS.get(c.key, 14) for c in COLUMNS]
    table = Table("驿站", [c.header for c in COLUMNS], station_rows(unit), widths)
    return export([table], fmt, f"stations-{unit.code or unit.id}")
