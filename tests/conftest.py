"""Fixtures: an app on a migrated database (SQLite, or PostgreSQL via TEST_DATABASE_URL),
a clean database for every test, and factories for the domain's objects."""

from __future__ import annotations

import copy
import itertools
import os
import threading
import uuid
from contextlib import contextmanager
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from flask.testing import FlaskClient
from flask_migrate import upgrade
from sqlalchemy import create_engine, event, insert, make_url, select, text

from inclusive_day import create_app
from inclusive_day.activities.services import schedule_activity
from inclusive_day.attendance.identity import identity_for
from inclusive_day.attendance.models import BeneficiaryGroup, StationVisit
from inclusive_day.auth.models import Role
from inclusive_day.auth.services import create_user, grant
from inclusive_day.campaigns.models import Theme
from inclusive_day.campaigns.services import create_campaign
from inclusive_day.config import TestConfig
from inclusive_day.extensions import api, limiter
from inclusive_day.extensions import db as _db
from inclusive_day.refusals import Refused
from inclusive_day.shelf.models import Shelf, ShelfItem
from inclusive_day.sponsors.models import Sponsor, SponsorKind, SponsorStatus
from inclusive_day.staffing.models import StationAdmin
from inclusive_day.stations.models import HostType, InspectionCadence, Label, Partner
from inclusive_day.stations.services import create_station
from inclusive_day.units.models import Level
from inclusive_day.units.services import create_unit
from inclusive_day.volunteers.models import Volunteer, VolunteerTeam

PASSWORD = "correct horse battery"


def _database_url(tmp_path_factory) -> str:
    url = os.environ.get("TEST_DATABASE_URL")
    if url:
        return _worker_database(url.replace("postgresql://", "postgresql+psycopg://", 1))
    return f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.sqlite'}"


def _worker_database(url: str) -> str:
    """Under pytest-xdist each worker empties and fills a PostgreSQL database of its own,
    named after TEST_DATABASE_URL's with the worker's id ("test_gw1"), made when missing."""
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if not worker:
        return url
    parsed = make_url(url)
    name = f"{parsed.database}_{worker}"
    admin = create_engine(parsed.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        exists = conn.scalar(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name})
        if not exists:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return parsed.set(database=name).render_as_string(hide_password=False)


def _reset_schema(url: str) -> None:
    """Drop whatever a previous run left, so the migrations build from empty."""
    if not url.startswith("postgresql"):
        return
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()


@pytest.fixture(scope="session")
def database_url(tmp_path_factory) -> str:
    """A database built by the migrations, once per session."""
    url = _database_url(tmp_path_factory)
    _reset_schema(url)
    app = create_app(TestConfig(url))
    with app.app_context():
        upgrade()
        _db.engine.dispose()
    return url


# Tables whose rows the migrations insert (reference data).
SEEDED_TABLES = (Theme.__table__, InspectionCadence.__table__, HostType.__table__, Label.__table__)


@pytest.fixture(scope="session")
def seeded_rows(database_url) -> dict:
    """The reference rows the migrations insert, by table."""
    engine = create_engine(database_url)
    with engine.connect() as conn:
        rows = {t: [dict(r._mapping) for r in conn.execute(select(t))] for t in SEEDED_TABLES}
    engine.dispose()
    return rows


def _reseed(conn, seeded: dict) -> None:
    for table, rows in seeded.items():
        conn.execute(insert(table), rows)


def _clean(engine, seeded: dict) -> None:
    tables = [t.name for t in _db.metadata.sorted_tables]
    if engine.dialect.name == "postgresql":
        _clean_postgresql(engine, tables, seeded)
        return
    with engine.connect() as conn:
        # SQLite applies RESTRICT row by row; switch the checks off while emptying every table.
        conn.exec_driver_sql("PRAGMA foreign_keys=OFF")
        conn.commit()
        for name in tables:
            conn.exec_driver_sql(f"DELETE FROM {name}")
        _reseed(conn, seeded)
        conn.commit()
        conn.exec_driver_sql("PRAGMA foreign_keys=ON")
        conn.commit()


def _clean_postgresql(engine, tables: list[str], seeded: dict) -> None:
    """Empty the tables a test wrote to and restart the sequences it moved. TRUNCATE of
    every table makes and fsyncs new files for each (over a second for the schema's tables);
    a DELETE of the few non-empty ones, with triggers and foreign keys off for the
    transaction (session_replication_role), takes milliseconds."""
    probe = " UNION ALL ".join(f"(SELECT '{name}' FROM {name} LIMIT 1)" for name in tables)
    with engine.begin() as conn:
        conn.execute(text("SET LOCAL session_replication_role = replica"))
        for (name,) in conn.execute(text(probe)).all():
            conn.execute(text(f"DELETE FROM {name}"))
        moved = conn.execute(
            text(
                "SELECT quote_ident(sequencename) FROM pg_sequences"
                " WHERE schemaname = current_schema() AND last_value IS NOT NULL"
            )
        ).scalars()
        for sequence in moved:
            conn.execute(text(f"ALTER SEQUENCE {sequence} RESTART"))
        _reseed(conn, seeded)
        # The reseeded rows carry their ids; move each sequence past them.
        for table in SEEDED_TABLES:
            if "id" in table.c:
                conn.execute(
                    text(
                        f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "
                        f"max(id)) FROM {table.name}"
                    )
                )


