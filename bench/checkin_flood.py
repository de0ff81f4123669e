"""Check-in flood: one address sends 2,000 fake check-ins at one activity as fast as the server
takes them while other addresses check real people in, in the same minute; under gunicorn
(2 workers) on PostgreSQL, then the same behind a reverse proxy.

Usage: .venv/bin/python bench/checkin_flood.py [--database-url URL] [--fakes N]
The database (default postgresql://postgres@127.0.0.1:5432/checkin_flood_bench) is emptied
and built by the migrations, with one activity on now per phase. gunicorn serves the app with
the production settings (2 workers x 4 threads, bench/soak.py's start_server), the limits in
their default storage, the app's database.

The settings, and why the real check-ins fit: one client address may send CHECKIN_RATE_LIMIT =
20 check-ins a minute; each activity takes 40 a minute (its checkins_per_minute), which is one
address's 20 plus the 20 real check-ins of the minute (10 other addresses, 2 people each, as
phones behind a station's Wi-Fi or a carrier's network share addresses). Whatever the flood
does, its address takes at most its own 20 of the activity's minute, so the real ones find
room; and whatever the addresses, the activity takes no more than 40 in any minute.

Phase "direct": gunicorn on 127.0.0.1 with TRUSTED_PROXIES=0. The flood's connections come
from 127.0.0.2, the real ones from 127.0.1.1-10 (Linux gives all of 127/8 to the loopback, so
each is an address of its own). Phase "proxy": gunicorn with TRUSTED_PROXIES=1 behind a
reverse proxy written below (nginx is not installed here): a threaded Python HTTP server that
forwards every request, appending the address it came from to X-Forwarded-For as nginx's
$proxy_add_x_forwarded_for does. The flood (from 127.0.0.3) writes a random X-Forwarded-For of
its own into every request, hoping to pass for many clients; the real ones come from
127.0.2.1-10. Phase "many_addresses" (direct again) spreads the flood over 250 addresses
(127.0.3.x, 8 requests each, under every per-address limit): only the activity's capacity
stands, and must hold across the workers; real check-ins (127.0.4.x) that arrive once the
flood has filled the minute are refused with the fakes, since a capacity cannot tell them
apart (that is why such a minute goes under review), so this phase does not ask them all to
pass. Each phase starts at the turn of a minute, so that it falls in one.

Figures per phase: the flood's answers (201 accepted, 429 refused, anything else), the real
check-ins sent and accepted, and from the database the check-ins stored, the most any minute
took (checkin_minutes), the refusals recorded (checkin_refusals) in all and under the flood's
addresses (their keyed hashes), and the minutes put under review. Goal: the most in a minute at
most the capacity, every refusal answered also recorded, no server error, and every real
check-in accepted in the first two phases. Prints one JSON line.
"""

from __future__ import annotations

import http.client
import json
import multiprocessing as mp
import random
import socket
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from _shared import arguments, database_name, empty_database, migrated_app
from soak import SECRET_KEY, THREADS, WORKERS, start_server, stop_server
from sqlalchemy import func, select

from inclusive_day import create_app
from inclusive_day.activities.services import schedule_activity
from inclusive_day.attendance.identity import address_key, identity_key
from inclusive_day.attendance.models import CheckIn, CheckInMinute, CheckInRefusal
from inclusive_day.campaigns.models import Theme
from inclusive_day.campaigns.services import create_campaign
from inclusive_day.config import TestConfig
from inclusive_day.extensions import db
from inclusive_day.stations.services import create_station
from inclusive_day.units.models import Level
from inclusive_day.units.services import create_unit

DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/checkin_flood_bench"
FAKES = 2000
FLOOD_CONNECTIONS = 8  # the flood's concurrent connections, all from one address
ADDRESS_LIMIT = 20  # CHECKIN_RATE_LIMIT, a minute
REAL_ADDRESSES, REAL_EACH = 10, 2
CAPACITY = ADDRESS_LIMIT + REAL_ADDRESSES * REAL_EACH  # the activity's check-ins a minute
SPREAD = 250  # the addresses of the last phase's flood


@dataclass(frozen=True)
class Phase:
    """How one phase floods: through how many trusted proxies, from which addresses, and
    whether every real check-in must get through (not when the flood has as many addresses
    as it likes: that is what a capacity cannot tell apart)."""

    trusted_proxies: int
    flood_addresses: list[str]
    real_addresses: list[str]
    real_must_pass: bool = True


