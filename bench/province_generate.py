"""Generate the synthetic province (`flask demo province`) at full size and time it.

Usage: .venv/bin/python bench/province_generate.py [--database-url URL] [--stations N]
       [--activities N] [--checkins N] [--visits N] [--seed N]
Without a URL it uses a temporary SQLite file; a PostgreSQL database is emptied first (see
bench/_shared.py). The figure is the wall time of `build_province` with its defaults (11,000
stations, 100,000 activities, 2,230,000 check-ins, 2,230,000 door visits and the stations'
administrators, training and duty shifts): bulk load, foreign keys and indexes checked,
commit, vacuum and analyse. The load average before and after is printed too, as the machine
may be shared. The construction year's figures (target, open on 15 August, funds of the year)
are counted back from the database and must be the plan's: at the default size, Anhui's
11,000, 9,220 (83.8 %), 15.42 M allocated, 86 M driven and 164 M leveraged; so are the door
traffic (visits and visitors, through attendance.traffic), the administrators, masters,
trained administrators, duty shifts and those on duty now (through staffing.queries), which
must be what the build says it wrote. Prints one JSON line.
"""

import json
import os
import tempfile
import time

from _shared import arguments, database_name, empty_database, migrated_app
from sqlalchemy import distinct, func, select

from inclusive_day.activities.models import Activity
from inclusive_day.attendance.models import Feedback
from inclusive_day.attendance.queries import totals
from inclusive_day.attendance.traffic import traffic
from inclusive_day.demo.network import construction_plan
from inclusive_day.demo.province import build_province
from inclusive_day.extensions import db
from inclusive_day.periods import local_today
from inclusive_day.staffing.models import DutyShift, StationAdmin, Training
from inclusive_day.staffing.queries import masters_by_station, on_duty_by_station
from inclusive_day.stations.models import Station
from inclusive_day.units.models import Unit

GOAL_S = 60.0


def main() -> None:
    """Migrate an empty database, build the province, count it back, print the figures."""
    parser = arguments(__doc__)
    parser.add_argument("--stations", type=int, default=11_000)
    parser.add_argument("--activities", type=int, default=100_000)
    parser.add_argument("--checkins", type=int, default=2_230_000)
    parser.add_argument("--visits", type=int, default=2_230_000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = empty_database(args.database_url, tmp, "province_generate")
        app = migrated_app(url)
        with app.app_context():
            load_before = os.getloadavg()[0]
            started = time.perf_counter()
            summary = build_province(
                stations=args.stations,
                activities=args.activities,
                checkins=args.checkins,
                visits=args.visits,
                seed=args.seed,
                echo=lambda _line: None,
            )
            seconds = time.perf_counter() - started
            load_after = os.getloadavg()[0]
            counted = totals([Activity.campaign_id == summary.campaign_id])
            running = running_counted(db.session.get(Unit, summary.unit_id))
            plan = construction_plan(args.stations, local_today())
            db.engine.dispose()
    postgresql = database_name(url) == "postgresql"
    made = summary.traffic, summary.roster
    wrote = {
        "visits": made[0].visits,
        "visitors": made[0].visitors,
        "feedback": made[0].feedback,
        "admins": made[1].admins,
        "masters": made[1].masters,
        "trained": made[1].trained,
        "trainings": made[1].trainings,
        "shifts": made[1].shifts,
        "on_duty": made[1].on_duty,
    }
    agrees = (counted.served, counted.people) == (summary.served, summary.people)
    agrees = agrees and running == wrote
    built = summary.construction
    construction = {
        "year": built.year,
        "target": built.target,
        "city_targets": built.city_targets,
        "open_on": built.report_day.isoformat(),
        "open": built.open_on_report_day,
        "percent": float(built.percent),
        "provincial_level": built.provincial_level,
        "allocated": float(built.funds.allocated),
        "driven": float(built.funds.driven),
        "leveraged": float(built.funds.leveraged),
        "paid": float(built.funds.paid),
    }
    planned = (
        plan.target,
        plan.open_on_report_day,
        plan.provincial_level,
        plan.allocated,
        plan.driven,
        plan.leveraged,
    )
    as_planned = planned == (
        built.target,
        built.open_on_report_day,
        built.provincial_level,
        built.funds.allocated,
        built.funds.driven,
        built.funds.leveraged,
    )
    print(
        json.dumps(
            {
                "bench": "province_generate",
                "database": database_name(url),
                "generate_s": round(seconds, 1),
                "phases_s": dict(summary.phases),
                "units": summary.units,
                "stations": summary.stations,
                "activities": summary.activities,
                "checkins": summary.checkins,
                "people": summary.people,
                "headcount_rows": summary.headcount_rows,
                "served": summary.served,
                "sponsors": summary.sponsors,
                "donations": summary.donations,
                "distributions": summary.distributions,
                "running": {
                    **running,
                    "silent_stations": made[0].silent,
                    "without_master": made[1].without_master,
                },
                "counted_back": agrees,
                "construction": construction,
                "construction_as_planned": as_planned,
                "load_average": [round(load_before, 1), round(load_after, 1)],
                "goal": {"generate_s": GOAL_S, "on": "postgresql"},
                "met": (seconds <= GOAL_S and agrees and as_planned) if postgresql else None,
            },
            ensure_ascii=False,
        )
    )


def running_counted(root: Unit) -> dict[str, int]:
    """The stations' running counted back from the database: door traffic through the
    counting rule, masters and those on duty through the roster reads, the rest by rows."""
    stations = select(Station.id).where(Station.under(root.path))
    admins = select(StationAdmin.id).where(StationAdmin.station_id.in_(stations))
    counted = traffic(root.path)

    def count(column, *where) -> int:
        return db.session.scalar(select(func.count(column)).where(*where))

    return {
        "visits": counted.visits,
        "visitors": counted.visitors,
        "feedback": count(Feedback.id, Feedback.station_id.in_(stations)),
        "admins": count(StationAdmin.id, StationAdmin.id.in_(admins)),
        "masters": len(masters_by_station(stations)),
        "trained": count(distinct(Training.admin_id), Training.admin_id.in_(admins)),
        "trainings": count(Training.id, Training.admin_id.in_(admins)),
        "shifts": count(DutyShift.id, DutyShift.station_id.in_(stations)),
        "on_duty": sum(len(names) for names in on_duty_by_station(stations).values()),
    }


if __name__ == "__main__":
    main()
