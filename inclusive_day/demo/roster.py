"""The people who run a subtree's stations, for the demos and benches: administrators, their
training and a year of duty shifts, written in bulk (demo.bulk).

Shanxi "trained more than 200 front-line administrators" in two training classes, watches
"administrator attendance" from its applet and ranks the "top 100 station masters". Here:

- `generate_roster`: a station master for most stations that are open (about one in twelve
  is left without one, some of those because their master left), a few masters who handed
  over to a successor, former masters of closed stations, assistants at some stations; the
  province's two training classes (a couple of hundred masters at the full size, with
  certificates), each city's own courses and an online course; then `generate_duty`.
- `generate_duty`: for the stations with opening hours (24-hour stations expect no one), a
  shift on most days each was open, signed on about opening time and off about closing
  time, by its master or now and then an assistant; how often varies by city and station,
  so that duty attendance ranks places differently from traffic, and falls around the
  Spring Festival. On today's date, shifts that have begun and not yet ended are open: the
  administrators on duty now (at least a handful, whatever the hour).

Names come from the surname and given-name lists of demo.places, phone numbers are mobile
numbers; no administrator has an account. The same seed, days and `now` give the same rows.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from inclusive_day.demo.bulk import BulkWriter
from inclusive_day.demo.people import mobile
from inclusive_day.demo.places import Names
from inclusive_day.demo.traffic import (
    Clock,
    SiteRow,
    running_stations,
    spring_festival_factor,
)
from inclusive_day.periods import zone_of
from inclusive_day.staffing.models import AdminRole, DutyShift, StationAdmin, Training
from inclusive_day.stations.models import Station
from inclusive_day.units.models import Unit, under

DAY = 86_400
HOUR = 3_600

# Stations open at the end of the span that have a master; of the others, those whose master
# left during it. Masters who handed over to a successor; stations with an assistant, and of
# those, with a second.
MASTER_SHARE = 0.92
LEFT_SHARE = 0.5
HANDOVER_SHARE = 0.08
ASSISTANT_SHARE = 0.25
SECOND_ASSISTANT_SHARE = 0.2
APPOINTED_BEFORE_OPENING = 30

# The province's training classes: the share of its masters each takes (Shanxi's "more than
# 200" of about 6,000 over two classes), how long, and when in the span.
PROVINCE_CLASSES = ((0.3, "第一期"), (0.7, "第二期"))
PROVINCE_CLASS_SHARE = 0.012
PROVINCE_CLASS_HOURS = Decimal("24.0")
# Each city's own courses: (name, hours); the share of its administrators that take one.
CITY_COURSES = (
    ("工会驿站站长业务培训班", Decimal("8.0")),
    ("工会驿站运维与应急救护培训", Decimal("6.0")),
    ("工会驿站服务规范专题培训", Decimal("4.0")),
)
CITY_COURSE_SHARE = (0.1, 0.35)
ONLINE_COURSE = ("工会基础知识线上学习", Decimal("2.0"))
ONLINE_SHARE = 0.08

# Duty: the share of a station's open days someone signs on, by city, then station.
CITY_ATTENDANCE = (0.55, 0.97)
STATION_ATTENDANCE_SPREAD = 0.08
ASSISTANT_DUTY = 0.2
EARLY_LEAVE = 0.08
# Administrators on duty now, at the least, when the span ends today.
HANDFUL = 5

ADMIN_COLUMNS = (
    "id",
    "station_id",
    "user_id",
    "name",
    "phone",
    "role",
    "since",
    "until",
    "created_at",
)
TRAINING_COLUMNS = ("id", "admin_id", "course", "taken_on", "hours", "certificate", "created_at")
SHIFT_COLUMNS = ("id", "admin_id", "station_id", "day", "started_at", "ended_at")


@dataclass(frozen=True)
class DutySummary:
    """What `generate_duty` wrote: shifts, and how many of them are open (on duty now)."""

    shifts: int
    on_duty: int


@dataclass(frozen=True)
class RosterSummary:
    """What `generate_roster` wrote."""

    admins: int
    # Current masters and assistants, and those who left.
    masters: int
    assistants: int
    former: int
    # Stations open at the end of the span without a current master.
    without_master: int
    trainings: int
    trained: int
    shifts: int
    on_duty: int


@dataclass(slots=True)
class _Admin:
    """An administrator before the row is written."""

    id: int
    station_id: int
    city_id: int
    role: str
    since: date
    until: date | None

    def serves_on(self, day: date) -> bool:
        """True while the person runs the station on `day`."""
        return self.since <= day and (self.until is None or day <= self.until)


def generate_roster(
    session: Session,
    unit: Unit,
    *,
    first_day: date,
    last_day: date,
    seed: int,
    now: datetime | None = None,
    writer: BulkWriter | None = None,
) -> RosterSummary:
    """Write administrators for the stations of `unit`'s subtree, their training over the
    local days first_day to last_day and their duty shifts (generate_duty), in the session's
    transaction (the caller commits)."""
    now = now or datetime.now(UTC)
    zone = zone_of(unit.timezone)
    last_day = min(last_day, now.astimezone(zone).date())
    writer = writer or BulkWriter(session)
    tables = (StationAdmin.__table__, Training.__table__)
    writer.lock(tables)
    rng = random.Random(seed)
    names = Names(rng)
    sites = running_stations(session, unit, first_day, last_day) if last_day >= first_day else []
    admins = _appoint(sites, last_day, writer.first_id(StationAdmin.__table__), rng)
    now_epoch = int(now.timestamp())
    writer.write(
        StationAdmin.__table__,
        ADMIN_COLUMNS,
        (
            (
                a.id,
                a.station_id,
                None,
                names.full_name(),
                mobile(rng),
                a.role,
                writer.day(a.since),
                writer.day(a.until),
                writer.stamp(min(_epoch(a.since, zone, time(9)), now_epoch)),
            )
            for a in admins
        ),
    )
    trainings = _train(session, unit, admins, first_day, last_day, rng)
    first = writer.first_id(Training.__table__)
    writer.write(
        Training.__table__,
        TRAINING_COLUMNS,
        (
            (
                first + k,
                admin_id,
                course,
                writer.day(day),
                writer.amount(hours),
                certificate,
                writer.stamp(min(_epoch(day, zone, time(18)), now_epoch)),
            )
            for k, (admin_id, course, day, hours, certificate) in enumerate(trainings)
        ),
    )
    writer.fix_sequences(tables)
    duty = generate_duty(
        session,
        unit,
        first_day=first_day,
        last_day=last_day,
        seed=rng.getrandbits(32),
        now=now,
        writer=writer,
    )
    running = {s.id for s in sites if s.closed_on is None or s.closed_on > last_day}
    current = [a for a in admins if a.until is None]
    mastered = {a.station_id for a in current if a.role == AdminRole.MASTER.value}
    return RosterSummary(
        admins=len(admins),
        masters=len(mastered),
        assistants=sum(a.role == AdminRole.ASSISTANT.value for a in current),
        former=len(admins) - len(current),
        without_master=len(running - mastered),
        trainings=len(trainings),
        trained=len({t[0] for t in trainings}),
        shifts=duty.shifts,
        on_duty=duty.on_duty,
    )


def _appoint(sites: list[SiteRow], last: date, first_id: int, rng: random.Random) -> list[_Admin]:
    """Masters, former masters and assistants of the stations, in station order."""
    admins: list[_Admin] = []
    master, assistant = AdminRole.MASTER.value, AdminRole.ASSISTANT.value

    def add(site: SiteRow, role: str, since: date, until: date | None) -> None:
        admins.append(_Admin(first_id + len(admins), site.id, site.city_id, role, since, until))

    for site in sites:
        appointed = site.opened_on - timedelta(days=rng.randint(0, APPOINTED_BEFORE_OPENING))
        span = (last - appointed).days
        if site.closed_on is not None and site.closed_on <= last:
            add(site, master, appointed, max(appointed, site.closed_on - timedelta(days=1)))
            continue
        if rng.random() >= MASTER_SHARE:
            if span > 60 and rng.random() < LEFT_SHARE:
                add(site, master, appointed, appointed + timedelta(days=rng.randint(30, span - 1)))
            continue
        since = appointed
        if span > 200 and rng.random() < HANDOVER_SHARE:
            since = appointed + timedelta(days=rng.randint(90, span - 30))
            add(site, master, appointed, since - timedelta(days=1))
        add(site, master, since, None)
        if rng.random() < ASSISTANT_SHARE:
            helpers = 2 if rng.random() < SECOND_ASSISTANT_SHARE else 1
            for _ in range(helpers):
                joined = since + timedelta(days=rng.randint(0, 180))
                add(site, assistant, min(joined, last), None)
    return admins


def _train(
    session: Session,
    unit: Unit,
    admins: list[_Admin],
    first: date,
    last: date,
    rng: random.Random,
) -> list[tuple[int, str, date, Decimal, str]]:
    """(admin id, course, day, hours, certificate) of the training the administrators took:
    the province's classes, their cities' courses, an online course."""
    if not admins or last < first:
        return []
    span = (last - first).days
    records = []
    masters = [a for a in admins if a.role == AdminRole.MASTER.value]
    per_class = max(1, round(len({a.station_id for a in masters}) * PROVINCE_CLASS_SHARE))
    taken: set[int] = set()
    for number, (share, label) in enumerate(PROVINCE_CLASSES, start=1):
        day = _weekday(first + timedelta(days=round(span * share)), first, last)
        eligible = [a for a in masters if a.serves_on(day) and a.id not in taken]
        chosen = sorted(rng.sample(eligible, min(per_class, len(eligible))), key=lambda a: a.id)
        for seq, admin in enumerate(chosen, start=1):
            taken.add(admin.id)
            certificate = f"{unit.code or unit.id}-{day.year}-{number:02d}-{seq:04d}"
            records.append(
                (admin.id, f"{unit.name}{label}工会驿站管理员培训班", day, PROVINCE_CLASS_HOURS,
                 certificate)
            )  # fmt: skip
    city_names = dict(
        session.execute(
            select(Unit.id, Unit.name).where(
                Unit.id.in_(sorted({a.city_id for a in admins})), under(Unit.path, unit.path)
            )
        ).all()
    )
    by_city: dict[int, list[_Admin]] = {}
    for admin in admins:
        by_city.setdefault(admin.city_id, []).append(admin)
    for city_id, staff in sorted(by_city.items()):
        course, hours = rng.choice(CITY_COURSES)
        day = _weekday(first + timedelta(days=rng.randint(min(14, span), span)), first, last)
        eligible = [a for a in staff if a.serves_on(day)]
        share = rng.uniform(*CITY_COURSE_SHARE)
        for admin in rng.sample(eligible, round(len(eligible) * share)):
            records.append((admin.id, f"{city_names.get(city_id, '')}{course}", day, hours, ""))
    online, hours = ONLINE_COURSE
    for admin in admins:
        if rng.random() < ONLINE_SHARE:
            start, end = max(first, admin.since), min(last, admin.until or last)
            if start <= end:
                day = start + timedelta(days=rng.randint(0, (end - start).days))
                records.append((admin.id, online, day, hours, ""))
    return sorted(records, key=lambda r: (r[2], r[0]))


def _weekday(day: date, first: date, last: date) -> date:
    """The working day nearest after `day` within [first, last] (or before it), else `day`."""
    for step in (1, -1):
        moved = day
        while moved.weekday() >= 5:
            moved += timedelta(days=step)
        if first <= moved <= last:
            return moved
    return day


def generate_duty(
    session: Session,
    unit: Unit,
    *,
    first_day: date,
    last_day: date,
    seed: int,
    now: datetime | None = None,
    writer: BulkWriter | None = None,
    handful: int = HANDFUL,
) -> DutySummary:
    """Write duty shifts at the stations of `unit`'s subtree with opening hours over the
    local days first_day to last_day, by their administrators (read from the database), in
    the session's transaction (the caller commits). When the span ends today, shifts under
    way now stay open, and at least `handful` administrators are on duty now. A big load
    (demo.bulk.SUSPEND_FROM station-days) rebuilds the table's indexes and keys on
    PostgreSQL, which locks it until the commit."""
    now = now or datetime.now(UTC)
    zone = zone_of(unit.timezone)
    today = now.astimezone(zone).date()
    last_day = min(last_day, today)
    writer = writer or BulkWriter(session)
    table = DutyShift.__table__
    writer.lock((table,))
    rng = random.Random(seed)
    sites = running_stations(session, unit, first_day, last_day) if last_day >= first_day else []
    staff = _staff(session, unit)
    days = (last_day - first_day).days + 1 if sites else 0
    calendar = [first_day + timedelta(days=d) for d in range(days)]
    midnights = [_epoch(day, zone) for day in calendar]
    day_values = [writer.day(day) for day in calendar]
    festival = [spring_festival_factor(day) for day in calendar]
    now_epoch = int(now.timestamp())
    today_index = days - 1 if days and last_day == today else None
    cities: dict[int, float] = {}
    clocks: dict[tuple[bool, str], Clock] = {}
    first_id = shift_id = writer.first_id(table)
    on_duty: set[int] = set()
    # When each administrator's shift today ended (those that have).
    today_ended: dict[int, int] = {}
    stamp, random_ = writer.stamp, rng.random
    station_days = sum(
        (days if s.ends_on is None else min(days, (s.ends_on - first_day).days))
        - max(0, (s.opened_on - first_day).days)
        for s in sites
        if s.id in staff
    )
    with writer.suspended((table,), station_days), writer.sink(table, SHIFT_COLUMNS) as put:
        for site in sites:
            people = staff.get(site.id)
            city = cities.setdefault(site.city_id, rng.uniform(*CITY_ATTENDANCE))
            rate = min(0.995, max(0.1, rng.gauss(city, STATION_ATTENDANCE_SPREAD)))
            if not people or site.open_24h or not site.opening_hours:
                continue
            key = (site.open_24h, site.opening_hours)
            clock = clocks.get(key) or clocks.setdefault(key, Clock(*key))
            opens, length = clock.opens, clock.closes - clock.opens
            start = max(0, (site.opened_on - first_day).days)
            end = days if site.ends_on is None else min(days, (site.ends_on - first_day).days)
            for d in range(start, end):
                if random_() >= rate * festival[d]:
                    continue
                admin = _on_duty(people, calendar[d], random_)
                if admin is None:
                    continue
                began = midnights[d] + opens + int((random_() - 0.6) * 1800)
                if random_() < EARLY_LEAVE:
                    ended = began + int(length * (0.3 + 0.5 * random_()))
                else:
                    ended = midnights[d] + opens + length + int((random_() - 0.3) * 1800)
                if d == today_index:
                    if began > now_epoch:
                        continue
                    if ended <= now_epoch:
                        today_ended[admin] = ended
                    else:
                        on_duty.add(admin)
                        put((shift_id, admin, site.id, day_values[d], stamp(began), None))
                        shift_id += 1
                        continue
                put((shift_id, admin, site.id, day_values[d], stamp(began), stamp(ended)))
                shift_id += 1
        if today_index is not None and len(on_duty) < handful:
            shift_id = _call_in(
                sites, staff, today, today_ended, on_duty, handful, shift_id, put,
                (stamp, day_values[today_index], midnights[today_index], now_epoch), rng,
            )  # fmt: skip
    writer.fix_sequences((table,))
    return DutySummary(shifts=shift_id - first_id, on_duty=len(on_duty))


def _staff(session: Session, unit: Unit) -> dict[int, list[tuple[int, str, date, date | None]]]:
    """Each station's administrators: (id, role, since, until), masters first."""
    rows = session.execute(
        select(
            StationAdmin.station_id,
            StationAdmin.id,
            StationAdmin.role,
            StationAdmin.since,
            StationAdmin.until,
        )
        .join(Station, Station.id == StationAdmin.station_id)
        .join(Unit, Unit.id == Station.unit_id)
        .where(under(Unit.path, unit.path))
        .order_by(StationAdmin.station_id, StationAdmin.role.desc(), StationAdmin.id)
    )
    staff: dict[int, list[tuple[int, str, date, date | None]]] = {}
    for station_id, admin_id, role, since, until in rows:
        staff.setdefault(station_id, []).append((admin_id, role.value, since, until))
    return staff


