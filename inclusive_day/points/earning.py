"""What earns points: each unit's rules (the nearest unit up the tree that set one decides), and
the two awards, for a confirmed volunteer session and for an activity check-in."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import bindparam, func, or_, select
from sqlalchemy.orm import aliased

from inclusive_day.activities.models import Activity
from inclusive_day.attendance.identity import Person
from inclusive_day.attendance.models import CheckIn
from inclusive_day.database import utcnow
from inclusive_day.extensions import db
from inclusive_day.points.ledger import earn_once
from inclusive_day.points.models import EarnRule, EntryReason, PointEntry, PointRule
from inclusive_day.stations.models import Station
from inclusive_day.units.models import Unit
from inclusive_day.volunteers.models import SessionStatus, VolunteerSession

MAX_RULE_POINTS = 10_000


@dataclass(frozen=True)
class Rule:
    """A rule as it applies at a unit: the points, and the unit that set it (None: no rule)."""

    points: int
    set_by: Unit | None


def rule_at(unit: Unit, rule: EarnRule) -> Rule:
    """The rule in force at `unit`: its own, else the nearest ancestor's; 0 points if none."""
    ids = unit.ancestor_ids
    rows = db.session.execute(
        select(PointRule, Unit)
        .join(Unit, Unit.id == PointRule.unit_id)
        .where(PointRule.unit_id.in_(ids), PointRule.rule == rule)
    ).all()
    by_unit = {row.Unit.id: row for row in rows}
    for unit_id in reversed(ids):
        if unit_id in by_unit:
            row = by_unit[unit_id]
            return Rule(row.PointRule.points, row.Unit)
    return Rule(0, None)


def set_rule(unit: Unit, rule: EarnRule, points: int) -> PointRule:
    """Set (or change) what `unit` awards for `rule`; the caller checks the user may edit the
    unit and commits. 0 turns the award off below this unit."""
    existing = db.session.scalars(
        select(PointRule).where(PointRule.unit_id == unit.id, PointRule.rule == rule)
    ).first()
    if existing is None:
        existing = PointRule(unit_id=unit.id, rule=rule, points=points)
        db.session.add(existing)
    existing.points, existing.updated_at = points, utcnow()
    db.session.flush()
    return existing


def session_points(session: VolunteerSession, per_hour: int) -> int:
    """Points for a session's hours: whole points, rounded down, `per_hour` for each hour."""
    return session.minutes * per_hour // 60


def award_session(session: VolunteerSession) -> PointEntry | None:
    """Award a confirmed session's hours to its volunteer, once, by the rule at the station's
    unit. Nothing for a volunteer without a keyed identity, or where no rule awards hours."""
    volunteer = session.volunteer
    if session.status is not SessionStatus.CONFIRMED or volunteer.identity is None:
        return None
    station = db.session.get(Station, session.station_id)
    rule = rule_at(station.unit, EarnRule.VOLUNTEER_HOUR)
    return earn_once(
        Person.of(volunteer.identity),
        session_points(session, rule.points),
        EntryReason.VOLUNTEER_HOURS,
        session_id=session.id,
        station_id=station.id,
        unit_id=rule.set_by.id if rule.set_by else None,
    )


def _activity_rule():
    """SELECT the activity's station and the activity rule nearest above its unit (points and
    the unit that set it; NULLs when none): one statement, on the check-in's hot path."""
    unit, rule_unit = aliased(Unit), aliased(Unit)
    return (
        select(Station.id, PointRule.points, PointRule.unit_id)
        .select_from(Activity)
        .join(Station, Station.id == Activity.station_id)
        .join(unit, unit.id == Station.unit_id)
        .outerjoin(PointRule, PointRule.rule == EarnRule.ACTIVITY)
        .outerjoin(rule_unit, rule_unit.id == PointRule.unit_id)
        .where(
            Activity.id == bindparam("activity_id"),
            or_(PointRule.id.is_(None), unit.path.startswith(rule_unit.path)),
        )
        .order_by(func.length(rule_unit.path).desc())
        .limit(1)
    )


ACTIVITY_RULE = _activity_rule()


def award_checkin(checkin: CheckIn) -> PointEntry | None:
    """Award taking part in an activity, once per check-in, where the unit of the activity's
    station (or the nearest one above it that set a rule) turned activity points on; nothing
    for an annulled check-in."""
    if checkin.annulled_at is not None:
        return None
    row = db.session.execute(ACTIVITY_RULE, {"activity_id": checkin.activity_id}).first()
    if row is None or not row.points:
        return None
    return earn_once(
        Person.of(checkin.identity),
        row.points,
        EntryReason.ACTIVITY,
        checkin_id=checkin.id,
        station_id=row.id,
        unit_id=row.unit_id,
    )
