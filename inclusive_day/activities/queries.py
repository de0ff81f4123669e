"""Reading activities: counts and upcoming lists for any scope."""

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import joinedload

from inclusive_day.activities.models import Activity, ActivityStatus
from inclusive_day.attendance.queries import Scope
from inclusive_day.campaigns.models import Campaign
from inclusive_day.extensions import db


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
