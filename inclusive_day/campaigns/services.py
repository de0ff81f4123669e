"""Workflows on campaigns and themes."""

from __future__ import annotations

import re
import unicodedata
from datetime import UTC, date, datetime, time, timedelta

from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from sqlalchemy import ColumnElement, func, or_, select, true

from inclusive_day.access.rule import Action, reach, visible
from inclusive_day.activities.models import Activity
from inclusive_day.activities.queries import count_activities
from inclusive_day.campaigns.models import Campaign, Theme
from inclusive_day.extensions import db
from inclusive_day.periods import DEFAULT_ZONE
from inclusive_day.stations.models import Station
from inclusive_day.units.models import Unit, units_under

COLOUR_PATTERN = re.compile(r"^#[0-9a-f]{6}$")


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


class CampaignError(ValueError):
    """A campaign or theme change that breaks a rule; `field` names the value, the message why."""

    def __init__(self, field: str, message):
        super().__init__(message)
        self.field = field
        self.message = message


def local_window(starts_on: date, ends_on: date | None) -> tuple[datetime, datetime | None]:
    """The campaign's dates as a UTC range [start, end) of instants (end None: open)."""
    start = datetime.combine(starts_on, time(), DEFAULT_ZONE).astimezone(UTC)
    if ends_on is None:
        return start, None
    end = datetime.combine(ends_on + timedelta(days=1), time(), DEFAULT_ZONE).astimezone(UTC)
    return start, end


def activities_outside(
    campaign: Campaign, starts_on: date, ends_on: date | None
) -> tuple[int, int]:
    """How many held or planned activities of `campaign` would start before these dates, and
    how many after them (local days in China)."""
    start, end = local_window(starts_on, ends_on)
    scope = [Activity.campaign_id == campaign.id]
    before = count_activities([*scope, Activity.starts_at < start])
    after = count_activities([*scope, Activity.starts_at >= end]) if end is not None else 0
    return before, after


def activities_outside_unit(campaign: Campaign, unit: Unit) -> int:
    """How many held or planned activities of `campaign` are at stations outside `unit`."""
    inside = select(Station.id).where(Station.under(unit.path))
    return count_activities(
        [Activity.campaign_id == campaign.id, Activity.station_id.not_in(inside)]
    )


def update_campaign(
    campaign: Campaign,
    unit: Unit,
    name: str,
    starts_on: date,
    ends_on: date | None,
    description: str = "",
    is_public: bool = True,
) -> Campaign:
    """Change a campaign, refusing dates or an owner that would leave activities outside it."""
    if ends_on is not None and ends_on < starts_on:
        raise CampaignError("ends_on", _l("The campaign cannot end before it starts."))
    before, after = activities_outside(campaign, starts_on, ends_on)
    if before or after:
        raise CampaignError(
            "starts_on" if before else "ends_on",
            ngettext(
                "%(num)d activity of this campaign would fall outside these dates: "
                "move or cancel it first, or widen the dates.",
                "%(num)d activities of this campaign would fall outside these dates: "
                "move or cancel them first, or widen the dates.",
                before + after,
            ),
        )
    if unit.id != campaign.unit_id:
        outside = activities_outside_unit(campaign, unit)
        if outside:
            raise CampaignError(
                "unit",
                ngettext(
                    "%(num)d activity of this campaign is at a station outside %(unit)s.",
                    "%(num)d activities of this campaign are at stations outside %(unit)s.",
                    outside,
                    unit=unit.name,
                ),
            )
    campaign.unit = unit
    campaign.name = name.strip()
    campaign.starts_on = starts_on
    campaign.ends_on = ends_on
    campaign.description = (description or "").strip()
    campaign.is_public = is_public
    db.session.flush()
    return campaign


# --- The theme catalogue ---------------------------------------------------------------------

CODE_MAX = 40


def theme_clause(user) -> ColumnElement[bool]:
    """Themes `user` may see: the shared catalogue and those added by units in the user's reach
    or above it."""
    r = reach(user, Action.VIEW)
    if r.everything:
        return true()
    paths = list(r.unit_paths)
    if r.station_ids:
        paths += db.session.scalars(
            select(Unit.path)
            .join(Station, Station.unit_id == Unit.id)
            .where(Station.id.in_(r.station_ids))
        )
    above = sorted({int(p) for path in paths for p in path.strip("/").split("/") if p})
    clauses = [Theme.unit_id.is_(None), Theme.unit_id.in_(above)]
    if r.unit_paths:
        clauses.append(Theme.unit_id.in_(select(Unit.id).where(visible(user, Action.VIEW, Unit))))
    return or_(*clauses)


