"""Activity page."""

from flask import render_template
from flask_login import current_user, login_required
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from inclusive_day.activities import bp
from inclusive_day.activities.models import Activity
from inclusive_day.attendance.models import Headcount
from inclusive_day.attendance.queries import served_by_group, totals
from inclusive_day.auth.access import Action, get_or_404
from inclusive_day.extensions import db


@bp.get("/<int:activity_id>")
@login_required
def show(activity_id: int):
    """One activity: when and where, and who was served, by group."""
    activity = get_or_404(
        current_user,
        Action.VIEW,
        Activity,
        activity_id,
        joinedload(Activity.station),
        joinedload(Activity.theme),
        joinedload(Activity.campaign),
    )
    scope = [Activity.id == activity.id]
    headcounts = db.session.scalars(
        select(Headcount).where(Headcount.activity_id == activity.id).order_by(Headcount.group)
    ).all()
    return render_template(
        "activities/show.html",
        activity=activity,
        figures=totals(scope),
        groups=served_by_group(scope),
        headcounts=headcounts,
    )


# The calendar and festival pages live in their own modules on this blueprint.
from inclusive_day.activities import views_calendar, views_festivals  # noqa: E402, F401
