"""Volunteer pages: the teams in sight with their hours, a team with its members, hours and
sessions, a member with their certificate of service hours, the forms that keep them and log
sessions, and a station's sessions awaiting confirmation.

Who sees what is the access rule on the team (VolunteerTeam) and the session
(VolunteerSession): those who may view a team see its page, those who may edit it keep it,
its members (and see their contacts) and log its sessions; whoever may record at a session's
station, or edit its activity, confirms or rejects it. Every page needs a sign-in.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from inclusive_day.access.rule import Action, can, get_or_404, visible
from inclusive_day.activities.models import Activity
from inclusive_day.database import utcnow
from inclusive_day.extensions import db
from inclusive_day.periods import DEFAULT_ZONE, zone_of
from inclusive_day.sponsors.models import Sponsor, SponsorKind
from inclusive_day.stations.models import Partner, Station
from inclusive_day.units.models import Unit
from inclusive_day.units.queries import units_in_reach
from inclusive_day.volunteers import bp
from inclusive_day.volunteers.certificate import certificate_data, certificate_pdf
from inclusive_day.volunteers.forms import (
    DecideForm,
    LeaveForm,
    MemberForm,
    SessionForm,
    TeamForm,
)
from inclusive_day.volunteers.models import (
    SessionStatus,
    Volunteer,
    VolunteerSession,
    VolunteerTeam,
)
from inclusive_day.volunteers.queries import (
    awaiting,
    member_minutes,
    members_of,
    service,
    sessions_of,
    visible_teams,
)
from inclusive_day.volunteers.services import (
    MemberFields,
    SessionFields,
    TeamFields,
    VolunteerError,
    confirm_session,
    edit_session,
    leave_team,
    log_session,
    may_decide,
    reject_session,
    save_member,
    save_team,
)
from inclusive_day.web import pdf_response, show_error

# How many stations and recent activities a session form offers.
CHOICES_LIMIT = 300
# How far back the session form offers activities.
ACTIVITY_DAYS = 120


# ---- looking things up ----------------------------------------------------------------------


def _team(team_id: int, action: Action = Action.VIEW) -> VolunteerTeam:
    """The team if the user may `action` it, with its unit, else 404."""
    return get_or_404(current_user, action, VolunteerTeam, team_id, joinedload(VolunteerTeam.unit))


def _member(volunteer_id: int, action: Action = Action.VIEW) -> tuple[Volunteer, VolunteerTeam]:
    """The member and their team if the user may `action` the team, else 404."""
    volunteer = db.session.get(Volunteer, volunteer_id)
    if volunteer is None:
        abort(404)
    return volunteer, _team(volunteer.team_id, action)


def _session(session_id: int) -> VolunteerSession:
    """A session the user may see, else 404."""
    return get_or_404(current_user, Action.VIEW, VolunteerSession, session_id)


# ---- teams ----------------------------------------------------------------------------------


@bp.get("/")
@login_required
def index():
    """The teams in the user's sight, with their confirmed hours and current members."""
    return render_template(
        "volunteers/index.html",
        rows=visible_teams(current_user),
        may_add=bool(units_in_reach(current_user, Action.EDIT)),
    )


def _team_choices(form: TeamForm, team: VolunteerTeam | None) -> None:
    """The units the user may edit, and the sponsors (volunteer teams) and partners in sight."""
    form.unit.choices = [(u.id, u.name) for u in units_in_reach(current_user, Action.EDIT)]
    if team is not None and team.unit_id not in {c[0] for c in form.unit.choices}:
        abort(404)
    sponsors = db.session.scalars(
        select(Sponsor)
        .where(
            visible(current_user, Action.VIEW, Sponsor),
            Sponsor.kind == SponsorKind.VOLUNTEER_TEAM,
        )
        .order_by(Sponsor.name)
    )
    partners = db.session.scalars(
        select(Partner).where(visible(current_user, Action.VIEW, Partner)).order_by(Partner.name)
    )
    form.sponsor.choices = [(0, "—")] + [(s.id, s.name) for s in sponsors]
    form.partner.choices = [(0, "—")] + [(p.id, p.name) for p in partners]


