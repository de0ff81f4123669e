"""The reporting replica (REPORTS_DATABASE_URL): which statements go where, the refusals at
start-up, and, against a real streaming replica (TEST_REPLICA_URL, made by
scripts/replica.sh), report pages whose figures are the replica's."""

from __future__ import annotations

import os
import time
import uuid
from datetime import UTC, datetime

import pytest
from sqlalchemy import create_engine, func, insert, make_url, select, text, update

from inclusive_day import create_app
from inclusive_day.api.models import ApiToken, TokenScope
from inclusive_day.api.tokens import issue_token
from inclusive_day.auth.models import Role, RoleGrant, User
from inclusive_day.config import ProductionConfig, TestConfig
from inclusive_day.extensions import db as _db
from inclusive_day.feeds.models import FeedToken
from inclusive_day.periods import Month
from inclusive_day.replica import (
    REPLICA_BIND,
    REPLICA_VIEWS,
    ReplicaRefused,
    ServerIdentity,
    mark_request,
    read_from_replica,
    reads_from_replica,
    refusal,
    replayed_behind,
    replica_lag,
)
from inclusive_day.units.models import Level, Unit
from inclusive_day.units.services import create_unit
from tests.conftest import PASSWORD, FreshContextClient

# --- Without a replica --------------------------------------------------------------------------


def test_a_sqlite_primary_with_a_replica_url_refuses_to_start(tmp_path):
    config = TestConfig(f"sqlite:///{tmp_path / 'primary.sqlite'}")
    config.REPORTS_DATABASE_URL = "postgresql://postgres@127.0.0.1:5433/test"
    with pytest.raises(ReplicaRefused, match="DATABASE_URL is not PostgreSQL"):
        create_app(config)


def test_the_replica_url_is_read_from_the_environment(monkeypatch):
    monkeypatch.setenv("SECRET_KEY", "x" * 40)
    monkeypatch.setenv("DATABASE_URL", "postgres://writer@primary:5432/yizhan")
    monkeypatch.setenv("REPORTS_DATABASE_URL", "postgres://reader@replica:5432/yizhan")
    assert (
        ProductionConfig().REPORTS_DATABASE_URL == "postgresql+psycopg://reader@replica:5432/yizhan"
    )
    monkeypatch.delenv("REPORTS_DATABASE_URL")
    assert ProductionConfig().REPORTS_DATABASE_URL is None


def test_the_lag_command_says_when_there_is_no_replica(runner):
    result = runner.invoke(args=["report", "lag"])
    assert result.exit_code == 1
    assert "REPORTS_DATABASE_URL is not set" in result.output


PRIMARY = ServerIdentity(7001, False, "yizhan")


@pytest.mark.parametrize(
    ("replica", "reason"),
    [
        (ServerIdentity(7001, False, "yizhan"), "the primary itself"),
        (ServerIdentity(7002, False, "yizhan"), "not a replica"),
        (ServerIdentity(7002, True, "yizhan"), "a replica of another primary"),
        (ServerIdentity(7001, True, "postgres"), "names database 'postgres'"),
    ],
)
def test_a_server_that_is_no_replica_of_the_primary_is_refused(replica, reason):
    assert reason in refusal(PRIMARY, replica)


def test_a_streaming_replica_of_the_primary_is_accepted():
    assert refusal(PRIMARY, ServerIdentity(7001, True, "yizhan")) is None


def test_a_primary_in_recovery_is_refused():
    primary = ServerIdentity(7001, True, "yizhan")
    assert "in recovery" in refusal(primary, ServerIdentity(7001, True, "yizhan"))


def test_each_replica_view_is_a_get_view_of_the_app(app):
    """A renamed view would silently read from the primary again: each name must match."""
    gets = {r.endpoint for r in app.url_map.iter_rules() if "GET" in r.methods}
    for name in REPLICA_VIEWS:
        if name.endswith("."):
            assert any(e.startswith(name) for e in gets), name
        else:
            assert name in gets, name


