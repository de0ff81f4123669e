"""Figures for the home dashboard, counted in the database for what the user may see."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func, select

from inclusive_day.access.rule import Action, visible
from inclusive_day.activities.models import Activity
from inclusive_day.activities.queries import (
    HeldPlanned,
    held_and_planned,
    held_and_planned_by,
    in_period,
    upcoming,
)
from inclusive_day.attendance.queries import Totals, totals, totals_by
from inclusive_day.attendance.traffic import NO_TRAFFIC, Traffic, traffic_by_month_of
from inclusive_day.campaigns.models import Campaign
from inclusive_day.campaigns.targets import campaign_progress
from inclusive_day.extensions import db
from inclusive_day.periods import Month, local_today
from inclusive_day.stations.models import Station
from inclusive_day.units.queries import being_built


@dataclass
class CampaignLine:
    """One campaign's running figures."""

    id: int
    name: str
    starts_on: object
    ends_on: object
    activities: HeldPlanned
    totals: Totals


@dataclass
class Dashboard:
    """What the home page shows for one user and month."""

    month: Month
    stations: int  # open today (Station.open_on)
    activities: HeldPlanned  # of the month
    month_totals: Totals
    campaigns: list[CampaignLine] = field(default_factory=list)
    upcoming: list[Activity] = field(default_factory=list)
    progress: dict = field(default_factory=dict)
    building_stations: int = 0  # planned or under construction
    traffic: Traffic = NO_TRAFFIC  # door visits and visitors in the month
    previous_traffic: Traffic = NO_TRAFFIC  # the same in the month before


def dashboard(user, month: Month, now: datetime) -> Dashboard:
    """Stations open today and those being built, this month's activities and served, the door
    traffic of this month and the one before, and each campaign's figures, in reach."""
    activity_scope = [visible(user, Action.VIEW, Activity)]
    stations, building = db.session.execute(
        select(
            func.count(Station.id).filter(Station.open_on(local_today())),
            func.count(Station.id).filter(being_built()),
        ).where(visible(user, Action.VIEW, Station))
    ).one()
    traffic = traffic_by_month_of(
        select(Station.id).where(visible(user, Action.VIEW, Station)), [month.shift(-1), month]
    )
    start, end = month.utc_range()
    month_scope = [*activity_scope, *in_period(start, end)]
    campaigns = list(
        db.session.scalars(
            select(Campaign)
            .where(visible(user, Action.VIEW, Campaign))
            .order_by(Campaign.starts_on.desc(), Campaign.id.desc())
            .limit(10)
        )
    )
    campaign_ids = [c.id for c in campaigns]
    per_campaign_scope = [*activity_scope, Activity.campaign_id.in_(campaign_ids)]
    counts = held_and_planned_by(Activity.campaign_id, per_campaign_scope, now)
    campaign_totals = totals_by(Activity.campaign_id, per_campaign_scope)
    return Dashboard(
        month=month,
        stations=stations or 0,
        building_stations=building or 0,
        activities=held_and_planned(month_scope, now),
        month_totals=totals(month_scope),
        campaigns=[
            CampaignLine(
                c.id,
                c.name,
                c.starts_on,
                c.ends_on,
                counts.get(c.id, HeldPlanned()),
                campaign_totals.get(c.id, Totals()),
            )
            for c in campaigns
        ],
        upcoming=upcoming(activity_scope, now, limit=8),
        progress=campaign_progress(user, campaigns, now),
        traffic=traffic[month],
        previous_traffic=traffic[month.shift(-1)],
    )