def _team_form(team: VolunteerTeam | None):
    """Create or edit a team; GET shows the form, POST saves it and goes to the team."""
    form = TeamForm(obj=team)
    _team_choices(form, team)
    if request.method == "GET" and team is not None:
        form.sponsor.data, form.partner.data = team.sponsor_id or 0, team.partner_id or 0
    if form.validate_on_submit():
        unit = db.session.get(Unit, form.unit.data)
        fields = TeamFields(
            name=form.name.data,
            description=form.description.data,
            leader_name=form.leader_name.data,
            leader_phone=form.leader_phone.data,
            sponsor=db.session.get(Sponsor, form.sponsor.data) if form.sponsor.data else None,
            partner=db.session.get(Partner, form.partner.data) if form.partner.data else None,
        )
        try:
            saved = save_team(team, unit, fields)
        except VolunteerError as error:
            db.session.rollback()
            show_error(form, error.message, error.field)
        else:
            team_id = saved.id
            db.session.commit()
            flash(_("The team is saved."), "success")
            return redirect(url_for("volunteers.team", team_id=team_id))
    status = 422 if request.method == "POST" else 200
    return render_template("volunteers/team_form.html", form=form, team=team), status


@bp.route("/teams/new", methods=["GET", "POST"])
@login_required
def new_team():
    """A new team, kept by a unit the user may edit."""
    if not units_in_reach(current_user, Action.EDIT):
        abort(404)
    return _team_form(None)


@bp.route("/teams/<int:team_id>/edit", methods=["GET", "POST"])
@login_required
def edit_team(team_id: int):
    """Change a team's name, description, leader and links."""
    return _team_form(_team(team_id, Action.EDIT))


@bp.get("/teams/<int:team_id>")
@login_required
def team(team_id: int):
    """A team: members with skills and hours, confirmed hours in all and by month, the
    stations it served, the people served at its sessions, and its latest sessions."""
    team = _team(team_id)
    return render_template(
        "volunteers/team.html",
        team=team,
        members=members_of(team.id),
        minutes=member_minutes(team.id),
        served=service(VolunteerSession.team_id == team.id, zone=zone_of(team.unit.timezone)),
        sessions=sessions_of(VolunteerSession.team_id == team.id),
        may_edit=can(current_user, Action.EDIT, team),
        zone=zone_of(team.unit.timezone),
    )


# ---- members --------------------------------------------------------------------------------


def _member_form(team: VolunteerTeam, volunteer: Volunteer | None):
    """Add or edit a member; GET shows the form, POST saves it and goes to the member."""
    form = MemberForm(obj=volunteer)
    if request.method == "GET":
        form.mobile.data = ""
        if volunteer is not None:
            form.skills.data = [s.value for s in volunteer.skill_list]
    if form.validate_on_submit():
        fields = MemberFields(
            name=form.name.data,
            contact=form.contact.data,
            skills=tuple(form.skills.data or ()),
            mobile=form.mobile.data,
            joined_on=form.joined_on.data,
        )
        try:
            saved = save_member(team, volunteer, fields)
        except VolunteerError as error:
            db.session.rollback()
            show_error(form, error.message, error.field)
        else:
            volunteer_id = saved.id
            db.session.commit()
            flash(_("The member is saved."), "success")
            return redirect(url_for("volunteers.member", volunteer_id=volunteer_id))
    status = 422 if request.method == "POST" else 200
    return render_template(
        "volunteers/member_form.html", form=form, team=team, volunteer=volunteer
    ), status


@bp.route("/teams/<int:team_id>/members/new", methods=["GET", "POST"])
@login_required
def new_member(team_id: int):
    """Add a member to a team."""
    return _member_form(_team(team_id, Action.EDIT), None)


@bp.route("/members/<int:volunteer_id>/edit", methods=["GET", "POST"])
@login_required
def edit_member(volunteer_id: int):
    """Change a member's name, contact, skills or mobile for points."""
    volunteer, team = _member(volunteer_id, Action.EDIT)
    return _member_form(team, volunteer)


