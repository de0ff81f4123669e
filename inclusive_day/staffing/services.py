"""Running a station's roster and duty: appointing administrators and ending appointments,
their training records, and signing on and off duty.

Each verb checks every value before it writes any, flushes and returns; the caller commits. A
refusal raises StaffingError with a Refusal code for code to read and a message for people,
and nothing is written. Who may call a verb is the views' question: organisers of the
station (the access rule's EDIT) keep its roster; only the administrator's own account signs
them on and off.

A station has at most one current master. Appointing a new one while another is current is
refused unless `replace` is given: then the old master's appointment ends the day before the
new one's first day. The database holds the same rule (a partial unique index), and holds
"one open shift per administrator" against two sign-ons at once.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from enum import StrEnum

from flask_babel import lazy_gettext as _l
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from inclusive_day.auth.models import User
from inclusive_day.auth.services import user_by_name
from inclusive_day.database import utcnow
from inclusive_day.extensions import db
from inclusive_day.periods import zone_of
from inclusive_day.refusals import Refused
from inclusive_day.staffing.models import AdminRole, DutyShift, StationAdmin, Training
from inclusive_day.staffing.queries import masters_by_station
from inclusive_day.stations.models import Station, StationStatus
from inclusive_day.stations.services import StationError, check_phone, unit_today

MAX_NAME = 60
MAX_COURSE = 120
MAX_CERTIFICATE = 60
# A course is counted in hours: more than 200 for one record is a typing slip, not a course.
MAX_HOURS = Decimal("200")
FIRST_DAY = date(2000, 1, 1)


class Refusal(StrEnum):
    """Why a roster, training or duty change was refused."""

    BAD_NAME = "bad_name"
    BAD_PHONE = "bad_phone"
    BAD_SINCE = "bad_since"
    UNKNOWN_ACCOUNT = "unknown_account"
    ALREADY_ADMIN = "already_admin"
    MASTER_TAKEN = "master_taken"
    ALREADY_ENDED = "already_ended"
    BAD_UNTIL = "bad_until"
    BAD_COURSE = "bad_course"
    BAD_TRAINING_DAY = "bad_training_day"
    BAD_HOURS = "bad_hours"
    BAD_CERTIFICATE = "bad_certificate"
    NOT_AN_ADMIN = "not_an_admin"
    ALREADY_ON_DUTY = "already_on_duty"
    STATION_NOT_OPEN = "station_not_open"
    NOT_ON_DUTY = "not_on_duty"


class StaffingError(Refused):
    """A roster, training or duty change that cannot be made; its code is a Refusal."""


# ---- checks ---------------------------------------------------------------------------------


def check_name(name: str | None) -> str:
    """An administrator's name: required, at most 60 characters."""
    name = (name or "").strip()
    if not name:
        raise StaffingError(_l("Give the administrator's name."), Refusal.BAD_NAME, "name")
    if len(name) > MAX_NAME:
        raise StaffingError(_l("At most %(n)d characters.", n=MAX_NAME), Refusal.BAD_NAME, "name")
    return name


def check_contact(phone: str | None) -> str:
    """A contact number written as station phones are (stations.services.check_phone)."""
    try:
        return check_phone(phone)
    except StationError as error:
        raise StaffingError(error.message, Refusal.BAD_PHONE, "phone") from None


def _check_day(day: date | None, today: date, code: Refusal, field: str, what) -> date:
    """A day from 2000 to `today`; `what` names it in the message."""
    if day is None:
        raise StaffingError(_l("Give the %(what)s.", what=what), code, field)
    if day > today:
        raise StaffingError(_l("The %(what)s cannot be in the future.", what=what), code, field)
    if day < FIRST_DAY:
        raise StaffingError(
            _l(
                "The %(what)s cannot be before %(day)s.",
                what=what,
                day=FIRST_DAY.isoformat(),
            ),
            code,
            field,
        )
    return day


def check_hours(hours) -> Decimal:
    """Hours of training: more than 0, at most MAX_HOURS, to one decimal place."""
    try:
        value = Decimal(str(hours)) if hours is not None else None
    except InvalidOperation:
        value = None
    if value is None or not value.is_finite() or not 0 < value <= MAX_HOURS:
        raise StaffingError(
            _l("Hours of training are more than 0 and at most %(max)s.", max=MAX_HOURS),
            Refusal.BAD_HOURS,
            "hours",
        )
    if value != value.quantize(Decimal("0.1")):
        raise StaffingError(
            _l("Give the hours to one decimal place at most."), Refusal.BAD_HOURS, "hours"
        )
    return value.quantize(Decimal("0.1"))


