"""The monthly traffic notice (月度流量通报): a unit's sub-units by door traffic for a month.

For a unit and a month, each immediate sub-unit with its whole subtree: the stations open on
the month's last day (Station.open_on, suspended ones too), door visits and distinct visitors
this month and last, the change, visits per open station, its silent stations (open all month,
no door visit in it) and its duty attendance; ranked by visits per open station (ties share a
rank; a sub-unit with no open station is not ranked) with the change of rank since last
month. The unit's own stations, when it runs any, are a line of their own, and the totals
count the whole subtree (visitors distinct over it, not the sum of the sub-units'). When the
unit has a parent, the notice also says where the unit itself stands among its parent's
sub-units, so that each city reads its own place beside its districts' ("you chase me").

Every figure is counted by attendance.traffic and staffing.queries, in a constant number of
grouped queries however many sub-units and stations.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import aliased

from inclusive_day.attendance.traffic import (
    NO_TRAFFIC,
    MonthTraffic,
    Traffic,
    last_visit_by_station,
    silent_by_child,
    silent_in,
    traffic_by_child_month,
    visits_by_child_month,
)
from inclusive_day.construction.queries import children_of, open_by_child
from inclusive_day.database import utcnow
from inclusive_day.extensions import db
from inclusive_day.periods import DEFAULT_ZONE, Month
from inclusive_day.reports.league import known_ranks, places_gained
from inclusive_day.reports.recap import analytic_transaction, month_name
from inclusive_day.staffing.queries import NO_DUTY, Duty, duty_by_child
from inclusive_day.stations.models import Station
from inclusive_day.stations.queries import station_child
from inclusive_day.units.models import Unit


def month_days(month: Month) -> tuple[date, date]:
    """The first and last local day of `month`."""
    return month.first_day, month.shift(1).first_day - timedelta(days=1)


def per_station(visits: int, stations: int) -> float | None:
    """Door visits per open station, to one decimal; None without an open station."""
    return round(visits / stations, 1) if stations else None


@dataclass(frozen=True)
class TrafficRow:
    """A sub-unit's door traffic for the month and the month before, its silent stations,
    duty attendance and rank (None: no open station to divide by)."""

    unit_id: int
    name: str
    level: str
    stations: int
    previous_stations: int
    traffic: Traffic
    previous: Traffic
    silent: int = 0
    duty: Duty = NO_DUTY
    rank: int | None = None
    previous_rank: int | None = None

    @property
    def visits(self) -> int:
        """Door visits in the month (person-times)."""
        return self.traffic.visits

    @property
    def visitors(self) -> int:
        """Distinct visitors in the month."""
        return self.traffic.visitors

    @property
    def per_station(self) -> float | None:
        """Door visits per station open on the month's last day."""
        return per_station(self.traffic.visits, self.stations)

    @property
    def previous_per_station(self) -> float | None:
        """Last month's door visits per station open on its last day."""
        return per_station(self.previous.visits, self.previous_stations)

    @property
    def change(self) -> int:
        """This month's visits less last month's."""
        return self.traffic.visits - self.previous.visits

    @property
    def change_percent(self) -> float | None:
        """The change as a share of last month's visits; None when last month had none."""
        if not self.previous.visits:
            return None
        return round(self.change * 100 / self.previous.visits, 1)

    @property
    def rank_change(self) -> int:
        """Places gained since last month (negative: places lost; 0 when either is unranked)."""
        return places_gained(self.rank, self.previous_rank)

    @property
    def silent_percent(self) -> float | None:
        """Silent stations as a share of the stations open on the month's last day."""
        return round(self.silent * 100 / self.stations, 1) if self.stations else None

    @property
    def has_figures(self) -> bool:
        """True when the row has anything to show (for the unit's own stations' line)."""
        return bool(
            self.stations
            or self.previous_stations
            or self.traffic.visits
            or self.previous.visits
            or self.silent
            or self.duty.expected
            or self.duty.hours
        )


@dataclass(frozen=True)
class Place:
    """Where a unit stands among its parent's sub-units by visits per open station."""

    parent_name: str
    rank: int | None
    previous_rank: int | None
    ranked: int

    @property
    def rank_change(self) -> int:
        """Places gained since last month (0 when either month is unranked)."""
        return places_gained(self.rank, self.previous_rank)


