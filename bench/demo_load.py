"""Time `demo load` (the Kunming campaign) on a fresh database it builds itself.

Usage: .venv/bin/python bench/demo_load.py [--database-url URL]
Without a URL it uses a temporary SQLite file (see bench/_shared.py). Prints one JSON line.
"""

import json
import tempfile
import time

from _shared import arguments, database_name, empty_database, migrated_app

from inclusive_day.config import TestConfig
from inclusive_day.demo.kunming import campaign_figures, load_kunming
from inclusive_day.extensions import db

GOAL_SECONDS = 15.0


def main() -> None:
    """Migrate an empty database, load the demo, and report the time and the figures."""
    given = arguments(__doc__).parse_args().database_url
    with tempfile.TemporaryDirectory() as tmp:
        url = empty_database(given, tmp)
        config = TestConfig(url)
        config.PASSWORD_HASH_METHOD = "scrypt"  # the production hash, as make run uses
        app = migrated_app(url, config)
        with app.app_context():
            started = time.perf_counter()
            result = load_kunming(echo=lambda _: None)
            db.session.commit()
            seconds = time.perf_counter() - started
            figures = campaign_figures(result.campaign_id)
            db.engine.dispose()
    print(
        json.dumps(
            {
                "bench": "demo_load",
                "database": database_name(url),
                "seconds": round(seconds, 2),
                "activities": figures.activities,
                "served": figures.served,
                "people": figures.people,
                "goal": {"seconds_at_most": GOAL_SECONDS, "activities": 256, "served": 76_800},
                "met": seconds <= GOAL_SECONDS
                and (figures.activities, figures.served) == (256, 76_800),
            }
        )
    )


if __name__ == "__main__":
    main()
