"""A big province's year of raw rows, read through the analytics tables.

Usage: .venv/bin/python bench/province_year.py [--database-url URL] [--reuse]
          [--stations N] [--visits N] [--checkins N] [--activities N] [--rounds N]
Builds the synthetic province (inclusive_day.demo.province) at a big province's scale, by
default 20,000 stations with 45 million door visits and 5 million check-ins (50 million raw
rows) over its campaign year, in an emptied database, and times it: the bulk load (the
counters of the analytics tables are counted set by set as it goes) and the first refresh of
the people bitmaps. Says the disk the database takes. Then, in a fresh process that has never
counted anything (its peak memory is the figure):
1. the province's recap PDF of its campaign, rendered without the report cache;
2. the monthly traffic notice of the province for the last whole month (its page data, and
   its PDF);
3. the exact distinct people of the whole campaign year: door visitors, and people checked
   in at activities, through analytics.people (the bitmaps), checked against the count over
   the raw rows in the same run.
Medians of --rounds after one warm-up. Prints one JSON line. Goals: recap PDF <= 3 s, notice
<= 1 s, year's unique people <= 2 s, peak memory <= 500 MB, building <= 15 minutes.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, date, datetime
from pathlib import Path

from _shared import (
    arguments,
    database_name,
    empty_database,
    migrated_app,
    province_to_reuse,
)
from flask_babel import force_locale
from province_recap import peak_mb
from sqlalchemy import distinct, func, select, text

from inclusive_day import create_app
from inclusive_day.activities.models import Activity
from inclusive_day.analytics.models import PeopleKind
from inclusive_day.analytics.people import distinct_people
from inclusive_day.analytics.refresh import refresh
from inclusive_day.attendance.models import CheckIn, StationVisit
from inclusive_day.campaigns.models import Campaign
from inclusive_day.config import TestConfig
from inclusive_day.demo.province import build_province, find_province
from inclusive_day.extensions import db
from inclusive_day.periods import Month, days_utc_range
from inclusive_day.reports.documents import render_recap, render_traffic
from inclusive_day.reports.recap import RecapScope, default_period
from inclusive_day.reports.traffic import build_traffic_notice
from inclusive_day.stations.models import Station

GOALS = {
    "recap_pdf_s": 3.0,
    "notice_s": 1.0,
    "year_people_s": 2.0,
    "peak_mb": 500.0,
    "build_s": 15 * 60.0,
}


def timed(rounds: int, run) -> tuple[float, object]:
    """One warm-up, then the median of `rounds` runs; the last result."""
    result = run()
    seconds = []
    for _ in range(rounds):
        db.session.remove()
        started = time.perf_counter()
        result = run()
        seconds.append(time.perf_counter() - started)
    return statistics.median(seconds), result


def measure_child(url: str, rounds: int, cache_dir: str) -> None:
    """In a fresh process: time the three readings; print them with this process's peak."""
    os.environ["REPORT_CACHE_DIR"] = cache_dir
    app = create_app(TestConfig(url))
    with app.app_context(), app.test_request_context(), force_locale("zh"):
        root = find_province()
        campaign = root_campaign(root.id)
        first, last = default_period(campaign)
        scope = RecapScope(campaign.id, root.id, first, last)
        month = Month.containing(datetime.now(UTC)).shift(-1)

        def recap_pdf():
            return render_recap(scope, "zh")

        def notice():
            return build_traffic_notice(find_province(), month)

        def notice_pdf():
            return render_traffic(find_province(), month, "zh")

        def people():
            unit = find_province()
            return (
                distinct_people(PeopleKind.VISITORS, unit, first, last),
                distinct_people(PeopleKind.SERVED, unit, first, last, campaign.id),
            )

        recap_s, data = timed(rounds, recap_pdf)
        notice_s, _ = timed(rounds, notice)
        notice_pdf_s, _ = timed(rounds, notice_pdf)
        people_s, (visitors, served) = timed(rounds, people)
        peak = peak_mb()
        raw_visitors, raw_served = raw_people(root.path, first, last, campaign.id)
    print(
        json.dumps(
            {
                "period": [str(first), str(last)],
                "notice_month": str(month),
                "recap_pdf_s": round(recap_s, 2),
                "recap_pdf_bytes": len(data),
                "notice_s": round(notice_s, 3),
                "notice_pdf_s": round(notice_pdf_s, 2),
                "year_people_s": round(people_s, 3),
                "year_visitors": visitors,
                "year_served_people": served,
                "raw_agrees": visitors == raw_visitors and served == raw_served,
                "peak_mb": round(peak, 1),
            }
        )
    )