def _addresses(prefix: str, n: int) -> list[str]:
    return [f"{prefix}.{i}" for i in range(1, n + 1)]


PHASES = {
    "direct": Phase(0, ["127.0.0.2"], _addresses("127.0.1", REAL_ADDRESSES)),
    "proxy": Phase(1, ["127.0.0.3"], _addresses("127.0.2", REAL_ADDRESSES)),
    "many_addresses": Phase(
        0, _addresses("127.0.3", SPREAD), _addresses("127.0.4", REAL_ADDRESSES), False
    ),
}
TIMEOUT_SECONDS = 30
# Headers a proxy does not pass on (RFC 9110's hop-by-hop ones, and the length it sets).
HOP_BY_HOP = {
    "connection",
    "keep-alive",
    "proxy-connection",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "content-length",
}


def free_port() -> int:
    """A TCP port nobody listens on now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def build(url: str) -> dict[str, tuple[int, str]]:
    """A station with an activity on now per phase, each taking CAPACITY check-ins a minute:
    {phase: (activity id, check-in token)}."""
    app = migrated_app(url)
    with app.app_context():
        now = datetime.now(UTC)
        unit = create_unit("五华区总工会", Level.DISTRICT)
        campaign = create_campaign(unit, "驿站普惠日·防刷测试", date.today() - timedelta(days=1))
        theme = db.session.scalar(select(Theme).order_by(Theme.id).limit(1))
        activities = {}
        for n, phase in enumerate(PHASES):
            station = create_station(unit, f"FL-{n:03d}", f"防刷测试驿站{n + 1}")
            activity = schedule_activity(
                campaign,
                station,
                theme,
                "冬送暖饮·送姜茶",
                now - timedelta(hours=1),
                now + timedelta(hours=2),
            )
            activity.checkins_per_minute = CAPACITY
            db.session.flush()
            activities[phase] = (activity.id, activity.checkin_token)
        db.session.commit()
        db.engine.dispose()
    return activities


# --- the reverse proxy ---------------------------------------------------------------------------


def serve_proxy(port: int, upstream: int) -> None:
    """Forward every request on `port` to 127.0.0.1:`upstream`, appending the client's address
    to X-Forwarded-For and saying the scheme in X-Forwarded-Proto (run in a process of its own)."""
    local = threading.local()

    class Forward(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _forward(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else None
            headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}
            headers.pop("X-Forwarded-For", None)
            headers.pop("X-Forwarded-Proto", None)
            before = self.headers.get("X-Forwarded-For")
            client = self.client_address[0]
            headers["X-Forwarded-For"] = f"{before}, {client}" if before else client
            headers["X-Forwarded-Proto"] = "http"
            for attempt in range(2):
                connection = getattr(local, "connection", None)
                if connection is None:
                    connection = local.connection = http.client.HTTPConnection(
                        "127.0.0.1", upstream, timeout=TIMEOUT_SECONDS
                    )
                try:
                    connection.request(self.command, self.path, body=body, headers=headers)
                    answer = connection.getresponse()
                    data = answer.read()
                    break
                except (http.client.HTTPException, OSError):
                    connection.close()
                    local.connection = None
                    if attempt:
                        self.send_error(502)
                        return
            self.send_response(answer.status)
            for name, value in answer.getheaders():
                if name.lower() not in HOP_BY_HOP:
                    self.send_header(name, value)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = _forward

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", port), Forward)
    server.daemon_threads = True
    server.serve_forever()


def start_proxy(port: int, upstream: int) -> mp.Process:
    """The proxy, in a process of its own, once it listens."""
    process = mp.get_context("fork").Process(target=serve_proxy, args=(port, upstream))
    process.daemon = True
    process.start()
    for _ in range(100):
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return process
        except OSError:
            time.sleep(0.05)
    process.terminate()
    raise RuntimeError("the proxy did not start")


# --- the clients -------------------------------------------------------------------------------


class Sender:
    """One keep-alive connection to the server (or the proxy) from one source address."""

    def __init__(self, port: int, source: str) -> None:
        self.port, self.source = port, source
        self.connection: http.client.HTTPConnection | None = None

    def post(self, body: dict, headers: dict | None = None) -> int:
        """POST a check-in; the status (0 when no answer came)."""
        data = json.dumps(body).encode()
        headers = {"Content-Type": "application/json", **(headers or {})}
        for attempt in range(2):
            if self.connection is None:
                self.connection = http.client.HTTPConnection(
                    "127.0.0.1",
                    self.port,
                    timeout=TIMEOUT_SECONDS,
                    source_address=(self.source, 0),
                )
            try:
                self.connection.request("POST", "/api/v1/checkins", body=data, headers=headers)
                answer = self.connection.getresponse()
                answer.read()
            except (http.client.HTTPException, OSError):
                self.close()
                if attempt:
                    return 0
                continue
            if answer.will_close:
                self.close()
            return answer.status
        return 0

    def close(self) -> None:
        """Drop the connection; the next request opens another."""
        if self.connection is not None:
            self.connection.close()
            self.connection = None


def checkin_body(token: str, phone: int, nonce: str) -> dict:
    return {"token": token, "phone": f"1{phone:010d}", "group": "rider", "nonce": nonce}


def wait_for_a_new_minute() -> None:
    """Sleep until just after the turn of the minute."""
    now = time.time()
    time.sleep(60 - now % 60 + 0.3)


def run_phase(phase: str, port: int, token: str, fakes: int) -> dict:
    """The flood and the real check-ins of one phase, at `port`; what they were answered."""
    plan = PHASES[phase]
    rng = random.Random(phase)
    flood: list[int] = []
    real: list[int] = []
    lock = threading.Lock()
    sent = {"n": 0}
    forge = plan.trusted_proxies > 0

    def flooder() -> None:
        senders: dict[str, Sender] = {}
        while True:
            with lock:
                if sent["n"] >= fakes:
                    break
                sent["n"] += 1
                n = sent["n"]
                forged = f"10.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(1, 255)}"
            # A fake number in the phone pattern, a new one every time: a "new person".
            body = checkin_body(token, 3_000_000_000 + n * 7919 % 999_999_999, f"fake-{phase}-{n}")
            address = plan.flood_addresses[n % len(plan.flood_addresses)]
            sender = senders.setdefault(address, Sender(port, address))
            status = sender.post(body, {"X-Forwarded-For": forged} if forge else None)
            with lock:
                flood.append(status)
        for sender in senders.values():
            sender.close()

    def real_people() -> None:
        # Once the flood is under way, the real check-ins arrive in its midst.
        while True:
            with lock:
                if sent["n"] >= fakes // 10:
                    break
            time.sleep(0.005)
        for i, address in enumerate(plan.real_addresses):
            sender = Sender(port, address)
            for j in range(REAL_EACH):
                n = i * REAL_EACH + j
                body = checkin_body(token, 8_000_000_000 + n, f"real-{phase}-{n:04d}")
                status = sender.post(body)
                with lock:
                    real.append(status)
            sender.close()
            time.sleep(0.02)

    wait_for_a_new_minute()
    started = time.perf_counter()
    threads = [threading.Thread(target=flooder) for _ in range(FLOOD_CONNECTIONS)]
    threads.append(threading.Thread(target=real_people))
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    seconds = time.perf_counter() - started
    return {
        "seconds": round(seconds, 2),
        "flood_rps": round(len(flood) / seconds, 1),
        "flood": flood,
        "real": real,
    }


def figures(url: str, activity_id: int, phase: str, answers: dict) -> dict:
    """The phase's figures: the answers, and what the database holds."""
    flood, real = answers.pop("flood"), answers.pop("real")
    app = create_app(TestConfig(url))
    with app.app_context():
        stored = db.session.scalar(
            select(func.count()).select_from(CheckIn).where(CheckIn.activity_id == activity_id)
        )
        most = db.session.scalar(
            select(func.max(CheckInMinute.accepted)).where(CheckInMinute.activity_id == activity_id)
        )
        minutes = db.session.scalar(
            select(func.count()).where(CheckInMinute.activity_id == activity_id)
        )
        under_review = db.session.scalar(
            select(func.count()).where(
                CheckInMinute.activity_id == activity_id, CheckInMinute.under_review.is_(True)
            )
        )
        recorded = db.session.scalar(
            select(func.coalesce(func.sum(CheckInRefusal.count), 0)).where(
                CheckInRefusal.activity_id == activity_id
            )
        )
        key = identity_key(SECRET_KEY)
        flood_hashes = [address_key(a, key) for a in PHASES[phase].flood_addresses]
        from_flood = db.session.scalar(
            select(func.coalesce(func.sum(CheckInRefusal.count), 0)).where(
                CheckInRefusal.activity_id == activity_id,
                CheckInRefusal.address_hash.in_(flood_hashes),
            )
        )
        kinds = dict(
            db.session.execute(
                select(CheckInRefusal.kind, func.sum(CheckInRefusal.count))
                .where(CheckInRefusal.activity_id == activity_id)
                .group_by(CheckInRefusal.kind)
            ).all()
        )
        db.engine.dispose()
    refused_answers = flood.count(429) + real.count(429)
    return {
        **answers,
        "flood_sent": len(flood),
        "flood_accepted": flood.count(201),
        "flood_refused": flood.count(429),
        "flood_other": len(flood) - flood.count(201) - flood.count(429),
        "server_errors": sum(1 for s in flood + real if s >= 500 or s == 0),
        "real_sent": len(real),
        "real_accepted": real.count(201),
        "stored": stored,
        "minutes": minutes,
        "most_in_a_minute": most or 0,
        "refused_answered": refused_answers,
        "refused_recorded": int(recorded),
        "refused_recorded_from_flood_addresses": int(from_flood),
        "refused_by_limit": {k.value: int(v) for k, v in kinds.items()},
        "minutes_under_review": under_review,
    }


