"""Inspections: each level inspects the stations below it at its own cadence.

A station is due for a level's inspection `months` after that level's last inspection
of it, or after the station was registered if it was never inspected at that level.
A level's cadence applies to the stations at or below units of that level.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import and_, func, select
from sqlalchemy.orm import aliased

from inclusive_day.extensions import db
from inclusive_day.periods import add_months
from inclusive_day.stations.models import (
    CheckItem,
    Inspection,
    InspectionCadence,
    InspectionCheck,
    InspectionResult,
    Station,
    StationStatus,
)
from inclusive_day.units.models import Level, Unit, under

OVERDUE_LIST_MAX = 200


def cadences() -> dict[Level, int]:
    """Months between inspections, per inspecting level."""
    return dict(db.session.execute(select(InspectionCadence.level, InspectionCadence.months)).all())


def set_cadences(months: dict[Level, int | None]) -> None:
    """Replace the cadences: a level with None (or absent) does not inspect."""
    db.session.execute(InspectionCadence.__table__.delete())
    rows = [{"level": lv, "months": m} for lv, m in months.items() if m]
    if rows:
        db.session.execute(InspectionCadence.__table__.insert(), rows)
    db.session.flush()


def record_inspection(
    station: Station,
    unit: Unit,
    inspected_on: date,
    met: set[CheckItem],
    result: InspectionResult,
    notes: str = "",
    inspector=None,
) -> Inspection:
    """Record one inspection of `station` by `unit` with the checklist as found."""
    if not station.unit.is_within(unit):
        raise ValueError("the inspecting unit must be above the station")
    inspection = Inspection(
        station=station,
        unit=unit,
        inspected_on=inspected_on,
        result=result,
        notes=notes.strip(),
        inspector=inspector,
        checks=[InspectionCheck(item=item, passed=item in met) for item in CheckItem],
    )
    db.session.add(inspection)
    db.session.flush()
    return inspection


def _levels_at_or_below(level: Level) -> list[Level]:
    return [lv for lv in Level if lv.depth >= level.depth]


def _registered_on():
    return func.date(Station.created_at)


@dataclass(frozen=True)
class Overdue:
    """A station whose inspection by one level is overdue."""

    station_id: int
    code: str
    name: str
    unit_name: str
    level: Level
    months: int
    last: date | None
    due: date


def overdue(root: Unit, today: date, limit: int = OVERDUE_LIST_MAX) -> tuple[dict, list[Overdue]]:
    """Per level, how many stations under `root` are overdue, and the longest-overdue of them.

    One query per level with a cadence (at most five), whatever the number of stations.
    """
    counts: dict[Level, int] = {}
    found: list[Overdue] = []
    for level, months in sorted(cadences().items(), key=lambda kv: kv[0].depth):
        cutoff = add_months(today, -months)
        inspector_unit = aliased(Unit)
        last = (
            select(func.max(Inspection.inspected_on))
            .join(inspector_unit, inspector_unit.id == Inspection.unit_id)
            .where(Inspection.station_id == Station.id, inspector_unit.level == level)
            .correlate(Station)
            .scalar_subquery()
        )
        since = func.coalesce(last, _registered_on())
        stmt = (
            select(
                Station.id,
                Station.code,
                Station.name,
                Unit.name,
                last,
                _registered_on(),
                func.count().over(),
            )
            .join(Unit, Unit.id == Station.unit_id)
            .where(
                under(Unit.path, root.path),
                Unit.level.in_(_levels_at_or_below(level)),
                # Open or suspended: a station not built yet, or closed, is not inspected.
                Station.status.in_((StationStatus.ACTIVE, StationStatus.SUSPENDED)),
                since <= cutoff,
            )
            .order_by(since, Station.code)
            .limit(limit)
        )
        rows = db.session.execute(stmt).all()
        counts[level] = rows[0][-1] if rows else 0
        for station_id, code, name, unit_name, last_on, registered, _total in rows:
            found.append(
                Overdue(
                    station_id,
                    code,
                    name,
                    unit_name,
                    level,
                    months,
                    _as_date(last_on),
                    add_months(_as_date(last_on) or _as_date(registered), months),
                )
            )
    found.sort(key=lambda o: (o.due, o.code))
    return counts, found[:limit]


def _as_date(value) -> date | None:
    if value is None or isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])


def station_schedule(station: Station, today: date) -> list[dict]:
    """For each level that inspects this station: its last inspection, next due date, overdue?"""
    levels = {lv: m for lv, m in cadences().items() if station.unit.level.depth >= lv.depth}
    last_by_level = dict(
        db.session.execute(
            select(Unit.level, func.max(Inspection.inspected_on))
            .join(Unit, Unit.id == Inspection.unit_id)
            .where(Inspection.station_id == station.id)
            .group_by(Unit.level)
        ).all()
    )
    out = []
    for level, months in sorted(levels.items(), key=lambda kv: kv[0].depth):
        last = _as_date(last_by_level.get(level))
        due = add_months(last or station.created_at.date(), months)
        out.append(
            {"level": level, "months": months, "last": last, "due": due, "overdue": due <= today}
        )
    return out


def passed_by_window(windows) -> dict[tuple, int]:
    """Inspections passed per window: `windows` is a subquery of (kind, ref, station_id,
    first_day, end_day), a station's days from first_day to the day before end_day. "Passed"
    is the result PASSED only (not "passed after rectification"). One grouped query; windows
    with none are absent."""
    rows = db.session.execute(
        select(windows.c.kind, windows.c.ref, func.count())
        .select_from(Inspection)
        .join(
            windows,
            and_(
                windows.c.station_id == Inspection.station_id,
                Inspection.inspected_on >= windows.c.first_day,
                Inspection.inspected_on < windows.c.end_day,
            ),
        )
        .where(Inspection.result == InspectionResult.PASSED)
        .group_by(windows.c.kind, windows.c.ref)
    )
    return {(kind, ref): int(n) for kind, ref, n in rows}
