"""The public honour roll: who is listed and how, what a subtree counts of a city's gift,
the people served where gifts went, and the figures of the Kunming demo."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from flask_babel import force_locale

from inclusive_day.attendance.models import BeneficiaryGroup, Headcount
from inclusive_day.auth.models import Role
from inclusive_day.sponsors.honour import Giving, GivingScope, giving, honour_roll
from inclusive_day.sponsors.models import DonationKind
from inclusive_day.sponsors.services import (
    DonationFields,
    distribute,
    pledge_donation,
    receive_donation,
)
from tests.conftest import count_queries

ON = date(2024, 1, 10)


@pytest.fixture
def city(make_unit):
    return make_unit("昆明市总工会", code="530100")


@pytest.fixture
def district(make_unit, city):
    return make_unit("官渡区总工会", parent=city, code="530111")


@pytest.fixture
def organiser(make_user, city):
    return make_user(Role.ORGANISER, on=city)


@pytest.fixture
def campaign(make_campaign, city):
    return make_campaign(city, "工会驿站普惠日")


@pytest.fixture
def give(db, make_sponsor, campaign, organiser):
    """A gift from a new sponsor registered with `unit`, received unless `receive=False`."""

    def make(unit, name, *, quantity=None, value, kind=DonationKind.IN_KIND, receive=True, **kw):
        sponsor = make_sponsor(unit, name, **kw)
        fields = DonationFields(
            kind=kind,
            description="送水券" if kind is not DonationKind.CASH else "爱心捐款",
            quantity=None if kind is DonationKind.CASH else Decimal(quantity),
            unit_label="本",
            value=Decimal(value),
            campaign=campaign,
            pledged_on=ON,
        )
        donation = pledge_donation(sponsor, fields, organiser)
        if receive:
            receive_donation(donation, ON, organiser)
        db.session.commit()
        return donation

    return make


@pytest.fixture
def activity(db, make_activity, make_station, district, campaign):
    """A Laba porridge stop in the district, where 120 were counted by staff."""
    activity = make_activity(
        station=make_station(district),
        campaign=campaign,
        starts_at=datetime(2024, 1, 18, 1, 0, tzinfo=UTC),
    )
    db.session.add(Headcount(activity_id=activity.id, group=BeneficiaryGroup.COURIER, count=120))
    db.session.commit()
    return activity


def test_the_roll_lists_by_value_names_as_wished_and_counts_the_unlisted(
    db, app, give, city, campaign
):
    give(city, "美团", quantity=2000, value=120000)
    give(city, "陈女士", kind=DonationKind.CASH, value=5000, is_anonymous=True)
    give(city, "低调企业", quantity=10, value=900000, on_honour_roll=False)
    give(city, "中国石化", quantity=1000, value=100000, public_name="中石化云南")
    give(city, "还在路上", quantity=5, value=999999, receive=False)
    scope = GivingScope(campaign_id=campaign.id)
    with force_locale("zh"):
        lines = honour_roll(scope)
    assert [(line.name, line.value) for line in lines] == [
        ("美团", Decimal("120000.00")),
        ("中石化云南", Decimal("100000.00")),
        ("匿名爱心人士", Decimal("5000.00")),
    ]
    assert lines[0].gifts == ("送水券 2,000本",)
    assert lines[2].gifts == ("现金 5,000 元",)
    # The figures count every received gift, listed or not; a pledge waits.
    assert giving(scope) == Giving(4, 4, Decimal("1125000.00"))


def test_a_district_is_thanked_for_what_it_received_of_a_citys_gift(
    db, give, city, district, campaign, organiser, activity, make_station
):
    water = give(city, "中国石化", quantity=100, value=10000)
    local = give(district, "陈女士", kind=DonationKind.CASH, value=5000)
    distribute(organiser, water, quantity=Decimal(40), on=date(2024, 1, 18), activity=activity)
    distribute(organiser, water, quantity=Decimal(10), on=ON, station=make_station(city))
    db.session.commit()
    with force_locale("zh"):
        lines = honour_roll(GivingScope(campaign_id=campaign.id, unit_path=district.path))
        whole_city = honour_roll(GivingScope(campaign_id=campaign.id, unit_path=city.path))
    assert [(line.name, line.value, line.gifts) for line in lines] == [
        ("陈女士", Decimal("5000.00"), ("现金 5,000 元",)),
        ("中国石化", Decimal("4000.00"), ("送水券 40本",)),
    ]
    assert lines[1].activities == 1 and lines[1].served == 120
    assert lines[0].served == 0  # its cash went to no activity
    assert [(line.name, line.value) for line in whole_city][0] == ("中国石化", Decimal("10000.00"))
    assert giving(GivingScope(campaign_id=campaign.id, unit_path=district.path)).value == Decimal(
        "9000.00"
    )
    assert local.receipt_number.startswith("530111-")


def test_cash_handed_to_stations_counts_the_stations_it_reached(
    db, give, city, district, campaign, organiser, activity, make_station
):
    cash = give(city, "石林天外天", kind=DonationKind.CASH, value=3000)
    for station in (make_station(district), make_station(district)):
        distribute(organiser, cash, quantity=Decimal(1000), on=ON, station=station)
    distribute(organiser, cash, quantity=Decimal(1000), on=ON, activity=activity)
    db.session.commit()
    (line,) = honour_roll(GivingScope(campaign_id=campaign.id, unit_path=district.path))
    assert (line.stations, line.activities, line.served) == (3, 1, 120)
    other = give(city, "只送站点", kind=DonationKind.CASH, value=500)
    distribute(organiser, other, quantity=Decimal(500), on=ON, station=make_station(district))
    db.session.commit()
    lines = honour_roll(GivingScope(campaign_id=campaign.id, unit_path=district.path))
    station_only = next(line for line in lines if line.sponsor_id == other.sponsor_id)
    assert (station_only.stations, station_only.activities) == (1, 0)


def test_a_period_counts_gifts_received_in_it(db, give, city, campaign):
    give(city, "美团", quantity=20, value=1200)
    assert giving(GivingScope(campaign_id=campaign.id, start=date(2024, 1, 11))).value == 0
    inside = GivingScope(campaign_id=campaign.id, start=ON, end=ON)
    assert giving(inside).value == Decimal("1200.00")


def test_the_roll_takes_the_same_queries_however_many_sponsors(
    db, give, city, campaign, organiser, activity
):
    def queries() -> int:
        with count_queries(db.engine) as counted:
            honour_roll(GivingScope(campaign_id=campaign.id))
        return counted["n"]

    donation = give(city, "美团", quantity=100, value=1000)
    distribute(organiser, donation, quantity=Decimal(1), on=date(2024, 1, 18), activity=activity)
    db.session.commit()
    few = queries()
    for n in range(8):
        gift = give(city, f"企业{n}", quantity=100, value=1000 + n)
        distribute(organiser, gift, quantity=Decimal(1), on=date(2024, 1, 18), activity=activity)
    db.session.commit()
    assert queries() == few


def test_the_public_pages_show_public_campaigns_only(
    db, client, give, city, campaign, make_campaign
):
    give(city, "美团", quantity=2000, value=120000)
    internal = make_campaign(city, "内部活动", is_public=False)
    page = client.get(f"/sponsors/honour/campaign/{campaign.id}").get_data(as_text=True)
    assert "美团" in page and "120,000.00" in page
    assert client.get(f"/sponsors/honour/campaign/{internal.id}").status_code == 404
    assert "内部活动" not in client.get("/sponsors/honour").get_data(as_text=True)
    assert "美团" in client.get(f"/sponsors/honour/unit/{city.id}").get_data(as_text=True)
    assert client.get("/sponsors/honour/unit/999999").status_code == 404


def test_a_unit_outside_the_campaign_is_not_a_roll(db, client, campaign, make_unit):
    elsewhere = make_unit("曲靖市总工会")
    answer = client.get(f"/sponsors/honour/campaign/{campaign.id}?unit={elsewhere.id}")
    assert answer.status_code == 404


def test_an_activity_page_says_what_was_handed_out_there(
    db, client, give, city, organiser, activity, login
):
    water = give(city, "中国石化", quantity=100, value=10000)
    distribute(organiser, water, quantity=Decimal(40), on=date(2024, 1, 18), activity=activity)
    distribute(organiser, water, quantity=Decimal(2), on=date(2024, 1, 18), activity=activity)
    db.session.commit()
    login(organiser)
    page = client.get(f"/activities/{activity.id}").get_data(as_text=True)
    assert "中国石化 · 送水券: 42 本" in page
