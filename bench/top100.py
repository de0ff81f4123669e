"""Double Top 100 at province scale: both lists of the province for a year.

Usage: .venv/bin/python bench/top100.py [--database-url URL] [--reuse] [--rounds N]
       [--visits N] [--activities N] [--checkins N]
Builds the synthetic province (inclusive_day.demo.province, `flask demo province`: 16 cities,
11,000 stations, 100,000 activities and 2,230,000 check-ins over the last twelve months) in an
emptied database; with --reuse, a database that already holds it is kept as it is. The year
ranked is the one holding most of those twelve months. The lists need the stations' running
too: door traffic, masters and assistants, their training and duty, workers' ratings and
inspections. A generator that writes them (demo.traffic and demo.roster, called by `demo
province`) is used when the province has none; without it (before it is merged), this bench
writes its own in bulk: --visits door visits (2,230,000, Shanxi's year) spread unevenly over
the stations open in the year, a master for every station (one in twelve handing over during
the year), assistants at a third, two or three courses of training each, a duty shift on most
open days of the stations with opening hours, a rating from 3 % of the visits and two
inspections per station.

Then the median of --rounds after one warm-up, each in a fresh session, of building both lists
(reports.top100.build_board: candidates, every criterion's grouped query, scoring), with the
number of SQL statements (the same for a city: a constant number), the slowest statements of
one build, and the CPU one build costs on one connection with parallel query off (server and
app seconds: what the build needs whatever else the machine is doing). Prints one JSON line.
Goal (PostgreSQL): at most 2 s, a constant number of statements.
"""

from __future__ import annotations

import json
import os
import random
import statistics
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from _shared import (
    arguments,
    database_name,
    empty_database,
    migrated_app,
    province_to_reuse,
)
from sqlalchemy import event, func, or_, select, text

from inclusive_day import create_app
from inclusive_day.attendance.models import BeneficiaryGroup, Feedback, StationVisit
from inclusive_day.config import TestConfig
from inclusive_day.demo.bulk import BulkWriter, analyse
from inclusive_day.demo.province import build_province, find_province
from inclusive_day.extensions import db
from inclusive_day.periods import DEFAULT_ZONE, local_today
from inclusive_day.reports import top100
from inclusive_day.reports.top100 import build_board
from inclusive_day.staffing.models import DutyShift, StationAdmin, Training
from inclusive_day.stations.models import Inspection, Station
from inclusive_day.units.models import Unit

try:  # the stations' running in `demo province` (demo.traffic, demo.roster), once merged
    from inclusive_day.demo.roster import generate_roster
    from inclusive_day.demo.traffic import generate_door_traffic
except ImportError:
    generate_door_traffic = generate_roster = None

GOAL_S = 2.0
VISITS = 2_230_000
DAY = 86_400
GROUPS = [g.value for g in BeneficiaryGroup]
GROUP_WEIGHTS = [30, 30, 15, 12, 4, 5, 2, 2]
COURSES = ("驿站服务规范培训", "安全应急培训", "工会业务知识", "站长能力提升班")


# --- The stations' running, when no generator wrote it ------------------------------------


def ranked_year(today: date) -> int:
    """The year holding most of the twelve months that end this month."""
    return today.year if today.month >= 7 else today.year - 1


def has_running(root: Unit, first: date, last: date) -> bool:
    """Whether the province already has door traffic in the year."""
    stations = select(Station.id).where(Station.under(root.path))
    return (
        db.session.scalar(
            select(StationVisit.id)
            .where(
                StationVisit.station_id.in_(stations),
                StationVisit.visit_day >= first,
                StationVisit.visit_day <= last,
            )
            .limit(1)
        )
        is not None
    )


def _local_epoch(day: date, hour: int = 0) -> int:
    return int(datetime(day.year, day.month, day.day, hour, tzinfo=DEFAULT_ZONE).timestamp())


