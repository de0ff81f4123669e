"""Recording attendance: check-ins, door visits, headcounts, tally taps, annulments.

Every scan counts once. A check-in is unique per activity and person (the keyed hash of the
phone number) and per nonce; a door visit per station, person and day; a tally tap per nonce.
Each row goes in through one INSERT ... ON CONFLICT DO NOTHING: concurrent writers race on
those unique constraints, and the loser reads the winner's row back, so two scans at the same
moment leave one record. No phone number is ever stored.

Live check-ins (QR pages, door scans, the API; not paper sheets typed in afterwards) are also
counted per activity and minute in checkin_minutes, by one atomic upsert in the check-in's own
transaction that adds one only while the minute is below the activity's capacity (its own
checkins_per_minute, else its station's, else CHECKIN_CAPACITY_PER_MINUTE): no minute takes
more check-ins than a station can serve, however many workers take scans at once. A check-in
beyond it is refused (Refusal.FULL) and the caller records the refusal (refuse_checkins), which
puts the minute under review for the organisers, who may annul its check-ins at once
(annul_burst).

A refusal is an AttendanceError carrying a reason code (a Refusal) and a message; pages and
the API map the codes to their answers, never the other way round.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from functools import cache
from zoneinfo import ZoneInfo

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, bindparam, delete, func, insert, or_, select, true, update
from sqlalchemy.exc import IntegrityError

from inclusive_day.activities.models import Activity, ActivityStatus, checkin_bounds
from inclusive_day.activities.queries import in_public_campaign
from inclusive_day.attendance.identity import InvalidPhone, Person, person_for
from inclusive_day.attendance.models import (
    BeneficiaryGroup,
    CheckIn,
    CheckInMinute,
    CheckInRefusal,
    CheckInSource,
    Headcount,
    HeadcountChange,
    HeadcountSource,
    LimitKind,
    StationVisit,
)
from inclusive_day.audit.summaries import headcount_set, tally_counted
from inclusive_day.database import INSERT_OR_NOTHING, UTCDateTime, utcnow
from inclusive_day.extensions import db
from inclusive_day.periods import zone_of
from inclusive_day.refusals import Refused
from inclusive_day.stations.models import Station, StationStatus

NONCE = re.compile(r"^[A-Za-z0-9_-]{8,64}$")
MINUTE = timedelta(minutes=1)


# INSERT ... ON CONFLICT DO NOTHING, in the dialect at hand.
class Refusal(StrEnum):
    """Why the attendance rules refuse something: the code an AttendanceError carries."""

    NO_ACTIVITY = "no_activity"
    CANCELLED = "cancelled"
    NOT_YET_OPEN = "not_yet_open"
    FINISHED = "finished"
    NOT_TAKING_CHECKINS = "not_taking_checkins"
    STATION_NOT_OPEN = "station_not_open"
    INVALID_PHONE = "invalid_phone"
    INVALID_GROUP = "invalid_group"
    INVALID_NONCE = "invalid_nonce"
    NONCE_REUSED = "nonce_reused"
    NO_REASON = "no_reason"
    ALREADY_ANNULLED = "already_annulled"
    INVALID_COUNT = "invalid_count"
    CHANGED_MEANWHILE = "changed_meanwhile"
    INVALID_TAPS = "invalid_taps"
    FULL = "full"
    NOTHING_TO_ANNUL = "nothing_to_annul"


class AttendanceError(Refused):
    """Input that cannot be recorded; its code is a Refusal of this module."""


# ---- input ----------------------------------------------------------------------------------


def parse_group(value) -> BeneficiaryGroup:
    """A beneficiary group from its code."""
    try:
        return BeneficiaryGroup(str(value or "").strip())
    except ValueError:
        raise AttendanceError(
            _l("Choose who you are from the list."), Refusal.INVALID_GROUP, "group"
        ) from None


def parse_person(phone) -> Person:
    """The person a phone number names (its keyed hash and person key); the number itself goes
    no further. A Person already made of it (by the form) is taken as it is, not hashed again."""
    if isinstance(phone, Person):
        return phone
    try:
        return person_for(str(phone or ""))
    except InvalidPhone:
        raise AttendanceError(
            _l("Enter an 11-digit mobile number, such as 138 0000 0000."),
            Refusal.INVALID_PHONE,
            "phone",
        ) from None


def check_nonce(nonce) -> str:
    """A client's idempotency key: 8 to 64 letters, digits, "-" or "_"."""
    text = str(nonce or "")
    if not NONCE.match(text):
        raise AttendanceError(
            _l("The request carries no valid nonce."), Refusal.INVALID_NONCE, "nonce"
        )
    return text


