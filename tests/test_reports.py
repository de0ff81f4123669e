"""The recap's figures: the Kunming demo to the last person, breakdowns that add up, China's
months, empty scopes, a constant number of queries, and who may see which recap."""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from flask_babel import force_locale
from sqlalchemy import select

from inclusive_day.activities.models import Activity
from inclusive_day.analytics.refresh import refresh
from inclusive_day.attendance.identity import identity_for
from inclusive_day.attendance.models import BeneficiaryGroup, CheckIn, Headcount
from inclusive_day.auth.models import Role
from inclusive_day.campaigns.models import Campaign
from inclusive_day.campaigns.targets import TargetValues, progress, set_targets
from inclusive_day.demo.kunming import load_kunming
from inclusive_day.periods import Month, month_index
from inclusive_day.reports.recap import (
    RecapScope,
    ReportError,
    build_recap,
    check_period,
    default_period,
    station_lines,
)
from inclusive_day.units.models import Unit
from tests.conftest import count_queries

CHINA_NOON = 4  # 12:00 in China is 04:00 UTC


def _at(day: date, hour_utc: int = CHINA_NOON) -> datetime:
    return datetime(day.year, day.month, day.day, hour_utc, tzinfo=UTC)


def _checkins(db, activity, count: int, start: int = 0, group=BeneficiaryGroup.RIDER, **kw):
    db.session.add_all(
        CheckIn(
            activity=activity,
            identity=identity_for(f"139{n:08d}"),
            group=group,
            nonce=f"{activity.id}-{n}",
            **kw,
        )
        for n in range(start, start + count)
    )


@pytest.fixture
def kunming(db):
    """The Kunming demo campaign, loaded."""
    result = load_kunming(echo=lambda _: None)
    db.session.commit()
    campaign = db.session.get(Campaign, result.campaign_id)
    start, end = default_period(campaign)
    return campaign, RecapScope(campaign.id, campaign.unit_id, start, end)


@pytest.fixture
def city(db, make_unit, make_station, make_campaign, make_activity):
    """A city with two districts (one with a street), a station at the city itself, a campaign
    with headcounts, check-ins (one annulled), a cancelled activity and another campaign."""
    province = make_unit("云南省总工会")
    city = make_unit("昆明市总工会", province)
    guandu = make_unit("官渡区总工会", city)
    street = make_unit("关上街道工会", guandu)
    panlong = make_unit("盘龙区总工会", city)
    stations = {
        "street": make_station(street, "关上街道工会驿站"),
        "guandu": make_station(guandu, "官渡区骑手之家"),
        "panlong": make_station(panlong, "拓东街道工会驿站"),
        "city": make_station(city, "市总工会驿站"),
    }
    campaign = make_campaign(city, "工会驿站普惠日")
    other = make_campaign(city, "另一个活动")
    a1 = make_activity(stations["street"], campaign, starts_at=_at(date(2023, 11, 5)))
    a2 = make_activity(stations["guandu"], campaign, starts_at=_at(date(2024, 1, 18)))
    a3 = make_activity(stations["panlong"], campaign, starts_at=_at(date(2024, 1, 20)))
    a4 = make_activity(stations["city"], campaign, starts_at=_at(date(2023, 12, 1)))
    cancelled = make_activity(stations["panlong"], campaign, starts_at=_at(date(2024, 2, 1)))
    cancelled.cancel("暴雨")
    elsewhere = make_activity(stations["street"], other, starts_at=_at(date(2024, 1, 2)))
    db.session.add_all(
        [
            Headcount(activity=a1, group=BeneficiaryGroup.COURIER, count=40),
            Headcount(activity=a2, group=BeneficiaryGroup.SANITATION, count=25),
            Headcount(activity=a3, group=BeneficiaryGroup.COURIER, count=10),
            Headcount(activity=a4, group=BeneficiaryGroup.POLICE, count=7),
            Headcount(activity=elsewhere, group=BeneficiaryGroup.COURIER, count=1000),
        ]
    )
    _checkins(db, a1, 5)  # people 0-4
    _checkins(db, a2, 3, start=3)  # people 3-5: 3 and 4 came twice
    _checkins(db, a2, 1, start=50, annulled_at=_at(date(2024, 1, 18)), annul_reason="错扫")
    db.session.commit()
    return {
        "province": province,
        "city": city,
        "guandu": guandu,
        "street": street,
        "panlong": panlong,
        "campaign": campaign,
        "stations": stations,
        "scope": RecapScope(campaign.id, city.id, date(2023, 10, 19), date(2024, 2, 26)),
    }