@dataclass(frozen=True)
class TrafficNotice:
    """The monthly traffic notice of `unit`'s sub-units, as plain values."""

    unit_id: int
    unit_name: str
    unit_level: str
    month: Month
    month_name: str
    previous_name: str
    first_day: date
    last_day: date
    generated_on: date
    rows: tuple[TrafficRow, ...]
    direct: TrafficRow | None
    total: TrafficRow
    place: Place | None = None

    def ranked(self) -> list[TrafficRow]:
        """The sub-units in rank order (best first), the unranked last; ties by name."""
        return sorted(
            self.rows, key=lambda r: (r.rank is None, r.rank or 0, -r.visits, r.name, r.unit_id)
        )

    @property
    def leader(self) -> TrafficRow | None:
        """The first sub-unit, when any had a door visit."""
        ranked = self.ranked()
        return ranked[0] if ranked and ranked[0].rank is not None and ranked[0].visits else None

    @property
    def with_silent(self) -> list[TrafficRow]:
        """The sub-units with silent stations, most first."""
        return sorted(
            (r for r in self.rows if r.silent), key=lambda r: (-r.silent, r.name, r.unit_id)
        )

    def row(self, unit_id: int) -> TrafficRow | None:
        """The sub-unit `unit_id`'s row, if it is one of them."""
        return next((r for r in self.rows if r.unit_id == unit_id), None)


@dataclass(frozen=True)
class _Counts:
    """What ranking a unit's sub-units takes: the sub-units, the stations open at each
    month's end and the two months' traffic, per sub-unit (the unit's own id: its own)."""

    children: list[Unit]
    opened: dict[int, tuple[int, ...]]
    now: MonthTraffic
    then: MonthTraffic

    def stations(self, unit_id: int) -> tuple[int, int]:
        """Stations open at the end of the month and of the month before."""
        return self.opened.get(unit_id, (0, 0))

    def traffic(self, unit_id: int) -> tuple[Traffic, Traffic]:
        """A sub-unit's traffic this month and last."""
        return (
            self.now.by_child.get(unit_id, NO_TRAFFIC),
            self.then.by_child.get(unit_id, NO_TRAFFIC),
        )

    def ranks(self) -> tuple[dict[int, int | None], dict[int, int | None]]:
        """The sub-units' ranks this month and last, by visits per open station."""
        visits = {c.id: tuple(t.visits for t in self.traffic(c.id)) for c in self.children}
        return rank_by_visits(visits, self.opened)


def rank_by_visits(
    visits: dict[int, tuple[int, int]], opened: dict[int, tuple[int, ...]]
) -> tuple[dict[int, int | None], dict[int, int | None]]:
    """Ranks this month and last of the sub-units `visits` holds ((this month's, last
    month's) each), by visits per station open at each month's end (`opened`, the same)."""
    now, then = {}, {}
    for unit_id, (this_month, last_month) in visits.items():
        stations, before = opened.get(unit_id, (0, 0))
        now[unit_id] = per_station(this_month, stations)
        then[unit_id] = per_station(last_month, before)
    return known_ranks(now), known_ranks(then)


def _counts(unit: Unit, month: Month) -> _Counts:
    """Three queries: the sub-units, their open stations at both months' ends, and both
    months' traffic."""
    previous = month.shift(-1)
    traffic = traffic_by_child_month(unit, [previous, month])
    return _Counts(
        children_of(unit),
        open_by_child(unit, month_days(month)[1], month_days(previous)[1]),
        traffic[month],
        traffic[previous],
    )


def place_among(notice: TrafficNotice, unit_id: int) -> Place | None:
    """Where the sub-unit `unit_id` stands in `notice` (its parent's), if it is one."""
    row = notice.row(unit_id)
    if row is None:
        return None
    ranked = sum(1 for r in notice.rows if r.rank is not None)
    return Place(notice.unit_name, row.rank, row.previous_rank, ranked)


