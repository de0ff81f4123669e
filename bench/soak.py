"""Soak: gunicorn on PostgreSQL under minutes of mixed load; errors, lost writes, memory.

Usage: .venv/bin/python bench/soak.py [--database-url URL] [--minutes N] [--port P]
The database (default postgresql://postgres@127.0.0.1:5432/soak_bench) is emptied, built by
`flask db upgrade` and filled by `flask demo load` (the Kunming campaign), plus a campaign of
12 activities on now so that check-ins are taken. gunicorn serves the app (2 workers x 4
threads, production settings, the check-in rate limit raised) and a second process drives it
with 6 threads for N minutes (default 10): an organiser signed in through the login form
browses dashboard, calendars, stations, activities and campaign; scanners check in with new
phones and nonces (one in ten a repeat of an accepted one, which must answer with the same
record); calendar apps fetch iCalendar feeds; and someone downloads the campaign's recap
PDF (rendered afresh each time: the check-ins change it), every 20 seconds after the
warm-up. The first minute is the warm-up (fonts, caches, connection pools), hence the sample;
in its first 30 seconds the recap comes every 5 seconds, so that each worker has rendered
one before the sample whichever requests it happened to get.

Figures: responses by kind and status; server errors (5xx, or no answer at all) must be 0;
every check-in acknowledged (201, or 200 with the record of its own new nonce after a
retried connection) must be in the database exactly once, and no check-in of the bench may be
there that was not acknowledged (lost_writes counts all three); the workers' resident
memory (VmRSS summed over gunicorn's workers, from /proc) at the end may be at most 20% above
the sample after the first minute (after half the run when it is shorter than two minutes).
Prints one JSON line.
"""

from __future__ import annotations

import http.client
import json
import multiprocessing as mp
import os
import queue
import random
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from urllib.parse import urlencode

from _shared import arguments, empty_database
from sqlalchemy import func, insert, select

from inclusive_day import create_app
from inclusive_day.activities.models import Activity, new_uid
from inclusive_day.attendance.models import CheckIn
from inclusive_day.campaigns.models import Campaign, Theme
from inclusive_day.config import TestConfig
from inclusive_day.demo.kunming import DEMO_PASSWORD, find_campaign
from inclusive_day.extensions import db
from inclusive_day.stations.models import Station
from inclusive_day.units.models import Unit

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/soak_bench"
DEFAULT_PORT = 5104
WORKERS, THREADS = 2, 4
DRIVERS = 6  # threads of the load process
OPEN_ACTIVITIES = 12
RECAP_EVERY_SECONDS = 20.0
# The warm-up renders the recap every 5 s in its first 30 s, so that both workers have
# rendered (fonts loaded, about 90 MB that stays) before the sample at one minute, whichever
# worker gets which request; the next is at 50 s, over before the sample is taken.
WARMUP_RECAP_EVERY, WARMUP_RECAPS_UNTIL = 5.0, 30.0
REPEAT_SHARE = 0.1
MIX = (("browse", 0.55), ("checkin", 0.33), ("feed", 0.12))
GROUPS = ("courier", "rider", "sanitation", "driver", "police", "elderly")
NONCE_PREFIX = "soak-"
GOAL = {"server_errors": 0, "lost_writes": 0, "rss_growth_max": 0.2}
TIMEOUT_SECONDS = 120
SECRET_KEY = "soak-bench-secret-key-0123456789abcdef0123456789"
SAMPLE_EVERY = 30.0  # seconds between memory samples after the first


# --- setting up -------------------------------------------------------------------------------


def flask(url: str, *args: str, log) -> None:
    """Run a `flask` command of the app against `url`, its output into the log."""
    env = {**os.environ, "DATABASE_URL": url, "INCLUSIVE_DAY_ENV": "development"}
    env.pop("REDIS_URL", None)
    subprocess.run(
        [str(Path(sys.executable).parent / "flask"), "--app", "inclusive_day", *args],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        check=True,
    )


