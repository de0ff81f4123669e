"""The public QR check-in pages (no sign-in): an activity's and a station door's.

GET shows the form with a fresh nonce; POST checks in, commits once and redirects to a
confirmation (POST-redirect-GET), so a reload or a double tap never stores anything twice.
The confirmation is found again through the session, which holds record ids, never a number.
"""

from __future__ import annotations

from datetime import date, datetime

from flask import current_app, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from inclusive_day.activities.models import Activity, checkin_bounds
from inclusive_day.activities.queries import in_public_campaign, upcoming
from inclusive_day.api.checkins import (
    CHECKIN_LIMIT_SCOPE,
    checkin_rate_limit,
    client_address_hash,
    record_refusals,
    refusal_status,
)
from inclusive_day.attendance import bp
from inclusive_day.attendance.feedback import FeedbackError, feedback_of, leave_feedback
from inclusive_day.attendance.forms import CheckInForm, FeedbackForm, new_nonce
from inclusive_day.attendance.models import CheckIn, CheckInSource, LimitKind, StationVisit
from inclusive_day.attendance.services import (
    AttendanceError,
    Refusal,
    activities_on_now,
    activity_by_checkin_token,
    check_in,
    check_open,
    door_check_in,
)
from inclusive_day.database import utcnow
from inclusive_day.directory.queries import public_scope
from inclusive_day.extensions import db, limiter
from inclusive_day.i18n import period_text
from inclusive_day.periods import zone_of
from inclusive_day.points.card import card_value, set_card
from inclusive_day.points.services import card_on_scan
from inclusive_day.stations.models import Station, StationStatus
from inclusive_day.web import show_error

# Session keys: the last confirmation to show, and the group chosen last (to preselect it).
DONE_KEY = "checkin_done"
GROUP_KEY = "checkin_group"
# How many of the station's activities (on now or next) the door page lists.
DOOR_ACTIVITIES = 3
# The refusals that say the activity takes no check-ins now: the page shows it closed.
CLOSED = frozenset(
    {
        Refusal.NO_ACTIVITY,
        Refusal.CANCELLED,
        Refusal.NOT_YET_OPEN,
        Refusal.FINISHED,
        Refusal.NOT_TAKING_CHECKINS,
    }
)


# --- Looking things up -----------------------------------------------------------------------


def activity_by_token(token: str) -> Activity | None:
    """The activity whose QR carries this check-in token, with its station and theme."""
    return activity_by_checkin_token(
        token,
        joinedload(Activity.station).joinedload(Station.unit),
        joinedload(Activity.theme),
    )


def station_by_code(code: str) -> Station | None:
    """The station with this code, whatever its status, with its unit loaded."""
    return db.session.scalar(
        select(Station).where(Station.code == code).options(joinedload(Station.unit))
    )


def checkin_token(activity: Activity) -> str:
    """The token of an activity's check-in link and QR."""
    return activity.checkin_token


def station_page_url(station: Station) -> str | None:
    """The station's public page, unless the station has closed (it has none then)."""
    if station.status is StationStatus.CLOSED:
        return None
    return url_for("directory.station", code=station.code)


# --- Shared form handling --------------------------------------------------------------------


def _new_form() -> CheckInForm:
    """The check-in form: on GET with a fresh nonce and the group chosen last time."""
    form = CheckInForm()
    if request.method == "GET":
        form.nonce.data = new_nonce()
        form.group.data = session.get(GROUP_KEY)
    return form


def _nonce_failed(form: CheckInForm) -> str:
    """The form's nonce was missing, tampered with or already spent: hand out a new one."""
    form.nonce.data = new_nonce()
    return _("This form was already sent or has expired. Check your details and send it again.")


def _form_error(form: CheckInForm, error: AttendanceError) -> str | None:
    """Put a service's complaint on the field at fault; return a message for the whole form."""
    if error.code in (Refusal.INVALID_NONCE, Refusal.NONCE_REUSED):
        return _nonce_failed(form)
    field = {Refusal.INVALID_PHONE: form.phone, Refusal.INVALID_GROUP: form.group}.get(error.code)
    if field is not None:
        field.errors = [*field.errors, str(error.message)]
        return None
    return str(error.message)