def phase_met(phase: str, result: dict) -> bool:
    """The goal, for one phase."""
    return (
        result["most_in_a_minute"] <= CAPACITY
        and result["refused_recorded"] == result["refused_answered"]
        and result["refused_recorded_from_flood_addresses"] == result["flood_refused"]
        and (result["real_accepted"] == result["real_sent"] or not PHASES[phase].real_must_pass)
        and result["server_errors"] == 0
    )


def main() -> None:
    parser = arguments(__doc__)
    parser.add_argument("--fakes", type=int, default=FAKES)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = empty_database(args.database_url or DEFAULT_URL, tmp, "checkin_flood")
        activities = build(url)
        results = {}
        log = open(Path(tmp) / "gunicorn.log", "w")  # noqa: SIM115
        for phase, plan in PHASES.items():
            settings = {
                "CHECKIN_RATE_LIMIT": f"{ADDRESS_LIMIT} per minute",
                "CHECKIN_CAPACITY_PER_MINUTE": "30",
                "TRUSTED_PROXIES": str(plan.trusted_proxies),
                "RATELIMIT_STORAGE_URI": "",
                "REDIS_URL": "",
            }
            upstream = free_port()
            server = start_server(url, upstream, log, settings=settings)
            proxy = None
            try:
                port = upstream
                if plan.trusted_proxies:
                    port = free_port()
                    proxy = start_proxy(port, upstream)
                activity_id, token = activities[phase]
                answers = run_phase(phase, port, token, args.fakes)
            finally:
                if proxy is not None:
                    proxy.terminate()
                    proxy.join(timeout=10)
                stop_server(server)
            results[phase] = figures(url, activity_id, phase, answers)
        log.close()
    goal = {
        "most_in_a_minute_at_most": CAPACITY,
        "refused_recorded": "every refusal answered",
        "real_accepted": "all, where the flood has one address (direct, proxy); with "
        "as many as it likes (many_addresses) the capacity alone holds, and real check-ins "
        "after it is reached are refused and recorded like the fakes",
        "server_errors": 0,
    }
    print(
        json.dumps(
            {
                "bench": "checkin_flood",
                "database": database_name(url),
                "server": f"gunicorn, {WORKERS} workers x {THREADS} threads",
                "proxy": "a threaded Python reverse proxy in this bench (nginx is not "
                "installed), appending the client's address to X-Forwarded-For",
                "limit_storage": "the app's database (database://)",
                "fakes": args.fakes,
                "flood_connections": FLOOD_CONNECTIONS,
                "address_limit_per_minute": ADDRESS_LIMIT,
                "capacity_per_minute": CAPACITY,
                "real_per_minute": REAL_ADDRESSES * REAL_EACH,
                "phases": results,
                "goal": goal,
                "met": all(phase_met(phase, r) for phase, r in results.items()),
            },
            ensure_ascii=False,
        )
    )


if __name__ == "__main__":
    sys.exit(main())
