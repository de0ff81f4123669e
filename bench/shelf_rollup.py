"""Shelf and points rollups at province scale: what was given and taken at the goods-sharing
shelves of the whole province over a year, and of one city, per sub-unit, by giver and by
group; and the points earned and spent there, per sub-unit and reason, with the cards active.

Usage: .venv/bin/python bench/shelf_rollup.py [--database-url URL] [--reuse] [--rounds N]
       [--stations N] [--activities N] [--checkins N] [--visits N]
Builds the synthetic province with the `demo province` command at its defaults (11,000
stations, 2.23 M check-ins and 2.23 M door visits; its shelves at 15 % of the open stations with
a year of puttings and takings, inclusive_day.demo.province_shelf; a year of points drawn from a
quarter of its people's check-ins and visits, inclusive_day.demo.province_points) in an emptied
database (default postgresql://postgres@127.0.0.1:5432/bench_shelf); with --reuse, a database
that already holds it is kept as it is.

Each entry of MEASURES is one rollup, timed as the median of --rounds after a warm-up, each in
a fresh session, over the province's year and over its largest city's and one of that city's
districts', with the SQL statements it ran (a constant number: the same for every scope).
Goal (PostgreSQL): at most 1 s each. Prints one JSON line.
"""

from __future__ import annotations

import json
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from _shared import (
    Statements,
    arguments,
    database_name,
    empty_database,
    migrated_app,
    province_to_reuse,
    timed,
)
from sqlalchemy import func, select

from inclusive_day import create_app
from inclusive_day.config import TestConfig
from inclusive_day.demo.province import find_province
from inclusive_day.extensions import db
from inclusive_day.periods import local_today
from inclusive_day.points.models import PointAccount, PointEntry
from inclusive_day.points.queries import points_rollup
from inclusive_day.shelf.models import Shelf, ShelfGift, ShelfTaking
from inclusive_day.shelf.queries import shelf_rollup
from inclusive_day.stations.models import Station
from inclusive_day.units.models import Level, Unit

DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/bench_shelf"
GOAL_SECONDS = 1.0


@dataclass(frozen=True)
class Measure:
    """One rollup to time: its name and the call, given a unit and the first and last day."""

    name: str
    run: Callable


MEASURES: list[Measure] = [
    Measure("shelf_rollup", lambda unit, first, last: shelf_rollup(unit, first, last).total),
    Measure("points_rollup", lambda unit, first, last: points_rollup(unit, first, last).total),
]


def build(url: str, options) -> float:
    """`flask demo province` into the emptied database; its seconds."""
    app = migrated_app(url)
    started = time.perf_counter()
    result = app.test_cli_runner().invoke(
        args=[
            "demo",
            "province",
            "--stations",
            str(options.stations),
            "--activities",
            str(options.activities),
            "--checkins",
            str(options.checkins),
            "--visits",
            str(options.visits),
        ]
    )
    if result.exit_code != 0:
        raise SystemExit(result.output)
    print(result.output.strip().splitlines()[-1], flush=True)
    with app.app_context():
        db.engine.dispose()
    return time.perf_counter() - started


def largest_city() -> Unit:
    """The city with the most shelves."""
    cities = db.session.scalars(select(Unit).where(Unit.level == Level.CITY)).all()
    counts = {
        city.id: db.session.scalar(
            select(func.count(Shelf.id))
            .join(Station, Station.id == Shelf.station_id)
            .where(Station.under(city.path))
        )
        for city in cities
    }
    return max(cities, key=lambda c: counts[c.id])


def measure(url: str, rounds: int) -> dict:
    app = create_app(TestConfig(url))
    results = {}
    with app.app_context():
        statements = Statements(db.engine)
        root = find_province()
        city = largest_city()
        last = local_today()
        first = last - timedelta(days=364)
        district = db.session.scalar(
            select(Unit).where(Unit.parent_id == city.id).order_by(Unit.code, Unit.id)
        )
        scopes = {"province": root.id, "city": city.id, "district": district.id}
        data = {
            "shelves": db.session.scalar(select(func.count(Shelf.id))),
            "puttings": db.session.scalar(select(func.count(ShelfGift.id))),
            "takings": db.session.scalar(select(func.count(ShelfTaking.id))),
            "point_entries": db.session.scalar(select(func.count(PointEntry.id))),
            "point_accounts": db.session.scalar(select(func.count(PointAccount.id))),
            "city": city.name,
            "district": district.name,
        }
        for entry in MEASURES:
            figures = {}
            for scope, unit_id in scopes.items():

                def run(unit_id=unit_id, entry=entry):
                    return entry.run(db.session.get(Unit, unit_id), first, last)

                median, seconds, result = timed(rounds, run)
                with statements:
                    run()
                figures[scope] = {
                    "median_s": round(median, 3),
                    "rounds_s": seconds,
                    "statements": statements.n - 1,  # less the unit's own SELECT
                    "result": str(result),
                }
            figures["met"] = all(f["median_s"] <= GOAL_SECONDS for f in figures.values())
            figures["constant_statements"] = (
                len({figures[scope]["statements"] for scope in scopes}) == 1
            )
            results[entry.name] = figures
        db.engine.dispose()
    return {"data": data, "measures": results}


def main() -> None:
    parser = arguments(__doc__)
    parser.add_argument("--reuse", action="store_true", help="keep a database holding the province")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--stations", type=int, default=11_000)
    parser.add_argument("--activities", type=int, default=100_000)
    parser.add_argument("--checkins", type=int, default=2_230_000)
    parser.add_argument("--visits", type=int, default=2_230_000)
    options = parser.parse_args()
    target = options.database_url or DEFAULT_URL
    built = None
    with tempfile.TemporaryDirectory() as tmp:
        url = province_to_reuse(target) if options.reuse else None
        if url is None:
            url = empty_database(target, tmp, "bench_shelf")
            built = round(build(url, options), 1)
        result = measure(url, options.rounds)
    measures = result["measures"]
    print(
        json.dumps(
            {
                "bench": "shelf_rollup",
                "database": database_name(url),
                "built_s": built,
                **result["data"],
                "measures": measures,
                "goal": {"median_s_at_most": GOAL_SECONDS, "constant_statements": True},
                "met": all(m["met"] and m["constant_statements"] for m in measures.values()),
            },
            ensure_ascii=False,
        )
    )


if __name__ == "__main__":
    main()