def derived_nonce(*parts: object) -> str:
    """A nonce made from other values, for records the server makes on a client's behalf."""
    return hashlib.sha256("/".join(str(p) for p in parts).encode()).hexdigest()


def check_open(activity, now: datetime, zone: ZoneInfo):
    """The activity exists, is not cancelled, and is taking check-ins now; else the refusal
    that says which of these it is not (when it opens is said in `zone`, its station's)."""
    if activity is None:
        raise AttendanceError(_l("There is no such activity."), Refusal.NO_ACTIVITY, "activity_id")
    if activity.status is ActivityStatus.CANCELLED:
        raise AttendanceError(_l("This activity was cancelled."), Refusal.CANCELLED, "activity_id")
    if activity.takes_checkins(*checkin_bounds(now)):
        return activity
    opens, _closes = activity.checkin_window()
    if now < opens:
        raise AttendanceError(
            _l(
                "Check-in opens at %(time)s.",
                time=opens.astimezone(zone).strftime("%Y-%m-%d %H:%M"),
            ),
            Refusal.NOT_YET_OPEN,
            "activity_id",
        )
    raise AttendanceError(_l("This activity has finished."), Refusal.FINISHED, "activity_id")


# ---- check-ins --------------------------------------------------------------------------------


def _existing_checkin(activity_id: int, identity: str, nonce: str) -> CheckIn | None:
    """The check-in this request repeats: the same nonce, or the same person here.

    A nonce already used for another person or activity is refused: the request was altered.
    """
    found = db.session.scalars(
        select(CheckIn).where(
            or_(
                CheckIn.nonce == nonce,
                and_(CheckIn.activity_id == activity_id, CheckIn.identity == identity),
            )
        )
    ).all()
    for row in found:
        if row.nonce == nonce and (row.activity_id, row.identity) != (activity_id, identity):
            raise AttendanceError(
                _l("This nonce was already used for another check-in."),
                Refusal.NONCE_REUSED,
                "nonce",
            )
    return next(iter(found), None)


def _checkin_values(activity_id, person: Person, group, nonce, source, at) -> dict:
    return {
        "activity_id": activity_id,
        "identity": person.identity,
        "person_key": person.key,
        "group": group,
        "nonce": nonce,
        "source": source,
        "checked_in_at": at,
    }


# How a scan names its activity: by id (pages, scanners with an API token), or by the check-in
# token its QR code carries (the public API), which the insert itself looks up.
BY_ID = "id"
BY_TOKEN = "checkin_token"


@cache
def _insert_checkin(dialect: str, if_open: bool, by: str = BY_ID):
    """The one statement that stores a check-in: INSERT INTO checkins ... ON CONFLICT DO
    NOTHING RETURNING id, activity_id, so that a repeat (the same person here, or the same
    nonce) stores nothing and returns no row. With `if_open` the row is SELECTed from the
    activity named `by` its id or its check-in token (bound as :activity) while it takes
    check-ins (Activity.takes_checkins), which makes a scan one statement. Built once per
    dialect, its parameters bound per row."""
    table = CheckIn.__table__
    names = list(_checkin_values(0, Person("", 0), None, None, None, None))
    insert_into = INSERT_OR_NOTHING[dialect](table)
    if if_open:
        open_activity = select(
            Activity.id, *(bindparam(name, type_=table.c[name].type) for name in names[1:])
        ).where(
            getattr(Activity, by) == bindparam("activity"),
            Activity.takes_checkins(
                bindparam("latest_start", type_=UTCDateTime),
                bindparam("earliest_end", type_=UTCDateTime),
            ),
        )
        insert_into = insert_into.from_select(names, open_activity)
    return insert_into.on_conflict_do_nothing().returning(table.c.id, table.c.activity_id)


