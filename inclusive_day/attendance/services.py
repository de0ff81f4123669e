"""Recording attendance: check-ins, door visits, headcounts, tally taps, annulments.

Every scan counts once. A check-in is unique per activity and person (the keyed hash of the
phone number) and per nonce; a door visit per station, person and day; a tally tap per nonce.
Concurrent writers race on those unique constraints, and the loser reads the winner's row
back, so two scans at the same moment leave one record. No phone number is ever stored.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import cache
from zoneinfo import ZoneInfo

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, bindparam, insert, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError

from inclusive_day.activities.models import Activity, ActivityStatus
from inclusive_day.attendance.identity import InvalidPhone, identity_for, person_key
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
from inclusive_day.stations.models import Station, StationStatus
from inclusive_day.units.models import Unit

NONCE = re.compile(r"^[A-Za-z0-9_-]{8,64}$")


class AttendanceError(ValueError):
    """Input that cannot be recorded. `status` is the HTTP status an API answers with, `field`
    the input at fault, `message` the reason in the user's language."""

    def __init__(self, message, status: int = 422, field: str | None = None) -> None:
        super().__init__(str(message))
        self.message = message
        self.status = status
        self.field = field


# ---- input ----------------------------------------------------------------------------------


def parse_group(value) -> BeneficiaryGroup:
    """A beneficiary group from its code."""
    try:
        return BeneficiaryGroup(str(value or "").strip())
    except ValueError:
        raise AttendanceError(_l("Choose who you are from the list."), 422, "group") from None


def parse_identity(phone) -> str:
    """The keyed hash of a phone number; the number itself goes no further."""
    try:
        return identity_for(str(phone or ""))
    except InvalidPhone:
        raise AttendanceError(
            _l("Enter an 11-digit mobile number, such as 138 0000 0000."), 422, "phone"
        ) from None


def check_nonce(nonce) -> str:
    """A client's idempotency key: 8 to 64 letters, digits, "-" or "_"."""
    text = str(nonce or "")
    if not NONCE.match(text):
        raise AttendanceError(_l("The request carries no valid nonce."), 400, "nonce")
    return text


def derived_nonce(*parts: object) -> str:
    """A nonce made from other values, for records the server makes on a client's behalf."""
    return hashlib.sha256("/".join(str(p) for p in parts).encode()).hexdigest()


def checkin_window(activity) -> tuple[datetime, datetime]:
    """When an activity takes check-ins: from a little before it starts to a little after."""
    grace = timedelta(minutes=current_app.config["CHECKIN_GRACE_MINUTES"])
    return activity.starts_at - grace, activity.ends_at + grace


def check_open(activity, now: datetime, zone: ZoneInfo):
    """The activity (or a row with its status and times) exists, is not cancelled, and is
    taking check-ins now; when it opens is said in `zone`, its station's."""
    if activity is None:
        raise AttendanceError(_l("There is no such activity."), 404, "activity_id")
    if activity.status is ActivityStatus.CANCELLED:
        raise AttendanceError(_l("This activity was cancelled."), 409, "activity_id")
    opens, closes = checkin_window(activity)
    if now < opens:
        raise AttendanceError(
            _l(
                "Check-in opens at %(time)s.",
                time=opens.astimezone(zone).strftime("%Y-%m-%d %H:%M"),
            ),
            409,
            "activity_id",
        )
    if now > closes:
        raise AttendanceError(_l("This activity has finished."), 409, "activity_id")
    return activity


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
                _l("This nonce was already used for another check-in."), 409, "nonce"
            )
    return next(iter(found), None)


def _checkin_values(activity_id, identity, group, nonce, source, at) -> dict:
    return {
        "activity_id": activity_id,
        "identity": identity,
        "person_key": person_key(identity),
        "group": group,
        "nonce": nonce,
        "source": source,
        "checked_in_at": at,
    }


def record_checkin(
    activity,
    identity: str,
    group: BeneficiaryGroup,
    nonce: str,
    source: CheckInSource,
    at: datetime,
) -> tuple[CheckIn, bool]:
    """Store one check-in unless it repeats one; return it and whether it is new.

    The insert goes first, in a savepoint: most scans are new. When a unique constraint stops
    it (a repeat, or a concurrent writer that got there first), the existing row is returned.
    """
    values = _checkin_values(activity.id, identity, group, nonce, source, at)
    try:
        with db.session.begin_nested():
            new_id = db.session.execute(insert(CheckIn).returning(CheckIn.id), values).scalar()
    except IntegrityError:
        existing = _existing_checkin(activity.id, identity, nonce)
        if existing is None:
            raise
        return existing, False
    return CheckIn(id=new_id, **values), True