@bp.get("/members/<int:volunteer_id>")
@login_required
def member(volunteer_id: int):
    """A member: skills, confirmed hours by month and station, sessions, the certificate."""
    volunteer, team = _member(volunteer_id)
    may_edit = can(current_user, Action.EDIT, team)
    zone = zone_of(team.unit.timezone)
    leave_form = LeaveForm() if may_edit and volunteer.left_on is None else None
    if leave_form is not None:
        leave_form.left_on.data = utcnow().astimezone(zone).date()
    return render_template(
        "volunteers/member.html",
        volunteer=volunteer,
        team=team,
        served=service(VolunteerSession.volunteer_id == volunteer.id, zone=zone),
        sessions=sessions_of(VolunteerSession.volunteer_id == volunteer.id),
        may_edit=may_edit,
        leave_form=leave_form,
        zone=zone,
    )


@bp.post("/members/<int:volunteer_id>/leave")
@login_required
def leave(volunteer_id: int):
    """A member leaves the team; their confirmed hours stay."""
    volunteer, team = _member(volunteer_id, Action.EDIT)
    form = LeaveForm()
    if form.validate_on_submit():
        today = utcnow().astimezone(zone_of(team.unit.timezone)).date()
        try:
            leave_team(volunteer, form.left_on.data, today)
        except VolunteerError as error:
            db.session.rollback()
            flash(str(error.message), "danger")
        else:
            db.session.commit()
            flash(_("The member has left the team."), "success")
    else:
        flash(_("Give the day they left as a date."), "danger")
    return redirect(url_for("volunteers.member", volunteer_id=volunteer_id))


@bp.get("/members/<int:volunteer_id>/certificate.pdf")
@login_required
def certificate(volunteer_id: int):
    """The member's certificate of confirmed service hours, in Chinese and English."""
    volunteer, team = _member(volunteer_id)
    data = certificate_data(volunteer, team, utcnow())
    return pdf_response(certificate_pdf(data), f"volunteer-hours-{data['number']}.pdf")


# ---- sessions -------------------------------------------------------------------------------


def _session_choices(form: SessionForm, team: VolunteerTeam) -> None:
    """The team's current members, the stations in sight under the team's unit, and their
    recent activities."""
    form.volunteer.choices = [(v.id, v.name) for v in members_of(team.id) if v.left_on is None]
    stations = list(
        db.session.scalars(
            select(Station)
            .where(Station.under(team.unit.path), visible(current_user, Action.VIEW, Station))
            .order_by(Station.name)
            .limit(CHOICES_LIMIT)
        )
    )
    form.station.choices = [(s.id, s.name) for s in stations]
    since = utcnow() - timedelta(days=ACTIVITY_DAYS)
    activities = db.session.scalars(
        select(Activity)
        .where(
            Activity.station_id.in_([s.id for s in stations]),
            Activity.starts_at >= since,
            Activity.starts_at <= utcnow(),
        )
        .options(joinedload(Activity.station))
        .order_by(Activity.starts_at.desc())
        .limit(CHOICES_LIMIT)
    )
    form.activity.choices = [(0, "—")] + [
        (
            a.id,
            f"{a.starts_at.astimezone(DEFAULT_ZONE):%Y-%m-%d} · {a.station.name} · {a.title}",
        )
        for a in activities
    ]


def _fields(form: SessionForm, zone) -> SessionFields:
    """The session the form describes, its times in the team's zone."""
    station = db.session.get(Station, form.station.data)
    activity = db.session.get(Activity, form.activity.data) if form.activity.data else None
    return SessionFields(
        station=station,
        activity=activity,
        skill=form.skill.data,
        starts_at=datetime.combine(form.day.data, form.starts.data, tzinfo=zone),
        ends_at=datetime.combine(form.day.data, form.ends.data, tzinfo=zone),
        served=form.served.data,
        note=form.note.data or "",
    )


