"""Scan throughput under gunicorn against a trivial endpoint of the same app: the check-in API
and the door-scan page, each against /healthz measured just before it.

Usage: .venv/bin/python bench/checkin_throughput.py [--database-url URL] [--seconds N]
       [--ratelimit-storage URI]
Without a URL it uses a temporary SQLite file; a PostgreSQL database is emptied first (see
bench/_shared.py). The app runs under gunicorn (WORKERS sync workers, or BENCH_WORKERS /
BENCH_THREADS); this process drives it with 32 concurrent clients (asyncio, one connection
per request). The rate limits count where --ratelimit-storage says: by default in Redis at
redis://127.0.0.1:6379/15 when one answers there (as production should, with REDIS_URL),
else in the app's database (database://); the JSON line says which.

Two phases, each after its own /healthz baseline: POST /api/v1/checkins over 20 live
activities, and POST /d/<code> (the door QR's form, as a phone sends it: each client has
fetched the form of every station once, untimed, for its session cookie and CSRF token) at
the 20 stations, each with one activity on now. One request in five repeats an earlier
accepted one (its nonce, or the same person with a new nonce). At the end the rows in the
database are compared with what the server accepted: no check-in or door visit may be lost
or doubled. Prints one JSON line.
"""

import asyncio
import json
import os
import random
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from urllib.parse import urlencode

from _shared import arguments, database_name, empty_database, migrated_app, percentile
from sqlalchemy import func, insert, select

from inclusive_day.activities.models import Activity, new_uid
from inclusive_day.attendance.identity import person_for
from inclusive_day.attendance.models import CheckIn, CheckInSource, StationVisit
from inclusive_day.campaigns.models import Campaign, Theme
from inclusive_day.extensions import db
from inclusive_day.stations.models import Station
from inclusive_day.units.models import Unit

CLIENTS = 32
# gunicorn's own advice for sync workers: (2 x cores) + 1, so that a worker waiting on the
# database leaves the cores to the others.
WORKERS = int(os.environ.get("BENCH_WORKERS", str(2 * (os.cpu_count() or 1) + 1)))
THREADS = int(os.environ.get("BENCH_THREADS", "1"))  # 1: sync workers
ACTIVITIES = 20
REPEAT_SHARE = 0.2
GOAL_RATIO = {"postgresql": 0.5, "sqlite": 0.3}
GOAL_P99_MS = 100
SECRET_KEY = "bench-secret-key-0123456789abcdef0123456789"
REDIS = "redis://127.0.0.1:6379/15"
ROOT = Path(__file__).resolve().parent.parent


def build() -> tuple[list[str], list[str]]:
    """A district, 20 stations, and an activity at each one that is on now: the activities'
    check-in tokens and the stations' codes."""
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
    tokens = list(db.session.scalars(select(Activity.checkin_token).order_by(Activity.id)))
    return tokens, list(db.session.scalars(select(Station.code).order_by(Station.id)))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def default_storage() -> str:
    """Redis at REDIS when it answers there, else the app's database."""
    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=0.5) as s:
            s.sendall(b"PING\r\n")
            if s.recv(16).startswith(b"+PONG"):
                return REDIS
    except OSError:
        pass
    return "database://"


def start_server(url: str, port: int, tmp: str, storage: str) -> subprocess.Popen:
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "SECRET_KEY": SECRET_KEY,
        "INCLUSIVE_DAY_ENV": "production",
        "CHECKIN_RATE_LIMIT": "10000000 per minute",
        # Throughput, not the capacity a minute: every activity may take all it gets.
        "CHECKIN_CAPACITY_PER_MINUTE": "10000000",
        "RATELIMIT_STORAGE_URI": storage,
    }
    env.pop("REDIS_URL", None)
    server = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "gunicorn"),
            "--workers",
            str(WORKERS),
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


