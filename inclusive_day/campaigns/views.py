"""Campaign list and page."""

from flask import render_template
from flask_login import current_user, login_required
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from inclusive_day.activities.models import Activity
from inclusive_day.activities.queries import count_activities, count_activities_by
from inclusive_day.attendance.queries import served_by_group, totals, totals_by
from inclusive_day.auth.access import Action, get_or_404, visible
from inclusive_day.campaigns import bp
from inclusive_day.campaigns.models import Campaign, Theme
from inclusive_day.extensions import db


@bp.get("/")
@login_required
def index():
    """The campaigns the user may see, newest first, with their figures."""
    campaigns = list(
        db.session.scalars(
            select(Campaign)
            .where(visible(current_user, Action.VIEW, Campaign))
            .options(joinedload(Campaign.unit))
            .order_by(Campaign.starts_on.desc(), Campaign.id.desc())
        )
    )
    scope = [
        visible(current_user, Action.VIEW, Activity),
        Activity.campaign_id.in_([c.id for c in campaigns]),
    ]
    return render_template(
        "campaigns/index.html",
        campaigns=campaigns,
        counts=count_activities_by(Activity.campaign_id, scope),
        figures=totals_by(Activity.campaign_id, scope),
    )


@bp.get("/<int:campaign_id>")
@login_required
def show(campaign_id: int):
    """A campaign's headline figures and its breakdown by theme and by beneficiary group."""
    campaign = get_or_404(
        current_user, Action.VIEW, Campaign, campaign_id, joinedload(Campaign.unit)
    )
    scope = [visible(current_user, Action.VIEW, Activity), Activity.campaign_id == campaign.id]
    by_theme_counts = count_activities_by(Activity.theme_id, scope)
    by_theme_totals = totals_by(Activity.theme_id, scope)
    themes = db.session.scalars(
        select(Theme).where(Theme.id.in_(list(by_theme_counts))).order_by(Theme.id)
    ).all()
    theme_rows = sorted(
        (
            (theme, by_theme_counts.get(theme.id, 0), by_theme_totals.get(theme.id))
            for theme in themes
        ),
        key=lambda row: -row[1],
    )
    return render_template(
        "campaigns/show.html",
        campaign=campaign,
        activities=count_activities(scope),
        figures=totals(scope),
        theme_rows=theme_rows,
        groups=served_by_group(scope),
    )
