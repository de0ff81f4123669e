"""The recap at province scale: its aggregates against hand-written SQL, the whole PDF, memory.

Usage: .venv/bin/python bench/province_recap.py [--database-url URL] [--reuse] [--rounds N]
Builds the synthetic province (inclusive_day.demo.province: 11,000 stations, 100,000
activities, 2,230,000 check-ins) in an emptied database; with --reuse, a database that already
holds it is kept as it is. Then, for the province-wide recap of its campaign:
1. every figure the recap shows, computed through the app (reports.recap.build_recap: one
   statement for the breakdowns, one for unique people, and the small ones for names,
   targets, the station network and the sponsors), against the same figures from hand-written SQL
   sent through the driver (psycopg or sqlite3) in the same run, taking turns, median of
   --rounds each after one warm-up; the two must give the same figures. Both run with the
   session settings the app's reports use (on PostgreSQL: jit off);
2. the whole recap PDF (aggregates, HTML, WeasyPrint), rendered without the PDF cache in a
   fresh process: its first render and the median of three more, and that process's peak
   memory (VmHWM; ru_maxrss where there is no /proc, see peak_mb).
Prints one JSON line. Goals: app <= 2 x hand-written; PDF <= 3 s; peak memory <= 300 MB.
"""

from __future__ import annotations

import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

from _shared import (
    arguments,
    database_name,
    empty_database,
    migrated_app,
    province_to_reuse,
)
from sqlalchemy import select

from inclusive_day import create_app
from inclusive_day.config import TestConfig
from inclusive_day.extensions import db

RATIO_GOAL = 2.0
PDF_GOAL_S = 3.0
MEMORY_GOAL_MB = 300

# --- Hand-written SQL --------------------------------------------------------------------------
# The same figures as the recap, written by hand for each database. Parameters: :campaign,
# :path and :path_end (the unit's subtree as a byte range), :start and :end (UTC instants of
# the period), :now, :offset (characters of the unit's path, to find its sub-unit).

# Served per activity by the counting rule (headcounts + standing check-ins), for both databases.
SERVED_CTE = """
WITH served AS (
  SELECT x.activity_id, sum(x.n) AS n FROM (
    SELECT h.activity_id, h.count AS n
    FROM headcounts h JOIN activities a ON a.id = h.activity_id
    JOIN stations s ON s.id = a.station_id JOIN units u ON u.id = s.unit_id
    WHERE a.campaign_id = :campaign AND u.path >= :path AND u.path < :path_end
      AND a.starts_at >= :start AND a.starts_at < :end
    UNION ALL
    SELECT c.activity_id, count(*) AS n
    FROM checkins c JOIN activities a ON a.id = c.activity_id
    JOIN stations s ON s.id = a.station_id JOIN units u ON u.id = s.unit_id
    WHERE a.campaign_id = :campaign AND u.path >= :path AND u.path < :path_end
      AND a.starts_at >= :start AND a.starts_at < :end AND c.annulled_at IS NULL
    GROUP BY c.activity_id
  ) x GROUP BY x.activity_id
),
"""

PG_BREAKDOWNS = (
    SERVED_CTE
    + """per_activity AS (
  SELECT a.station_id, a.theme_id,
         to_char(a.starts_at AT TIME ZONE 'Asia/Shanghai', 'YYYY-MM') AS month,
         split_part(substr(u.path, :offset + 1), '/', 1) AS child,
         (a.status <> 'cancelled' AND a.starts_at <= :now) AS held,
         (a.status <> 'cancelled' AND a.starts_at > :now) AS planned,
         coalesce(served.n, 0) AS served
  FROM activities a JOIN stations s ON s.id = a.station_id JOIN units u ON u.id = s.unit_id
  LEFT JOIN served ON served.activity_id = a.id
  WHERE a.campaign_id = :campaign AND u.path >= :path AND u.path < :path_end
    AND a.starts_at >= :start AND a.starts_at < :end
)
SELECT CASE WHEN GROUPING(theme_id) = 0 THEN 'theme' WHEN GROUPING(month) = 0 THEN 'month'
            WHEN GROUPING(child) = 0 THEN 'unit' WHEN GROUPING(station_id) = 0 THEN 'station'
            ELSE 'total' END AS dimension,
       coalesce(theme_id::text, month, child, station_id::text) AS key,
       count(*) FILTER (WHERE held), count(*) FILTER (WHERE planned), sum(served),
       count(DISTINCT station_id) FILTER (WHERE held)
FROM per_activity
GROUP BY GROUPING SETS ((), (theme_id), (month), (child), (station_id))
"""
)

