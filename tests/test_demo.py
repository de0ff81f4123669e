"""The Kunming demo: the report's figures, counted from the records; idempotent."""

from sqlalchemy import func, select

from inclusive_day.activities.models import Activity, Series
from inclusive_day.attendance.models import CheckIn, Headcount
from inclusive_day.auth.models import User
from inclusive_day.demo.kunming import (
    DEMO_PASSWORD,
    apportion,
    campaign_figures,
    find_campaign,
    load_kunming,
)
from inclusive_day.periods import DEFAULT_ZONE as ZONE
from inclusive_day.stations.models import Station
from inclusive_day.units.models import Unit

COUNTED = (Unit, Station, Activity, CheckIn, Headcount, User)


def _row_counts(db) -> dict[str, int]:
    return {m.__name__: db.session.scalar(select(func.count()).select_from(m)) for m in COUNTED}


def test_the_demo_rebuilds_256_activities_and_76800_served(db):
    result = load_kunming(echo=lambda _: None)
    db.session.commit()
    figures = campaign_figures(result.campaign_id)
    assert (figures.activities, figures.served) == (256, 76_800)
    # The load is deterministic, so the unique-people figure the README quotes holds exactly.
    assert figures.people == 6_145
    campaign = find_campaign()
    assert campaign.unit.code == "530100" and str(campaign.starts_on) == "2023-10-19"


def test_the_laba_porridge_day_is_one_series_over_seven_stations(db):
    load_kunming(echo=lambda _: None)
    db.session.commit()
    series = db.session.scalar(select(Series))
    days = db.session.execute(
        select(Activity.station_id, Activity.starts_at).where(Activity.series_id == series.id)
    ).all()
    assert len({station for station, _ in days}) == 7 and len(series.stations["codes"]) == 7
    assert {str(starts.astimezone(ZONE).date()) for _, starts in days} == {"2024-01-18"}


def test_loading_the_demo_twice_changes_nothing(db):
    load_kunming(echo=lambda _: None)
    db.session.commit()
    before = _row_counts(db)
    result = load_kunming(echo=lambda _: None)
    db.session.commit()
    assert result.created is False
    assert _row_counts(db) == before


def test_the_command_prints_the_figures_and_the_logins(runner):
    result = runner.invoke(args=["demo", "load"])
    assert result.exit_code == 0, result.output
    assert "activities:    256" in result.output
    assert "served:        76800" in result.output
    for username in ("admin", "kunming", "guandu", "viewer", "station", "sponsor"):
        assert f"\n{username} " in result.output


def test_if_empty_leaves_a_database_with_its_own_units_alone(runner, db, make_unit):
    make_unit("某省总工会")
    result = runner.invoke(args=["demo", "load", "--if-empty"])
    assert result.exit_code == 0
    assert "not loaded" in result.output
    assert db.session.scalar(select(func.count(Activity.id))) == 0


def test_demo_users_reach_what_their_roles_say(client, db):
    load_kunming(echo=lambda _: None)
    db.session.commit()
    client.post("/auth/login", data={"username": "guandu", "password": DEMO_PASSWORD})
    page = client.get("/campaigns/").get_data(as_text=True)
    assert "工会驿站普惠日" in page


def test_apportion_keeps_the_total_exact():
    parts = apportion(76_800, [1.0, 2.5, 0.7, 3.3])
    assert sum(parts) == 76_800 and all(p >= 0 for p in parts)