def build(url: str) -> dict:
    """After the demo load: a campaign with activities on now, and the ids the load needs."""
    app = create_app(TestConfig(url))
    with app.app_context():
        now = datetime.now(UTC)
        city = db.session.scalar(select(Unit).where(Unit.code == "530100"))
        demo = find_campaign()
        stations = list(
            db.session.scalars(
                select(Station.id)
                .join(Unit)
                .where(Unit.path.startswith(city.path))
                .order_by(Station.id)
            )
        )
        campaign = Campaign(unit_id=city.id, name="驿站普惠日·耐久测试", starts_on=date.today())
        db.session.add(campaign)
        db.session.flush()
        theme_id = db.session.scalar(select(Theme.id).order_by(Theme.id).limit(1))
        db.session.execute(
            insert(Activity),
            [
                {
                    "uid": new_uid(),
                    "campaign_id": campaign.id,
                    "station_id": station_id,
                    "theme_id": theme_id,
                    "title": "耐久测试·义剪",
                    "starts_at": now - timedelta(hours=1),
                    "ends_at": now + timedelta(hours=12),
                }
                for station_id in stations[:OPEN_ACTIVITIES]
            ],
        )
        db.session.commit()
        open_ids = list(
            db.session.scalars(select(Activity.id).where(Activity.campaign_id == campaign.id))
        )
        demo_activities = list(
            db.session.scalars(
                select(Activity.id).where(Activity.campaign_id == demo.id).order_by(Activity.id)
            )
        )
        ids = {
            "city": city.id,
            "campaign": demo.id,
            "stations": stations,
            "activities": demo_activities + open_ids,
            "open": open_ids,
            # Scanners name an activity by its check-in token, as its QR code carries it.
            "open_tokens": list(
                db.session.scalars(
                    select(Activity.checkin_token).where(Activity.campaign_id == campaign.id)
                )
            ),
        }
        db.engine.dispose()
    return ids


def start_server(
    url: str, port: int, log, trace: str | None = None, settings: dict | None = None
) -> subprocess.Popen:
    """gunicorn with the production settings, in its own process group; with `trace`, its
    workers write tracemalloc snapshots there (bench/_soak_trace.py); `settings` add to or
    replace the environment it gets (the soak's raises every limit out of the way)."""
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "SECRET_KEY": SECRET_KEY,
        "INCLUSIVE_DAY_ENV": "production",
        "CHECKIN_RATE_LIMIT": "10000000 per minute",
        "CHECKIN_CAPACITY_PER_MINUTE": "1000",
        "LOGIN_LIMIT_ACCOUNT": "10000 per minute",
        "LOGIN_LIMIT_ADDRESS": "10000 per minute",
        **(settings or {}),
    }
    env.pop("REDIS_URL", None)
    traced = []
    if trace:
        env["SOAK_TRACE_DIR"] = trace
        traced = ["--config", str(Path(__file__).with_name("_soak_trace.py"))]
    server = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "gunicorn"),
            *traced,
            "--workers",
            str(WORKERS),
            "--threads",
            str(THREADS),
            "--bind",
            f"127.0.0.1:{port}",
            "--timeout",
            "120",
            "--log-level",
            "warning",
            "wsgi:app",
        ],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    for _ in range(300):
        if server.poll() is not None:
            break
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return server
        except OSError:
            time.sleep(0.1)
    stop_server(server)
    raise RuntimeError("gunicorn did not start; see its log")


def stop_server(server: subprocess.Popen) -> None:
    """Stop gunicorn and its workers (the whole process group it leads)."""
    if server.poll() is not None:
        return
    try:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(server.pid, signal.SIGKILL)
        server.wait(timeout=10)
    except ProcessLookupError:
        pass


def worker_pids(master: int) -> list[int]:
    """The gunicorn workers: the master's children."""
    children = Path(f"/proc/{master}/task/{master}/children")
    if children.exists():
        return sorted(int(pid) for pid in children.read_text().split())
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == master:
            found.append(int(stat.parent.name))
    return sorted(found)


def rss_mb(pids: list[int]) -> float:
    """The summed resident memory of `pids` in MB."""
    total_kb = 0
    for pid in pids:
        try:
            status = Path(f"/proc/{pid}/status").read_text()
        except OSError:
            continue
        match = re.search(r"^VmRSS:\s+(\d+) kB", status, re.M)
        total_kb += int(match.group(1)) if match else 0
    return total_kb / 1024


# --- the load (in a second process) ------------------------------------------------------------