@pytest.mark.parametrize(
    ("method", "path", "replica"),
    [
        ("GET", "/reports/league", True),
        ("GET", "/reports/notices", True),
        ("GET", "/api/v1/reports/summary", True),
        ("GET", "/calendar/campaigns/1.ics", True),
        ("GET", "/directory/stations.geojson", True),
        ("POST", "/reports/traffic/issue", False),  # issues notices: writes
        ("GET", "/calendar/units/1/subscribe", False),  # the user's own tokens, as just made
        ("GET", "/units/", False),
        ("GET", "/stations/1", False),
    ],
)
def test_requests_of_report_notice_and_feed_views_are_marked(app, method, path, replica):
    with app.test_request_context(path, method=method):
        mark_request()
        assert reads_from_replica() is replica


@pytest.fixture
def fake_replica(app):
    """A stand-in replica engine in the app's engines (routing alone, no server behind it)."""
    engine = create_engine("sqlite://")
    _db.engines[REPLICA_BIND] = engine
    yield engine
    del _db.engines[REPLICA_BIND]
    engine.dispose()


def test_plain_reads_of_a_marked_context_go_to_the_replica(app, fake_replica):
    primary = _db.engines[None]
    session = _db.session
    assert session.get_bind(clause=select(Unit)) is primary  # not marked
    read_from_replica()
    assert session.get_bind(clause=select(Unit)) is fake_replica
    assert session.get_bind(Unit, clause=select(Unit.id).union(select(Unit.id))) is fake_replica
    assert session.get_bind(clause=select(Unit).with_for_update()) is primary


def test_a_transaction_that_wrote_reads_the_primary_until_it_ends(app, fake_replica):
    primary = _db.engines[None]
    session = _db.session
    read_from_replica()
    assert session.get_bind(clause=select(Unit)) is fake_replica
    assert session.get_bind(clause=insert(Unit)) is primary
    session.execute(update(Unit).where(Unit.id == -1).values(name="none"))
    assert session.get_bind(clause=select(Unit)) is primary  # sees what it wrote
    session.rollback()
    assert session.get_bind(clause=select(Unit)) is fake_replica


def test_a_flush_in_a_marked_context_writes_to_the_primary(app, fake_replica):
    read_from_replica()
    create_unit("Flushed on the primary", Level.PROVINCE)
    _db.session.flush()
    assert _db.session.get_bind(clause=select(Unit)) is _db.engines[None]
    assert _db.session.scalar(select(func.count(Unit.id))) == 1
    _db.session.commit()
    assert _db.session.get_bind(clause=select(Unit)) is fake_replica


@pytest.mark.parametrize(
    "statement",
    [
        select(User),
        select(Unit).join(RoleGrant, RoleGrant.unit_id == Unit.id),
        select(Unit).where(Unit.id.in_(select(ApiToken.user_id))),
        select(FeedToken.id).union(select(Unit.id)),
    ],
    ids=["users", "grants joined", "api tokens in a subquery", "feed tokens in a union"],
)
def test_who_may_do_what_is_read_on_the_primary(app, fake_replica, statement):
    """A disabled account, a revoked token or a withdrawn role stops at once."""
    read_from_replica()
    assert _db.session.get_bind(clause=statement) is _db.engines[None]


# --- Against a real streaming replica ------------------------------------------------------------

REPLICA_SERVER = os.environ.get("TEST_REPLICA_URL")
needs_replica = pytest.mark.skipif(
    not (REPLICA_SERVER and os.environ.get("TEST_DATABASE_URL")),
    reason="no streaming replica: run scripts/replica.sh and set TEST_REPLICA_URL (with "
    "TEST_DATABASE_URL, its primary), as .ci/run does",
)
REPLAY_WAIT_SECONDS = 60


@pytest.fixture
def replica_url(database_url) -> str:
    """The replica's URL of this worker's test database: the primary's, on the replica's
    server (a physical replica holds every database of its primary)."""
    server = make_url(REPLICA_SERVER.replace("postgresql://", "postgresql+psycopg://", 1))
    primary = make_url(database_url)
    url = primary.set(host=server.host, port=server.port)
    return url.render_as_string(hide_password=False)


