"""How soon a scan is in the figures, under the check-in throughput bench's load.

Usage: .venv/bin/python bench/analytics_lag.py [--database-url URL] [--seconds N] [--every N]
Serves the app as bench/checkin_throughput.py does (gunicorn, 2 workers, 32 clients posting
check-ins to 20 live activities) and runs the analytics refresh worker beside it
(`flask analytics refresh --every N`, 60 s by default as README advises). Every 3 s a probe
phone checks in to an activity of its own, and this process, on a connection of its own, polls
until the probe shows in:
1. served (the activity's counter, kept by a trigger in the scan's transaction);
2. unique people of the probe station's unit over the month (analytics.people: bitmaps for
   counted months, raw rows for months still queued);
3. the people bitmaps themselves (its change taken off the queue by the refresh worker).
Prints one JSON line: the lag of each, max and median over the probes. Goal: the figures
(1 and 2) within 60 s; they are kept in the write's transaction, so at once.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _shared import arguments, database_name, empty_database, migrated_app
from checkin_throughput import (
    ROOT,
    Driver,
    build,
    default_storage,
    free_port,
    request,
    start_server,
)
from sqlalchemy import func, select

from inclusive_day.activities.models import Activity
from inclusive_day.analytics.models import AnalyticsChange, PeopleKind
from inclusive_day.analytics.people import distinct_people
from inclusive_day.attendance.queries import totals
from inclusive_day.extensions import db
from inclusive_day.periods import Month, local_today
from inclusive_day.stations.models import Station
from inclusive_day.units.models import Unit

GOAL_S = 60.0
PROBE_EVERY_S = 3.0


def start_worker(url: str, every: int, tmp: str) -> subprocess.Popen:
    """The refresh worker, as production runs it."""
    env = {**os.environ, "DATABASE_URL": url, "SECRET_KEY": "bench-secret-key-0123456789abcdef"}
    return subprocess.Popen(
        [
            str(Path(sys.executable).parent / "flask"),
            "--app",
            "inclusive_day",
            "analytics",
            "refresh",
            "--every",
            str(every),
        ],
        cwd=ROOT,
        env=env,
        stdout=open(Path(tmp) / "worker.log", "w"),  # noqa: SIM115
        stderr=subprocess.STDOUT,
    )


class Watch:
    """The probe activity's figures, read on a connection of this process."""

    def __init__(self, app, token: str) -> None:
        self.app = app
        with app.app_context():
            activity = db.session.scalar(select(Activity).where(Activity.checkin_token == token))
            self.activity_id = activity.id
            self.unit_id = db.session.scalar(
                select(Station.unit_id).where(Station.id == activity.station_id)
            )

    def read(self) -> tuple[int, int, int]:
        """(served, unique people of the unit this month, queued changes of the activity)."""
        with self.app.app_context():
            served = totals([Activity.id == self.activity_id]).served
            today = local_today()
            month = Month(today.year, today.month)
            unit = db.session.get(Unit, self.unit_id)
            people = distinct_people(PeopleKind.SERVED, unit, month.first_day, today)
            queued = db.session.scalar(
                select(func.count()).where(AnalyticsChange.activity_id == self.activity_id)
            )
            db.session.remove()
            return served, people, queued


async def probe(port: int, token: str, watch: Watch, seconds: float) -> list[dict]:
    """Check a new phone in every few seconds; how long until each shows in the figures."""
    lags = []
    deadline = time.perf_counter() + seconds
    n = 0
    while time.perf_counter() < deadline:
        n += 1
        before_served, before_people, _ = await asyncio.to_thread(watch.read)
        phone, nonce = f"1990000{n:04d}", f"probe-{n:012d}"
        body = {"token": token, "phone": phone, "group": "courier", "nonce": nonce}
        status, _head, answer = await request(
            port, "POST", "/api/v1/checkins", json.dumps(body).encode()
        )
        acknowledged = time.perf_counter()
        if status != 201:
            raise RuntimeError(f"the probe was answered {status}: {answer[:300]!r}")
        found: dict[str, float] = {}
        while len(found) < 3 and time.perf_counter() - acknowledged < 3 * GOAL_S:
            served, people, queued = await asyncio.to_thread(watch.read)
            now = time.perf_counter() - acknowledged
            if served > before_served:
                found.setdefault("served", now)
            if people > before_people:
                found.setdefault("people", now)
            if queued == 0 and "served" in found:
                found.setdefault("bitmaps", now)
            await asyncio.sleep(0.1)
        lags.append(found)
        await asyncio.sleep(max(0.0, PROBE_EVERY_S - (time.perf_counter() - acknowledged)))
    return lags


def summary(lags: list[dict], name: str) -> dict:
    values = [lag.get(name, float("inf")) for lag in lags]
    return {
        "max_s": round(max(values), 2),
        "median_s": round(statistics.median(values), 2),
    }


def main() -> None:
    parser = arguments(__doc__)
    parser.add_argument("--seconds", type=float, default=120.0)
    parser.add_argument("--every", type=int, default=60, help="the refresh worker's interval")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = empty_database(args.database_url, tmp, "bench_lag")
        app = migrated_app(url)
        with app.app_context():
            tokens, codes = build()
            db.engine.dispose()
        probe_token, load_tokens = tokens[0], tokens[1:]
        port = free_port()
        server = start_server(url, port, tmp, default_storage())
        worker = start_worker(url, args.every, tmp)
        watch = Watch(app, probe_token)
        try:
            driver = Driver(port, load_tokens, codes)

            async def both():
                return await asyncio.gather(
                    driver.run(args.seconds, "api"),
                    probe(port, probe_token, watch, args.seconds),
                )

            phase, lags = asyncio.run(both())
        finally:
            for process in (server, worker):
                process.send_signal(signal.SIGTERM)
                process.wait(timeout=30)
        refreshes = (Path(tmp) / "worker.log").read_text().count("Refreshed")
    served, people, bitmaps = (summary(lags, k) for k in ("served", "people", "bitmaps"))
    met = served["max_s"] <= GOAL_S and people["max_s"] <= GOAL_S
    print(
        json.dumps(
            {
                "bench": "analytics_lag",
                "database": database_name(url),
                "load_checkins_per_s": round(len(phase.latencies) / phase.seconds, 1),
                "probes": len(lags),
                "refresh_every_s": args.every,
                "refreshes": refreshes,
                "served_lag": served,
                "people_lag": people,
                "bitmap_lag": bitmaps,
                "load_average": round(os.getloadavg()[0], 2),
                "goal": {"figures_lag_s_at_most": GOAL_S},
                "met": met,
            }
        )
    )


if __name__ == "__main__":
    main()
