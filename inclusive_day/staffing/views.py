"""Roster and duty pages: a subtree's administrators, a station's roster and its month of
duty, one administrator with their training, duty rolled up by sub-unit, and the duty phone
page where administrators sign on and off (which the station's duty QR opens).

Who sees what is the access rule on the station (or the unit): those who may view it see its
roster and duty, those who may edit it keep the roster and see the contact phones. Duty is
the administrator's own: the phone page lists the stations the signed-in account runs.
"""

from __future__ import annotations

import io

from flask import (
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from inclusive_day.access.rule import Action, can, get_or_404, visible
from inclusive_day.construction.queries import children_of
from inclusive_day.database import utcnow
from inclusive_day.extensions import db
from inclusive_day.periods import Month, zone_of
from inclusive_day.staffing import bp
from inclusive_day.staffing.forms import AppointForm, DutyForm, EndForm, TrainingForm
from inclusive_day.staffing.models import AdminRole, StationAdmin
from inclusive_day.staffing.queries import (
    NO_DUTY,
    admins_under,
    count_without_master,
    counted_days,
    current_appointments,
    duty_by_child,
    duty_by_station,
    duty_days,
    masters_by_station,
    on_duty_by_station,
    open_shifts,
    recent_shifts,
    station_roster,
    training_hours,
    without_master,
)
from inclusive_day.staffing.services import (
    StaffingError,
    add_training,
    appoint,
    end_appointment,
    find_account,
    sign_off,
    sign_on,
    station_today,
)
from inclusive_day.stations.models import Station
from inclusive_day.stations.posters import qr_code
from inclusive_day.units.models import Unit
from inclusive_day.units.queries import top_units
from inclusive_day.web import show_error

PAGE_SIZE = 50
# The roster's views of a subtree: who runs its stations now, who ran them, and the running
# stations with no master.
SHOWS = ("current", "past", "without-master")
QR_SCALE, QR_BORDER = 10, 4


# ---- looking things up ----------------------------------------------------------------------


def _unit() -> Unit | None:
    """?unit= (in the user's sight, else 404), else the user's highest unit (None: none)."""
    raw = request.args.get("unit")
    if raw is None or raw == "":
        tops = top_units(current_user, Action.VIEW)
        return tops[0] if tops else None
    try:
        unit_id = int(raw)
    except ValueError:
        abort(404)
    return get_or_404(current_user, Action.VIEW, Unit, unit_id)


def _month(zone) -> Month:
    """?month=YYYY-MM, else this month in `zone`; anything else is a bad request."""
    raw = request.args.get("month")
    if not raw:
        return Month.containing(utcnow(), zone)
    try:
        return Month.parse(raw)
    except ValueError:
        abort(400)


def _station(station_id: int, action: Action = Action.VIEW) -> Station:
    """The station if the user may `action` it, with its unit, else 404."""
    return get_or_404(current_user, action, Station, station_id, joinedload(Station.unit))


def _admin(admin_id: int, action: Action = Action.VIEW) -> StationAdmin:
    """The administrator if the user may `action` their station, else 404."""
    admin = db.session.get(StationAdmin, admin_id)
    if admin is None:
        abort(404)
    _station(admin.station_id, action)
    return admin


def duty_link(station: Station) -> str:
    """The absolute address the station's duty QR opens (PUBLIC_BASE_URL when set)."""
    base = current_app.config.get("PUBLIC_BASE_URL")
    if base:
        return base.rstrip("/") + url_for("staffing.duty_station", code=station.code)
    return url_for("staffing.duty_station", code=station.code, _external=True)


# ---- the roster of a subtree ----------------------------------------------------------------


@bp.get("/staffing/")
@login_required
def roster():
    """The administrators of a subtree's stations (current or past) with their training
    hours, or its running stations without a master; a page at a time."""
    unit = _unit()
    if unit is None:  # a role on one station or sponsor only: their own duty is their roster
        return redirect(url_for("staffing.duty"))
    show = request.args.get("show", SHOWS[0])
    if show not in SHOWS:
        show = SHOWS[0]
    may_edit = can(current_user, Action.EDIT, unit)
    hours = {}
    if show == "without-master":
        stmt = without_master(unit.path).options(joinedload(Station.unit))
        page = db.paginate(stmt, per_page=PAGE_SIZE, error_out=False)
    else:
        page = db.paginate(
            admins_under(unit.path, past=show == "past"), per_page=PAGE_SIZE, error_out=False
        )
        hours = training_hours([admin.id for admin in page.items]) if page.items else {}
    return render_template(
        "staffing/roster.html",
        unit=unit,
        show=show,
        page=page,
        hours=hours,
        children=children_of(unit),
        missing=count_without_master(unit.path),
        may_edit=may_edit,
    )


# ---- a station's administrators -------------------------------------------------------------


@bp.route("/stations/<int:station_id>/admins", methods=["GET", "POST"])
@login_required
def station_admins(station_id: int):
    """Who runs a station now and who ran it; its organisers appoint and end appointments.
    The station's duty QR is here to print."""
    station = _station(station_id)
    may_edit = can(current_user, Action.EDIT, station)
    form = AppointForm() if may_edit else None
    if request.method == "POST":
        if form is None:
            abort(404)
        if form.validate_on_submit():
            try:
                admin = appoint(
                    station,
                    form.name.data,
                    form.phone.data,
                    AdminRole(form.role.data),
                    form.since.data,
                    user=find_account(form.username.data),
                    replace=form.replace.data,
                )
            except StaffingError as error:
                db.session.rollback()
                show_error(form, error.message, error.field)
            else:
                name, role = admin.name, admin.role.label
                db.session.commit()
                flash(_("%(name)s appointed as %(role)s.", name=name, role=role), "success")
                return redirect(url_for("staffing.station_admins", station_id=station_id))
    elif form is not None:
        form.since.data = station_today(station)
    admins = station_roster(station.id)
    ids = [a.id for a in admins]
    end_form = EndForm() if may_edit else None
    if end_form is not None:
        end_form.until.data = station_today(station)
    current = [a for a in admins if a.is_current]
    return render_template(
        "staffing/station_admins.html",
        station=station,
        current=current,
        master=next((a for a in current if a.role is AdminRole.MASTER), None),
        past=[a for a in admins if not a.is_current],
        hours=training_hours(ids) if ids else {},
        on_duty=open_shifts(ids) if ids else {},
        form=form,
        end_form=end_form,
        may_edit=may_edit,
    )


@bp.route("/staffing/admins/<int:admin_id>", methods=["GET", "POST"])
@login_required
def admin(admin_id: int):
    """One administrator: their appointment, training records (organisers add them) and
    latest shifts."""
    person = _admin(admin_id)
    station = person.station
    may_edit = can(current_user, Action.EDIT, station)
    form = TrainingForm() if may_edit else None
    if request.method == "POST":
        if form is None:
            abort(404)
        if form.validate_on_submit():
            try:
                add_training(
                    person,
                    form.course.data,
                    form.taken_on.data,
                    form.hours.data,
                    form.certificate.data,
                )
            except StaffingError as error:
                db.session.rollback()
                show_error(form, error.message, error.field)
            else:
                db.session.commit()
                flash(_("Training recorded."), "success")
                return redirect(url_for("staffing.admin", admin_id=admin_id))
    end_form = EndForm() if may_edit and person.is_current else None
    if end_form is not None:
        end_form.until.data = station_today(station)
    return render_template(
        "staffing/admin.html",
        person=person,
        station=station,
        trainings=person.trainings,
        hours=training_hours([person.id]).get(person.id, 0),
        shifts=recent_shifts(person.id),
        zone=zone_of(station.unit.timezone),
        form=form,
        end_form=end_form,
        may_edit=may_edit,
    )


@bp.post("/staffing/admins/<int:admin_id>/end")
@login_required
def end(admin_id: int):
    """End an appointment on its last day (the station's organisers)."""
    person = _admin(admin_id, Action.EDIT)
    station_id = person.station_id
    form = EndForm()
    if form.validate_on_submit():
        try:
            end_appointment(person, form.until.data)
        except StaffingError as error:
            db.session.rollback()
            flash(str(error.message), "danger")
        else:
            name = person.name
            db.session.commit()
            flash(_("The appointment of %(name)s has ended.", name=name), "success")
    else:
        flash(_("Give the last day as a date."), "danger")
    return redirect(url_for("staffing.station_admins", station_id=station_id))


@bp.get("/stations/<int:station_id>/duty-qr.png")
@login_required
def duty_qr(station_id: int):
    """The station's duty QR to print and put up inside: its administrators scan it to sign
    on and off with their accounts."""
    station = _station(station_id)
    buffer = io.BytesIO()
    qr_code(duty_link(station)).save(buffer, kind="png", scale=QR_SCALE, border=QR_BORDER)
    buffer.seek(0)
    return send_file(
        buffer, mimetype="image/png", download_name=f"duty-{station.code}.png", max_age=0
    )


# ---- duty figures ---------------------------------------------------------------------------


@bp.get("/stations/<int:station_id>/duty")
@login_required
def station_duty(station_id: int):
    """A station's month of duty, day by day: expected or not, hours, attended or absent and
    who; who is on duty now at the top."""
    station = _station(station_id)
    zone = zone_of(station.unit.timezone)
    now = utcnow()
    today = now.astimezone(zone).date()
    month = _month(zone)
    span = counted_days(month, today)
    days = duty_days(station, *span, now) if span else []
    total = duty_by_station([station.id], *span, now).get(station.id, NO_DUTY) if span else NO_DUTY
    return render_template(
        "staffing/station_duty.html",
        station=station,
        month=month,
        this_month=Month(today.year, today.month),
        days=days,
        total=total,
        on_duty=on_duty_by_station([station.id]).get(station.id, []),
        master=masters_by_station([station.id]).get(station.id),
    )


@bp.get("/staffing/duty")
@login_required
def duty_rollup():
    """Duty attendance of a subtree for a month, per sub-unit: station-days expected,
    attended and absent, the rate, and hours on duty."""
    unit = _unit()
    if unit is None:
        abort(404)
    zone = zone_of(unit.timezone)
    now = utcnow()
    today = now.astimezone(zone).date()
    month = _month(zone)
    span = counted_days(month, today)
    by_child = duty_by_child(unit, *span, now) if span else {}
    children = children_of(unit)
    return render_template(
        "staffing/duty_rollup.html",
        unit=unit,
        month=month,
        this_month=Month(today.year, today.month),
        span=span,
        rows=[(child, by_child.get(child.id, NO_DUTY)) for child in children],
        own=by_child.get(unit.id),
        total=sum(by_child.values(), NO_DUTY),
    )


# ---- the duty phone page --------------------------------------------------------------------


@bp.route("/duty", methods=["GET", "POST"])
@login_required
def duty():
    """The signed-in administrator's stations, each with a big sign-on or sign-off button."""
    return _duty_page(None)


@bp.route("/duty/station/<code>", methods=["GET", "POST"])
@login_required
def duty_station(code: str):
    """The duty page for one station, as its duty QR opens it."""
    return _duty_page(code)


def _duty_page(code: str | None):
    """GET lists the appointments; POST signs on or off, commits once and redirects here."""
    appointments = current_appointments(current_user.id)
    if code is not None:
        appointments = [a for a in appointments if a.station.code == code]
        if not appointments:
            return render_template("staffing/duty.html", rows=[], code=code, missing=True), 404
    here = url_for("staffing.duty_station", code=code) if code else url_for("staffing.duty")
    if request.method == "POST":
        _duty_action(appointments)
        return redirect(here)
    now = utcnow()
    # The user's open shift, wherever it is (at most one: the page lists one station or all).
    shifts = open_shifts(select(StationAdmin.id).where(StationAdmin.user_id == current_user.id))
    on_duty_at = next((s.station_id for s in shifts.values()), None)
    seen = _visible_stations([a.station_id for a in appointments])
    rows = []
    for a in appointments:
        shift = shifts.get(a.id)
        zone = zone_of(a.station.unit.timezone)
        rows.append(
            {
                "admin": a,
                "station": a.station,
                "shift": shift,
                "since": shift.started_at.astimezone(zone).strftime("%H:%M") if shift else None,
                "hours": round((now - shift.started_at).total_seconds() / 3600, 1)
                if shift
                else None,
                "elsewhere": on_duty_at is not None and on_duty_at != a.station_id,
                "may_view": a.station_id in seen,
            }
        )
    return render_template("staffing/duty.html", rows=rows, code=code, missing=False)


def _visible_stations(ids: list[int]) -> set[int]:
    """Which of these stations the user may open the pages of (one query)."""
    if not ids:
        return set()
    seen = visible(current_user, Action.VIEW, Station)
    return set(db.session.scalars(select(Station.id).where(Station.id.in_(ids), seen)))


def _duty_action(appointments: list[StationAdmin]) -> None:
    """Sign on or off as the form asks, flashing what happened; nothing is written twice."""
    form = DutyForm()
    if not form.validate_on_submit() or form.action.data not in ("on", "off"):
        flash(_("Choose sign on or sign off for one of your stations."), "warning")
        return
    station = next((a.station for a in appointments if a.station_id == form.station.data), None)
    if station is None:
        flash(_("You do not run this station now."), "warning")
        return
    name = station.name
    try:
        if form.action.data == "on":
            sign_on(current_user, station)
        else:
            shift = sign_off(current_user, station, shift_id=form.shift.data)
            hours = round((shift.ended_at - shift.started_at).total_seconds() / 3600, 1)
    except StaffingError as error:
        db.session.rollback()
        flash(str(error.message), "warning")
        return
    db.session.commit()
    if form.action.data == "on":
        flash(_("You are on duty at %(station)s.", station=name), "success")
    else:
        flash(
            _(
                "Signed off at %(station)s after %(hours)s hours on duty.",
                station=name,
                hours=hours,
            ),
            "success",
        )