@bp.route("/teams/<int:team_id>/sessions/new", methods=["GET", "POST"])
@login_required
def new_session(team_id: int):
    """Log a member's session at a station (at one of its activities or not)."""
    team = _team(team_id, Action.EDIT)
    form = SessionForm()
    _session_choices(form, team)
    zone = zone_of(team.unit.timezone)
    if request.method == "GET":
        form.volunteer.data = request.args.get("volunteer", type=int)
        form.day.data = utcnow().astimezone(zone).date()
    if form.validate_on_submit():
        volunteer = db.session.get(Volunteer, form.volunteer.data)
        try:
            log_session(volunteer, _fields(form, zone), current_user)
        except VolunteerError as error:
            db.session.rollback()
            show_error(form, error.message, error.field)
        else:
            db.session.commit()
            flash(_("The session is logged; it counts once the station confirms it."), "success")
            return redirect(url_for("volunteers.team", team_id=team.id))
    status = 422 if request.method == "POST" else 200
    return render_template("volunteers/session_form.html", form=form, team=team), status


@bp.route("/sessions/<int:session_id>/edit", methods=["GET", "POST"])
@login_required
def edit(session_id: int):
    """Correct a session not yet confirmed (a rejected one goes back for confirmation)."""
    session = _session(session_id)
    team = _team(session.team_id, Action.EDIT)
    form = SessionForm()
    _session_choices(form, team)
    form.volunteer.choices = [(session.volunteer_id, session.volunteer.name)]
    if session.activity_id and session.activity_id not in {c[0] for c in form.activity.choices}:
        form.activity.choices.append((session.activity_id, session.activity.title))
    zone = zone_of(team.unit.timezone)
    if request.method == "GET":
        local = session.starts_at.astimezone(zone)
        form.volunteer.data, form.station.data = session.volunteer_id, session.station_id
        form.activity.data, form.skill.data = session.activity_id or 0, session.skill.value
        form.day.data, form.starts.data = local.date(), local.time()
        form.ends.data = session.ends_at.astimezone(zone).time()
        form.served.data, form.note.data = session.served, session.note
    if session.status is SessionStatus.CONFIRMED:
        form.form_errors.append(_("A confirmed session cannot be changed."))
    elif form.validate_on_submit():
        try:
            edit_session(session, _fields(form, zone))
        except VolunteerError as error:
            db.session.rollback()
            show_error(form, error.message, error.field)
        else:
            db.session.commit()
            flash(_("The session is changed and awaits confirmation."), "success")
            return redirect(url_for("volunteers.team", team_id=team.id))
    status = 422 if request.method == "POST" else 200
    return render_template(
        "volunteers/session_form.html", form=form, team=team, logged=session
    ), status


@bp.get("/stations/<int:station_id>/sessions")
@login_required
def station_sessions(station_id: int):
    """A station's volunteer sessions awaiting confirmation, each with confirm and reject."""
    station = get_or_404(current_user, Action.RECORD, Station, station_id)
    return render_template(
        "volunteers/station_sessions.html",
        station=station,
        sessions=awaiting(station.id),
        recent=sessions_of(
            VolunteerSession.station_id == station.id,
            VolunteerSession.status != SessionStatus.LOGGED,
            limit=30,
        ),
        form=DecideForm(),
        zone=zone_of(station.unit.timezone),
    )


@bp.post("/sessions/<int:session_id>/decide")
@login_required
def decide(session_id: int):
    """Confirm a session (its hours count and earn points) or reject it, saying why."""
    session = _session(session_id)
    if not may_decide(current_user, session):
        abort(404)
    station_id = session.station_id
    form = DecideForm()
    if not form.validate_on_submit() or not (form.confirm.data or form.reject.data):
        flash(_("Choose confirm or reject."), "danger")
        return redirect(url_for("volunteers.station_sessions", station_id=station_id))
    try:
        if form.reject.data:
            reject_session(session, current_user, form.reason.data)
            message = _("The session is rejected.")
        else:
            confirm_session(session, current_user)
            message = _("The session is confirmed.")
    except VolunteerError as error:
        db.session.rollback()
        flash(str(error.message), "danger")
    else:
        db.session.commit()
        flash(message, "success")
    return redirect(url_for("volunteers.station_sessions", station_id=station_id))
