"""Time the public directory search at province scale: 11,000 stations.

Builds a province union (16 cities, 129 districts and counties, two streets each) in a
database of its own, first with 110 stations and then with 11,000, and runs the directory's
searches through the Flask test client in-process: text, district, amenities, nearest first,
and page 2. The figure: the number of SQL statements per kind of search is the same at both
sizes, and the 95th percentile of the response time at 11,000 stations is under 100 ms.

Usage: .venv/bin/python bench/directory_search.py [--database-url URL] [--searches N]
Without --database-url (or BENCH_DATABASE_URL) it uses a temporary SQLite file. A PostgreSQL
database given here is emptied first (DROP SCHEMA public): give one of its own, such as
postgresql://postgres@127.0.0.1:5432/bench_directory. Prints one JSON line.
"""

from __future__ import annotations

import json
import random
import statistics
import tempfile
import time
from urllib.parse import urlencode

from _shared import analyse, arguments, database_name, empty_database, migrated_app, percentile
from sqlalchemy import event, insert

from inclusive_day.extensions import db
from inclusive_day.stations.models import Amenity, Station, StationAmenity, StationStatus
from inclusive_day.units.models import Level
from inclusive_day.units.services import create_unit

GOAL_P95_MS = 100
SMALL, FULL = 110, 11_000
SEED = 20231019
KINDS = ("text", "district", "amenity", "nearest", "page2")

# Yunnan's 16 prefecture-level cities and prefectures: name, centre, districts and counties.
CITIES = (
    ("昆明", (25.04, 102.71), 14),
    ("曲靖", (25.49, 103.80), 9),
    ("玉溪", (24.35, 102.54), 9),
    ("保山", (25.11, 99.16), 5),
    ("昭通", (27.34, 103.72), 11),
    ("丽江", (26.86, 100.23), 5),
    ("普洱", (22.79, 100.97), 10),
    ("临沧", (23.88, 100.09), 8),
    ("楚雄", (25.04, 101.53), 10),
    ("红河", (23.36, 103.38), 13),
    ("文山", (23.40, 104.24), 8),
    ("西双版纳", (22.01, 100.80), 3),
    ("大理", (25.61, 100.27), 12),
    ("德宏", (24.43, 98.58), 5),
    ("怒江", (25.82, 98.86), 4),
    ("迪庆", (27.83, 99.71), 3),
)
ROADS = ("人民路", "北京路", "环城南路", "建设路", "东风路", "金碧路", "滇池路", "学府路", "新闻路")
KINDS_OF_STATION = (
    "工会驿站",
    "爱心驿站",
    "骑手之家",
    "环卫工人休息站",
    "爱心翼站",
    "加油站工会驿站",
)
HOURS = ("08:00-20:00", "09:00-21:00", "07:30-19:30", "08:00-12:00, 14:00-18:00")
TEXT_WORDS = ("骑手之家", "爱心", "环卫", "人民路", "北京路", "加油站", "昆明", "大理", "YN-0")


def build_tree() -> list[dict]:
    """The union tree; returns each district's city, centre, id and unit ids (itself, streets)."""
    province = create_unit("云南省总工会", Level.PROVINCE, code="530000")
    districts = []
    for city_name, centre, count in CITIES:
        city = create_unit(f"{city_name}市总工会", Level.CITY, province)
        for n in range(1, count + 1):
            district = create_unit(f"{city_name}第{n}区（县）总工会", Level.DISTRICT, city)
            streets = [
                create_unit(f"{city_name}{n}区第{s}街道工会", Level.STREET, district)
                for s in (1, 2)
            ]
            ids = [district.id, *(street.id for street in streets)]
            districts.append(
                {"city": city_name, "centre": centre, "id": district.id, "unit_ids": ids}
            )
    db.session.flush()
    return districts


def add_stations(districts: list[dict], start: int, count: int, rng: random.Random) -> None:
    """Insert stations start..start+count-1 round-robin over the districts, in bulk."""
    stations, amenities = [], []
    for number in range(start, start + count):
        district = districts[number % len(districts)]
        unit_id = rng.choice(district["unit_ids"])
        lat0, lon0 = district["centre"]
        open_24h = rng.random() < 0.2
        status = rng.choices(
            (StationStatus.ACTIVE, StationStatus.SUSPENDED, StationStatus.CLOSED), (95, 3, 2)
        )[0]
        station_id = number + 1
        stations.append(
            {
                "id": station_id,
                "unit_id": unit_id,
                "code": f"YN-{number:05d}",
                "name": f"{district['city']}{rng.choice(ROADS)}{rng.choice(KINDS_OF_STATION)}"
                f"{number}",
                "address": f"云南省{district['city']}市{rng.choice(ROADS)}{rng.randint(1, 999)}号",
                "latitude": round(lat0 + rng.uniform(-0.35, 0.35), 6),
                "longitude": round(lon0 + rng.uniform(-0.35, 0.35), 6),
                "open_24h": open_24h,
                "opening_hours": "" if open_24h else rng.choice(HOURS),
                "status": status,
            }
        )
        for amenity in rng.sample(list(Amenity), rng.randint(3, 7)):
            amenities.append({"station_id": station_id, "amenity": amenity})
    db.session.execute(insert(Station), stations)
    db.session.execute(insert(StationAmenity), amenities)
    db.session.commit()