@cache
def _insert_if_open(dialect: str):
    """INSERT INTO checkins ... SELECT from the activity when it takes check-ins now, doing
    nothing on a conflict (a repeat); built once per dialect, its parameters bound per scan."""
    columns = CheckIn.__table__.c
    names = list(_checkin_values(0, "0" * 64, None, None, None, None))
    open_activity = select(
        Activity.id, *(bindparam(name, type_=columns[name].type) for name in names[1:])
    ).where(
        Activity.id == bindparam("activity_id"),
        Activity.status == ActivityStatus.SCHEDULED,
        Activity.starts_at <= bindparam("opens_by", type_=UTCDateTime),
        Activity.ends_at >= bindparam("closes_after", type_=UTCDateTime),
    )
    insert_into = {"postgresql": pg_insert, "sqlite": sqlite_insert}[dialect]
    return (
        insert_into(CheckIn.__table__)
        .from_select(names, open_activity)
        .on_conflict_do_nothing()
        .returning(columns.id)
    )


def check_in(
    activity_id,
    phone,
    group,
    nonce,
    source: CheckInSource = CheckInSource.API,
    now: datetime | None = None,
) -> tuple[CheckIn, bool]:
    """A person checks in at an activity (QR page or API). The caller commits.

    The hot path of every scan is one statement: INSERT ... SELECT from the activity when it
    is taking check-ins, ON CONFLICT DO NOTHING. Only when nothing was inserted are the
    existing check-in, or else the activity, read to answer why.
    """
    now = now or utcnow()
    nonce = check_nonce(nonce)
    group = parse_group(group)
    identity = parse_identity(phone)
    try:
        activity_id = int(activity_id)
    except (TypeError, ValueError):
        raise AttendanceError(_l("There is no such activity."), 404, "activity_id") from None
    grace = timedelta(minutes=current_app.config["CHECKIN_GRACE_MINUTES"])
    values = _checkin_values(activity_id, identity, group, nonce, source, now)
    params = {**values, "opens_by": now + grace, "closes_after": now - grace}
    connection = db.session.connection()
    new_id = connection.execute(_insert_if_open(connection.dialect.name), params).scalar()
    if new_id is not None:
        return CheckIn(id=new_id, **values), True
    # Nothing inserted: a repeat (the same nonce, or the same person here), or a closed activity.
    existing = _existing_checkin(activity_id, identity, nonce)
    if existing is not None:
        return existing, False
    activity = db.session.execute(
        select(Activity.id, Activity.status, Activity.starts_at, Activity.ends_at, Unit.timezone)
        .join(Activity.station)
        .join(Station.unit)
        .where(Activity.id == activity_id)
    ).first()
    zone = zone_of(activity.timezone if activity else None)
    check_open(activity, now, zone)  # raises with the reason
    raise AttendanceError(_l("This activity is not taking check-ins."), 409, "activity_id")


