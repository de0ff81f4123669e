"""A city's iCalendar feed with 10,000 activities: build time in-process and SQL queries.

Usage: .venv/bin/python bench/calendar_feed.py [--database-url URL]
Without a URL it uses temporary SQLite files; a PostgreSQL database is emptied first (see
bench/_shared.py). One city with districts, streets and communities, a few hundred stations
(with addresses and coordinates) and 10,000 activities of public campaigns inside the feed's
default window, plus a neighbouring city's and an internal campaign's activities the feed
must leave out; bulk-inserted. The city's feed (`/calendar/units/<id>.ics`, no token, the
way a calendar app fetches it) is fetched through the Flask test client, with no ETag so
that every request builds the whole body. The query count is taken on a small city first
and must not change at full size. Prints one JSON line.
"""

import json
import random
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta

from _shared import analyse, arguments, build_city, database_name, empty_database, migrated_app
from icalendar import Calendar
from sqlalchemy import event, insert, select

from inclusive_day.activities.models import Activity, new_uid
from inclusive_day.campaigns.models import Campaign, Theme
from inclusive_day.extensions import db
from inclusive_day.periods import DEFAULT_ZONE, local_today

DISTRICTS, STREETS_PER_DISTRICT, COMMUNITIES_PER_STREET = 8, 6, 3
STATIONS, ACTIVITIES = 400, 10_000
SMALL_STATIONS, SMALL_ACTIVITIES = 10, 40
WARM_UP, REQUESTS = 1, 9
GOAL_S = 0.5
DESCRIPTIONS = (
    "为快递员、外卖骑手、环卫工人等户外劳动者提供免费理发服务，请自带工作证。",
    "健康义诊：测血压、血糖，中医推拿，现场发放防暑降温用品。",
    "",
    "反诈骗知识讲座，民警现场讲解常见电信诈骗手法，发放宣传手册和小礼品。",
)


def build(stations: int, activities: int, seed: int = 23) -> tuple[int, int]:
    """A province > city > districts > streets > communities; return the city's id and how
    many activities its feed must hold."""
    rng = random.Random(seed)
    now = datetime.now(UTC)
    place = build_city(
        rng, now, stations, (DISTRICTS, STREETS_PER_DISTRICT, COMMUNITIES_PER_STREET), located=True
    )
    city, other_city = place.city, place.other_city
    city_stations, other_stations = place.city_stations, place.other_stations

    today = local_today()
    public = [
        Campaign(unit_id=city["id"], name="工会驿站普惠日", starts_on=today),
        Campaign(unit_id=city["id"], name="驿站春季服务季", starts_on=today),
    ]
    internal = Campaign(unit_id=city["id"], name="内部培训", starts_on=today, is_public=False)
    other = Campaign(unit_id=other_city["id"], name="曲靖普惠日", starts_on=today)
    db.session.add_all([*public, internal, other])
    db.session.flush()
    theme_ids = list(db.session.scalars(select(Theme.id).order_by(Theme.id)))

    rows, shown = [], 0
    # The feed's default window: 30 days back to a year ahead; keep a day inside each end.
    first_day = today - timedelta(days=29)
    # `activities` in the feed, and 4% more that it must leave out (other city, internal).
    for i in range(activities + activities // 25):
        kind = "public" if i < activities else "other" if i % 2 else "internal"
        day = first_day + timedelta(days=rng.randrange(390))
        starts = datetime(
            day.year,
            day.month,
            day.day,
            rng.choice((8, 9, 10, 14, 15, 19)),
            rng.choice((0, 30)),
            tzinfo=DEFAULT_ZONE,
        ).astimezone(UTC)
        campaign = {"other": other, "internal": internal}.get(kind) or rng.choice(public)
        cancelled = rng.random() < 0.03
        shown += kind == "public"
        rows.append(
            {
                "uid": new_uid(),
                "sequence": rng.choice((0, 0, 1, 2)),
                "campaign_id": campaign.id,
                "station_id": rng.choice(other_stations if kind == "other" else city_stations),
                "theme_id": rng.choice(theme_ids),
                "title": f"普惠日活动{i}",
                "starts_at": starts,
                "ends_at": starts + timedelta(hours=2, minutes=30),
                "status": "cancelled" if cancelled else "scheduled",
                "target_groups": "",
                "description": rng.choice(DESCRIPTIONS),
                "cancel_reason": "暴雨预警，活动改期" if cancelled else None,
                "created_at": now,
                "updated_at": now - timedelta(minutes=rng.randrange(10_000)),
            }
        )
    for start in range(0, len(rows), 2000):
        db.session.execute(insert(Activity), rows[start : start + 2000])
    db.session.commit()
    return city["id"], shown


def measure(app, city_id: int, shown: int, requests: int) -> dict:
    """Fetch the feed: its query count and event count, then `requests` timed builds."""
    client = app.test_client()
    url = f"/calendar/units/{city_id}.ics"
    counter = {"n": 0}

    def count(*_args):
        counter["n"] += 1

    with app.app_context():
        event.listen(db.engine, "before_cursor_execute", count)
    response = client.get(url)
    queries = counter["n"]
    with app.app_context():
        event.remove(db.engine, "before_cursor_execute", count)
    assert response.status_code == 200, response.status_code
    events = Calendar.from_ical(response.data).walk("VEVENT")
    assert len(events) == shown, (len(events), shown)
    assert "曲靖" not in response.get_data(as_text=True)
    for _ in range(WARM_UP):
        client.get(url)
    seconds = []
    for _ in range(requests):
        started = time.perf_counter()
        client.get(url)
        seconds.append(time.perf_counter() - started)
    conditional = client.get(url, headers={"If-None-Match": response.headers["ETag"]})
    assert conditional.status_code == 304
    return {
        "queries": queries,
        "seconds": seconds,
        "events": len(events),
        "bytes": len(response.data),
    }


def run(url: str, stations: int, activities: int, requests: int) -> dict:
    """Build a fresh database at one size and measure the feed on it."""
    app = migrated_app(url)
    with app.app_context():
        city_id, shown = build(stations, activities)
        db.session.remove()
        analyse(db.engine)
    result = measure(app, city_id, shown, requests)
    with app.app_context():
        db.engine.dispose()
    return result


def main() -> None:
    """Measure at a small and at the full size; print the figures and whether they meet the goal."""
    given = arguments(__doc__).parse_args().database_url
    with tempfile.TemporaryDirectory() as tmp:
        small_url = empty_database(given, tmp, "small")
        small = run(small_url, SMALL_STATIONS, SMALL_ACTIVITIES, requests=1)
        full_url = empty_database(given, tmp, "full")
        full = run(full_url, STATIONS, ACTIVITIES, REQUESTS)
    seconds = full["seconds"]
    worst = max(seconds)
    constant = small["queries"] == full["queries"]
    print(
        json.dumps(
            {
                "bench": "calendar_feed",
                "database": database_name(full_url),
                "stations": STATIONS,
                "activities": ACTIVITIES,
                "events_in_feed": full["events"],
                "feed_bytes": full["bytes"],
                "requests": REQUESTS,
                "queries_small": small["queries"],
                "queries_full": full["queries"],
                "queries_constant": constant,
                "median_s": round(statistics.median(seconds), 3),
                "worst_s": round(worst, 3),
                "goal": "worst build <= 0.5 s, constant queries",
                "met": constant and worst <= GOAL_S,
            },
            ensure_ascii=False,
        )
    )


if __name__ == "__main__":
    main()
