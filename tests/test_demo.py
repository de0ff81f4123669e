"""The Kunming demo: the report's figures, counted from the records; idempotent."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from flask_babel import force_locale
from sqlalchemy import func, select

from inclusive_day.activities.models import Activity, ActivityStatus, Series
from inclusive_day.attendance.models import CheckIn, Feedback, Headcount, StationVisit
from inclusive_day.attendance.traffic import traffic, traffic_by_station
from inclusive_day.auth.models import User
from inclusive_day.campaigns.models import Theme
from inclusive_day.demo.kunming import (
    DEMO_PASSWORD,
    apportion,
    campaign_figures,
    find_campaign,
    load_kunming,
)
from inclusive_day.demo.kunming_running import (
    CAMPAIGN,
    CAMPAIGN_VISITS,
    RECENT_DAYS,
    RECENT_VISITS,
)
from inclusive_day.periods import DEFAULT_ZONE as ZONE
from inclusive_day.periods import local_today
from inclusive_day.sponsors.honour import GivingScope, honour_roll
from inclusive_day.sponsors.models import Distribution, Donation
from inclusive_day.staffing.models import AdminRole, DutyShift, StationAdmin, Training
from inclusive_day.staffing.queries import duty_in, masters_by_station, on_duty_by_station
from inclusive_day.stations.models import Station
from inclusive_day.units.models import Unit

COUNTED = (
    Unit,
    Station,
    Activity,
    CheckIn,
    Headcount,
    User,
    StationVisit,
    Feedback,
    StationAdmin,
    Training,
    DutyShift,
)


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


def _city(db) -> Unit:
    return db.session.scalar(select(Unit).where(Unit.code == "530100"))


def test_the_demo_loads_door_traffic_at_every_station(db):
    load_kunming(echo=lambda _: None)
    db.session.commit()
    city = _city(db)
    stations = db.session.scalars(select(Station.id).where(Station.under(city.path))).all()
    per_station = traffic_by_station(stations)
    assert set(per_station) == set(stations)
    total = traffic(city.path)
    assert total.visits == CAMPAIGN_VISITS + RECENT_VISITS
    assert total.visitors < total.visits / 2
    assert traffic(city.path, *CAMPAIGN).visits == CAMPAIGN_VISITS
    today = local_today()
    recent = traffic(city.path, today - timedelta(days=RECENT_DAYS - 1), today)
    assert recent.visits == RECENT_VISITS
    # The busiest station sees many times the quietest's traffic.
    counts = sorted(t.visits for t in per_station.values())
    assert counts[-1] > 5 * counts[0]
    # One visit per person, station and day; some on the days a station held an activity.
    visits = db.session.execute(
        select(StationVisit.station_id, StationVisit.identity, StationVisit.visit_day)
    ).all()
    assert len(set(visits)) == len(visits)
    held = {
        (station_id, starts.astimezone(ZONE).date())
        for station_id, starts in db.session.execute(
            select(Activity.station_id, Activity.starts_at).where(
                Activity.status == ActivityStatus.SCHEDULED
            )
        )
    }
    assert sum((station_id, day) in held for station_id, _i, day in visits) > 100
    feedback = db.session.scalars(select(Feedback)).all()
    assert feedback and all(f.rating is None or 1 <= f.rating <= 5 for f in feedback)
    assert any(f.comment for f in feedback)


def test_the_demo_has_masters_an_assistant_training_and_duty(db):
    load_kunming(echo=lambda _: None)
    db.session.commit()
    city = _city(db)
    stations = select(Station.id).where(Station.under(city.path))
    masters = masters_by_station(stations)
    assert len(masters) >= 10
    # The demo's station account is the master of its station, on duty now.
    account = db.session.scalar(select(User).where(User.username == "station"))
    mine = db.session.scalar(select(StationAdmin).where(StationAdmin.user_id == account.id))
    assert mine.role is AdminRole.MASTER and mine.station_id == account.grants[0].station_id
    assert masters[mine.station_id].id == mine.id
    assert on_duty_by_station(stations) == {mine.station_id: [mine.name]}
    assistants = db.session.scalars(
        select(StationAdmin).where(StationAdmin.role == AdminRole.ASSISTANT)
    ).all()
    assert len(assistants) == 1 and assistants[0].station_id in masters
    trainings = db.session.scalars(select(Training)).all()
    assert len({t.admin_id for t in trainings}) >= 8
    assert all(t.admin.since <= t.taken_on <= local_today() for t in trainings)
    shifts = db.session.scalars(select(DutyShift)).all()
    assert {s.station_id for s in shifts} <= set(masters)
    assert all(s.ended_at is None or s.started_at <= s.ended_at for s in shifts)
    today = local_today()
    assert sum(s.day == today for s in shifts) == 3
    duty = duty_in(city.path, *CAMPAIGN, now=datetime.now(UTC))
    assert duty.attended > 0 and duty.expected > duty.attended


def test_apportion_keeps_the_total_exact():
    parts = apportion(76_800, [1.0, 2.5, 0.7, 3.3])
    assert sum(parts) == 76_800 and all(p >= 0 for p in parts)


def test_the_demo_gives_as_the_report_tells_it(db):
    """Shilin Tianwaitian's water tickets and mineral water, the implants received and handed out
    to grass-roots police at their health checks, and ginger tea called by its name."""
    result = load_kunming(echo=lambda _: None)
    db.session.commit()
    with force_locale("zh"):
        roll = {line.name: line for line in honour_roll(GivingScope(result.campaign_id))}
    tianwaitian = roll["石林天外天"]
    assert any("送水券" in gift for gift in tianwaitian.gifts)
    assert any("致敬户外劳动者" in gift for gift in tianwaitian.gifts)
    assert tianwaitian.value >= Decimal("100000")
    implants = roll["昆明德韩口腔医院"]
    assert implants.gifts == ("为基层民辅警免费种植牙 100颗",)
    given_at = db.session.scalars(
        select(Activity.title)
        .join(Distribution, Distribution.activity_id == Activity.id)
        .join(Donation, Donation.id == Distribution.donation_id)
        .where(Donation.description.contains("种植牙"))
    ).all()
    assert len(given_at) == 10 and all("暖警助警" in title for title in given_at)
    titles = set(
        db.session.scalars(select(Activity.title).join(Theme).where(Theme.code == "warming_drinks"))
    )
    assert titles and all("姜茶" in t and "送温暖" not in t for t in titles)
