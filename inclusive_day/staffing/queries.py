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
from decimal import Decimal

from sqlalchemy import (
    ColumnElement,
    Date,
    Select,
    and_,
    case,
    distinct,
    func,
    literal,
    or_,
    select,
    union_all,
)
from sqlalchemy.orm import joinedload

from inclusive_day.database import UTCDateTime
from inclusive_day.extensions import db
from inclusive_day.periods import Month
from inclusive_day.staffing.models import AdminRole, DutyShift, StationAdmin, Training
from inclusive_day.stations.models import Station, StationStatus
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


def masters_first():
    """SQL: an ORDER BY key that puts masters before assistants."""
    return case((StationAdmin.role == AdminRole.MASTER, 0), else_=1)


def has_master() -> ColumnElement[bool]:
    """The condition on Station for stations with a current master."""
    return Station.id.in_(select(StationAdmin.station_id).where(current_masters()))


def open_without_master(today: date) -> ColumnElement[bool]:
    """The condition on Station for stations open on `today` (Station.open_on) with no current
    master: the stations the tree counts and the station list marks and filters."""
    return and_(Station.open_on(today), ~has_master())


def without_master_ids(station_ids, today: date) -> set[int]:
    """The ids, among `station_ids` (a list or SELECT), of the stations open on `today` with no
    current master (one query)."""
    return set(
        db.session.scalars(
            select(Station.id).where(Station.id.in_(station_ids), open_without_master(today))
        )
    )


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
    """SQL: the seconds a shift lasted, an open one until `now`, on either database. `now`
    is bound as the stored instants are (UTC), whatever zone it was given in."""
    end = func.coalesce(DutyShift.ended_at, literal(now, UTCDateTime()))
    if db.session.get_bind().dialect.name == "sqlite":
        return (func.julianday(end) - func.julianday(DutyShift.started_at)) * 86400.0
    return func.extract("epoch", end - DutyShift.started_at)


def duty_by_station(station_ids, first: date, last: date, now: datetime) -> dict[int, Duty]:
    """Duty attendance per station of `station_ids` over the local days first to last: two
    grouped queries however many stations and shifts. Stations that expected no one and kept
    no shift are absent."""
    expected = _expected_days(station_ids, first, last)
    # Only shifts on expected days count as attendance (a day the station, one with opening
    # hours, was open); hours count whenever kept.
    on_expected_day = and_(
        Station.open_24h.is_(False),
        Station.opening_hours != "",
        Station.opened_on <= DutyShift.day,
        or_(Station.closed_on.is_(None), DutyShift.day < Station.closed_on),
    )
    rows = db.session.execute(
        select(
            DutyShift.station_id,
            func.count(distinct(DutyShift.day)).filter(on_expected_day),
            func.sum(_shift_seconds(now)),
        )
        .join(Station, Station.id == DutyShift.station_id)
        .where(
            DutyShift.station_id.in_(station_ids),
            DutyShift.day >= first,
            DutyShift.day <= last,
        )
        .group_by(DutyShift.station_id)
    )
    attended: dict[int, int] = {}
    seconds: dict[int, float] = {}
    for station_id, days, secs in rows:
        attended[station_id] = int(days or 0)
        seconds[station_id] = float(secs or 0)
    return {
        station_id: Duty(
            expected.get(station_id, 0),
            min(attended.get(station_id, 0), expected.get(station_id, 0)),
            round(seconds.get(station_id, 0.0) / 3600, 1),
        )
        for station_id in expected.keys() | seconds.keys()
    }


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


def counted_days(month: Month, today: date) -> tuple[date, date] | None:
    """The days of `month` that duty is counted over: up to `today` (a day still to come
    expects no one yet), None for a month that has not begun."""
    first = month.first_day
    last = min(month.shift(1).first_day - timedelta(days=1), today)
    return (first, last) if first <= last else None


def expects_duty(station: Station, day: date) -> bool:
    """Did `station` expect someone on duty on `day`: open then, with opening hours, not
    round the clock (the rule `_expected_days` counts in SQL)."""
    if station.open_24h or not station.opening_hours:
        return False
    return _overlap_days(station.opened_on, station.closed_on, day, day) == 1


@dataclass(frozen=True)
class DutyDay:
    """One day of one station's duty: expected or not, the shifts kept, hours and who."""

    day: date
    expected: bool
    shifts: int = 0
    hours: float = 0.0
    names: tuple[str, ...] = ()

    @property
    def attended(self) -> bool:
        """An expected day on which someone signed on."""
        return self.expected and self.shifts > 0

    @property
    def absent(self) -> bool:
        """An expected day with no one on duty."""
        return self.expected and not self.shifts


