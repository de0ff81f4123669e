"""Station registry pages: list, profile, create and edit, managers, inspections."""

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import func, select
from sqlalchemy.orm import joinedload, selectinload

from inclusive_day.access.rule import Action, can, get_or_404, reach, visible
from inclusive_day.activities.models import Activity
from inclusive_day.activities.queries import count_activities, upcoming
from inclusive_day.attendance.feedback import ratings_of
from inclusive_day.attendance.queries import totals
from inclusive_day.attendance.services import AttendanceError, set_checkin_capacity
from inclusive_day.attendance.traffic import (
    NO_TRAFFIC,
    RECENT_DAYS,
    recent_days,
    traffic_by_station,
)
from inclusive_day.database import utcnow
from inclusive_day.extensions import db
from inclusive_day.periods import local_today
from inclusive_day.staffing.queries import (
    masters_by_station,
    on_duty_by_station,
    open_without_master,
    without_master_ids,
)
from inclusive_day.stations import bp
from inclusive_day.stations.forms import (
    CloseStationForm,
    InspectionForm,
    LabelAwardForm,
    ManagerForm,
    StationForm,
    cadence_form,
)
from inclusive_day.stations.geo import CoordSystem, Point
from inclusive_day.stations.inspections import (
    cadences,
    overdue,
    record_inspection,
    set_cadences,
    station_schedule,
)
from inclusive_day.stations.models import (
    OTHER_HOST_TYPE,
    Amenity,
    CheckItem,
    HostType,
    Inspection,
    InspectionResult,
    Label,
    LabelAward,
    Station,
    StationStatus,
)
from inclusive_day.stations.posters import render_posters
from inclusive_day.stations.queries import (
    by_code,
    host_type_options,
    label_options,
    with_host_type,
    with_label,
)
from inclusive_day.stations.services import (
    Lifecycle,
    StationError,
    StationFields,
    add_manager,
    award_label,
    check_hours,
    close_station,
    find_partners,
    remove_manager,
    save_station,
    station_managers,
    unit_today,
    withdraw_label,
)
from inclusive_day.units.models import Level, Unit
from inclusive_day.units.queries import top_units, unit_choices, units_in_reach
from inclusive_day.volunteers.queries import count_awaiting
from inclusive_day.web import page_arg, pdf_response, show_error

# The states in which a station has a public page (in the directory).
PUBLIC_STATUSES = (StationStatus.ACTIVE, StationStatus.SUSPENDED)
# The values of the list's "master" filter: any station, or open ones with no current master.
MASTER_FILTERS = ("", "none")


@bp.get("/")
@login_required
def index():
    """The stations the user may see, searchable by name, code or address, by unit, host type,
    label and open stations without a master; each filter's choices say how many stations
    hold them; each row shows its door visits over the last 30 days and whether it lacks a
    master (a constant number of queries)."""
    query = request.args.get("q", "").strip()[:100]
    unit = None
    scope = [visible(current_user, Action.VIEW, Station)]
    if "unit" in request.args:
        unit = get_or_404(current_user, Action.VIEW, Unit, request.args.get("unit", type=int))
        scope.append(Station.under(unit.path))
    if query:
        like = f"%{query}%"
        scope.append(
            Station.name.ilike(like) | Station.code.ilike(like) | Station.address.ilike(like)
        )
    errors = []
    host_type = label = None
    if request.args.get("type"):
        host_type = by_code(HostType, request.args["type"])
        if host_type is None:
            errors.append(_('"%(value)s" is not a host type.', value=request.args["type"][:40]))
    if request.args.get("label"):
        label = by_code(Label, request.args["label"])
        if label is None:
            errors.append(_('"%(value)s" is not a label.', value=request.args["label"][:40]))
    master = request.args.get("master", "")
    if master not in MASTER_FILTERS:
        errors.append(_('"%(value)s" is not a station master filter.', value=master[:40]))
        master = ""
    today = local_today()
    by_type = [with_host_type(host_type)] if host_type else []
    by_label = [with_label(label)] if label else []
    by_master = [open_without_master(today)] if master == "none" else []
    stmt = (
        select(Station)
        .where(*scope, *by_type, *by_label, *by_master)
        .options(
            joinedload(Station.unit),
            joinedload(Station.host_type),
            selectinload(Station.label_awards).joinedload(LabelAward.label),
        )
        .order_by(Station.code)
    )
    page = db.paginate(stmt, page=page_arg(), per_page=25, error_out=False)
    shown = [station.id for station in page.items]
    return render_template(
        "stations/index.html",
        page=page,
        query=query,
        unit=unit,
        host_type=host_type,
        label=label,
        master=master,
        type_options=host_type_options([*scope, *by_label, *by_master]),
        label_options=label_options([*scope, *by_type, *by_master]),
        masterless_count=db.session.scalar(
            select(func.count(Station.id)).where(
                *scope, *by_type, *by_label, open_without_master(today)
            )
        ),
        traffic=traffic_by_station(shown, *recent_days(today)) if shown else {},
        without_master=without_master_ids(shown, today) if shown else set(),
        recent_days=RECENT_DAYS,
        errors=errors,
        may_add=not reach(current_user, Action.EDIT).is_empty,
        may_import=_may_import(),
    ), 400 if errors else 200