SQLITE_BREAKDOWNS = (
    SERVED_CTE
    + """per_activity AS (
  SELECT a.station_id, a.theme_id,
         strftime('%Y-%m', a.starts_at, '+8 hours') AS month,
         substr(substr(u.path, :offset + 1), 1, instr(substr(u.path, :offset + 1), '/') - 1)
           AS child,
         (a.status <> 'cancelled' AND a.starts_at <= :now) AS held,
         (a.status <> 'cancelled' AND a.starts_at > :now) AS planned,
         coalesce(served.n, 0) AS served
  FROM activities a JOIN stations s ON s.id = a.station_id JOIN units u ON u.id = s.unit_id
  LEFT JOIN served ON served.activity_id = a.id
  WHERE a.campaign_id = :campaign AND u.path >= :path AND u.path < :path_end
    AND a.starts_at >= :start AND a.starts_at < :end
)
SELECT 'total', NULL, sum(held), sum(planned), sum(served),
       count(DISTINCT CASE WHEN held THEN station_id END) FROM per_activity
UNION ALL
SELECT 'theme', CAST(theme_id AS TEXT), sum(held), sum(planned), sum(served),
       count(DISTINCT CASE WHEN held THEN station_id END) FROM per_activity GROUP BY theme_id
UNION ALL
SELECT 'month', month, sum(held), sum(planned), sum(served),
       count(DISTINCT CASE WHEN held THEN station_id END) FROM per_activity GROUP BY month
UNION ALL
SELECT 'unit', child, sum(held), sum(planned), sum(served),
       count(DISTINCT CASE WHEN held THEN station_id END) FROM per_activity GROUP BY child
UNION ALL
SELECT 'station', CAST(station_id AS TEXT), sum(held), sum(planned), sum(served),
       count(DISTINCT CASE WHEN held THEN station_id END) FROM per_activity GROUP BY station_id
"""
)

SCOPE = """
  JOIN activities a ON a.id = {table}.activity_id
  JOIN stations s ON s.id = a.station_id JOIN units u ON u.id = s.unit_id
  WHERE a.campaign_id = :campaign AND u.path >= :path AND u.path < :path_end
    AND a.starts_at >= :start AND a.starts_at < :end
"""

GROUPS = (
    "SELECT g, sum(n) FROM ("
    ' SELECT h."group" AS g, sum(h.count) AS n FROM headcounts h'
    + SCOPE.format(table="h")
    + ' GROUP BY h."group"'
    ' UNION ALL SELECT c."group", count(*) FROM checkins c'
    + SCOPE.format(table="c")
    + ' AND c.annulled_at IS NULL GROUP BY c."group") x GROUP BY g'
)

PEOPLE = (
    "SELECT count(DISTINCT c.person_key) FROM checkins c"
    + SCOPE.format(table="c")
    + " AND c.annulled_at IS NULL"
)

OPEN_AT_END = "s.opened_on <= :last_day AND (s.closed_on IS NULL OR s.closed_on > :last_day)"

REGISTRY = f"""
SELECT sum(CASE WHEN s.opened_on >= :first_day AND s.opened_on <= :last_day THEN 1 ELSE 0 END),
       sum(CASE WHEN {OPEN_AT_END} THEN 1 ELSE 0 END)
FROM stations s JOIN units u ON u.id = s.unit_id WHERE u.path >= :path AND u.path < :path_end
"""

