"""Campaigns: create and edit, who may, dates against scheduled activities, the campaign page."""

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import func, select

from inclusive_day.auth.models import Role
from inclusive_day.campaigns.models import Campaign
from inclusive_day.campaigns.services import CampaignError, activities_outside, update_campaign
from inclusive_day.campaigns.targets import TargetValues, set_targets
from inclusive_day.database import utcnow
from tests.conftest import count_queries


@pytest.fixture
def world(db, make_unit, make_station, make_campaign, make_user):
    """A city with two districts, a city campaign (2023-10-19 to 2024-02-26), and users."""
    city = make_unit("City", make_unit("Province"))
    a = make_unit("District A", city)
    b = make_unit("District B", city)
    return {
        "city": city,
        "a": a,
        "b": b,
        "station": make_station(a),
        "campaign": make_campaign(city, "City Inclusive Day"),
        "users": {
            "admin": make_user(Role.ADMIN),
            "city": make_user(Role.ORGANISER, city),
            "district": make_user(Role.ORGANISER, a),
            "viewer": make_user(Role.VIEWER, city),
        },
    }


def _data(unit, **kw) -> dict:
    data = {
        "unit": str(unit.id),
        "name": "Spring Service Season",
        "starts_on": "2024-03-01",
        "ends_on": "2024-05-31",
        "description": "Free haircuts and tea.",
        "audience": "public",
    }
    data.update(kw)
    return data


def _count(db) -> int:
    return db.session.scalar(select(func.count(Campaign.id)))


def test_an_organiser_starts_a_campaign_for_a_unit_in_reach(db, world, client, login):
    login(world["users"]["district"])
    response = client.post("/campaigns/new", data=_data(world["a"], audience="internal"))
    assert response.status_code == 302
    campaign = db.session.scalar(select(Campaign).where(Campaign.name == "Spring Service Season"))
    assert response.headers["Location"].endswith(f"/campaigns/{campaign.id}")
    assert (campaign.unit_id, campaign.starts_on, campaign.ends_on) == (
        world["a"].id,
        date(2024, 3, 1),
        date(2024, 5, 31),
    )
    assert campaign.description == "Free haircuts and tea." and campaign.is_public is False


def test_a_campaign_may_have_an_open_end(db, world, client, login):
    login(world["users"]["city"])
    client.post("/campaigns/new", data=_data(world["city"], ends_on=""))
    campaign = db.session.scalar(select(Campaign).where(Campaign.name == "Spring Service Season"))
    assert campaign.ends_on is None and campaign.is_public is True


@pytest.mark.parametrize(
    "bad",
    [
        {"ends_on": "2024-02-01"},  # before the start
        {"name": ""},
        {"starts_on": ""},
        {"starts_on": "2024-13-01"},
    ],
)
def test_bad_input_writes_nothing(db, world, client, login, bad):
    login(world["users"]["city"])
    before = _count(db)
    response = client.post("/campaigns/new", data=_data(world["city"], **bad))
    assert response.status_code == 200
    assert 'class="invalid-feedback' in response.get_data(as_text=True)
    assert _count(db) == before


def test_end_before_start_says_so(world, client, login):
    login(world["users"]["city"])
    page = client.post("/campaigns/new", data=_data(world["city"], ends_on="2024-02-01"))
    assert "The campaign cannot end before it starts." in page.get_data(as_text=True)


def test_a_district_cannot_own_or_edit_the_citys_campaign(db, world, client, login):
    login(world["users"]["district"])
    page = client.get("/campaigns/new").get_data(as_text=True)
    assert "District A" in page and f'value="{world["city"].id}"' not in page
    before = _count(db)
    assert client.post("/campaigns/new", data=_data(world["city"])).status_code == 200
    assert _count(db) == before
    campaign = world["campaign"]
    assert client.get(f"/campaigns/{campaign.id}/edit").status_code == 404
    response = client.post(f"/campaigns/{campaign.id}/edit", data=_data(world["a"], name="Mine"))
    assert response.status_code == 404
    db.session.expire_all()
    assert db.session.get(Campaign, campaign.id).name == "City Inclusive Day"
    assert "/edit" not in client.get(f"/campaigns/{campaign.id}").get_data(as_text=True)


def test_a_viewer_can_neither_start_nor_edit_a_campaign(world, client, login):
    login(world["users"]["viewer"])
    assert client.get("/campaigns/new").status_code == 404
    assert client.get(f"/campaigns/{world['campaign'].id}/edit").status_code == 404
    index = client.get("/campaigns/").get_data(as_text=True)
    assert "City Inclusive Day" in index and "New campaign" not in index


def test_the_buttons_show_for_those_who_may(world, client, login):
    login(world["users"]["city"])
    assert "New campaign" in client.get("/campaigns/").get_data(as_text=True)
    page = client.get(f"/campaigns/{world['campaign'].id}").get_data(as_text=True)
    assert f"/campaigns/{world['campaign'].id}/edit" in page


def test_editing_changes_the_campaign(db, world, client, login):
    login(world["users"]["city"])
    campaign = world["campaign"]
    form = client.get(f"/campaigns/{campaign.id}/edit").get_data(as_text=True)
    assert 'value="City Inclusive Day"' in form and 'value="2023-10-19"' in form
    response = client.post(
        f"/campaigns/{campaign.id}/edit",
        data=_data(world["city"], name="Renamed", starts_on="2023-10-01", ends_on=""),
    )
    assert response.status_code == 302
    db.session.expire_all()
    campaign = db.session.get(Campaign, campaign.id)
    assert (campaign.name, campaign.starts_on, campaign.ends_on) == (
        "Renamed",
        date(2023, 10, 1),
        None,
    )