def _on_duty(people, day: date, random) -> int | None:
    """Who signs on at a station on `day`: its master, now and then an assistant, or an
    assistant when there is no master then; None when no one runs it."""
    master = helpers = None
    for admin_id, role, since, until in people:
        if since <= day and (until is None or day <= until):
            if role == AdminRole.MASTER.value:
                master = master or admin_id
            else:
                helpers = helpers or []
                helpers.append(admin_id)
    if helpers and (master is None or random() < ASSISTANT_DUTY):
        return helpers[int(random() * len(helpers))]
    return master


def _call_in(sites, staff, today, today_ended, on_duty, handful, shift_id, put, now, rng) -> int:
    """Open shifts for a few more administrators (back for the evening, or in for an errand),
    begun within the last hour and a half and after any shift of theirs today ended, so that
    at least `handful` are on duty now; returns the next shift id."""
    stamp, day_value, midnight, now_epoch = now
    candidates = []
    for site in sites:
        if site.ends_on is not None and site.ends_on <= today:
            continue
        for admin_id, _role, since, until in staff.get(site.id, ()):
            free_from = max(midnight, today_ended.get(admin_id, midnight) + 600)
            if since <= today and until is None and admin_id not in on_duty:
                if free_from <= now_epoch:
                    candidates.append((admin_id, site.id, free_from))
                break
    wanted = min(len(candidates), handful - len(on_duty))
    for admin_id, station_id, free_from in rng.sample(candidates, wanted):
        began = max(free_from, now_epoch - rng.randint(10 * 60, 90 * 60))
        put((shift_id, admin_id, station_id, day_value, stamp(began), None))
        on_duty.add(admin_id)
        shift_id += 1
    return shift_id


def _epoch(day: date, zone, at: time = time()) -> int:
    """Epoch seconds of a wall-clock time of `day` in `zone`."""
    return int(datetime.combine(day, at, zone).timestamp())
