"""Column types and helpers shared by every domain's models."""

import time
from datetime import UTC, datetime
from decimal import Decimal

from sqlalchemy import DateTime, Numeric, Select, String, event, func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.types import TypeDecorator


def utcnow() -> datetime:
    """Return the current time as an aware UTC datetime (the only form stored)."""
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator):
    """A timezone-aware datetime stored in UTC; SQLite, which keeps no zone, reads back UTC too."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column; attach a time zone first")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def set_local(name: str, value: str) -> Select:
    """SET LOCAL as a SELECT (set_config(name, value, true)), so that a report's setting goes
    to the connection its reads go to: the reporting replica's, when they are read there."""
    return select(func.set_config(name, value, True))


# INSERT ... ON CONFLICT (DO NOTHING / DO UPDATE ... WHERE) for each database the app runs on:
# the one form every idempotent insert and guarded counter takes.
INSERT_OR_NOTHING = {"postgresql": pg_insert, "sqlite": sqlite_insert}

# Money is yuan with two decimals, never float.
Money = Numeric(12, 2, asdecimal=True)
ZERO_YUAN = Decimal("0.00")

# The materialised tree path is compared byte by byte so that a prefix range uses the index.
TreePath = String(200).with_variant(String(200, collation="C"), "postgresql")


def ping_when_idle(engine: Engine, idle_seconds: float) -> None:
    """Check that the server still answers before handing out a pooled connection that has
    lain unused longer than `idle_seconds`; a dead one is replaced (DisconnectionError makes
    the pool connect anew), so a restarted database costs no request an error. A connection in
    steady use goes out unchecked: a ping at every checkout (pool_pre_ping) was one of the
    round trips of every scan."""

    @event.listens_for(engine, "checkin")
    def _idle_from(_dbapi_connection, record) -> None:
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _ping_if_idle(dbapi_connection, record, _proxy) -> None:
        since = record.info.get("idle_since")
        if since is None or time.monotonic() - since < idle_seconds:
            return
        try:
            engine.dialect.do_ping(dbapi_connection)
        except Exception as error:
            raise DisconnectionError("the pooled connection no longer answers") from error


def configure_sqlite(engine: Engine, busy_timeout_ms: int) -> None:
    """Turn on foreign keys, WAL and a busy timeout on every SQLite connection of this engine."""
    if engine.dialect.name != "sqlite":
        return

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
        if engine.url.database not in (None, "", ":memory:"):
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()
