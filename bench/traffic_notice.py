"""The monthly traffic notice of a province with a year of door traffic: page data and PDF.

Usage: .venv/bin/python bench/traffic_notice.py [--database-url URL] [--reuse] [--rounds N]
       [--visits N] [--activities N] [--checkins N]
Builds the synthetic province (inclusive_day.demo.province: 16 cities, 11,000 stations; few
activities and no check-ins by default, as the notice reads neither) in an emptied database;
with --reuse, a database that already holds it is kept. Then, unless the database already
holds that much, a year of door traffic (--visits, 2,230,000 by default: Shanxi's year)
ending on the last day of the notice's month, the month before today's: through
inclusive_day.demo.traffic.generate_door_traffic when that module exists, else written here
in bulk (binary COPY on PostgreSQL) at the stations open each day, with people drawn from
each city's workers; and the station masters' duty shifts of the notice's month and the month
before at the stations with opening hours, when the database holds none then (the notice's
duty attendance reads a row per station and day).

Measured on that database, the median of --rounds after one warm-up, each in a fresh session:
1. the notice's page data for the province (reports.traffic.build_traffic_notice: its cities
   as rows), and its statements, which must be as many for one city (which also counts its
   place among the province's cities);
2. the whole PDF (documents.render_traffic: data, HTML, WeasyPrint) for the province;
3. for the record, the page data of one city.
Prints one JSON line. Goals (on PostgreSQL): page data <= 1 s, PDF <= 3 s.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import tempfile
import time
from collections import Counter
from datetime import date, timedelta

from _shared import (
    Statements,
    arguments,
    database_name,
    empty_database,
    migrated_app,
    province_to_reuse,
    statements,
    timed,
)
from flask_babel import force_locale
from sqlalchemy import func, select

from inclusive_day import create_app
from inclusive_day.attendance.models import BeneficiaryGroup, StationVisit
from inclusive_day.config import TestConfig
from inclusive_day.database import utcnow
from inclusive_day.demo.bulk import BulkWriter, analyse
from inclusive_day.demo.province import build_province, find_province
from inclusive_day.extensions import db
from inclusive_day.periods import DEFAULT_ZONE, Month, day_start
from inclusive_day.reports.documents import render_traffic
from inclusive_day.reports.traffic import build_traffic_notice, month_days
from inclusive_day.staffing.models import AdminRole, DutyShift, StationAdmin
from inclusive_day.stations.models import Station
from inclusive_day.stations.queries import station_child
from inclusive_day.units.models import Level, Unit

try:  # another change adds door traffic to `demo province`; until it lands, the bench's own
    from inclusive_day.demo.traffic import generate_door_traffic
except ImportError:
    generate_door_traffic = None

PAGE_GOAL_S = 1.0
PDF_GOAL_S = 3.0
VISITS = 2_230_000
GROUPS = [g.value for g in BeneficiaryGroup]
GROUP_WEIGHTS = [30, 30, 15, 10, 4, 6, 3, 2]


def notice_month() -> Month:
    """The month the notice is about: the one before today's (the pages' default)."""
    return Month.containing(utcnow()).shift(-1)


def write_visits(root: Unit, visits: int, first: date, last: date, seed: int) -> int:
    """The bench's own year of door traffic, in bulk and in day order: `visits` spread over the
    stations by a lognormal popularity (a twelfth of them silent), each on a day the station
    was open, by people of its city (about five visits each a year), one per person, station
    and day."""
    rng = random.Random(seed)
    cities = dict(
        db.session.execute(
            select(Unit.id, Unit.path).where(Unit.parent_id == root.id, Unit.level == Level.CITY)
        ).all()
    )
    stations = []
    for station_id, path, opened, closed in db.session.execute(
        select(Station.id, Unit.path, Station.opened_on, Station.closed_on)
        .join(Unit, Unit.id == Station.unit_id)
        .where(Station.under(root.path), Station.opened_on <= last)
    ):
        start = max(opened, first)
        end = min(last, closed - timedelta(days=1)) if closed else last
        if start <= end:
            city = next((c for c, p in cities.items() if path.startswith(p)), root.id)
            weight = 0.0 if rng.random() < 1 / 12 else rng.lognormvariate(0, 0.8)
            stations.append((station_id, city, start, (end - start).days + 1, weight))
    shares = Counter(rng.choices(range(len(stations)), [s[4] for s in stations], k=visits))
    per_city = Counter()
    for index, n in shares.items():
        per_city[stations[index][1]] += n
    pools = {
        city: [hashlib.sha256(f"bench-{city}-{i}".encode()).hexdigest() for i in range(n // 5 + 50)]
        for city, n in per_city.items()
    }
    # Visits arrive day by day: written in that order, the table and its indexes are laid out
    # as a live database's are.
    days: dict[date, list[tuple[int, int, int]]] = {}
    for index, n in shares.items():
        station_id, city, start, span, _weight = stations[index]
        for day, k in Counter(int(rng.random() * span) for _ in range(n)).items():
            days.setdefault(start + timedelta(days=day), []).append((station_id, city, k))
    writer = BulkWriter(db.session)
    table = StationVisit.__table__
    next_id = writer.first_id(table)
    columns = ("id", "station_id", "identity", "group", "nonce", "visit_day", "visited_at")
    written = 0
    with writer.sink(table, columns) as put:
        for day in sorted(days):
            midnight = int(day_start(day, DEFAULT_ZONE).timestamp())
            for station_id, city, k in sorted(days[day]):
                pool = pools[city]
                for person in rng.sample(pool, min(k, len(pool))):
                    put(
                        (
                            next_id,
                            station_id,
                            person,
                            rng.choices(GROUPS, GROUP_WEIGHTS)[0],
                            f"bench-{next_id}",
                            writer.day(day),
                            writer.stamp(midnight + rng.randrange(7 * 3600, 21 * 3600)),
                        )
                    )
                    next_id += 1
                    written += 1
    writer.fix_sequences([table])
    return written


def write_duty(root: Unit, first: date, last: date, seed: int) -> int:
    """A master for each station with opening hours that has none, and their shifts on about
    seven days in ten of `first` to `last` (the stations open then), in bulk."""
    rng = random.Random(seed)
    writer = BulkWriter(db.session)
    staffed = select(StationAdmin.station_id).where(StationAdmin.until.is_(None))
    rows = db.session.execute(
        select(Station.id, Station.opened_on, Station.closed_on).where(
            Station.under(root.path),
            Station.open_24h.is_(False),
            Station.opening_hours != "",
            Station.opened_on <= last,
            Station.id.not_in(staffed),
        )
    ).all()
    admins = writer.first_id(StationAdmin.__table__)
    now = writer.stamp(int(utcnow().timestamp()))
    columns = ("id", "station_id", "name", "phone", "role", "since", "created_at")
    with writer.sink(StationAdmin.__table__, columns) as put:
        for n, (station_id, *_days) in enumerate(rows):
            role = AdminRole.MASTER.value
            put((admins + n, station_id, f"站长{n}", "", role, writer.day(first), now))
    shift_id = writer.first_id(DutyShift.__table__)
    columns = ("id", "admin_id", "station_id", "day", "started_at", "ended_at")
    written = 0
    with writer.sink(DutyShift.__table__, columns) as put:
        for n, (station_id, opened, closed) in enumerate(rows):
            day = max(first, opened)
            while day <= last and (closed is None or day < closed):
                if rng.random() < 0.7:
                    start = int(day_start(day, DEFAULT_ZONE).timestamp()) + 8 * 3600
                    end = start + rng.randrange(4 * 3600, 10 * 3600)
                    put(
                        (
                            shift_id + written,
                            admins + n,
                            station_id,
                            writer.day(day),
                            writer.stamp(start),
                            writer.stamp(end),
                        )
                    )
                    written += 1
                day += timedelta(days=1)
    writer.fix_sequences([StationAdmin.__table__, DutyShift.__table__])
    return written


def add_traffic(url: str, visits: int) -> dict:
    """Door traffic for the year ending with the notice's month, and duty for its last two
    months, unless the database holds them already."""
    month = notice_month()
    last = month_days(month)[1]
    first = last - timedelta(days=364)
    app = create_app(TestConfig(url))
    done = {"visits_by": "already there", "duty_by": "already there"}
    with app.app_context():
        root = find_province()
        held = db.session.scalar(
            select(func.count(StationVisit.id)).where(
                StationVisit.visit_day >= first, StationVisit.visit_day <= last
            )
        )
        started = time.perf_counter()
        if held < visits:
            if generate_door_traffic is not None:
                generate_door_traffic(
                    db.session, root, visits=visits, first_day=first, last_day=last, seed=7
                )
                done["visits_by"] = "demo.traffic"
            else:
                write_visits(root, visits, first, last, seed=7)
                done["visits_by"] = "bench"
            db.session.commit()
        duty_from = month.shift(-1).first_day
        shifts = db.session.scalar(
            select(func.count(DutyShift.id)).where(
                DutyShift.day >= duty_from, DutyShift.day <= last
            )
        )
        if not shifts:
            write_duty(root, duty_from, last, seed=8)
            done["duty_by"] = "bench"
            db.session.commit()
        if done != {"visits_by": "already there", "duty_by": "already there"}:
            analyse(
                db.session,
                [StationVisit.__table__, StationAdmin.__table__, DutyShift.__table__],
            )
        done["seconds"] = round(time.perf_counter() - started, 1)
        done["year_visits"] = db.session.scalar(
            select(func.count(StationVisit.id)).where(
                StationVisit.visit_day >= first, StationVisit.visit_day <= last
            )
        )
        done["first_day"], done["last_day"] = first.isoformat(), last.isoformat()
        db.engine.dispose()
    return done


def measure(url: str, rounds: int) -> dict:
    """Time and count the notice's page data and PDF for the province, and one city's data."""
    month = notice_month()
    app = create_app(TestConfig(url))
    with app.app_context(), app.test_request_context(), force_locale("zh"):
        root = find_province()
        root_id = root.id
        # The cities with the most and the fewest stations: the same statements for both.
        pairs = station_child(root).subquery("pairs")
        sizes = db.session.execute(
            select(pairs.c.child_id, func.count())
            .where(pairs.c.child_id != root_id)
            .group_by(pairs.c.child_id)
            .order_by(func.count().desc(), pairs.c.child_id)
        ).all()
        city_id, small_id = sizes[0][0], sizes[-1][0]

        def page(unit_id: int):
            return build_traffic_notice(db.session.get(Unit, unit_id), month)

        def pdf():
            return render_traffic(db.session.get(Unit, root_id), month, "zh")

        counter = Statements(db.engine)
        counts = {
            "big_city": statements(counter, lambda: page(city_id)),
            "small_city": statements(counter, lambda: page(small_id)),
        }
        province_statements = statements(counter, lambda: page(root_id))
        started = time.perf_counter()
        statements(counter, pdf)
        pdf_first = time.perf_counter() - started
        page_s, page_rounds, notice = timed(rounds, lambda: page(root_id))
        pdf_s, pdf_rounds, data = timed(rounds, pdf)
        city_s, city_rounds, city = timed(rounds, lambda: page(city_id))
        t = notice.total
        figures = {
            "month": str(month),
            "cities": len(notice.rows),
            "open_stations": t.stations,
            "visits": t.visits,
            "visitors": t.visitors,
            "previous_visits": t.previous.visits,
            "silent": t.silent,
            "duty_expected": t.duty.expected,
            "duty_attended": t.duty.attended,
            "leader": notice.leader.name if notice.leader else None,
            "sum_of_rows_agrees": sum(r.visits for r in notice.rows)
            + (notice.direct.visits if notice.direct else 0)
            == t.visits,
            "city_place": city.place.rank if city.place else None,
        }
        db.engine.dispose()
    return {
        **figures,
        "page_s": round(page_s, 3),
        "page_rounds": page_rounds,
        "page_statements": counts,
        "province_page_statements": province_statements,
        "pdf_first_s": round(pdf_first, 2),
        "pdf_s": round(pdf_s, 3),
        "pdf_rounds": pdf_rounds,
        "pdf_bytes": len(data),
        "city_page_s": round(city_s, 3),
        "city_page_rounds": city_rounds,
    }


def main() -> None:
    """Build (or reuse) the province and its traffic, measure, print one JSON line."""
    parser = arguments(__doc__)
    parser.add_argument("--reuse", action="store_true", help="keep a database holding the province")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--visits", type=int, default=VISITS)
    parser.add_argument("--activities", type=int, default=2_000)
    parser.add_argument("--checkins", type=int, default=0)
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        built = None
        url = province_to_reuse(options.database_url) if options.reuse else None
        if url is None:
            url = empty_database(options.database_url, tmp, "traffic_notice")
            app = migrated_app(url)
            with app.app_context():
                built = build_province(
                    activities=options.activities, checkins=options.checkins, echo=lambda _: None
                ).seconds
                db.engine.dispose()
        traffic = add_traffic(url, options.visits)
        result = measure(url, options.rounds)
    constant = len(set(result["page_statements"].values())) == 1
    met = (
        constant
        and result["sum_of_rows_agrees"]
        and traffic["year_visits"] >= options.visits
        and result["page_s"] <= PAGE_GOAL_S
        and result["pdf_s"] <= PDF_GOAL_S
    )
    print(
        json.dumps(
            {
                "bench": "traffic_notice",
                "database": database_name(url),
                "built_s": built,
                "traffic": traffic,
                **result,
                "constant_statements": constant,
                "load_average": round(os.getloadavg()[0], 2),
                "goal": {
                    "page_s_at_most": PAGE_GOAL_S,
                    "pdf_s_at_most": PDF_GOAL_S,
                    "year_visits_at_least": options.visits,
                    "constant_statements": True,
                },
                "met": met,
            },
            ensure_ascii=False,
        )
    )


if __name__ == "__main__":
    main()
