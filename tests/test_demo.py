"""The Kunming demo: the report's figures, counted from the records, its volunteers, shelves and
points; idempotent."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from flask_babel import force_locale
from sqlalchemy import func, select

from inclusive_day.activities.models import Activity, ActivityStatus, Series
from inclusive_day.attendance.identity import person_for
from inclusive_day.attendance.models import CheckIn, Feedback, Headcount, StationVisit
from inclusive_day.attendance.traffic import traffic, traffic_by_station
from inclusive_day.auth.models import User
from inclusive_day.campaigns.models import Campaign, Theme
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
from inclusive_day.demo.points import ACTIVITY_POINTS, DISTRICT_CODES, load_points
from inclusive_day.demo.province_shelf import shelf_stock_is_consistent
from inclusive_day.demo.shelf import FIRST, LAST
from inclusive_day.demo.volunteers import MEMBERS, POINTS_PER_HOUR
from inclusive_day.periods import DEFAULT_ZONE as ZONE
from inclusive_day.periods import local_today
from inclusive_day.points.ledger import account_for
from inclusive_day.points.models import EarnRule, EntryReason, PointAccount, PointEntry, PointRule
from inclusive_day.reports.recap import RecapScope, build_recap, default_period
from inclusive_day.shelf.models import (
    GiverKind,
    Shelf,
    ShelfGift,
    ShelfItem,
    ShelfPersonDay,
    ShelfTaking,
)
from inclusive_day.shelf.queries import shelf_rollup
from inclusive_day.sponsors.honour import GivingScope, honour_roll
from inclusive_day.sponsors.models import Distribution, Donation, Sponsor
from inclusive_day.staffing.models import AdminRole, DutyShift, StationAdmin, Training
from inclusive_day.staffing.queries import duty_in, masters_by_station, on_duty_by_station
from inclusive_day.stations.models import Station
from inclusive_day.units.models import Unit
from inclusive_day.volunteers.models import (
    SessionStatus,
    Volunteer,
    VolunteerSession,
    VolunteerTeam,
)
from inclusive_day.volunteers.queries import service

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


def test_one_load_of_the_demo_tells_kunming_s_story(db, client):
    """One load (the demo takes seconds), every check of what it holds, then a second load
    that changes nothing."""
    lines = []
    result = load_kunming(echo=lines.append)
    db.session.commit()
    _rebuilds_256_activities_and_76800_served(result)
    _the_laba_porridge_day_is_one_series_over_seven_stations(db)
    _door_traffic_at_every_station(db)
    _masters_an_assistant_training_and_duty(db)
    _gives_as_the_report_tells_it(db, result)
    _the_haircut_team_serves_and_earns_points(db, result)
    _four_shelves_over_the_campaign(db, lines)
    _points_in_a_district_and_some_spends(db, lines)
    before = _row_counts(db)
    again = load_kunming(echo=lambda _: None)
    db.session.commit()
    assert again.created is False and _row_counts(db) == before
    _loading_points_again_awards_nothing_more(db)
    db.session.commit()
    _demo_users_reach_what_their_roles_say(client)


def _rebuilds_256_activities_and_76800_served(result):
    figures = campaign_figures(result.campaign_id)
    assert (figures.activities, figures.served) == (256, 76_800)
    # The load is deterministic, so the unique-people figure the README quotes holds exactly.
    assert figures.people == 6_145
    campaign = find_campaign()
    assert campaign.unit.code == "530100" and str(campaign.starts_on) == "2023-10-19"


def _the_laba_porridge_day_is_one_series_over_seven_stations(db):
    series = db.session.scalar(select(Series))
    days = db.session.execute(
        select(Activity.station_id, Activity.starts_at).where(Activity.series_id == series.id)
    ).all()
    assert len({station for station, _ in days}) == 7 and len(series.stations["codes"]) == 7
    assert {str(starts.astimezone(ZONE).date()) for _, starts in days} == {"2024-01-18"}


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


def _demo_users_reach_what_their_roles_say(client):
    client.post("/auth/login", data={"username": "guandu", "password": DEMO_PASSWORD})
    page = client.get("/campaigns/").get_data(as_text=True)
    assert "工会驿站普惠日" in page


def _city(db) -> Unit:
    return db.session.scalar(select(Unit).where(Unit.code == "530100"))


def _door_traffic_at_every_station(db):
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


def _masters_an_assistant_training_and_duty(db):
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


def _gives_as_the_report_tells_it(db, result):
    """Shilin Tianwaitian's water tickets and mineral water, the implants received and handed out
    to grass-roots police at their health checks, and ginger tea called by its name."""
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


def _four_shelves_over_the_campaign(db, lines):
    shelves = db.session.scalars(select(Shelf).order_by(Shelf.id)).all()
    assert len(shelves) == 4 and all(s.is_open for s in shelves)
    assert [s.per_person_day for s in shelves] == [2, None, 3, None]
    names = set(db.session.scalars(select(ShelfItem.name)))
    assert names == {"矿泉水", "雨衣", "毛巾", "防晒袖套", "图书"}
    assert db.session.scalar(select(func.count()).where(ShelfItem.points.is_not(None))) > 0
    # Stock is what was given less what was taken, never below 0; no one passed a limit.
    assert shelf_stock_is_consistent()
    assert db.session.scalar(select(func.min(ShelfItem.stock))) >= 0
    over = db.session.scalar(
        select(func.count())
        .select_from(ShelfPersonDay)
        .join(Shelf, Shelf.station_id == ShelfPersonDay.station_id)
        .where(ShelfPersonDay.taken > Shelf.per_person_day)
    )
    assert over == 0
    # Shilin Tianwaitian's mineral water, and citizens' gifts; takings by several groups.
    water_giver = db.session.scalars(
        select(Sponsor.name)
        .join(ShelfGift, ShelfGift.sponsor_id == Sponsor.id)
        .join(ShelfItem, ShelfItem.id == ShelfGift.item_id)
        .where(ShelfItem.name == "矿泉水")
        .distinct()
    ).all()
    assert any("天外天" in name for name in water_giver)
    kinds = set(db.session.scalars(select(ShelfGift.giver).distinct()))
    assert {GiverKind.SPONSOR, GiverKind.CITIZEN} <= kinds
    assert len(set(db.session.scalars(select(ShelfTaking.group).distinct()))) >= 4
    first_day, last_day = db.session.execute(
        select(func.min(ShelfTaking.taken_on), func.max(ShelfTaking.taken_on))
    ).one()
    assert first_day >= FIRST and last_day <= LAST
    # No phone number is kept: identities only, where a shelf limits per person.
    limited = db.session.scalar(
        select(func.count(ShelfTaking.id)).where(ShelfTaking.identity.is_not(None))
    )
    assert limited > 0
    assert not db.session.scalar(
        select(func.count(ShelfTaking.id)).where(ShelfTaking.identity.like("1990871%"))
    )
    # The city's rollup counts every demo putting and taking, and the line says so.
    city = db.session.scalar(select(Unit).where(Unit.parent_id.is_(None)).order_by(Unit.id))
    rollup = shelf_rollup(city, FIRST, LAST)
    assert rollup.total.takings == db.session.scalar(select(func.count(ShelfTaking.id)))
    assert rollup.open_shelves == 4
    assert any(
        line.startswith("Opened 4 goods-sharing shelves")
        and f"{rollup.total.taken:,} taken in {rollup.total.takings:,} takings" in line
        for line in lines
    )


def _points_in_a_district_and_some_spends(db, lines):
    assert any("Turned on activity points in 1 district(s)" in line for line in lines)
    rules = db.session.execute(
        select(Unit.code, PointRule.rule, PointRule.points)
        .join(Unit, Unit.id == PointRule.unit_id)
        .where(PointRule.rule == EarnRule.ACTIVITY)  # the volunteers' demo sets hours' points
    ).all()
    assert sorted(rules) == [(code, EarnRule.ACTIVITY, ACTIVITY_POINTS) for code in DISTRICT_CODES]

    awards = db.session.scalars(
        select(PointEntry).where(PointEntry.reason == EntryReason.ACTIVITY)
    ).all()
    assert len(awards) > 100 and all(e.delta == ACTIVITY_POINTS for e in awards)
    # Each award is dated at its check-in, and at a station of the two districts.
    checkins = {c.id: c for c in db.session.scalars(select(CheckIn))}
    assert all(e.created_at == checkins[e.checkin_id].checked_in_at for e in awards)
    district = db.session.scalar(select(Unit).where(Unit.code == DISTRICT_CODES[0]))
    paths = db.session.scalars(
        select(Unit.path)
        .join(Station, Station.unit_id == Unit.id)
        .join(PointEntry, PointEntry.station_id == Station.id)
        .where(PointEntry.reason == EntryReason.ACTIVITY)
    ).all()
    assert paths and all(path.startswith(district.path) for path in paths)
    unawarded = db.session.scalar(
        select(func.count(CheckIn.id)).where(
            CheckIn.id.not_in(
                select(PointEntry.checkin_id).where(PointEntry.checkin_id.is_not(None))
            )
        )
    )
    assert unawarded > 0  # the other districts award nothing

    spends = db.session.scalars(select(PointEntry).where(PointEntry.delta < 0)).all()
    assert spends and {e.note for e in spends} <= {"免费理发券", "手机充电线"}
    # The ledger adds up: each balance is the sum of its entries, and each entry's balance
    # after is the running sum.
    for account in db.session.scalars(select(PointAccount)):
        entries = db.session.scalars(
            select(PointEntry).where(PointEntry.account_id == account.id).order_by(PointEntry.id)
        ).all()
        running = 0
        for entry in entries:
            running += entry.delta
            assert entry.balance_after == running >= 0
        assert account.balance == running


def _loading_points_again_awards_nothing_more(db):
    before = db.session.scalar(select(func.count(PointEntry.id)))
    again = load_points(echo=lambda _: None)
    assert again.earned == 0
    assert db.session.scalar(select(func.count(PointEntry.id))) - before == again.spends


def _the_haircut_team_serves_and_earns_points(db, result):
    team = db.session.scalars(select(VolunteerTeam)).one()
    assert team.name == "财贸爱心服务站义剪志愿服务队"
    assert team.sponsor is not None and team.sponsor.name == team.name
    assert team.unit_id == team.sponsor.unit_id  # 盘龙区 (PL)
    members = list(db.session.scalars(select(Volunteer).where(Volunteer.team_id == team.id)))
    assert len(members) == len(MEMBERS) == 8
    assert sum(1 for m in members if m.identity) == 5
    assert all(m.skills == "haircut" for m in members)
    statuses = dict(
        db.session.execute(
            select(VolunteerSession.status, func.count()).group_by(VolunteerSession.status)
        ).all()
    )
    assert statuses[SessionStatus.LOGGED] == 4
    assert statuses[SessionStatus.CONFIRMED] >= 20
    with_activity = db.session.scalar(
        select(func.count()).where(VolunteerSession.activity_id.is_not(None))
    )
    assert with_activity > 0
    served = service(VolunteerSession.team_id == team.id)
    assert served.minutes > 0 and served.served > 0 and len(served.stations) > 1
    # Confirmed hours earned 10 points a hour for the members who have an identity.
    earned = db.session.scalar(
        select(func.coalesce(func.sum(PointEntry.delta), 0)).where(
            PointEntry.reason == EntryReason.VOLUNTEER_HOURS
        )
    )
    minutes_with_identity = db.session.scalar(
        select(func.sum(VolunteerSession.minutes))
        .join(Volunteer, Volunteer.id == VolunteerSession.volunteer_id)
        .where(VolunteerSession.status == SessionStatus.CONFIRMED, Volunteer.identity.is_not(None))
    )
    assert 0 < earned <= minutes_with_identity * POINTS_PER_HOUR // 60
    assert account_for(person_for(MEMBERS[0][1])).balance > 0
    # The city's recap counts them.
    campaign = db.session.get(Campaign, result.campaign_id)
    recap = build_recap(RecapScope(campaign.id, campaign.unit_id, *default_period(campaign)))
    assert recap.volunteers.teams == 1
    assert recap.volunteers.sessions == statuses[SessionStatus.CONFIRMED]
