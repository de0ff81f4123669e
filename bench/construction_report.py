"""The construction progress notice at province scale: page data, PDF, and open counts per unit.

Usage: .venv/bin/python bench/construction_report.py [--database-url URL] [--reuse]
       [--rounds N] [--activities N] [--checkins N]
Builds the synthetic province (inclusive_day.demo.province, `flask demo province`: 16 cities,
11,000 stations and their construction year) in an emptied database; with --reuse, a
database that already holds it is kept as it is. The report needs no activities or
check-ins, so by default the build makes few of them (--activities, --checkins) to keep the
run to a few minutes. The construction year is the generator's: the year of the province's
construction target, reported on 15 August with the gain since 15 July. A generator without
a construction year (before demo.network) gets one here, in bulk SQL: opening days for the
stations so that 9,220 are open on 15 August, and targets of 11,000 for the province handed
down to its cities in proportion to their stations.

Then, on that database, the median of --rounds after one warm-up, each in a fresh session:
1. the report's page data (reports.construction.build_construction) for the province, and the
   number of SQL statements it runs, which must be the same for one city (fewer stations and
   sub-units): a constant number of queries whatever the number of stations;
2. the whole PDF (render_construction: data, HTML, WeasyPrint), without the PDF cache, and
   its statements (the same count for the city);
3. the stations open on 15 August for every unit of the province at once
   (construction.queries.open_per_unit): its time and statements (one), again for the city,
   checked against the report's totals.
Prints one JSON line. Goals (on PostgreSQL): page data <= 0.5 s, PDF <= 2 s, open counts for
every unit <= 0.3 s, each with a constant number of statements.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from datetime import UTC, date, datetime, timedelta

from _shared import (
    Statements,
    analyse,
    arguments,
    database_name,
    empty_database,
    migrated_app,
    province_to_reuse,
    statements,
    timed,
)
from sqlalchemy import bindparam, select, text, update

from inclusive_day import create_app
from inclusive_day.config import TestConfig
from inclusive_day.construction.models import ConstructionTarget
from inclusive_day.construction.queries import open_per_unit
from inclusive_day.demo.province import build_province, find_province
from inclusive_day.extensions import db
from inclusive_day.periods import local_today
from inclusive_day.reports.construction import ConstructionScope, build_construction
from inclusive_day.reports.documents import render_construction
from inclusive_day.stations.models import Station, StationStatus
from inclusive_day.units.models import Unit

PAGE_GOAL_S = 0.5
PDF_GOAL_S = 2.0
OPEN_GOAL_S = 0.3
TARGET, OPEN_ON_REPORT_DAY = 11_000, 9_220
REPORT_DAY = (8, 15)


def construction_year(root: Unit) -> int | None:
    """The year of the province's construction target, if the generator wrote one."""
    return db.session.scalar(
        select(ConstructionTarget.year)
        .where(ConstructionTarget.unit_id == root.id)
        .order_by(ConstructionTarget.year.desc())
        .limit(1)
    )


