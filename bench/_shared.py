"""What every bench needs: its own empty database, built by the migrations, and percentiles.

Each bench takes `--database-url URL` (or BENCH_DATABASE_URL); without one it uses a
temporary SQLite file. A PostgreSQL database named in the URL is created when missing and
its public schema is dropped and rebuilt, so give a bench a database of its own.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from dataclasses import dataclass
from pathlib import Path

from flask_migrate import upgrade
from sqlalchemy import create_engine, event, make_url, text

from inclusive_day import create_app
from inclusive_day.config import TestConfig
from inclusive_day.demo.province import find_province
from inclusive_day.extensions import db


def arguments(doc: str) -> argparse.ArgumentParser:
    """A parser with the shared --database-url option; the bench adds its own."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL"))
    return parser


def empty_database(url: str | None, tmp: str, name: str = "bench") -> str:
    """A URL to an empty database: a new SQLite file in `tmp`, or a wiped PostgreSQL one."""
    if not url:
        return f"sqlite:///{Path(tmp) / f'{name}.sqlite'}"
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    if not url.startswith("postgresql"):
        return url
    target = make_url(url)
    server = create_engine(target.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with server.connect() as conn:
        exists = conn.scalar(
            text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": target.database}
        )
        if not exists:
            conn.execute(text(f'CREATE DATABASE "{target.database}"'))
    server.dispose()
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()
    return url


def province_to_reuse(database_url: str | None) -> str | None:
    """The SQLAlchemy URL of `database_url` when it already holds `demo province`, else None
    (for the benches' --reuse, which skips the minute the province takes to build)."""
    if not database_url:
        return None
    url = database_url
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    probe = create_app(TestConfig(url))
    with probe.app_context():
        try:
            found = find_province() is not None
        except Exception:  # no schema yet
            found = False
        db.engine.dispose()
    return url if found else None


def migrated_app(url: str, config: TestConfig | None = None):
    """The app on `url`, its schema built by the migrations (never create_all)."""
    app = create_app(config or TestConfig(url))
    with app.app_context():
        upgrade()
    return app


def analyse(engine) -> None:
    """Gather planner statistics, as autovacuum (or SQLite's optimize) would on a live database."""
    with engine.connect() as conn:
        conn.execute(text("ANALYZE"))
        conn.commit()


class Statements:
    """Counts the SQL statements the engine runs while `counting` is on."""

    def __init__(self, engine) -> None:
        self.n = 0
        event.listen(engine, "before_cursor_execute", self._count)

    def _count(self, *_args) -> None:
        self.n += 1

    def __enter__(self) -> Statements:
        self.n = 0
        return self

    def __exit__(self, *_exc) -> None:
        pass


def timed(rounds: int, run) -> tuple[float, list[float], object]:
    """The median seconds of `rounds` calls after a warm-up, each in a fresh session."""
    result = None
    seconds = []
    for turn in range(rounds + 1):
        db.session.remove()
        started = time.perf_counter()
        result = run()
        elapsed = time.perf_counter() - started
        if turn:
            seconds.append(elapsed)
    return statistics.median(seconds), [round(s, 3) for s in seconds], result


def statements(counter: Statements, run) -> int:
    """The statements one call runs, in a fresh session."""
    db.session.remove()
    with counter:
        run()
    return counter.n


def percentile(values: list[float], share: float) -> float:
    """The value below which `share` of the values lie (nearest rank)."""
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, round(share * len(ordered)) - 1))]


def database_name(url: str) -> str:
    """ "sqlite" or "postgresql", for the printed figures."""
    return "postgresql" if url.startswith("postgresql") else "sqlite"


class UnitRows:
    """Rows for a bulk insert of a union tree, ids and paths assigned as units are added."""

    def __init__(self, now) -> None:
        self.now = now
        self.rows: list[dict] = []

    def add(self, name: str, level: str, parent_path: str = "/") -> dict:
        """A unit under the unit whose path is `parent_path` ("/" for a root); its row."""
        unit_id = len(self.rows) + 1
        parent_id = int(parent_path.strip("/").split("/")[-1]) if parent_path != "/" else None
        self.rows.append(
            {
                "id": unit_id,
                "parent_id": parent_id,
                "path": f"{parent_path}{unit_id}/",
                "level": level,
                "name": name,
                "code": None,
                "timezone": "Asia/Shanghai",
                "created_at": self.now,
            }
        )
        return self.rows[-1]


