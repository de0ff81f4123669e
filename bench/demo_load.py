"""Time `demo load` (the Kunming campaign) on a fresh database it builds itself.

Usage: .venv/bin/python bench/demo_load.py [DATABASE_URL]
Without an argument it uses a temporary SQLite file. Prints one JSON line.
"""

import json
import sys
import tempfile
import time
from pathlib import Path

from flask_migrate import upgrade
from sqlalchemy import create_engine, text

from inclusive_day import create_app
from inclusive_day.config import TestConfig
from inclusive_day.demo.kunming import campaign_figures, load_kunming
from inclusive_day.extensions import db

GOAL_SECONDS = 15.0


def main() -> None:
    """Migrate an empty database, load the demo, and report the time and the figures."""
    url = sys.argv[1] if len(sys.argv) > 1 else None
    with tempfile.TemporaryDirectory() as tmp:
        if url is None:
            url = f"sqlite:///{Path(tmp) / 'bench.sqlite'}"
        elif url.startswith("postgresql"):
            engine = create_engine(url)
            with engine.begin() as conn:
                conn.execute(text("DROP SCHEMA public CASCADE"))
                conn.execute(text("CREATE SCHEMA public"))
            engine.dispose()
        config = TestConfig(url)
        config.PASSWORD_HASH_METHOD = "scrypt"  # the production hash, as make run uses
        app = create_app(config)
        with app.app_context():
            upgrade()
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
                "database": url.split(":", 1)[0],
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