OPEN_BY_HOST_TYPE = f"""
SELECT t.code, count(*) FROM stations s JOIN units u ON u.id = s.unit_id
JOIN station_host_types t ON t.id = s.host_type_id
WHERE u.path >= :path AND u.path < :path_end AND {OPEN_AT_END} GROUP BY t.code
"""

OPEN_BY_LABEL = f"""
SELECT l.code, count(*) FROM stations s JOIN units u ON u.id = s.unit_id
JOIN station_label_awards a ON a.station_id = s.id JOIN station_labels l ON l.id = a.label_id
WHERE u.path >= :path AND u.path < :path_end AND {OPEN_AT_END} AND a.year <= :last_year
GROUP BY l.code
"""

TARGETS = """
SELECT t.unit_id, t.activities, t.served, t.stations FROM campaign_targets t
JOIN units u ON u.id = t.unit_id
WHERE t.campaign_id = :campaign AND (u.id = :unit OR u.parent_id = :unit)
"""

# The unit is the campaign's owner and every sponsor registered inside its subtree, so each
# received gift of an approved sponsor counts whole, on the day it was received.
GIVING = """
SELECT d.sponsor_id, d.id, d.value FROM donations d JOIN sponsors sp ON sp.id = d.sponsor_id
JOIN units u ON u.id = sp.unit_id
WHERE d.campaign_id = :campaign AND d.status IN ('received', 'distributed')
  AND sp.status = 'approved' AND u.path >= :path AND u.path < :path_end
  AND d.received_on >= :first_day AND d.received_on <= :last_day
"""

IMPACT = """
WITH supported AS (
  SELECT d.sponsor_id, a.id AS activity_id FROM donations d
  JOIN activity_donations ad ON ad.donation_id = d.id JOIN activities a ON a.id = ad.activity_id
  JOIN stations s ON s.id = a.station_id JOIN units u ON u.id = s.unit_id
  WHERE d.status IN ('received', 'distributed') AND a.status <> 'cancelled'
    AND a.campaign_id = :campaign AND u.path >= :path AND u.path < :path_end
    AND a.starts_at >= :start AND a.starts_at < :end
  UNION
  SELECT d.sponsor_id, a.id FROM donations d
  JOIN donation_distributions x ON x.donation_id = d.id JOIN activities a ON a.id = x.activity_id
  JOIN stations s ON s.id = a.station_id JOIN units u ON u.id = s.unit_id
  WHERE d.status IN ('received', 'distributed') AND a.status <> 'cancelled'
    AND a.campaign_id = :campaign AND u.path >= :path AND u.path < :path_end
    AND a.starts_at >= :start AND a.starts_at < :end
),
served AS (
  SELECT activity_id, sum(n) AS n FROM (
    SELECT h.activity_id, h.count AS n FROM headcounts h
    WHERE h.activity_id IN (SELECT activity_id FROM supported)
    UNION ALL
    SELECT c.activity_id, 1 FROM checkins c
    WHERE c.activity_id IN (SELECT activity_id FROM supported) AND c.annulled_at IS NULL
  ) x GROUP BY activity_id
)
SELECT s.sponsor_id, count(*), coalesce(sum(served.n), 0)
FROM supported s LEFT JOIN served ON served.activity_id = s.activity_id
GROUP BY s.sponsor_id
"""


