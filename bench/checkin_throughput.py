"""Check-in throughput under gunicorn (2 workers) against a trivial endpoint of the same app.

Usage: .venv/bin/python bench/checkin_throughput.py [--database-url URL] [--seconds N]
Without a URL it uses a temporary SQLite file; a PostgreSQL database is emptied first (see
bench/_shared.py). The app runs under gunicorn with two sync workers; this process drives it
with 32 concurrent clients (asyncio, one connection per request). First /healthz, the
baseline; then POST /api/v1/checkins over 20 live activities, one request in five a repeat of
an earlier accepted check-in (its nonce, or the same person with a new nonce). At the end the
rows in the database are compared with the distinct check-ins the server accepted: none may
be lost or doubled. Prints one JSON line.
"""

import asyncio
import json
import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from _shared import arguments, database_name, empty_database, migrated_app, percentile
from sqlalchemy import func, insert, select

from inclusive_day.activities.models import Activity, new_uid
from inclusive_day.attendance.models import CheckIn
from inclusive_day.campaigns.models import Campaign, Theme
from inclusive_day.extensions import db
from inclusive_day.stations.models import Station
from inclusive_day.units.models import Unit

CLIENTS = 32
THREADS = int(os.environ.get("BENCH_THREADS", "1"))  # 1: sync workers
ACTIVITIES = 20
REPEAT_SHARE = 0.2
GOAL_RATIO = {"postgresql": 0.4, "sqlite": 0.3}
ROOT = Path(__file__).resolve().parent.parent


def build() -> list[str]:
    """A district, 20 stations, and an activity at each one that is on now: their tokens."""
    now = datetime.now(UTC)
    db.session.execute(
        insert(Unit),
        [
            {
                "id": 1,
                "parent_id": None,
                "path": "/1/",
                "level": "district",
                "name": "区总工会",
                "timezone": "Asia/Shanghai",
                "created_at": now,
            }
        ],
    )
    for i in range(ACTIVITIES):
        db.session.add(Station(unit_id=1, code=f"ST{i:03d}", name=f"驿站{i}", open_24h=True))
    campaign = Campaign(unit_id=1, name="普惠日", starts_on=date(2026, 1, 1))
    db.session.add(campaign)
    db.session.flush()
    theme_id = db.session.scalar(select(Theme.id).order_by(Theme.id).limit(1))
    stations = list(db.session.scalars(select(Station.id).order_by(Station.id)))
    db.session.execute(
        insert(Activity),
        [
            {
                "uid": new_uid(),
                "campaign_id": campaign.id,
                "station_id": sid,
                "theme_id": theme_id,
                "title": "义剪",
                "starts_at": now - timedelta(hours=1),
                "ends_at": now + timedelta(hours=3),
            }
            for sid in stations
        ],
    )
    db.session.commit()
    # Scanners name an activity by its check-in token, as its QR code carries it.
    return list(db.session.scalars(select(Activity.checkin_token).order_by(Activity.id)))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(url: str, port: int, tmp: str) -> subprocess.Popen:
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "SECRET_KEY": "bench-secret-key-0123456789abcdef0123456789",
        "INCLUSIVE_DAY_ENV": "production",
        "CHECKIN_RATE_LIMIT": "10000000 per minute",
        # Throughput, not the capacity a minute: every activity may take all it gets.
        "CHECKIN_CAPACITY_PER_MINUTE": "10000000",
    }
    env.pop("REDIS_URL", None)
    server = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "gunicorn"),
            "--workers",
            "2",
            "--threads",
            str(THREADS),
            "--bind",
            f"127.0.0.1:{port}",
            "--backlog",
            "256",
            "--log-level",
            "warning",
            "wsgi:app",
        ],
        cwd=ROOT,
        env=env,
        stdout=open(Path(tmp) / "gunicorn.log", "w"),  # noqa: SIM115
        stderr=subprocess.STDOUT,
    )
    for _ in range(100):
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return server
        except OSError:
            time.sleep(0.1)
    server.kill()
    raise RuntimeError("gunicorn did not start; see gunicorn.log")


