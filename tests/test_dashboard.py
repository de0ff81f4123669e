"""The home dashboard: figures for the user's reach and month, in a fixed number of queries."""

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select

from inclusive_day.attendance.models import BeneficiaryGroup, Headcount
from inclusive_day.auth.models import Role
from inclusive_day.campaigns.models import Campaign
from inclusive_day.campaigns.targets import TargetValues, set_targets
from inclusive_day.database import utcnow
from inclusive_day.main.dashboard import dashboard
from inclusive_day.periods import Month, local_today
from inclusive_day.stations.models import StationStatus
from tests.conftest import count_queries


@pytest.fixture
def two_districts(db, make_unit, make_station, make_campaign, make_activity):
    city = make_unit("昆明市总工会", make_unit("云南省总工会"))
    result = {}
    for name, served in (("官渡区总工会", 120), ("盘龙区总工会", 80)):
        district = make_unit(name, city)
        station = make_station(district)
        campaign = make_campaign(district, name=f"{name}普惠日")
        activity = make_activity(station, campaign, starts_at=datetime(2024, 1, 18, 1, tzinfo=UTC))
        db.session.add(Headcount(activity=activity, group=BeneficiaryGroup.COURIER, count=served))
        db.session.commit()
        result[name] = district
    return city, result


def test_the_dashboard_counts_only_the_users_subtree_and_month(two_districts, make_user):
    city, districts = two_districts
    organiser = make_user(Role.ORGANISER, districts["官渡区总工会"])
    figures = dashboard(organiser, Month(2024, 1), utcnow())
    assert (figures.stations, figures.activities.held, figures.month_totals.served) == (1, 1, 120)
    assert [c.name for c in figures.campaigns] == ["官渡区总工会普惠日"]
    assert dashboard(organiser, Month(2024, 2), utcnow()).month_totals.served == 0

    city_organiser = make_user(Role.ORGANISER, city)
    assert dashboard(city_organiser, Month(2024, 1), utcnow()).month_totals.served == 200


def test_the_dashboard_counts_stations_open_today_and_those_being_built(
    db, two_districts, make_user, make_station
):
    city, districts = two_districts
    guandu = districts["官渡区总工会"]
    make_station(guandu, status=StationStatus.SUSPENDED)  # open, if paused
    make_station(guandu, status=StationStatus.PLANNED)
    make_station(guandu, status=StationStatus.UNDER_CONSTRUCTION)
    make_station(
        guandu,
        status=StationStatus.CLOSED,
        opened_on=date(2020, 1, 1),
        closed_on=date(2021, 1, 1),
    )
    make_station(guandu, opened_on=local_today() + timedelta(days=1))  # entered ahead
    figures = dashboard(make_user(Role.ORGANISER, guandu), Month(2024, 1), utcnow())
    assert (figures.stations, figures.building_stations) == (2, 2)


def test_the_dashboard_page_shows_open_and_building_stations(
    client, login, make_user, db, two_districts, make_station
):
    city, districts = two_districts
    make_station(districts["盘龙区总工会"], status=StationStatus.PLANNED)
    login(make_user(Role.VIEWER, city))
    page = client.get("/").get_data(as_text=True)
    assert "Open stations" in page and "1 planned or being built" in page


def test_the_dashboard_page_shows_the_figures_and_moves_between_months(
    client, login, make_user, two_districts
):
    city, _ = two_districts
    login(make_user(Role.VIEWER, city))
    page = client.get("/?month=2024-01").get_data(as_text=True)
    assert '<div class="figure-value">200</div>' in page  # served in January, both districts
    assert "官渡区总工会普惠日" in page and "?month=2023-12" in page


def test_the_dashboard_shows_each_campaigns_progress_against_its_target(
    db, client, login, make_user, two_districts
):
    _city, districts = two_districts
    guandu = districts["官渡区总工会"]
    campaign = db.session.scalar(select(Campaign).where(Campaign.unit_id == guandu.id))
    set_targets(campaign, {guandu.id: TargetValues(activities=4, served=600)})
    db.session.commit()
    login(make_user(Role.VIEWER, guandu))
    page = client.get("/?month=2024-01").get_data(as_text=True)
    # One activity held of four (25%), 120 served of 600 (20%).
    assert "25%" in page and "20%" in page


def test_planned_activities_are_not_counted_as_held(
    db, client, login, make_user, make_station, make_campaign, make_activity, make_unit
):
    district = make_unit("官渡区总工会")
    station = make_station(district)
    campaign = make_campaign(district, name="官渡区普惠日")
    soon = utcnow() + timedelta(days=2)
    for day in range(3):
        make_activity(station, campaign, starts_at=soon + timedelta(days=day))
    organiser = make_user(Role.ORGANISER, district)
    figures = dashboard(organiser, Month.containing(soon), utcnow())
    assert (figures.campaigns[0].activities.held, figures.campaigns[0].activities.planned) == (0, 3)
    login(organiser)
    for url in ("/", "/campaigns/"):
        row = client.get(url).get_data(as_text=True).split("官渡区普惠日", 1)[1].split("</tr>")[0]
        cells = [c.split(">")[-1] for c in row.split("</td>") if 'class="text-end"' in c]
        assert cells[:2] == ["0", "3"], url


def test_the_dashboard_offers_only_the_reports_the_user_may_open(
    client, login, make_user, make_unit, make_station
):
    district = make_unit("官渡区总工会", make_unit("昆明市总工会"))
    login(make_user(Role.ORGANISER, district.parent))
    page = client.get("/").get_data(as_text=True)
    assert "/reports/league" in page and "/reports/construction" in page
    client.post("/auth/logout")
    login(make_user(Role.STATION_MANAGER, make_station(district)))
    page = client.get("/").get_data(as_text=True)
    assert "/reports/league" not in page and "/reports/construction" not in page
    assert client.get("/reports/league").status_code == 404


def test_a_malformed_month_answers_400(client, login, make_user):
    login(make_user(Role.ADMIN))
    assert client.get("/?month=2024-13").status_code == 400
    assert client.get("/?month=last").status_code == 400


def test_list_pages_take_the_same_number_of_queries_whatever_their_size(
    db, client, login, make_user, make_unit, make_station, make_campaign, make_activity
):
    district = make_unit("District", make_unit("City", make_unit("Province")))
    login(make_user(Role.ORGANISER, district))

    def queries_for(path: str) -> int:
        with count_queries(db.engine) as n:
            assert client.get(path).status_code == 200
        return n["n"]

    def grow() -> None:
        station = make_station(district)
        make_activity(station, make_campaign(district), starts_at=datetime(2024, 1, 5, tzinfo=UTC))

    grow()
    small = {p: queries_for(p) for p in ("/?month=2024-01", "/stations/", "/campaigns/")}
    for _ in range(4):
        grow()
    large = {p: queries_for(p) for p in small}
    assert large == small


def test_the_people_figure_is_named_for_what_it_counts_everywhere(
    client, login, make_user, two_districts, db
):
    city, districts = two_districts
    campaign = db.session.scalar(
        select(Campaign).where(Campaign.unit_id == districts["官渡区总工会"].id)
    )
    login(make_user(Role.ORGANISER, city))
    for url in ("/?month=2024-01", "/campaigns/", f"/campaigns/{campaign.id}"):
        page = client.get(url).get_data(as_text=True)
        assert "People checked in by QR" in page and "unique people" not in page, url
    spec = client.get("/api/v1/openapi.json").json
    summary = spec["components"]["schemas"]["Summary"]["properties"]["people"]
    assert summary["description"].startswith("People checked in by QR")