class HandWritten:
    """The recap's figures from the SQL above, through the bare DB-API connection."""

    def __init__(self, engine, scope, unit_path: str, now: datetime) -> None:
        from inclusive_day.periods import days_utc_range

        self.dialect = engine.dialect.name
        start, end = days_utc_range(scope.start, scope.end)
        self.params = {
            "campaign": scope.campaign_id,
            "unit": scope.unit_id,
            "path": unit_path,
            "path_end": unit_path[:-1] + "0",
            "start": start,
            "end": end,
            "now": now,
            "offset": len(unit_path),
            "first_day": scope.start,
            "last_day": scope.end,
            "last_year": scope.end.year,
        }
        if self.dialect == "sqlite":
            for key in ("start", "end", "now"):  # stored as naive UTC text
                self.params[key] = self.params[key].replace(tzinfo=None).isoformat(" ")
            for key in ("first_day", "last_day"):
                self.params[key] = self.params[key].isoformat()
        self.engine = engine

    def _run(self, cursor, sql: str) -> list[tuple]:
        if self.dialect == "sqlite":
            cursor.execute(sql, self.params)
        else:  # psycopg: named parameters are %(name)s
            import re

            text = re.sub(r"(?<!:):([a-z_]+)", r"%(\1)s", sql.replace("%", "%%"))
            cursor.execute(text, self.params)
        return cursor.fetchall()

    def figures(self) -> dict:
        """Every figure, as plain comparable values."""
        raw = self.engine.raw_connection()
        try:
            cursor = raw.cursor()
            if self.dialect == "postgresql":  # the same session settings as the app's reports
                cursor.execute("SET LOCAL jit = off")
            breakdowns = PG_BREAKDOWNS if self.dialect == "postgresql" else SQLITE_BREAKDOWNS
            rows = self._run(cursor, breakdowns)
            groups = self._run(cursor, GROUPS)
            people = self._run(cursor, PEOPLE)[0][0]
            registry = self._run(cursor, REGISTRY)[0]
            by_host_type = self._run(cursor, OPEN_BY_HOST_TYPE)
            by_label = self._run(cursor, OPEN_BY_LABEL)
            targets = self._run(cursor, TARGETS)
            gifts = self._run(cursor, GIVING)
            impact = self._run(cursor, IMPACT)
            raw.rollback()
        finally:
            raw.close()
        by = {}
        for dimension, key, held, planned, served, stations in rows:
            by.setdefault(dimension, {})[key] = (
                int(held or 0),
                int(planned or 0),
                int(served or 0),
                int(stations or 0),
            )
        total = by["total"][None]
        stations = sorted(
            by.get("station", {}).items(), key=lambda kv: (-kv[1][2], -kv[1][0], int(kv[0]))
        )
        values: dict[int, Decimal] = {}
        for sponsor_id, _donation, value in gifts:
            values[sponsor_id] = values.get(sponsor_id, Decimal(0)) + Decimal(value)
        return {
            "headline": (total[0], total[1], total[2], int(people), total[3]),
            "themes": {int(k): v[:3] for k, v in by.get("theme", {}).items()},
            "months": {k: v[:3] for k, v in by.get("month", {}).items()},
            "units": {int(k): v for k, v in by.get("unit", {}).items() if k},
            "groups": {g: int(n) for g, n in groups if n},
            "top_stations": [(int(k), v[2]) for k, v in stations if v[0] + v[2] > 0][:10],
            "registry": (int(registry[0] or 0), int(registry[1] or 0)),
            "open_by_host_type": {code: int(n) for code, n in by_host_type if n},
            "open_by_label": {code: int(n) for code, n in by_label if n},
            "targets": {row[0]: tuple(row[1:]) for row in targets},
            "giving": (len(values), len(gifts), sum(values.values(), Decimal(0))),
            "impact": {s: (int(n), int(served)) for s, n, served in impact},
        }


