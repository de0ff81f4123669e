"""The monthly league table (排名通报): a unit's sub-units ranked for one month.

Each immediate sub-unit, with its whole subtree, across every campaign: activities held,
served (person-times) and served per active station; and the stations' door traffic
(attendance.traffic): door visits (person-times at the door), visitors (distinct people) and
door visits per open station. Each is ranked (ties share a rank) with the change in value and
rank from the month before. One statement for both months' figures, one for the stations and
two for the door traffic, however big the tree. Stations counted are those open on each
month's last day (Station.open_on: opened and not yet closed, suspended ones too).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import func, select

from inclusive_day.activities.models import Activity
from inclusive_day.activities.queries import in_period
from inclusive_day.attendance.traffic import (
    NO_TRAFFIC,
    traffic_by_child_month,
)
from inclusive_day.database import utcnow
from inclusive_day.extensions import db
from inclusive_day.periods import DEFAULT_ZONE, Month
from inclusive_day.reports.recap import (
    activity_rows,
    analytic_transaction,
    month_name,
)
from inclusive_day.stations.models import Station
from inclusive_day.stations.queries import station_child
from inclusive_day.units.models import Unit

MEASURES = (
    "served",
    "activities",
    "per_station",
    "visits",
    "visitors",
    "visits_per_station",
)
# The measures given with one decimal (per station); the others are whole numbers.
DECIMAL_MEASURES = ("per_station", "visits_per_station")


@dataclass(frozen=True)
class Standing:
    """One figure of a sub-unit this month and last, with its rank in each (1 is best)."""

    value: float
    rank: int
    previous: float
    previous_rank: int

    @property
    def change(self) -> float:
        """This month's value less last month's."""
        return round(self.value - self.previous, 1)

    @property
    def rank_change(self) -> int:
        """Places gained since last month (negative: places lost)."""
        return places_gained(self.rank, self.previous_rank)

    @property
    def change_percent(self) -> float | None:
        """The change as a share of last month's value; None when last month had nothing."""
        return round(self.change * 100 / self.previous, 1) if self.previous else None


@dataclass(frozen=True)
class LeagueRow:
    """A sub-unit's standings for the month."""

    unit_id: int
    name: str
    level: str
    stations: int
    activities: Standing
    served: Standing
    per_station: Standing
    visits: Standing
    visitors: Standing
    visits_per_station: Standing

    def standing(self, measure: str) -> Standing:
        """The standing for `measure` (one of MEASURES)."""
        return getattr(self, measure)


@dataclass(frozen=True)
class League:
    """The league table of `unit`'s sub-units for `month`, as plain values."""

    unit_id: int
    unit_name: str
    unit_level: str
    month: Month
    month_name: str
    previous_name: str
    generated_on: date
    stations: int = 0
    activities: int = 0
    served: int = 0
    previous_activities: int = 0
    previous_served: int = 0
    visits: int = 0
    visitors: int = 0
    previous_visits: int = 0
    previous_visitors: int = 0
    rows: list[LeagueRow] = field(default_factory=list)

    @property
    def per_station(self) -> float:
        """Served per active station over the whole unit."""
        return round(self.served / self.stations, 1) if self.stations else 0.0

    @property
    def visits_per_station(self) -> float:
        """Door visits per open station over the whole unit."""
        return round(self.visits / self.stations, 1) if self.stations else 0.0

    def ranked(self, measure: str) -> list[LeagueRow]:
        """The sub-units in rank order of `measure`, ties by name."""
        return sorted(self.rows, key=lambda r: (r.standing(measure).rank, r.name))

    def leader(self, measure: str) -> LeagueRow | None:
        """The first sub-unit by `measure`, when any has a figure."""
        ranked = self.ranked(measure)
        return ranked[0] if ranked and ranked[0].standing(measure).value else None


def ranks(values: dict[int, float]) -> dict[int, int]:
    """Competition ranks, highest value first: 100, 80, 80, 50 rank 1, 2, 2, 4."""
    ordered = sorted(values.values(), reverse=True)
    first = {}
    for position, value in enumerate(ordered, start=1):
        first.setdefault(value, position)
    return {key: first[value] for key, value in values.items()}


def places_gained(rank: int | None, previous_rank: int | None) -> int:
    """Places gained since the earlier ranking (negative: places lost; 0 when either is None,
    a unit unranked then or now)."""
    if rank is None or previous_rank is None:
        return 0
    return previous_rank - rank


