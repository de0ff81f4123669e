"""The counting rules, in one place.

served (person-times) = staff headcounts + check-ins that are not annulled (counted as they
                       arrive, in the analytics table checkin_tallies)
unique people        = distinct check-in identities in the scope (counted by their 64-bit
                       person key, see attendance.identity.person_key)
door visits          = station traffic: see attendance.traffic (a door scan during an
                       activity is also a check-in there, counted here as served)

check-ins under review = the minutes in which an activity took as many live check-ins as its
                       capacity, or in (or before) which check-ins were refused by a limit:
                       their check-ins still count until an organiser annuls them

A scope is a list of conditions on Activity (one activity, a station, a campaign, a
subtree, a period, what a user may see). Every page, dashboard and report counts
through these functions, so the same scope gives the same numbers everywhere.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import (
    ColumnElement,
    CompoundSelect,
    Select,
    distinct,
    func,
    select,
    true,
    union_all,
)

from inclusive_day.activities.models import Activity
from inclusive_day.analytics.models import CheckinTally
from inclusive_day.attendance.models import (
    BeneficiaryGroup,
    CheckIn,
    CheckInMinute,
    CheckInRefusal,
    CheckInSource,
    Headcount,
)
from inclusive_day.extensions import db
from inclusive_day.stations.models import Station

Scope = Sequence[ColumnElement[bool]]


@dataclass(frozen=True)
class Totals:
    """Attendance figures for a scope."""

    headcount: int = 0
    checkins: int = 0
    people: int = 0

    @property
    def served(self) -> int:
        """Person-times: everyone counted by staff plus every standing check-in."""
        return self.headcount + self.checkins


def standing() -> ColumnElement[bool]:
    """A check-in counts until it is annulled."""
    return CheckIn.annulled_at.is_(None)


def _grouped(columns: list, key, scope: Scope, target, extra: Scope = ()):
    """SELECT key, aggregates FROM activities JOIN target WHERE scope [GROUP BY key]."""
    keys = [key] if key is not None else []
    stmt = (
        select(*keys, *columns)
        .select_from(Activity)
        .join(target, target.activity_id == Activity.id)
        .where(*scope, *extra)
    )
    return db.session.execute(stmt.group_by(key) if key is not None else stmt).all()


def _head_columns() -> list:
    return [func.coalesce(func.sum(Headcount.count), 0)]


def _checkin_columns() -> list:
    # count(*) and the person key: both in ix_checkins_standing, so no table rows are read.
    return [func.count(), func.count(distinct(CheckIn.person_key))]


def totals_by(key, scope: Scope) -> dict:
    """Totals per value of `key` (a column of Activity, or one reached by joining from it)."""
    heads = {k: int(n) for k, n in _grouped(_head_columns(), key, scope, Headcount)}
    checks = {
        k: (int(n), int(people))
        for k, n, people in _grouped(_checkin_columns(), key, scope, CheckIn, [standing()])
    }
    result = {}
    for k in heads.keys() | checks.keys():
        n, people = checks.get(k, (0, 0))
        result[k] = Totals(heads.get(k, 0), n, people)
    return result


def totals(scope: Scope) -> Totals:
    """Served and unique people over the whole scope."""
    [(head,)] = _grouped(_head_columns(), None, scope, Headcount)
    [(n, people)] = _grouped(_checkin_columns(), None, scope, CheckIn, [standing()])
    return Totals(int(head), int(n), int(people))


def unique_people(scope: Scope) -> int:
    """Distinct check-in identities over the scope, alone (reports that sum served elsewhere).
    The same figure as `totals(...).people`."""
    return int(db.session.scalar(unique_people_query(scope)) or 0)


def unique_people_query(scope: Scope) -> Select:
    """The statement of `unique_people`, for callers that run it on a connection of their own.

    A count of a DISTINCT subquery, so that PostgreSQL may hash the keys in parallel workers
    rather than sort them: at province scale (millions of check-ins) that halves the time."""
    identities = (
        select(CheckIn.person_key)
        .join(Activity, Activity.id == CheckIn.activity_id)
        .where(*scope, standing())
        .distinct()
        .subquery("identities")
    )
    return select(func.count()).select_from(identities)


def served_parts(scope: Scope) -> CompoundSelect:
    """What "served" adds up over the scope, as SQL for reports to group further in the
    database: rows (activity_id, group, n), the staff headcounts and the standing check-ins
    per activity and group (as the analytics table checkin_tallies keeps them). Summing n
    over any grouping of the activities gives that grouping's served, by the same rule as
    `totals`."""
    heads = (
        select(
            Headcount.activity_id.label("activity_id"),
            Headcount.group.label("group"),
            Headcount.count.label("n"),
        )
        .join(Activity, Activity.id == Headcount.activity_id)
        .where(*scope)
    )
    checks = (
        select(CheckinTally.activity_id, CheckinTally.group, CheckinTally.checkins)
        .join(Activity, Activity.id == CheckinTally.activity_id)
        .where(*scope)
    )
    return union_all(heads, checks)


def served_by(key, scope: Scope) -> Select:
    """SELECT (key, served) per value of `key` (a column of Activity, such as its id or its
    station) over the scope's activities that served anyone: the same rule as `served_parts`
    (staff headcounts plus standing check-ins), summed in the database from the headcounts
    and the analytics table checkin_tallies."""
    heads = (
        select(key.label("key"), func.sum(Headcount.count).label("n"))
        .select_from(Headcount)
        .join(Activity, Activity.id == Headcount.activity_id)
        .where(*scope)
        .group_by(key)
    )
    checks = (
        select(key, func.sum(CheckinTally.checkins))
        .select_from(CheckinTally)
        .join(Activity, Activity.id == CheckinTally.activity_id)
        .where(*scope)
        .group_by(key)
    )
    parts = union_all(heads, checks).subquery("served_parts")
    return select(parts.c.key, func.sum(parts.c.n).label("served")).group_by(parts.c.key)


def served_by_group(scope: Scope) -> dict[BeneficiaryGroup, int]:
    """Person-times per beneficiary group, headcounts and check-ins together."""
    result = dict.fromkeys(BeneficiaryGroup, 0)
    for group, n in _grouped(_head_columns(), Headcount.group, scope, Headcount):
        result[group] += int(n)
    for group, n in _grouped(
        [func.sum(CheckinTally.checkins)], CheckinTally.group, scope, CheckinTally
    ):
        result[group] += int(n or 0)
    return result


@dataclass(frozen=True)
class Burst:
    """One minute of an activity's check-ins under review."""

    activity_id: int
    title: str
    station: str
    minute: datetime
    accepted: int  # live check-ins the activity took in that minute
    standing: int  # of those, the ones still counting (not annulled)
    refused: int  # check-ins refused by a limit in that minute
    addresses: int  # the client addresses those came from

    @property
    def stamp(self) -> int:
        """The minute as seconds since the epoch, for links and forms."""
        return int(self.minute.timestamp())


