"""Keeping volunteer teams, their members and the sessions they serve.

Each verb checks every value before it writes any, flushes and returns; the caller commits. A
refusal raises VolunteerError with a Refusal code and a message for people, and nothing is
written. Who may call a verb is the views' question: the keepers of the team's unit (the
access rule's EDIT) keep the team and its members and log sessions; whoever may record at the
session's station, or edit its activity, confirms or rejects it (`may_decide`).

A volunteer's sessions never overlap: logging takes a write lock on the volunteer's row (an
UPDATE, which is a row lock on PostgreSQL and SQLite's one write lock) before it looks for an
overlapping session, so two overlapping logs sent at once leave one.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum

from flask_babel import lazy_gettext as _l
from sqlalchemy import select, update

from inclusive_day.access.rule import Action, can
from inclusive_day.activities.models import Activity
from inclusive_day.attendance.identity import InvalidPhone, person_for
from inclusive_day.database import utcnow
from inclusive_day.extensions import db
from inclusive_day.points.earning import award_session
from inclusive_day.refusals import Refused
from inclusive_day.sponsors.models import Sponsor, SponsorKind
from inclusive_day.stations.models import Partner, Station
from inclusive_day.units.models import Unit
from inclusive_day.volunteers.models import (
    SessionStatus,
    Skill,
    Volunteer,
    VolunteerSession,
    VolunteerTeam,
)

MAX_TEAM_NAME = 120
MAX_DESCRIPTION = 1000
MAX_NAME = 60
MAX_CONTACT = 60
MAX_PHONE = 32
MAX_NOTE = 300
MAX_REASON = 300
# A session longer than this is a typing slip (a day for a night), not a session.
MAX_SESSION = timedelta(hours=16)
# People served at one session outside an activity: more is a typing slip.
MAX_SERVED = 10_000


class Refusal(StrEnum):
    """Why a team, member or session change was refused."""

    BAD_NAME = "bad_name"
    NAME_TAKEN = "name_taken"
    BAD_TEXT = "bad_text"
    BAD_SPONSOR = "bad_sponsor"
    BAD_PARTNER = "bad_partner"
    BAD_PHONE = "bad_phone"
    BAD_SKILL = "bad_skill"
    ALREADY_MEMBER = "already_member"
    ALREADY_LEFT = "already_left"
    BAD_DAY = "bad_day"
    NOT_A_MEMBER = "not_a_member"
    BAD_TIMES = "bad_times"
    TOO_LONG = "too_long"
    IN_FUTURE = "in_future"
    OVERLAP = "overlap"
    WRONG_STATION = "wrong_station"
    BAD_SERVED = "bad_served"
    CONFIRMED = "confirmed"
    ALREADY_DECIDED = "already_decided"
    BAD_REASON = "bad_reason"


class VolunteerError(Refused):
    """A team, member or session change that cannot be made; its code is a Refusal."""


# ---- checks ---------------------------------------------------------------------------------


def _text(value: str | None, limit: int, field: str, required=None) -> str:
    """Stripped text of at most `limit` characters; `required` is the message when empty."""
    value = (value or "").strip()
    if required is not None and not value:
        raise VolunteerError(required, Refusal.BAD_NAME, field)
    if len(value) > limit:
        code = Refusal.BAD_NAME if required is not None else Refusal.BAD_TEXT
        raise VolunteerError(_l("At most %(n)d characters.", n=limit), code, field)
    return value


def check_skills(values: Iterable[str | Skill]) -> str:
    """Skill values as stored: known ones only, in Skill's order, separated by commas."""
    wanted = {str(getattr(v, "value", v)) for v in values}
    known = {s.value for s in Skill}
    if wanted - known:
        raise VolunteerError(_l("Choose skills from the list."), Refusal.BAD_SKILL, "skills")
    return ",".join(s.value for s in Skill if s.value in wanted)