def record_checkin(
    activity,
    person: Person | str,
    group: BeneficiaryGroup,
    nonce: str,
    source: CheckInSource,
    at: datetime,
) -> tuple[CheckIn, bool]:
    """Store one check-in unless it repeats one; return it and whether it is new.

    `person` is who checks in, or an identity already stored elsewhere. Most check-ins are
    new, so the insert goes first; when a unique constraint stops it (a repeat, or a
    concurrent writer that got there first), the existing row is returned.
    """
    if not isinstance(person, Person):
        person = Person.of(person)
    values = _checkin_values(activity.id, person, group, nonce, source, at)
    new_id = db.session.execute(_insert_checkin(_dialect(), False), values).scalar()
    if new_id is not None:
        return CheckIn(id=new_id, **values), True
    existing = _existing_checkin(activity.id, person.identity, nonce)
    if existing is None:
        raise RuntimeError("a check-in conflicted with a row that is gone")
    return existing, False


def check_in(
    activity_id,
    phone,
    group,
    nonce,
    source: CheckInSource = CheckInSource.API,
    now: datetime | None = None,
) -> tuple[CheckIn, bool]:
    """A person checks in at an activity (QR page or API). The caller commits.

    `phone` is the number as typed, or the Person the form already made of it. The hot path
    of every scan is one statement: INSERT ... SELECT from the activity when it is taking
    check-ins, ON CONFLICT DO NOTHING. Only when nothing was inserted are the existing
    check-in, or else the activity, read to answer why.
    """
    try:
        activity_id = int(activity_id)
    except (TypeError, ValueError):
        activity_id = None
    return _check_in(BY_ID, activity_id, phone, group, nonce, source, now)


def check_in_by_token(
    token, phone, group, nonce, source: CheckInSource = CheckInSource.API, now=None
) -> tuple[CheckIn, bool]:
    """check_in at the activity whose check-in link (and QR) carries `token`, found by the
    same one statement that stores the check-in. The caller commits."""
    return _check_in(
        BY_TOKEN, token if _is_token(token) else None, phone, group, nonce, source, now
    )


def _check_in(by: str, activity, phone, group, nonce, source, now) -> tuple[CheckIn, bool]:
    """check_in at the activity named `by` its id or its check-in token (None: no such)."""
    now = now or utcnow()
    nonce = check_nonce(nonce)
    group = parse_group(group)
    person = parse_person(phone)
    if activity is None:
        raise _no_activity(by)
    values = _checkin_values(None, person, group, nonce, source, now)
    latest_start, earliest_end = checkin_bounds(now)
    params = {
        **values,
        "activity": activity,
        "latest_start": latest_start,
        "earliest_end": earliest_end,
    }
    connection = db.session.connection()
    row = connection.execute(_insert_checkin(connection.dialect.name, True, by), params).first()
    if row is not None:
        new_id, activity_id = row
        if not _count_in_minute(activity_id, now):
            _undo(new_id)
            raise AttendanceError(
                _l(
                    "This activity has taken as many check-ins this minute as its station can "
                    "serve. Wait a minute and try again."
                ),
                Refusal.FULL,
                "activity_id",
            )
        return CheckIn(id=new_id, **(values | {"activity_id": activity_id})), True
    # Nothing inserted: a repeat (the same nonce, or the same person here), or a closed activity.
    activity_id = activity if by == BY_ID else activity_id_by_checkin_token(activity)
    if activity_id is None:
        raise _no_activity(by)
    existing = _existing_checkin(activity_id, person.identity, nonce)
    if existing is not None:
        return existing, False
    found = db.session.get(Activity, activity_id, populate_existing=True)
    check_open(found, now, zone_of(found.station.unit.timezone if found else None))
    raise AttendanceError(
        _l("This activity is not taking check-ins."), Refusal.NOT_TAKING_CHECKINS, "activity_id"
    )


def _no_activity(by: str) -> AttendanceError:
    """The refusal of a check-in at an activity that does not exist."""
    if by == BY_TOKEN:
        return AttendanceError(_l("This check-in code is not known."), Refusal.NO_ACTIVITY, "token")
    return AttendanceError(_l("There is no such activity."), Refusal.NO_ACTIVITY, "activity_id")


def _dialect() -> str:
    return db.session.get_bind().dialect.name


