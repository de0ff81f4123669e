"""Recording attendance: check-ins, door visits, headcounts, tally taps, annulments.

Every scan counts once. A check-in is unique per activity and person (the keyed hash of the
phone number) and per nonce; a door visit per station, person and day; a tally tap per nonce.
Each row goes in through one INSERT ... ON CONFLICT DO NOTHING: concurrent writers race on
those unique constraints, and the loser reads the winner's row back, so two scans at the same
moment leave one record. No phone number is ever stored.

A refusal is an AttendanceError carrying a reason code (a Refusal) and a message; pages and
the API map the codes to their answers, never the other way round.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from functools import cache
from zoneinfo import ZoneInfo

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, bindparam, insert, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError

from inclusive_day.activities.models import Activity, ActivityStatus, checkin_bounds
from inclusive_day.activities.queries import in_public_campaign
from inclusive_day.attendance.identity import InvalidPhone, Person, person_for
from inclusive_day.attendance.models import (
    BeneficiaryGroup,
    CheckIn,
    CheckInSource,
    Headcount,
    HeadcountChange,
    HeadcountSource,
    StationVisit,
)
from inclusive_day.audit.summaries import headcount_set, tally_counted
from inclusive_day.database import UTCDateTime, utcnow
from inclusive_day.extensions import db
from inclusive_day.periods import zone_of
from inclusive_day.refusals import Refused
from inclusive_day.stations.models import Station, StationStatus

NONCE = re.compile(r"^[A-Za-z0-9_-]{8,64}$")
# INSERT ... ON CONFLICT DO NOTHING, in the dialect at hand.
INSERT_OR_NOTHING = {"postgresql": pg_insert, "sqlite": sqlite_insert}


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


@cache
def _insert_checkin(dialect: str, if_open: bool):
    """The one statement that stores a check-in: INSERT INTO checkins ... ON CONFLICT DO
    NOTHING RETURNING id, so that a repeat (the same person here, or the same nonce) stores
    nothing and returns no id. With `if_open` the row is SELECTed from the activity while it
    takes check-ins (Activity.takes_checkins), which makes a scan one statement. Built once
    per dialect, its parameters bound per row."""
    table = CheckIn.__table__
    names = list(_checkin_values(0, Person("", 0), None, None, None, None))
    insert_into = INSERT_OR_NOTHING[dialect](table)
    if if_open:
        open_activity = select(
            Activity.id, *(bindparam(name, type_=table.c[name].type) for name in names[1:])
        ).where(
            Activity.id == bindparam("activity_id"),
            Activity.takes_checkins(
                bindparam("latest_start", type_=UTCDateTime),
                bindparam("earliest_end", type_=UTCDateTime),
            ),
        )
        insert_into = insert_into.from_select(names, open_activity)
    return insert_into.on_conflict_do_nothing().returning(table.c.id)


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
    now = now or utcnow()
    nonce = check_nonce(nonce)
    group = parse_group(group)
    person = parse_person(phone)
    try:
        activity_id = int(activity_id)
    except (TypeError, ValueError):
        raise AttendanceError(
            _l("There is no such activity."), Refusal.NO_ACTIVITY, "activity_id"
        ) from None
    values = _checkin_values(activity_id, person, group, nonce, source, now)
    latest_start, earliest_end = checkin_bounds(now)
    params = {**values, "latest_start": latest_start, "earliest_end": earliest_end}
    connection = db.session.connection()
    new_id = connection.execute(_insert_checkin(connection.dialect.name, True), params).scalar()
    if new_id is not None:
        return CheckIn(id=new_id, **values), True
    # Nothing inserted: a repeat (the same nonce, or the same person here), or a closed activity.
    existing = _existing_checkin(activity_id, person.identity, nonce)
    if existing is not None:
        return existing, False
    activity = db.session.get(Activity, activity_id, populate_existing=True)
    check_open(activity, now, zone_of(activity.station.unit.timezone if activity else None))
    raise AttendanceError(
        _l("This activity is not taking check-ins."), Refusal.NOT_TAKING_CHECKINS, "activity_id"
    )


def _dialect() -> str:
    return db.session.get_bind().dialect.name


def activities_on_now(station_id: int, now: datetime) -> list[Activity]:
    """The station's public activities taking check-ins at `now`: an anonymous door scan
    never checks anyone in to an internal campaign's activity (nor tells its title)."""
    return list(
        db.session.scalars(
            select(Activity)
            .where(
                Activity.station_id == station_id,
                Activity.takes_checkins(*checkin_bounds(now)),
                in_public_campaign(),
            )
            .order_by(Activity.starts_at)
        )
    )


@dataclass
class DoorResult:
    """A door scan: the visit, whether it is new today, and the activities it counted for."""

    visit: StationVisit
    created: bool
    checkins: list[tuple[CheckIn, bool]] = field(default_factory=list)


def door_check_in(station: Station | None, phone, group, nonce, now=None) -> DoorResult:
    """A person scans a station's door QR: one visit per day; during a public activity there it
    also checks them in to the activity. `phone` as for check_in. The caller commits."""
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
        result.checkins.append(
            record_checkin(
                activity,
                person,
                group,
                derived_nonce(visit.nonce, activity.id),
                CheckInSource.QR,
                now,
            )
        )
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