# --- Figures ---------------------------------------------------------------------------------


def test_the_kunming_recap_counts_256_activities_and_76800_served(kunming):
    _campaign, scope = kunming
    recap = build_recap(scope)
    h = recap.headline
    assert (h.activities, h.served, h.people) == (256, 76_800, 6_145)
    assert h.planned == 0 and h.stations > 0
    # Every breakdown adds up to the headline, to the last person.
    for lines in (recap.units, recap.themes, recap.months):
        assert sum(line.served for line in lines) == 76_800
        assert sum(line.activities for line in lines) == 256
    assert sum(g.served for g in recap.groups) == 76_800
    assert sum(u.stations for u in recap.units) == h.stations
    assert [m.name for m in recap.months] == [
        "2023年10月",
        "2023年11月",
        "2023年12月",
        "2024年1月",
        "2024年2月",
    ]
    assert len(recap.stations) == 10
    assert recap.stations == sorted(recap.stations, key=lambda s: -s.served)
    assert h.sponsors == len({line.sponsor_id for line in recap.honour}) and h.value > 0


def test_sub_units_hold_their_whole_subtree_and_the_units_own_stations(city):
    recap = build_recap(city["scope"])
    by_name = {line.name: line for line in recap.units}
    # Guandu: its street's activity (40 + 5 check-ins) and its own (25 + 3, one annulled).
    assert by_name["官渡区总工会"].served == 73 and by_name["官渡区总工会"].activities == 2
    assert by_name["盘龙区总工会"].served == 10 and by_name["盘龙区总工会"].activities == 1
    own = [line for line in recap.units if line.key == str(city["city"].id)]
    assert own and own[0].served == 7
    assert recap.headline.served == 90 == sum(line.served for line in recap.units)
    assert recap.headline.activities == 4  # the cancelled one is not held
    assert recap.headline.people == 6  # people 0-5; the annulled check-in does not count
    assert recap.headline.stations == 4
    groups = {g.key: g.served for g in recap.groups}
    assert groups == {"courier": 50, "sanitation": 25, "police": 7, "rider": 8}


def test_a_recap_counts_the_same_people_from_the_raw_rows_and_from_the_bitmaps(db, city):
    """Before the analytics refresh every month is counted from the raw check-ins; after it,
    from the people bitmaps: the recap's figures do not change."""
    before = build_recap(city["scope"])
    assert refresh().bitmaps > 0
    db.session.commit()
    after = build_recap(city["scope"])
    assert after.headline == before.headline and after.headline.people == 6
    assert after.traffic == before.traffic


def test_a_district_recap_counts_only_its_subtree(city):
    scope = dataclasses.replace(city["scope"], unit_id=city["guandu"].id)
    recap = build_recap(scope)
    assert (recap.headline.activities, recap.headline.served) == (2, 73)
    assert [line.name for line in recap.units] == [
        "关上街道工会",
        "官渡区总工会（本级驿站）",
    ]


def test_the_period_limits_the_figures(city):
    scope = dataclasses.replace(city["scope"], start=date(2024, 1, 1), end=date(2024, 1, 31))
    recap = build_recap(scope)
    assert (recap.headline.activities, recap.headline.served) == (2, 38)
    assert [m.name for m in recap.months] == ["2024年1月"]
    assert not recap.whole_campaign


def test_months_are_chinas_months_on_every_database(db, city, make_activity):
    """23:30 on 31 January in China is 15:30 UTC: January. 00:30 on 1 February in China is
    16:30 UTC on 31 January: February."""
    late = make_activity(
        city["stations"]["panlong"],
        city["campaign"],
        starts_at=datetime(2024, 1, 31, 15, 30, tzinfo=UTC),
    )
    early = make_activity(
        city["stations"]["panlong"],
        city["campaign"],
        starts_at=datetime(2024, 1, 31, 16, 30, tzinfo=UTC),
    )
    db.session.add_all(
        [
            Headcount(activity=late, group=BeneficiaryGroup.DRIVER, count=100),
            Headcount(activity=early, group=BeneficiaryGroup.DRIVER, count=1000),
        ]
    )
    db.session.commit()
    recap = build_recap(city["scope"])
    months = {m.name: m.served for m in recap.months}
    assert months["2024年1月"] == 38 + 100
    assert months["2024年2月"] == 1000
    index = month_index(Activity.starts_at, [Month(2024, 1), Month(2024, 2)])
    found = dict(
        db.session.execute(
            select(Activity.id, index).where(Activity.id.in_([late.id, early.id]))
        ).all()
    )
    assert found == {late.id: 0, early.id: 1}


