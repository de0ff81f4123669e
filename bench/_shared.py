"""What every bench needs: its own empty database, built by the migrations, and percentiles.

Each bench takes `--database-url URL` (or BENCH_DATABASE_URL); without one it uses a
temporary SQLite file. A PostgreSQL database named in the URL is created when missing and
its public schema is dropped and rebuilt, so give a bench a database of its own.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from flask_migrate import upgrade
from sqlalchemy import create_engine, make_url, text

from inclusive_day import create_app
from inclusive_day.config import TestConfig


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
