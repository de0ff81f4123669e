"""Every route against every role, inside and outside its reach, and logged out.

The table of routes and answers is tests/access_matrix.py (how to add a route: see its
docstring). Here: the world the table's `W.…` names point into, built once for the module,
the clients for each role (a browser session, or a bearer token for the JSON API), and the
tests: one per (route, role), named like `activities.show-organiser_B`, and one that fails
on any route the table does not classify.

Requests that change something are chosen so that they change nothing the other cases rely
on (empty forms, a manager removal of someone who manages nothing, a spare token to revoke).
"""

from __future__ import annotations

import secrets
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from types import SimpleNamespace

import pytest
from flask import url_for
from sqlalchemy import select

from inclusive_day import create_app
from inclusive_day.activities.models import ConflictPolicy
from inclusive_day.activities.recurrence import DateRule
from inclusive_day.activities.series import (
    SeriesTemplate,
    StationChoice,
    StationPick,
    create_series,
)
from inclusive_day.activities.services import schedule_activity
from inclusive_day.api.models import TokenScope
from inclusive_day.api.tokens import issue_token
from inclusive_day.attendance.models import BeneficiaryGroup, LimitKind
from inclusive_day.attendance.services import check_in, minute_of, refuse_checkins
from inclusive_day.auth.models import Role, User
from inclusive_day.auth.services import create_user, grant
from inclusive_day.campaigns.models import Theme
from inclusive_day.campaigns.services import create_campaign, save_theme
from inclusive_day.config import TestConfig
from inclusive_day.extensions import db
from inclusive_day.feeds.models import FeedKind
from inclusive_day.feeds.tokens import new_token
from inclusive_day.funds.models import FundKind
from inclusive_day.funds.services import FundFields, record_fund_line
from inclusive_day.reports.models import Notice, NoticeKind
from inclusive_day.shelf.models import Shelf, ShelfItem
from inclusive_day.sponsors.models import (
    Donation,
    DonationKind,
    Sponsor,
    SponsorKind,
    SponsorStatus,
)
from inclusive_day.sponsors.services import receive_donation
from inclusive_day.staffing.models import StationAdmin
from inclusive_day.stations.models import HostType, Partner
from inclusive_day.stations.services import create_station
from inclusive_day.units.models import Level
from inclusive_day.units.services import create_unit
from inclusive_day.volunteers.models import Skill, Volunteer, VolunteerSession, VolunteerTeam
from tests.access_matrix import (
    ADMIN,
    BEARER,
    BROWSER,
    CASES,
    LOGGED_OUT,
    ORGANISER_A,
    ORGANISER_B,
    ROLES,
    SPONSOR_REP_A,
    STATION_MANAGER_A,
    UNCLASSIFIED_OK,
    VIEWER_A,
    resolve,
)
from tests.conftest import PASSWORD, FreshContextClient, _clean

# The world's activities take place on this day (in the campaigns, which never end).
ACTIVITY_START = datetime(2025, 3, 5, 1, 0, tzinfo=UTC)


# ---- The world ----------------------------------------------------------------------------


