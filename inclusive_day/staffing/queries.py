"""Reading the roster and duty: who runs which station, who is on duty now, and duty
attendance over a period.

Duty attendance counts station-days:
expected  = days a station was open (by its lifecycle dates) with opening hours, that is not
            open round the clock: someone should be on duty then. 24-hour stations, often
            unattended, expect no one.
attended  = expected days on which an administrator signed on at the station
absent    = expected - attended
hours     = time on duty (sign-on to sign-off; an open shift counts until now)
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import ColumnElement, func, select

from inclusive_day.extensions import db
from inclusive_day.staffing.models import AdminRole, DutyShift, StationAdmin
from inclusive_day.stations.models import Station
from inclusive_day.stations.queries import station_child
from inclusive_day.units.models import Unit


@dataclass(frozen=True)
class Duty:
    """Duty attendance over some station-days."""

    expected: int = 0
    attended: int = 0
    hours: float = 0.0

    @property
    def absent(self) -> int:
        """Expected days with no one on duty."""
        return max(self.expected - self.attended, 0)

    @property
    def rate(self) -> float | None:
        """Attended over expected, or None when no day expected anyone."""
        return self.attended / self.expected if self.expected else None

    def __add__(self, other: Duty) -> Duty:
        return Duty(
            self.expected + other.expected,
            self.attended + other.attended,
            self.hours + other.hours,
        )


NO_DUTY = Duty()


def current_masters() -> ColumnElement[bool]:
    """The condition on StationAdmin for the stations' current masters."""
    return (StationAdmin.role == AdminRole.MASTER) & StationAdmin.until.is_(None)


def has_master() -> ColumnElement[bool]:
    """The condition on Station for stations with a current master."""
    return Station.id.in_(select(StationAdmin.station_id).where(current_masters()))


def on_duty_now() -> ColumnElement[bool]:
    """The condition on Station for stations where someone is on duty now (a shift signed on
    and not yet off)."""
    return Station.id.in_(select(DutyShift.station_id).where(DutyShift.ended_at.is_(None)))


def masters_by_station(station_ids) -> dict[int, StationAdmin]:
    """Each station's current master, for the stations `station_ids` holds (a list or SELECT)."""
    rows = db.session.scalars(
        select(StationAdmin).where(StationAdmin.station_id.in_(station_ids), current_masters())
    )
    return {admin.station_id: admin for admin in rows}


def on_duty_by_station(station_ids) -> dict[int, list[str]]:
    """The names of the administrators on duty now at each station of `station_ids`."""
    rows = db.session.execute(
        select(DutyShift.station_id, StationAdmin.name)
        .join(StationAdmin, StationAdmin.id == DutyShift.admin_id)
        .where(DutyShift.station_id.in_(station_ids), DutyShift.ended_at.is_(None))
        .order_by(DutyShift.station_id, DutyShift.started_at)
    )
    names: dict[int, list[str]] = defaultdict(list)
    for station_id, name in rows:
        names[station_id].append(name)
    return dict(names)


def _overlap_days(opened: date | None, closed: date | None, first: date, last: date) -> int:
    """The days in [first, last] on which a station with these lifecycle dates was open."""
    if opened is None:
        return 0
    start = max(opened, first)
    end = last if closed is None else min(last, closed - timedelta(days=1))
    return max((end - start).days + 1, 0)


def _expected_days(station_ids, first: date, last: date) -> dict[int, int]:
    """Per station, the days in [first, last] that expected someone on duty."""
    rows = db.session.execute(
        select(Station.id, Station.opened_on, Station.closed_on).where(
            Station.id.in_(station_ids),
            Station.open_24h.is_(False),
            Station.opening_hours != "",
            Station.opened_on <= last,
        )
    )
    return {
        station_id: days
        for station_id, opened, closed in rows
        if (days := _overlap_days(opened, closed, first, last))
    }


def _shift_seconds(now: datetime):
    """SQL: the seconds a shift lasted, an open one until `now`, on either database."""
    end = func.coalesce(DutyShift.ended_at, now)
    if db.session.get_bind().dialect.name == "sqlite":
        return (func.julianday(end) - func.julianday(DutyShift.started_at)) * 86400.0
    return func.extract("epoch", end - DutyShift.started_at)


def duty_by_station(station_ids, first: date, last: date, now: datetime) -> dict[int, Duty]:
    """Duty attendance per station of `station_ids` over the local days first to last: two
    grouped queries however many stations. Stations that expected no one and kept no shift
    are absent."""
    expected = _expected_days(station_ids, first, last)
    # Only shifts on expected days count as attendance; hours count whenever kept.
    rows = db.session.execute(
        select(
            DutyShift.station_id,
            DutyShift.day,
            func.sum(_shift_seconds(now)),
        )
        .where(
            DutyShift.station_id.in_(station_ids),
            DutyShift.day >= first,
            DutyShift.day <= last,
        )
        .group_by(DutyShift.station_id, DutyShift.day)
    )
    attended: dict[int, int] = defaultdict(int)
    seconds: dict[int, float] = defaultdict(float)
    opened = _open_ranges(expected.keys())
    for station_id, day, secs in rows:
        seconds[station_id] += float(secs or 0)
        span = opened.get(station_id)
        if span and span[0] <= day and (span[1] is None or day < span[1]):
            attended[station_id] += 1
    return {
        station_id: Duty(
            expected.get(station_id, 0),
            min(attended.get(station_id, 0), expected.get(station_id, 0)),
            round(seconds.get(station_id, 0.0) / 3600, 1),
        )
        for station_id in expected.keys() | seconds.keys()
    }


def _open_ranges(station_ids) -> dict[int, tuple[date, date | None]]:
    """Each station's lifecycle [opened_on, closed_on) for the stations given."""
    ids = list(station_ids)
    if not ids:
        return {}
    rows = db.session.execute(
        select(Station.id, Station.opened_on, Station.closed_on).where(Station.id.in_(ids))
    )
    return {station_id: (opened, closed) for station_id, opened, closed in rows}


def duty_in(path: str, first: date, last: date, now: datetime) -> Duty:
    """Duty attendance of a subtree's stations over the local days first to last."""
    total = NO_DUTY
    for duty in duty_by_station(
        select(Station.id).where(Station.under(path)), first, last, now
    ).values():
        total += duty
    return total


def duty_by_child(unit: Unit, first: date, last: date, now: datetime) -> dict[int, Duty]:
    """Duty attendance per sub-unit of `unit` (and `unit` itself for its own stations)."""
    pairs = dict(db.session.execute(station_child(unit)).all())
    totals: dict[int, Duty] = defaultdict(lambda: NO_DUTY)
    ids = select(Station.id).where(Station.under(unit.path))
    for station_id, duty in duty_by_station(ids, first, last, now).items():
        child = pairs.get(station_id)
        if child is not None:
            totals[child] = totals[child] + duty
    return dict(totals)