SELF_KEEPING_EXTENSIONS = (limiter, api)


@pytest.fixture(scope="session")
def shared_app(database_url):
    """One application for the session's tests: building one compiles its 220 URL rules,
    about a quarter of a second, which once per test was a good part of the suite's time."""
    app = create_app(TestConfig(database_url))
    app.test_client_class = FreshContextClient
    # Extensions that keep what their last init_app saw on themselves (the limiter its
    # storage, the API its spec): a test that builds an app of its own re-inits them.
    app.extensions_state = {ext: dict(vars(ext)) for ext in SELF_KEEPING_EXTENSIONS}
    yield app
    with app.app_context():
        _db.engine.dispose()


@pytest.fixture
def app(shared_app, seeded_rows):
    """The application on the test database, emptied (but for reference data) afterwards,
    its configuration as it was before the test."""
    config = {key: copy.copy(value) for key, value in shared_app.config.items()}
    for extension, state in shared_app.extensions_state.items():
        vars(extension).update(state)
    with shared_app.app_context():
        yield shared_app
        _db.session.remove()
        _clean(_db.engine, seeded_rows)
    shared_app.config.clear()
    shared_app.config.update(config)


@pytest.fixture
def db(app):
    """The SQLAlchemy extension, bound to the test app."""
    return _db


class FreshContextClient(FlaskClient):
    """Runs each request in its own app context (own `g`, session and locale), as in production,
    rather than inside the test's long-lived context."""

    def open(self, *args, **kwargs):
        with self.application.app_context():
            return super().open(*args, **kwargs)


@pytest.fixture
def client(app):
    """A test client whose browser asks for English (Chinese tests ask for zh themselves)."""
    client = app.test_client()
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    return client


@pytest.fixture
def runner(app):
    """A CLI runner."""
    return app.test_cli_runner()


_counter = itertools.count(1)


@pytest.fixture
def make_unit(db):
    """Factory: a unit, under `parent` when given (level chosen one below it)."""

    def make(name: str | None = None, parent=None, level: Level | None = None, **kw):
        if level is None:
            level = Level.PROVINCE if parent is None else list(Level)[parent.level.depth + 1]
        unit = create_unit(name or f"Unit {next(_counter)}", level, parent, **kw)
        db.session.commit()
        return unit

    return make


@pytest.fixture
def make_station(db, make_unit):
    """Factory: a station in `unit` (a new province unit when none given)."""

    def make(unit=None, name: str | None = None, **kw):
        n = next(_counter)
        station = create_station(
            unit or make_unit(), kw.pop("code", f"ST-{n:05d}"), name or f"Station {n}", **kw
        )
        db.session.commit()
        return station

    return make


@pytest.fixture
def make_partner(db, make_unit):
    """Factory: a co-building partner kept by `unit` (a new province unit when none given)."""

    def make(name: str | None = None, unit=None, **kw):
        partner = Partner(unit=unit or make_unit(), name=name or f"Partner {next(_counter)}", **kw)
        db.session.add(partner)
        db.session.commit()
        return partner

    return make


@pytest.fixture
def make_admin(db, make_station):
    """Factory: a station administrator (the station's master unless `role` says otherwise)."""

    def make(station=None, name: str | None = None, **kw):
        kw.setdefault("since", date(2024, 1, 1))
        admin = StationAdmin(
            station=station or make_station(), name=name or f"Admin {next(_counter)}", **kw
        )
        db.session.add(admin)
        db.session.commit()
        return admin

    return make


@pytest.fixture
def make_visit(db, make_station):
    """Factory: a door visit of the person with `phone` at `station` on `day` (local)."""

    def make(station=None, phone: str | None = None, day: date | None = None, **kw):
        station = station or make_station()
        day = day or date(2024, 6, 1)
        visit = StationVisit(
            station_id=station.id,
            identity=identity_for(phone or f"138{next(_counter):08d}"),
            group=kw.pop("group", BeneficiaryGroup.COURIER),
            nonce=uuid.uuid4().hex,
            visit_day=day,
            visited_at=kw.pop(
                "visited_at", datetime.combine(day, time(10), tzinfo=ZoneInfo("Asia/Shanghai"))
            ),
            **kw,
        )
        db.session.add(visit)
        db.session.commit()
        return visit

    return make