def _may_import() -> bool:
    r = reach(current_user, Action.EDIT)
    return r.everything or bool(r.unit_paths)


@bp.get("/<int:station_id>")
@login_required
def show(station_id: int):
    """A station's profile, figures, managers, inspections and coming activities."""
    station = get_or_404(
        current_user,
        Action.VIEW,
        Station,
        station_id,
        selectinload(Station.amenity_rows),
        joinedload(Station.host_type),
        selectinload(Station.partners),
        selectinload(Station.label_awards).joinedload(LabelAward.label),
        selectinload(Station.label_awards).joinedload(LabelAward.awarded_by),
    )
    scope = [Activity.station_id == station.id]
    inspections = db.session.scalars(
        select(Inspection)
        .where(Inspection.station_id == station.id)
        .options(
            joinedload(Inspection.unit),
            joinedload(Inspection.inspector),
            selectinload(Inspection.checks),
        )
        .order_by(Inspection.inspected_on.desc(), Inspection.id.desc())
        .limit(10)
    ).all()
    may_edit = can(current_user, Action.EDIT, station)
    may_record = can(current_user, Action.RECORD, station)
    return render_template(
        "stations/show.html",
        station=station,
        activities=count_activities(scope),
        figures=totals(scope),
        traffic=traffic_by_station([station.id]).get(station.id, NO_TRAFFIC),
        ratings=ratings_of(station.id),
        coming=upcoming(scope, utcnow(), limit=10),
        managers=station_managers(station),
        master=masters_by_station([station.id]).get(station.id),
        on_duty=on_duty_by_station([station.id]).get(station.id, []),
        inspections=inspections,
        schedule=station_schedule(station, local_today()),
        may_edit=may_edit,
        may_see_funds=can(current_user, Action.VIEW, station.unit),
        may_inspect=may_edit and bool(_inspecting_units(station)),
        manager_form=ManagerForm() if may_edit else None,
        award_form=_award_form(station) if may_edit else None,
        close_form=_close_form(station) if may_edit else None,
        public_page=station.status in PUBLIC_STATUSES,
        sessions_awaiting=count_awaiting(station.id) if may_record else None,
    )


def _awarding_units(station: Station) -> list[Unit]:
    """The station's unit and the units above it: those that may award it a label."""
    return list(
        db.session.scalars(
            select(Unit).where(Unit.id.in_(station.unit.ancestor_ids)).order_by(Unit.path.desc())
        )
    )


def _award_form(station: Station) -> LabelAwardForm:
    form = LabelAwardForm()
    held = {award.label_id for award in station.label_awards}
    labels = db.session.scalars(select(Label).order_by(Label.position, Label.id))
    form.label.choices = [(label.id, label.name) for label in labels if label.id not in held]
    form.awarded_by.choices = unit_choices(_awarding_units(station))
    if request.method == "GET":
        form.year.data = unit_today(station.unit).year
        form.awarded_by.data = station.unit_id
    return form


def _close_form(station: Station) -> CloseStationForm | None:
    """The close action, for a station that has opened and is not closed yet."""
    if not station.status.has_opened or station.status is StationStatus.CLOSED:
        return None
    form = CloseStationForm()
    if request.method == "GET":
        form.closed_on.data = unit_today(station.unit)
    return form


def _editable_units() -> list[Unit]:
    return units_in_reach(current_user, Action.EDIT)


def _fields_from(form: StationForm, unit: Unit) -> StationFields:
    """The form's values as checked fields; StationError for a partner the unit cannot name."""
    point = None
    if form.latitude.data is not None:
        point = Point(form.latitude.data, form.longitude.data)
    return StationFields(
        code=form.code.data.strip(),
        name=form.name.data.strip(),
        unit=unit,
        address=(form.address.data or "").strip(),
        point=point,
        coord_system=CoordSystem(form.coord_system.data),
        hours=check_hours(form.opening_hours.data, form.open_24h.data),
        amenities=[Amenity(a) for a in form.amenities.data or []],
        partners=find_partners(unit, _partner_text(form.partners.data)),
        host_type=db.session.get(HostType, form.host_type.data),
        services=(form.services.data or "").strip(),
        phone=(form.phone.data or "").strip(),
        lifecycle=Lifecycle(
            StationStatus(form.status.data),
            form.opened_on.data,
            form.closed_on.data,
            form.closure_reason.data or "",
        ),
    )


