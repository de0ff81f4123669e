"""Distinct people over any part of the tree and any whole days, exact, read from the people
bitmaps where they hold the answer and from the raw rows where they do not.

A part is a unit's whole subtree, or its own stations alone (the row "the unit itself"
beside its sub-units in the reports). For each month of the period:

- a month the period covers whole, with no change of the part queued, is read from the
  part's bitmap of that month (`people_bitmaps`, refreshed by analytics.refresh);
- the days of a month the period cuts, and a month with changes still queued, are read from
  the raw rows (checkins, station_visits), their people numbered by `analytics_people`.

The union of the two is counted; people the refresh has not numbered yet cannot be in any
bitmap, so they are counted apart by their person key. The figure therefore equals the
count over the raw rows, whatever the refresh has reached.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from pyroaring import BitMap
from sqlalchemy import ColumnElement, and_, or_, select

from inclusive_day.activities.models import Activity
from inclusive_day.analytics.models import (
    ANY_CAMPAIGN,
    AnalyticsChange,
    AnalyticsPerson,
    PeopleBitmap,
    PeopleKind,
)
from inclusive_day.attendance.models import CheckIn, StationVisit
from inclusive_day.extensions import db
from inclusive_day.periods import DEFAULT_ZONE, Month, days_utc_range, months_between
from inclusive_day.stations.models import Station
from inclusive_day.units.models import Unit


@dataclass(frozen=True)
class Part:
    """Where people are counted: a unit's subtree, or only the unit's own stations."""

    unit_id: int
    path: str
    own_only: bool = False

    @classmethod
    def subtree(cls, unit: Unit) -> Part:
        """The unit's whole subtree."""
        return cls(unit.id, unit.path)

    @classmethod
    def own(cls, unit: Unit) -> Part:
        """The unit's own stations, none of its sub-units'."""
        return cls(unit.id, unit.path, own_only=True)

    def holds(self, unit_id: int, path: str) -> bool:
        """Whether a station of the unit (`unit_id`, `path`) is in this part."""
        return unit_id == self.unit_id if self.own_only else path.startswith(self.path)

    def stations(self) -> ColumnElement[bool]:
        """The condition on Station for the part's stations."""
        return Station.unit_id == self.unit_id if self.own_only else Station.under(self.path)


@dataclass(frozen=True)
class Span:
    """Local days first to last (both included)."""

    first: date
    last: date


def month_last_day(month: Month) -> date:
    """The last day of `month`."""
    return month.shift(1).first_day - timedelta(days=1)


def local_month(moment) -> Month:
    """The local (China) month of a UTC instant."""
    return Month.containing(moment, DEFAULT_ZONE)


def _raw_scope(kind: PeopleKind, part: Part, spans: Sequence[Span], campaign_id: int):
    """SELECT (number or NULL, person key) of the part's raw rows on the spans' days."""
    if kind is PeopleKind.VISITORS:
        days = or_(
            *(
                and_(StationVisit.visit_day >= s.first, StationVisit.visit_day <= s.last)
                for s in spans
            )
        )
        return (
            select(AnalyticsPerson.number, StationVisit.person_key)
            .select_from(StationVisit)
            .join(Station, Station.id == StationVisit.station_id)
            .outerjoin(AnalyticsPerson, AnalyticsPerson.key == StationVisit.person_key)
            .where(part.stations(), days)
            .distinct()
        )
    instants = [days_utc_range(s.first, s.last) for s in spans]
    days = or_(*(and_(Activity.starts_at >= a, Activity.starts_at < b) for a, b in instants))
    campaign = [Activity.campaign_id == campaign_id] if campaign_id != ANY_CAMPAIGN else []
    return (
        select(AnalyticsPerson.number, CheckIn.person_key)
        .select_from(CheckIn)
        .join(Activity, Activity.id == CheckIn.activity_id)
        .join(Station, Station.id == Activity.station_id)
        .outerjoin(AnalyticsPerson, AnalyticsPerson.key == CheckIn.person_key)
        .where(part.stations(), days, CheckIn.annulled_at.is_(None), *campaign)
        .distinct()
    )