def new_theme_code(name_en: str, unit: Unit | None) -> str:
    """A unique code from the English name (and the unit), kept for good once given."""
    slug = re.sub(r"[^a-z0-9]+", "_", unicodedata.normalize("NFKD", name_en).lower()).strip("_")
    base = (f"u{unit.id}_" if unit is not None else "") + (slug[:24].strip("_") or "theme")
    taken = set(db.session.scalars(select(Theme.code).where(Theme.code.like(f"{base}%"))))
    code, n = base, 1
    while code in taken:
        n += 1
        code = f"{base}_{n}"
    return code[:CODE_MAX]


def _name_clashes(
    name_zh: str, name_en: str, unit: Unit | None, theme: Theme | None
) -> list[tuple[Theme, str | None]]:
    """Themes with the same name that an activity could be offered beside this one (at `unit`,
    above it or below it), with the names of the units that added them."""
    if unit is None:  # a shared theme sits beside every unit's own
        owner = true()
    else:
        owner = or_(
            Theme.unit_id.is_(None),
            Theme.unit_id.in_(unit.ancestor_ids),
            Theme.unit_id.in_(units_under(unit.path)),
        )
    stmt = (
        select(Theme, Unit.name)
        .outerjoin(Unit, Unit.id == Theme.unit_id)
        .where(
            owner,
            or_(
                func.lower(Theme.name_zh) == name_zh.lower(),
                func.lower(Theme.name_en) == name_en.lower(),
            ),
        )
    )
    if theme is not None and theme.id is not None:
        stmt = stmt.where(Theme.id != theme.id)
    return [(t, unit_name) for t, unit_name in db.session.execute(stmt.order_by(Theme.id))]


def check_theme_names(name_zh: str, name_en: str, unit: Unit | None, theme: Theme | None = None):
    """Refuse a name already used by the shared catalogue, the unit, or a unit above or below."""
    for other, unit_name in _name_clashes(name_zh, name_en, unit, theme):
        field = "name_zh" if other.name_zh.lower() == name_zh.lower() else "name_en"
        if unit_name is None:
            message = _l("The shared catalogue already has a theme with this name.")
        else:
            message = _l("%(unit)s already has a theme with this name.", unit=unit_name)
        raise CampaignError(field, message)


def check_colour(colour: str) -> str:
    """A colour written #rrggbb, lower case."""
    colour = (colour or "").strip().lower()
    if not COLOUR_PATTERN.match(colour):
        raise CampaignError("colour", _l('"%(value)s" is not a colour like #c0392b.', value=colour))
    return colour


def save_theme(
    theme: Theme | None, unit: Unit | None, name_zh: str, name_en: str, colour: str
) -> Theme:
    """Add a theme to the catalogue (shared when `unit` is None) or change one; its code stays."""
    name_zh, name_en = name_zh.strip(), name_en.strip()
    colour = check_colour(colour)
    check_theme_names(name_zh, name_en, unit, theme)
    if theme is not None and theme.unit_id != (unit.id if unit else None) and unit is not None:
        outside = _theme_uses_outside(theme, unit)
        if outside:
            raise CampaignError(
                "unit",
                ngettext(
                    "%(num)d activity with this theme is at a station outside %(unit)s.",
                    "%(num)d activities with this theme are at stations outside %(unit)s.",
                    outside,
                    unit=unit.name,
                ),
            )
    if theme is None:
        theme = Theme(code=new_theme_code(name_en, unit))
        db.session.add(theme)
    theme.unit_id = unit.id if unit is not None else None
    theme.name_zh, theme.name_en, theme.colour = name_zh, name_en, colour
    db.session.flush()
    return theme


def _theme_uses_outside(theme: Theme, unit: Unit) -> int:
    """Activities (any status) with `theme` at stations outside `unit`'s subtree."""
    inside = select(Station.id).where(Station.under(unit.path))
    return (
        db.session.scalar(
            select(func.count(Activity.id)).where(
                Activity.theme_id == theme.id, Activity.station_id.not_in(inside)
            )
        )
        or 0
    )
