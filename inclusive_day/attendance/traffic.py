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
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import (
    ColumnElement,
    Select,
    and_,
    case,
    distinct,
    func,
    literal,
    null,
    select,
    union_all,
)

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

# The recent traffic the tree, the station list and the stations export show: the last 30
# local days, today included.
RECENT_DAYS = 30


def recent_days(today: date, days: int = RECENT_DAYS) -> tuple[date, date]:
    """The first and last local day of the `days` days up to `today` (today included)."""
    return today - timedelta(days=days - 1), today


def on_days(first: date | None, last: date | None) -> list[ColumnElement[bool]]:
    """Conditions on StationVisit for the local days first to last (both included; None is
    open-ended)."""
    conditions = []
    if first is not None:
        conditions.append(StationVisit.visit_day >= first)
    if last is not None:
        conditions.append(StationVisit.visit_day <= last)
    return conditions


def in_months(months: Sequence[Month]) -> list[ColumnElement[bool]]:
    """Conditions on StationVisit for the days of `months` (consecutive, at least one)."""
    return on_days(months[0].first_day, months[-1].shift(1).first_day - timedelta(days=1))


def in_subtree(path: str) -> ColumnElement[bool]:
    """The condition on StationVisit for the stations of the subtree at `path`."""
    return StationVisit.station_id.in_(select(Station.id).where(Station.under(path)))


def _figures() -> tuple:
    return func.count(), func.count(distinct(StationVisit.identity))


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


def visits_by_unit(
    path: str, first: date | None = None, last: date | None = None
) -> dict[int, int]:
    """Door visits per unit of the subtree at `path`, each unit's own stations only: one
    grouped query, for pages that add visits up the tree (visitors do not add up, so they are
    left out). Units with no visit are absent."""
    rows = db.session.execute(
        select(Station.unit_id, func.count(StationVisit.id))
        .join(Station, Station.id == StationVisit.station_id)
        .where(Station.under(path), *on_days(first, last))
        .group_by(Station.unit_id)
    )
    return {unit_id: int(visits) for unit_id, visits in rows}


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


def visits_by_span(whole, part, first: date, last: date) -> dict[tuple, int]:
    """Door visits per span of days at a station, for many spans in one statement: `whole` is
    a subquery of (kind, ref, station_id), spans over all of `first` to `last`, counted per
    station in one grouped pass over the period; `part` one of (kind, ref, station_id,
    first_day, end_day), spans of the local days first_day to the day before end_day within
    them, each counted from the index of its own station's visits (a few hundred rows each,
    where a join would read the period's millions again). Spans with no visit are absent."""
    per_station = (
        select(StationVisit.station_id, func.count().label("n"))
        .where(StationVisit.station_id.in_(select(whole.c.station_id)), *on_days(first, last))
        .group_by(StationVisit.station_id)
        .subquery("per_station")
    )
    over_whole = select(whole.c.kind, whole.c.ref, per_station.c.n).join(
        per_station, per_station.c.station_id == whole.c.station_id
    )
    in_span = (
        select(func.count())
        .where(
            StationVisit.station_id == part.c.station_id,
            StationVisit.visit_day >= part.c.first_day,
            StationVisit.visit_day < part.c.end_day,
        )
        .correlate(part)
        .scalar_subquery()
    )
    over_part = select(part.c.kind, part.c.ref, in_span)
    rows = db.session.execute(union_all(over_whole, over_part))
    return {(kind, ref): int(n) for kind, ref, n in rows if n}


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


def _by_month(
    where: ColumnElement[bool],
    months: Sequence[Month],
    first: date | None = None,
    last: date | None = None,
) -> dict[Month, Traffic]:
    if not months:
        return {}
    index = day_month_index(StationVisit.visit_day, months)
    rows = db.session.execute(
        select(index, *_figures())
        .where(where, *in_months(months), *on_days(first, last))
        .group_by(index)
    )
    found = {int(i): Traffic(int(v), int(p)) for i, v, p in rows}
    return {month: found.get(i, NO_TRAFFIC) for i, month in enumerate(months)}


def traffic_by_month(
    path: str, months: Sequence[Month], first: date | None = None, last: date | None = None
) -> dict[Month, Traffic]:
    """Door traffic of a subtree per month of `months` (consecutive), visitors distinct within
    each month; every month present. `first` and `last` cut the first and last month to a
    period's days (a recap from the 19th counts its first month from the 19th)."""
    return _by_month(in_subtree(path), months, first, last)


def traffic_by_month_of(station_ids, months: Sequence[Month]) -> dict[Month, Traffic]:
    """Door traffic of the stations `station_ids` holds per month of `months` (consecutive),
    visitors distinct within each month; every month present."""
    return _by_month(StationVisit.station_id.in_(station_ids), months)


@dataclass(frozen=True)
class MonthTraffic:
    """A month's door traffic of a subtree: in all, and per sub-unit of its unit."""

    total: Traffic = NO_TRAFFIC
    by_child: dict[int, Traffic] = field(default_factory=dict)