def _check_sponsor(sponsor: Sponsor | None, team: VolunteerTeam | None) -> Sponsor | None:
    """A sponsor the team is: one of kind volunteer team, not linked to another team."""
    if sponsor is None:
        return None
    if sponsor.kind is not SponsorKind.VOLUNTEER_TEAM:
        raise VolunteerError(
            _l("Only a sponsor of the kind volunteer team can be linked to a team."),
            Refusal.BAD_SPONSOR,
            "sponsor",
        )
    other = db.session.scalar(
        select(VolunteerTeam.id).where(
            VolunteerTeam.sponsor_id == sponsor.id,
            VolunteerTeam.id != (team.id if team is not None and team.id else -1),
        )
    )
    if other is not None:
        raise VolunteerError(
            _l("This sponsor is already linked to another team."), Refusal.BAD_SPONSOR, "sponsor"
        )
    return sponsor


def _check_partner(partner: Partner | None, team: VolunteerTeam | None) -> Partner | None:
    """A co-building partner the team is, not linked to another team."""
    if partner is None:
        return None
    other = db.session.scalar(
        select(VolunteerTeam.id).where(
            VolunteerTeam.partner_id == partner.id,
            VolunteerTeam.id != (team.id if team is not None and team.id else -1),
        )
    )
    if other is not None:
        raise VolunteerError(
            _l("This partner is already linked to another team."), Refusal.BAD_PARTNER, "partner"
        )
    return partner


def _identity(phone: str | None) -> tuple[str, int] | None:
    """The keyed identity and person key of a mobile number (None when none is given)."""
    phone = (phone or "").strip()
    if not phone:
        return None
    try:
        person = person_for(phone)
    except InvalidPhone:
        raise VolunteerError(
            _l('"%(value)s" is not a mainland mobile number.', value=phone),
            Refusal.BAD_PHONE,
            "mobile",
        ) from None
    return person.identity, person.key


# ---- teams ----------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class TeamFields:
    """What a team's keepers say about it."""

    name: str
    description: str = ""
    leader_name: str = ""
    leader_phone: str = ""
    sponsor: Sponsor | None = None
    partner: Partner | None = None


def save_team(team: VolunteerTeam | None, unit: Unit, fields: TeamFields) -> VolunteerTeam:
    """Create a team kept by `unit`, or change one; its name is unique within the unit."""
    name = _text(fields.name, MAX_TEAM_NAME, "name", _l("Give the team's name."))
    description = _text(fields.description, MAX_DESCRIPTION, "description")
    leader_name = _text(fields.leader_name, MAX_NAME, "leader_name")
    leader_phone = _text(fields.leader_phone, MAX_PHONE, "leader_phone")
    sponsor = _check_sponsor(fields.sponsor, team)
    partner = _check_partner(fields.partner, team)
    taken = db.session.scalar(
        select(VolunteerTeam.id).where(
            VolunteerTeam.unit_id == unit.id,
            VolunteerTeam.name == name,
            VolunteerTeam.id != (team.id if team is not None else -1),
        )
    )
    if taken is not None:
        raise VolunteerError(
            _l("The unit already keeps a team of this name."), Refusal.NAME_TAKEN, "name"
        )
    if team is None:
        team = VolunteerTeam(unit_id=unit.id)
        db.session.add(team)
    team.name, team.description = name, description
    team.leader_name, team.leader_phone = leader_name, leader_phone
    team.sponsor_id = sponsor.id if sponsor is not None else None
    team.partner_id = partner.id if partner is not None else None
    db.session.flush()
    return team


# ---- members --------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class MemberFields:
    """A member as their team keeps them. `mobile`, when given, is turned into the keyed
    identity and never stored; left empty, an identity already kept stays."""

    name: str
    contact: str = ""
    skills: tuple[str, ...] = ()
    mobile: str = ""
    joined_on: date | None = None