# ---- capacity a minute ------------------------------------------------------------------------


def minute_of(moment: datetime) -> datetime:
    """The start of the minute (UTC) that `moment` falls in."""
    return moment.astimezone(UTC).replace(second=0, microsecond=0)


def checkin_capacity(activity: Activity) -> int:
    """The most check-ins `activity` takes in a minute: its own figure, else its station's,
    else the app's CHECKIN_CAPACITY_PER_MINUTE."""
    return (
        activity.checkins_per_minute
        or activity.station.checkins_per_minute
        or current_app.config["CHECKIN_CAPACITY_PER_MINUTE"]
    )


def set_checkin_capacity(target: Activity | Station, per_minute: int | None) -> None:
    """Set how many check-ins a minute an activity, or every activity at a station unless it
    says otherwise, takes (None: the default above it). The caller commits."""
    limit = current_app.config["CHECKIN_CAPACITY_MAX"]
    if per_minute is not None and (type(per_minute) is not int or not 1 <= per_minute <= limit):
        raise AttendanceError(
            _l("Check-ins a minute: a whole number from 1 to %(max)s, or empty.", max=limit),
            Refusal.INVALID_COUNT,
            "checkins_per_minute",
        )
    target.checkins_per_minute = per_minute
    db.session.flush()


def capacity_clause():
    """checkin_capacity as SQL, for the activity with id :activity_id (the app's figure bound
    as :default_capacity)."""
    return (
        select(
            func.coalesce(
                Activity.checkins_per_minute,
                Station.checkins_per_minute,
                bindparam("default_capacity"),
            )
        )
        .join(Station, Station.id == Activity.station_id)
        .where(Activity.id == bindparam("activity_id"))
        .scalar_subquery()
    )


@cache
def _count_statement(dialect: str):
    """INSERT the minute's count at 1, or add one to it while it is below the capacity:
    ON CONFLICT DO UPDATE ... WHERE accepted < capacity RETURNING accepted, which returns no
    row when the minute is full. On PostgreSQL the update locks the minute's row, so two
    workers adding to a minute add one after the other, each seeing the other's count."""
    table = CheckInMinute.__table__
    capacity = capacity_clause()
    stmt = INSERT_OR_NOTHING[dialect](table).values(
        activity_id=bindparam("activity_id"),
        minute=bindparam("minute", type_=UTCDateTime),
        minute_end=bindparam("minute_end", type_=UTCDateTime),
        accepted=1,
        under_review=capacity <= 1,
    )
    return stmt.on_conflict_do_update(
        index_elements=[table.c.activity_id, table.c.minute],
        set_={
            "accepted": table.c.accepted + 1,
            "under_review": or_(table.c.under_review, table.c.accepted + 1 >= capacity),
        },
        where=table.c.accepted < capacity,
    ).returning(table.c.accepted)


def _count_in_minute(activity_id: int, now: datetime) -> bool:
    """Count one live check-in in its activity's minute; False (nothing counted) when the
    minute already holds the activity's capacity."""
    minute = minute_of(now)
    params = {
        "activity_id": activity_id,
        "minute": minute,
        "minute_end": minute + MINUTE,
        "default_capacity": current_app.config["CHECKIN_CAPACITY_PER_MINUTE"],
    }
    return db.session.execute(_count_statement(_dialect()), params).scalar() is not None


def _undo(checkin_id: int) -> None:
    """Take back a check-in just inserted that the capacity refuses, so that the transaction
    holds nothing of it whatever the caller does next (a door scan's visit still commits)."""
    db.session.execute(
        delete(CheckIn).where(CheckIn.id == checkin_id),
        execution_options={"synchronize_session": False},
    )


@cache
def _refusal_statement(dialect: str):
    """INSERT a refusals row at 1, or add one to it."""
    table = CheckInRefusal.__table__
    stmt = INSERT_OR_NOTHING[dialect](table).values(
        activity_id=bindparam("activity_id"),
        minute=bindparam("minute", type_=UTCDateTime),
        kind=bindparam("kind", type_=table.c.kind.type),
        address_hash=bindparam("address_hash"),
        count=1,
        last_at=bindparam("now", type_=UTCDateTime),
    )
    return stmt.on_conflict_do_update(
        index_elements=[table.c.activity_id, table.c.minute, table.c.kind, table.c.address_hash],
        set_={"count": table.c.count + 1, "last_at": stmt.excluded.last_at},
    )