def _page(template: str, status: int = 200, **context):
    response = current_app.make_response((render_template(template, **context), status))
    # Back after a check-in must fetch a new form (and nonce), never replay the old one.
    response.headers["Cache-Control"] = "no-store"
    return response


def _not_found(message: str, station_url: str | None = None):
    return _page("attendance/checkin_not_found.html", 404, message=message, station_url=station_url)


# --- An activity's check-in ------------------------------------------------------------------


def _activity_over_limit(_limit) -> None:
    """The client address is over CHECKIN_RATE_LIMIT: record the refusal at this activity."""
    activity = activity_by_checkin_token((request.view_args or {}).get("token"))
    if activity is not None:
        record_refusals([activity.id], LimitKind.ADDRESS)


def _door_over_limit(_limit) -> None:
    """The client address is over CHECKIN_RATE_LIMIT: record the refusal at the activities
    the door scan would have checked in to."""
    station = station_by_code((request.view_args or {}).get("code"))
    if station is not None and station.status is StationStatus.ACTIVE:
        record_refusals([a.id for a in activities_on_now(station.id, utcnow())], LimitKind.ADDRESS)


@bp.route("/c/<token>", methods=["GET", "POST"])
@limiter.shared_limit(
    checkin_rate_limit, CHECKIN_LIMIT_SCOPE, methods=["POST"], on_breach=_activity_over_limit
)
def activity_checkin(token: str):
    """The phone page an activity's QR opens: pick a group, enter a number, check in."""
    activity = activity_by_token(token)
    if activity is None:
        return _not_found(_("This check-in code is not known. Ask the staff for the right one."))
    now = utcnow()
    form = _new_form()
    closed = _closed(activity, now)
    message, status = None, 200
    if closed is not None:
        message = closed.message
        status = refusal_status(closed) if request.method == "POST" else 200
    elif request.method == "POST":
        if form.validate_on_submit():
            try:
                checkin, created = check_in(
                    activity.id,
                    form.phone.parsed,
                    form.group.data,
                    form.nonce.data,
                    source=CheckInSource.QR,
                    now=now,
                )
            except AttendanceError as error:
                db.session.rollback()
                if error.code in CLOSED:
                    closed, message, status = error, error.message, refusal_status(error)
                elif error.code is Refusal.FULL:
                    record_refusals([activity.id], LimitKind.CAPACITY)
                    message, status = str(error.message), refusal_status(error)
                else:
                    message = _form_error(form, error)
            else:
                db.session.flush()
                done = {"kind": "activity", "target": token, "id": checkin.id, "created": created}
                group = checkin.group.value  # read before the commit expires it
                card = card_value(card_on_scan(form.phone.parsed, [(checkin, created)]))
                db.session.commit()
                _remember(done, group)
                response = redirect(url_for("attendance.activity_checkin_done", token=token))
                set_card(response, card)
                return response
        elif form.nonce.errors:
            message = _nonce_failed(form)
    return _page(
        "attendance/checkin.html",
        status,
        form=form,
        action=url_for("attendance.activity_checkin", token=token),
        heading=activity.title,
        kind="activity",
        activity=activity,
        station=activity.station,
        when=period_text(
            activity.starts_at, activity.ends_at, zone_of(activity.station.unit.timezone), now
        ),
        closed=closed is not None,
        early=closed is not None and closed.code is Refusal.NOT_YET_OPEN,
        message=message,
        station_url=station_page_url(activity.station),
    )


def _closed(activity: Activity, now: datetime) -> AttendanceError | None:
    """Why the activity takes no check-ins now (cancelled, not yet open, finished), if so."""
    try:
        check_open(activity, now, zone_of(activity.station.unit.timezone))
    except AttendanceError as error:
        return error
    return None


@bp.get("/c/<token>/done")
def activity_checkin_done(token: str):
    """The confirmation after an activity check-in: checked in, or already checked in; then
    the optional rating of the station."""
    checkin = _recalled_checkin(token)
    if checkin is None:
        return redirect(url_for("attendance.activity_checkin", token=token))
    return _activity_done(token, checkin, FeedbackForm(formdata=None))