def find_account(username: str | None) -> User | None:
    """The active account with this user name (None when none is given), to link an
    administrator to; an unknown or disabled one is refused."""
    username = (username or "").strip()
    if not username:
        return None
    user = user_by_name(username)
    if user is None or not user.active:
        raise StaffingError(
            _l("There is no active account %(name)s.", name=username),
            Refusal.UNKNOWN_ACCOUNT,
            "username",
        )
    return user


def station_today(station: Station) -> date:
    """Today in the station's unit's zone: the day roster dates are judged against."""
    return unit_today(station.unit)


# ---- the roster -----------------------------------------------------------------------------


def _master_taken(master: StationAdmin) -> StaffingError:
    return StaffingError(
        _l(
            "%(name)s is the station master since %(day)s: end that appointment first, or "
            "appoint the new master as replacing them.",
            name=master.name,
            day=master.since.isoformat(),
        ),
        Refusal.MASTER_TAKEN,
        "role",
    )


def appoint(
    station: Station,
    name: str | None,
    phone: str | None,
    role: AdminRole,
    since: date | None,
    user: User | None = None,
    replace: bool = False,
    today: date | None = None,
) -> StationAdmin:
    """Appoint someone to run `station` from `since` (not in the future), as its master or an
    assistant, with or without an account. A master while another is current is refused
    unless `replace`: then the current master's appointment ends the day before `since`."""
    today = today or station_today(station)
    name = check_name(name)
    phone = check_contact(phone)
    since = _check_day(since, today, Refusal.BAD_SINCE, "since", _l("first day"))
    if user is not None:
        linked = db.session.scalar(
            select(StationAdmin.name).where(
                StationAdmin.station_id == station.id,
                StationAdmin.user_id == user.id,
                StationAdmin.until.is_(None),
            )
        )
        if linked is not None:
            raise StaffingError(
                _l(
                    "The account %(user)s already runs this station (as %(name)s).",
                    user=user.username,
                    name=linked,
                ),
                Refusal.ALREADY_ADMIN,
                "username",
            )
    master = masters_by_station([station.id]).get(station.id) if role is AdminRole.MASTER else None
    if master is not None:
        if not replace:
            raise _master_taken(master)
        if since <= master.since:
            raise StaffingError(
                _l(
                    "The new master's first day must come after %(name)s's (%(day)s).",
                    name=master.name,
                    day=master.since.isoformat(),
                ),
                Refusal.BAD_SINCE,
                "since",
            )
    admin = StationAdmin(
        station_id=station.id,
        user_id=user.id if user is not None else None,
        name=name,
        phone=phone,
        role=role,
        since=since,
    )
    try:
        with db.session.begin_nested():
            if master is not None:
                _end(master, since - timedelta(days=1))
                db.session.flush()
            db.session.add(admin)
            db.session.flush()
    except IntegrityError:
        # Another master was appointed at the same moment.
        current = masters_by_station([station.id]).get(station.id)
        if current is None:
            raise
        raise _master_taken(current) from None
    return admin


def _end(admin: StationAdmin, until: date, now: datetime | None = None) -> None:
    """Set the last day, and sign off an open shift: someone who left is not on duty."""
    admin.until = until
    now = now or utcnow()
    for shift in db.session.scalars(
        select(DutyShift).where(DutyShift.admin_id == admin.id, DutyShift.ended_at.is_(None))
    ):
        shift.ended_at = max(now, shift.started_at)


def end_appointment(admin: StationAdmin, until: date | None, today: date | None = None) -> None:
    """End an appointment on its last day `until` (from its first day to today): the row
    stays, so past duty and rankings keep the name; an open shift is signed off."""
    if admin.until is not None:
        raise StaffingError(
            _l("This appointment ended on %(day)s.", day=admin.until.isoformat()),
            Refusal.ALREADY_ENDED,
            "until",
        )
    today = today or station_today(admin.station)
    until = _check_day(until, today, Refusal.BAD_UNTIL, "until", _l("last day"))
    if until < admin.since:
        raise StaffingError(
            _l("The last day cannot be before the first (%(day)s).", day=admin.since.isoformat()),
            Refusal.BAD_UNTIL,
            "until",
        )
    _end(admin, until)
    db.session.flush()