def test_planned_activities_are_apart_from_held(city):
    now = _at(date(2024, 1, 19))
    recap = build_recap(city["scope"], now=now)
    # a3 (20 January) has not started yet at `now`.
    assert (recap.headline.activities, recap.headline.planned) == (3, 1)


def test_an_empty_scope_gives_zeros_not_an_error(db, make_unit, make_campaign):
    unit = make_unit("空白区总工会")
    campaign = make_campaign(unit)
    recap = build_recap(RecapScope(campaign.id, unit.id, date(2024, 1, 1), date(2024, 3, 31)))
    h = recap.headline
    assert (h.activities, h.served, h.people, h.stations, h.sponsors) == (0, 0, 0, 0, 0)
    assert h.value == Decimal("0.00")
    assert [m.served for m in recap.months] == [0, 0, 0]
    assert recap.themes == recap.groups == recap.stations == recap.honour == []
    assert station_lines(recap.scope) == []


def test_english_labels(city):
    with force_locale("en"):
        recap = build_recap(city["scope"])
    assert [m.name for m in recap.months][:2] == ["Oct 2023", "Nov 2023"]
    assert {g.name for g in recap.groups} >= {"courier", "police"}
    assert recap.themes[0].name == "Free haircut"


def test_periods_that_make_no_sense_are_refused():
    with pytest.raises(ReportError) as error:
        check_period(date(2024, 2, 1), date(2024, 1, 31))
    assert error.value.field == "to"
    with pytest.raises(ReportError):
        check_period(date(2000, 1, 1), date(2024, 1, 31))
    check_period(date(2024, 1, 31), date(2024, 1, 31))


def test_targets_against_the_recap_match_the_campaign_progress(db, city):
    campaign, guandu = city["campaign"], city["guandu"]
    set_targets(
        campaign,
        {
            city["city"].id: TargetValues(activities=10, served=200, stations=5),
            guandu.id: TargetValues(activities=4, served=100),
        },
    )
    db.session.commit()
    recap = build_recap(city["scope"])
    expected = progress(campaign, [city["city"], guandu, city["panlong"]], datetime.now(UTC))
    lines = {t.unit_id: t for t in recap.targets}
    for unit_id, p in expected.items():
        for name, measure in p.measures:
            assert getattr(lines[unit_id], name) == measure, (unit_id, name)
    own = lines[city["city"].id]
    assert own.is_own and own.activities.percent == 40 and own.served.percent == 45
    assert recap.has_targets


def test_the_recap_holds_plain_values_only(city):
    """What the PDF template receives: numbers, text, dates and dataclasses of them."""
    recap = build_recap(city["scope"])
    allowed = (int, float, str, Decimal, date, type(None), bool)

    def check(value, where):
        if dataclasses.is_dataclass(value):
            for f in dataclasses.fields(value):
                check(getattr(value, f.name), f"{where}.{f.name}")
        elif isinstance(value, list | tuple):
            for i, item in enumerate(value):
                check(item, f"{where}[{i}]")
        else:
            assert isinstance(value, allowed), (where, type(value))

    check(recap, "recap")


def test_the_recap_takes_the_same_number_of_queries_however_big_the_tree(
    db, city, make_unit, make_station, make_activity
):
    def queries() -> int:
        db.session.expire_all()
        with count_queries(db.engine) as n:
            build_recap(city["scope"])
        return n["n"]

    small = queries()
    for i in range(6):
        district = make_unit(f"第{i}区总工会", city["city"])
        street = make_unit(f"第{i}街道工会", district)
        for _ in range(2):
            station = make_station(street)
            activity = make_activity(station, city["campaign"], starts_at=_at(date(2024, 1, 5)))
            _checkins(db, activity, 3)
    db.session.commit()
    assert queries() == small
    # 19 statements of figures (the volunteer hours the last; distinct people and visitors
    # each look at the analytics queue, the bitmaps and the raw rows of the months still
    # queued); PostgreSQL adds analytic_transaction's SET LOCAL jit = off.
    assert small <= (20 if db.engine.dialect.name == "postgresql" else 19)


# --- Pages and access ------------------------------------------------------------------------