@pytest.fixture
def engines(database_url, replica_url):
    """Direct connections to the primary and to the replica, outside the app."""
    primary = create_engine(database_url, isolation_level="AUTOCOMMIT")
    replica = create_engine(replica_url, isolation_level="AUTOCOMMIT")
    yield primary, replica
    primary.dispose()
    replica.dispose()


def wait_for_replay(engines) -> None:
    """Until the replica has replayed all the primary has written so far."""
    primary, replica = engines
    with primary.connect() as p:
        written = p.execute(text("SELECT pg_current_wal_lsn()")).scalar_one()
    deadline = time.monotonic() + REPLAY_WAIT_SECONDS
    while True:
        # The worker's database may be new: until it is replayed the replica knows none.
        try:
            with replica.connect() as r:
                if replayed_behind(r, written) <= 0:
                    return
        except Exception:  # noqa: BLE001  (database not there yet)
            pass
        if time.monotonic() > deadline:
            raise AssertionError(f"the replica did not replay {written} in time")
        time.sleep(0.05)


@pytest.fixture
def replica_app(app, database_url, replica_url, engines):
    """The app with REPORTS_DATABASE_URL naming the streaming replica of its database."""
    wait_for_replay(engines)
    config = TestConfig(database_url)
    config.REPORTS_DATABASE_URL = replica_url
    replica_app = create_app(config)
    replica_app.test_client_class = FreshContextClient
    yield replica_app
    with replica_app.app_context():
        for engine in _db.engines.values():
            engine.dispose()


class PausedReplay:
    """Holds the replica's replay while the primary goes on: the replica keeps its figures."""

    def __init__(self, engines) -> None:
        self.replica = engines[1]

    def __enter__(self):
        with self.replica.connect() as r:
            r.execute(text("SELECT pg_wal_replay_pause()"))
            # A pause is first only requested: replay stops at its next record.
            deadline = time.monotonic() + REPLAY_WAIT_SECONDS
            while r.execute(text("SELECT pg_get_wal_replay_pause_state()")).scalar() != "paused":
                if time.monotonic() > deadline:
                    raise AssertionError("the replica's replay did not pause in time")
                time.sleep(0.05)
        return self

    def __exit__(self, *exc) -> None:
        with self.replica.connect() as r:
            r.execute(text("SELECT pg_wal_replay_resume()"))


@needs_replica
def test_a_report_page_shows_the_replicas_figures_and_says_as_of_when(
    replica_app, engines, db, make_unit, make_user
):
    province = make_unit("Yunnan")
    make_unit("Kunming", province)
    user = make_user(Role.ORGANISER, province)
    wait_for_replay(engines)
    client = replica_app.test_client()
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    response = client.post("/auth/login", data={"username": user.username, "password": PASSWORD})
    assert response.status_code == 302
    month = str(Month.containing(datetime.now(UTC)).shift(-1))
    page = f"/reports/league?unit={province.id}&month={month}"
    wait_for_replay(engines)

    with PausedReplay(engines):
        newcomer = f"Newcomer {uuid.uuid4().hex[:8]}"
        make_unit(newcomer, province)  # written on the primary, not yet replayed
        body = client.get(page).get_data(as_text=True)
        assert "Kunming" in body
        assert newcomer not in body  # the replica's figures, not the primary's
        assert "read from the reporting replica" in body
        assert "figures-as-of" in body

    wait_for_replay(engines)
    assert newcomer in client.get(page).get_data(as_text=True)


@needs_replica
def test_after_a_write_a_browser_reads_its_reports_from_the_primary_until_replayed(
    replica_app, engines, db, make_unit, make_user
):
    province = make_unit("Yunnan")
    user = make_user(Role.ORGANISER, province)
    client = replica_app.test_client()
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    wait_for_replay(engines)
    response = client.post("/auth/login", data={"username": user.username, "password": PASSWORD})
    assert response.status_code == 302
    wait_for_replay(engines)
    month = str(Month.containing(datetime.now(UTC)).shift(-1))
    page = f"/reports/league?unit={province.id}&month={month}"
    assert "read from the reporting replica" in client.get(page).get_data(as_text=True)

    with PausedReplay(engines):
        newcomer = f"Newcomer {uuid.uuid4().hex[:8]}"
        make_unit(newcomer, province)
        # This browser writes (a feed token): its next report waits for no replica.
        assert client.post(f"/calendar/unit/{province.id}/subscribe").status_code == 200
        body = client.get(page).get_data(as_text=True)
        assert newcomer in body
        assert "read from the reporting replica" not in body

    wait_for_replay(engines)
    body = client.get(page).get_data(as_text=True)
    assert newcomer in body
    assert "read from the reporting replica" in body