def app_figures(scope, now: datetime) -> dict:
    """The same figures through the app: the recap's data, in comparable form."""
    from inclusive_day.reports.recap import build_recap
    from inclusive_day.stations.models import Station

    recap = build_recap(scope, now)
    h = recap.headline
    codes = [line.key for line in recap.stations]
    ids = dict(
        db.session.execute(select(Station.code, Station.id).where(Station.code.in_(codes))).all()
    )
    return {
        "headline": (h.activities, h.planned, h.served, h.people, h.stations),
        "themes": {int(t.key): (t.activities, t.planned, t.served) for t in recap.themes},
        "months": {
            name: (m.activities, m.planned, m.served)
            for name, m in zip(_month_keys(scope), recap.months, strict=True)
            if m.activities or m.planned or m.served
        },
        "units": {
            int(u.key): (u.activities, u.planned, u.served, u.stations)
            for u in recap.units
            if int(u.key) != scope.unit_id
        },
        "groups": {g.key: g.served for g in recap.groups},
        "top_stations": [(ids[line.key], line.served) for line in recap.stations],
        "registry": (h.new_stations, h.open_stations),
        "open_by_host_type": {t.key: t.open_stations for t in recap.host_types if t.open_stations},
        "open_by_label": {t.key: t.open_stations for t in recap.labels if t.open_stations},
        "targets": {
            t.unit_id: (t.activities.target, t.served.target, t.stations.target)
            for t in recap.targets
            if t.has_target
        },
        "giving": (h.sponsors, h.donations, h.value),
        "impact": {s.sponsor_id: (s.activities, s.served) for s in recap.honour if s.activities},
    }


def _month_keys(scope) -> list[str]:
    from inclusive_day.periods import months_between

    return [str(m) for m in months_between(scope.start, scope.end)]


def _comparable(hand: dict, app: dict) -> dict:
    """Hand-written figures restricted to what the app lists (the honour roll lists at most
    its top sponsors; sub-units with nothing are listed by the app, not by GROUP BY)."""
    hand = dict(hand)
    hand["months"] = {k: v for k, v in hand["months"].items() if any(v)}
    hand["units"] = {k: hand["units"].get(k, (0, 0, 0, 0)) for k in app["units"]}
    hand["impact"] = {k: v for k, v in hand["impact"].items() if k in app["impact"]}
    return hand


def measure_aggregates(url: str, rounds: int) -> dict:
    """Time the app's aggregates and the hand-written SQL, taking turns; compare figures."""
    from inclusive_day.campaigns.models import Campaign
    from inclusive_day.demo.province import find_province
    from inclusive_day.reports.recap import RecapScope, default_period

    app = create_app(TestConfig(url))
    with app.app_context(), app.test_request_context():
        root = find_province()
        campaign = db.session.scalar(select(Campaign).where(Campaign.unit_id == root.id))
        start, end = default_period(campaign)
        scope = RecapScope(campaign.id, root.id, start, end)
        now = datetime.now(UTC)
        hand = HandWritten(db.engine, scope, root.path, now)
        app_s, hand_s = [], []
        app_result = hand_result = None
        for turn in range(rounds + 1):
            db.session.remove()
            started = time.perf_counter()
            app_result = app_figures(scope, now)
            app_time = time.perf_counter() - started
            db.session.remove()
            started = time.perf_counter()
            hand_result = hand.figures()
            hand_time = time.perf_counter() - started
            if turn:  # the first turn warms the caches
                app_s.append(app_time)
                hand_s.append(hand_time)
        expected = _comparable(hand_result, app_result)
        differences = sorted(k for k in app_result if app_result[k] != expected[k])
        db.engine.dispose()
        return {
            "scope": scope.params(),
            "app_s": round(statistics.median(app_s), 3),
            "hand_written_s": round(statistics.median(hand_s), 3),
            "app_rounds": [round(s, 3) for s in app_s],
            "hand_written_rounds": [round(s, 3) for s in hand_s],
            "figures_agree": not differences,
            "differences": differences,
            "headline": app_result["headline"],
        }