def add_construction_year(root: Unit, year: int) -> None:
    """For a province built without a construction year: in bulk SQL (one UPDATE sent as
    executemany, two INSERT ... SELECT), opening days that leave OPEN_ON_REPORT_DAY stations
    open on 15 August (the others opening in the autumn, the closed ones closing after the
    report day), and targets of 11,000 for the province and its share for each city. The
    same province always gets the same days: stations in id order."""
    first_day, report_day = date(year - 3, 1, 1), date(year, *REPORT_DAY)
    spread = (report_day - first_day).days
    rows = []
    stations = db.session.execute(select(Station.id, Station.status).order_by(Station.id))
    for n, (station_id, status) in enumerate(stations):
        if n < OPEN_ON_REPORT_DAY:
            opened = first_day + timedelta(days=n * spread // OPEN_ON_REPORT_DAY)
        else:
            opened = report_day + timedelta(days=1 + n % 120)
        if status in (StationStatus.PLANNED, StationStatus.UNDER_CONSTRUCTION):
            status = StationStatus.ACTIVE
        closed = max(opened, report_day) + timedelta(days=30) if status == "closed" else None
        rows.append({"sid": station_id, "opened": opened, "closed": closed, "status": status})
    table = Station.__table__
    db.session.execute(
        update(table)
        .where(table.c.id == bindparam("sid"))
        .values(
            opened_on=bindparam("opened"), closed_on=bindparam("closed"), status=bindparam("status")
        ),
        rows,
    )
    stamp = {"year": year, "due": date(year, 12, 31), "now": datetime.now(UTC)}
    db.session.execute(
        text(
            "INSERT INTO construction_targets (unit_id, year, stations, due_on, updated_at)"
            " VALUES (:root, :year, :target, :due, :now)"
        ),
        {**stamp, "root": root.id, "target": TARGET},
    )
    db.session.execute(
        text(
            "INSERT INTO construction_targets (unit_id, year, stations, due_on, updated_at)"
            " SELECT c.id, :year, CAST(count(s.id) * :target / :total AS INTEGER) + 1, :due, :now"
            " FROM units c JOIN units u"
            " ON u.path >= c.path AND u.path < substr(c.path, 1, length(c.path) - 1) || '0'"
            " LEFT JOIN stations s ON s.unit_id = u.id WHERE c.parent_id = :root GROUP BY c.id"
        ),
        {**stamp, "root": root.id, "target": TARGET, "total": len(rows)},
    )
    db.session.commit()


def measure(url: str, rounds: int) -> dict:
    """Time and count the page data, the PDF and the open counts, for the province and a city."""
    app = create_app(TestConfig(url))
    with app.app_context(), app.test_request_context():
        root = find_province()
        year = construction_year(root)
        filled = year is None
        if filled:
            year = local_today().year - 1
            add_construction_year(root, year)
            analyse(db.engine)
            root = find_province()
        on, since = date(year, *REPORT_DAY), date(year, 7, REPORT_DAY[1])
        city = db.session.scalar(
            select(Unit).where(Unit.parent_id == root.id).order_by(Unit.id).limit(1)
        )
        scopes = {
            "province": ConstructionScope(root.id, on, since),
            "city": ConstructionScope(city.id, on, since),
        }
        root_id, city_id = root.id, city.id
        counter = Statements(db.engine)
        figures: dict = {"page": {}, "pdf": {}, "open": {}}
        pdf_first = None
        for name, scope in scopes.items():
            unit_id = scope.unit_id
            figures["page"][name] = statements(counter, lambda s=scope: build_construction(s))
            started = time.perf_counter()
            figures["pdf"][name] = statements(counter, lambda s=scope: render_construction(s, "zh"))
            # The first render of the process: fonts and templates load.
            pdf_first = pdf_first or time.perf_counter() - started
            db.session.remove()
            unit = db.session.get(Unit, unit_id)
            with counter:
                open_per_unit(unit, on)
            figures["open"][name] = counter.n
        page_s, page_rounds, report = timed(rounds, lambda: build_construction(scopes["province"]))
        pdf_s, pdf_rounds, pdf = timed(
            rounds, lambda: render_construction(scopes["province"], "zh")
        )
        db.session.remove()
        province = db.session.get(Unit, root_id)
        open_s, open_rounds, counts = timed(rounds, lambda: open_per_unit(province, on))
        db.session.remove()
        city_counts = open_per_unit(db.session.get(Unit, city_id), on)
        agrees = (
            counts[root_id] == report.built
            and city_counts[city_id] == next(r.built for r in report.rows if r.unit_id == city_id)
            and sum(r.built for r in report.rows) + report.direct_built == report.built
        )
        db.engine.dispose()
    return {
        "filled_by_bench": filled,
        "year": year,
        "on": on.isoformat(),
        "since": since.isoformat(),
        "target": report.target,
        "built": report.built,
        "percent": report.percent,
        "gain": report.gain,
        "still_to_build": report.still_to_build,
        "sub_units": len(report.rows),
        "units": len(counts),
        "funds": {k: str(v) for k, v in vars(report.funds).items()},
        "page_s": round(page_s, 3),
        "page_rounds": page_rounds,
        "page_statements": figures["page"],
        "pdf_first_s": round(pdf_first, 2),
        "pdf_s": round(pdf_s, 3),
        "pdf_rounds": pdf_rounds,
        "pdf_bytes": len(pdf),
        "pdf_statements": figures["pdf"],
        "open_per_unit_s": round(open_s, 3),
        "open_per_unit_rounds": open_rounds,
        "open_per_unit_statements": figures["open"],
        "figures_agree": agrees,
    }


def main() -> None:
    """Build (or reuse) the province, measure, print one JSON line."""
    parser = arguments(__doc__)
    parser.add_argument("--reuse", action="store_true", help="keep a database holding the province")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--activities", type=int, default=2_000)
    parser.add_argument("--checkins", type=int, default=0)
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        built = None
        url = province_to_reuse(options.database_url) if options.reuse else None
        reuse = url is not None
        if not reuse:
            url = empty_database(options.database_url, tmp, "construction")
            app = migrated_app(url)
            with app.app_context():
                summary = build_province(
                    activities=options.activities,
                    checkins=options.checkins,
                    echo=lambda _: None,
                )
                built = summary.seconds
                db.engine.dispose()
        result = measure(url, options.rounds)
    constant = all(
        len(set(result[key].values())) == 1
        for key in ("page_statements", "pdf_statements", "open_per_unit_statements")
    )
    met = (
        result["figures_agree"]
        and constant
        and result["page_s"] <= PAGE_GOAL_S
        and result["pdf_s"] <= PDF_GOAL_S
        and result["open_per_unit_s"] <= OPEN_GOAL_S
    )
    print(
        json.dumps(
            {
                "bench": "construction_report",
                "database": database_name(url),
                "built_s": built,
                **result,
                "constant_statements": constant,
                "load_average": round(os.getloadavg()[0], 2),
                "goal": {
                    "page_s_at_most": PAGE_GOAL_S,
                    "pdf_s_at_most": PDF_GOAL_S,
                    "open_per_unit_s_at_most": OPEN_GOAL_S,
                    "constant_statements": True,
                },
                "met": met,
            },
            ensure_ascii=False,
        )
    )


if __name__ == "__main__":
    main()
