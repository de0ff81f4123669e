"""The Kunming demo's stations at work: door traffic, their masters and an assistant, training
and duty shifts, some worker feedback.

- Door traffic (demo.traffic) over the campaign's months, a few more visits on the days the
  stations held activities, and over the last four weeks up to now, so that the live board,
  the monthly traffic notice and the silent-station flag show a living network today.
- Station masters at a dozen stations (among them the Laba porridge station, whose master is
  the demo's `station` account), an assistant at the Beijing Road station; the city's
  training class for administrators in November 2023, the province's demonstration class
  and a first-aid course; all as plain records (no roster service exists yet).
- Duty shifts (demo.roster.generate_duty) at the stations with masters over the campaign's
  months and the last four weeks, and today's: two shifts over by now and the Laba station's
  master on duty now, as if signed on through the station's duty page.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

from sqlalchemy import select

from inclusive_day.auth.models import User
from inclusive_day.demo.roster import generate_duty
from inclusive_day.demo.traffic import generate_door_traffic
from inclusive_day.extensions import db
from inclusive_day.periods import DEFAULT_ZONE
from inclusive_day.staffing.models import AdminRole, DutyShift, StationAdmin, Training
from inclusive_day.stations.models import Station
from inclusive_day.units.models import Unit

ZONE = DEFAULT_ZONE
SEED = 20231019
CAMPAIGN = (date(2023, 10, 19), date(2024, 2, 26))
CAMPAIGN_VISITS = 4_200
RECENT_DAYS = 28
RECENT_VISITS = 900
FEEDBACK_SHARE = 0.006

# (station code, master's name, contact phone, days appointed before the station opened)
MASTERS = (
    ("KM-WH-001", "张丽华", "13888061245", 10),
    ("KM-WH-002", "李秀英", "13987102236", 20),
    ("KM-PL-001", "王建国", "15808713390", 7),
    ("KM-PL-004", "赵红梅", "13708452217", 14),
    ("KM-PL-009", "刘洋", "18687125543", 3),
    ("KM-GD-001", "陈志强", "13529014468", 12),
    ("KM-GD-009", "周桂英", "15912287731", 5),
    ("KM-GD-010", "杨帆", "18908716652", 2),
    ("KM-XS-001", "杨春梅", "13808801127", 9),
    ("KM-XS-004", "黄海涛", "15087133904", 15),
    ("KM-CG-001", "孙国华", "13759466128", 6),
    ("KM-KF-001", "吴晓东", "18213570049", 11),
)
# The Laba porridge station's master, who signs in as the demo's `station` account.
STATION_ACCOUNT = "station"
STATION_ACCOUNT_MASTER = ("马丽萍", "13577190382", 8)
# Stations whose masters have been and gone today (two of them, not the Laba station).
TODAY_OVER = ("KM-PL-004", "KM-GD-009", "KM-WH-002")
# The one assistant: (station code, name, phone, joined).
ASSISTANT = ("KM-PL-004", "何婷", "18787061193", date(2023, 11, 6))
# Training: (course, day, hours, certificate prefix, the stations whose masters took it).
TRAININGS = (
    (
        "云南省总工会工会驿站站长示范培训班",
        date(2023, 9, 20),
        Decimal("24.0"),
        "YNZGH-2023-",
        ("KM-WH-002", "KM-PL-001", "KM-GD-001"),
    ),
    (
        "昆明市总工会2023年工会驿站管理员培训班",
        date(2023, 11, 22),
        Decimal("16.0"),
        "KMZGH-2023-",
        (
            "KM-WH-001",
            "KM-PL-004",
            "KM-PL-009",
            "KM-GD-009",
            "KM-GD-010",
            "KM-XS-001",
            "KM-XS-004",
            "KM-CG-001",
            "KM-KF-001",
            "laba",
        ),
    ),  # fmt: skip
    (
        "应急救护培训（昆明市红十字会）",
        date(2024, 1, 10),
        Decimal("6.0"),
        "",
        ("KM-WH-002", "KM-PL-004", "KM-GD-009", "laba"),
    ),
)


@dataclass(frozen=True)
class Running:
    """What the Kunming stations' running added."""

    visits: int
    visitors: int
    feedback: int
    masters: int
    assistants: int
    trainings: int
    shifts: int
    on_duty: int

    def line(self) -> str:
        """The line the demo load prints."""
        return (
            f"Ran its stations: {self.visits:,} door visits ({self.visitors:,} visitors),"
            f" {self.feedback} ratings and comments, {self.masters} station masters and"
            f" {self.assistants} assistant, {self.trainings} training records,"
            f" {self.shifts:,} duty shifts ({self.on_duty} on duty now)."
        )