@bp.post("/c/<token>/feedback")
@limiter.limit(checkin_rate_limit)
def activity_feedback(token: str):
    """The rating and comment left on the confirmation after an activity check-in."""
    checkin = _recalled_checkin(token)
    if checkin is None:
        return redirect(url_for("attendance.activity_checkin", token=token))
    station = checkin.activity.station
    day = checkin.checked_in_at.astimezone(zone_of(station.unit.timezone)).date()
    form = FeedbackForm()
    if _leave_feedback(form, station.id, checkin.identity, day):
        return redirect(url_for("attendance.activity_checkin_done", token=token) + "#feedback")
    return _activity_done(token, checkin, form, 400)


def _recalled_checkin(token: str) -> CheckIn | None:
    """The check-in the confirmation of this activity is about, if this browser made it."""
    done = _recalled("activity", token)
    checkin = db.session.get(CheckIn, done["id"]) if done else None
    if checkin is None or checkin_token(checkin.activity) != token:
        return None
    return checkin


def _activity_done(token: str, checkin: CheckIn, form: FeedbackForm, status: int = 200):
    activity = checkin.activity
    station = activity.station
    day = checkin.checked_in_at.astimezone(zone_of(station.unit.timezone)).date()
    return _page(
        "attendance/checkin_done.html",
        status,
        kind="activity",
        heading=activity.title,
        created=session[DONE_KEY]["created"],
        at=checkin.checked_in_at,
        group=checkin.group.label,
        station=station,
        counted=[],
        again_url=url_for("attendance.activity_checkin", token=token),
        station_url=station_page_url(station),
        **_feedback_context(
            station.id,
            checkin.identity,
            day,
            form,
            url_for("attendance.activity_feedback", token=token),
        ),
    )


# --- A station's door check-in ---------------------------------------------------------------


@bp.route("/d/<code>", methods=["GET", "POST"])
@limiter.shared_limit(
    checkin_rate_limit, CHECKIN_LIMIT_SCOPE, methods=["POST"], on_breach=_door_over_limit
)
def station_checkin(code: str):
    """The phone page a station's door QR opens: one visit a day, and any activity on now."""
    station = station_by_code(code)
    if station is None or station.status is not StationStatus.ACTIVE:
        return _station_not_open(station)
    now = utcnow()
    form = _new_form()
    message = None
    if form.validate_on_submit():
        try:
            result = door_check_in(
                station,
                form.phone.parsed,
                form.group.data,
                form.nonce.data,
                now=now,
                address_hash=client_address_hash(),
            )
        except AttendanceError as error:
            db.session.rollback()
            if error.code is Refusal.STATION_NOT_OPEN:
                return _station_not_open(station)
            message = _form_error(form, error)
        else:
            db.session.flush()
            done = {
                "kind": "station",
                "target": code,
                "id": result.visit.id,
                "created": result.created,
                "checkins": [[c.id, created] for c, created in result.checkins],
            }
            group = result.visit.group.value  # read before the commit expires it
            card = card_value(card_on_scan(form.phone.parsed, result.checkins))
            db.session.commit()
            _remember(done, group)
            response = redirect(url_for("attendance.station_checkin_done", code=code))
            set_card(response, card)
            return response
    elif request.method == "POST" and form.nonce.errors:
        message = _nonce_failed(form)
    return _page(
        "attendance/checkin.html",
        form=form,
        action=url_for("attendance.station_checkin", code=code),
        heading=station.name,
        kind="station",
        station=station,
        activities=door_activities(station, now),
        closed=False,
        early=False,
        message=message,
        station_url=station_page_url(station),
    )


def door_activities(station: Station, now: datetime) -> list[dict]:
    """The station's public activities on now or next, and whether a scan now counts for each."""
    zone = zone_of(station.unit.timezone)
    bounds = checkin_bounds(now)
    rows = []
    for activity in upcoming(public_scope(station), now, limit=DOOR_ACTIVITIES):
        rows.append(
            {
                "title": activity.title,
                "theme": activity.theme,
                "when": period_text(activity.starts_at, activity.ends_at, zone, now),
                "now": activity.takes_checkins(*bounds),
            }
        )
    return rows


