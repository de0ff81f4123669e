"""Limits that hold: the sign-in and check-in limits count in one shared storage (the app's
database unless Redis is configured) whatever the number of app processes, per client address
as the TRUSTED_PROXIES reverse proxies saw it, and never per proxy."""

import os
import subprocess
import sys
import textwrap
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from limits.storage import storage_from_string
from redis.exceptions import RedisError
from sqlalchemy import func, select, update

from inclusive_day import create_app
from inclusive_day.attendance.identity import address_key
from inclusive_day.attendance.models import CheckInRefusal, LimitKind
from inclusive_day.config import TestConfig
from inclusive_day.database import utcnow
from inclusive_day.extensions import limiter
from inclusive_day.ratelimit.models import RateCounter
from inclusive_day.ratelimit.storage import DatabaseStorage, RedisCountsStorage
from tests.conftest import PASSWORD, FreshContextClient

ROOT = Path(__file__).resolve().parent.parent
NOW = datetime.now(UTC)


@pytest.fixture
def user(make_user):
    return make_user(username="guandu")


@pytest.fixture
def live(make_activity):
    return make_activity(starts_at=NOW - timedelta(hours=1), ends_at=NOW + timedelta(hours=1))


@pytest.fixture
def other_app(database_url):
    """A second app on the same database, as a second worker process has: made on demand,
    with TRUSTED_PROXIES as asked, its connections closed afterwards."""
    made = []

    def make(trusted_proxies: int = 0):
        config = TestConfig(database_url)
        config.TRUSTED_PROXIES = trusted_proxies
        other = create_app(config)
        other.test_client_class = FreshContextClient
        made.append(other)
        return other

    yield make
    for other in made:
        with other.app_context():
            other.extensions["sqlalchemy"].engines[None].dispose()


def wrong_password(client, username="guandu", **headers):
    return client.post(
        "/auth/login", data={"username": username, "password": "not the password"}, headers=headers
    )


def right_password(client, username="guandu", **headers):
    return client.post(
        "/auth/login", data={"username": username, "password": PASSWORD}, headers=headers
    )


def checkin(client, activity, n: int, **headers):
    body = {
        "token": activity.checkin_token,
        "phone": f"139{n:08d}",
        "group": "rider",
        "nonce": f"limits-{n:06d}",
    }
    return client.post("/api/v1/checkins", json=body, headers=headers)


# ---- one count for every process --------------------------------------------------------------


def test_the_limits_count_in_the_database_by_default(app):
    assert app.config["RATELIMIT_STORAGE_URI"] == "database://"
    assert isinstance(limiter.storage, DatabaseStorage)


def test_two_apps_on_one_database_share_an_account_s_failed_sign_ins(app, db, user, other_app):
    first = app.test_client()
    for _ in range(3):
        assert wrong_password(first).status_code == 200
    # A second app made now, as another worker: counted in memory it would start from 0.
    second = other_app().test_client()
    for _ in range(2):
        assert wrong_password(second).status_code == 200
    assert right_password(second).status_code == 429
    assert right_password(first).status_code == 429
    counted = db.session.scalar(
        select(RateCounter.count).where(RateCounter.key.contains("login-account:guandu"))
    )
    assert counted == 5


