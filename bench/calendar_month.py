"""The month calendar of a city with 10,000 activities in a year: latency and SQL queries.

Usage: .venv/bin/python bench/calendar_month.py [--database-url URL]
Without a URL it uses temporary SQLite files; a PostgreSQL database is emptied first (see
bench/_shared.py). One city with districts, streets and communities, a few hundred stations
and 10,000 activities over 2024, bulk-inserted; the month view of the city's busiest month
is fetched in-process through the Flask test client, signed in as the city's organiser. The
query count is taken on a small city first and must not change at full size. Prints one
JSON line.
"""

import json
import random
import statistics
import tempfile
import time
from collections import Counter
from datetime import UTC, date, datetime, timedelta

from _shared import (
    analyse,
    arguments,
    build_city,
    database_name,
    empty_database,
    migrated_app,
    percentile,
)
from sqlalchemy import event, insert, select

from inclusive_day.activities.models import Activity, new_uid
from inclusive_day.auth.models import Role
from inclusive_day.auth.services import create_user, grant
from inclusive_day.campaigns.models import Campaign, Theme
from inclusive_day.extensions import db
from inclusive_day.periods import DEFAULT_ZONE, Month
from inclusive_day.units.models import Unit

DISTRICTS, STREETS_PER_DISTRICT, COMMUNITIES_PER_STREET = 8, 6, 3
STATIONS, ACTIVITIES = 400, 10_000
SMALL_STATIONS, SMALL_ACTIVITIES = 10, 40
WARM_UP, REQUESTS = 5, 50
GOAL_P95_MS = 150.0
PASSWORD = "bench-password"
YEAR = 2024
# Busier in winter (Spring Festival, Laba, warming drinks) and high summer (cooling drinks).
MONTH_WEIGHTS = [1.6, 1.3, 0.9, 0.8, 0.8, 0.9, 1.1, 1.2, 0.8, 0.9, 0.9, 1.2]


def build(stations: int, activities: int, seed: int = 11) -> tuple[Month, int]:
    """A province > city > districts > streets > communities; return the city's busiest month
    and how many activities it has."""
    rng = random.Random(seed)
    now = datetime.now(UTC)
    place = build_city(
        rng, now, stations, (DISTRICTS, STREETS_PER_DISTRICT, COMMUNITIES_PER_STREET)
    )
    city, other_city, districts = place.city, place.other_city, place.districts
    city_stations, other_stations = place.city_stations, place.other_stations

    campaigns = [
        Campaign(unit_id=city["id"], name="工会驿站普惠日", starts_on=date(YEAR, 1, 1)),
        Campaign(unit_id=city["id"], name="驿站春季服务季", starts_on=date(YEAR, 2, 1)),
        *[
            Campaign(unit_id=d["id"], name=f"{d['name']}送温暖", starts_on=date(YEAR, 1, 1))
            for d in districts
        ],
        Campaign(unit_id=other_city["id"], name="曲靖普惠日", starts_on=date(YEAR, 1, 1)),
    ]
    db.session.add_all(campaigns)
    db.session.flush()
    city_campaigns = [c.id for c in campaigns[:-1]]
    theme_ids = list(db.session.scalars(select(Theme.id).order_by(Theme.id)))

    rows, months = [], Counter()
    day_weights = [
        MONTH_WEIGHTS[(date(YEAR, 1, 1) + timedelta(days=i)).month - 1] for i in range(366)
    ]
    for i in range(activities):
        other = i % 50 == 0  # 2% in the other city
        day = date(YEAR, 1, 1) + timedelta(days=rng.choices(range(366), day_weights)[0])
        starts = datetime(
            day.year,
            day.month,
            day.day,
            rng.choice((8, 9, 10, 14, 15, 19)),
            rng.choice((0, 30)),
            tzinfo=DEFAULT_ZONE,
        ).astimezone(UTC)
        if not other:
            months[Month(day.year, day.month)] += 1
        rows.append(
            {
                "uid": new_uid(),
                "sequence": 0,
                "campaign_id": campaigns[-1].id if other else rng.choice(city_campaigns),
                "station_id": rng.choice(other_stations if other else city_stations),
                "theme_id": rng.choice(theme_ids),
                "title": f"普惠日活动{i}",
                "starts_at": starts,
                "ends_at": starts + timedelta(hours=2, minutes=30),
                "status": "cancelled" if rng.random() < 0.03 else "scheduled",
                "target_groups": "",
                "description": "",
                "cancel_reason": None,
                "created_at": now,
                "updated_at": now,
            }
        )
    for start in range(0, len(rows), 2000):
        db.session.execute(insert(Activity), rows[start : start + 2000])
    organiser = create_user("bench-organiser", PASSWORD)
    db.session.flush()
    grant(organiser, Role.ORGANISER, unit=db.session.get(Unit, city["id"]))
    db.session.commit()
    return months.most_common(1)[0]