async def request(
    port: int,
    method: str,
    path: str,
    body: bytes = b"",
    content_type: str = "application/json",
    cookie: str = "",
) -> tuple[int, bytes, bytes]:
    """One request on a connection of its own: the status, the head and the body."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    head = (
        f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
        f"Content-Type: {content_type}\r\nContent-Length: {len(body)}\r\n"
    )
    if cookie:
        head += f"Cookie: {cookie}\r\n"
    writer.write(head.encode() + b"\r\n" + body)
    await writer.drain()
    data = await reader.read()
    writer.close()
    status = int(data.split(b" ", 2)[1])
    answer_head, _sep, answer = data.partition(b"\r\n\r\n")
    return status, answer_head, answer


def cookies(head: bytes) -> str:
    """The cookies a response sets, as a Cookie header sends them back."""
    pairs = [
        line.split(b":", 1)[1].split(b";", 1)[0].strip().decode()
        for line in head.split(b"\r\n")
        if line.lower().startswith(b"set-cookie:")
    ]
    return "; ".join(pairs)


class Phase:
    """What one phase saw: latencies of the answered requests, the records the server
    accepted as new, repeats answered with another record, and errors."""

    def __init__(self) -> None:
        self.latencies: list[float] = []
        self.seconds = 0.0
        self.accepted: dict = {}
        self.history: list[dict] = []
        self.bad: list[tuple[int, bytes]] = []
        self.mismatched = 0


class Driver:
    """32 clients sending requests for a fixed time; latencies and answers recorded."""

    def __init__(self, port: int, activity_tokens: list[str], station_codes: list[str]) -> None:
        self.port = port
        self.activities = activity_tokens
        self.stations = station_codes
        self.rng = random.Random(5)
        self.forms: list[dict[str, tuple[str, str]]] = []  # per client: code -> (cookie, csrf)

    def new_scan(self, phase: Phase, targets: list[str], key: str) -> tuple[dict, object]:
        """A new scan at one of `targets`, or (one in five) a repeat of one already accepted:
        the body, and the record the repeat must be answered with (None for a new one)."""
        if phase.history and self.rng.random() < REPEAT_SHARE:
            earlier = self.rng.choice(phase.history)
            if self.rng.random() < 0.5:
                return dict(earlier["body"]), earlier["id"]
            again = dict(earlier["body"], nonce=f"r{self.rng.getrandbits(64):016x}")
            return again, earlier["id"]
        body = {
            key: self.rng.choice(targets),
            "phone": f"13{self.rng.randrange(10**9):09d}",
            "group": self.rng.choice(["courier", "rider", "sanitation", "driver"]),
            "nonce": f"n{self.rng.getrandbits(64):016x}",
        }
        return body, None

    async def baseline(self, phase: Phase) -> bool:
        status, _head, _raw = await request(self.port, "GET", "/healthz")
        return status == 200

    async def api_checkin(self, phase: Phase) -> bool:
        body, expect = self.new_scan(phase, self.activities, "token")
        status, _head, raw = await request(
            self.port, "POST", "/api/v1/checkins", json.dumps(body).encode()
        )
        if status not in (200, 201):
            phase.bad.append((status, raw[:200]))
            return False
        answer = json.loads(raw)
        if status == 201:
            phase.accepted[answer["id"]] = (body["token"], body["phone"])
            phase.history.append({"body": body, "id": answer["id"]})
        if expect is not None and answer["id"] != expect:
            phase.mismatched += 1
        return True

    async def fetch_forms(self) -> None:
        """Each client opens every station's door page once: its session cookie and token."""

        async def one(code: str) -> tuple[str, str]:
            _status, head, raw = await request(self.port, "GET", f"/d/{code}")
            found = re.search(rb'name="csrf_token" type="hidden" value="([^"]+)"', raw)
            return cookies(head), found.group(1).decode()

        for _ in range(CLIENTS):
            forms = await asyncio.gather(*(one(code) for code in self.stations))
            self.forms.append(dict(zip(self.stations, forms, strict=True)))

    async def door_scan(self, phase: Phase, client: int) -> bool:
        body, expect = self.new_scan(phase, self.stations, "code")
        cookie, csrf = self.forms[client][body["code"]]
        form = {k: body[k] for k in ("phone", "group", "nonce")} | {"csrf_token": csrf}
        status, head, raw = await request(
            self.port,
            "POST",
            f"/d/{body['code']}",
            urlencode(form).encode(),
            "application/x-www-form-urlencoded",
            cookie,
        )
        if status != 302 or f"/d/{body['code']}/done".encode() not in head:
            phase.bad.append((status, raw[:200]))
            return False
        # A door visit is one per person, station and day: the pair names it.
        pair = (body["code"], body["phone"])
        if expect is None and pair not in phase.accepted:
            phase.accepted[pair] = True
            phase.history.append({"body": body, "id": pair})
        return True

    async def run(self, seconds: float, kind: str) -> Phase:
        phase = Phase()
        deadline = time.perf_counter() + seconds
        send = {"baseline": self.baseline, "api": self.api_checkin}.get(kind)

        async def client(number: int):
            while time.perf_counter() < deadline:
                started = time.perf_counter()
                if send is not None:
                    ok = await send(phase)
                else:
                    ok = await self.door_scan(phase, number)
                if ok:
                    phase.latencies.append((time.perf_counter() - started) * 1000)

        started = time.perf_counter()
        await asyncio.gather(*(client(n) for n in range(CLIENTS)))
        phase.seconds = time.perf_counter() - started
        return phase