def root_campaign(root_id: int):
    """The synthetic province's campaign."""
    return db.session.scalar(select(Campaign).where(Campaign.unit_id == root_id).limit(1))


def raw_people(path: str, first: date, last: date, campaign_id: int) -> tuple[int, int]:
    """The same two figures counted over the raw rows (after the timings)."""
    stations = select(Station.id).where(Station.under(path))
    visitors = db.session.scalar(
        select(func.count(distinct(StationVisit.person_key))).where(
            StationVisit.station_id.in_(stations),
            StationVisit.visit_day >= first,
            StationVisit.visit_day <= last,
        )
    )
    start, end = days_utc_range(first, last)
    served = db.session.scalar(
        select(func.count(distinct(CheckIn.person_key)))
        .join(Activity, Activity.id == CheckIn.activity_id)
        .where(
            Activity.station_id.in_(stations),
            Activity.campaign_id == campaign_id,
            Activity.starts_at >= start,
            Activity.starts_at < end,
            CheckIn.annulled_at.is_(None),
        )
    )
    return int(visitors), int(served)


def build(url: str, options) -> dict:
    """Build the province and refresh its bitmaps; the seconds of each and the disk."""
    app = migrated_app(url)
    with app.app_context():
        started = time.perf_counter()
        summary = build_province(
            stations=options.stations,
            activities=options.activities,
            checkins=options.checkins,
            visits=options.visits,
            echo=lambda line: print(line, file=sys.stderr, flush=True),
        )
        loaded = time.perf_counter() - started
        started = time.perf_counter()
        done = refresh()
        db.session.commit()
        refreshed = time.perf_counter() - started
        size = db.session.scalar(text("SELECT pg_database_size(current_database())"))
        db.engine.dispose()
    return {
        "load_s": round(loaded, 1),
        "refresh_s": round(refreshed, 1),
        "build_s": round(loaded + refreshed, 1),
        "bitmaps": done.bitmaps,
        "people_numbered": done.people_numbered,
        "disk_gb": round(size / 2**30, 2),
        "province": {"activities": summary.activities, "checkins": summary.checkins},
    }


def main() -> None:
    """Build (or reuse) the province, measure in a fresh process, print one JSON line."""
    if len(sys.argv) > 1 and sys.argv[1] == "--measure-child":
        measure_child(sys.argv[2], int(sys.argv[3]), sys.argv[4])
        return
    parser = arguments(__doc__)
    parser.add_argument("--reuse", action="store_true", help="keep a database holding the province")
    parser.add_argument("--stations", type=int, default=20_000)
    parser.add_argument("--visits", type=int, default=45_000_000)
    parser.add_argument("--checkins", type=int, default=5_000_000)
    parser.add_argument("--activities", type=int, default=200_000)
    parser.add_argument("--rounds", type=int, default=3)
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        built = {}
        url = province_to_reuse(options.database_url) if options.reuse else None
        if url is None:
            url = empty_database(options.database_url, tmp, "province_year")
            built = build(url, options)
        child = subprocess.run(
            [sys.executable, __file__, "--measure-child", url, str(options.rounds), tmp],
            capture_output=True,
            text=True,
            cwd=Path(__file__).resolve().parent,
        )
        if child.returncode != 0:
            sys.stderr.write(child.stderr)
            raise SystemExit(child.returncode)
        figures = json.loads(child.stdout.strip().splitlines()[-1])
    measured = {**figures, **built}
    met = figures["raw_agrees"] and all(
        measured[name] <= goal for name, goal in GOALS.items() if name in measured
    )
    print(
        json.dumps(
            {
                "bench": "province_year",
                "database": database_name(url),
                "stations": options.stations,
                "raw_rows": {"visits": options.visits, "checkins": options.checkins},
                **measured,
                "from": "raw rows generated in bulk, read through the analytics tables",
                "load_average": round(os.getloadavg()[0], 2),
                "goal": {f"{name}_at_most": goal for name, goal in GOALS.items()},
                "met": met,
            }
        )
    )


if __name__ == "__main__":
    main()
