"""Browser tests: the app served for real on its own migrated database holding the Kunming
demo, and Debian's Chromium driven by Playwright.

The server runs in a thread of the test process for the whole session; each test opens its
own browser context (cookies, storage, service workers), so tests do not depend on their
order. Data a journey changes is made for that journey (`live.activity_now(...)`). This
directory never uses the `app` fixture of tests/conftest.py, whose clean-up after each test
would empty the live server's database under it: the server has a database of its own.

Without Chromium (the Debian package `chromium`, which `make setup` installs) or the Python
package playwright the tests here are skipped, saying so; without axe-core (`npm ci`, which
`make setup` runs) the accessibility tests are.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from flask import Flask
from flask_migrate import upgrade
from sqlalchemy import create_engine, select, text
from werkzeug.serving import WSGIRequestHandler, make_server

from inclusive_day import create_app
from inclusive_day.activities.services import schedule_activity
from inclusive_day.auth.models import RoleGrant, User
from inclusive_day.campaigns.models import Campaign, Theme
from inclusive_day.campaigns.services import create_campaign
from inclusive_day.config import TestConfig
from inclusive_day.database import utcnow
from inclusive_day.demo.kunming import CITY, load_kunming
from inclusive_day.extensions import db
from inclusive_day.periods import local_today
from inclusive_day.stations.models import Station
from inclusive_day.units.models import Unit

try:
    from playwright.sync_api import Browser, BrowserContext, Page, expect, sync_playwright
except ImportError:  # pragma: no cover - the dev dependencies include it
    sync_playwright = None

CHROMIUM = Path(os.environ.get("E2E_CHROMIUM", "/usr/bin/chromium"))
# Chromium's own calls home fail on a closed network; these keep it from trying.
CHROMIUM_ARGS = [
    "--no-sandbox",  # the tests may run as root (CI does)
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
TIMEOUT_MS = 15_000
DESKTOP = {"viewport": {"width": 1280, "height": 800}}
PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True}
# The demo account that manages one station (the first of the Laba porridge day).
STATION_MANAGER = "station"

if sync_playwright is not None:
    expect.set_options(timeout=TIMEOUT_MS)


class E2EConfig(TestConfig):
    """The test configuration, but as a browser meets it: CSRF tokens on every form, errors
    answered as pages rather than raised into the test."""

    TESTING = False
    WTF_CSRF_ENABLED = True
    # Reports render in the request, and rate limits count in memory, whatever the shell's
    # REDIS_URL: the browser tests need nothing running besides themselves.
    REDIS_URL = None
    RATELIMIT_STORAGE_URI = "memory://"


# --- The live server ---------------------------------------------------------------------------


@dataclass
class LiveActivity:
    """An activity made for one test: its id, its check-in token, where and what."""

    id: int
    token: str
    title: str
    station_code: str
    station_name: str


@dataclass
class LiveServer:
    """The running app: its address, the app object (for looking into its database) and the
    campaign the journeys plan in."""

    url: str
    app: Flask
    campaign_id: int
    station_user_station: str  # the code of the station the demo's `station` user manages
    requests: list[str] = field(default_factory=list)  # "GET /path" of every request served

    @contextmanager
    def database(self) -> Iterator:
        """The app's SQLAlchemy session, in an app context of its own."""
        with self.app.app_context():
            try:
                yield db.session
            finally:
                db.session.remove()

    def activity_now(self, station_code: str, title: str, theme: str = "haircut") -> LiveActivity:
        """An activity on now at `station_code` (started half an hour ago, two hours long), in
        the journeys' campaign, so that it takes check-ins and tallies."""
        starts = utcnow().replace(second=0, microsecond=0) - timedelta(minutes=30)
        return self.schedule(station_code, title, theme, starts)

    def schedule(
        self, station_code: str, title: str, theme: str, starts: datetime, hours: float = 2
    ) -> LiveActivity:
        """An activity at `station_code` from `starts`, in the journeys' campaign."""
        with self.database() as session:
            station = session.scalar(select(Station).where(Station.code == station_code))
            campaign = session.get(Campaign, self.campaign_id)
            theme_row = session.scalar(select(Theme).where(Theme.code == theme))
            activity = schedule_activity(
                campaign, station, theme_row, title, starts, starts + timedelta(hours=hours)
            )
            session.commit()
            return LiveActivity(
                activity.id,
                activity.checkin_token,
                title,
                station.code,
                station.name,
            )


