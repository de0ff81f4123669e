"""Reading activities: counts and upcoming lists for any scope."""

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