def _partner_text(data) -> str:
    """The partners field's text; the stored partners when the form did not send the field."""
    if isinstance(data, str):
        return data
    return "、".join(partner.name for partner in data or [])


def _code_taken(code: str, station: Station | None) -> bool:
    other = db.session.scalar(select(Station.id).where(Station.code == code))
    return other is not None and (station is None or other != station.id)


def _station_form(station: Station | None):
    """Create or edit: the same form, the same rules, one commit."""
    units = _editable_units()
    if not units:
        abort(404)
    form = StationForm(obj=station)
    form.unit.choices = unit_choices(units)
    host_types = list(db.session.scalars(select(HostType).order_by(HostType.position, HostType.id)))
    form.host_type.choices = [(h.id, h.name) for h in host_types]
    if request.method == "GET" and station is not None:
        shown = station.location_in(station.coord_system)
        form.latitude.data = round(shown.latitude, 6) if shown else None
        form.longitude.data = round(shown.longitude, 6) if shown else None
        form.coord_system.data = station.coord_system.value
        form.amenities.data = [a.value for a in station.amenities]
        form.status.data = station.status.value
        form.unit.data = station.unit_id
        form.host_type.data = station.host_type_id
        form.partners.data = station.partner_names
    elif request.method == "GET":
        if "unit" in request.args:
            form.unit.data = request.args.get("unit", type=int)
        form.host_type.data = next((h.id for h in host_types if h.code == OTHER_HOST_TYPE), None)
        form.status.data = StationStatus.ACTIVE.value
        form.opened_on.data = local_today()
    if form.validate_on_submit():
        unit = next(u for u in units if u.id == form.unit.data)
        if _code_taken(form.code.data.strip(), station):
            form.code.errors.append(_("Another station already has this code."))
        else:
            try:
                station = save_station(_fields_from(form, unit), station)
                set_checkin_capacity(station, form.checkins_per_minute.data)
            except (StationError, AttendanceError) as error:
                db.session.rollback()
                show_error(form, error.message, error.field)
            else:
                db.session.commit()
                flash(_("Station %(name)s saved.", name=station.name), "success")
                return redirect(url_for("stations.show", station_id=station.id))
    return render_template(
        "stations/form.html",
        form=form,
        station=station,
        default_capacity=current_app.config["CHECKIN_CAPACITY_PER_MINUTE"],
    )


@bp.route("/new", methods=["GET", "POST"])
@login_required
def new():
    """Register a station under a unit the user may edit."""
    return _station_form(None)


@bp.route("/<int:station_id>/edit", methods=["GET", "POST"])
@login_required
def edit(station_id: int):
    """Change a station's profile."""
    return _station_form(get_or_404(current_user, Action.EDIT, Station, station_id))


@bp.post("/<int:station_id>/managers")
@login_required
def add_manager_view(station_id: int):
    """Make an existing account a manager of this station."""
    station = get_or_404(current_user, Action.EDIT, Station, station_id)
    form = ManagerForm()
    if form.validate_on_submit():
        try:
            user = add_manager(station, form.username.data)
        except StationError as error:
            db.session.rollback()
            flash(str(error.message), "error")
        else:
            db.session.commit()
            flash(_("%(name)s now manages this station.", name=user.username), "success")
    else:
        flash(_("Give the user name of an existing account."), "error")
    return redirect(url_for("stations.show", station_id=station.id) + "#managers")


@bp.post("/<int:station_id>/managers/<int:user_id>/remove")
@login_required
def remove_manager_view(station_id: int, user_id: int):
    """Take away one account's management of this station."""
    station = get_or_404(current_user, Action.EDIT, Station, station_id)
    remove_manager(station, user_id)
    db.session.commit()
    flash(_("Manager removed."), "success")
    return redirect(url_for("stations.show", station_id=station.id) + "#managers")


@bp.post("/<int:station_id>/close")
@login_required
def close_view(station_id: int):
    """Close the station on a day, for a reason (the exit mechanism)."""
    station = get_or_404(current_user, Action.EDIT, Station, station_id)
    form = CloseStationForm()
    if not form.validate_on_submit():
        flash(_("Give the day the station closed and the reason."), "error")
        return redirect(url_for("stations.show", station_id=station.id) + "#lifecycle")
    try:
        close_station(station, form.closed_on.data, form.closure_reason.data)
    except StationError as error:
        db.session.rollback()
        flash(str(error.message), "error")
        return redirect(url_for("stations.show", station_id=station.id) + "#lifecycle")
    db.session.commit()
    flash(_("Station %(name)s closed.", name=station.name), "success")
    return redirect(url_for("stations.show", station_id=station.id))