def _district(name: str, city, theme, suffix: str) -> SimpleNamespace:
    """One district with a station, a campaign, an activity with a check-in, a theme of its
    own, and an approved sponsor with a pledged donation (received, and the series added, by
    `build_world`, once the users exist)."""
    unit = create_unit(f"District {name}", Level.DISTRICT, city)
    partner = Partner(unit=unit, name=f"Partner {name}")
    db.session.add(partner)
    station = create_station(unit, f"MX-{suffix}", f"Station {name}", partners=[partner])
    campaign = create_campaign(unit, f"Campaign {name}", date(2023, 10, 19))
    activity = schedule_activity(
        campaign,
        station,
        theme,
        f"Haircuts {name}",
        ACTIVITY_START,
        ACTIVITY_START + timedelta(hours=2),
    )
    checkin, _created = check_in(
        activity.id,
        f"1380013800{suffix[-1]}",
        BeneficiaryGroup.COURIER.value,
        secrets.token_hex(16),
        now=ACTIVITY_START + timedelta(minutes=30),
    )
    # A refusal in the same minute puts it under review, for the burst's annulment.
    refuse_checkins(
        [activity.id], LimitKind.CAPACITY, "matrix", ACTIVITY_START + timedelta(minutes=30)
    )
    sponsor = Sponsor(
        unit=unit,
        name=f"Sponsor {name}",
        kind=SponsorKind.ENTERPRISE,
        status=SponsorStatus.APPROVED,
    )
    donation = Donation(
        sponsor=sponsor,
        campaign=campaign,
        kind=DonationKind.CASH,
        description="cash",
        value=Decimal("1000.00"),
        pledged_on=date(2025, 1, 2),
    )
    admin = StationAdmin(station=station, name=f"Master {name}", since=date(2024, 1, 1))
    team = VolunteerTeam(unit=unit, name=f"Volunteers {name}")
    volunteer = Volunteer(team=team, name=f"Volunteer {name}", skills="haircut")
    # A session at the district's station, awaiting its confirmation.
    volunteer_session = VolunteerSession(
        volunteer=volunteer,
        team=team,
        station=station,
        skill=Skill.HAIRCUT,
        starts_at=ACTIVITY_START,
        ends_at=ACTIVITY_START + timedelta(hours=1),
        minutes=60,
        served=3,
    )
    shelf = Shelf(station=station, opened_on=date(2024, 1, 1))
    db.session.add_all([sponsor, donation, admin, team, volunteer, volunteer_session, shelf])
    db.session.flush()
    db.session.add(ShelfItem(shelf_id=shelf.id, station_id=station.id, name="矿泉水", stock=10))
    own_theme = save_theme(None, unit, f"主题{name}", f"Theme {name}", "#3366cc")
    fund_line = record_fund_line(
        None,
        FundFields(
            kind=FundKind.CONSTRUCTION_SUBSIDY,
            amount=Decimal("3000.00"),
            year=2025,
            allocated_on=date(2025, 1, 2),
            station=station,
            source_unit=unit,
        ),
    )
    db.session.flush()
    return SimpleNamespace(
        unit=unit,
        station=station,
        campaign=campaign,
        activity=activity,
        checkin=checkin,
        burst=int(minute_of(ACTIVITY_START + timedelta(minutes=30)).timestamp()),
        sponsor=sponsor,
        donation=donation,
        theme=own_theme,
        partner=partner,
        fund_line=fund_line,
        admin=admin,
        team=team,
        volunteer=volunteer,
        volunteer_session=volunteer_session,
    )


def _series(organiser, district: SimpleNamespace, theme):
    template = SeriesTemplate(
        campaign=district.campaign,
        theme=theme,
        title="Monthly health check",
        starts_time=time(9, 0),
        ends_time=time(11, 0),
    )
    choice = StationChoice(StationPick.SUBTREE, unit=district.unit)
    series, _created = create_series(
        organiser, template, choice, DateRule(date(2025, 4, 2)), ConflictPolicy.SKIP
    )
    return series


