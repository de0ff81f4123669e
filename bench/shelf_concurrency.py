"""Shelf concurrency: 32 workers' phones take from one station's shelf holding 100 bottles, all
at once over HTTP, each taking 1 again and again until the shelf says it is out of stock;
every fourth phone sends each taking twice at once with the same nonce (a double tap).

Usage: .venv/bin/python bench/shelf_concurrency.py [--database-url URL]
The database (default postgresql://postgres@127.0.0.1:5432/bench_shelf_concurrency) is emptied
and built by the migrations: one open station with a shelf (no per-person limit) whose one item
holds 100. gunicorn serves the app with the production settings (bench/soak.py's start_server:
2 workers x 4 threads, CSRF on, the check-in rate limit raised out of the way) and each phone
goes through the public taking form: it reads the CSRF token from the form once, then posts
takings with nonces of its own.

Figures: takings answered as taken (distinct nonces answered 302), the rows stored, taken
nonces with no row (lost), rows beyond those taken (doubled), the final stock, refusals
answered "out of stock", other answers. Goal: exactly 100 taken and stored, none lost or
doubled, stock 0, no other answer. Prints one JSON line.
"""

from __future__ import annotations

import json
import re
import socket
import sys
import tempfile
import threading
import time
import uuid
from datetime import date, timedelta
from pathlib import Path
from urllib.parse import urlencode

from _shared import arguments, database_name, empty_database, migrated_app
from soak import Client, start_server, stop_server
from sqlalchemy import func, select

from inclusive_day.attendance.models import BeneficiaryGroup
from inclusive_day.extensions import db
from inclusive_day.shelf.models import GiverKind, ShelfItem, ShelfTaking
from inclusive_day.shelf.services import add_item, open_shelf
from inclusive_day.shelf.stock import put
from inclusive_day.stations.models import StationStatus
from inclusive_day.stations.services import create_station
from inclusive_day.units.models import Level
from inclusive_day.units.services import create_unit

DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/bench_shelf_concurrency"
TAKERS = 32
STOCK = 100
DOUBLE_EVERY = 4  # every fourth phone double-taps each taking
CODE = "SHELF-001"
OUT_OF_STOCK = b"Not enough left on the shelf"  # in English: the phones ask for it
ENGLISH = {"Accept-Language": "en"}
CSRF = re.compile(rb'name="csrf_token" type="hidden" value="([^"]+)"')


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def build(url: str) -> int:
    """The station, its shelf and the item holding STOCK; the item's id."""
    app = migrated_app(url)
    with app.app_context():
        unit = create_unit("盘龙区总工会", Level.DISTRICT)
        opened = date.today() - timedelta(days=30)
        station = create_station(
            unit, CODE, "爱心互献测试驿站", status=StationStatus.ACTIVE, opened_on=opened
        )
        shelf = open_shelf(station, opened, None, "bench")
        item = add_item(shelf, "矿泉水", "瓶")
        put(item.id, STOCK, GiverKind.CITIZEN, nonce="bench-restock")
        db.session.commit()
        item_id = item.id
        db.engine.dispose()
    return item_id


class Phone:
    """One worker's phone: a cookie session, its CSRF token, and what it was told."""

    def __init__(self, port: int, item_id: int, double: bool) -> None:
        self.clients = [Client(port) for _ in range(2 if double else 1)]
        self.item_id = item_id
        self.taken: list[str] = []
        self.out_of_stock = 0
        self.other: list[tuple[int, bytes]] = []
        self.token = ""

    def start(self) -> bool:
        status, page = self.clients[0].request(
            "GET", f"/directory/stations/{CODE}/shelf/take", headers=ENGLISH
        )
        match = CSRF.search(page)
        if status != 200 or not match:
            self.other.append((status, page[:200]))
            return False
        self.token = match.group(1).decode()
        for twin in self.clients[1:]:
            twin.cookies = dict(self.clients[0].cookies)
        return True

    def _post(self, client: Client, body: bytes, answers: list) -> None:
        answers.append(
            client.request(
                "POST",
                f"/directory/stations/{CODE}/shelf/take",
                body,
                {"Content-Type": "application/x-www-form-urlencoded", **ENGLISH},
            )
        )

    def run(self, barrier: threading.Barrier) -> None:
        ready = self.start()
        barrier.wait()
        while ready:
            nonce = uuid.uuid4().hex
            body = urlencode(
                {
                    "csrf_token": self.token,
                    "nonce": nonce,
                    "item": self.item_id,
                    "quantity": 1,
                    "group": BeneficiaryGroup.COURIER.value,
                }
            ).encode()
            answers: list = []
            twins = [
                threading.Thread(target=self._post, args=(c, body, answers)) for c in self.clients
            ]
            for t in twins:
                t.start()
            for t in twins:
                t.join()
            statuses = {status for status, _page in answers}
            if 302 in statuses:
                self.taken.append(nonce)
            bodies = [page for status, page in answers if status == 422]
            if any(OUT_OF_STOCK in page for page in bodies):
                self.out_of_stock += 1
            for status, page in answers:
                if status not in (302, 422) or (status == 422 and OUT_OF_STOCK not in page):
                    self.other.append((status, page[:200]))
            if 302 not in statuses:
                break


def main() -> None:
    parser = arguments(__doc__)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = empty_database(args.database_url or DEFAULT_URL, tmp, "bench_shelf_concurrency")
        item_id = build(url)
        port = free_port()
        log = open(Path(tmp) / "gunicorn.log", "w")  # noqa: SIM115
        server = start_server(url, port, log)
        started = time.perf_counter()
        try:
            phones = [Phone(port, item_id, i % DOUBLE_EVERY == 0) for i in range(TAKERS)]
            barrier = threading.Barrier(TAKERS)
            threads = [threading.Thread(target=p.run, args=(barrier,)) for p in phones]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
        finally:
            stop_server(server)
            log.close()
        seconds = time.perf_counter() - started
        app = migrated_app(url)
        with app.app_context():
            stored = set(db.session.scalars(select(ShelfTaking.nonce)))
            rows = db.session.scalar(select(func.count(ShelfTaking.id)))
            stock = db.session.scalar(select(ShelfItem.stock).where(ShelfItem.id == item_id))
            db.engine.dispose()
    taken = [n for p in phones for n in p.taken]
    other = [o for p in phones for o in p.other]
    lost = len(set(taken) - stored)
    doubled = rows - len(set(taken))
    met = len(taken) == STOCK == rows and lost == 0 and doubled == 0 and stock == 0 and not other
    print(
        json.dumps(
            {
                "bench": "shelf_concurrency",
                "database": database_name(url),
                "server": "gunicorn, 2 workers x 4 threads",
                "takers": TAKERS,
                "double_tappers": len([p for p in phones if len(p.clients) > 1]),
                "stock_at_start": STOCK,
                "taken": len(taken),
                "rows": rows,
                "lost": lost,
                "doubled": doubled,
                "final_stock": stock,
                "refused_out_of_stock": sum(p.out_of_stock for p in phones),
                "other_answers": len(other),
                "seconds": round(seconds, 2),
                "goal": {"taken": STOCK, "rows": STOCK, "lost": 0, "doubled": 0, "final_stock": 0},
                "met": met,
            }
        )
    )
    if other:
        print("first other answers:", other[:3], file=sys.stderr)


if __name__ == "__main__":
    main()
