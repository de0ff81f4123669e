"""The application factory, configuration and database connection settings."""

import re

import pytest
from sqlalchemy import create_engine, text

from inclusive_day import create_app
from inclusive_day.auth.models import Role
from inclusive_day.config import Config, ProductionConfig, TestConfig
from inclusive_day.database import ping_when_idle


def test_sqlite_connections_enforce_foreign_keys_wal_and_busy_timeout(app, db):
    if db.engine.dialect.name != "sqlite":
        pytest.skip("SQLite connection settings")
    with db.engine.connect() as conn:
        assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert conn.execute(text("PRAGMA busy_timeout")).scalar() == 10_000


def test_production_refuses_to_start_without_a_secret(monkeypatch):
    monkeypatch.delenv("SECRET_KEY", raising=False)
    monkeypatch.setenv("DATABASE_URL", "postgresql://postgres@127.0.0.1/test")
    with pytest.raises(RuntimeError, match="SECRET_KEY"):
        ProductionConfig()


def test_production_refuses_a_short_secret(monkeypatch):
    monkeypatch.setenv("SECRET_KEY", "short")
    monkeypatch.setenv("DATABASE_URL", "postgresql://postgres@127.0.0.1/test")
    with pytest.raises(RuntimeError, match="SECRET_KEY"):
        ProductionConfig()


def test_production_takes_its_settings_from_the_environment(monkeypatch):
    monkeypatch.setenv("SECRET_KEY", "x" * 40)
    monkeypatch.setenv("DATABASE_URL", "postgres://postgres@127.0.0.1/test")
    config = ProductionConfig()
    assert config.SECRET_KEY == "x" * 40
    assert config.SQLALCHEMY_DATABASE_URI == "postgresql+psycopg://postgres@127.0.0.1/test"
    assert config.SESSION_COOKIE_SECURE is True


def test_unknown_environment_name_stops_start_up(monkeypatch):
    monkeypatch.setenv("INCLUSIVE_DAY_ENV", "staging")
    with pytest.raises(RuntimeError, match="INCLUSIVE_DAY_ENV"):
        create_app()


def test_templates_and_static_come_from_the_top_level_folders(database_url):
    app = create_app(TestConfig(database_url))
    assert app.template_folder.endswith("/templates")
    assert app.static_folder.endswith("/static")


def test_unknown_page_answers_404_page(client):
    response = client.get("/no/such/page")
    assert response.status_code == 404
    assert b"There is nothing here" in response.data


def test_unknown_api_path_answers_json(client):
    response = client.get("/api/v1/nothing")
    assert response.status_code == 404
    assert response.get_json() == {
        "error": "There is nothing here, or you may not see it.",
        "code": "not_found",
    }


def test_the_identity_secret_is_read_from_the_environment(monkeypatch):
    monkeypatch.setenv("SECRET_KEY", "s" * 40)
    monkeypatch.setenv("IDENTITY_SECRET", "kept apart from the session secret")
    assert Config().IDENTITY_SECRET == "kept apart from the session secret"
    monkeypatch.delenv("IDENTITY_SECRET")
    assert Config().IDENTITY_SECRET is None


def test_the_station_pages_share_one_menu_of_the_navigation_bar(
    client, login, make_user, make_unit
):
    login(make_user(Role.ORGANISER, make_unit()))
    page = client.get("/stations/").get_data(as_text=True)
    bar = page[page.index('<ul class="navbar-nav') : page.index('name="lang"')]
    top = re.findall(r'<li class="nav-item[^"]*">', bar)
    assert len(top) == 5  # four links and one menu: the bar fits a laptop in English
    menu = bar[bar.index("dropdown-toggle") :]
    assert "dropdown-toggle active" in bar  # the stations page lights its menu
    for path in ("/stations/", "/units/", "/directory/"):
        assert f'href="{path}' in menu


@pytest.mark.parametrize("idle_seconds", [0, 3600])
def test_a_pooled_connection_is_pinged_only_after_lying_idle(database_url, idle_seconds):
    """Idle longer than DATABASE_PING_IDLE_SECONDS, a connection is checked before it goes
    out and replaced when dead; in steady use it goes out without the round trip."""
    engine = create_engine(database_url)
    ping_when_idle(engine, idle_seconds)
    pings = []

    def dead_once(dbapi_connection):
        pings.append(dbapi_connection)
        if len(pings) == 1:
            raise OSError("server closed the connection")
        return True

    engine.dialect.do_ping = dead_once
    try:
        with engine.connect() as conn:
            first = conn.connection.dbapi_connection
        with engine.connect() as conn:
            assert conn.execute(text("SELECT 1")).scalar() == 1
            again = conn.connection.dbapi_connection
    finally:
        engine.dispose()
    if idle_seconds:
        assert pings == [] and again is first
    else:
        # Pinged, found dead and replaced by a new connection, which answers.
        assert pings[0] is first and again is not first
