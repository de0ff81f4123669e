"""Reading volunteer hours: a subtree's over a period (the recap and the API count through
`hours_under`), a team's and a member's, and the sessions a station has to confirm.

Only confirmed sessions count as hours. People served at a team's sessions are the `served`
typed at its sessions outside activities plus the served of the distinct activities its
sessions were at, counted by attendance.queries' rule (never a second rule here).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import distinct, func, select
from sqlalchemy.orm import joinedload

from inclusive_day.access.rule import Action, visible
from inclusive_day.activities.models import Activity
from inclusive_day.attendance.queries import totals
from inclusive_day.extensions import db
from inclusive_day.periods import DEFAULT_ZONE, Month, local_day
from inclusive_day.stations.models import Station
from inclusive_day.volunteers.models import (
    SessionStatus,
    Volunteer,
    VolunteerSession,
    VolunteerTeam,
)

CONFIRMED = VolunteerSession.status == SessionStatus.CONFIRMED


def hours_of(minutes: int) -> float:
    """Minutes as hours to one decimal place, as pages and certificates show them."""
    return round((minutes or 0) / 60, 1)


@dataclass(frozen=True)
class VolunteerHours:
    """Confirmed volunteer service over a scope: minutes, sessions, and distinct volunteers
    and teams who served them."""

    minutes: int = 0
    sessions: int = 0
    volunteers: int = 0
    teams: int = 0

    @property
    def hours(self) -> float:
        """The minutes as hours, to one decimal place."""
        return hours_of(self.minutes)


def hours_under(unit_path: str, start: datetime, end: datetime) -> VolunteerHours:
    """Confirmed sessions at the stations under `unit_path` starting in [start, end) (UTC
    instants; a recap passes its local days' range): the one count of hours over a subtree
    and period, read by the recap page, its PDF and the API."""
    row = db.session.execute(
        select(
            func.coalesce(func.sum(VolunteerSession.minutes), 0),
            func.count(VolunteerSession.id),
            func.count(distinct(VolunteerSession.volunteer_id)),
            func.count(distinct(VolunteerSession.team_id)),
        ).where(
            CONFIRMED,
            VolunteerSession.station_id.in_(select(Station.id).where(Station.under(unit_path))),
            VolunteerSession.starts_at >= start,
            VolunteerSession.starts_at < end,
        )
    ).one()
    return VolunteerHours(int(row[0]), int(row[1]), int(row[2]), int(row[3]))


# ---- teams ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class TeamRow:
    """A team in the list: its confirmed hours and its current members."""

    team: VolunteerTeam
    minutes: int
    members: int

    @property
    def hours(self) -> float:
        return hours_of(self.minutes)


def visible_teams(user) -> list[TeamRow]:
    """The teams `user` may see, by name, with confirmed hours and active members (3 queries)."""
    teams = list(
        db.session.scalars(
            select(VolunteerTeam)
            .where(visible(user, Action.VIEW, VolunteerTeam))
            .options(joinedload(VolunteerTeam.unit))
            .order_by(VolunteerTeam.name)
        )
    )
    ids = [t.id for t in teams]
    minutes = team_minutes(ids)
    members = dict(
        db.session.execute(
            select(Volunteer.team_id, func.count())
            .where(Volunteer.team_id.in_(ids), Volunteer.left_on.is_(None))
            .group_by(Volunteer.team_id)
        ).all()
    )
    return [TeamRow(t, minutes.get(t.id, 0), int(members.get(t.id, 0))) for t in teams]


def team_minutes(team_ids: list[int]) -> dict[int, int]:
    """Confirmed minutes per team."""
    if not team_ids:
        return {}
    rows = db.session.execute(
        select(VolunteerSession.team_id, func.sum(VolunteerSession.minutes))
        .where(CONFIRMED, VolunteerSession.team_id.in_(team_ids))
        .group_by(VolunteerSession.team_id)
    )
    return {team_id: int(n) for team_id, n in rows}


def members_of(team_id: int) -> list[Volunteer]:
    """A team's members, current first, by name."""
    return list(
        db.session.scalars(
            select(Volunteer)
            .where(Volunteer.team_id == team_id)
            .order_by(Volunteer.left_on.is_not(None), Volunteer.name)
        )
    )


def member_minutes(team_id: int) -> dict[int, int]:
    """Confirmed minutes per member of a team."""
    rows = db.session.execute(
        select(VolunteerSession.volunteer_id, func.sum(VolunteerSession.minutes))
        .where(CONFIRMED, VolunteerSession.team_id == team_id)
        .group_by(VolunteerSession.volunteer_id)
    )
    return {volunteer_id: int(n) for volunteer_id, n in rows}


@dataclass(frozen=True)
class Bucket:
    """A month or a station with the confirmed minutes and sessions in it."""

    key: str
    name: str
    minutes: int
    sessions: int

    @property
    def hours(self) -> float:
        return hours_of(self.minutes)


@dataclass(frozen=True)
class Service:
    """Confirmed service of a team or a member: totals, by month and by station, the first
    and last local day served, and the people served at their sessions."""

    minutes: int = 0
    sessions: int = 0
    months: tuple[Bucket, ...] = ()
    stations: tuple[Bucket, ...] = ()
    first_day: date | None = None
    last_day: date | None = None
    served: int = 0

    @property
    def hours(self) -> float:
        return hours_of(self.minutes)


def service(*where, zone: ZoneInfo = DEFAULT_ZONE) -> Service:
    """Confirmed service of the sessions matching `where` (a team's, a member's)."""
    scope = [CONFIRMED, *where]
    day = local_day(VolunteerSession.starts_at, zone)
    by_day = db.session.execute(
        select(day, func.sum(VolunteerSession.minutes), func.count())
        .where(*scope)
        .group_by(day)
        .order_by(day)
    ).all()
    months: dict[Month, list[int]] = defaultdict(lambda: [0, 0])
    for d, minutes, n in by_day:
        bucket = months[Month(d.year, d.month)]
        bucket[0] += int(minutes)
        bucket[1] += int(n)
    stations = db.session.execute(
        select(Station.id, Station.name, func.sum(VolunteerSession.minutes), func.count())
        .join(Station, Station.id == VolunteerSession.station_id)
        .where(*scope)
        .group_by(Station.id, Station.name)
        .order_by(func.sum(VolunteerSession.minutes).desc(), Station.name)
    ).all()
    typed = db.session.scalar(
        select(func.coalesce(func.sum(VolunteerSession.served), 0)).where(
            *scope, VolunteerSession.activity_id.is_(None)
        )
    )
    at_activities = (
        select(VolunteerSession.activity_id)
        .where(*scope, VolunteerSession.activity_id.is_not(None))
        .distinct()
    )
    served = int(typed or 0) + totals([Activity.id.in_(at_activities)]).served
    return Service(
        minutes=sum(m for m, _n in months.values()),
        sessions=sum(n for _m, n in months.values()),
        months=tuple(
            Bucket(str(m), str(m), v[0], v[1])
            for m, v in sorted(months.items(), key=lambda kv: str(kv[0]))
        ),
        stations=tuple(Bucket(str(i), name, int(m), int(n)) for i, name, m, n in stations),
        first_day=by_day[0][0] if by_day else None,
        last_day=by_day[-1][0] if by_day else None,
        served=served,
    )


def sessions_of(*where, limit: int = 200) -> list[VolunteerSession]:
    """Sessions matching `where`, latest first, with what the list shows loaded."""
    return list(
        db.session.scalars(
            select(VolunteerSession)
            .where(*where)
            .options(
                joinedload(VolunteerSession.volunteer),
                joinedload(VolunteerSession.station),
                joinedload(VolunteerSession.activity),
            )
            .order_by(VolunteerSession.starts_at.desc())
            .limit(limit)
        )
    )


def awaiting(station_id: int) -> list[VolunteerSession]:
    """A station's sessions awaiting confirmation, oldest first, with their volunteers and
    teams."""
    return list(
        db.session.scalars(
            select(VolunteerSession)
            .where(
                VolunteerSession.station_id == station_id,
                VolunteerSession.status == SessionStatus.LOGGED,
            )
            .options(
                joinedload(VolunteerSession.volunteer),
                joinedload(VolunteerSession.team),
                joinedload(VolunteerSession.activity),
            )
            .order_by(VolunteerSession.starts_at)
        )
    )


def count_awaiting(station_id: int) -> int:
    """How many of a station's sessions await confirmation."""
    return int(
        db.session.scalar(
            select(func.count()).where(
                VolunteerSession.station_id == station_id,
                VolunteerSession.status == SessionStatus.LOGGED,
            )
        )
        or 0
    )