def duty_days(station: Station, first: date, last: date, now: datetime) -> list[DutyDay]:
    """Each local day from first to last of one station's duty, in order (one query): the
    days add up to what `duty_by_station` counts for the station."""
    rows = db.session.execute(
        select(DutyShift.day, StationAdmin.name, _shift_seconds(now))
        .join(StationAdmin, StationAdmin.id == DutyShift.admin_id)
        .where(DutyShift.station_id == station.id, DutyShift.day >= first, DutyShift.day <= last)
        .order_by(DutyShift.day, DutyShift.started_at)
    )
    shifts: dict[date, int] = defaultdict(int)
    seconds: dict[date, float] = defaultdict(float)
    names: dict[date, list[str]] = defaultdict(list)
    for day, name, secs in rows:
        shifts[day] += 1
        seconds[day] += float(secs or 0)
        if name not in names[day]:
            names[day].append(name)
    return [
        DutyDay(
            day,
            expects_duty(station, day),
            shifts.get(day, 0),
            round(seconds.get(day, 0.0) / 3600, 1),
            tuple(names.get(day, ())),
        )
        for day in (first + timedelta(days=n) for n in range((last - first).days + 1))
    ]


def current_appointments(user_id: int) -> list[StationAdmin]:
    """The stations a user's account administers now, with the stations and their units."""
    return list(
        db.session.scalars(
            select(StationAdmin)
            .where(StationAdmin.user_id == user_id, StationAdmin.until.is_(None))
            .options(joinedload(StationAdmin.station).joinedload(Station.unit))
            .order_by(masters_first(), StationAdmin.station_id)
        )
    )


def open_shifts(admin_ids) -> dict[int, DutyShift]:
    """The open shift of each administrator of `admin_ids` that is on duty now."""
    rows = db.session.scalars(
        select(DutyShift).where(DutyShift.admin_id.in_(admin_ids), DutyShift.ended_at.is_(None))
    )
    return {shift.admin_id: shift for shift in rows}


def recent_shifts(admin_id: int, limit: int = 20) -> list[DutyShift]:
    """An administrator's latest shifts, newest first."""
    return list(
        db.session.scalars(
            select(DutyShift)
            .where(DutyShift.admin_id == admin_id)
            .order_by(DutyShift.started_at.desc(), DutyShift.id.desc())
            .limit(limit)
        )
    )


def training_hours(admin_ids) -> dict[int, Decimal]:
    """The hours of training each administrator of `admin_ids` has on record (one query)."""
    rows = db.session.execute(
        select(Training.admin_id, func.sum(Training.hours))
        .where(Training.admin_id.in_(admin_ids))
        .group_by(Training.admin_id)
    )
    return {admin_id: Decimal(hours) for admin_id, hours in rows}


def admins_under(path: str, past: bool = False) -> Select:
    """SELECT the administrators of a subtree's stations (current ones, or past ones with
    `past`), by station code, master first, for a page of the roster."""
    ended = StationAdmin.until.is_not(None) if past else StationAdmin.until.is_(None)
    return (
        select(StationAdmin)
        .join(Station, Station.id == StationAdmin.station_id)
        .where(Station.under(path), ended)
        .options(joinedload(StationAdmin.station))
        .order_by(Station.code, masters_first(), StationAdmin.since, StationAdmin.id)
    )


def running() -> ColumnElement[bool]:
    """The condition on Station for stations that run and so need a master: open or
    suspended (not planned, being built or closed)."""
    return Station.status.in_((StationStatus.ACTIVE, StationStatus.SUSPENDED))


def without_master(path: str) -> Select:
    """SELECT a subtree's running stations that have no current master, by code."""
    return (
        select(Station).where(Station.under(path), running(), ~has_master()).order_by(Station.code)
    )


def count_without_master(path: str) -> int:
    """How many of a subtree's running stations have no current master."""
    return db.session.scalar(
        select(func.count(Station.id)).where(Station.under(path), running(), ~has_master())
    )