def _database_url(tmp_path_factory) -> str:
    """E2E_DATABASE_URL (its public schema is dropped first), else a new SQLite file."""
    url = os.environ.get("E2E_DATABASE_URL")
    if not url:
        return f"sqlite:///{tmp_path_factory.mktemp('e2e') / 'e2e.sqlite'}"
    url = url.replace("postgresql://", "postgresql+psycopg://", 1)
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()
    return url


def _prepare(app: Flask) -> tuple[int, str]:
    """Migrate, load the Kunming demo and open a campaign that runs today."""
    with app.app_context():
        upgrade()
        load_kunming(echo=lambda _: None)
        city = db.session.scalar(select(Unit).where(Unit.code == CITY[1]))
        today = local_today()
        campaign = create_campaign(
            city,
            "工会驿站普惠日·服务季",
            today - timedelta(days=30),
            today + timedelta(days=200),
            description="昆明市总工会在全市工会驿站开展的普惠服务季。",
            is_public=True,
        )
        managed = db.session.scalar(
            select(Station.code)
            .join(RoleGrant, RoleGrant.station_id == Station.id)
            .join(User, User.id == RoleGrant.user_id)
            .where(User.username == STATION_MANAGER)
        )
        db.session.commit()
        found = campaign.id, managed
        db.session.remove()
    return found


class Serving:
    """A WSGI app served over HTTP by werkzeug in a thread, on `port` (0: a free one)."""

    def __init__(self, app, port: int = 0, handler=None) -> None:
        self.server = make_server("127.0.0.1", port, app, threaded=True, request_handler=handler)
        self.port = self.server.server_port
        self.thread = threading.Thread(
            target=self.server.serve_forever, name=f"e2e-server-{self.port}", daemon=True
        )
        self.thread.start()

    def stop(self) -> None:
        """Stop answering and close the listening socket: connecting is refused from now on."""
        self.server.shutdown()
        self.thread.join(timeout=10)
        self.server.server_close()


@pytest.fixture(scope="session")
def live(tmp_path_factory) -> Iterator[LiveServer]:
    """The app served over HTTP on a free port, on a migrated database with the demo."""
    app = create_app(E2EConfig(_database_url(tmp_path_factory)))
    # Report PDFs are cached in a folder of this run's own, not the instance folder.
    app.config["REPORT_CACHE_DIR"] = str(tmp_path_factory.mktemp("report-cache"))
    campaign_id, managed = _prepare(app)
    requests: list[str] = []

    def logged(environ, start_response):
        requests.append(f"{environ['REQUEST_METHOD']} {environ['PATH_INFO']}")
        return app(environ, start_response)

    serving = Serving(logged)
    try:
        yield LiveServer(f"http://127.0.0.1:{serving.port}", app, campaign_id, managed, requests)
    finally:
        serving.stop()
        with app.app_context():
            db.engine.dispose()


class OneRequestPerConnection(WSGIRequestHandler):
    """HTTP/1.0: every connection closes after its answer, so none outlives an unplugging."""

    protocol_version = "HTTP/1.0"


class Unpluggable:
    """A second address of the live app (so a second origin, with its own service worker and
    storage) whose network a test can cut off for real: the browser's offline switch does not
    reach a service worker's own requests, a refused connection does."""

    def __init__(self, live: LiveServer) -> None:
        self._app = live.app
        self._serving: Serving | None = Serving(live.app, handler=OneRequestPerConnection)
        self.port = self._serving.port
        self.url = f"http://127.0.0.1:{self.port}"

    def unplug(self) -> None:
        """Nothing answers at this address until `plug`."""
        if self._serving is not None:
            self._serving.stop()
            self._serving = None

    def plug(self) -> None:
        """Answer again, at the same address."""
        if self._serving is None:
            self._serving = Serving(self._app, self.port, OneRequestPerConnection)


