"""The Kunming demo's volunteers: the Finance and Trade Charity Service Station's free haircut
team (财贸爱心服务站义剪志愿服务队), already the demo's volunteer-team sponsor, with its
members, a season of haircut sessions at the campaign's haircut activities and a monthly
session at one station between them, confirmed by the city organiser so their hours earn
points (10 a hour, the city's rule); the last two monthly sessions still await confirmation.

Its own random draws (SEED), so the rest of the demo stays as it was.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, datetime, time

from sqlalchemy import select

from inclusive_day.activities.models import Activity
from inclusive_day.auth.models import User
from inclusive_day.extensions import db
from inclusive_day.periods import DEFAULT_ZONE
from inclusive_day.points.earning import set_rule
from inclusive_day.points.models import EarnRule
from inclusive_day.sponsors.models import Sponsor
from inclusive_day.stations.models import Station
from inclusive_day.units.models import Unit
from inclusive_day.volunteers.models import Skill, VolunteerSession
from inclusive_day.volunteers.services import (
    MemberFields,
    SessionFields,
    TeamFields,
    VolunteerError,
    confirm_session,
    log_session,
    save_member,
    save_team,
)

SEED = 20240312
SPONSOR_KEY = "barbers"
TEAM_UNIT = "PL"
CITY_CODE = "530100"
ORGANISER = "kunming"
POINTS_PER_HOUR = 10
# (name, demo mobile or None, joined on). A demo mobile gives the member an identity, so
# their confirmed hours earn points; the number itself is never stored.
MEMBERS = (
    ("张丽华", "19908710001", date(2021, 3, 5)),
    ("李建国", "19908710002", date(2021, 3, 5)),
    ("王秀英", "19908710003", date(2021, 9, 1)),
    ("赵志强", None, date(2022, 3, 5)),
    ("刘美玲", "19908710005", date(2022, 6, 12)),
    ("陈德明", None, date(2022, 10, 20)),
    ("杨春燕", "19908710007", date(2023, 3, 5)),
    ("周永福", None, date(2023, 5, 1)),
)
# The monthly haircut afternoon at the team's home station, between the campaign's activities.
MONTHLY = (
    date(2023, 10, 25),
    date(2023, 11, 22),
    date(2023, 12, 20),
    date(2024, 1, 17),
    date(2024, 2, 21),
)
MONTHLY_HOURS = (time(14, 0), time(17, 0))
STILL_LOGGED = 2  # monthly afternoons (of two sessions each) left for the station to confirm


@dataclass(frozen=True)
class VolunteersLoaded:
    """What the volunteers' part of the demo made."""

    members: int
    sessions: int
    confirmed: int


def load_volunteers(
    units: dict[str, Unit],
    stations: list[Station],
    sponsors: dict[str, Sponsor],
    activities: list[Activity],
    plans: list,
) -> VolunteersLoaded:
    """The haircut team, its members and their sessions (the caller commits)."""
    rng = random.Random(SEED)
    home = units[TEAM_UNIT]
    team = save_team(
        None,
        home,
        TeamFields(
            name=sponsors[SPONSOR_KEY].name,
            description="每月定期到工会驿站为环卫工人、快递小哥、外卖骑手等户外劳动者免费理发。",
            leader_name=MEMBERS[0][0],
            sponsor=sponsors[SPONSOR_KEY],
        ),
    )
    members = [
        save_member(
            team,
            None,
            MemberFields(name=name, skills=("haircut",), mobile=mobile or "", joined_on=joined),
        )
        for name, mobile, joined in MEMBERS
    ]
    organiser = db.session.scalar(select(User).where(User.username == ORGANISER))
    logged: list[VolunteerSession] = []
    haircuts = [a for a, p in zip(activities, plans, strict=True) if p.theme == "haircut"]
    for activity in haircuts:
        for member in rng.sample(members, rng.randint(2, 4)):
            fields = SessionFields(
                station=activity.station,
                activity=activity,
                skill=Skill.HAIRCUT,
                starts_at=activity.starts_at,
                ends_at=activity.ends_at,
            )
            try:
                logged.append(log_session(member, fields, organiser))
            except VolunteerError:  # at another haircut activity at the same time
                continue
    station = next(s for s in stations if s.unit.path.startswith(home.path))
    for day in MONTHLY:
        for member in rng.sample(members, 2):
            starts, ends = (datetime.combine(day, t, tzinfo=DEFAULT_ZONE) for t in MONTHLY_HOURS)
            fields = SessionFields(
                station=station,
                skill=Skill.HAIRCUT,
                starts_at=starts,
                ends_at=ends,
                served=rng.randint(12, 30),
                note="驿站月度义剪",
            )
            logged.append(log_session(member, fields, organiser))
    set_rule(units[CITY_CODE], EarnRule.VOLUNTEER_HOUR, POINTS_PER_HOUR)
    to_confirm = logged[: -STILL_LOGGED * 2]
    for session in to_confirm:
        confirm_session(session, organiser)
    return VolunteersLoaded(len(members), len(logged), len(to_confirm))