def bursts_under_review(scope: Scope, still_counting: bool = False, limit: int | None = None):
    """The minutes under review of the scope's activities, oldest first (with
    `still_counting`, only those with check-ins not yet annulled). One query: the standing
    and refused figures are read per minute under review, through the indexes, never by
    scanning the scope's check-ins."""

    def per_minute(column, *where):
        return select(column).where(*where).correlate(CheckInMinute).scalar_subquery()

    in_minute = (
        CheckIn.activity_id == CheckInMinute.activity_id,
        CheckIn.checked_in_at >= CheckInMinute.minute,
        CheckIn.checked_in_at < CheckInMinute.minute_end,
        CheckIn.source != CheckInSource.PAPER,
    )
    refused_in_minute = (
        CheckInRefusal.activity_id == CheckInMinute.activity_id,
        CheckInRefusal.minute == CheckInMinute.minute,
    )
    minutes = (
        select(
            CheckInMinute.activity_id,
            Activity.title,
            Station.name.label("station"),
            CheckInMinute.minute,
            CheckInMinute.accepted,
            per_minute(func.count(CheckIn.id), *in_minute, standing()).label("standing"),
            per_minute(func.coalesce(func.sum(CheckInRefusal.count), 0), *refused_in_minute).label(
                "refused"
            ),
            per_minute(func.count(distinct(CheckInRefusal.address_hash)), *refused_in_minute).label(
                "addresses"
            ),
        )
        .join(Activity, Activity.id == CheckInMinute.activity_id)
        .join(Station, Station.id == Activity.station_id)
        .where(CheckInMinute.under_review == true(), *scope)
        .subquery("minutes")
    )
    stmt = select(minutes).order_by(minutes.c.minute, minutes.c.activity_id)
    if still_counting:
        stmt = stmt.where(minutes.c.standing > 0)
    if limit is not None:
        stmt = stmt.limit(limit)
    return [Burst(**row._mapping) for row in db.session.execute(stmt)]
