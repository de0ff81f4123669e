"""Flask-Limiter's counters in the application's own database: RATELIMIT_STORAGE_URI
"database://", the default when neither RATELIMIT_STORAGE_URI nor REDIS_URL names another.

Every worker process, and every app server on one PostgreSQL, counts in one table, so that 5
sign-in attempts are 5 whatever the number of workers (per process, in memory, they were 5
per worker). Fixed windows, as Flask-Limiter counts by default: a counter and the end of its
window, moved by one atomic INSERT ... ON CONFLICT DO UPDATE that starts a new window when
the old one has ended. Each increment is its own short transaction on a connection of its
own, so a request that is refused or rolled back still counts, and the request's work is
never committed by it. Redis (redis://...) does the same faster; set it when there is one.

With Redis, RedisCountsStorage below serves redis://, rediss:// and redis+unix:// in place of
limits' own: its increment answers the count and when the window ends in one round trip,
remembered for the request like the database's, so that the rate-limit headers cost no more.
"""

from __future__ import annotations

import hashlib
import time
from datetime import UTC, datetime, timedelta
from functools import cache

from flask import g, has_app_context
from limits.storage import RedisStorage, Storage
from sqlalchemy import bindparam, case, delete, select, text
from sqlalchemy.exc import SQLAlchemyError

from inclusive_day.database import INSERT_OR_NOTHING, UTCDateTime, utcnow
from inclusive_day.extensions import db
from inclusive_day.ratelimit.models import RateCounter

# Keys longer than this (a limit's key carries what the client typed, such as a user name)
# are stored as their SHA-256.
KEY_MAX = 200
# Ended windows are swept out of the table once per this many increments of a process.
SWEEP_EVERY = 1000
# Where a request keeps the counts it has read or moved, so that the rate-limit headers
# Flask-Limiter adds after the view cost no second query.
SEEN = "_rate_counts"


# limits' fixed-window increment (INCRBY, and EXPIRE when it starts a window), answering the
# milliseconds left in the window too.
INCR_EXPIRE_PTTL = """
local amount = tonumber(ARGV[2])
local current = redis.call("incrby", KEYS[1], amount)
if tonumber(current) == amount then
    redis.call("expire", KEYS[1], ARGV[1])
end
return {current, redis.call("pttl", KEYS[1])}
"""


def stored_key(key: str) -> str:
    """The key as stored: itself, or its SHA-256 when it is long."""
    if len(key) <= KEY_MAX:
        return key
    return "sha256:" + hashlib.sha256(key.encode()).hexdigest()


@cache
def _increment(dialect: str):
    """INSERT a counter, or add to it; a window that has ended starts again from the amount."""
    table = RateCounter.__table__
    stmt = INSERT_OR_NOTHING[dialect](table).values(
        key=bindparam("key"),
        count=bindparam("amount"),
        expires_at=bindparam("expires_at", type_=UTCDateTime),
    )
    ended = table.c.expires_at <= bindparam("now", type_=UTCDateTime)
    stmt = stmt.on_conflict_do_update(
        index_elements=[table.c.key],
        set_={
            "count": case((ended, stmt.excluded.count), else_=table.c.count + stmt.excluded.count),
            "expires_at": case((ended, stmt.excluded.expires_at), else_=table.c.expires_at),
        },
    )
    return stmt.returning(table.c.count, table.c.expires_at)


def _seen() -> dict:
    """This request's counts by key (an empty dict outside an app context)."""
    if not has_app_context():
        return {}
    if SEEN not in g:
        setattr(g, SEEN, {})
    return getattr(g, SEEN)


