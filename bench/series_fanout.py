"""Fan-out: one activity to 1,000 stations, and a 100-day daily series at 50 stations.

Usage: .venv/bin/python bench/series_fanout.py [--database-url URL]
Without a URL it uses a temporary SQLite file; a PostgreSQL database is emptied first (see
bench/_shared.py). A city of 20 districts holds 1,000 active stations whose calendars already
carry 5,000 activities, so the conflict check has real work. Each figure is the time of
`create_series` (rules, station choice, conflict check, bulk insert) plus the commit, as a
city organiser; each is run three times on fresh dates and the slowest run is reported.
Prints one JSON line.
"""

import json
import random
import statistics
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock

from _shared import analyse, arguments, database_name, empty_database, migrated_app
from sqlalchemy import func, insert, select

from inclusive_day.activities.models import Activity, ConflictPolicy, new_uid
from inclusive_day.activities.recurrence import DateRule, Repeat
from inclusive_day.activities.series import (
    SeriesTemplate,
    StationChoice,
    StationPick,
    create_series,
)
from inclusive_day.auth.models import Role, User
from inclusive_day.auth.services import create_user, grant
from inclusive_day.campaigns.models import Campaign, Theme
from inclusive_day.extensions import db
from inclusive_day.stations.models import Station
from inclusive_day.units.models import Unit

DISTRICTS, STATIONS_PER_DISTRICT = 20, 50
EXISTING = 5_000
RUNS = 3
GOAL_FAN_OUT_S, GOAL_SERIES_S = 1.0, 3.0


def build() -> None:
    """A city of districts with stations, a campaign, existing activities, an organiser."""
    rng = random.Random(11)
    now = datetime.now(UTC)
    units = [{"id": 1, "parent_id": None, "path": "/1/", "level": "city", "name": "市总工会"}]
    for d in range(DISTRICTS):
        units.append(
            {
                "id": d + 2,
                "parent_id": 1,
                "path": f"/1/{d + 2}/",
                "level": "district",
                "name": f"第{d + 1}区总工会",
            }
        )
    db.session.execute(
        insert(Unit), [{**u, "timezone": "Asia/Shanghai", "created_at": now} for u in units]
    )
    db.session.execute(
        insert(Station),
        [
            {
                "unit_id": 2 + i // STATIONS_PER_DISTRICT,
                "code": f"ST{i:05d}",
                "name": f"驿站{i}",
                "address": "",
                "coord_system": "wgs84",
                "phone": "",
                "open_24h": True,
                "opening_hours": "",
                "services": "",
                "status": "active",
                "created_at": now,
                "updated_at": now,
            }
            for i in range(DISTRICTS * STATIONS_PER_DISTRICT)
        ],
    )
    campaign = Campaign(unit_id=1, name="普惠日", starts_on=date(2026, 1, 1), is_public=True)
    db.session.add(campaign)
    db.session.flush()
    theme_id = db.session.scalar(select(Theme.id).order_by(Theme.id).limit(1))
    station_ids = list(db.session.scalars(select(Station.id)))
    start = datetime(2026, 1, 1, 1, tzinfo=UTC)
    rows = []
    for i in range(EXISTING):
        starts = start + timedelta(days=rng.randrange(365), hours=rng.choice((0, 2, 5, 6)))
        rows.append(
            {
                "uid": new_uid(),
                "campaign_id": campaign.id,
                "station_id": rng.choice(station_ids),
                "theme_id": theme_id,
                "title": f"已有活动{i}",
                "starts_at": starts,
                "ends_at": starts + timedelta(hours=2),
            }
        )
    db.session.execute(insert(Activity), rows)
    organiser = create_user("bench-organiser", "bench-password")
    grant(organiser, Role.ORGANISER, unit=db.session.get(Unit, 1))
    db.session.commit()


def timed(organiser, campaign, theme, choice, rule) -> tuple[float, int]:
    """Seconds to plan, check, insert and commit one series; and how many it created."""
    template = SeriesTemplate(
        campaign=campaign,
        theme=theme,
        title="腊八送粥",
        starts_time=clock(9, 0),
        ends_time=clock(11, 0),
        groups=("courier", "rider"),
    )
    started = time.perf_counter()
    _series, created = create_series(organiser, template, choice, rule, ConflictPolicy.SKIP)
    db.session.commit()
    return time.perf_counter() - started, created


def run(url: str) -> dict:
    app = migrated_app(url)
    fan_out, series, created_fan, created_series = [], [], [], []
    with app.app_context():
        build()
        analyse(db.engine)
        organiser = db.session.scalar(select(User))
        campaign = db.session.scalar(select(Campaign))
        theme = db.session.scalar(select(Theme).order_by(Theme.id))
        city = db.session.get(Unit, 1)
        for n in range(RUNS):
            day = date(2026, 1, 18) + timedelta(days=7 * n)
            seconds, created = timed(
                organiser,
                campaign,
                theme,
                StationChoice(StationPick.SUBTREE, unit=city),
                DateRule(day),
            )
            fan_out.append(seconds)
            created_fan.append(created)
        for n in range(RUNS):
            district = db.session.get(Unit, 2 + n)
            seconds, created = timed(
                organiser,
                campaign,
                theme,
                StationChoice(StationPick.SUBTREE, unit=district),
                DateRule(date(2026, 6, 1), Repeat.DAILY, count=100),
            )
            series.append(seconds)
            created_series.append(created)
        total = db.session.scalar(select(func.count(Activity.id)))
        db.session.remove()
        db.engine.dispose()
    return {
        "fan_out": fan_out,
        "series": series,
        "created_fan": created_fan,
        "created_series": created_series,
        "total": total,
    }


def main() -> None:
    given = arguments(__doc__).parse_args().database_url
    with tempfile.TemporaryDirectory() as tmp:
        url = empty_database(given, tmp, "series_fanout")
        result = run(url)
    fan_worst, series_worst = max(result["fan_out"]), max(result["series"])
    print(
        json.dumps(
            {
                "bench": "series_fanout",
                "database": database_name(url),
                "existing_activities": EXISTING,
                "fan_out_stations": DISTRICTS * STATIONS_PER_DISTRICT,
                "fan_out_created": result["created_fan"],
                "fan_out_s": round(fan_worst, 3),
                "fan_out_median_s": round(statistics.median(result["fan_out"]), 3),
                "series_activities": result["created_series"],
                "series_s": round(series_worst, 3),
                "series_median_s": round(statistics.median(result["series"]), 3),
                "goal": {"fan_out_s_max": GOAL_FAN_OUT_S, "series_s_max": GOAL_SERIES_S},
                "met": fan_worst <= GOAL_FAN_OUT_S and series_worst <= GOAL_SERIES_S,
            },
            ensure_ascii=False,
        )
    )


if __name__ == "__main__":
    main()