def figures(phase: Phase, baseline: Phase, database: str, **checks) -> dict:
    """One phase's figures against its baseline, and whether they meet the goal."""
    baseline_rps = len(baseline.latencies) / baseline.seconds
    rps = len(phase.latencies) / phase.seconds
    p99 = percentile(phase.latencies, 0.99)
    result = {
        "baseline_rps": round(baseline_rps, 1),
        "rps": round(rps, 1),
        "ratio": round(rps / baseline_rps, 3),
        "p50_ms": round(statistics.median(phase.latencies), 1),
        "p99_ms": round(p99, 1),
        "requests": len(phase.latencies),
        "accepted_new": len(phase.accepted),
        **checks,
        "repeat_answered_other_record": phase.mismatched,
        "errors": len(phase.bad),
    }
    result["met"] = (
        rps / baseline_rps >= GOAL_RATIO[database]
        and p99 <= GOAL_P99_MS
        and all(v == 0 for k, v in checks.items() if k.endswith(("lost", "doubled")))
        and phase.mismatched == 0
        and not phase.bad
    )
    return result


def main() -> None:
    parser = arguments(__doc__)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--ratelimit-storage", default=None)
    args = parser.parse_args()
    storage = args.ratelimit_storage or default_storage()
    with tempfile.TemporaryDirectory() as tmp:
        url = empty_database(args.database_url, tmp, "bench_checkin")
        app = migrated_app(url)
        with app.app_context():
            activity_tokens, station_codes = build()
            db.engine.dispose()
        port = free_port()
        server = start_server(url, port, tmp, storage)
        try:
            driver = Driver(port, activity_tokens, station_codes)
            asyncio.run(driver.run(1.0, "baseline"))  # warm up the workers
            asyncio.run(driver.fetch_forms())
            api_base = asyncio.run(driver.run(args.seconds, "baseline"))
            api = asyncio.run(driver.run(args.seconds, "api"))
            door_base = asyncio.run(driver.run(args.seconds, "baseline"))
            door = asyncio.run(driver.run(args.seconds, "door"))
        finally:
            server.send_signal(signal.SIGTERM)
            server.wait(timeout=30)
        if api.bad or door.bad:
            print((Path(tmp) / "gunicorn.log").read_text()[-3000:], file=sys.stderr)
        app.config["SECRET_KEY"] = SECRET_KEY  # the server's, which keys the identities
        with app.app_context():
            api_rows = set(
                db.session.scalars(select(CheckIn.id).where(CheckIn.source == CheckInSource.API))
            )
            api_count = db.session.scalar(
                select(func.count(CheckIn.id)).where(CheckIn.source == CheckInSource.API)
            )
            by_station = select(Station.code).join(Activity, Activity.station_id == Station.id)
            door_checkins = list(
                db.session.execute(
                    by_station.add_columns(CheckIn.identity)
                    .join(CheckIn, CheckIn.activity_id == Activity.id)
                    .where(CheckIn.source == CheckInSource.QR)
                )
            )
            visits = list(
                db.session.execute(
                    select(Station.code, StationVisit.identity).join(
                        Station, Station.id == StationVisit.station_id
                    )
                )
            )
            door_accepted = {(code, person_for(phone).identity) for code, phone in door.accepted}
            db.engine.dispose()
    for phase in (api, door):
        if phase.bad:
            print("first errors:", phase.bad[:3], file=sys.stderr)
    database = database_name(url)
    figures_api = figures(
        api,
        api_base,
        database,
        rows=api_count,
        lost=len(set(api.accepted) - api_rows),
        doubled=api_count - len(api.accepted),
    )
    # Every door visit also checks its person in to the station's one activity on now.
    figures_door = figures(
        door,
        door_base,
        database,
        visit_rows=len(visits),
        visits_lost=len(door_accepted - set(visits)),
        visits_doubled=len(visits) - len(door_accepted),
        checkin_rows=len(door_checkins),
        checkins_lost=len(door_accepted - set(door_checkins)),
        checkins_doubled=len(door_checkins) - len(door_accepted),
    )
    print(
        json.dumps(
            {
                "bench": "checkin_throughput",
                "database": database,
                "server": f"gunicorn, {WORKERS} sync workers"
                if THREADS == 1
                else f"gunicorn, {WORKERS} workers x {THREADS} threads",
                "ratelimit_storage": storage,
                "clients": CLIENTS,
                "api": figures_api,
                "door": figures_door,
                "goal": {
                    "ratio_at_least": GOAL_RATIO[database],
                    "p99_ms_at_most": GOAL_P99_MS,
                    "lost": 0,
                    "doubled": 0,
                },
                "met": figures_api["met"] and figures_door["met"],
            }
        )
    )


if __name__ == "__main__":
    main()
