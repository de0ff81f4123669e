"""Workflows on campaigns and themes."""

from datetime import date

from sqlalchemy import select

from inclusive_day.campaigns.models import Campaign, Theme
from inclusive_day.extensions import db
from inclusive_day.units.models import Unit


def create_campaign(
    unit: Unit, name: str, starts_on: date, ends_on: date | None = None, **fields
) -> Campaign:
    """Start a campaign owned by `unit`."""
    if ends_on is not None and ends_on < starts_on:
        raise ValueError("a campaign cannot end before it starts")
    campaign = Campaign(unit=unit, name=name, starts_on=starts_on, ends_on=ends_on, **fields)
    db.session.add(campaign)
    db.session.flush()
    return campaign


def themes_by_code() -> dict[str, Theme]:
    """The theme catalogue, keyed by code."""
    return {t.code: t for t in db.session.scalars(select(Theme).order_by(Theme.id))}
