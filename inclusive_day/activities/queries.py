"""Reading activities: counts and upcoming lists for any scope."""

from datetime import date, datetime

from sqlalchemy import and_, case, func, select
from sqlalchemy.orm import joinedload

from inclusive_day.activities.models import Activity, ActivityStatus
from inclusive_day.attendance.queries import Scope, served_by_activity
from inclusive_day.extensions import db
from inclusive_day.periods import days_utc_range, local_day


def not_cancelled():
    """Activities that count as held or planned."""
    return Activity.status != ActivityStatus.CANCELLED


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


def held_and_served_by_window(
    windows, first: date, last: date, now: datetime
) -> dict[tuple, tuple[int, int]]:
    """(activities held, served) per window: `windows` is a subquery of (kind, ref, station_id,
    first_day, end_day), each a station's local days from first_day to the day before end_day,
    all of them within `first` to `last`. An activity counts in a window when it is at the
    window's station and starts on one of its days; held as the recap counts it (not
    cancelled, started by `now`), served by attendance.queries' rule. One statement, however
    many windows; windows with no activity are absent."""
    scope = [
        Activity.station_id.in_(select(windows.c.station_id)),
        *in_period(*days_utc_range(first, last)),
    ]
    served = served_by_activity(scope).subquery("served")
    day = local_day(Activity.starts_at)
    held = case((and_(not_cancelled(), Activity.starts_at <= now), 1), else_=0)
    rows = db.session.execute(
        select(
            windows.c.kind,
            windows.c.ref,
            func.sum(held),
            func.sum(func.coalesce(served.c.served, 0)),
        )
        .select_from(Activity)
        .join(
            windows,
            and_(
                windows.c.station_id == Activity.station_id,
                day >= windows.c.first_day,
                day < windows.c.end_day,
            ),
        )
        .outerjoin(served, served.c.activity_id == Activity.id)
        .where(*scope)
        .group_by(windows.c.kind, windows.c.ref)
    )
    return {(kind, ref): (int(h or 0), int(n or 0)) for kind, ref, h, n in rows}