class Client:
    """One HTTP/1.1 connection with its own cookies (kept by hand: the production session
    cookie is Secure, and this client talks plain HTTP to 127.0.0.1)."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.cookies: dict[str, str] = {}
        self.conn: http.client.HTTPConnection | None = None

    def request(self, method: str, path: str, body: bytes | None = None, headers=None):
        """(status, body); status 0 when no answer came."""
        headers = dict(headers or {})
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        for _attempt in range(2):
            reused = self.conn is not None
            if self.conn is None:
                self.conn = http.client.HTTPConnection(
                    "127.0.0.1", self.port, timeout=TIMEOUT_SECONDS
                )
            try:
                self.conn.request(method, path, body=body, headers=headers)
                response = self.conn.getresponse()
                data = response.read()
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                self.close()
                if reused:  # the server closed an idle keep-alive connection: once more
                    continue
                return 0, b""
            except OSError:
                self.close()
                return 0, b""
            for header in response.headers.get_all("Set-Cookie") or []:
                name, _, rest = header.partition("=")
                self.cookies[name.strip()] = rest.split(";", 1)[0]
            if response.will_close:
                self.close()
            return response.status, data
        return 0, b""

    def close(self) -> None:
        """Drop the connection; the next request opens another."""
        if self.conn is not None:
            self.conn.close()
            self.conn = None

    def sign_in(self, username: str, password: str) -> bool:
        """Sign in through the login form, CSRF token and all."""
        status, page = self.request("GET", "/auth/login")
        match = re.search(rb'name="csrf_token" type="hidden" value="([^"]+)"', page)
        if status != 200 or not match:
            return False
        form = urlencode(
            {"csrf_token": match.group(1).decode(), "username": username, "password": password}
        ).encode()
        status, _ = self.request(
            "POST",
            "/auth/login",
            form,
            {"Content-Type": "application/x-www-form-urlencoded"},
        )
        return status == 302


class Load:
    """The driving threads of the load process and what they saw."""

    def __init__(self, port: int, ids: dict, seconds: float, seed: int = 7) -> None:
        self.port, self.ids, self.seconds = port, ids, seconds
        self.seed = seed
        self.lock = threading.Lock()
        self.statuses: Counter = Counter()  # (kind, status)
        self.accepted: dict[int, str] = {}  # check-in id -> nonce
        self.repeat_mismatches = 0
        self.started = time.monotonic()
        self.next_recap = 0.0  # seconds after the start; the first at once
        self.samples: list[tuple[str, int, str]] = []  # first few errors

    def record(self, kind: str, status: int, path: str) -> None:
        with self.lock:
            self.statuses[(kind, status)] += 1
            if (status >= 500 or status == 0) and len(self.samples) < 10:
                self.samples.append((kind, status, path))

    def pages(self) -> list[str]:
        ids = self.ids
        return [
            "/",
            "/activities/calendar",
            "/activities/calendar/week",
            "/activities/calendar/list",
            "/stations/",
            f"/campaigns/{ids['campaign']}",
            "/reports/recap?" + urlencode({"campaign": ids["campaign"]}),
            "/units/",
        ]

    def browse(self, client: Client, rng: random.Random) -> None:
        ids = self.ids
        choice = rng.random()
        if choice < 0.35:
            path = rng.choice(self.pages())
        elif choice < 0.65:
            path = f"/stations/{rng.choice(ids['stations'])}"
        else:
            path = f"/activities/{rng.choice(ids['activities'])}"
        status, _ = client.request("GET", path)
        self.record("browse", status, path)

    def feed(self, client: Client, rng: random.Random) -> None:
        ids = self.ids
        path = rng.choice(
            [
                f"/calendar/units/{ids['city']}.ics",
                f"/calendar/campaigns/{ids['campaign']}.ics",
                f"/calendar/stations/{rng.choice(ids['stations'])}.ics",
            ]
        )
        status, _ = client.request("GET", path)
        self.record("feed", status, path)

    def checkin(self, scanner: Client, rng: random.Random, me: int, n: int, mine: list) -> None:
        if mine and rng.random() < REPEAT_SHARE:
            body, expect = rng.choice(mine)
        else:
            body = {
                "token": rng.choice(self.ids["open_tokens"]),
                "phone": f"139{me:02d}{n:06d}",
                "group": rng.choice(GROUPS),
                "nonce": f"{NONCE_PREFIX}{me:02d}-{n:07d}-{rng.getrandbits(32):08x}",
            }
            expect = None
        status, raw = scanner.request(
            "POST",
            "/api/v1/checkins",
            json.dumps(body).encode(),
            {"Content-Type": "application/json"},
        )
        self.record("checkin", status, "/api/v1/checkins")
        if status in (200, 201):
            answer = json.loads(raw)
            if expect is not None and (status != 200 or answer["id"] != expect):
                with self.lock:
                    self.repeat_mismatches += 1
            # A new nonce answered 200 was created by an attempt whose answer got lost.
            if expect is None:
                with self.lock:
                    self.accepted[answer["id"]] = body["nonce"]
                mine.append((body, answer["id"]))

    def recap_due(self) -> bool:
        with self.lock:
            elapsed = time.monotonic() - self.started
            if elapsed < self.next_recap:
                return False
            warming = elapsed < WARMUP_RECAPS_UNTIL
            self.next_recap = elapsed + (WARMUP_RECAP_EVERY if warming else RECAP_EVERY_SECONDS)
            return True

    def recap(self, client: Client) -> None:
        path = "/reports/recap.pdf?" + urlencode({"campaign": self.ids["campaign"], "lang": "zh"})
        status, data = client.request("GET", path)
        if status == 200 and not data.startswith(b"%PDF"):
            status = 599  # an answer that is not the PDF counts as an error
        self.record("recap", status, path)

    def driver(self, me: int, deadline: float) -> None:
        rng = random.Random(self.seed * 100 + me)
        organiser, scanner = Client(self.port), Client(self.port)
        if not organiser.sign_in("kunming", DEMO_PASSWORD):
            self.record("login", 0, "/auth/login")
            return
        self.record("login", 302, "/auth/login")
        weights = [w for _k, w in MIX]
        kinds = [k for k, _w in MIX]
        n, mine = 0, []
        while time.monotonic() < deadline:
            if self.recap_due():
                self.recap(organiser)
                continue
            kind = rng.choices(kinds, weights)[0]
            if kind == "browse":
                self.browse(organiser, rng)
            elif kind == "feed":
                self.feed(scanner, rng)
            else:
                n += 1
                self.checkin(scanner, rng, me, n, mine)

    def run(self) -> dict:
        self.started = time.monotonic()
        deadline = self.started + self.seconds
        threads = [
            threading.Thread(target=self.driver, args=(me, deadline), daemon=True)
            for me in range(DRIVERS)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        return {
            "statuses": [[k, s, c] for (k, s), c in self.statuses.items()],
            "accepted": self.accepted,
            "repeat_mismatches": self.repeat_mismatches,
            "samples": self.samples,
        }


def drive(port: int, ids: dict, seconds: float, results) -> None:
    """The load process: run the drivers, send back what they saw."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent stops everything on Ctrl-C
    results.put(Load(port, ids, seconds).run())