def save_member(
    team: VolunteerTeam, volunteer: Volunteer | None, fields: MemberFields
) -> Volunteer:
    """Add a member to `team` or change one; an active member of the same name is refused
    (the same form sent twice adds one)."""
    name = _text(fields.name, MAX_NAME, "name", _l("Give the volunteer's name."))
    contact = _text(fields.contact, MAX_CONTACT, "contact")
    skills = check_skills(fields.skills)
    identity = _identity(fields.mobile)
    same = db.session.scalar(
        select(Volunteer.id).where(
            Volunteer.team_id == team.id,
            Volunteer.name == name,
            Volunteer.left_on.is_(None),
            Volunteer.id != (volunteer.id if volunteer is not None else -1),
        )
    )
    if same is not None:
        raise VolunteerError(
            _l("%(name)s is already a member of this team.", name=name),
            Refusal.ALREADY_MEMBER,
            "name",
        )
    if volunteer is None:
        volunteer = Volunteer(team_id=team.id, joined_on=fields.joined_on)
        db.session.add(volunteer)
    elif volunteer.team_id != team.id:
        raise VolunteerError(_l("Not a member of this team."), Refusal.NOT_A_MEMBER)
    elif fields.joined_on is not None:
        volunteer.joined_on = fields.joined_on
    volunteer.name, volunteer.contact, volunteer.skills = name, contact, skills
    if identity is not None:
        volunteer.identity, volunteer.person_key = identity
    db.session.flush()
    return volunteer


def leave_team(volunteer: Volunteer, on: date, today: date) -> Volunteer:
    """A member leaves the team on a day (not in the future); their hours stay counted."""
    if volunteer.left_on is not None:
        raise VolunteerError(_l("This member has already left."), Refusal.ALREADY_LEFT)
    if on is None or on > today or (volunteer.joined_on is not None and on < volunteer.joined_on):
        raise VolunteerError(
            _l("The day they left is not in the future, nor before they joined."),
            Refusal.BAD_DAY,
            "left_on",
        )
    volunteer.left_on = on
    db.session.flush()
    return volunteer


# ---- sessions -------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class SessionFields:
    """One session as logged: where, at what, doing what, from when to when."""

    station: Station
    skill: Skill | str
    starts_at: datetime
    ends_at: datetime
    activity: Activity | None = None
    served: int | None = None
    note: str = ""


@dataclass(frozen=True)
class _Checked:
    station_id: int
    activity_id: int | None
    skill: Skill
    starts_at: datetime
    ends_at: datetime
    minutes: int
    served: int | None
    note: str


def _check_session(fields: SessionFields, now: datetime) -> _Checked:
    """Every rule a session's values keep on their own (overlap is checked under the lock)."""
    try:
        skill = Skill(getattr(fields.skill, "value", fields.skill))
    except ValueError:
        raise VolunteerError(
            _l("Choose a skill from the list."), Refusal.BAD_SKILL, "skill"
        ) from None
    start, end = fields.starts_at, fields.ends_at
    if start is None or end is None:
        raise VolunteerError(_l("Give the start and the end."), Refusal.BAD_TIMES, "starts_at")
    if end <= start:
        raise VolunteerError(
            _l("The session must end after it starts."), Refusal.BAD_TIMES, "ends_at"
        )
    if end - start > MAX_SESSION:
        raise VolunteerError(
            _l("A session lasts at most %(hours)d hours.", hours=16), Refusal.TOO_LONG, "ends_at"
        )
    if start > now:
        raise VolunteerError(
            _l("A session cannot start in the future."), Refusal.IN_FUTURE, "starts_at"
        )
    activity = fields.activity
    if activity is not None and activity.station_id != fields.station.id:
        raise VolunteerError(
            _l("That activity is at another station."), Refusal.WRONG_STATION, "activity"
        )
    served = fields.served
    if activity is not None:
        served = None  # an activity's served is its own headcount and check-ins
    elif served is not None and not 0 <= served <= MAX_SERVED:
        raise VolunteerError(
            _l("People served are from 0 to %(max)d.", max=MAX_SERVED), Refusal.BAD_SERVED, "served"
        )
    note = _text(fields.note, MAX_NOTE, "note")
    minutes = max(1, round((end - start).total_seconds() / 60))
    return _Checked(
        fields.station.id,
        activity.id if activity is not None else None,
        skill,
        start,
        end,
        minutes,
        served,
        note,
    )


def _lock(volunteer: Volunteer) -> None:
    """Hold the volunteer's row for this transaction: a second log for them waits here until
    the first commits, then sees its session."""
    db.session.execute(
        update(Volunteer)
        .where(Volunteer.id == volunteer.id)
        .values(team_id=Volunteer.team_id)
        .execution_options(synchronize_session=False)
    )