async def request(port: int, method: str, path: str, body: bytes = b"") -> tuple[int, bytes]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    head = (
        f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    writer.write(head.encode() + body)
    await writer.drain()
    data = await reader.read()
    writer.close()
    status = int(data.split(b" ", 2)[1])
    return status, data.split(b"\r\n\r\n", 1)[1]


class Driver:
    """32 clients sending requests for a fixed time; latencies and answers recorded."""

    def __init__(self, port: int, activity_tokens: list[str]) -> None:
        self.port = port
        self.activities = activity_tokens
        self.rng = random.Random(5)
        self.accepted: dict[int, tuple] = {}  # check-in id -> (activity, phone)
        self.history: list[dict] = []
        self.bad: list[tuple[int, bytes]] = []
        self.mismatched = 0

    def next_checkin(self) -> tuple[dict, int | None]:
        """A new check-in, or (one in five) a repeat of one already accepted."""
        if self.history and self.rng.random() < REPEAT_SHARE:
            earlier = self.rng.choice(self.history)
            if self.rng.random() < 0.5:
                return dict(earlier["body"]), earlier["id"]
            again = dict(earlier["body"], nonce=f"r{self.rng.getrandbits(64):016x}")
            return again, earlier["id"]
        body = {
            "token": self.rng.choice(self.activities),
            "phone": f"13{self.rng.randrange(10**9):09d}",
            "group": self.rng.choice(["courier", "rider", "sanitation", "driver"]),
            "nonce": f"n{self.rng.getrandbits(64):016x}",
        }
        return body, None

    async def run(self, seconds: float, kind: str) -> tuple[int, list[float]]:
        latencies: list[float] = []
        deadline = time.perf_counter() + seconds

        async def client():
            while time.perf_counter() < deadline:
                started = time.perf_counter()
                if kind == "baseline":
                    status, _ = await request(self.port, "GET", "/healthz")
                    ok = status == 200
                else:
                    body, expect = self.next_checkin()
                    status, raw = await request(
                        self.port, "POST", "/api/v1/checkins", json.dumps(body).encode()
                    )
                    ok = status in (200, 201)
                    if ok:
                        answer = json.loads(raw)
                        if status == 201:
                            self.accepted[answer["id"]] = (body["token"], body["phone"])
                            self.history.append({"body": body, "id": answer["id"]})
                        if expect is not None and answer["id"] != expect:
                            self.mismatched += 1
                    else:
                        self.bad.append((status, raw[:200]))
                if ok:
                    latencies.append((time.perf_counter() - started) * 1000)

        started = time.perf_counter()
        await asyncio.gather(*(client() for _ in range(CLIENTS)))
        return len(latencies), latencies, time.perf_counter() - started


def main() -> None:
    parser = arguments(__doc__)
    parser.add_argument("--seconds", type=float, default=10.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = empty_database(args.database_url, tmp, "bench_checkin")
        app = migrated_app(url)
        with app.app_context():
            activity_tokens = build()
            db.engine.dispose()
        port = free_port()
        server = start_server(url, port, tmp)
        try:
            driver = Driver(port, activity_tokens)
            asyncio.run(driver.run(1.0, "baseline"))  # warm up both workers
            base_n, _base_lat, base_s = asyncio.run(driver.run(args.seconds, "baseline"))
            n, latencies, seconds = asyncio.run(driver.run(args.seconds, "checkin"))
        finally:
            server.send_signal(signal.SIGTERM)
            server.wait(timeout=30)
        with app.app_context():
            stored = db.session.scalar(select(func.count(CheckIn.id)))
            stored_ids = set(db.session.scalars(select(CheckIn.id)))
            db.engine.dispose()
    baseline_rps = base_n / base_s
    checkin_rps = n / seconds
    database = database_name(url)
    lost = len(set(driver.accepted) - stored_ids)
    doubled = stored - len(driver.accepted)
    ratio = checkin_rps / baseline_rps
    print(
        json.dumps(
            {
                "bench": "checkin_throughput",
                "database": database,
                "server": "gunicorn, 2 sync workers"
                if THREADS == 1
                else f"gunicorn, 2 workers x {THREADS} threads",
                "clients": CLIENTS,
                "baseline_rps": round(baseline_rps, 1),
                "checkin_rps": round(checkin_rps, 1),
                "ratio": round(ratio, 3),
                "checkin_p50_ms": round(statistics.median(latencies), 1),
                "checkin_p99_ms": round(percentile(latencies, 0.99), 1),
                "requests": n,
                "accepted_new": len(driver.accepted),
                "rows": stored,
                "lost": lost,
                "doubled": doubled,
                "repeat_answered_other_record": driver.mismatched,
                "errors": len(driver.bad),
                "goal": {"ratio_at_least": GOAL_RATIO[database], "lost": 0, "doubled": 0},
                "met": ratio >= GOAL_RATIO[database]
                and lost == 0
                and doubled == 0
                and driver.mismatched == 0
                and not driver.bad,
            }
        )
    )
    if driver.bad:
        print("first errors:", driver.bad[:3], file=sys.stderr)


if __name__ == "__main__":
    main()