def report_trace(folder: Path, top: int = 25) -> None:
    """For each traced worker: the lines whose memory grew most, and the object types whose
    count grew most, between its first snapshot and its last (to stderr)."""
    import tracemalloc

    by_worker: dict[str, list[Path]] = {}
    for snap in sorted(folder.glob("*.snap")):
        by_worker.setdefault(snap.stem.split("-")[0], []).append(snap)
    for pid, snaps in by_worker.items():
        if len(snaps) < 2:
            continue
        first = tracemalloc.Snapshot.load(str(snaps[0]))
        last = tracemalloc.Snapshot.load(str(snaps[-1]))
        print(f"--- worker {pid}: {snaps[0].stem} -> {snaps[-1].stem}", file=sys.stderr)
        for stat in last.compare_to(first, "traceback")[:top]:
            print(f"{stat.size_diff / 1024:+10.0f} KiB {stat.count_diff:+8d}", file=sys.stderr)
            for line in stat.traceback.format()[-8:]:
                print("      " + line, file=sys.stderr)
        types_first = json.loads(snaps[0].with_suffix(".types.json").read_text())
        types_last = json.loads(snaps[-1].with_suffix(".types.json").read_text())
        grown = sorted(
            ((types_last[k] - types_first.get(k, 0), k) for k in types_last), reverse=True
        )[:top]
        print("  objects grown:", grown, file=sys.stderr)


# --- the run ------------------------------------------------------------------------------------