def traffic_by_child_month(unit: Unit, months: Sequence[Month]) -> dict[Month, MonthTraffic]:
    """Door traffic of `unit`'s subtree per month of `months` (consecutive): per sub-unit (and
    `unit` itself for its own stations) with visitors distinct within each sub-unit, and in
    all with visitors distinct over the subtree. One statement: people are grouped per month
    and sub-unit, and per month over the subtree, in two branches that PostgreSQL may run side
    by side. Every month present; sub-units without a visit absent."""
    if not months:
        return {}
    days = in_months(months)
    pairs = station_child(unit).subquery("station_child")
    index = day_month_index(StationVisit.visit_day, months).label("m")
    per_child = (
        select(index, pairs.c.child_id, StationVisit.identity, func.count().label("n"))
        .join(pairs, pairs.c.station_id == StationVisit.station_id)
        .where(*days)
        .group_by(index, pairs.c.child_id, StationVisit.identity)
        .subquery("per_child")
    )
    # A person who came to two sub-units counts once in all.
    everyone = (
        select(index, StationVisit.identity, func.count().label("n"))
        .where(in_subtree(unit.path), *days)
        .group_by(index, StationVisit.identity)
        .subquery("everyone")
    )
    rows = db.session.execute(
        union_all(
            select(
                per_child.c.m, per_child.c.child_id, func.sum(per_child.c.n), func.count()
            ).group_by(per_child.c.m, per_child.c.child_id),
            select(everyone.c.m, null(), func.sum(everyone.c.n), func.count()).group_by(
                everyone.c.m
            ),
        )
    )
    totals: dict[int, Traffic] = {}
    by_child: dict[int, dict[int, Traffic]] = {}
    for i, child_id, visits, visitors in rows:
        figures = Traffic(int(visits), int(visitors))
        if child_id is None:
            totals[int(i)] = figures
        else:
            by_child.setdefault(int(i), {})[child_id] = figures
    return {
        month: MonthTraffic(totals.get(i, NO_TRAFFIC), by_child.get(i, {}))
        for i, month in enumerate(months)
    }


def visits_by_child_month(unit: Unit, months: Sequence[Month]) -> dict[Month, dict[int, int]]:
    """Door visits alone (no people, so counted from the index in one pass) per month of
    `months` (consecutive) and sub-unit of `unit` (and `unit` for its own stations), for
    rankings; every month present, sub-units without a visit absent."""
    if not months:
        return {}
    pairs = station_child(unit).subquery("station_child")
    index = day_month_index(StationVisit.visit_day, months)
    rows = db.session.execute(
        select(index, pairs.c.child_id, func.count())
        .join(pairs, pairs.c.station_id == StationVisit.station_id)
        .where(*in_months(months))
        .group_by(index, pairs.c.child_id)
    )
    found: dict[int, dict[int, int]] = {}
    for i, child_id, visits in rows:
        found.setdefault(int(i), {})[child_id] = int(visits)
    return {month: found.get(i, {}) for i, month in enumerate(months)}


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


def silent_in(path: str, first: date, last: date) -> Select:
    """SELECT the ids of the subtree's stations silent from first to last (silent_between)."""
    return select(Station.id).where(Station.under(path), silent_between(first, last))


def silent_between(first: date, last: date) -> ColumnElement[bool]:
    """The condition on Station for the stations open on every day from first to last (opened
    by `first`, not closed by `last`) with no door visit on those days: the period's silent
    stations; a station opened during the period is not silent in it. The one rule of
    silence: the live board's, the notice's and silent_station_ids all read it."""
    # NOT EXISTS, not NOT IN: PostgreSQL plans it as a hash anti-join however many visits the
    # period holds (NOT IN over a month of a province's visits outgrows work_mem and is then
    # probed row by row).
    visited = (
        select(StationVisit.id)
        .where(StationVisit.station_id == Station.id, *on_days(first, last))
        .exists()
    )
    return and_(Station.opened_on <= first, Station.open_on(last), ~visited)


def silent_by_child(unit: Unit, first: date, last: date) -> dict[int, int]:
    """The silent stations of the local days first to last (silent_in) per sub-unit of
    `unit` (and `unit` itself for its own stations): one grouped query. Sub-units with none
    are absent."""
    pairs = station_child(unit).subquery("station_child")
    rows = db.session.execute(
        select(pairs.c.child_id, func.count())
        .where(pairs.c.station_id.in_(silent_in(unit.path, first, last)))
        .group_by(pairs.c.child_id)
    )
    return {child_id: int(n) for child_id, n in rows}


def silence_start(today: date, days: int) -> date:
    """The first local day of the `days` days, today included, that a silent station has spent
    without a door visit."""
    return date.fromordinal(today.toordinal() - days + 1)


def is_silent(today: date, days: int) -> ColumnElement[bool]:
    """The condition on Station for the stations silent for the `days` days up to `today`
    (silent_between), to filter any scope or to select as a column beside each station: one
    read of the window's door visits from the day index, however many stations."""
    return silent_between(silence_start(today, days), today)


def visits_on_day(station_ids, day: date) -> ColumnElement[bool]:
    """The condition on StationVisit for the visits on one local day at `station_ids`."""
    return and_(StationVisit.station_id.in_(station_ids), StationVisit.visit_day == day)