def refuse_checkins(activity_ids, kind: LimitKind, address_hash: str, now: datetime) -> None:
    """Record a check-in refused by a limit, at each of `activity_ids`, from the client whose
    address hashes to `address_hash`; the caller commits. The minute goes under review, and
    so does the one before it, whose burst the refusals may follow."""
    ids = sorted(set(activity_ids))
    if not ids:
        return
    minute = minute_of(now)
    db.session.execute(
        _refusal_statement(_dialect()),
        [
            {
                "activity_id": activity_id,
                "minute": minute,
                "kind": kind,
                "address_hash": address_hash,
                "now": now,
            }
            for activity_id in ids
        ],
    )
    db.session.execute(
        update(CheckInMinute)
        .where(
            CheckInMinute.activity_id.in_(ids),
            CheckInMinute.minute.in_([minute - MINUTE, minute]),
            CheckInMinute.under_review.is_(False),
        )
        .values(under_review=True),
        execution_options={"synchronize_session": False},
    )


def burst_checkins(activity: Activity, minute: datetime):
    """The standing live check-ins `activity` took in `minute`: a burst's, as annul_burst
    annuls them (paper sheets typed in at that time are not part of it)."""
    return select(CheckIn).where(
        CheckIn.activity_id == activity.id,
        CheckIn.checked_in_at >= minute,
        CheckIn.checked_in_at < minute + MINUTE,
        CheckIn.source != CheckInSource.PAPER,
        CheckIn.annulled_at.is_(None),
    )


def minute_under_review(activity: Activity, minute: datetime) -> CheckInMinute | None:
    """The activity's minute starting at `minute`, if it is under review."""
    return db.session.scalar(
        select(CheckInMinute).where(
            CheckInMinute.activity_id == activity.id,
            CheckInMinute.minute == minute,
            CheckInMinute.under_review == true(),
        )
    )


def annul_burst(activity: Activity, minute: datetime, reason: str, user) -> int:
    """Annul at once every check-in still counting that `activity` took in one minute under
    review, each through annul_checkin (the same reason, history and audit as one by one);
    return how many. The caller commits."""
    reason = (reason or "").strip()
    if not reason:
        raise AttendanceError(_l("Say why the check-in is annulled."), Refusal.NO_REASON, "reason")
    checkins = db.session.scalars(burst_checkins(activity, minute).order_by(CheckIn.id)).all()
    if not checkins:
        raise AttendanceError(
            _l("Every check-in of this minute is already annulled."), Refusal.NOTHING_TO_ANNUL
        )
    for checkin in checkins:
        annul_checkin(checkin, reason, user)
    return len(checkins)


def _is_token(token) -> bool:
    return isinstance(token, str) and 0 < len(token) <= 32


def activity_by_checkin_token(token, *options) -> Activity | None:
    """The activity whose public check-in link (and QR) carries `token`, if any."""
    if not _is_token(token):
        return None
    return db.session.scalar(
        select(Activity).where(Activity.checkin_token == token).options(*options)
    )


def activity_id_by_checkin_token(token) -> int | None:
    """Only the id of that activity: a scan needs no more, and a row is dearer to load."""
    if not _is_token(token):
        return None
    return db.session.scalar(select(Activity.id).where(Activity.checkin_token == token))


@cache
def _on_now_statement():
    """The public activities of the station :station_id taking check-ins within the bounds
    :latest_start and :earliest_end, in one fixed order. Built once, bound per scan."""
    return (
        select(Activity)
        .where(
            Activity.station_id == bindparam("station_id"),
            Activity.takes_checkins(
                bindparam("latest_start", type_=UTCDateTime),
                bindparam("earliest_end", type_=UTCDateTime),
            ),
            in_public_campaign(),
        )
        .order_by(Activity.starts_at, Activity.id)
    )