def build_world() -> SimpleNamespace:
    """The city with districts A and B, the users of every role, tokens; ids only, so the
    world outlives the session that built it."""
    theme = db.session.scalar(select(Theme).where(Theme.code == "haircut"))
    province = create_unit("Province", Level.PROVINCE)
    city = create_unit("City", Level.CITY, province)
    a = _district("A", city, theme, "A1")
    b = _district("B", city, theme, "B2")
    internal = create_campaign(a.unit, "Internal campaign A", date(2024, 1, 1), is_public=False)
    internal_activity = schedule_activity(
        internal,
        a.station,
        theme,
        "Staff tea",
        ACTIVITY_START + timedelta(days=1),
        ACTIVITY_START + timedelta(days=1, hours=1),
    )
    city_campaign = create_campaign(city, "City campaign", date(2024, 1, 1))

    users = {}

    def user(role_name: str, role: Role | None = None, **on):
        u = create_user(f"mx_{role_name}", PASSWORD)
        if role is not None:
            grant(u, role, **on)
        users[role_name] = u
        return u

    user(ADMIN, Role.ADMIN)
    organiser_a = user(ORGANISER_A, Role.ORGANISER, unit=a.unit)
    user(VIEWER_A, Role.VIEWER, unit=a.unit)
    user(STATION_MANAGER_A, Role.STATION_MANAGER, station=a.station)
    user(SPONSOR_REP_A, Role.SPONSOR_REP, sponsor=a.sponsor)
    user(ORGANISER_B, Role.ORGANISER, unit=b.unit)
    bystander = create_user("mx_bystander", PASSWORD)
    # A's station master signs on duty with the station manager's account.
    a.admin.user = users[STATION_MANAGER_A]
    db.session.flush()

    for side in (a, b):
        receive_donation(side.donation, date(2025, 1, 3), users[ADMIN])
        side.series = _series(users[ADMIN], side, theme)
    _unit_token, feed_token = new_token(organiser_a, FeedKind.UNIT, a.unit.id)
    _campaign_token, campaign_feed_token = new_token(organiser_a, FeedKind.CAMPAIGN, internal.id)
    spare, _raw = new_token(organiser_a, FeedKind.UNIT, a.unit.id)
    spare_api_token, _raw = issue_token(organiser_a, "spare", TokenScope.READ)
    # A grant for an administrator to revoke (the bystander is no role of the matrix).
    bystander_grant = grant(bystander, Role.VIEWER, unit=b.unit)
    # A traffic notice issued to district A, for its readers to download.
    notice = Notice(
        unit_id=a.unit.id,
        kind=NoticeKind.TRAFFIC,
        month=date(2025, 1, 1),
        lang="zh",
        pdf=_fake_pdf(),
    )
    db.session.add(notice)
    db.session.commit()

    def ids(side: SimpleNamespace) -> SimpleNamespace:
        return SimpleNamespace(
            unit=side.unit.id,
            station=side.station.id,
            station_code=side.station.code,
            campaign=side.campaign.id,
            activity=side.activity.id,
            checkin=side.checkin.id,
            checkin_token=side.activity.checkin_token,
            burst=side.burst,
            series=side.series.id,
            theme=side.theme.id,
            sponsor=side.sponsor.id,
            donation=side.donation.id,
            partner=side.partner.id,
            fund_line=side.fund_line.id,
            admin=side.admin.id,
            team=side.team.id,
            volunteer=side.volunteer.id,
            volunteer_session=side.volunteer_session.id,
        )

    world_a = ids(a)
    world_a.internal_campaign = internal.id
    world_a.internal_activity = internal_activity.id
    world_a.notice = notice.id
    return SimpleNamespace(
        province=province.id,
        city=city.id,
        city_campaign=city_campaign.id,
        shared_theme=theme.id,
        host_type=db.session.scalar(select(HostType.id).where(HostType.code == "other")),
        A=world_a,
        B=ids(b),
        users={name: (u.id, u.username) for name, u in users.items()},
        bystander=bystander.id,
        feed_token=feed_token,
        campaign_feed_token=campaign_feed_token,
        spare_feed_token=spare.id,
        spare_api_token=spare_api_token.id,
        bystander_grant=bystander_grant.id,
    )


def _fake_pdf(*_args, **_kwargs) -> bytes:
    return b"%PDF-1.7\n% access matrix stub\n"


# Who may get which PDF is the matrix's question; how PDFs look is tested elsewhere, and
# rendering them here for every allowed role would take most of the matrix's time.
PDF_RENDERERS = (
    "inclusive_day.stations.views.render_posters",
    "inclusive_day.units.views.render_posters",
    "inclusive_day.sponsors.views.receipt_pdf",
    "inclusive_day.reports.jobs.render_recap",
    "inclusive_day.reports.jobs.render_league",
    "inclusive_day.reports.views.render_traffic",
    "inclusive_day.reports.notices.render_traffic",
    "inclusive_day.reports.views_top100.render_top100",
    "inclusive_day.volunteers.views.certificate_pdf",
)


class Matrix:
    """The app, the world, and a signed-in client for each role on demand."""

    def __init__(self, app, world) -> None:
        self.app = app
        self.world = world
        self._sessions: dict[str, str] = {}
        self._api_tokens: dict[str, str] = {}

    def url(self, case) -> str:
        """The case's URL in this world."""
        with self.app.test_request_context():
            return url_for(case.endpoint, **resolve(case.values, self.world))

    def client(self, role: str, kind: str) -> FreshContextClient:
        """A client acting as `role`: with its session cookie, or its bearer token."""
        client = self.app.test_client()
        client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
        if role == LOGGED_OUT:
            return client
        if kind == BROWSER:
            cookie = self.app.config["SESSION_COOKIE_NAME"]
            client.set_cookie(cookie, self._session(role))
        elif kind == BEARER:
            client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {self._api_token(role)}"
        else:
            raise ValueError(f"unknown client kind {kind!r}")
        return client

    def forget(self, role: str) -> None:
        """Sign `role` in afresh next time (after a case that signed it out)."""
        self._sessions.pop(role, None)

    def _session(self, role: str) -> str:
        """The session cookie of `role`, signed in once through the real form."""
        if role not in self._sessions:
            client = self.app.test_client()
            _user_id, username = self.world.users[role]
            response = client.post("/auth/login", data={"username": username, "password": PASSWORD})
            assert response.status_code == 302, response.get_data(as_text=True)
            cookie = client.get_cookie(self.app.config["SESSION_COOKIE_NAME"])
            self._sessions[role] = cookie.value
        return self._sessions[role]

    def _api_token(self, role: str) -> str:
        """A read-and-write API token of `role`'s user, made once (shown once, stored hashed)."""
        if role not in self._api_tokens:
            self._api_tokens[role] = mint_api_token(self.world.users[role][0])
        return self._api_tokens[role]