def main() -> None:
    parser = arguments(__doc__)
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--port", type=int, default=DEFAULT_PORT)
    parser.add_argument(
        "--trace",
        metavar="DIR",
        help="workers write tracemalloc snapshots to DIR (slower; the RSS figure then is not "
        "the soak's); the largest growth between the first and the last goes to stderr",
    )
    args = parser.parse_args()
    # A `kill` stops the run as Ctrl-C does: the load process and gunicorn go with it.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    seconds = args.minutes * 60
    first_sample_at = min(60.0, seconds / 2)

    with tempfile.TemporaryDirectory() as tmp:
        url = empty_database(args.database_url or DEFAULT_URL, tmp, "soak_bench")
        log_path = Path(tmp) / "soak.log"
        with open(log_path, "w") as log:
            flask(url, "db", "upgrade", log=log)
            flask(url, "demo", "load", log=log)
        ids = build(url)

        log = open(log_path, "a")  # noqa: SIM115  (closed with the server below)
        server = start_server(url, args.port, log, args.trace)
        load = None
        try:
            results = mp.get_context("spawn").Queue()
            load = mp.get_context("spawn").Process(
                target=drive, args=(args.port, ids, seconds, results)
            )
            started = time.monotonic()
            load.start()
            time.sleep(first_sample_at)
            first_pids = worker_pids(server.pid)
            rss_first = rss_mb(first_pids)
            timeline = [[round(first_sample_at), round(rss_first, 1)]]
            while True:  # the memory every SAMPLE_EVERY seconds, until the load reports
                try:
                    outcome = results.get(timeout=SAMPLE_EVERY)
                    break
                except queue.Empty:
                    if time.monotonic() - started > seconds + 600:
                        raise TimeoutError("the load process did not report") from None
                    elapsed = round(time.monotonic() - started)
                    timeline.append([elapsed, round(rss_mb(worker_pids(server.pid)), 1)])
            end_pids = worker_pids(server.pid)
            rss_end = rss_mb(end_pids)
            ran = time.monotonic() - started
            load.join(timeout=30)
        except BaseException:
            if load is not None and load.is_alive():
                load.terminate()
            stop_server(server)
            log.close()
            print(log_path.read_text()[-3000:], file=sys.stderr)
            raise
        stop_server(server)
        log.close()
        server_log = log_path.read_text()

        app = create_app(TestConfig(url))
        with app.app_context():
            people = Counter(
                db.session.execute(
                    select(CheckIn.activity_id, CheckIn.identity).where(
                        CheckIn.nonce.startswith(NONCE_PREFIX)
                    )
                ).all()
            )
            stored_ids = set(
                db.session.scalars(select(CheckIn.id).where(CheckIn.nonce.startswith(NONCE_PREFIX)))
            )
            rows = db.session.scalar(
                select(func.count(CheckIn.id)).where(CheckIn.nonce.startswith(NONCE_PREFIX))
            )
            db.engine.dispose()

    accepted = {int(k): v for k, v in outcome["accepted"].items()}
    missing = len(set(accepted) - stored_ids)  # acknowledged but not there
    unacknowledged = len(stored_ids - set(accepted))  # there but never acknowledged
    doubled = sum(count - 1 for count in people.values() if count > 1)  # one person twice
    lost_writes = missing + unacknowledged + doubled

    by_kind: dict[str, dict[str, int]] = {}
    for kind, status, count in outcome["statuses"]:
        by_kind.setdefault(kind, {})[str(status)] = count
    requests = sum(count for _k, _s, count in outcome["statuses"])
    server_errors = sum(c for _k, s, c in outcome["statuses"] if s >= 500 or s == 0)
    client_errors = sum(c for _k, s, c in outcome["statuses"] if 400 <= s < 500)
    growth = (rss_end - rss_first) / rss_first if rss_first else None
    restarted = sorted(set(first_pids) ^ set(end_pids))
    met = (
        server_errors == GOAL["server_errors"]
        and lost_writes == GOAL["lost_writes"]
        and outcome["repeat_mismatches"] == 0
        and growth is not None
        and growth <= GOAL["rss_growth_max"]
        and not restarted
        and "Traceback" not in server_log
        and not args.trace  # tracing costs memory of its own: no figure to meet the goal with
    )
    print(
        json.dumps(
            {
                "bench": "soak",
                "database": "postgresql" if url.startswith("postgresql") else "sqlite",
                "server": f"gunicorn, {WORKERS} workers x {THREADS} threads",
                "drivers": DRIVERS,
                "minutes": args.minutes,
                "seconds_run": round(ran, 1),
                "requests": requests,
                "rps": round(requests / ran, 1),
                "by_kind": by_kind,
                "server_errors": server_errors,
                "client_errors": client_errors,
                "checkins_acknowledged": len(accepted),
                "checkin_rows": rows,
                "lost_writes": lost_writes,
                "repeat_mismatches": outcome["repeat_mismatches"],
                "rss_sampled_at_s": round(first_sample_at),
                "rss_mb_first_minute": round(rss_first, 1),
                "rss_mb_end": round(rss_end, 1),
                "rss_growth": round(growth, 3) if growth is not None else None,
                "rss_mb_timeline": timeline,
                "workers_restarted": len(restarted),
                "traced": bool(args.trace),
                "goal": GOAL,
                "met": met,
            },
            ensure_ascii=False,
        )
    )
    if args.trace:
        report_trace(Path(args.trace))
    if outcome["samples"] or "Traceback" in server_log:
        print("first errors:", outcome["samples"][:5], file=sys.stderr)
        print(server_log[-3000:], file=sys.stderr)


if __name__ == "__main__":
    main()
