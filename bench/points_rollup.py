"""The points rollup of a province over a year (points.queries.points_rollup).

Usage: .venv/bin/python bench/points_rollup.py [--database-url URL] [--reuse] [--rounds N]

Builds the synthetic province (`demo province`'s defaults: 11,000 stations, 2.23 M check-ins
and 2.23 M door visits) and its year of points (demo.province_points: a quarter of its people,
about 670,000 entries), or with --reuse keeps a database that holds the province (and adds the
points if it has none). Then times the rollup of the province (16 cities as rows) over the last
365 days and the last 30: points earned and spent per city and reason, and the cards active.
Goal: 1 s on PostgreSQL. Prints one JSON line.
"""

import json
import tempfile
from datetime import timedelta

from _shared import arguments, empty_database, migrated_app, province_to_reuse, timed
from sqlalchemy import func, select

from inclusive_day.demo.province import build_province, find_province
from inclusive_day.demo.province_points import generate_points
from inclusive_day.extensions import db
from inclusive_day.periods import local_today
from inclusive_day.points.models import PointEntry
from inclusive_day.points.queries import points_rollup
from inclusive_day.units.models import Unit

GOAL_S = 1.0


def main() -> None:
    """Build or reuse the province with its points, then time the rollups."""
    parser = arguments(__doc__)
    parser.add_argument("--reuse", action="store_true")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = (args.reuse and province_to_reuse(args.database_url)) or None
        app = migrated_app(url or empty_database(args.database_url, tmp, "points_rollup"))
        with app.app_context():
            if url is None:
                build_province(echo=lambda _line: None)
            if not db.session.scalar(select(func.count(PointEntry.id))):
                generate_points(db.session, find_province(), echo=lambda _line: None)
            root_id = find_province().id
            entries = db.session.scalar(select(func.count(PointEntry.id)))
            last = local_today()
            figures = {}
            for label, days in (("year", 365), ("month", 30)):
                first = last - timedelta(days=days - 1)
                median, rounds, rollup = timed(
                    args.rounds,
                    lambda f=first: points_rollup(db.session.get(Unit, root_id), f, last),
                )
                figures[label] = {
                    "median_s": round(median, 3),
                    "rounds_s": rounds,
                    "earned": rollup.total.total_earned,
                    "spent": rollup.total.total_spent,
                    "active": rollup.total.active,
                    "rows": len(rollup.rows),
                }
            print(
                json.dumps(
                    {
                        "bench": "points_rollup",
                        "database": db.engine.dialect.name,
                        "entries": entries,
                        **figures,
                        "goal_s": GOAL_S,
                        "met": figures["year"]["median_s"] <= GOAL_S,
                    }
                )
            )


if __name__ == "__main__":
    main()