def run_stations(city: Unit, stations: list[Station], laba: Station) -> Running:
    """Door traffic, administrators, training and duty for the Kunming stations, in the
    session (the caller commits)."""
    now = datetime.now(UTC)
    today = now.astimezone(ZONE).date()
    by_code = {s.code: s for s in stations}
    admins = _appoint(by_code, laba)
    trainings = _train(admins, laba)
    db.session.flush()
    campaign = generate_door_traffic(
        db.session, city, visits=CAMPAIGN_VISITS, first_day=CAMPAIGN[0], last_day=CAMPAIGN[1],
        seed=SEED + 2, now=now, feedback=FEEDBACK_SHARE,
    )  # fmt: skip
    recent_first = today - timedelta(days=RECENT_DAYS - 1)
    recent = generate_door_traffic(
        db.session, city, visits=RECENT_VISITS, first_day=recent_first, last_day=today,
        seed=SEED + 3, now=now, feedback=FEEDBACK_SHARE,
    )  # fmt: skip
    shifts = 0
    for seed, (first, last) in enumerate(
        (CAMPAIGN, (recent_first, today - timedelta(days=1))), start=SEED + 4
    ):
        shifts += generate_duty(
            db.session, city, first_day=first, last_day=last, seed=seed, now=now
        ).shifts
    today_shifts = _today(admins, laba, now)
    db.session.flush()
    people = {id(a): a for a in admins.values()}.values()
    return Running(
        visits=campaign.visits + recent.visits,
        visitors=campaign.visitors + recent.visitors,
        feedback=campaign.feedback + recent.feedback,
        masters=sum(a.role is AdminRole.MASTER for a in people),
        assistants=sum(a.role is AdminRole.ASSISTANT for a in people),
        trainings=trainings,
        shifts=shifts + len(today_shifts),
        on_duty=sum(s.ended_at is None for s in today_shifts),
    )


def _appoint(by_code: dict[str, Station], laba: Station) -> dict[str, StationAdmin]:
    """The masters (the Laba station's one with the `station` account) and the assistant,
    keyed by station code ("laba" for the Laba station's master unless listed)."""
    admins = {}
    for code, name, phone, before in MASTERS:
        station = by_code[code]
        admins[code] = _admin(station, name, phone, station.opened_on - timedelta(days=before))
    account = db.session.scalar(select(User).where(User.username == STATION_ACCOUNT))
    user = account if account is not None and _manages(account, laba) else None
    if laba.code in admins:
        admins["laba"] = admins[laba.code]
        admins["laba"].user = user
    else:
        name, phone, before = STATION_ACCOUNT_MASTER
        since = laba.opened_on - timedelta(days=before)
        admins["laba"] = _admin(laba, name, phone, since, user=user)
    code, name, phone, joined = ASSISTANT
    admins["assistant"] = _admin(by_code[code], name, phone, joined, AdminRole.ASSISTANT)
    return admins


def _admin(station, name, phone, since, role=AdminRole.MASTER, user=None) -> StationAdmin:
    admin = StationAdmin(station=station, name=name, phone=phone, role=role, since=since, user=user)
    db.session.add(admin)
    return admin


def _manages(user: User, station: Station) -> bool:
    """Whether the account's grants include managing `station`."""
    return any(g.station_id == station.id for g in user.grants)


def _train(admins: dict[str, StationAdmin], laba: Station) -> int:
    """The training records of TRAININGS; how many."""
    count = 0
    for course, day, hours, prefix, codes in TRAININGS:
        for number, code in enumerate(dict.fromkeys(codes), start=1):
            admin = admins.get(code) or admins["laba"]
            if admin.since > day or any(t.course == course for t in admin.trainings):
                continue
            certificate = f"{prefix}{number:04d}" if prefix else ""
            admin.trainings.append(
                Training(course=course, taken_on=day, hours=hours, certificate=certificate)
            )
            count += 1
    return count


def _today(admins: dict[str, StationAdmin], laba: Station, now: datetime) -> list[DutyShift]:
    """Today's shifts: two over by now, and the Laba station's master on duty now."""
    midnight = datetime.combine(now.astimezone(ZONE).date(), time(), ZONE).astimezone(UTC)
    day = midnight.astimezone(ZONE).date()
    shifts = []
    others = [code for code in TODAY_OVER if code != laba.code][:2]
    for hours_ago, code in zip((5, 4), others, strict=True):
        admin = admins[code]
        started = max(midnight, now - timedelta(hours=hours_ago))
        ended = max(started, now - timedelta(minutes=40))
        shifts.append(_shift(admin, day, started, ended))
    master = admins["laba"]
    started = max(midnight, now - timedelta(hours=2))
    shifts.append(_shift(master, day, started, None))
    return shifts


def _shift(admin: StationAdmin, day: date, started: datetime, ended: datetime | None):
    shift = DutyShift(
        admin=admin, station_id=admin.station.id, day=day, started_at=started, ended_at=ended
    )
    db.session.add(shift)
    return shift
