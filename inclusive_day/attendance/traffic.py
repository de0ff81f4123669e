"""Door traffic, the network's measure: how many came through stations' doors, and who.

visits   = door visits, one per person, station and local day (person-times at the door)
visitors = distinct people among those visits (by the keyed hash of their phone number)

Visits are counted over whole local days (`visit_day`), for the stations of a subtree, and
rolled up per station, per sub-unit, per month and per group. A door scan that also checked
the person in to an activity there counts once here, as a visit, and once as served at the
activity (attendance.queries): the two measures answer different questions and are never
added together.

Every page, report, export and the API read traffic through these functions, so one scope
gives one figure everywhere. The index ix_station_visits_day_station holds every column they
read, so a month of a province is counted from the index alone.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import ColumnElement, Select, and_, case, distinct, func, literal, select

from inclusive_day.attendance.models import BeneficiaryGroup, StationVisit
from inclusive_day.extensions import db
from inclusive_day.periods import Month
from inclusive_day.stations.models import Station
from inclusive_day.stations.queries import station_child
from inclusive_day.units.models import Unit


@dataclass(frozen=True)
class Traffic:
    """Door visits (person-times, one per person, station and day) and distinct visitors."""

    visits: int = 0
    visitors: int = 0

    @property
    def people(self) -> int:
        """The distinct visitors (the name the station pages have used)."""
        return self.visitors


NO_TRAFFIC = Traffic()


def on_days(first: date | None, last: date | None) -> list[ColumnElement[bool]]:
    """Conditions on StationVisit for the local days first to last (both included; None is
    open-ended)."""
    conditions = []
    if first is not None:
        conditions.append(StationVisit.visit_day >= first)
    if last is not None:
        conditions.append(StationVisit.visit_day <= last)
    return conditions


def in_subtree(path: str) -> ColumnElement[bool]:
    """The condition on StationVisit for the stations of the subtree at `path`."""
    return StationVisit.station_id.in_(select(Station.id).where(Station.under(path)))


def _figures() -> tuple:
    return func.count(StationVisit.id), func.count(distinct(StationVisit.identity))


def traffic(path: str, first: date | None = None, last: date | None = None) -> Traffic:
    """The door traffic of a subtree's stations over the local days first to last."""
    visits, visitors = db.session.execute(
        select(*_figures()).where(in_subtree(path), *on_days(first, last))
    ).one()
    return Traffic(int(visits), int(visitors))


def traffic_of(station_ids, first: date | None = None, last: date | None = None) -> Traffic:
    """The door traffic of the stations `station_ids` holds (a list or a SELECT of ids) over
    the local days first to last, visitors distinct across them: any scope, not only a
    subtree."""
    visits, visitors = db.session.execute(
        select(*_figures()).where(StationVisit.station_id.in_(station_ids), *on_days(first, last))
    ).one()
    return Traffic(int(visits), int(visitors))


def traffic_by_station(
    station_ids, first: date | None = None, last: date | None = None
) -> dict[int, Traffic]:
    """Door traffic per station for the stations `station_ids` (a list or a SELECT of ids)
    holds: one grouped query however many stations. Stations with no visit are absent."""
    rows = db.session.execute(
        select(StationVisit.station_id, *_figures())
        .where(StationVisit.station_id.in_(station_ids), *on_days(first, last))
        .group_by(StationVisit.station_id)
    )
    return {station_id: Traffic(int(v), int(p)) for station_id, v, p in rows}


def traffic_by_child(
    unit: Unit, first: date | None = None, last: date | None = None
) -> dict[int, Traffic]:
    """Door traffic per sub-unit of `unit` (and `unit` itself for its own stations), with
    distinct visitors counted within each sub-unit."""
    pairs = station_child(unit).subquery("station_child")
    rows = db.session.execute(
        select(pairs.c.child_id, *_figures())
        .join(pairs, pairs.c.station_id == StationVisit.station_id)
        .where(*on_days(first, last))
        .group_by(pairs.c.child_id)
    )
    return {child_id: Traffic(int(v), int(p)) for child_id, v, p in rows}