@bp.post("/<int:station_id>/labels")
@login_required
def award_label_view(station_id: int):
    """Award a label to the station, by its unit or a unit above it."""
    station = get_or_404(current_user, Action.EDIT, Station, station_id)
    form = _award_form(station)
    back = url_for("stations.show", station_id=station.id) + "#labels"
    if not form.validate_on_submit():
        flash(_("Choose a label, the year and the awarding unit."), "error")
        return redirect(back)
    label = db.session.get(Label, form.label.data)
    awarded_by = db.session.get(Unit, form.awarded_by.data or 0)
    if awarded_by is None:
        flash(_("Choose the awarding unit from the list."), "error")
        return redirect(back)
    try:
        award_label(station, label, form.year.data, awarded_by)
    except StationError as error:
        db.session.rollback()
        flash(str(error.message), "error")
        return redirect(back)
    db.session.commit()
    flash(_("Label %(label)s awarded.", label=label.name), "success")
    return redirect(back)


@bp.post("/<int:station_id>/labels/<int:award_id>/withdraw")
@login_required
def withdraw_label_view(station_id: int, award_id: int):
    """Take a label away from the station."""
    station = get_or_404(current_user, Action.EDIT, Station, station_id)
    if withdraw_label(station, award_id) is None:
        flash(_("The station does not hold that label (any more)."), "warning")
    else:
        db.session.commit()
        flash(_("Label withdrawn."), "success")
    return redirect(url_for("stations.show", station_id=station.id) + "#labels")


def _inspecting_units(station: Station) -> list[Unit]:
    """The units above the station (or its own) that the user may inspect for."""
    return list(
        db.session.scalars(
            select(Unit)
            .where(
                Unit.id.in_(station.unit.ancestor_ids),
                visible(current_user, Action.EDIT, Unit),
            )
            .order_by(Unit.path)
        )
    )


@bp.route("/<int:station_id>/inspections/new", methods=["GET", "POST"])
@login_required
def inspect(station_id: int):
    """Record an inspection of the station by one of the units above it."""
    station = get_or_404(current_user, Action.EDIT, Station, station_id)
    units = _inspecting_units(station)
    if not units:
        abort(404)
    form = InspectionForm()
    form.unit.choices = unit_choices(units)
    if request.method == "GET":
        form.inspected_on.data = local_today()
        form.unit.data = units[0].id
    if form.validate_on_submit():
        record_inspection(
            station,
            next(u for u in units if u.id == form.unit.data),
            form.inspected_on.data,
            {CheckItem(v) for v in form.met.data or []},
            InspectionResult(form.result.data),
            form.notes.data or "",
            inspector=current_user,
        )
        db.session.commit()
        flash(_("Inspection recorded."), "success")
        return redirect(url_for("stations.show", station_id=station.id) + "#inspections")
    return render_template("stations/inspect.html", form=form, station=station)


@bp.get("/inspections/overdue")
@login_required
def overdue_list():
    """Stations overdue for inspection under a unit, per inspecting level."""
    if "unit" in request.args:
        root = get_or_404(current_user, Action.VIEW, Unit, request.args.get("unit", type=int))
    else:
        tops = top_units(current_user, Action.VIEW)
        if not tops:
            abort(404)
        root = tops[0]
    counts, rows = overdue(root, local_today())
    return render_template(
        "stations/overdue.html",
        root=root,
        counts=counts,
        rows=rows,
        cadences=cadences(),
        may_set=reach(current_user, Action.EDIT).everything,
    )


@bp.route("/inspections/cadence", methods=["GET", "POST"])
@login_required
def cadence():
    """How often each level inspects (administrators only: the rule is province-wide)."""
    if not reach(current_user, Action.EDIT).everything:
        abort(404)
    form = cadence_form(cadences())
    if form.validate_on_submit():
        set_cadences({level: getattr(form, level.value).data for level in Level})
        db.session.commit()
        flash(_("Inspection cadence saved."), "success")
        return redirect(url_for("stations.overdue_list"))
    return render_template("stations/cadence.html", form=form)


@bp.get("/<int:station_id>/poster.pdf")
@login_required
def poster(station_id: int):
    """The station's A4 QR poster."""
    station = get_or_404(
        current_user, Action.VIEW, Station, station_id, selectinload(Station.amenity_rows)
    )
    if station.status is StationStatus.CLOSED:
        flash(_("A closed station gets no poster."), "warning")
        return redirect(url_for("stations.show", station_id=station.id))
    if station.status not in PUBLIC_STATUSES:
        flash(_("A station that has not opened yet gets no poster."), "warning")
        return redirect(url_for("stations.show", station_id=station.id))
    return pdf_response(render_posters([station]), f"poster-{station.code}.pdf")