def _place(unit: Unit, month: Month) -> Place | None:
    """Where `unit` stands among its parent's sub-units (None for a root): a few small
    queries, on visits alone (the ranking needs no people)."""
    parent = unit.parent
    if parent is None:
        return None
    previous = month.shift(-1)
    visits = visits_by_child_month(parent, [previous, month])
    opened = open_by_child(parent, month_days(month)[1], month_days(previous)[1])
    now, then = rank_by_visits(
        {
            c.id: (visits[month].get(c.id, 0), visits[previous].get(c.id, 0))
            for c in children_of(parent)
        },
        opened,
    )
    ranked = sum(1 for rank in now.values() if rank is not None)
    return Place(parent.name, now.get(unit.id), then.get(unit.id), ranked)


def build_traffic_notice(
    unit: Unit, month: Month, now: datetime | None = None, parent: TrafficNotice | None = None
) -> TrafficNotice:
    """The traffic notice of `unit`'s sub-units for `month`, labelled in the current language,
    in a constant number of queries. `parent`, the notice of `unit`'s parent for the same
    month when the caller has it (issuing to every sub-unit), saves counting it again."""
    now = now or utcnow()
    analytic_transaction()
    first, last = month_days(month)
    previous = month.shift(-1)
    counts = _counts(unit, month)
    silent = silent_by_child(unit, first, last)
    duty = duty_by_child(unit, first, last, now)
    ranks_now, ranks_then = counts.ranks()

    def row(u: Unit, rank: int | None = None, previous_rank: int | None = None) -> TrafficRow:
        stations, before = counts.stations(u.id)
        this_month, last_month = counts.traffic(u.id)
        return TrafficRow(
            unit_id=u.id,
            name=u.name,
            level=u.level.label,
            stations=stations,
            previous_stations=before,
            traffic=this_month,
            previous=last_month,
            silent=silent.get(u.id, 0),
            duty=duty.get(u.id, NO_DUTY),
            rank=rank,
            previous_rank=previous_rank,
        )

    rows = tuple(row(c, ranks_now[c.id], ranks_then[c.id]) for c in counts.children)
    direct = row(unit)
    total_duty = NO_DUTY
    for figures in duty.values():
        total_duty += figures
    total = TrafficRow(
        unit_id=unit.id,
        name=unit.name,
        level=unit.level.label,
        stations=sum(n[0] for n in counts.opened.values()),
        previous_stations=sum(n[1] for n in counts.opened.values()),
        traffic=counts.now.total,
        previous=counts.then.total,
        silent=sum(silent.values()),
        duty=total_duty,
    )
    place = place_among(parent, unit.id) if parent is not None else _place(unit, month)
    return TrafficNotice(
        unit_id=unit.id,
        unit_name=unit.name,
        unit_level=unit.level.label,
        month=month,
        month_name=month_name(month, "yMMMM"),
        previous_name=month_name(previous, "yMMMM"),
        first_day=first,
        last_day=last,
        generated_on=now.astimezone(DEFAULT_ZONE).date(),
        rows=rows,
        direct=direct if direct.has_figures else None,
        total=total,
        place=place,
    )


@dataclass(frozen=True)
class SilentStation:
    """A station silent all month, with the sub-unit it counts under and its last visit."""

    code: str
    name: str
    unit_name: str
    sub_unit: str
    opened_on: date | None
    last_visit: datetime | None


def silent_stations(unit: Unit, month: Month) -> list[SilentStation]:
    """Every station of `unit`'s subtree silent in `month`, by sub-unit and code (two
    queries: the stations, and their last visits ever)."""
    first, last = month_days(month)
    pairs = station_child(unit).subquery("station_child")
    own, child = aliased(Unit), aliased(Unit)
    rows = db.session.execute(
        select(Station.id, Station.code, Station.name, own.name, child.name, Station.opened_on)
        .join(pairs, pairs.c.station_id == Station.id)
        .join(own, own.id == Station.unit_id)
        .join(child, child.id == pairs.c.child_id)
        .where(Station.id.in_(silent_in(unit.path, first, last)))
        .order_by(child.name, child.id, Station.code)
    ).all()
    last_visits = last_visit_by_station([r[0] for r in rows]) if rows else {}
    return [
        SilentStation(code, name, unit_name, sub_unit, opened_on, last_visits.get(station_id))
        for station_id, code, name, unit_name, sub_unit, opened_on in rows
    ]