def mint_api_token(user_id: int) -> str:
    """A read-and-write API token of the user, as the account's token page makes one."""
    _token, raw = issue_token(db.session.get(User, user_id), "access matrix", TokenScope.WRITE)
    db.session.commit()
    return raw


@pytest.fixture(scope="module")
def matrix(database_url, seeded_rows, tmp_path_factory):
    """One app and one world for the whole module (the database is emptied afterwards)."""
    app = create_app(TestConfig(database_url))
    app.test_client_class = FreshContextClient
    app.config["REPORT_CACHE_DIR"] = str(tmp_path_factory.mktemp("matrix_reports"))
    with pytest.MonkeyPatch.context() as patch, app.app_context():
        for target in PDF_RENDERERS:
            patch.setattr(target, _fake_pdf)
        try:
            yield Matrix(app, build_world())
        finally:
            db.session.remove()
            _clean(db.engine, seeded_rows)
            db.engine.dispose()


# ---- The tests ----------------------------------------------------------------------------


def test_every_route_is_in_the_matrix():
    """A route (or a method of one) with no entry in tests/access_matrix.py fails here, named."""
    app = create_app(TestConfig())
    asked = {(case.endpoint, case.method) for case in CASES}
    missing = sorted(
        f"{method} {rule.rule}  ({rule.endpoint})"
        for rule in app.url_map.iter_rules()
        if rule.endpoint not in UNCLASSIFIED_OK
        for method in rule.methods - {"HEAD", "OPTIONS"}
        if (rule.endpoint, method) not in asked
    )
    assert not missing, (
        "Routes missing from CASES in tests/access_matrix.py (add one Case each; "
        "with_post(...) for a page that also takes POST):\n  " + "\n  ".join(missing)
    )


def test_every_case_names_a_route_its_method_and_every_role():
    """Stale entries (a route renamed or gone, a method it does not take) fail too."""
    app = create_app(TestConfig())
    methods: dict[str, set[str]] = {}
    for rule in app.url_map.iter_rules():
        methods.setdefault(rule.endpoint, set()).update(rule.methods)
    problems = []
    for case in CASES:
        if case.endpoint not in methods:
            problems.append(f"{case.id}: no such endpoint")
        elif case.method not in methods[case.endpoint]:
            problems.append(f"{case.id}: does not take {case.method}")
        if set(case.expect) != set(ROLES):
            problems.append(f"{case.id}: answers for {sorted(case.expect)}, not every role")
        if case.client not in (BROWSER, BEARER):
            problems.append(f"{case.id}: unknown client kind {case.client!r}")
    ids = [case.id for case in CASES]
    problems += [f"{i}: two cases with this id (give one a label)" for i in ids if ids.count(i) > 1]
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize(
    ("case", "role"),
    [(case, role) for case in CASES for role in ROLES],
    ids=[f"{case.id}-{role}" for case in CASES for role in ROLES],
)
def test_access(matrix, case, role):
    """One request as one role gets the answer the access rule gives that role."""
    url = matrix.url(case)
    client = matrix.client(role, case.client)
    response = client.open(
        url,
        method=case.method,
        data=resolve(case.data, matrix.world),
        json=resolve(case.json, matrix.world),
        headers=case.headers,
    )
    response.close()  # files sent (PDFs, Leaflet, Bootstrap) are open until closed
    if case.endpoint == "auth.logout":
        matrix.forget(role)
    problem = case.expect[role].problem(response, url)
    assert problem is None, f"{case.method} {url} as {role}: {problem}"