@pytest.fixture
def unpluggable(live) -> Iterator[Unpluggable]:
    """The app at an address of its own that the test can unplug and plug back."""
    door = Unpluggable(live)
    yield door
    door.unplug()


# --- The browser -------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    """Debian's Chromium, headless; the tests skip, saying why, where it is missing."""
    if sync_playwright is None:
        pytest.skip("the Python package playwright is not installed (pip install -e '.[dev]')")
    if not CHROMIUM.exists():
        pytest.skip(
            f"no Chromium at {CHROMIUM}: install the Debian package chromium "
            "(make setup does, as root or with sudo) or set E2E_CHROMIUM"
        )
    playwright = sync_playwright().start()
    try:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
        yield browser
        browser.close()
    finally:
        playwright.stop()


class PageProblems:
    """What went wrong in a context's pages without a test looking: uncaught script errors
    and answers of 400 or more from the app."""

    def __init__(self, origin: str) -> None:
        self.origin = origin
        self.seen: list[str] = []

    def watch(self, page: Page) -> None:
        """Listen to a page of the context."""
        page.on("pageerror", lambda error: self.seen.append(f"script error: {error}"))
        page.on("response", self._response)

    def _response(self, response) -> None:
        if response.status >= 400 and response.url.startswith(self.origin):
            self.seen.append(f"{response.status} {response.request.method} {response.url}")


DEVICES = {"desktop": DESKTOP, "phone": PHONE}


@pytest.fixture(scope="session")
def signed_in(browser, live):
    """The cookies of a demo user signed in once through the form (by username), so that
    tests about a page need not sign in again."""
    from .support import sign_in  # (support needs playwright, which `browser` checked)

    states: dict[str, dict] = {}

    def state(username: str) -> dict:
        if username not in states:
            context = browser.new_context(base_url=live.url)
            sign_in(context.new_page(), username)
            states[username] = context.storage_state()
            context.close()
        return states[username]

    return state


class Browse:
    """Opens browser contexts (a desktop, a phone) for one test and closes them after it,
    failing the test if any of their pages met a script error or an error answer."""

    def __init__(self, browser: Browser, live: LiveServer, signed_in) -> None:
        self._browser, self._live, self._signed_in = browser, live, signed_in
        self.opened: list[tuple[BrowserContext, PageProblems]] = []

    def context(
        self,
        device: str = "desktop",
        user: str | None = None,
        *,
        locale: str = "zh-CN",
        base_url: str | None = None,
        service_workers: str = "allow",
    ) -> BrowserContext:
        """A new context on `device`, in Chinese unless told, signed in as `user` if given,
        at the live server unless `base_url` says otherwise."""
        state = self._signed_in(user) if user else None
        base_url = base_url or self._live.url
        context = self._browser.new_context(
            base_url=base_url,
            locale=locale,
            storage_state=state,
            service_workers=service_workers,
            **DEVICES[device],
        )
        context.set_default_timeout(TIMEOUT_MS)
        problems = PageProblems(base_url)
        context.on("page", problems.watch)
        self.opened.append((context, problems))
        return context

    def page(self, device: str = "desktop", user: str | None = None) -> Page:
        """A page in a new context (see `context`)."""
        return self.context(device, user).new_page()

    def close(self) -> list[str]:
        """Close every context; what went wrong in their pages."""
        seen = []
        for context, problems in self.opened:
            context.close()
            seen += problems.seen
        return seen


@pytest.fixture
def browse(browser, live, signed_in) -> Iterator[Browse]:
    """Browser contexts for this test, checked for script errors and error answers."""
    browse = Browse(browser, live, signed_in)
    yield browse
    seen = browse.close()
    assert not seen, "\n".join(seen)


@pytest.fixture
def page(browse) -> Page:
    """A page in a desktop browser (1280 × 800) whose user reads Chinese, as organisers do."""
    return browse.page("desktop")


@pytest.fixture
def phone(browse) -> Page:
    """A page on a phone (390 × 844, touch) whose user reads Chinese, as workers do."""
    return browse.page("phone")