def queued_months(
    kind: PeopleKind, root: Part, first: date, last: date, campaign_id: int
) -> set[tuple[int, str, Month]]:
    """(unit id, unit path, month) of every change still queued under `root` that touches
    the days first to last: those months are counted from the raw rows."""
    unit = Unit.__table__
    if kind is PeopleKind.VISITORS:
        rows = db.session.execute(
            select(Station.unit_id, unit.c.path, AnalyticsChange.day)
            .select_from(AnalyticsChange)
            .join(Station, Station.id == AnalyticsChange.station_id)
            .join(unit, unit.c.id == Station.unit_id)
            .where(
                AnalyticsChange.source == "v",
                AnalyticsChange.day >= first,
                AnalyticsChange.day <= last,
                root.stations(),
            )
            .distinct()
        )
        return {(u, p, Month(d.year, d.month)) for u, p, d in rows}
    start, end = days_utc_range(first, last)
    campaign = [Activity.campaign_id == campaign_id] if campaign_id != ANY_CAMPAIGN else []
    rows = db.session.execute(
        select(Station.unit_id, unit.c.path, Activity.starts_at)
        .select_from(AnalyticsChange)
        .join(Activity, Activity.id == AnalyticsChange.activity_id)
        .join(Station, Station.id == Activity.station_id)
        .join(unit, unit.c.id == Station.unit_id)
        .where(
            AnalyticsChange.source == "c",
            Activity.starts_at >= start,
            Activity.starts_at < end,
            root.stations(),
            *campaign,
        )
        .distinct()
    )
    return {(u, p, local_month(at)) for u, p, at in rows}


def _bitmaps(kind: PeopleKind, parts, months, campaign_id: int) -> dict[tuple[int, Month], tuple]:
    """{(unit id, month): (own, subtree)} of the stored bitmaps of the parts' units."""
    if not parts or not months:
        return {}
    rows = db.session.execute(
        select(
            PeopleBitmap.unit_id, PeopleBitmap.month, PeopleBitmap.own, PeopleBitmap.subtree
        ).where(
            PeopleBitmap.kind == kind,
            PeopleBitmap.campaign_id == campaign_id,
            PeopleBitmap.unit_id.in_({p.unit_id for p in parts}),
            PeopleBitmap.month.in_([m.first_day for m in months]),
        )
    )
    return {(u, Month(m.year, m.month)): (own, sub) for u, m, own, sub in rows}


@dataclass(frozen=True)
class Ask:
    """One figure wanted: the distinct people of a part over the local days first to last."""

    part: Part
    first: date
    last: date


def people_for(
    kind: PeopleKind, asks: Sequence[Ask], root: Part, campaign_id: int = ANY_CAMPAIGN
) -> dict[Ask, int]:
    """Distinct people of each ask (every part within `root`): door visitors, or people
    checked in at activities starting on those days (of one campaign, or of any). One read of
    the queue and one of the bitmaps for all the asks; the raw rows for those that need them."""
    result: dict[Ask, int] = {a: 0 for a in asks if a.first > a.last}
    asks = [a for a in asks if a.first <= a.last]
    if not asks:
        return result
    first, last = min(a.first for a in asks), max(a.last for a in asks)
    queued = queued_months(kind, root, first, last, campaign_id) if _anything_queued() else set()
    plans = []
    wanted_months: set[Month] = set()
    for ask in asks:
        months = months_between(ask.first, ask.last)
        dirty = {m for u, p, m in queued if ask.part.holds(u, p)}
        whole = [
            m
            for m in months
            if m.first_day >= ask.first and month_last_day(m) <= ask.last and m not in dirty
        ]
        spans = [
            Span(max(ask.first, m.first_day), min(ask.last, month_last_day(m)))
            for m in months
            if m not in whole
        ]
        wanted_months.update(whole)
        plans.append((ask, whole, spans))
    stored = _bitmaps(kind, [a.part for a in asks], sorted(wanted_months, key=str), campaign_id)
    for ask, whole, spans in plans:
        people = BitMap()
        for month in whole:
            found = stored.get((ask.part.unit_id, month))
            if found is not None:
                people |= BitMap.deserialize(found[0 if ask.part.own_only else 1])
        unnumbered = set()
        if spans:
            for number, key in db.session.execute(_raw_scope(kind, ask.part, spans, campaign_id)):
                if number is None:
                    unnumbered.add(key)
                else:
                    people.add(number)
        result[ask] = len(people) + len(unnumbered)
    return result


def people_of(
    kind: PeopleKind,
    parts: Sequence[Part],
    root: Part,
    first: date,
    last: date,
    campaign_id: int = ANY_CAMPAIGN,
) -> dict[Part, int]:
    """Distinct people of each part (all within `root`) over the local days first to last."""
    if last < first:
        return dict.fromkeys(parts, 0)
    found = people_for(kind, [Ask(p, first, last) for p in parts], root, campaign_id)
    return {ask.part: n for ask, n in found.items()}


def _anything_queued() -> bool:
    """Whether any change waits for the refresh (most reads then skip the queue's joins)."""
    return db.session.scalar(select(AnalyticsChange.id).limit(1)) is not None


def distinct_people(
    kind: PeopleKind, unit: Unit, first: date, last: date, campaign_id: int = ANY_CAMPAIGN
) -> int:
    """Distinct people of `unit`'s subtree over the local days first to last."""
    part = Part.subtree(unit)
    return people_of(kind, [part], part, first, last, campaign_id)[part]
