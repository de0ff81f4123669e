"""Door traffic, the network's measure: how many came through stations' doors, and who.

visits   = door visits, one per person, station and local day (person-times at the door)
visitors = distinct people among those visits (by the keyed hash of their phone number)

Visits are counted over whole local days (`visit_day`), for the stations of a subtree, and
rolled up per station, per sub-unit, per month and per group. A door scan that also checked
the person in to an activity there counts once here, as a visit, and once as served at the
activity (attendance.queries): the two measures answer different questions and are never
added together.

Every page, report, export and the API read traffic through these functions, so one scope
gives one figure everywhere. Over a subtree they read the analytics tables: visits from
`traffic_days` (kept by a trigger as each visit is written), visitors from the people bitmaps
(analytics.people, exact whatever the refresh has reached). Over any other set of stations
they count the raw rows, from the index ix_station_visits_day_station alone.
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
    select,
    union_all,
)

from inclusive_day.analytics.models import PeopleKind, TrafficDay
from inclusive_day.analytics.people import Ask, Part, month_last_day, people_for, people_of
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


def on_days(
    first: date | None, last: date | None, day: ColumnElement[date] = StationVisit.visit_day
) -> list[ColumnElement[bool]]:
    """Conditions on a day column (StationVisit's by default) for the local days first to
    last (both included; None is open-ended)."""
    conditions = []
    if first is not None:
        conditions.append(day >= first)
    if last is not None:
        conditions.append(day <= last)
    return conditions


def in_months(months: Sequence[Month]) -> list[ColumnElement[bool]]:
    """Conditions on StationVisit for the days of `months` (consecutive, at least one)."""
    return on_days(months[0].first_day, months[-1].shift(1).first_day - timedelta(days=1))


def in_subtree(path: str) -> ColumnElement[bool]:
    """The condition on StationVisit for the stations of the subtree at `path`."""
    return StationVisit.station_id.in_(select(Station.id).where(Station.under(path)))


def _figures() -> tuple:
    return func.count(), func.count(distinct(StationVisit.person_key))


def counted_days(first: date | None, last: date | None) -> list[ColumnElement[bool]]:
    """Conditions on TrafficDay for the local days first to last (None: open-ended)."""
    return on_days(first, last, TrafficDay.day)


def _bounds(first: date | None, last: date | None) -> tuple[date, date] | None:
    """An open-ended period closed at the first and last day with visits (None: none)."""
    if first is not None and last is not None:
        return first, last
    low, high = db.session.execute(select(func.min(TrafficDay.day), func.max(TrafficDay.day))).one()
    if low is None:
        return None
    return first or low, last or high


def visitors_of(
    parts: Sequence[Part], root: Part, first: date | None, last: date | None
) -> dict[Part, int]:
    """Distinct visitors of each part of `root`'s subtree over the local days first to last."""
    bounds = _bounds(first, last)
    if bounds is None:
        return dict.fromkeys(parts, 0)
    return people_of(PeopleKind.VISITORS, parts, root, *bounds)


def _root(path: str) -> Part:
    unit_id = db.session.scalar(select(Unit.id).where(Unit.path == path))
    return Part(unit_id, path)


def traffic(path: str, first: date | None = None, last: date | None = None) -> Traffic:
    """The door traffic of a subtree's stations over the local days first to last."""
    visits = db.session.scalar(
        select(func.coalesce(func.sum(TrafficDay.visits), 0)).where(
            TrafficDay.station_id.in_(select(Station.id).where(Station.under(path))),
            *counted_days(first, last),
        )
    )
    if not visits:
        return NO_TRAFFIC
    root = _root(path)
    return Traffic(int(visits), visitors_of([root], root, first, last)[root])


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
        select(Station.unit_id, func.sum(TrafficDay.visits))
        .join(Station, Station.id == TrafficDay.station_id)
        .where(Station.under(path), *counted_days(first, last))
        .group_by(Station.unit_id)
    )
    return {unit_id: int(visits) for unit_id, visits in rows if visits}


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


def child_parts(unit: Unit) -> dict[int, Part]:
    """{child id: part} for `unit`'s own stations (under its own id) and each sub-unit's
    subtree: the rows of the reports that roll figures up to sub-units."""
    parts = {unit.id: Part.own(unit)}
    for child_id, path in db.session.execute(
        select(Unit.id, Unit.path).where(Unit.parent_id == unit.id)
    ):
        parts[child_id] = Part(child_id, path)
    return parts