def measure(app, month: Month, requests: int) -> dict:
    """Fetch the month view: its query count, then `requests` timed renders after a warm-up."""
    client = app.test_client()
    response = client.post(
        "/auth/login", data={"username": "bench-organiser", "password": PASSWORD}
    )
    assert response.status_code == 302, response.status_code
    url = f"/activities/calendar?month={month}"
    counter = {"n": 0}

    def count(*_args):
        counter["n"] += 1

    with app.app_context():
        event.listen(db.engine, "before_cursor_execute", count)
    response = client.get(url)
    assert response.status_code == 200, response.status_code
    queries = counter["n"]
    with app.app_context():
        event.remove(db.engine, "before_cursor_execute", count)
    body = response.get_data(as_text=True)
    assert "cal-item" in body and "曲靖" not in body
    for _ in range(WARM_UP):
        client.get(url)
    latencies = []
    for _ in range(requests):
        started = time.perf_counter()
        client.get(url)
        latencies.append((time.perf_counter() - started) * 1000)
    return {"queries": queries, "latencies": latencies, "more": body.count('class="cal-more"')}


def run(url: str, stations: int, activities: int, requests: int) -> dict:
    """Build a fresh database at one size and measure the month view on it."""
    app = migrated_app(url)
    with app.app_context():
        month, in_month = build(stations, activities)
        db.session.remove()
        analyse(db.engine)
    result = measure(app, month, requests)
    with app.app_context():
        db.engine.dispose()
    return {**result, "month": str(month), "in_month": in_month}


def main() -> None:
    """Measure at a small and at the full size; print the figures and whether they meet the goal."""
    given = arguments(__doc__).parse_args().database_url
    with tempfile.TemporaryDirectory() as tmp:
        small_url = empty_database(given, tmp, "small")
        small = run(small_url, SMALL_STATIONS, SMALL_ACTIVITIES, requests=3)
        full_url = empty_database(given, tmp, "full")
        full = run(full_url, STATIONS, ACTIVITIES, REQUESTS)
    latencies = full["latencies"]
    p95 = percentile(latencies, 0.95)
    constant = small["queries"] == full["queries"]
    print(
        json.dumps(
            {
                "bench": "calendar_month",
                "database": database_name(full_url),
                "stations": STATIONS,
                "activities": ACTIVITIES,
                "month": full["month"],
                "activities_in_month": full["in_month"],
                "days_with_more": full["more"],
                "requests": REQUESTS,
                "queries_small": small["queries"],
                "queries_full": full["queries"],
                "queries_constant": constant,
                "p50_ms": round(statistics.median(latencies), 1),
                "p95_ms": round(p95, 1),
                "goal": "p95 < 150 ms, constant queries",
                "met": constant and p95 < GOAL_P95_MS,
            },
            ensure_ascii=False,
        )
    )


if __name__ == "__main__":
    main()