def activities_on_now(station_id: int, now: datetime) -> list[Activity]:
    """The station's public activities taking check-ins at `now`, in one fixed order (so that
    two door scans count their minutes in the same order and never wait on each other in a
    circle): an anonymous door scan never checks anyone in to an internal campaign's activity
    (nor tells its title)."""
    latest_start, earliest_end = checkin_bounds(now)
    params = {"station_id": station_id, "latest_start": latest_start, "earliest_end": earliest_end}
    return list(db.session.scalars(_on_now_statement(), params))


@dataclass
class DoorResult:
    """A door scan: the visit, whether it is new today, and the activities it counted for."""

    visit: StationVisit
    created: bool
    checkins: list[tuple[CheckIn, bool]] = field(default_factory=list)
    # Activities on now that had taken their capacity this minute: not checked in to.
    refused: list[Activity] = field(default_factory=list)


def door_check_in(
    station: Station | None, phone, group, nonce, now=None, address_hash: str = ""
) -> DoorResult:
    """A person scans a station's door QR: one visit per day; during a public activity there it
    also checks them in to the activity, unless that activity has taken its capacity this
    minute (then the refusal is recorded against `address_hash`, and the visit still counts).
    `phone` as for check_in. The caller commits."""
    now = now or utcnow()
    nonce = check_nonce(nonce)
    group = parse_group(group)
    person = parse_person(phone)
    if station is None or station.status is not StationStatus.ACTIVE:
        raise AttendanceError(_l("This station is not open."), Refusal.STATION_NOT_OPEN, "station")
    day = now.astimezone(zone_of(station.unit.timezone)).date()  # the station's local day
    visit, created = _record_visit(station.id, person, group, nonce, day, now)
    result = DoorResult(visit, created)
    for activity in activities_on_now(station.id, now):
        checkin, created = record_checkin(
            activity,
            person,
            group,
            derived_nonce(visit.nonce, activity.id),
            CheckInSource.QR,
            now,
        )
        if created and not _count_in_minute(activity.id, now):
            _undo(checkin.id)
            result.refused.append(activity)
            continue
        result.checkins.append((checkin, created))
    refuse_checkins([a.id for a in result.refused], LimitKind.CAPACITY, address_hash, now)
    return result


def _existing_visit(station_id: int, identity: str, day, nonce: str) -> StationVisit | None:
    by_nonce = db.session.scalar(select(StationVisit).where(StationVisit.nonce == nonce))
    if by_nonce is not None:
        if (by_nonce.station_id, by_nonce.identity) != (station_id, identity):
            raise AttendanceError(
                _l("This nonce was already used for another visit."),
                Refusal.NONCE_REUSED,
                "nonce",
            )
        return by_nonce
    return db.session.scalar(
        select(StationVisit).where(
            StationVisit.station_id == station_id,
            StationVisit.identity == identity,
            StationVisit.visit_day == day,
        )
    )


@cache
def _insert_visit(dialect: str):
    """The one statement that stores a door visit: INSERT INTO station_visits ... ON CONFLICT
    DO NOTHING RETURNING id, so that a repeat (the same person at the station that day, or
    the same nonce) stores nothing and returns no id."""
    table = StationVisit.__table__
    return INSERT_OR_NOTHING[dialect](table).on_conflict_do_nothing().returning(table.c.id)


def _record_visit(station_id, person: Person, group, nonce, day, now) -> tuple[StationVisit, bool]:
    """Store the day's visit unless it repeats one; return it and whether it is new."""
    values = {
        "station_id": station_id,
        "identity": person.identity,
        "group": group,
        "nonce": nonce,
        "visit_day": day,
        "visited_at": now,
    }
    new_id = db.session.execute(_insert_visit(_dialect()), values).scalar()
    if new_id is not None:
        return StationVisit(id=new_id, **values), True
    existing = _existing_visit(station_id, person.identity, day, nonce)
    if existing is None:
        raise RuntimeError("a door visit conflicted with a row that is gone")
    return existing, False


def annul_checkin(checkin: CheckIn, reason: str, user) -> None:
    """Staff annul a mistaken check-in: it stops counting and stays in the history."""
    reason = (reason or "").strip()
    if not reason:
        raise AttendanceError(_l("Say why the check-in is annulled."), Refusal.NO_REASON, "reason")
    if checkin.is_annulled:
        raise AttendanceError(_l("This check-in is already annulled."), Refusal.ALREADY_ANNULLED)
    checkin.annulled_at = utcnow()
    checkin.annul_reason = reason[:255]
    checkin.annulled_by_id = getattr(user, "id", None)
    db.session.flush()