def write_running(root: Unit, first: date, last: date, visits: int, seed: int = 7) -> dict:
    """The bench's own running of the province's stations for [first, last] (see the
    module's docstring), in bulk; commits and analyses."""
    rng = random.Random(seed)
    writer = BulkWriter(db.session)
    tables = [t.__table__ for t in (StationAdmin, Training, DutyShift, StationVisit, Feedback)]
    writer.lock([*tables, Inspection.__table__])
    stations = db.session.execute(
        select(
            Station.id,
            Station.unit_id,
            Station.opened_on,
            Station.closed_on,
            Station.open_24h,
            Station.opening_hours,
        )
        .where(
            Station.under(root.path),
            Station.opened_on <= last,
            or_(Station.closed_on.is_(None), Station.closed_on > first),
        )
        .order_by(Station.id)
    ).all()
    now = int(datetime.now(UTC).timestamp())
    stamp, day = writer.stamp, writer.day
    admin_id = writer.first_id(StationAdmin.__table__)
    admins, trainings, spans = [], [], {}
    training_id = writer.first_id(Training.__table__)
    for station_id, _unit, opened, closed, *_hours in stations:
        start = max(opened, first)
        end = min(last, closed - timedelta(days=1)) if closed else last
        masters = []
        if rng.random() < 1 / 12 and (end - start).days > 30:
            handover = start + timedelta(days=rng.randrange(15, (end - start).days - 14))
            masters.append((opened, handover - timedelta(days=1)))
            masters.append((handover, None))
        else:
            masters.append((opened, None))
        people = []
        for since, until in masters:
            people.append((admin_id, since, until))
            admins.append((admin_id, station_id, f"站长{admin_id}", "master", since, until))
            admin_id += 1
        if rng.random() < 1 / 3:
            admins.append((admin_id, station_id, f"管理员{admin_id}", "assistant", opened, None))
            people.append((admin_id, opened, None))
            admin_id += 1
        for person, *_ in people:
            for _n in range(rng.choice((0, 1, 2, 3))):
                taken = first + timedelta(days=rng.randrange((last - first).days + 1))
                hours = Decimal(rng.choice(("2", "4", "6.5", "8", "16")))
                trainings.append((training_id, person, rng.choice(COURSES), taken, hours))
                training_id += 1
        spans[station_id] = (start, end, masters, people)
    figures = {"admins": len(admins), "trainings": len(trainings)}
    with writer.sink(
        StationAdmin.__table__,
        ("id", "station_id", "name", "phone", "role", "since", "until", "created_at"),
    ) as put:
        for aid, sid, name, role, since, until in admins:
            put((aid, sid, name, "", role, day(since), day(until), stamp(now)))
    with writer.sink(
        Training.__table__,
        ("id", "admin_id", "course", "taken_on", "hours", "certificate", "created_at"),
    ) as put:
        for tid, aid, course, taken, hours in trainings:
            put((tid, aid, course, day(taken), writer.amount(hours), "", stamp(now)))
    today = min(last, local_today() - timedelta(days=1))
    shift_id = writer.first_id(DutyShift.__table__)
    shifts = 0
    with writer.sink(
        DutyShift.__table__, ("id", "admin_id", "station_id", "day", "started_at", "ended_at")
    ) as put:
        for station_id, _unit, _opened, _closed, open_24h, hours in stations:
            if open_24h or not hours:
                continue
            start, end, masters, people = spans[station_id]
            keen = rng.uniform(0.55, 0.97)
            d = start
            while d <= min(end, today):
                if rng.random() < keen:
                    on_duty = next(
                        (m for m in masters if m[0] <= d and (m[1] is None or d <= m[1])), None
                    )
                    who = next(p[0] for p in people if p[1] == on_duty[0] and p[2] == on_duty[1])
                    if rng.random() < 0.1:
                        who = rng.choice(people)[0]
                    began = _local_epoch(d, 8) + rng.randrange(0, 3600)
                    put((shift_id, who, station_id, day(d), stamp(began), stamp(began + 8 * 3600)))
                    shift_id += 1
                    shifts += 1
                d += timedelta(days=1)
    figures["duty_shifts"] = shifts
    # Door visits: uneven over the stations, even over their open days up to yesterday.
    weights = [rng.lognormvariate(0, 1.0) for _ in stations]
    picks = rng.choices(range(len(stations)), weights=weights, k=visits)
    groups = rng.choices(GROUPS, weights=GROUP_WEIGHTS, k=visits)
    visit_id = writer.first_id(StationVisit.__table__)
    feedback_id = writer.first_id(Feedback.__table__)
    rated, written = [], 0
    with writer.sink(
        StationVisit.__table__,
        ("id", "station_id", "identity", "group", "nonce", "visit_day", "visited_at"),
    ) as put:
        for n, index in enumerate(picks):
            station_id = stations[index][0]
            start, end, _masters, _people = spans[station_id]
            end = min(end, today)
            if end < start:
                continue
            d = start + timedelta(days=rng.randrange((end - start).days + 1))
            identity = f"{visit_id:064x}"
            put(
                (
                    visit_id,
                    station_id,
                    identity,
                    groups[n],
                    f"bench-top100-{visit_id}",
                    day(d),
                    stamp(_local_epoch(d, 7) + rng.randrange(0, 14 * 3600)),
                )
            )
            visit_id += 1
            written += 1
            if rng.random() < 0.03:
                rated.append((station_id, identity, d))
    figures["visits"] = written
    with writer.sink(
        Feedback.__table__,
        ("id", "station_id", "identity", "visit_day", "rating", "comment", "created_at"),
    ) as put:
        for station_id, identity, d in rated:
            rating = rng.choices((1, 2, 3, 4, 5), weights=(2, 3, 10, 35, 50))[0]
            put((feedback_id, station_id, identity, day(d), rating, "", stamp(_local_epoch(d, 20))))
            feedback_id += 1
    figures["ratings"] = len(rated)
    inspection_id = writer.first_id(Inspection.__table__)
    with writer.sink(
        Inspection.__table__,
        ("id", "station_id", "unit_id", "inspected_on", "result", "notes", "created_at"),
    ) as put:
        for station_id, unit_id, *_rest in stations:
            start, end, _masters, _people = spans[station_id]
            for _n in range(2):
                d = start + timedelta(days=rng.randrange((end - start).days + 1))
                result = rng.choices(("passed", "rectify", "failed"), weights=(80, 15, 5))[0]
                put((inspection_id, station_id, unit_id, day(d), result, "", stamp(now)))
                inspection_id += 1
    writer.fix_sequences([*tables, Inspection.__table__])
    db.session.commit()
    analyse(db.session, [*tables, Inspection.__table__])
    return figures