def _check_overlap(volunteer_id: int, start: datetime, end: datetime, session_id=None) -> None:
    """Refuse a session that overlaps another of the volunteer's that is not rejected."""
    clash = db.session.scalar(
        select(VolunteerSession.id).where(
            VolunteerSession.volunteer_id == volunteer_id,
            VolunteerSession.status != SessionStatus.REJECTED,
            VolunteerSession.starts_at < end,
            VolunteerSession.ends_at > start,
            VolunteerSession.id != (session_id if session_id is not None else -1),
        )
    )
    if clash is not None:
        raise VolunteerError(
            _l("This volunteer already logged a session at that time."),
            Refusal.OVERLAP,
            "starts_at",
        )


def log_session(
    volunteer: Volunteer, fields: SessionFields, user, now: datetime | None = None
) -> VolunteerSession:
    """Log a member's session, awaiting confirmation by the station or the activity's
    organiser."""
    checked = _check_session(fields, now or utcnow())
    if volunteer.left_on is not None:
        raise VolunteerError(_l("This member has left the team."), Refusal.ALREADY_LEFT)
    _lock(volunteer)
    _check_overlap(volunteer.id, checked.starts_at, checked.ends_at)
    session = VolunteerSession(
        volunteer_id=volunteer.id,
        team_id=volunteer.team_id,
        status=SessionStatus.LOGGED,
        logged_by_id=getattr(user, "id", None),
        **asdict(checked),
    )
    db.session.add(session)
    db.session.flush()
    return session


def edit_session(
    session: VolunteerSession, fields: SessionFields, now: datetime | None = None
) -> VolunteerSession:
    """Correct a session not yet confirmed; a rejected one goes back for confirmation."""
    if session.status is SessionStatus.CONFIRMED:
        raise VolunteerError(_l("A confirmed session cannot be changed."), Refusal.CONFIRMED)
    checked = _check_session(fields, now or utcnow())
    _lock(session.volunteer)
    _check_overlap(session.volunteer_id, checked.starts_at, checked.ends_at, session.id)
    for name, value in asdict(checked).items():
        setattr(session, name, value)
    session.status, session.rejected_reason = SessionStatus.LOGGED, ""
    session.confirmed_by_id = session.confirmed_at = None
    db.session.flush()
    return session


def may_decide(user, session: VolunteerSession) -> bool:
    """Whoever may record at the session's station, or edit its activity, confirms it."""
    station = db.session.get(Station, session.station_id)
    if station is not None and can(user, Action.RECORD, station):
        return True
    activity = db.session.get(Activity, session.activity_id) if session.activity_id else None
    return activity is not None and can(user, Action.EDIT, activity)


def _undecided(session: VolunteerSession) -> None:
    if session.status is not SessionStatus.LOGGED:
        raise VolunteerError(
            _l("This session was already %(status)s.", status=session.status.label),
            Refusal.ALREADY_DECIDED,
        )


def confirm_session(session: VolunteerSession, user, now: datetime | None = None):
    """Confirm a logged session: its hours count, and earn the volunteer points by the rule at
    the station's unit, in the same transaction."""
    _undecided(session)
    session.status = SessionStatus.CONFIRMED
    session.confirmed_by_id = getattr(user, "id", None)
    session.confirmed_at = now or utcnow()
    db.session.flush()
    return award_session(session)


def reject_session(session: VolunteerSession, user, reason: str, now=None) -> VolunteerSession:
    """Reject a logged session, saying why; its hours do not count."""
    _undecided(session)
    reason = (reason or "").strip()
    if not reason:
        raise VolunteerError(_l("Say why the session is rejected."), Refusal.BAD_REASON, "reason")
    if len(reason) > MAX_REASON:
        raise VolunteerError(
            _l("At most %(n)d characters.", n=MAX_REASON), Refusal.BAD_REASON, "reason"
        )
    session.status, session.rejected_reason = SessionStatus.REJECTED, reason
    session.confirmed_by_id = getattr(user, "id", None)
    session.confirmed_at = now or utcnow()
    db.session.flush()
    return session