def test_the_recap_page_shows_the_figures(client, login, make_user, city):
    login(make_user(Role.VIEWER, city["city"]))
    response = client.get(f"/reports/recap?campaign={city['campaign'].id}")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert '<div class="figure-value">90</div>' in page
    assert "官渡区总工会" in page and "<svg" in page
    assert f"/reports/recap.pdf?campaign={city['campaign'].id}" in page


def test_the_recap_page_in_chinese(client, login, make_user, city):
    login(make_user(Role.ADMIN))
    page = client.get(
        f"/reports/recap?campaign={city['campaign'].id}", headers={"Accept-Language": "zh"}
    ).get_data(as_text=True)
    assert "2023年10月" in page and "服务人次" in page


def test_without_a_campaign_the_page_offers_the_campaigns(client, login, make_user, city):
    login(make_user(Role.VIEWER, city["guandu"]))
    page = client.get("/reports/recap").get_data(as_text=True)
    assert "工会驿站普惠日" in page


def test_a_period_ending_before_it_starts_is_shown_on_the_form(client, login, make_user, city):
    login(make_user(Role.ADMIN))
    base = f"/reports/recap?campaign={city['campaign'].id}&from=2024-02-01&to=2024-01-01"
    response = client.get(base)
    assert response.status_code == 400
    assert "The period ends before it starts" in response.get_data(as_text=True)
    pdf = client.get(base.replace("/recap?", "/recap.pdf?"))
    assert pdf.status_code == 400 and "The period ends before it starts" in pdf.get_data(
        as_text=True
    )
    bad_date = client.get(f"/reports/recap?campaign={city['campaign'].id}&from=2024-13-01")
    assert bad_date.status_code == 400


@pytest.mark.parametrize(
    "query",
    [
        "campaign=999999",
        "campaign=abc",
        "campaign={campaign}&unit=999999",
        "campaign={campaign}&unit=x",
        "campaign={campaign}&unit={panlong}",  # out of the user's reach
        "campaign={other}",  # a campaign of another city
        "campaign={campaign}&unit={province}",  # above the campaign's owner
    ],
)
@pytest.mark.parametrize("path", ["/reports/recap", "/reports/recap.pdf", "/reports/recap.xlsx"])
def test_unknown_or_unreachable_campaigns_and_units_answer_404(
    client, login, make_user, make_unit, make_campaign, city, query, path
):
    other = make_campaign(make_unit("曲靖市总工会", city["province"]), "曲靖普惠日")
    login(make_user(Role.ORGANISER, city["guandu"]))
    values = {
        "campaign": city["campaign"].id,
        "panlong": city["panlong"].id,
        "province": city["province"].id,
        "other": other.id,
    }
    assert client.get(f"{path}?{query.format(**values)}").status_code == 404


def test_a_district_organiser_gets_their_own_part_of_the_city_campaign(
    client, login, make_user, city
):
    login(make_user(Role.ORGANISER, city["guandu"]))
    page = client.get(f"/reports/recap?campaign={city['campaign'].id}").get_data(as_text=True)
    assert "Recap: 官渡区总工会" in page
    assert '<div class="figure-value">73</div>' in page


def test_a_station_manager_has_no_unit_to_recap(client, login, make_user, city):
    login(make_user(Role.STATION_MANAGER, city["stations"]["street"]))
    assert client.get(f"/reports/recap?campaign={city['campaign'].id}").status_code == 404


def test_the_dashboard_and_the_campaign_link_to_the_reports(client, login, make_user, city):
    login(make_user(Role.ADMIN))
    campaign_id = city["campaign"].id
    assert f"/reports/recap?campaign={campaign_id}" in client.get("/").get_data(as_text=True)
    assert "/reports/league" in client.get("/").get_data(as_text=True)
    page = client.get(f"/campaigns/{campaign_id}").get_data(as_text=True)
    assert f"/reports/recap?campaign={campaign_id}" in page


def test_the_unit_of_a_recap_must_exist(db, city):
    assert db.session.get(Unit, city["scope"].unit_id) is not None
    with pytest.raises(LookupError):
        build_recap(dataclasses.replace(city["scope"], unit_id=999_999))


def test_one_day_period(city):
    day = date(2024, 1, 18)
    recap = build_recap(dataclasses.replace(city["scope"], start=day, end=day))
    assert (recap.headline.activities, recap.headline.served) == (1, 28)
    assert recap.scope.params()["from"] == "2024-01-18"
    assert timedelta(0) == recap.scope.end - recap.scope.start
