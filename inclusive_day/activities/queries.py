"""Reading activities: counts and upcoming lists for any scope."""

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import ColumnElement, and_, case, func, select, union_all
from sqlalchemy.orm import joinedload

from inclusive_day.activities.models import Activity, ActivityStatus
from inclusive_day.attendance.queries import Scope, served_by
from inclusive_day.campaigns.models import Campaign
from inclusive_day.extensions import db
from inclusive_day.periods import days_utc_range, local_day


def not_cancelled():
    """Activities that count as held or planned."""
    return Activity.status != ActivityStatus.CANCELLED


def in_public_campaign() -> ColumnElement[bool]:
    """Activities the public may see: those of public campaigns. An internal campaign's
    activities stay with the union's own users (pages, feeds and anonymous scans alike)."""
    return Activity.campaign_id.in_(select(Campaign.id).where(Campaign.is_public.is_(True)))


def count_activities(scope: Scope) -> int:
    """How many activities in the scope are held or planned."""
    return db.session.scalar(select(func.count(Activity.id)).where(*scope, not_cancelled())) or 0


def count_activities_by(key, scope: Scope) -> dict:
    """Held or planned activities per value of `key`."""
    rows = db.session.execute(
        select(key, func.count(Activity.id)).where(*scope, not_cancelled()).group_by(key)
    )
    return {k: int(n) for k, n in rows}


@dataclass(frozen=True)
class HeldPlanned:
    """Activities held (started by now) and still planned, never added into one figure."""

    held: int = 0
    planned: int = 0


def _held_planned_columns(now: datetime):
    started = Activity.starts_at <= now
    return (
        func.count(Activity.id).filter(started),
        func.count(Activity.id).filter(Activity.starts_at > now),
    )


def held_and_planned(scope: Scope, now: datetime) -> HeldPlanned:
    """How many activities in the scope were held by `now` and how many are still planned
    (the recap's rule: not cancelled, started by now or not)."""
    held, planned = db.session.execute(
        select(*_held_planned_columns(now)).where(*scope, not_cancelled())
    ).one()
    return HeldPlanned(int(held or 0), int(planned or 0))


def held_and_planned_by(key, scope: Scope, now: datetime) -> dict:
    """Activities held and still planned, per value of `key`."""
    rows = db.session.execute(
        select(key, *_held_planned_columns(now)).where(*scope, not_cancelled()).group_by(key)
    )
    return {k: HeldPlanned(int(held), int(planned)) for k, held, planned in rows}


def in_period(start: datetime, end: datetime) -> list:
    """Activities starting in [start, end)."""
    return [Activity.starts_at >= start, Activity.starts_at < end]


def upcoming(scope: Scope, now: datetime, limit: int = 10) -> list[Activity]:
    """The next activities in the scope that have not ended, soonest first."""
    return list(
        db.session.scalars(
            select(Activity)
            .where(*scope, Activity.ends_at >= now)
            .options(joinedload(Activity.station), joinedload(Activity.theme))
            .order_by(Activity.starts_at, Activity.id)
            .limit(limit)
        )
    )


def held_and_served_by_span(
    whole, part, first: date, last: date, now: datetime
) -> dict[tuple, tuple[int, int]]:
    """(activities held, served) per span of days at a station, for many spans in one
    statement: `whole` is a subquery of (kind, ref, station_id), spans over all of the local
    days `first` to `last`, summed per station; `part` one of (kind, ref, station_id,
    first_day, end_day), spans of the days first_day to the day before end_day within them,
    where an activity counts when it starts on one of those days (only their stations'
    activities are counted one by one). Held as the recap counts it (not cancelled, started by
    `now`), served by attendance.queries' rule. Spans with no activity are absent."""
    period = in_period(*days_utc_range(first, last))
    held = case((and_(not_cancelled(), Activity.starts_at <= now), 1), else_=0)
    at_whole = [Activity.station_id.in_(select(whole.c.station_id)), *period]
    held_there = (
        select(Activity.station_id, func.sum(held).label("held"))
        .where(*at_whole)
        .group_by(Activity.station_id)
        .subquery("held_there")
    )
    served_there = served_by(Activity.station_id, at_whole).subquery("served_there")
    over_whole = (
        select(
            whole.c.kind,
            whole.c.ref,
            held_there.c.held,
            func.coalesce(served_there.c.served, 0),
        )
        .join(held_there, held_there.c.station_id == whole.c.station_id)
        .outerjoin(served_there, served_there.c.key == whole.c.station_id)
    )
    at_part = [Activity.station_id.in_(select(part.c.station_id)), *period]
    served_each = served_by(Activity.id, at_part).subquery("served_each")
    day = local_day(Activity.starts_at)
    over_part = (
        select(
            part.c.kind,
            part.c.ref,
            func.sum(held),
            func.sum(func.coalesce(served_each.c.served, 0)),
        )
        .select_from(Activity)
        .join(
            part,
            and_(
                part.c.station_id == Activity.station_id,
                day >= part.c.first_day,
                day < part.c.end_day,
            ),
        )
        .outerjoin(served_each, served_each.c.key == Activity.id)
        .where(*at_part)
        .group_by(part.c.kind, part.c.ref)
    )
    rows = db.session.execute(union_all(over_whole, over_part))
    return {(kind, ref): (int(h or 0), int(n or 0)) for kind, ref, h, n in rows}