@pytest.fixture
def make_shelf(db, make_station):
    """Factory: a goods-sharing shelf at `station` holding `items` ({name: stock}), with a
    per-person daily limit when `per_person_day` is given."""

    def make(station=None, items: dict[str, int] | None = None, **kw):
        station = station or make_station()
        shelf = Shelf(station=station, opened_on=kw.pop("opened_on", date(2024, 1, 1)), **kw)
        db.session.add(shelf)
        db.session.flush()
        for name, stock in (items or {"矿泉水": 100}).items():
            db.session.add(
                ShelfItem(shelf_id=shelf.id, station_id=station.id, name=name, stock=stock)
            )
        db.session.commit()
        return shelf

    return make


@pytest.fixture
def make_team(db, make_unit):
    """Factory: a volunteer team kept by `unit`, with members named in `members`."""

    def make(unit=None, name: str | None = None, members: tuple[str, ...] = (), **kw):
        team = VolunteerTeam(unit=unit or make_unit(), name=name or f"Team {next(_counter)}", **kw)
        db.session.add(team)
        db.session.flush()
        for member in members:
            db.session.add(Volunteer(team_id=team.id, name=member, skills="haircut"))
        db.session.commit()
        return team

    return make


@pytest.fixture
def theme(db):
    """A theme from the seeded catalogue."""
    return db.session.scalar(select(Theme).where(Theme.code == "haircut"))


@pytest.fixture
def make_campaign(db, make_unit):
    """Factory: a campaign owned by `unit`."""

    def make(unit=None, name: str | None = None, **kw):
        kw.setdefault("starts_on", date(2023, 10, 19))
        kw.setdefault("ends_on", date(2024, 2, 26))
        campaign = create_campaign(unit or make_unit(), name or f"Campaign {next(_counter)}", **kw)
        db.session.commit()
        return campaign

    return make


@pytest.fixture
def make_activity(db, make_station, make_campaign, theme):
    """Factory: an activity at `station` in `campaign`, two hours from `starts_at`."""

    def make(station=None, campaign=None, starts_at: datetime | None = None, **kw):
        station = station or make_station()
        campaign = campaign or make_campaign(station.unit)
        starts_at = starts_at or datetime(2024, 1, 18, 1, 0, tzinfo=UTC)
        activity = schedule_activity(
            campaign,
            station,
            kw.pop("theme", theme),
            kw.pop("title", f"Activity {next(_counter)}"),
            starts_at,
            kw.pop("ends_at", starts_at + timedelta(hours=2)),
            **kw,
        )
        db.session.commit()
        return activity

    return make


@pytest.fixture
def make_sponsor(db, make_unit):
    """Factory: an approved sponsor registered with `unit`."""

    def make(unit=None, name: str | None = None, **kw):
        kw.setdefault("kind", SponsorKind.ENTERPRISE)
        kw.setdefault("status", SponsorStatus.APPROVED)
        sponsor = Sponsor(unit=unit or make_unit(), name=name or f"Sponsor {next(_counter)}", **kw)
        db.session.add(sponsor)
        db.session.commit()
        return sponsor

    return make


@pytest.fixture
def make_user(db):
    """Factory: a user holding `role` over `on` (a unit, station or sponsor; nothing for admin)."""

    def make(role: Role | None = None, on=None, username: str | None = None, **kw):
        user = create_user(username or f"user{next(_counter)}", PASSWORD, **kw)
        if role is not None:
            target = {
                Role.ORGANISER: "unit",
                Role.VIEWER: "unit",
                Role.STATION_MANAGER: "station",
                Role.SPONSOR_REP: "sponsor",
            }.get(role)
            grant(user, role, **({target: on} if target else {}))
        db.session.commit()
        return user

    return make


@pytest.fixture
def login(client):
    """Sign `user` in through the real form."""

    def do(user):
        response = client.post(
            "/auth/login", data={"username": user.username, "password": PASSWORD}
        )
        assert response.status_code == 302, response.get_data(as_text=True)
        return user

    return do


@contextmanager
def count_queries(engine):
    """Count the SQL statements run inside the block: `with count_queries(db.engine) as n: ...`."""
    counter = {"n": 0}

    def _count(*_args):
        counter["n"] += 1

    event.listen(engine, "before_cursor_execute", _count)
    try:
        yield counter
    finally:
        event.remove(engine, "before_cursor_execute", _count)


def at_once(app, n, work):
    """Run `work(i)` in n threads, each in its own app context and session, started together;
    each outcome is what `work` returned (committed) or the code of the Refused it raised
    (rolled back). Any other exception fails the test."""
    barrier = threading.Barrier(n)
    outcomes, errors = [], []

    def run(i):
        with app.app_context():
            try:
                barrier.wait()
                outcomes.append(work(i))
                _db.session.commit()
            except Refused as refused:
                _db.session.rollback()
                outcomes.append(refused.code)
            except Exception as error:  # noqa: BLE001 - reported below
                _db.session.rollback()
                errors.append(error)
            finally:
                _db.session.remove()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    return outcomes