def test_another_process_s_failed_sign_ins_count_here(app, database_url, user):
    """Five wrong passwords through an app in a separate Python process lock the account
    for this one."""
    script = textwrap.dedent(
        f"""
        from inclusive_day import create_app
        from inclusive_day.config import TestConfig

        app = create_app(TestConfig({database_url!r}))
        client = app.test_client()
        for _ in range(5):
            answer = client.post(
                "/auth/login", data={{"username": "guandu", "password": "not the password"}}
            )
            assert answer.status_code == 200, answer.status_code
        """
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("REDIS_URL", None)
    env.pop("RATELIMIT_STORAGE_URI", None)
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    assert right_password(app.test_client()).status_code == 429


def test_two_apps_share_an_address_s_check_ins(app, db, live, other_app):
    app.config["CHECKIN_RATE_LIMIT"] = "2 per minute"
    first = app.test_client()
    assert checkin(first, live, 1).status_code == 201
    second_app = other_app()  # made after the first check-in, as a worker started meanwhile
    second_app.config["CHECKIN_RATE_LIMIT"] = "2 per minute"
    second = second_app.test_client()
    assert checkin(second, live, 2).status_code == 201
    assert checkin(first, live, 3).status_code == 429
    assert checkin(second, live, 4).status_code == 429
    refused = db.session.scalar(select(func.sum(CheckInRefusal.count)))
    assert refused == 2


# ---- the client's address, behind reverse proxies ----------------------------------------------


def test_behind_one_trusted_proxy_x_forwarded_for_names_the_client(db, live, other_app):
    proxied = other_app(trusted_proxies=1)
    proxied.config["CHECKIN_RATE_LIMIT"] = "1 per minute"
    client = proxied.test_client()
    assert checkin(client, live, 1, **{"X-Forwarded-For": "203.0.113.7"}).status_code == 201
    assert checkin(client, live, 2, **{"X-Forwarded-For": "203.0.113.8"}).status_code == 201
    # An address the client put in the header itself lies left of the proxy's: ignored.
    forged = {"X-Forwarded-For": "198.51.100.1, 203.0.113.7"}
    assert checkin(client, live, 3, **forged).status_code == 429
    [refused] = db.session.scalars(select(CheckInRefusal)).all()
    assert refused.address_hash == address_key("203.0.113.7")
    assert (refused.kind, refused.count) == (LimitKind.ADDRESS, 1)


def test_trusting_no_proxy_ignores_x_forwarded_for(db, live, other_app):
    direct = other_app(trusted_proxies=0)
    direct.config["CHECKIN_RATE_LIMIT"] = "1 per minute"
    client = direct.test_client()
    assert checkin(client, live, 1, **{"X-Forwarded-For": "203.0.113.7"}).status_code == 201
    assert checkin(client, live, 2, **{"X-Forwarded-For": "203.0.113.8"}).status_code == 429
    [refused] = db.session.scalars(select(CheckInRefusal)).all()
    assert refused.address_hash == address_key("127.0.0.1")


def test_behind_a_proxy_one_address_s_failures_lock_out_only_that_address(
    db, user, make_user, other_app
):
    proxied = other_app(trusted_proxies=1)
    proxied.config["LOGIN_LIMIT_ADDRESS"] = "2 per 15 minutes"
    client = proxied.test_client()
    attacker = {"X-Forwarded-For": "203.0.113.66"}
    assert wrong_password(client, "nobody", **attacker).status_code == 200
    assert wrong_password(client, "nobody2", **attacker).status_code == 200
    assert right_password(client, **attacker).status_code == 429
    # Everyone else comes through the same proxy, and still signs in.
    assert right_password(client, **{"X-Forwarded-For": "198.51.100.20"}).status_code == 302


def test_a_negative_number_of_proxies_stops_start_up(database_url):
    config = TestConfig(database_url)
    config.TRUSTED_PROXIES = -1
    with pytest.raises(RuntimeError, match="TRUSTED_PROXIES"):
        create_app(config)


# ---- the database storage ----------------------------------------------------------------------


def _in_new_request(app, do):
    """Run `do` in a context of its own (a request's counts are remembered for that request)."""
    with app.app_context():
        return do()


def test_the_storage_counts_in_fixed_windows(app, db):
    storage = DatabaseStorage()
    assert _in_new_request(app, lambda: storage.incr("k", 60)) == 1
    assert _in_new_request(app, lambda: storage.incr("k", 60, amount=2)) == 3
    assert _in_new_request(app, lambda: storage.get("k")) == 3
    expiry = _in_new_request(app, lambda: storage.get_expiry("k"))
    assert 0 < expiry - utcnow().timestamp() <= 60
    # The window ends: the count reads 0, and the next hit starts a new window at 1.
    db.session.execute(update(RateCounter).values(expires_at=utcnow() - timedelta(seconds=1)))
    db.session.commit()
    assert _in_new_request(app, lambda: storage.get("k")) == 0
    assert _in_new_request(app, lambda: storage.incr("k", 60)) == 1
    assert _in_new_request(app, lambda: storage.get("unknown")) == 0


def test_the_storage_hashes_long_keys_and_sweeps_ended_windows(app, db):
    storage = DatabaseStorage()
    long_key = "login-account:" + "名" * 300
    _in_new_request(app, lambda: storage.incr(long_key, 60))
    _in_new_request(app, lambda: storage.incr("short", 60))
    keys = set(db.session.scalars(select(RateCounter.key)))
    assert "short" in keys and any(k.startswith("sha256:") for k in keys)
    assert _in_new_request(app, lambda: storage.get(long_key)) == 1
    db.session.execute(
        update(RateCounter)
        .where(RateCounter.key == "short")
        .values(expires_at=utcnow() - timedelta(seconds=1))
    )
    db.session.commit()
    assert _in_new_request(app, storage.sweep) == 1
    _in_new_request(app, lambda: storage.clear(long_key))
    assert db.session.scalar(select(func.count()).select_from(RateCounter)) == 0
    _in_new_request(app, lambda: storage.incr("again", 60))
    assert _in_new_request(app, storage.reset) == 1
    assert _in_new_request(app, storage.check)


REDIS_URL = "redis://127.0.0.1:6379/6"


@pytest.fixture
def redis_storage():
    """RATELIMIT_STORAGE_URI redis:// on Redis db 6 (emptied before and after); skipped
    without Redis."""
    try:
        storage = storage_from_string(REDIS_URL)
        storage.get_connection().ping()
    except RedisError:
        pytest.skip("Redis is not running at 127.0.0.1:6379")
    storage.get_connection().flushdb()
    yield storage
    storage.get_connection().flushdb()


def test_redis_counts_and_the_window_come_back_in_one_round_trip(app, redis_storage):
    assert isinstance(redis_storage, RedisCountsStorage)
    calls = []
    connection = redis_storage.get_connection()
    connection.set_response_callback("GET", lambda r, **_: calls.append("GET") or r)
    connection.set_response_callback("TTL", lambda r, **_: calls.append("TTL") or r)

    def hit_and_read():
        count = redis_storage.incr("k", 60, amount=2)
        return count, redis_storage.get("k"), redis_storage.get_expiry("k")

    count, seen, ends = _in_new_request(app, hit_and_read)
    assert count == seen == 2 and 0 < ends - utcnow().timestamp() <= 60
    assert calls == []  # the headers' figures came with the increment
    # Another request reads Redis itself; the count goes on in the same window.
    assert _in_new_request(app, lambda: redis_storage.get("k")) == 2
    assert calls == ["GET"]
    assert _in_new_request(app, lambda: redis_storage.incr("k", 60)) == 3
    _in_new_request(app, lambda: redis_storage.clear("k"))
    assert _in_new_request(app, lambda: redis_storage.get("k")) == 0