def _station_not_open(_station: Station | None):
    """An unknown code, and a station suspended or closed, get the same answer: a code does not
    tell whether a station exists."""
    return _not_found(
        _("No station takes check-ins with this code now. Ask the staff for the right one.")
    )


@bp.get("/d/<code>/done")
def station_checkin_done(code: str):
    """The confirmation after a door check-in: the visit, and the activities it counted for;
    then the optional rating of the station."""
    visit = _recalled_visit(code)
    if visit is None:
        return redirect(url_for("attendance.station_checkin", code=code))
    return _station_done(code, visit, FeedbackForm(formdata=None))


@bp.post("/d/<code>/feedback")
@limiter.limit(checkin_rate_limit)
def station_feedback(code: str):
    """The rating and comment left on the confirmation after a door check-in."""
    visit = _recalled_visit(code)
    if visit is None:
        return redirect(url_for("attendance.station_checkin", code=code))
    form = FeedbackForm()
    if _leave_feedback(form, visit.station_id, visit.identity, visit.visit_day):
        return redirect(url_for("attendance.station_checkin_done", code=code) + "#feedback")
    return _station_done(code, visit, form, 400)


def _recalled_visit(code: str) -> StationVisit | None:
    """The door visit the confirmation at this station is about, if this browser made it."""
    done = _recalled("station", code)
    visit = db.session.get(StationVisit, done["id"]) if done else None
    station = db.session.get(Station, visit.station_id) if visit else None
    if station is None or station.code != code:
        return None
    return visit


def _station_done(code: str, visit: StationVisit, form: FeedbackForm, status: int = 200):
    done = session[DONE_KEY]
    station = db.session.get(Station, visit.station_id)
    ids = dict(done.get("checkins", []))
    public_activities = select(Activity.id).where(in_public_campaign())
    checkins = (
        db.session.scalars(
            select(CheckIn)
            .where(CheckIn.id.in_(ids), CheckIn.activity_id.in_(public_activities))
            .options(joinedload(CheckIn.activity))
            .order_by(CheckIn.id)
        ).all()
        if ids
        else []
    )
    return _page(
        "attendance/checkin_done.html",
        status,
        kind="station",
        heading=station.name,
        created=done["created"],
        at=visit.visited_at,
        group=visit.group.label,
        station=station,
        counted=[{"title": c.activity.title, "created": ids[c.id]} for c in checkins],
        again_url=url_for("attendance.station_checkin", code=code),
        station_url=station_page_url(station),
        **_feedback_context(
            station.id,
            visit.identity,
            visit.visit_day,
            form,
            url_for("attendance.station_feedback", code=code),
        ),
    )


# --- Feedback on the confirmation --------------------------------------------------------------


def _feedback_context(
    station_id: int, identity: str, day: date, form: FeedbackForm, action: str
) -> dict:
    """The feedback part of a confirmation: the form, or the word already left today. The
    identity stays on the server: the form is found again through the session."""
    given = feedback_of(station_id, identity, day)
    return {
        "feedback_form": form if given is None else None,
        "feedback_given": given,
        "feedback_action": action,
    }


def _leave_feedback(form: FeedbackForm, station_id: int, identity: str, day: date) -> bool:
    """Store the form's rating and comment; False (with the reason on the form) if refused."""
    if not form.validate_on_submit():
        return False
    try:
        leave_feedback(station_id, identity, day, form.rating.data, form.comment.data)
    except FeedbackError as error:
        db.session.rollback()
        show_error(form, error.message, error.field)
        return False
    db.session.commit()
    return True


# --- The session's memory --------------------------------------------------------------------


def _remember(done: dict, group: str) -> None:
    """Keep what the confirmation shows (record ids only) and the group for next time."""
    session[DONE_KEY] = done
    session[GROUP_KEY] = group


def _recalled(kind: str, target: str) -> dict | None:
    """The confirmation kept for this page, if the last check-in in this browser was here."""
    done = session.get(DONE_KEY)
    if not isinstance(done, dict) or done.get("kind") != kind or done.get("target") != target:
        return None
    return done