def render_child(url: str, params: str, cache_dir: str) -> None:
    """In a fresh process: render the recap PDF four times; print seconds and peak memory."""
    from inclusive_day.reports.documents import render_recap
    from inclusive_day.reports.recap import RecapScope

    os.environ["REPORT_CACHE_DIR"] = cache_dir
    app = create_app(TestConfig(url))
    scope = RecapScope.from_params(json.loads(params))
    seconds, size = [], 0
    with app.app_context(), app.test_request_context():
        for _ in range(4):
            db.session.remove()
            started = time.perf_counter()
            data = render_recap(scope, "zh")
            seconds.append(time.perf_counter() - started)
            size = len(data)
    print(json.dumps({"seconds": seconds, "bytes": size, "peak_mb": round(peak_mb(), 1)}))


def peak_mb() -> float:
    """This process's peak resident memory. Linux keeps ru_maxrss across execve, so a child
    started by a big parent would report the parent's size: read the high-water mark of this
    address space (VmHWM) instead where there is one."""
    status = Path("/proc/self/status")
    if status.exists():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def measure_pdf(url: str, params: dict) -> dict:
    """Render the province recap PDF in a fresh process; its times and peak memory."""
    with tempfile.TemporaryDirectory() as cache:
        completed = subprocess.run(
            [sys.executable, __file__, "--render-child", url, json.dumps(params), cache],
            capture_output=True,
            text=True,
            check=True,
            cwd=Path(__file__).resolve().parent,
        )
    result = json.loads(completed.stdout.strip().splitlines()[-1])
    first, *warm = result["seconds"]
    return {
        "pdf_first_s": round(first, 2),
        "pdf_median_s": round(statistics.median(warm), 2),
        "pdf_bytes": result["bytes"],
        "peak_mb": result["peak_mb"],
    }


def main() -> None:
    """Build (or reuse) the province, measure, print one JSON line."""
    if len(sys.argv) > 1 and sys.argv[1] == "--render-child":
        render_child(*sys.argv[2:5])
        return
    parser = arguments(__doc__)
    parser.add_argument("--reuse", action="store_true", help="keep a database holding the province")
    parser.add_argument("--rounds", type=int, default=3)
    options = parser.parse_args()
    from inclusive_day.demo.province import build_province

    with tempfile.TemporaryDirectory() as tmp:
        built = None
        url = province_to_reuse(options.database_url) if options.reuse else None
        reuse = url is not None
        if not reuse:
            url = empty_database(options.database_url, tmp, "province")
            app = migrated_app(url)
            with app.app_context():
                summary = build_province(echo=lambda _: None)
                built = summary.seconds
                db.engine.dispose()
        aggregates = measure_aggregates(url, options.rounds)
        pdf = measure_pdf(url, aggregates["scope"])
    ratio = aggregates["app_s"] / aggregates["hand_written_s"]
    met = (
        aggregates["figures_agree"]
        and ratio <= RATIO_GOAL
        and pdf["pdf_median_s"] <= PDF_GOAL_S
        and pdf["peak_mb"] <= MEMORY_GOAL_MB
    )
    print(
        json.dumps(
            {
                "bench": "province_recap",
                "database": database_name(url),
                "built_s": built,
                "headline": dict(
                    zip(
                        ("activities", "planned", "served", "people", "stations"),
                        aggregates["headline"],
                        strict=True,
                    )
                ),
                "app_aggregates_s": aggregates["app_s"],
                "hand_written_s": aggregates["hand_written_s"],
                "ratio": round(ratio, 2),
                "app_rounds": aggregates["app_rounds"],
                "hand_written_rounds": aggregates["hand_written_rounds"],
                "figures_agree": aggregates["figures_agree"],
                "differences": aggregates["differences"],
                **pdf,
                "load_average": round(os.getloadavg()[0], 2),
                "goal": {
                    "ratio_at_most": RATIO_GOAL,
                    "pdf_s_at_most": PDF_GOAL_S,
                    "peak_mb_at_most": MEMORY_GOAL_MB,
                },
                "met": met,
            },
            ensure_ascii=False,
        )
    )


if __name__ == "__main__":
    main()