def station_roster(station_id: int) -> list[StationAdmin]:
    """Everyone who runs or ran a station: current first (master first), then past, latest
    first, with their accounts."""
    return list(
        db.session.scalars(
            select(StationAdmin)
            .where(StationAdmin.station_id == station_id)
            .options(joinedload(StationAdmin.user))
            .order_by(
                StationAdmin.until.is_not(None),
                masters_first(),
                StationAdmin.until.desc(),
                StationAdmin.since.desc(),
                StationAdmin.id.desc(),
            )
        )
    )


def duty_by_span(whole, part, first: date, last: date) -> dict[tuple, Duty]:
    """Duty attendance per span of days at a station, for many spans at once: `whole` is a
    subquery of (kind, ref, station_id), spans over all of `first` to `last`, counted per
    station in one pass over ix_duty_shifts_station_day; `part` one of (kind, ref,
    station_id, first_day, end_day), spans of the days first_day to the day before end_day
    within them, each counted from the index of its own station's shifts. Expected are the
    span's days on which its station was open and expected someone on duty (opening hours,
    not round the clock); attended, those of them on which anyone signed on there. Hours are
    not counted (they need every shift's row): Duty.hours is 0. Two queries however many
    spans; spans that expected no one and kept no shift are absent."""
    after = last + timedelta(days=1)
    spans = union_all(
        select(
            whole.c.kind,
            whole.c.ref,
            whole.c.station_id,
            literal(first, Date).label("first_day"),
            literal(after, Date).label("end_day"),
        ),
        select(part.c.kind, part.c.ref, part.c.station_id, part.c.first_day, part.c.end_day),
    ).subquery("spans")
    expected = {}
    for kind, ref, start, end, opened, closed in db.session.execute(
        select(
            spans.c.kind,
            spans.c.ref,
            spans.c.first_day,
            spans.c.end_day,
            Station.opened_on,
            Station.closed_on,
        )
        .join(Station, Station.id == spans.c.station_id)
        .where(Station.open_24h.is_(False), Station.opening_hours != "")
    ):
        days = _overlap_days(opened, closed, start, end - timedelta(days=1))
        if days:
            expected[(kind, ref)] = days
    open_day = and_(
        DutyShift.day >= Station.opened_on,
        or_(Station.closed_on.is_(None), DutyShift.day < Station.closed_on),
    )
    attended = func.count(distinct(DutyShift.day))
    over_whole = (
        select(whole.c.kind, whole.c.ref, attended)
        .select_from(DutyShift)
        .join(whole, whole.c.station_id == DutyShift.station_id)
        .join(Station, Station.id == DutyShift.station_id)
        .where(DutyShift.day >= first, DutyShift.day <= last, open_day)
        .group_by(whole.c.kind, whole.c.ref)
    )
    in_span = (
        select(attended)
        .select_from(DutyShift)
        .join(Station, Station.id == DutyShift.station_id)
        .where(
            DutyShift.station_id == part.c.station_id,
            DutyShift.day >= part.c.first_day,
            DutyShift.day < part.c.end_day,
            open_day,
        )
        .correlate(part)
        .scalar_subquery()
    )
    over_part = select(part.c.kind, part.c.ref, in_span)
    kept = {
        (kind, ref): int(n) for kind, ref, n in db.session.execute(union_all(over_whole, over_part))
    }
    return {
        key: Duty(expected.get(key, 0), min(kept.get(key, 0), expected.get(key, 0)))
        for key in expected.keys() | kept.keys()
    }


def training_hours_by_station(station_ids, first: date, last: date) -> dict[int, float]:
    """The hours of training taken from `first` to `last` by the administrators (masters and
    assistants, past or present) of each station `station_ids` holds; one grouped query."""
    rows = db.session.execute(
        select(StationAdmin.station_id, func.sum(Training.hours))
        .join(StationAdmin, StationAdmin.id == Training.admin_id)
        .where(
            StationAdmin.station_id.in_(station_ids),
            Training.taken_on >= first,
            Training.taken_on <= last,
        )
        .group_by(StationAdmin.station_id)
    )
    return {station_id: float(hours or 0) for station_id, hours in rows}


def training_hours_by_admin(admin_ids, first: date, last: date) -> dict[int, float]:
    """The hours of training each administrator `admin_ids` holds took from `first` to `last`;
    one grouped query."""
    rows = db.session.execute(
        select(Training.admin_id, func.sum(Training.hours))
        .where(
            Training.admin_id.in_(admin_ids),
            Training.taken_on >= first,
            Training.taken_on <= last,
        )
        .group_by(Training.admin_id)
    )
    return {admin_id: float(hours or 0) for admin_id, hours in rows}
