"""A station's ratings and comments from workers: the figures, the comments newest first, and
hiding a comment from public pages (for those who may edit the station)."""

from __future__ import annotations

from flask import flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from flask_wtf import FlaskForm

from inclusive_day.access.rule import Action, can, get_or_404
from inclusive_day.attendance.feedback import (
    comments_query,
    hidden_by_names,
    hide_comment,
    ratings_of,
    show_comment,
)
from inclusive_day.attendance.models import Feedback
from inclusive_day.extensions import db
from inclusive_day.stations import bp
from inclusive_day.stations.models import Station

COMMENTS_PER_PAGE = 25


@bp.get("/<int:station_id>/feedback")
@login_required
def feedback(station_id: int):
    """The station's ratings (average, count, distribution) and its comments, newest first;
    hidden comments are shown, greyed, to those who may edit the station only."""
    station = get_or_404(current_user, Action.VIEW, Station, station_id)
    may_edit = can(current_user, Action.EDIT, station)
    page = db.paginate(
        comments_query(station.id, with_hidden=may_edit),
        per_page=COMMENTS_PER_PAGE,
        error_out=False,
        count=True,
    )
    return render_template(
        "stations/feedback.html",
        station=station,
        ratings=ratings_of(station.id),
        page=page,
        hidden_by=hidden_by_names(page.items),
        may_edit=may_edit,
        form=FlaskForm() if may_edit else None,
    )


def _moderate(station_id: int, feedback_id: int, hide: bool):
    """Hide a comment of the station, or show it again."""
    station = get_or_404(current_user, Action.EDIT, Station, station_id)
    back = url_for("stations.feedback", station_id=station.id)
    row = db.session.get(Feedback, feedback_id)
    form = FlaskForm()
    if row is None or row.station_id != station.id or not row.comment:
        flash(_("The station has no such comment."), "warning")
        return redirect(back)
    if not form.validate_on_submit():
        flash(_("The form has expired; try again."), "error")
        return redirect(back)
    changed = hide_comment(row, current_user) if hide else show_comment(row)
    db.session.commit()
    if changed:
        flash(_("Comment hidden.") if hide else _("Comment shown again."), "success")
    return redirect(f"{back}#feedback-{feedback_id}")


@bp.post("/<int:station_id>/feedback/<int:feedback_id>/hide")
@login_required
def hide_feedback(station_id: int, feedback_id: int):
    """Hide a comment from the station's public page (its rating still counts)."""
    return _moderate(station_id, feedback_id, hide=True)


@bp.post("/<int:station_id>/feedback/<int:feedback_id>/show")
@login_required
def show_feedback(station_id: int, feedback_id: int):
    """Show a hidden comment on the station's public page again."""
    return _moderate(station_id, feedback_id, hide=False)
