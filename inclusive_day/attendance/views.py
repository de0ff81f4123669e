"""Staff pages for attendance: headcounts, check-ins, tally, paper sheets, live counter.

Everything here needs Action.RECORD on the activity (its station's managers, the
organisers above it). The JSON routes answer JSON errors (401, 404, 4xx) rather than
redirecting to the sign-in page, so the tally and the live counter can tell what happened.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path

from flask import (
    abort,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user, login_required
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from inclusive_day.access.rule import Action, can, get_or_404, visible
from inclusive_day.activities.models import Activity
from inclusive_day.api.checkins import refusal_status
from inclusive_day.attendance import bp
from inclusive_day.attendance.forms import AnnulForm, CapacityForm, HeadcountForm, PaperForm
from inclusive_day.attendance.models import BeneficiaryGroup, CheckIn, HeadcountChange
from inclusive_day.attendance.paper import COLUMNS as PAPER_COLUMNS
from inclusive_day.attendance.paper import MAX_BYTES as PAPER_MAX_BYTES
from inclusive_day.attendance.paper import blank_sheet, import_paper_sheet
from inclusive_day.attendance.queries import bursts_under_review, served_by_group, totals
from inclusive_day.attendance.services import (
    AttendanceError,
    Refusal,
    annul_burst,
    annul_checkin,
    apply_tally,
    checkin_capacity,
    current_headcounts,
    minute_under_review,
    set_checkin_capacity,
    set_headcounts,
)
from inclusive_day.attendance.views_public import checkin_token
from inclusive_day.auth.models import User
from inclusive_day.extensions import csrf, db
from inclusive_day.stations.posters import PosterError, checkin_sheet, public_link
from inclusive_day.uploads import format_size
from inclusive_day.web import page_arg, pdf_response, show_error

HISTORY_PAGE_SIZE = 50
CHECKINS_PAGE_SIZE = 50
REFERENCE_LENGTH = 8  # characters of the identity hash shown as a check-in's reference
MAX_ERRORS_SHOWN = 500


@bp.app_template_global()
def may_record_attendance(activity: Activity) -> bool:
    """May the signed-in user record attendance at `activity`? (For the activity page.)"""
    return can(current_user, Action.RECORD, activity)


def _activity(activity_id: int) -> Activity:
    return get_or_404(
        current_user,
        Action.RECORD,
        Activity,
        activity_id,
        joinedload(Activity.station),
        joinedload(Activity.campaign),
    )


# ---- the attendance page: headcounts, their history, check-ins --------------------------------


@bp.route("/activities/<int:activity_id>/attendance", methods=["GET", "POST"])
@login_required
def staff(activity_id: int):
    """Staff enter headcounts per group; below, the history of counts and the check-ins."""
    activity = _activity(activity_id)
    current = current_headcounts(activity)
    form = HeadcountForm()
    status, conflicts = 200, {}
    if request.method == "GET":
        form.fill(current)
    elif form.validate_on_submit():
        counts, expected = form.changes()
        if not counts:
            flash(_("Nothing changed."), "info")
            return redirect(url_for("attendance.staff", activity_id=activity.id))
        try:
            changed = set_headcounts(activity, counts, current_user, expected)
            db.session.commit()
        except AttendanceError as error:
            db.session.rollback()
            current = current_headcounts(activity)
            form.form_errors.append(str(error.message))
            if error.code in (Refusal.CANCELLED, Refusal.CHANGED_MEANWHILE):
                # Show which counts moved, and take the new ones as shown from now on.
                shown = form.shown()
                conflicts = {g: n for g, n in current.items() if shown[g] != n}
                form.show_again(current)
            status = refusal_status(error)
        else:
            flash(
                ngettext(
                    "Headcount saved: %(num)d group changed.",
                    "Headcounts saved: %(num)d groups changed.",
                    changed,
                ),
                "success",
            )
            return redirect(url_for("attendance.staff", activity_id=activity.id))
    else:
        status = 422
    return _staff_page(activity, form, conflicts, status)


def _staff_page(
    activity: Activity,
    form: HeadcountForm,
    conflicts: dict,
    status: int,
    capacity_form: CapacityForm | None = None,
):
    scope = [Activity.id == activity.id]
    history = db.paginate(
        select(HeadcountChange)
        .where(HeadcountChange.activity_id == activity.id)
        .order_by(HeadcountChange.changed_at.desc(), HeadcountChange.id.desc()),
        page=page_arg("history"),
        per_page=HISTORY_PAGE_SIZE,
        error_out=False,
    )
    checkins = db.paginate(
        select(CheckIn)
        .where(CheckIn.activity_id == activity.id)
        .order_by(CheckIn.checked_in_at.desc(), CheckIn.id.desc()),
        page=page_arg("checkins"),
        per_page=CHECKINS_PAGE_SIZE,
        error_out=False,
    )
    user_ids = {c.changed_by_id for c in history.items} | {c.annulled_by_id for c in checkins}
    users = _users(user_ids - {None})
    capacity_form = capacity_form or CapacityForm(formdata=None, obj=activity)
    return (
        render_template(
            "attendance/staff_attendance.html",
            activity=activity,
            form=form,
            conflicts=conflicts,
            figures=totals(scope),
            by_group=served_by_group(scope),
            history=history,
            checkins=checkins,
            users=users,
            annul_form=AnnulForm(formdata=None),
            reference_length=REFERENCE_LENGTH,
            bursts=bursts_under_review(scope),
            capacity=checkin_capacity(activity),
            capacity_form=capacity_form,
            may_set_capacity=can(current_user, Action.EDIT, activity),
        ),
        status,
    )


def _users(ids: set[int]) -> dict[int, str]:
    """Names to show for the users who made changes, read in one query."""
    if not ids:
        return {}
    rows = db.session.execute(
        select(User.id, User.display_name, User.username).where(User.id.in_(ids))
    )
    return {uid: display or username for uid, display, username in rows}


@bp.post("/activities/<int:activity_id>/checkins/<int:checkin_id>/annul")
@login_required
def annul(activity_id: int, checkin_id: int):
    """Annul a mistaken check-in, with a reason: it stops counting and stays in the list."""
    activity = _activity(activity_id)
    checkin = db.session.scalar(
        select(CheckIn).where(CheckIn.id == checkin_id, CheckIn.activity_id == activity.id)
    )
    if checkin is None:
        abort(404)
    form = AnnulForm()
    back = url_for(
        "attendance.staff",
        activity_id=activity.id,
        checkins=request.args.get("checkins", type=int),
        _anchor="checkins",
    )
    if not form.validate_on_submit():
        for errors in form.errors.values():
            for message in errors:
                flash(message, "danger")
        return redirect(back)
    try:
        annul_checkin(checkin, form.reason.data, current_user)
        db.session.commit()
    except AttendanceError as error:
        db.session.rollback()
        flash(str(error.message), "danger")
    else:
        flash(
            _("Check-in %(ref)s annulled.", ref=checkin.identity[:REFERENCE_LENGTH]),
            "success",
        )
    return redirect(back)


# ---- check-ins under review: a burst annulled at once, the capacity a minute -------------------


@bp.post("/activities/<int:activity_id>/bursts/<int:minute>/annul")
@login_required
def annul_burst_view(activity_id: int, minute: int):
    """Annul at once the check-ins still counting of one minute under review, with a reason."""
    activity = _activity(activity_id)
    try:
        start = datetime.fromtimestamp(minute, UTC)
    except (OverflowError, OSError, ValueError):
        abort(404)
    if minute_under_review(activity, start) is None:
        abort(404)
    form = AnnulForm()
    back = url_for("attendance.staff", activity_id=activity.id, _anchor="review")
    if not form.validate_on_submit():
        for errors in form.errors.values():
            for message in errors:
                flash(message, "danger")
        return redirect(back)
    try:
        count = annul_burst(activity, start, form.reason.data, current_user)
        db.session.commit()
    except AttendanceError as error:
        db.session.rollback()
        flash(str(error.message), "danger")
    else:
        flash(
            ngettext(
                "%(num)d check-in annulled.",
                "%(num)d check-ins annulled.",
                count,
            ),
            "success",
        )
    return redirect(back)


@bp.post("/activities/<int:activity_id>/checkin-capacity")
@login_required
def checkin_capacity_view(activity_id: int):
    """Set how many check-ins a minute the activity takes (empty: its station's figure)."""
    activity = get_or_404(
        current_user, Action.EDIT, Activity, activity_id, joinedload(Activity.station)
    )
    form = CapacityForm()
    if form.validate_on_submit():
        try:
            set_checkin_capacity(activity, form.checkins_per_minute.data)
            db.session.commit()
        except AttendanceError as error:
            db.session.rollback()
            show_error(form, error.message, error.field)
        else:
            flash(_("Check-ins a minute saved."), "success")
            return redirect(url_for("attendance.staff", activity_id=activity.id, _anchor="review"))
    current = HeadcountForm(formdata=None)
    current.fill(current_headcounts(activity))
    return _staff_page(activity, current, {}, 422, capacity_form=form)


# ---- JSON for the tally and the live counter ---------------------------------------------------


def _json_error(message, status: int, field: str | None = None):
    body = {"error": str(message)}
    if field:
        body["field"] = field
    response = jsonify(body)
    response.status_code = status
    response.headers["Cache-Control"] = "no-store"
    return response


def _json_activity(activity_id: int) -> Activity:
    """The activity, if the signed-in user may record at it; else answer a JSON error."""
    if not current_user.is_authenticated:
        abort(_json_error(_("Please sign in again."), 401))
    activity = db.session.scalar(
        select(Activity).where(
            Activity.id == activity_id, visible(current_user, Action.RECORD, Activity)
        )
    )
    if activity is None:
        abort(_json_error(_("There is no such activity."), 404))
    return activity


def _codes(counts: dict[BeneficiaryGroup, int]) -> dict[str, int]:
    return {group.value: n for group, n in counts.items()}


def _now_ms() -> int:
    return int(time.time() * 1000)


@bp.get("/activities/<int:activity_id>/live.json")
def live(activity_id: int):
    """The activity's figures now, for the live counter on its page."""
    activity = _json_activity(activity_id)
    scope = [Activity.id == activity.id]
    figures = totals(scope)
    response = jsonify(
        served=figures.served,
        headcount=figures.headcount,
        checkins=figures.checkins,
        people=figures.people,
        by_group=_codes(served_by_group(scope)),
    )
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/activities/<int:activity_id>/tally")
@login_required
def tally(activity_id: int):
    """The phone tally: a big +1 per group that keeps counting with no network."""
    activity = _activity(activity_id)
    return render_template(
        "attendance/tally.html",
        activity=activity,
        groups=list(BeneficiaryGroup),
        counts=_codes(current_headcounts(activity)),
        rendered_at=_now_ms(),
    )


@bp.post("/activities/<int:activity_id>/tally")
@csrf.exempt
def tally_upload(activity_id: int):
    """Count the taps a phone queued: {"taps": [{"nonce", "group", "delta"?}]}.

    No CSRF token: the body must be application/json, which a page on another site
    cannot send here without a CORS preflight that this app never grants.
    """
    if request.mimetype != "application/json":
        return _json_error(_("Send the taps as JSON (Content-Type: application/json)."), 415)
    activity = _json_activity(activity_id)
    data = request.get_json(silent=True)
    if not isinstance(data, dict) or not isinstance(data.get("taps"), list):
        return _json_error(_('Send a JSON object with a list of "taps".'), 400, "taps")
    try:
        result = apply_tally(activity, data["taps"], current_user)
        db.session.commit()
    except AttendanceError as error:
        db.session.rollback()
        return _json_error(error.message, refusal_status(error), error.field)
    response = jsonify(
        accepted=result.accepted,
        repeated=result.repeated,
        refused=result.refused,
        counts=_codes(current_headcounts(activity)),
        at=_now_ms(),
    )
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/activities/tally-sw.js")
def tally_worker():
    """The tally's service worker, served under /activities/ so that it may control the
    tally pages there and reopen them with no network."""
    script = Path(current_app.static_folder, "js", "tally_sw.js").read_bytes()
    response = current_app.response_class(script, mimetype="text/javascript")
    response.headers["Service-Worker-Allowed"] = "/activities/"
    response.headers["Cache-Control"] = "no-cache"
    return response


# ---- paper sign-in sheets --------------------------------------------------------------------


def checkin_link(activity: Activity) -> str:
    """The absolute address of the activity's check-in page, which its QR code opens."""
    return public_link(url_for("attendance.activity_checkin", token=checkin_token(activity)))


@bp.get("/activities/<int:activity_id>/checkin-sheet.pdf")
@login_required
def checkin_sheet_pdf(activity_id: int):
    """The activity's printable A4 "scan to check in" sheet (in Chinese, like the posters)."""
    activity = _activity(activity_id)
    try:
        data = checkin_sheet(activity, checkin_link(activity))
    except PosterError as error:
        flash(str(error.message), "warning")
        return redirect(url_for("activities.show", activity_id=activity.id))
    return pdf_response(data, f"checkin-{activity.id}.pdf")


@bp.route("/activities/<int:activity_id>/paper", methods=["GET", "POST"])
@login_required
def paper(activity_id: int):
    """Import a paper sign-in sheet (CSV) as check-ins: all rows or none, once per person."""
    activity = _activity(activity_id)
    form = PaperForm()
    report, status = None, 200
    if form.validate_on_submit():
        upload = form.file.upload
        report = import_paper_sheet(activity, upload.data, upload.name)
        if report.ok:
            db.session.commit()
            flash(
                _(
                    "Sheet imported: %(new)s new check-ins, %(known)s already recorded, "
                    "%(repeated)s repeated in the sheet.",
                    new=report.created,
                    known=report.existing,
                    repeated=report.repeated,
                ),
                "success",
            )
            return redirect(url_for("attendance.paper", activity_id=activity.id))
        db.session.rollback()
        status = 422
    elif request.method == "POST":
        status = 422
    return (
        render_template(
            "attendance/staff_paper.html",
            activity=activity,
            form=form,
            report=report,
            errors_shown=report.errors[:MAX_ERRORS_SHOWN] if report else [],
            columns=PAPER_COLUMNS,
            max_size=format_size(PAPER_MAX_BYTES),
        ),
        status,
    )


@bp.get("/activities/<int:activity_id>/paper/sheet.csv")
@login_required
def paper_sheet(activity_id: int):
    """A blank sign-in sheet (the header row) to fill in and import."""
    activity = _activity(activity_id)
    response = current_app.response_class(blank_sheet(), mimetype="text/csv")
    response.headers["Content-Disposition"] = f'attachment; filename="sign-in-{activity.id}.csv"'
    return response