@pytest.fixture
def scheduled(db, world, make_activity):
    """Two activities on the campaign's last days and a cancelled one on its first (local)."""
    c, station = world["campaign"], world["station"]
    # 2024-02-25 and 2024-02-26 in China; 2023-10-19 00:30 in China is still the 18th in UTC.
    make_activity(station, c, starts_at=datetime(2024, 2, 25, 2, tzinfo=UTC))
    make_activity(
        station, c, starts_at=datetime(2024, 2, 26, 15, 30, tzinfo=UTC) - timedelta(hours=1)
    )
    cancelled = make_activity(station, c, starts_at=datetime(2023, 10, 18, 16, 30, tzinfo=UTC))
    cancelled.cancel("weather")
    db.session.commit()
    return c


def test_activities_outside_counts_in_local_days(world, scheduled):
    assert activities_outside(scheduled, date(2023, 10, 19), date(2024, 2, 26)) == (0, 0)
    assert activities_outside(scheduled, date(2023, 10, 19), date(2024, 2, 25)) == (0, 1)
    assert activities_outside(scheduled, date(2023, 10, 19), date(2024, 2, 24)) == (0, 2)
    # The cancelled activity on the first day does not hold the start back.
    assert activities_outside(scheduled, date(2023, 10, 20), None) == (0, 0)
    assert activities_outside(scheduled, date(2024, 2, 26), None) == (1, 0)


def test_narrowing_the_dates_past_activities_says_how_many_and_writes_nothing(
    db, world, scheduled, client, login
):
    login(world["users"]["city"])
    response = client.post(
        f"/campaigns/{scheduled.id}/edit",
        data=_data(world["city"], name="Renamed", starts_on="2023-10-19", ends_on="2024-02-20"),
    )
    assert response.status_code == 200
    assert "2 activities of this campaign would fall outside these dates" in response.get_data(
        as_text=True
    )
    db.session.expire_all()
    campaign = db.session.get(Campaign, scheduled.id)
    assert (campaign.name, campaign.ends_on) == ("City Inclusive Day", date(2024, 2, 26))


def test_the_owner_cannot_move_to_a_unit_without_the_activities(db, world, scheduled):
    with pytest.raises(CampaignError) as error:
        update_campaign(scheduled, world["b"], "x", date(2023, 10, 19), date(2024, 2, 26))
    assert error.value.field == "unit"
    db.session.rollback()
    moved = update_campaign(scheduled, world["a"], "x", date(2023, 10, 19), date(2024, 2, 26))
    assert moved.unit_id == world["a"].id


def test_the_campaign_page_lists_what_is_coming_up(db, world, client, login, make_activity):
    c = world["campaign"]
    c.ends_on = None
    db.session.commit()
    soon = utcnow() + timedelta(days=2)
    make_activity(world["station"], c, starts_at=soon, title="Tea at the station")
    make_activity(
        world["station"], c, starts_at=datetime(2023, 11, 1, tzinfo=UTC), title="Long past"
    )
    login(world["users"]["city"])
    page = client.get(f"/campaigns/{c.id}").get_data(as_text=True)
    assert "Coming up" in page
    assert "Tea at the station" in page and "Long past" not in page


def test_the_campaign_page_and_list_show_progress_against_targets(
    db, world, client, login, make_activity
):
    c = world["campaign"]
    make_activity(world["station"], c, starts_at=datetime(2024, 1, 5, tzinfo=UTC))
    set_targets(c, {world["city"].id: TargetValues(activities=4, served=None, stations=2)})
    db.session.commit()
    login(world["users"]["city"])
    page = client.get(f"/campaigns/{c.id}").get_data(as_text=True)
    assert "Progress against targets" in page
    assert "25%" in page and "50%" in page  # 1 of 4 activities, 1 of 2 stations
    assert f"/campaigns/{c.id}/targets" in page
    index = client.get("/campaigns/").get_data(as_text=True)
    assert "25%" in index and 'role="progressbar"' in index


def test_a_district_sees_its_own_share_of_a_city_campaign(db, world, client, login, make_activity):
    c = world["campaign"]
    make_activity(world["station"], c, starts_at=datetime(2024, 1, 5, tzinfo=UTC))
    set_targets(c, {world["city"].id: TargetValues(100), world["a"].id: TargetValues(2)})
    db.session.commit()
    login(world["users"]["district"])
    page = client.get(f"/campaigns/{c.id}").get_data(as_text=True)
    assert "District A" in page and "50%" in page and "1%" not in page


def test_the_list_takes_the_same_number_of_queries_with_more_campaigns_and_targets(
    db, world, client, login, make_campaign
):
    login(world["users"]["district"])

    def queries() -> int:
        with count_queries(db.engine) as n:
            assert client.get("/campaigns/").status_code == 200
        return n["n"]

    small = queries()
    for _ in range(4):
        campaign = make_campaign(world["a"])
        set_targets(campaign, {world["a"].id: TargetValues(3, 30, 1)})
    db.session.commit()
    assert queries() == small
