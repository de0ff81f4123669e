"""The counting rules, in one place.

served (person-times) = staff headcounts + check-ins that are not annulled
unique people        = distinct check-in identities in the scope (counted by their 64-bit
                       person key, see attendance.identity.person_key)
door visits          = station traffic: see attendance.traffic (a door scan during an
                       activity is also a check-in there, counted here as served)

A scope is a list of conditions on Activity (one activity, a station, a campaign, a
subtree, a period, what a user may see). Every page, dashboard and report counts
through these functions, so the same scope gives the same numbers everywhere.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import ColumnElement, CompoundSelect, Select, distinct, func, select, union_all

from inclusive_day.activities.models import Activity
from inclusive_day.attendance.models import BeneficiaryGroup, CheckIn, Headcount
from inclusive_day.extensions import db

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
    counted per activity and group. Summing n over any grouping of the activities gives that
    grouping's served, by the same rule as `totals`."""
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
        select(CheckIn.activity_id, CheckIn.group, func.count())
        .join(Activity, Activity.id == CheckIn.activity_id)
        .where(*scope, standing())
        .group_by(CheckIn.activity_id, CheckIn.group)
    )
    return union_all(heads, checks)


def served_by(key, scope: Scope) -> Select:
    """SELECT (key, served) per value of `key` (a column of Activity, such as its id or its
    station) over the scope's activities that served anyone: the same rule as `served_parts`
    (staff headcounts plus standing check-ins), summed in the database, the check-ins counted
    straight off ix_checkins_standing."""
    heads = (
        select(key.label("key"), func.sum(Headcount.count).label("n"))
        .select_from(Headcount)
        .join(Activity, Activity.id == Headcount.activity_id)
        .where(*scope)
        .group_by(key)
    )
    checks = (
        select(key, func.count())
        .select_from(CheckIn)
        .join(Activity, Activity.id == CheckIn.activity_id)
        .where(*scope, standing())
        .group_by(key)
    )
    parts = union_all(heads, checks).subquery("served_parts")
    return select(parts.c.key, func.sum(parts.c.n).label("served")).group_by(parts.c.key)


def served_by_group(scope: Scope) -> dict[BeneficiaryGroup, int]:
    """Person-times per beneficiary group, headcounts and check-ins together."""
    result = dict.fromkeys(BeneficiaryGroup, 0)
    for group, n in _grouped(_head_columns(), Headcount.group, scope, Headcount):
        result[group] += int(n)
    for group, n, _people in _grouped(
        _checkin_columns(), CheckIn.group, scope, CheckIn, [standing()]
    ):
        result[group] += int(n)
    return result