def province_streets(
    tree: UnitRows, name: str, cities: int, districts: int, streets: int
) -> list[int]:
    """Add a province > cities > districts > streets to `tree` (named 第c市总工会, 第c市第d区总工会,
    第c-d-s街道工会); the street units' ids, where benches spread their stations."""
    province = tree.add(name, "province")["path"]
    street_ids = []
    for c in range(cities):
        city = tree.add(f"第{c + 1}市总工会", "city", province)["path"]
        for d in range(districts):
            district = tree.add(f"第{c + 1}市第{d + 1}区总工会", "district", city)["path"]
            for s in range(streets):
                street = tree.add(f"第{c + 1}-{d + 1}-{s + 1}街道工会", "street", district)
                street_ids.append(street["id"])
    return street_ids


@dataclass
class City:
    """A bench city: Kunming with districts, streets and communities and stations spread over
    them, and a neighbouring city with 20 stations that the city's pages must leave out."""

    city: dict
    other_city: dict
    districts: list[dict]
    city_stations: list[int]
    other_stations: list[int]


def station_row(code: str, name: str, unit_id: int, now, rng=None) -> dict:
    """A station's row for a bulk insert; with `rng`, an address and coordinates too."""
    return {
        "unit_id": unit_id,
        "code": code,
        "name": name,
        "address": f"昆明市五华区人民中路{rng.randrange(1, 999)}号" if rng else "",
        "latitude": round(25.0 + rng.random() / 5, 6) if rng else None,
        "longitude": round(102.6 + rng.random() / 5, 6) if rng else None,
        "coord_system": "wgs84",
        "phone": "",
        "open_24h": False,
        "opening_hours": "",
        "services": "",
        "status": "active",
        "created_at": now,
        "updated_at": now,
    }


def build_city(rng, now, stations: int, shape=(8, 6, 3), located: bool = False) -> City:
    """Insert a province > city > districts > streets > communities (`shape` gives how many
    of each under the one above) and `stations` stations at its streets and communities."""
    from sqlalchemy import insert, select

    from inclusive_day.extensions import db
    from inclusive_day.stations.models import Station
    from inclusive_day.units.models import Unit

    districts_n, streets_n, communities_n = shape
    tree = UnitRows(now)
    province = tree.add("云南省总工会", "province")
    city = tree.add("昆明市总工会", "city", province["path"])
    other_city = tree.add("曲靖市总工会", "city", province["path"])
    districts, leaves = [], []
    for d in range(districts_n):
        district = tree.add(f"第{d + 1}区总工会", "district", city["path"])
        districts.append(district)
        for s in range(streets_n):
            street = tree.add(f"第{d + 1}-{s + 1}街道工会", "street", district["path"])
            leaves.append(street)
            for c in range(communities_n):
                name = f"第{d + 1}-{s + 1}-{c + 1}社区工会"
                leaves.append(tree.add(name, "community", street["path"]))
    other_leaf = tree.add("麒麟区总工会", "district", other_city["path"])
    # Explicit ids leave PostgreSQL's sequence behind; later inserts take ids after these.
    db.session.execute(insert(Unit), tree.rows)
    located_rng = rng if located else None
    rows = [
        station_row(f"KM{i:05d}", f"昆明第{i}号驿站", rng.choice(leaves)["id"], now, located_rng)
        for i in range(stations)
    ]
    rows += [
        station_row(f"QJ{i:05d}", f"曲靖第{i}号驿站", other_leaf["id"], now, located_rng)
        for i in range(20)
    ]
    db.session.execute(insert(Station), rows)
    station_units = dict(db.session.execute(select(Station.id, Station.unit_id)).all())
    city_stations = sorted(sid for sid, uid in station_units.items() if uid != other_leaf["id"])
    other_stations = sorted(set(station_units) - set(city_stations))
    return City(city, other_city, districts, city_stations, other_stations)