def known_ranks(values: dict[int, float | None]) -> dict[int, int | None]:
    """Competition ranks of the values that are not None (best first); None for the rest."""
    ranked = ranks({k: v for k, v in values.items() if v is not None})
    return {k: ranked.get(k) for k in values}


def build_league(unit: Unit, month: Month, now: datetime | None = None) -> League:
    """The league table of `unit`'s immediate sub-units for `month` (five queries, however
    many units and stations)."""
    now = now or utcnow()
    months = [month.shift(-1), month]
    first, _ = months[0].utc_range()
    _, after = month.utc_range()
    scope = [
        Activity.station_id.in_(select(Station.id).where(Station.under(unit.path))),
        *in_period(first, after),
    ]
    analytic_transaction()
    _parts, acts = activity_rows(scope, unit, months, now)
    figures = {
        (child, index): (int(held or 0), int(served or 0))
        for child, index, held, served in db.session.execute(
            select(
                acts.c.child_id, acts.c.month, func.sum(acts.c.held), func.sum(acts.c.served)
            ).group_by(acts.c.child_id, acts.c.month)
        )
    }
    mapping = station_child(unit).subquery("station_child")
    # Per sub-unit, the stations open on each month's last day: [previous month, month].
    ends = [m.shift(1).first_day - timedelta(days=1) for m in months]
    open_at = {
        child: (int(before or 0), int(then or 0))
        for child, before, then in db.session.execute(
            select(
                mapping.c.child_id,
                *(func.count(Station.id).filter(Station.open_on(end)) for end in ends),
            )
            .join(Station, Station.id == mapping.c.station_id)
            .group_by(mapping.c.child_id)
        )
    }
    stations = {child: counts[1] for child, counts in open_at.items()}
    by_month = traffic_by_child_month(unit, months)
    traffic = {(c, m): t for m, month in by_month.items() for c, t in month.by_child.items()}
    unit_traffic = {m: month.total for m, month in by_month.items()}
    children = list(
        db.session.scalars(
            select(Unit)
            .where(Unit.parent_id == unit.id)
            .order_by(Unit.code.is_(None), Unit.code, Unit.name, Unit.id)
        )
    )

    def value(child_id: int, index: int, measure: str) -> float:
        held, served = figures.get((child_id, index), (0, 0))
        door = traffic.get((child_id, months[index]), NO_TRAFFIC)
        count = open_at.get(child_id, (0, 0))[index]
        if measure == "activities":
            return held
        if measure == "served":
            return served
        if measure == "visits":
            return door.visits
        if measure == "visitors":
            return door.visitors
        if measure == "visits_per_station":
            return round(door.visits / count, 1) if count else 0.0
        return round(served / count, 1) if count else 0.0

    ids = [c.id for c in children]
    standings = {}
    for measure in MEASURES:
        now_values = {i: value(i, 1, measure) for i in ids}
        then_values = {i: value(i, 0, measure) for i in ids}
        now_ranks, then_ranks = ranks(now_values), ranks(then_values)
        standings[measure] = {
            i: Standing(now_values[i], now_ranks[i], then_values[i], then_ranks[i]) for i in ids
        }
    rows = [
        LeagueRow(
            c.id,
            c.name,
            c.level.label,
            stations.get(c.id, 0),
            standings["activities"][c.id],
            standings["served"][c.id],
            standings["per_station"][c.id],
            standings["visits"][c.id],
            standings["visitors"][c.id],
            standings["visits_per_station"][c.id],
        )
        for c in children
    ]

    def total(index: int, position: int) -> int:
        return sum(v[position] for (_child, i), v in figures.items() if i == index)

    return League(
        unit_id=unit.id,
        unit_name=unit.name,
        unit_level=unit.level.label,
        month=month,
        month_name=month_name(month, "yMMMM"),
        previous_name=month_name(months[0], "yMMMM"),
        generated_on=now.astimezone(DEFAULT_ZONE).date(),
        stations=sum(stations.values()),
        activities=total(1, 0),
        served=total(1, 1),
        previous_activities=total(0, 0),
        previous_served=total(0, 1),
        visits=unit_traffic[month].visits,
        visitors=unit_traffic[month].visitors,
        previous_visits=unit_traffic[months[0]].visits,
        previous_visitors=unit_traffic[months[0]].visitors,
        rows=rows,
    )