def add_running(root: Unit, first: date, last: date, visits: int) -> dict:
    """Door traffic, masters, training, duty, ratings and inspections for the year, by the
    demo's generators when they exist, else by this bench; what was written."""
    if generate_door_traffic is not None:
        traffic = generate_door_traffic(
            db.session, root, visits=visits, first_day=first, last_day=last, seed=7
        )
        roster = generate_roster(db.session, root, first_day=first, last_day=last, seed=7)
        db.session.commit()
        return {"by": "demo", "traffic": str(traffic), "roster": str(roster)}
    return {"by": "bench", **write_running(root, first, last, visits)}


# --- Measuring ------------------------------------------------------------------------------


class Statements:
    """Counts the statements the engine runs, and the slowest of them, while on."""

    def __init__(self, engine) -> None:
        self.n = 0
        self.times: list[tuple[float, str]] = []
        event.listen(engine, "before_cursor_execute", self._before)
        event.listen(engine, "after_cursor_execute", self._after)

    def _before(self, conn, cursor, statement, *_args) -> None:
        conn.info["started"] = time.perf_counter()

    def _after(self, conn, cursor, statement, *_args) -> None:
        self.n += 1
        elapsed = time.perf_counter() - conn.info.pop("started", time.perf_counter())
        self.times.append((elapsed, " ".join(statement.split())[:90]))

    def reset(self) -> None:
        """Start counting afresh."""
        self.n = 0
        self.times = []


