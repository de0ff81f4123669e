"""Workflows on campaigns and themes."""

from datetime import date

from sqlalchemy import or_, select

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


def usable_themes(unit: Unit) -> list[Theme]:
    """The themes an activity at `unit` may take: the shared catalogue and those that `unit`
    or a unit above it added."""
    return list(
        db.session.scalars(
            select(Theme)
            .where(or_(Theme.unit_id.is_(None), Theme.unit_id.in_(unit.ancestor_ids)))
            .order_by(Theme.unit_id.is_not(None), Theme.id)
        )
    )


def theme_usable(theme: Theme, unit: Unit) -> bool:
    """True when an activity at `unit` may take `theme`."""
    return theme.unit_id is None or theme.unit_id in unit.ancestor_ids