# ---- headcounts ---------------------------------------------------------------------------------


def check_count(value, group: BeneficiaryGroup) -> int:
    """A headcount: a whole number from 0 to HEADCOUNT_MAX."""
    limit = current_app.config["HEADCOUNT_MAX"]
    try:
        count = int(value)
    except (TypeError, ValueError):
        raise AttendanceError(
            _l("Counts are whole numbers."), Refusal.INVALID_COUNT, group.value
        ) from None
    if count < 0 or count > limit:
        raise AttendanceError(
            _l(
                "The count for %(group)s must be between 0 and %(max)s.",
                group=group.label,
                max=limit,
            ),
            Refusal.INVALID_COUNT,
            group.value,
        )
    return count


def current_headcounts(activity: Activity) -> dict[BeneficiaryGroup, int]:
    """Each group's headcount at the activity (0 where none was entered)."""
    counts = dict.fromkeys(BeneficiaryGroup, 0)
    for group, count in db.session.execute(
        select(Headcount.group, Headcount.count).where(Headcount.activity_id == activity.id)
    ):
        counts[group] = count
    return counts


def _headcount_row(activity: Activity, group: BeneficiaryGroup) -> Headcount:
    """The activity's headcount row for a group, made (at 0) if missing, concurrency-safe."""
    stmt = select(Headcount).where(Headcount.activity_id == activity.id, Headcount.group == group)
    row = db.session.scalar(stmt)
    if row is not None:
        return row
    try:
        with db.session.begin_nested():
            row = Headcount(activity_id=activity.id, group=group, count=0)
            db.session.add(row)
    except IntegrityError:
        row = db.session.scalar(stmt)
    return row


def set_headcounts(
    activity: Activity,
    counts: dict[BeneficiaryGroup, int],
    user,
    expected: dict[BeneficiaryGroup, int] | None = None,
) -> int:
    """Staff set the counts per group; every change is kept. Return how many groups changed.

    `expected` holds the counts the form showed: if someone changed one since, nothing is
    written and the caller shows the new figures.
    """
    if activity.status is ActivityStatus.CANCELLED:
        raise AttendanceError(_l("This activity was cancelled."), Refusal.CANCELLED)
    checked = {g: check_count(v, g) for g, v in counts.items()}
    changed = 0
    for group, new in checked.items():
        row = _headcount_row(activity, group)
        old = row.count
        if expected is not None and expected.get(group, 0) != old:
            raise AttendanceError(
                _l("Someone changed these counts meanwhile; check the new figures."),
                Refusal.CHANGED_MEANWHILE,
            )
        if new == old:
            continue
        moved = db.session.execute(
            update(Headcount)
            .where(Headcount.id == row.id, Headcount.count == old)
            .values(count=new, updated_by_id=getattr(user, "id", None), updated_at=utcnow()),
            execution_options={"synchronize_session": False},
        )
        if moved.rowcount != 1:
            raise AttendanceError(
                _l("Someone changed these counts meanwhile; check the new figures."),
                Refusal.CHANGED_MEANWHILE,
            )
        headcount_set(activity, row.id, group, old, new)
        db.session.add(
            HeadcountChange(
                activity_id=activity.id,
                group=group,
                old_count=old,
                new_count=new,
                source=HeadcountSource.FORM,
                changed_by_id=getattr(user, "id", None),
            )
        )
        changed += 1
    db.session.flush()
    db.session.expire_all()
    return changed


@dataclass
class TallyResult:
    """What a tally upload did: taps newly counted, taps already counted before (or undos with
    nothing to take away), and taps refused because the group's count is at HEADCOUNT_MAX."""

    accepted: int = 0
    repeated: int = 0
    refused: int = 0