def random_query(kind: str, districts: list[dict], rng: random.Random) -> dict:
    """The arguments of one search of `kind`, drawn at random."""
    if kind == "text":
        return {"q": rng.choice(TEXT_WORDS)}
    if kind == "district":
        return {"unit": rng.choice(districts)["id"]}
    if kind == "amenity":
        return {"amenity": [a.value for a in rng.sample(list(Amenity), 2)]}
    lat0, lon0 = rng.choice(districts)["centre"]
    near = {
        "lat": f"{lat0 + rng.uniform(-0.2, 0.2):.6f}",
        "lon": f"{lon0 + rng.uniform(-0.2, 0.2):.6f}",
    }
    if kind == "nearest":
        return near
    return rng.choice(({"q": "驿站", "page": 2}, {**near, "page": 2}))


def fixed_queries(districts: list[dict]) -> dict[str, dict]:
    """One search of each kind that finds stations at both sizes (the query counts compare)."""
    lat0, lon0 = districts[0]["centre"]
    return {
        "text": {"q": "驿站"},
        "district": {"unit": districts[0]["id"]},
        "amenity": {"amenity": ["water", "charging"]},
        "nearest": {"lat": lat0, "lon": lon0},
        "page2": {"lat": lat0, "lon": lon0, "page": 2},
    }


def get(client, engine, args: dict) -> tuple[float, int]:
    """One search through the app: milliseconds taken and SQL statements run."""
    counter = {"n": 0}

    def count(*_args):
        counter["n"] += 1

    url = "/directory/?" + urlencode(args, doseq=True)
    event.listen(engine, "before_cursor_execute", count)
    try:
        started = time.perf_counter()
        response = client.get(url)
        elapsed = (time.perf_counter() - started) * 1000
    finally:
        event.remove(engine, "before_cursor_execute", count)
    if response.status_code != 200:
        raise RuntimeError(f"{url} answered {response.status_code}")
    return elapsed, counter["n"]


def query_counts(client, engine, queries: dict[str, dict]) -> dict[str, int]:
    """SQL statements per kind of search."""
    return {kind: get(client, engine, args)[1] for kind, args in queries.items()}


def run(url: str, searches: int) -> dict:
    """Build, measure at both sizes, and return the figures."""
    app = migrated_app(url)
    rng = random.Random(SEED)
    client = app.test_client()
    with app.app_context():
        districts = build_tree()
        db.session.commit()
        engine = db.engine
        add_stations(districts, 0, SMALL, rng)
    fixed = fixed_queries(districts)
    for args in fixed.values():  # warm up: templates compiled, connections open
        get(client, engine, args)
    small = query_counts(client, engine, fixed)

    started = time.perf_counter()
    with app.app_context():
        add_stations(districts, SMALL, FULL - SMALL, rng)
        db.session.commit()
        analyse(db.engine)
    build_seconds = time.perf_counter() - started
    full = query_counts(client, engine, fixed)

    timings: dict[str, list[float]] = {kind: [] for kind in KINDS}
    seen: dict[str, set[int]] = {kind: set() for kind in KINDS}
    for i in range(searches):
        kind = KINDS[i % len(KINDS)]
        elapsed, n = get(client, engine, random_query(kind, districts, rng))
        timings[kind].append(elapsed)
        seen[kind].add(n)
    everything = [t for values in timings.values() for t in values]
    with app.app_context():
        db.engine.dispose()
    p95 = percentile(everything, 0.95)
    constant = small == full
    return {
        "bench": "directory_search",
        "database": database_name(url),
        "stations": FULL,
        "searches": searches,
        "p50_ms": round(statistics.median(everything), 1),
        "p95_ms": round(p95, 1),
        "p95_ms_by_kind": {k: round(percentile(v, 0.95), 1) for k, v in timings.items()},
        "queries_per_kind": {str(SMALL): small, str(FULL): full},
        "queries_seen_in_run": {k: sorted(v) for k, v in seen.items()},
        "queries_constant": constant,
        "build_seconds_10890": round(build_seconds, 1),
        "goal_p95_ms": GOAL_P95_MS,
        "met": constant and p95 < GOAL_P95_MS,
    }


def main() -> None:
    """Parse the arguments, run, and print one JSON line."""
    parser = arguments(__doc__)
    parser.add_argument("--searches", type=int, default=200)
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = empty_database(options.database_url, tmp)
        print(json.dumps(run(url, options.searches), ensure_ascii=False))


if __name__ == "__main__":
    main()