def activities_on_now(station_id: int, now: datetime) -> list[Activity]:
    """The station's activities taking check-ins at `now`."""
    grace = timedelta(minutes=current_app.config["CHECKIN_GRACE_MINUTES"])
    return list(
        db.session.scalars(
            select(Activity)
            .where(
                Activity.station_id == station_id,
                Activity.status == ActivityStatus.SCHEDULED,
                Activity.starts_at <= now + grace,
                Activity.ends_at >= now - grace,
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
    """A person scans a station's door QR: one visit per day; during an activity there it also
    checks them in to the activity. The caller commits."""
    now = now or utcnow()
    nonce = check_nonce(nonce)
    group = parse_group(group)
    identity = parse_identity(phone)
    if station is None or station.status is not StationStatus.ACTIVE:
        raise AttendanceError(_l("This station is not open."), 404, "station")
    day = now.astimezone(zone_of(station.unit.timezone)).date()  # the station's local day
    visit, created = _record_visit(station.id, identity, group, nonce, day, now)
    result = DoorResult(visit, created)
    for activity in activities_on_now(station.id, now):
        result.checkins.append(
            record_checkin(
                activity,
                identity,
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
            raise AttendanceError(_l("This nonce was already used for another visit."), 409)
        return by_nonce
    return db.session.scalar(
        select(StationVisit).where(
            StationVisit.station_id == station_id,
            StationVisit.identity == identity,
            StationVisit.visit_day == day,
        )
    )


def _record_visit(station_id, identity, group, nonce, day, now) -> tuple[StationVisit, bool]:
    existing = _existing_visit(station_id, identity, day, nonce)
    if existing is not None:
        return existing, False
    visit = StationVisit(
        station_id=station_id,
        identity=identity,
        group=group,
        nonce=nonce,
        visit_day=day,
        visited_at=now,
    )
    try:
        with db.session.begin_nested():
            db.session.add(visit)
    except IntegrityError:
        existing = _existing_visit(station_id, identity, day, nonce)
        if existing is None:
            raise
        return existing, False
    return visit, True


def annul_checkin(checkin: CheckIn, reason: str, user) -> None:
    """Staff annul a mistaken check-in: it stops counting and stays in the history."""
    reason = (reason or "").strip()
    if not reason:
        raise AttendanceError(_l("Say why the check-in is annulled."), 422, "reason")
    if checkin.is_annulled:
        raise AttendanceError(_l("This check-in is already annulled."), 409)
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
        raise AttendanceError(_l("Counts are whole numbers."), 422, group.value) from None
    if count < 0 or count > limit:
        raise AttendanceError(
            _l(
                "The count for %(group)s must be between 0 and %(max)s.",
                group=group.label,
                max=limit,
            ),
            422,
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
        raise AttendanceError(_l("This activity was cancelled."), 409)
    checked = {g: check_count(v, g) for g, v in counts.items()}
    changed = 0
    for group, new in checked.items():
        row = _headcount_row(activity, group)
        old = row.count
        if expected is not None and expected.get(group, 0) != old:
            raise AttendanceError(
                _l("Someone changed these counts meanwhile; check the new figures."), 409
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
                _l("Someone changed these counts meanwhile; check the new figures."), 409
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
    """What a tally upload did: taps newly counted and taps already counted before."""

    accepted: int = 0
    repeated: int = 0


def apply_tally(activity: Activity, taps: list, user) -> TallyResult:
    """Count the +1 taps a phone queued, each once by its nonce; the caller commits.

    A tap is {"nonce": str, "group": code}; "delta" may be -1 to undo the last tap.
    """
    if activity.status is ActivityStatus.CANCELLED:
        raise AttendanceError(_l("This activity was cancelled."), 409)
    if not isinstance(taps, list) or len(taps) > current_app.config["TALLY_BATCH_MAX"]:
        raise AttendanceError(_l("Send a list of taps, at most a few thousand at once."), 400)
    parsed = []
    for tap in taps:
        if not isinstance(tap, dict):
            raise AttendanceError(_l("Each tap needs a nonce and a group."), 400)
        delta = tap.get("delta", 1)
        # JSON true equals 1 and 1.0 equals 1 in Python: only a whole number is a delta.
        if type(delta) is not int or delta not in (1, -1):
            raise AttendanceError(_l("A tap adds or takes away one."), 400)
        parsed.append((check_nonce(tap.get("nonce")), parse_group(tap.get("group")), delta))
    result = TallyResult()
    counted: dict = {}
    for nonce, group, delta in parsed:
        if db.session.scalar(select(HeadcountChange.id).where(HeadcountChange.nonce == nonce)):
            result.repeated += 1
            continue
        row = _headcount_row(activity, group)
        try:
            with db.session.begin_nested():
                moved = db.session.execute(
                    update(Headcount)
                    .where(Headcount.id == row.id, Headcount.count + delta >= 0)
                    .values(count=Headcount.count + delta, updated_by_id=getattr(user, "id", None))
                    .returning(Headcount.count),
                ).scalar()
                if moved is None:  # an undo below zero: nothing to take away
                    result.repeated += 1
                    continue
                counted.setdefault(group, [row.id, moved - delta, moved])[2] = moved
                db.session.add(
                    HeadcountChange(
                        activity_id=activity.id,
                        group=group,
                        old_count=moved - delta,
                        new_count=moved,
                        source=HeadcountSource.TALLY,
                        nonce=nonce,
                        changed_by_id=getattr(user, "id", None),
                    )
                )
                db.session.flush()
        except IntegrityError:
            # The same tap arrived twice at once; the other upload counted it.
            result.repeated += 1
            continue
        result.accepted += 1
    tally_counted(activity, counted)
    db.session.expire_all()
    return result