def _backend_cpu(pid: int) -> float | None:
    """CPU seconds a local PostgreSQL backend has used (None when /proc cannot tell)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def cpu_of_one_build(root_id: int, year: int) -> dict:
    """The CPU one build costs, whatever else the machine is doing: built in one session with
    parallel query off, the server backend's CPU seconds (from /proc, when PostgreSQL runs
    here) and this process's. On an idle machine with n cores the build takes about
    (server + app) / n, the big aggregates running alongside each other."""
    db.session.remove()
    if db.session.get_bind().dialect.name != "postgresql":
        return {}
    pid = db.session.execute(text("SELECT pg_backend_pid()")).scalar()
    db.session.execute(text("SET max_parallel_workers_per_gather = 0"))
    was = top100.LARGE_SUBTREE
    top100.LARGE_SUBTREE = 10**9  # every statement in this session
    try:
        server, app = _backend_cpu(pid), time.process_time()
        build_board(db.session.get(Unit, root_id), year)
        app = time.process_time() - app
        after = _backend_cpu(pid)
    finally:
        top100.LARGE_SUBTREE = was
        db.session.execute(text("RESET max_parallel_workers_per_gather"))
        db.session.remove()
    return {
        "server_s": round(after - server, 2) if server is not None and after else None,
        "app_s": round(app, 2),
        "cores": os.cpu_count(),
    }


def measure(url: str, rounds: int, visits: int) -> dict:
    """Add the running if missing, then time both lists for the province; count statements."""
    app = create_app(TestConfig(url))
    with app.app_context(), app.test_request_context():
        root = find_province()
        year = ranked_year(local_today())
        first, last = date(year, 1, 1), date(year, 12, 31)
        added = None
        if not has_running(root, first, last):
            added = add_running(root, first, last, visits)
        root_id = root.id
        city_id = db.session.scalar(
            select(Unit.id).where(Unit.parent_id == root_id).order_by(Unit.id).limit(1)
        )
        counts = {
            "stations": db.session.scalar(
                select(func.count()).select_from(Station).where(Station.under(root.path))
            ),
            "visits_in_year": db.session.scalar(
                select(func.count())
                .select_from(StationVisit)
                .where(StationVisit.visit_day >= first, StationVisit.visit_day <= last)
            ),
            "duty_shifts_in_year": db.session.scalar(
                select(func.count())
                .select_from(DutyShift)
                .where(DutyShift.day >= first, DutyShift.day <= last)
            ),
        }
        counter = Statements(db.engine)
        statements = {}
        for name, unit_id in (("province", root_id), ("city", city_id)):
            db.session.remove()
            counter.reset()
            build_board(db.session.get(Unit, unit_id), year)
            statements[name] = counter.n
        seconds, board, slowest = [], None, []
        for turn in range(rounds + 1):
            db.session.remove()
            unit = db.session.get(Unit, root_id)
            counter.reset()
            started = time.perf_counter()
            board = build_board(unit, year)
            elapsed = time.perf_counter() - started
            if turn:
                seconds.append(elapsed)
            slowest = sorted(counter.times, reverse=True)[:5]
        cpu = cpu_of_one_build(root_id, year)
        db.engine.dispose()
    return {
        "year": year,
        "added": added,
        **counts,
        "site_candidates": board.site_candidates,
        "master_candidates": board.master_candidates,
        "top_sites": len(board.sites),
        "top_masters": len(board.masters),
        "first_site": board.sites[0].name if board.sites else None,
        "build_s": round(statistics.median(seconds), 3),
        "build_rounds": [round(s, 3) for s in seconds],
        "statements": statements,
        "slowest_statements_ms": [[round(s * 1000), text] for s, text in slowest],
        "cpu_one_connection": cpu,
    }


def main() -> None:
    """Build (or reuse) the province, measure, print one JSON line."""
    parser = arguments(__doc__)
    parser.add_argument("--reuse", action="store_true", help="keep a database holding the province")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--visits", type=int, default=VISITS)
    parser.add_argument("--activities", type=int, default=100_000)
    parser.add_argument("--checkins", type=int, default=2_230_000)
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        built = None
        url = province_to_reuse(options.database_url) if options.reuse else None
        if url is None:
            url = empty_database(options.database_url, tmp, "top100")
            app = migrated_app(url)
            with app.app_context():
                summary = build_province(
                    activities=options.activities, checkins=options.checkins, echo=lambda _: None
                )
                built = summary.seconds
                db.engine.dispose()
        result = measure(url, options.rounds, options.visits)
    constant = len(set(result["statements"].values())) == 1
    print(
        json.dumps(
            {
                "bench": "top100",
                "database": database_name(url),
                "built_s": built,
                **result,
                "constant_statements": constant,
                "load_average": round(os.getloadavg()[0], 2),
                "goal": {"build_s_at_most": GOAL_S, "constant_statements": True},
                "met": constant and result["build_s"] <= GOAL_S,
            },
            ensure_ascii=False,
        )
    )


if __name__ == "__main__":
    main()