def _visits_by_child(unit: Unit, index, first: date | None, last: date | None) -> list:
    pairs = station_child(unit).subquery("station_child")
    keys = [pairs.c.child_id] if index is None else [index, pairs.c.child_id]
    return db.session.execute(
        select(*keys, func.sum(TrafficDay.visits))
        .join(pairs, pairs.c.station_id == TrafficDay.station_id)
        .where(*counted_days(first, last))
        .group_by(*keys)
    ).all()


def traffic_by_child(
    unit: Unit, first: date | None = None, last: date | None = None
) -> dict[int, Traffic]:
    """Door traffic per sub-unit of `unit` (and `unit` itself for its own stations), with
    distinct visitors counted within each sub-unit."""
    visits = {child_id: int(n) for child_id, n in _visits_by_child(unit, None, first, last) if n}
    if not visits:
        return {}
    parts = child_parts(unit)
    people = visitors_of([parts[c] for c in visits], Part.subtree(unit), first, last)
    return {c: Traffic(n, people[parts[c]]) for c, n in visits.items()}


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


def _month_days(month: Month, first: date | None, last: date | None) -> tuple[date, date]:
    """The days of `month`, cut to first and last when they fall inside it."""
    start, end = month.first_day, month_last_day(month)
    return max(start, first) if first else start, min(end, last) if last else end


def traffic_by_month(
    path: str, months: Sequence[Month], first: date | None = None, last: date | None = None
) -> dict[Month, Traffic]:
    """Door traffic of a subtree per month of `months` (consecutive), visitors distinct within
    each month; every month present. `first` and `last` cut the first and last month to a
    period's days (a recap from the 19th counts its first month from the 19th)."""
    if not months:
        return {}
    index = day_month_index(TrafficDay.day, months)
    rows = db.session.execute(
        select(index, func.sum(TrafficDay.visits))
        .where(
            TrafficDay.station_id.in_(select(Station.id).where(Station.under(path))),
            *counted_days(
                _month_days(months[0], first, None)[0], _month_days(months[-1], None, last)[1]
            ),
        )
        .group_by(index)
    )
    visits = {int(i): int(n) for i, n in rows if n}
    if not visits:
        return dict.fromkeys(months, NO_TRAFFIC)
    root = _root(path)
    asks = {i: Ask(root, *_month_days(months[i], first, last)) for i in visits}
    people = people_for(PeopleKind.VISITORS, list(asks.values()), root)
    return {
        month: Traffic(visits[i], people[asks[i]]) if i in visits else NO_TRAFFIC
        for i, month in enumerate(months)
    }


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
    all with visitors distinct over the subtree. Every month present; sub-units without a
    visit absent."""
    if not months:
        return {}
    index = day_month_index(TrafficDay.day, months)
    first, last = months[0].first_day, month_last_day(months[-1])
    visits: dict[int, dict[int, int]] = {}
    for i, child_id, n in _visits_by_child(unit, index, first, last):
        if n:
            visits.setdefault(int(i), {})[child_id] = int(n)
    parts = child_parts(unit)
    root = Part.subtree(unit)
    asks = {}
    for i, found in visits.items():
        days = (months[i].first_day, month_last_day(months[i]))
        asks[(i, None)] = Ask(root, *days)
        for child_id in found:
            asks[(i, child_id)] = Ask(parts[child_id], *days)
    people = people_for(PeopleKind.VISITORS, list(asks.values()), root)
    result = {}
    for i, month in enumerate(months):
        found = visits.get(i, {})
        if not found:
            result[month] = MonthTraffic()
            continue
        result[month] = MonthTraffic(
            Traffic(sum(found.values()), people[asks[(i, None)]]),
            {c: Traffic(n, people[asks[(i, c)]]) for c, n in found.items()},
        )
    return result


def visits_by_child_month(unit: Unit, months: Sequence[Month]) -> dict[Month, dict[int, int]]:
    """Door visits alone (no people) per month of `months` (consecutive) and sub-unit of
    `unit` (and `unit` for its own stations), for rankings; every month present, sub-units
    without a visit absent."""
    if not months:
        return {}
    index = day_month_index(TrafficDay.day, months)
    found: dict[int, dict[int, int]] = {}
    for i, child_id, visits in _visits_by_child(
        unit, index, months[0].first_day, month_last_day(months[-1])
    ):
        if visits:
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
