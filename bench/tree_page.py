"""The tree page over a province of 11,000 stations: SQL queries per request and latency.

Usage: .venv/bin/python bench/tree_page.py [--database-url URL]
Without a URL it uses temporary SQLite files; a PostgreSQL database is emptied first (see
bench/_shared.py). The page is fetched in-process through the Flask test client, as an
administrator, at the province (three levels shown) and at a city; the query count is
taken at a small size first and must not change at full size. Prints one JSON line.
"""

import json
import random
import statistics
import tempfile
import time
from datetime import UTC, date, datetime, timedelta

from _shared import (
    UnitRows,
    analyse,
    arguments,
    database_name,
    empty_database,
    migrated_app,
    percentile,
    province_streets,
)
from sqlalchemy import event, insert, select

from inclusive_day.activities.models import Activity, new_uid
from inclusive_day.auth.models import Role
from inclusive_day.auth.services import create_user, grant
from inclusive_day.campaigns.models import Campaign, Theme
from inclusive_day.extensions import db
from inclusive_day.stations.models import Station
from inclusive_day.units.models import Unit

STATIONS = 11_000
SMALL_STATIONS = 110
CITIES, DISTRICTS_PER_CITY, STREETS_PER_DISTRICT = 16, 8, 6
ACTIVITIES = 20_000
REQUESTS = 200
GOAL_P95_MS = 100.0
PASSWORD = "bench-password"


def build(stations: int, activities: int, seed: int = 7) -> None:
    """A province > cities > districts > streets, stations spread over the streets."""
    rng = random.Random(seed)
    now = datetime.now(UTC)
    tree = UnitRows(now)
    street_ids = province_streets(
        tree, "省总工会", CITIES, DISTRICTS_PER_CITY, STREETS_PER_DISTRICT
    )
    db.session.execute(insert(Unit), tree.rows)
    db.session.execute(
        insert(Station),
        [
            {
                "unit_id": rng.choice(street_ids),
                "code": f"ST{i:06d}",
                "name": f"驿站{i}",
                "address": "",
                "latitude": 25 + rng.random(),
                "longitude": 102 + rng.random(),
                "coord_system": "wgs84",
                "phone": "",
                "open_24h": True,
                "opening_hours": "",
                "services": "",
                "status": "active" if rng.random() < 0.95 else "suspended",
                "created_at": now,
                "updated_at": now,
            }
            for i in range(stations)
        ],
    )
    campaign = Campaign(unit_id=1, name="普惠日", starts_on=date(2024, 1, 1), is_public=True)
    db.session.add(campaign)
    db.session.flush()
    theme_id = db.session.scalar(select(Theme.id).limit(1))
    station_ids = list(db.session.scalars(select(Station.id)))
    start = datetime(2024, 1, 1, 1, tzinfo=UTC)
    rows = []
    for i in range(activities):
        starts = start + timedelta(hours=rng.randrange(24 * 300))
        rows.append(
            {
                "uid": new_uid(),
                "sequence": 0,
                "campaign_id": campaign.id,
                "station_id": rng.choice(station_ids),
                "theme_id": theme_id,
                "title": f"活动{i}",
                "starts_at": starts,
                "ends_at": starts + timedelta(hours=2),
                "status": "scheduled",
                "description": "",
                "cancel_reason": "",
                "created_at": now,
                "updated_at": now,
            }
        )
    db.session.execute(insert(Activity), rows)
    admin = create_user("bench-admin", PASSWORD)
    grant(admin, Role.ADMIN)
    db.session.commit()


def measure(app, requests: int) -> dict:
    """Fetch the province and a city page; return query counts and latencies."""
    client = app.test_client()
    client.post("/auth/login", data={"username": "bench-admin", "password": PASSWORD})
    counter = {"n": 0}

    def count(*_args):
        counter["n"] += 1

    with app.app_context():
        event.listen(db.engine, "before_cursor_execute", count)
    urls = {"province": "/units/?unit=1", "city": "/units/?unit=2"}
    queries = {}
    for name, url in urls.items():
        counter["n"] = 0
        response = client.get(url)
        assert response.status_code == 200, response.status_code
        queries[name] = counter["n"]
    latencies = []
    for i in range(requests):
        url = urls["province" if i % 2 == 0 else "city"]
        started = time.perf_counter()
        client.get(url)
        latencies.append((time.perf_counter() - started) * 1000)
    with app.app_context():
        event.remove(db.engine, "before_cursor_execute", count)
    return {"queries": queries, "latencies": latencies}


def run(url: str, stations: int, activities: int, requests: int) -> dict:
    """Build a fresh database at one size and measure the page on it."""
    app = migrated_app(url)
    with app.app_context():
        build(stations, activities)
        db.session.remove()
        analyse(db.engine)
    result = measure(app, requests)
    with app.app_context():
        db.engine.dispose()
    return result


def main() -> None:
    """Measure at a small and at the full size; print the figures and whether they meet the goal."""
    given = arguments(__doc__).parse_args().database_url
    with tempfile.TemporaryDirectory() as tmp:
        small_url = empty_database(given, tmp, "small")
        small = run(small_url, SMALL_STATIONS, SMALL_STATIONS * 2, requests=4)
        full_url = empty_database(given, tmp, "full")
        full = run(full_url, STATIONS, ACTIVITIES, REQUESTS)
    latencies = full["latencies"]
    p95 = percentile(latencies, 0.95)
    constant = small["queries"] == full["queries"]
    print(
        json.dumps(
            {
                "bench": "tree_page",
                "database": database_name(full_url),
                "stations": STATIONS,
                "units": 1 + CITIES * (1 + DISTRICTS_PER_CITY * (1 + STREETS_PER_DISTRICT)),
                "activities": ACTIVITIES,
                "queries_small": small["queries"],
                "queries_full": full["queries"],
                "p50_ms": round(statistics.median(latencies), 1),
                "p95_ms": round(p95, 1),
                "goal": {"p95_ms_under": GOAL_P95_MS, "queries": "constant"},
                "met": constant and p95 < GOAL_P95_MS,
            }
        )
    )


if __name__ == "__main__":
    main()