@needs_replica
def test_writes_of_a_replica_marked_context_go_to_the_primary(replica_app, engines):
    with replica_app.app_context(), PausedReplay(engines):
        read_from_replica()
        before = _db.session.scalar(select(func.count(Unit.id)))  # from the replica
        create_unit("Written", Level.PROVINCE)
        _db.session.flush()  # a replica would refuse: it is read-only
        assert _db.session.scalar(select(func.count(Unit.id))) == before + 1  # its own write
        _db.session.commit()
        assert _db.session.scalar(select(func.count(Unit.id))) == before  # replay paused


@needs_replica
def test_an_api_token_made_a_moment_ago_opens_the_replicas_report_figures_at_once(
    replica_app, engines, db, make_unit, make_campaign, make_user
):
    province = make_unit("Yunnan")
    campaign = make_campaign(province)
    wait_for_replay(engines)
    client = replica_app.test_client()
    with PausedReplay(engines):
        user = make_user(Role.ORGANISER, province)  # not yet on the replica
        _token, raw = issue_token(user, "reports", TokenScope.READ)
        db.session.commit()
        answer = client.get(
            f"/api/v1/reports/summary?campaign={campaign.id}",
            headers={"Authorization": f"Bearer {raw}"},
        )
        assert answer.status_code == 200, answer.get_data(as_text=True)
        # ... while its figures are the replica's: a campaign made now is not there yet.
        newer = make_campaign(province)
        answer = client.get(
            f"/api/v1/reports/summary?campaign={newer.id}",
            headers={"Authorization": f"Bearer {raw}"},
        )
        assert answer.status_code == 404


@needs_replica
def test_the_lag_is_measured_on_the_replica(replica_app, engines):
    primary, replica = engines
    wait_for_replay(engines)
    with replica.connect() as r, primary.connect() as p:
        lag = replica_lag(r, p)
    assert lag.as_of is not None
    assert lag.bytes_behind is not None and lag.bytes_behind >= 0
    with PausedReplay(engines):
        with primary.connect() as p:
            p.execute(text("CREATE TEMPORARY TABLE lag_probe (n int)"))  # some WAL
        with replica.connect() as r, primary.connect() as p:
            assert replica_lag(r, p).bytes_behind > 0


@needs_replica
def test_the_lag_command_says_how_far_behind_the_replica_is(replica_app, engines):
    wait_for_replay(engines)
    with replica_app.app_context():
        result = replica_app.test_cli_runner().invoke(args=["report", "lag"])
    assert result.exit_code == 0, result.output
    assert "Figures as of" in result.output
    assert "bytes of WAL behind the primary" in result.output


@needs_replica
def test_a_replica_url_naming_the_primary_itself_refuses_to_start(app, database_url):
    config = TestConfig(database_url)
    config.REPORTS_DATABASE_URL = database_url
    with pytest.raises(ReplicaRefused, match="the primary itself"):
        create_app(config)


@needs_replica
def test_a_replica_url_naming_another_database_refuses_to_start(app, database_url, replica_url):
    config = TestConfig(database_url)
    config.REPORTS_DATABASE_URL = (
        make_url(replica_url).set(database="postgres").render_as_string(hide_password=False)
    )
    with pytest.raises(ReplicaRefused, match="names database 'postgres'"):
        create_app(config)


@needs_replica
def test_a_replica_url_naming_no_server_refuses_to_start(app, database_url, replica_url):
    config = TestConfig(database_url)
    config.REPORTS_DATABASE_URL = (
        make_url(replica_url).set(port=1).render_as_string(hide_password=False)
    )
    with pytest.raises(ReplicaRefused, match="could not be read"):
        create_app(config)