def traffic_by_group(
    path: str, first: date | None = None, last: date | None = None
) -> dict[BeneficiaryGroup, Traffic]:
    """Door traffic of a subtree per beneficiary group, every group present (zero or not)."""
    found = {
        BeneficiaryGroup(group): Traffic(int(v), int(p))
        for group, v, p in db.session.execute(
            select(StationVisit.group, *_figures())
            .where(in_subtree(path), *on_days(first, last))
            .group_by(StationVisit.group)
        )
    }
    return {group: found.get(group, NO_TRAFFIC) for group in BeneficiaryGroup}


def day_month_index(column: ColumnElement, months: Sequence[Month]):
    """SQL: the position in `months` of the month a date column falls in (-1 before the first,
    len(months) after the last); the same on SQLite and PostgreSQL."""
    if not months:
        return literal(-1)
    whens = [(column < months[0].first_day, -1)]
    whens += [(column < m.shift(1).first_day, i) for i, m in enumerate(months)]
    return case(*whens, else_=len(months))


def traffic_by_month(path: str, months: Sequence[Month]) -> dict[Month, Traffic]:
    """Door traffic of a subtree per month of `months` (consecutive), visitors distinct within
    each month; every month present."""
    if not months:
        return {}
    index = day_month_index(StationVisit.visit_day, months)
    rows = db.session.execute(
        select(index, *_figures())
        .where(
            in_subtree(path),
            StationVisit.visit_day >= months[0].first_day,
            StationVisit.visit_day < months[-1].shift(1).first_day,
        )
        .group_by(index)
    )
    found = {int(i): Traffic(int(v), int(p)) for i, v, p in rows}
    return {month: found.get(i, NO_TRAFFIC) for i, month in enumerate(months)}


def last_visit_by_station(station_ids, since: date | None = None) -> dict[int, datetime]:
    """The time of each station's latest door visit, for the stations `station_ids` holds;
    with `since`, among the visits of that local day or later only (a bounded read, however
    long the history), and a station with none then is absent."""
    rows = db.session.execute(
        select(StationVisit.station_id, func.max(StationVisit.visited_at))
        .where(StationVisit.station_id.in_(station_ids), *on_days(since, None))
        .group_by(StationVisit.station_id)
    )
    return {station_id: at for station_id, at in rows if at is not None}


def visited_since(station_ids, first: date) -> Select:
    """SELECT the ids, among `station_ids`, of the stations with a door visit on `first` or
    later: a station open but not among them is silent."""
    return (
        select(StationVisit.station_id)
        .where(StationVisit.station_id.in_(station_ids), StationVisit.visit_day >= first)
        .distinct()
    )


def silent_station_ids(path: str, today: date, days: int) -> Select:
    """SELECT the ids of the subtree's stations open today (and for at least `days` days) with
    no door visit in the last `days` days, today included: the "silent stations"."""
    return select(Station.id).where(Station.under(path), is_silent(today, days))


def silence_start(today: date, days: int) -> date:
    """The first local day of the `days` days, today included, that a silent station has spent
    without a door visit."""
    return date.fromordinal(today.toordinal() - days + 1)


def is_silent(today: date, days: int) -> ColumnElement[bool]:
    """The condition on Station for the silent stations (as silent_station_ids says), to filter
    any scope or to select as a column beside each station: one read of the window's door
    visits from the day index, however many stations."""
    since = silence_start(today, days)
    return and_(
        Station.open_on(today),
        Station.opened_on <= since,
        Station.id.not_in(select(StationVisit.station_id).where(StationVisit.visit_day >= since)),
    )


def visits_on_day(station_ids, day: date) -> ColumnElement[bool]:
    """The condition on StationVisit for the visits on one local day at `station_ids`."""
    return and_(StationVisit.station_id.in_(station_ids), StationVisit.visit_day == day)