def _parse_taps(taps) -> list[tuple[str, BeneficiaryGroup, int]]:
    """(nonce, group, delta) for each tap of an upload of at most TALLY_BATCH_MAX; one bad tap
    refuses the whole upload."""
    limit = current_app.config["TALLY_BATCH_MAX"]
    if not isinstance(taps, list) or len(taps) > limit:
        raise AttendanceError(
            _l("Send a list of at most %(max)s taps at once.", max=limit), Refusal.INVALID_TAPS
        )
    parsed = []
    for tap in taps:
        if not isinstance(tap, dict):
            raise AttendanceError(_l("Each tap needs a nonce and a group."), Refusal.INVALID_TAPS)
        delta = tap.get("delta", 1)
        # JSON true equals 1 and 1.0 equals 1 in Python: only a whole number is a delta.
        if type(delta) is not int or delta not in (1, -1):
            raise AttendanceError(_l("A tap adds or takes away one."), Refusal.INVALID_TAPS)
        parsed.append((check_nonce(tap.get("nonce")), parse_group(tap.get("group")), delta))
    return parsed


def _locked_headcounts(
    activity: Activity, groups: list[BeneficiaryGroup]
) -> dict[BeneficiaryGroup, Headcount]:
    """The activity's headcount rows of these groups, made at 0 where missing, and held for
    this transaction: the INSERT takes SQLite's one write lock, FOR UPDATE PostgreSQL's row
    locks (in id order, so two uploads never wait for each other in a circle)."""
    table = Headcount.__table__
    db.session.execute(
        INSERT_OR_NOTHING[_dialect()](table).on_conflict_do_nothing(),
        [{"activity_id": activity.id, "group": group, "count": 0} for group in groups],
    )
    rows = db.session.scalars(
        select(Headcount)
        .where(Headcount.activity_id == activity.id, Headcount.group.in_(groups))
        .order_by(Headcount.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return {row.group: row for row in rows}


def apply_tally(activity: Activity, taps: list, user) -> TallyResult:
    """Count the +1 taps a phone queued, each once by its nonce; the caller commits.

    A tap is {"nonce": str, "group": code}; "delta" may be -1 to undo the last tap. However
    many taps an upload carries, it is one grouped write: the touched headcounts are locked,
    the nonces already counted read in one query, the taps run through in order (never below
    zero, never past HEADCOUNT_MAX: a tap past the cap is refused and not kept), then one
    INSERT keeps the history and one UPDATE per group sets the count.
    """
    if activity.status is ActivityStatus.CANCELLED:
        raise AttendanceError(_l("This activity was cancelled."), Refusal.CANCELLED)
    parsed = _parse_taps(taps)
    result = TallyResult()
    if not parsed:
        return result
    groups = sorted({group for _nonce, group, _delta in parsed}, key=lambda g: g.value)
    rows = _locked_headcounts(activity, groups)
    seen = set(
        db.session.scalars(
            select(HeadcountChange.nonce).where(
                HeadcountChange.nonce.in_({nonce for nonce, _group, _delta in parsed})
            )
        )
    )
    cap = current_app.config["HEADCOUNT_MAX"]
    before = {group: rows[group].count for group in groups}
    counts = dict(before)
    user_id, now = getattr(user, "id", None), utcnow()
    history = []
    for nonce, group, delta in parsed:
        if nonce in seen or counts[group] + delta < 0:  # counted already, or nothing to undo
            result.repeated += 1
            continue
        if counts[group] + delta > cap:
            result.refused += 1
            continue
        seen.add(nonce)
        history.append(
            {
                "activity_id": activity.id,
                "group": group,
                "old_count": counts[group],
                "new_count": counts[group] + delta,
                "source": HeadcountSource.TALLY,
                "nonce": nonce,
                "changed_at": now,
                "changed_by_id": user_id,
            }
        )
        counts[group] += delta
        result.accepted += 1
    if history:
        try:
            db.session.execute(insert(HeadcountChange), history)
        except IntegrityError:
            # A nonce counted meanwhile for another activity or group: the upload was altered.
            raise AttendanceError(
                _l("Someone changed these counts meanwhile; check the new figures."),
                Refusal.CHANGED_MEANWHILE,
            ) from None
    moved = {}
    for group in groups:
        if counts[group] != before[group]:
            db.session.execute(
                update(Headcount)
                .where(Headcount.id == rows[group].id)
                .values(count=counts[group], updated_by_id=user_id, updated_at=now),
                execution_options={"synchronize_session": False},
            )
            moved[group] = [rows[group].id, before[group], counts[group]]
    tally_counted(activity, moved)
    db.session.expire_all()
    return result
