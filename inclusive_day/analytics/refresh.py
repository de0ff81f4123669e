"""Keeping the analytics tables: the refresh that turns queued changes into people bitmaps,
the catch-up after a bulk load, and the rebuild of every table from the raw rows.

The refresh runs every minute (`flask analytics refresh --every 60`, or a cron job): it takes
the queued changes (only those committed when it starts: the rest wait for the next run),
numbers the people it has not seen, counts again the bitmaps of each unit and month that
changed from the raw rows, and rolls them up the tree, in one transaction. One refresh runs
at a time (an advisory lock on PostgreSQL; SQLite has one writer anyway).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date

from pyroaring import BitMap
from sqlalchemy import Table, and_, delete, exists, func, insert, select, text, true

from inclusive_day.activities.models import Activity
from inclusive_day.analytics.models import (
    ANY_CAMPAIGN,
    AnalyticsChange,
    AnalyticsPerson,
    CheckinTally,
    PeopleBitmap,
    PeopleKind,
    TrafficDay,
)
from inclusive_day.analytics.people import local_month
from inclusive_day.attendance.models import CheckIn, StationVisit
from inclusive_day.database import INSERT_OR_NOTHING
from inclusive_day.extensions import db
from inclusive_day.periods import DEFAULT_ZONE, Month, months_between
from inclusive_day.stations.models import Station
from inclusive_day.units.models import Unit

# Any number: the key of the advisory lock that keeps refreshes one at a time.
REFRESH_LOCK = 7_202_014

# A unit's bitmaps of one month: (kind, campaign id, month).
Slice = tuple[PeopleKind, int, Month]


class AnalyticsError(ValueError):
    """A refresh or rebuild asked for something it cannot do (a period ending before it
    starts)."""


@dataclass(frozen=True)
class Refreshed:
    """What a refresh or rebuild did."""

    changes: int = 0
    bitmaps: int = 0
    people_numbered: int = 0


def _lock() -> None:
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": REFRESH_LOCK})


def _take_changes() -> tuple[int, set[tuple[int, Month]], set[int]]:
    """Delete the queued changes this transaction sees; give how many, the (station, month)
    of the door visits and the activities of the check-ins among them."""
    table = AnalyticsChange.__table__
    if db.session.get_bind().dialect.name == "postgresql":
        # Aggregated in the database: a bulk load queues millions of rows.
        rows = db.session.execute(
            text(
                "WITH gone AS (DELETE FROM analytics_changes"
                " RETURNING station_id, day, activity_id, source)"
                " SELECT station_id, date_trunc('month', day)::date, activity_id, count(*)"
                " FROM gone GROUP BY 1, 2, 3"
            )
        ).all()
    else:
        gone = db.session.execute(
            delete(table).returning(table.c.station_id, table.c.day, table.c.activity_id)
        ).all()
        counted: dict[tuple, int] = defaultdict(int)
        for station_id, day, activity_id in gone:
            month = day.replace(day=1) if day is not None else None
            counted[(station_id, month, activity_id)] += 1
        rows = [(*k, n) for k, n in counted.items()]
    visits = {(s, Month(m.year, m.month)) for s, m, a, _n in rows if s is not None}
    activities = {a for _s, _m, a, _n in rows if a is not None}
    return sum(n for *_k, n in rows), visits, activities


def _in_chunks(values: Iterable, size: int = 5000):
    values = list(values)
    for i in range(0, len(values), size):
        yield values[i : i + size]


def _dirty_slices(visits: set, activities: set) -> dict[Slice, set[int]]:
    """The units whose own bitmaps changed, per slice."""
    dirty: dict[Slice, set[int]] = defaultdict(set)
    station_units: dict[int, int] = {}
    for chunk in _in_chunks({s for s, _m in visits}):
        station_units.update(
            db.session.execute(
                select(Station.id, Station.unit_id).where(Station.id.in_(chunk))
            ).all()
        )
    for station_id, month in visits:
        if station_id in station_units:
            dirty[(PeopleKind.VISITORS, ANY_CAMPAIGN, month)].add(station_units[station_id])
    for chunk in _in_chunks(activities):
        rows = db.session.execute(
            select(Station.unit_id, Activity.campaign_id, Activity.starts_at)
            .join(Station, Station.id == Activity.station_id)
            .where(Activity.id.in_(chunk))
        )
        for unit_id, campaign_id, starts_at in rows:
            month = local_month(starts_at)
            dirty[(PeopleKind.SERVED, campaign_id, month)].add(unit_id)
            dirty[(PeopleKind.SERVED, ANY_CAMPAIGN, month)].add(unit_id)
    return dirty


def _raw_rows(kind: PeopleKind, campaign_id: int, month: Month, units: set[int] | None):
    """SELECT (unit id, person key) of the raw rows of a slice at the units' own stations
    (every unit's when `units` is None)."""
    where = [] if units is None else [Station.unit_id.in_(units)]
    if kind is PeopleKind.VISITORS:
        return (
            select(Station.unit_id, StationVisit.person_key)
            .join(Station, Station.id == StationVisit.station_id)
            .where(
                StationVisit.visit_day >= month.first_day,
                StationVisit.visit_day < month.shift(1).first_day,
                *where,
            )
        )
    start, end = month.utc_range()
    campaign = [Activity.campaign_id == campaign_id] if campaign_id != ANY_CAMPAIGN else []
    return (
        select(Station.unit_id, CheckIn.person_key)
        .join(Activity, Activity.id == CheckIn.activity_id)
        .join(Station, Station.id == Activity.station_id)
        .where(
            Activity.starts_at >= start,
            Activity.starts_at < end,
            CheckIn.annulled_at.is_(None),
            *campaign,
            *where,
        )
    )


def _number_people(raw) -> int:
    """Give a number to every person of the raw rows who has none; how many were new (the
    numbers of one insert run on from the largest, as one refresh numbers at a time)."""
    keys = raw.with_only_columns(raw.selected_columns[1]).distinct().subquery("keys")
    key = keys.c[0]
    largest = select(func.coalesce(func.max(AnalyticsPerson.number), 0))
    before = db.session.scalar(largest)
    new = select(key).where(~exists().where(AnalyticsPerson.key == key)).order_by(key)
    db.session.execute(insert(AnalyticsPerson).from_select(["key"], new))
    return db.session.scalar(largest) - before


def _own_bitmaps(raw) -> dict[int, BitMap]:
    """{unit id: bitmap of the numbers of the raw rows' people at its own stations}."""
    rows = raw.subquery("raw")
    numbered = select(rows.c[0], AnalyticsPerson.number).join(
        AnalyticsPerson, AnalyticsPerson.key == rows.c[1]
    )
    numbers: dict[int, list[int]] = defaultdict(list)
    for unit_id, number in db.session.execute(numbered):
        numbers[unit_id].append(number)
    return {unit_id: BitMap(values) for unit_id, values in numbers.items()}


def _ancestors(unit_ids: set[int]) -> dict[int, tuple[int | None, int]]:
    """{unit id: (parent id, depth)} for the units and every unit above them."""
    paths = dict(db.session.execute(select(Unit.id, Unit.path).where(Unit.id.in_(unit_ids))).all())
    found: dict[int, tuple[int | None, int]] = {}
    for path in paths.values():
        ids = [int(part) for part in path.strip("/").split("/")]
        for depth, unit_id in enumerate(ids):
            found[unit_id] = (ids[depth - 1] if depth else None, depth)
    return found


def _store(slice_: Slice, own: dict[int, BitMap], dirty: set[int]) -> int:
    """Write the slice's bitmaps of the dirty units (their own people given) and of every
    unit above them (each subtree the union of its own and its children's); how many."""
    kind, campaign_id, month = slice_
    tree = _ancestors(dirty)
    touched = set(tree)
    table = PeopleBitmap.__table__
    of_slice = and_(
        table.c.kind == kind, table.c.campaign_id == campaign_id, table.c.month == month.first_day
    )
    children_of: dict[int, list[int]] = defaultdict(list)
    stored_own: dict[int, BitMap] = {}
    stored_subtree: dict[int, bytes] = {}
    children = db.session.execute(
        select(Unit.id, Unit.parent_id).where(Unit.parent_id.in_(touched))
    )
    child_ids = set()
    for child_id, parent_id in children:
        children_of[parent_id].append(child_id)
        child_ids.add(child_id)
    for chunk in _in_chunks(touched | child_ids):
        for unit_id, own_bytes, subtree_bytes in db.session.execute(
            select(table.c.unit_id, table.c.own, table.c.subtree).where(
                of_slice, table.c.unit_id.in_(chunk)
            )
        ):
            stored_own[unit_id] = BitMap.deserialize(own_bytes)
            stored_subtree[unit_id] = subtree_bytes
    subtree: dict[int, BitMap] = {}
    rows = []
    for unit_id in sorted(touched, key=lambda u: -tree[u][1]):
        mine = own.get(unit_id, BitMap()) if unit_id in dirty else stored_own.get(unit_id, BitMap())
        parts = [mine]
        for child_id in children_of.get(unit_id, ()):
            if child_id in subtree:
                parts.append(subtree[child_id])
            elif child_id in stored_subtree:
                parts.append(BitMap.deserialize(stored_subtree[child_id]))
        whole = BitMap.union(*parts)
        subtree[unit_id] = whole
        if whole or mine:
            rows.append(
                {
                    "unit_id": unit_id,
                    "kind": kind,
                    "campaign_id": campaign_id,
                    "month": month.first_day,
                    "own": mine.serialize(),
                    "subtree": whole.serialize(),
                    "people": len(whole),
                }
            )
    for chunk in _in_chunks(touched):
        db.session.execute(delete(table).where(of_slice, table.c.unit_id.in_(chunk)))
    if rows:
        db.session.execute(insert(table), rows)
    return len(rows)


def _count_slices(dirty: dict[Slice, set[int] | None], progress: Callable | None = None):
    """Count the slices' own bitmaps again from the raw rows and roll them up; how many
    people were numbered and bitmaps written. `None` units: every unit with rows."""
    numbered = written = 0
    for slice_, units in sorted(
        dirty.items(), key=lambda item: (item[0][2].first_day, item[0][0], item[0][1])
    ):
        raw = _raw_rows(*slice_, units)
        numbered += _number_people(raw)
        own = _own_bitmaps(raw)
        written += _store(slice_, own, set(own) if units is None else units)
        if progress is not None:
            progress(1)
    return numbered, written


def refresh() -> Refreshed:
    """Bring the people bitmaps up to the changes committed so far (the caller commits)."""
    _lock()
    changes, visits, activities = _take_changes()
    if not changes:
        return Refreshed()
    numbered, written = _count_slices(_dirty_slices(visits, activities))
    return Refreshed(changes=changes, bitmaps=written, people_numbered=numbered)


def count_loaded(table: Table, first_id: int) -> None:
    """Count rows a bulk load wrote with ids from `first_id` on, with the triggers off: the
    same counters and queue as the triggers, set by set (see demo.bulk)."""
    if table is StationVisit.__table__:
        added = (
            select(
                StationVisit.station_id,
                StationVisit.visit_day,
                StationVisit.group,
                func.count(),
            )
            .where(StationVisit.id >= first_id)
            .group_by(StationVisit.station_id, StationVisit.visit_day, StationVisit.group)
        )
        _add_counts(TrafficDay.__table__, ["station_id", "day", "group", "visits"], added)
        db.session.execute(
            insert(AnalyticsChange).from_select(
                ["station_id", "day", "source"],
                select(StationVisit.station_id, StationVisit.visit_day, text("'v'"))
                .where(StationVisit.id >= first_id)
                .distinct(),
            )
        )
    elif table is CheckIn.__table__:
        added = (
            select(CheckIn.activity_id, CheckIn.group, func.count())
            .where(CheckIn.id >= first_id, CheckIn.annulled_at.is_(None))
            .group_by(CheckIn.activity_id, CheckIn.group)
        )
        _add_counts(CheckinTally.__table__, ["activity_id", "group", "checkins"], added)
        db.session.execute(
            insert(AnalyticsChange).from_select(
                ["activity_id", "source"],
                select(CheckIn.activity_id, text("'c'")).where(CheckIn.id >= first_id).distinct(),
            )
        )


def _add_counts(table: Table, columns: list[str], added) -> None:
    """Add grouped counts to a counter table in one statement: rows that exist grow, new
    ones are inserted."""
    *keys, count = columns
    dialect = db.session.get_bind().dialect.name
    # SQLite reads "ON CONFLICT" after a bare SELECT as a join's ON: a WHERE comes between.
    stmt = INSERT_OR_NOTHING[dialect](table).from_select(columns, added.where(true()))
    stmt = stmt.on_conflict_do_update(
        index_elements=[table.c[k] for k in keys],
        set_={count: table.c[count] + stmt.excluded[count]},
    )
    db.session.execute(stmt)


def check_period(first: date | None, last: date | None) -> None:
    """Refuse a period that ends before it starts."""
    if first is not None and last is not None and last < first:
        raise AnalyticsError(f"The period ends ({last}) before it starts ({first}).")


def _data_range() -> tuple[date, date] | None:
    """The first and last local day that any raw row falls on."""
    visits = db.session.execute(
        select(func.min(StationVisit.visit_day), func.max(StationVisit.visit_day))
    ).one()
    acts = db.session.execute(
        select(func.min(Activity.starts_at), func.max(Activity.starts_at)).where(
            exists().where(CheckIn.activity_id == Activity.id)
        )
    ).one()
    days = [d for d in visits if d is not None]
    days += [moment.astimezone(DEFAULT_ZONE).date() for moment in acts if moment is not None]
    if not days:
        return None
    return min(days), max(days)


def rebuild(
    first: date | None = None,
    last: date | None = None,
    progress: Callable[[int], None] | None = None,
    planned: Callable[[int], None] | None = None,
) -> Refreshed:
    """Make every analytics table again from the raw rows for the months that the local days
    first to last touch (all the data when open-ended); the caller commits. `planned` is
    told how many steps there are, `progress` each step done."""
    check_period(first, last)
    _lock()
    span = _data_range()
    if span is None:
        if planned is not None:
            planned(0)
        return Refreshed()
    first = first or span[0]
    last = last or span[1]
    months = months_between(first, last)
    if not months:
        return Refreshed()
    start_day, end_day = months[0].first_day, months[-1].shift(1).first_day
    start, end = months[0].utc_range()[0], months[-1].utc_range()[1]
    # The counters of the whole months, from the raw rows.
    db.session.execute(
        delete(TrafficDay).where(TrafficDay.day >= start_day, TrafficDay.day < end_day)
    )
    db.session.execute(
        insert(TrafficDay).from_select(
            ["station_id", "day", "group", "visits"],
            select(
                StationVisit.station_id, StationVisit.visit_day, StationVisit.group, func.count()
            )
            .where(StationVisit.visit_day >= start_day, StationVisit.visit_day < end_day)
            .group_by(StationVisit.station_id, StationVisit.visit_day, StationVisit.group),
        )
    )
    activities = select(Activity.id).where(Activity.starts_at >= start, Activity.starts_at < end)
    db.session.execute(delete(CheckinTally).where(CheckinTally.activity_id.in_(activities)))
    db.session.execute(
        insert(CheckinTally).from_select(
            ["activity_id", "group", "checkins"],
            select(CheckIn.activity_id, CheckIn.group, func.count())
            .where(CheckIn.activity_id.in_(activities), CheckIn.annulled_at.is_(None))
            .group_by(CheckIn.activity_id, CheckIn.group),
        )
    )
    # The queued changes of those months are about to be counted.
    db.session.execute(
        delete(AnalyticsChange).where(
            AnalyticsChange.day >= start_day, AnalyticsChange.day < end_day
        )
    )
    db.session.execute(delete(AnalyticsChange).where(AnalyticsChange.activity_id.in_(activities)))
    campaigns = (
        db.session.execute(
            select(Activity.campaign_id)
            .where(Activity.starts_at >= start, Activity.starts_at < end)
            .distinct()
        )
        .scalars()
        .all()
    )
    db.session.execute(
        delete(PeopleBitmap).where(PeopleBitmap.month >= start_day, PeopleBitmap.month < end_day)
    )
    slices: dict[Slice, None] = {}
    for month in months:
        slices[(PeopleKind.VISITORS, ANY_CAMPAIGN, month)] = None
        slices[(PeopleKind.SERVED, ANY_CAMPAIGN, month)] = None
        for campaign_id in campaigns:
            slices[(PeopleKind.SERVED, campaign_id, month)] = None
    if planned is not None:
        planned(len(slices))
    numbered, written = _count_slices(slices, progress)
    return Refreshed(changes=0, bitmaps=written, people_numbered=numbered)


def queued() -> int:
    """How many changes wait for the refresh."""
    return db.session.execute(select(func.count()).select_from(AnalyticsChange)).scalar() or 0