class DatabaseStorage(Storage):
    """A limits storage (fixed windows) on the app's database, through its SQLAlchemy engine."""

    STORAGE_SCHEME = ["database"]

    def __init__(self, uri: str | None = None, wrap_exceptions: bool = False, **options) -> None:
        super().__init__(uri, wrap_exceptions=wrap_exceptions, **options)
        self.increments = 0

    @property
    def base_exceptions(self) -> type[Exception]:
        """What a database failure raises (Flask-Limiter then falls back to memory)."""
        return SQLAlchemyError

    def incr(self, key: str, expiry: int, amount: int = 1) -> int:
        """Add `amount` to the key's count in its window (a new one of `expiry` seconds once
        the last has ended); the new count."""
        now = utcnow()
        params = {
            "key": stored_key(key),
            "amount": amount,
            "expires_at": now + timedelta(seconds=expiry),
            "now": now,
        }
        engine = db.engine
        with engine.begin() as connection:
            if engine.dialect.name == "postgresql":
                # A counter is worth no wait for the disk: a crash loses at most the last
                # moment's counts, and the request goes on without an fsync of its own.
                connection.execute(text("SET LOCAL synchronous_commit = off"))
            count, expires_at = connection.execute(_increment(engine.dialect.name), params).one()
        _seen()[key] = (count, expires_at)
        self.increments += 1
        if self.increments % SWEEP_EVERY == 0:
            self.sweep(now)
        return count

    def _read(self, key: str) -> tuple[int, datetime | None]:
        """The key's count and window end: from this request when it has seen them."""
        seen = _seen()
        if key in seen:
            return seen[key]
        with db.engine.connect() as connection:
            row = connection.execute(
                select(RateCounter.count, RateCounter.expires_at).where(
                    RateCounter.key == stored_key(key)
                )
            ).one_or_none()
        found = (row.count, row.expires_at) if row is not None else (0, None)
        seen[key] = found
        return found

    def get(self, key: str) -> int:
        """The key's count in its current window (0 once the window has ended)."""
        count, expires_at = self._read(key)
        if expires_at is None or expires_at <= datetime.now(UTC):
            return 0
        return count

    def get_expiry(self, key: str) -> float:
        """When the key's window ends, in seconds since the epoch (now when it has none)."""
        _count, expires_at = self._read(key)
        return expires_at.timestamp() if expires_at is not None else time.time()

    def check(self) -> bool:
        """Whether the database answers."""
        try:
            with db.engine.connect() as connection:
                connection.execute(select(1))
        except SQLAlchemyError:
            return False
        return True

    def reset(self) -> int | None:
        """Forget every count."""
        _seen().clear()
        with db.engine.begin() as connection:
            return connection.execute(delete(RateCounter)).rowcount

    def clear(self, key: str) -> None:
        """Forget one key's count."""
        _seen().pop(key, None)
        with db.engine.begin() as connection:
            connection.execute(delete(RateCounter).where(RateCounter.key == stored_key(key)))

    def sweep(self, now: datetime | None = None) -> int:
        """Delete the counters whose windows have ended; how many there were."""
        with db.engine.begin() as connection:
            return connection.execute(
                delete(RateCounter).where(RateCounter.expires_at <= (now or utcnow()))
            ).rowcount


class RedisCountsStorage(RedisStorage):
    """limits' Redis storage, whose increment also reads when the window ends and remembers
    both for the request (as DatabaseStorage does): the count and the rate-limit headers of a
    request are one round trip to Redis, not three."""

    STORAGE_SCHEME = ["redis", "rediss", "redis+unix"]

    def initialize_storage(self, uri: str) -> None:
        """limits' scripts, and the increment that answers the window's end."""
        super().initialize_storage(uri)
        self.lua_incr_expire_pttl = self.get_connection().register_script(INCR_EXPIRE_PTTL)

    def incr(self, key: str, expiry: int, amount: int = 1) -> int:
        """Add `amount` to the key's count in its window (a new one of `expiry` seconds once
        the last has ended); the new count."""
        count, left_ms = self.lua_incr_expire_pttl([self.prefixed_key(key)], [expiry, amount])
        ends = datetime.fromtimestamp(time.time() + max(int(left_ms), 0) / 1000, UTC)
        _seen()[key] = (int(count), ends)
        return int(count)

    def get(self, key: str) -> int:
        """The key's count in its current window: from this request when it has moved it."""
        seen = _seen().get(key)
        if seen is None:
            return super().get(key)
        count, ends = seen
        return count if ends > datetime.now(UTC) else 0

    def get_expiry(self, key: str) -> float:
        """When the key's window ends, in seconds since the epoch."""
        seen = _seen().get(key)
        return seen[1].timestamp() if seen is not None else super().get_expiry(key)

    def clear(self, key: str) -> None:
        """Forget one key's count."""
        _seen().pop(key, None)
        super().clear(key)

    def reset(self) -> int | None:
        """Forget every count."""
        _seen().clear()
        return super().reset()
