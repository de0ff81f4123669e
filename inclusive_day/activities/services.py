"""Workflows on activities."""

from datetime import datetime

from inclusive_day.activities.models import Activity
from inclusive_day.campaigns.models import Campaign, Theme
from inclusive_day.extensions import db
from inclusive_day.stations.models import Station


def schedule_activity(
    campaign: Campaign,
    station: Station,
    theme: Theme,
    title: str,
    starts_at: datetime,
    ends_at: datetime,
    **fields,
) -> Activity:
    """Put one activity on a station's calendar within its campaign."""
    if ends_at <= starts_at:
        raise ValueError("an activity must end after it starts")
    activity = Activity(
        campaign=campaign,
        station=station,
        theme=theme,
        title=title,
        starts_at=starts_at,
        ends_at=ends_at,
        **fields,
    )
    db.session.add(activity)
    db.session.flush()
    return activity