def add_training(
    admin: StationAdmin,
    course: str | None,
    taken_on: date | None,
    hours,
    certificate: str | None = "",
    today: date | None = None,
) -> Training:
    """Record a course an administrator took: what, on which day (not in the future), how
    many hours (more than 0, at most 200), and the certificate's number if any."""
    course = (course or "").strip()
    if not course:
        raise StaffingError(_l("Give the course's name."), Refusal.BAD_COURSE, "course")
    if len(course) > MAX_COURSE:
        raise StaffingError(
            _l("At most %(n)d characters.", n=MAX_COURSE), Refusal.BAD_COURSE, "course"
        )
    today = today or station_today(admin.station)
    taken_on = _check_day(
        taken_on, today, Refusal.BAD_TRAINING_DAY, "taken_on", _l("day of the training")
    )
    hours = check_hours(hours)
    certificate = (certificate or "").strip()
    if len(certificate) > MAX_CERTIFICATE:
        raise StaffingError(
            _l("At most %(n)d characters.", n=MAX_CERTIFICATE),
            Refusal.BAD_CERTIFICATE,
            "certificate",
        )
    training = Training(
        admin_id=admin.id, course=course, taken_on=taken_on, hours=hours, certificate=certificate
    )
    db.session.add(training)
    db.session.flush()
    return training


# ---- duty -----------------------------------------------------------------------------------


def appointment_at(user: User, station: Station) -> StationAdmin | None:
    """The user's current appointment at `station`, or None."""
    return db.session.scalar(
        select(StationAdmin).where(
            StationAdmin.station_id == station.id,
            StationAdmin.user_id == user.id,
            StationAdmin.until.is_(None),
        )
    )


def open_shift_of(user: User) -> DutyShift | None:
    """The shift the user is on now, at any station they run, or None."""
    return db.session.scalar(
        select(DutyShift)
        .join(StationAdmin, StationAdmin.id == DutyShift.admin_id)
        .where(StationAdmin.user_id == user.id, DutyShift.ended_at.is_(None))
        .limit(1)
    )


def _already_on_duty(shift: DutyShift | None) -> StaffingError:
    if shift is None:
        message = _l("You are already on duty.")
    else:
        message = _l(
            "You are already on duty at %(station)s: sign off there first.",
            station=db.session.get(Station, shift.station_id).name,
        )
    return StaffingError(message, Refusal.ALREADY_ON_DUTY)


def sign_on(user: User, station: Station, now: datetime | None = None) -> DutyShift:
    """Put the user on duty at `station`, which they administer now and which is open; one
    shift at a time, anywhere. The shift's day is the local day in the station's zone."""
    now = now or utcnow()
    admin = appointment_at(user, station)
    if admin is None:
        raise StaffingError(
            _l(
                "You do not run %(station)s now: only its administrators sign on there.",
                station=station.name,
            ),
            Refusal.NOT_AN_ADMIN,
        )
    shift = open_shift_of(user)
    if shift is not None:
        raise _already_on_duty(shift)
    day = now.astimezone(zone_of(station.unit.timezone)).date()
    if (
        station.status is not StationStatus.ACTIVE
        or station.opened_on is None
        or station.opened_on > day
    ):
        raise StaffingError(
            _l("%(station)s is not open: no one goes on duty there.", station=station.name),
            Refusal.STATION_NOT_OPEN,
        )
    shift = DutyShift(admin_id=admin.id, station_id=station.id, day=day, started_at=now)
    try:
        with db.session.begin_nested():
            db.session.add(shift)
            db.session.flush()
    except IntegrityError:
        # A second tap that arrived at the same time: the other one signed on.
        raise _already_on_duty(open_shift_of(user)) from None
    return shift


def sign_off(
    user: User, station: Station, now: datetime | None = None, shift_id: int | None = None
) -> DutyShift:
    """End the user's open shift at `station` (the one `shift_id` names, when given): one
    guarded UPDATE, so a second tap finds no open shift and writes nothing."""
    now = now or utcnow()
    clauses = [
        DutyShift.station_id == station.id,
        DutyShift.ended_at.is_(None),
        DutyShift.admin_id.in_(select(StationAdmin.id).where(StationAdmin.user_id == user.id)),
    ]
    if shift_id is not None:
        clauses.append(DutyShift.id == shift_id)
    shift = db.session.scalar(select(DutyShift).where(*clauses))
    if shift is not None:
        ended = db.session.execute(
            update(DutyShift)
            .where(DutyShift.id == shift.id, DutyShift.ended_at.is_(None))
            .values(ended_at=max(now, shift.started_at))
            .execution_options(synchronize_session=False)
        ).rowcount
        if ended:
            db.session.refresh(shift)
            return shift
    raise StaffingError(
        _l(
            "You are not on duty at %(station)s: there is nothing to sign off.",
            station=station.name,
        ),
        Refusal.NOT_ON_DUTY,
    )
