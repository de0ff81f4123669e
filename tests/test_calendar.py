"""Month, week and list calendars: local days, filters, access, paging, bad input, query count."""

import re
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select

from inclusive_day.activities import calendar
from inclusive_day.activities.calendar import Filters, month_grid, week_days
from inclusive_day.auth.models import Role
from inclusive_day.campaigns.models import Theme
from inclusive_day.periods import DEFAULT_ZONE, Month
from tests.conftest import count_queries

CELL = re.compile(r'<td class="cal-day([^"]*)">(.*?)</td>', re.S)
WEEK_COLUMN = re.compile(
    r'<section class="cal-column[^"]*" aria-labelledby="day-([\d-]+)">(.*?)</section>', re.S
)
ALERT = re.compile(r'<div class="alert alert-warning[^"]*" role="alert">(.*?)</div>', re.S)


def local(*args) -> datetime:
    """A wall-clock time in China, as the aware datetime the models take."""
    return datetime(*args, tzinfo=DEFAULT_ZONE)


def text(response) -> str:
    assert response.status_code == 200, response.status_code
    return response.get_data(as_text=True)


def month_cells(html: str) -> dict[int, str]:
    """The cells of the shown month (not the neighbouring months' days), by day of month."""
    cells = {}
    for classes, body in CELL.findall(html):
        if "is-outside" in classes:
            continue
        day = int(re.search(r">(\d+)</a>", body).group(1))
        cells[day] = body
    return cells


def week_columns(html: str) -> dict[str, str]:
    """The seven columns of the week view, by ISO date."""
    return dict(WEEK_COLUMN.findall(html))


@pytest.fixture
def city(make_unit):
    """A city with two districts, each with a street."""
    province = make_unit("云南省总工会")
    city = make_unit("昆明市总工会", province)
    guandu = make_unit("官渡区总工会", city)
    panlong = make_unit("盘龙区总工会", city)
    return {
        "province": province,
        "city": city,
        "guandu": guandu,
        "panlong": panlong,
        "guandu_street": make_unit("关上街道工会", guandu),
        "panlong_street": make_unit("拓东街道工会", panlong),
    }


def test_an_activity_late_in_the_evening_belongs_to_that_local_day(
    app, make_user, make_activity, make_station, city
):
    station = make_station(city["guandu_street"])
    late = make_activity(station, title="除夕前夜", starts_at=local(2024, 1, 31, 23, 30))
    early = make_activity(station, title="二月第一场", starts_at=local(2024, 2, 1, 0, 30))
    admin = make_user(Role.ADMIN)
    # 23:30 in Kunming is 15:30 UTC: still January the 31st there.
    assert late.starts_at.astimezone(UTC).day == 31 and early.starts_at.astimezone(UTC).day == 31

    january = month_grid(admin, Month(2024, 1), Filters(), date(2024, 1, 1))
    days = {d.day: d for week in january.weeks for d in week}
    assert [i.title for i in days[date(2024, 1, 31)].items] == ["除夕前夜"]
    assert [i.title for i in days[date(2024, 2, 1)].items] == ["二月第一场"]
    assert days[date(2024, 1, 31)].items[0].start_time == "23:30"
    assert january.total == 1  # the February one sits in the grid but not in the month

    february = month_grid(admin, Month(2024, 2), Filters(), date(2024, 1, 1))
    assert february.total == 1
    assert february.weeks[0][0].day == date(2024, 1, 29)  # Monday-first grid


def test_the_month_page_puts_the_activity_in_its_local_day_and_links_it(
    client, login, make_user, make_activity, make_station, city
):
    station = make_station(city["guandu_street"], name="关上驿站")
    activity = make_activity(station, title="除夕前夜", starts_at=local(2024, 1, 31, 23, 30))
    login(make_user(Role.ORGANISER, city["city"]))
    cells = month_cells(text(client.get("/activities/calendar?month=2024-01")))
    assert len(cells) == 31
    assert "除夕前夜" in cells[31] and "23:30" in cells[31] and "关上驿站" in cells[31]
    assert all("除夕前夜" not in body for day, body in cells.items() if day != 31)
    assert f'href="/activities/{activity.id}"' in cells[31]


def test_the_month_page_defaults_to_the_current_local_month(
    client, login, make_user, make_activity, make_station, city
):
    now = datetime.now(DEFAULT_ZONE).replace(hour=10, minute=0, second=0, microsecond=0)
    make_activity(make_station(city["guandu_street"]), title="本月活动", starts_at=now)
    login(make_user(Role.ORGANISER, city["city"]))
    page = text(client.get("/activities/calendar"))
    assert "本月活动" in month_cells(page)[now.day]
    today_cell = re.search(r'<td class="cal-day[^"]*is-today[^"]*">(.*?)</td>', page, re.S)
    assert today_cell and "本月活动" in today_cell.group(1)


def test_a_busy_day_shows_four_and_links_the_rest_to_the_list(
    client, login, make_user, make_activity, make_station, make_campaign, city
):
    station = make_station(city["guandu_street"])
    campaign = make_campaign(city["guandu"])
    for hour in range(8, 14):  # six activities on 18 January
        make_activity(station, campaign, title=f"第{hour}点", starts_at=local(2024, 1, 18, hour))
    login(make_user(Role.ORGANISER, city["city"]))
    page = text(client.get("/activities/calendar?month=2024-01"))
    cell = month_cells(page)[18]
    assert [f"第{h}点" in cell for h in range(8, 14)] == [True] * 4 + [False] * 2
    more = re.search(r'<a class="cal-more" href="([^"]+)">\+2 more</a>', cell)
    assert more, cell
    assert "from=2024-01-18" in more.group(1) and "to=2024-01-18" in more.group(1)
    listed = text(client.get(more.group(1).replace("&amp;", "&")))
    assert all(f"第{h}点" in listed for h in range(8, 14))
    assert "+" not in "".join(b for d, b in month_cells(page).items() if d != 18)


def test_cancelled_activities_are_struck_through_and_labelled(
    db, client, login, make_user, make_activity, make_station, city
):
    station = make_station(city["guandu_street"])
    make_activity(station, title="照常举行", starts_at=local(2024, 1, 10, 9))
    called_off = make_activity(station, title="因雨取消", starts_at=local(2024, 1, 10, 14))
    called_off.cancel("暴雨预警")
    db.session.commit()
    login(make_user(Role.ORGANISER, city["city"]))
    cell = month_cells(text(client.get("/activities/calendar?month=2024-01")))[10]
    items = {
        title: classes
        for classes, title in re.findall(
            r'<a class="cal-item([^"]*)".*?<span class="cal-title">([^<]+)</span>', cell, re.S
        )
    }
    assert "is-cancelled" in items["因雨取消"] and "is-cancelled" not in items["照常举行"]
    assert cell.count('<span class="cal-flag">cancelled</span>') == 1
    listed = text(client.get("/activities/calendar/list?from=2024-01-10&to=2024-01-10"))
    row = re.search(r'<tr class="[^"]*is-cancelled[^"]*">(.*?)</tr>', listed, re.S).group(1)
    assert "因雨取消" in row and "cancelled" in row
    week = text(client.get("/activities/calendar/week?week=2024-01-10"))
    assert re.search(r'cal-card is-cancelled"[^>]*>(?:(?!</a>).)*因雨取消', week, re.S)
    assert not re.search(r'cal-card is-cancelled"[^>]*>(?:(?!</a>).)*照常举行', week, re.S)


@pytest.fixture
def two_districts(db, make_activity, make_station, make_campaign, city):
    """One activity a district, each in its own campaign, theme and station, on 18 January."""
    themes = {t.code: t for t in db.session.scalars(select(Theme))}
    made = {}
    for key, theme_code in (("guandu", "haircut"), ("panlong", "health_check")):
        station = make_station(city[f"{key}_street"], name=f"{key}驿站")
        campaign = make_campaign(city[key], name=f"{key}普惠日")
        made[key] = make_activity(
            station,
            campaign,
            title=f"{key}活动",
            theme=themes[theme_code],
            starts_at=local(2024, 1, 18, 9),
        )
    return made


def listed_titles(client, query: str = "") -> set[str]:
    page = text(client.get(f"/activities/calendar/list?from=2024-01-01&to=2024-01-31{query}"))
    return set(re.findall(r'class="cal-title"[^>]*>([^<]+)</a>', page))


def test_filters_by_theme_station_campaign_and_unit(client, login, make_user, city, two_districts):
    guandu = two_districts["guandu"]
    login(make_user(Role.ORGANISER, city["city"]))
    assert listed_titles(client) == {"guandu活动", "panlong活动"}
    assert listed_titles(client, f"&theme={guandu.theme_id}") == {"guandu活动"}
    assert listed_titles(client, f"&station={guandu.station_id}") == {"guandu活动"}
    assert listed_titles(client, f"&campaign={guandu.campaign_id}") == {"guandu活动"}
    assert listed_titles(client, f"&unit={city['panlong'].id}") == {"panlong活动"}
    assert listed_titles(client, f"&unit={city['guandu_street'].id}") == {"guandu活动"}
    # Filters combine: Guandu's theme in Panlong's subtree matches nothing.
    assert listed_titles(client, f"&unit={city['panlong'].id}&theme={guandu.theme_id}") == set()


def test_the_month_and_week_views_apply_the_same_filters(
    client, login, make_user, city, two_districts
):
    login(make_user(Role.ORGANISER, city["city"]))
    query = f"&campaign={two_districts['panlong'].campaign_id}"
    cell = month_cells(text(client.get(f"/activities/calendar?month=2024-01{query}")))[18]
    assert "panlong活动" in cell and "guandu活动" not in cell
    column = week_columns(text(client.get(f"/activities/calendar/week?week=2024-01-18{query}")))
    assert "panlong活动" in column["2024-01-18"] and "guandu活动" not in column["2024-01-18"]


def test_links_between_views_keep_the_filters(client, login, make_user, city, two_districts):
    login(make_user(Role.ORGANISER, city["city"]))
    theme_id = two_districts["guandu"].theme_id
    page = text(client.get(f"/activities/calendar?month=2024-01&theme={theme_id}"))
    switch = re.search(r'<nav class="btn-group calendar-switch".*?</nav>', page, re.S).group(0)
    assert switch.count(f"theme={theme_id}") == 3
    assert "/activities/calendar/week?week=2024-01-01" in switch
    assert "from=2024-01-01" in switch and "to=2024-01-31" in switch
    assert f"/activities/calendar?month=2023-12&amp;theme={theme_id}" in page


def test_a_district_organiser_sees_only_their_district(
    client, login, make_user, city, two_districts
):
    login(make_user(Role.ORGANISER, city["guandu"]))
    assert listed_titles(client) == {"guandu活动"}
    cell = month_cells(text(client.get("/activities/calendar?month=2024-01")))[18]
    assert "guandu活动" in cell and "panlong活动" not in cell
    # Another district's unit, station or campaign reveals nothing.
    assert client.get(f"/activities/calendar?unit={city['panlong'].id}").status_code == 404
    assert client.get(f"/activities/calendar/list?unit={city['city'].id}").status_code == 404
    assert listed_titles(client, f"&station={two_districts['panlong'].station_id}") == {
        "guandu活动"
    }
    page = text(client.get("/activities/calendar?month=2024-01"))
    assert "panlong驿站" not in page and "盘龙区总工会" not in page


@pytest.mark.parametrize(
    "path",
    ["/activities/calendar", "/activities/calendar/week", "/activities/calendar/list"],
)
def test_an_unknown_unit_is_not_found(client, login, make_user, city, path):
    login(make_user(Role.ORGANISER, city["city"]))
    assert client.get(f"{path}?unit=999999").status_code == 404
    assert client.get(f"{path}?unit={city['province'].id}").status_code == 404  # above the grant


def test_the_calendars_need_a_login(client):
    response = client.get("/activities/calendar")
    assert response.status_code == 302 and "/auth/login" in response.headers["Location"]


def test_a_user_with_several_top_units_sees_them_all(
    db, client, login, make_user, city, two_districts
):
    from inclusive_day.auth.services import grant

    user = make_user(Role.VIEWER, city["guandu"])
    grant(user, Role.VIEWER, unit=city["panlong"])
    db.session.commit()
    login(user)
    assert listed_titles(client) == {"guandu活动", "panlong活动"}
    page = text(client.get("/activities/calendar?month=2024-01"))
    assert '<option value="" selected>All my units</option>' in page
    assert listed_titles(client, f"&unit={city['guandu'].id}") == {"guandu活动"}


def test_a_station_manager_sees_their_station_only(client, login, make_user, city, two_districts):
    station = two_districts["guandu"].station
    login(make_user(Role.STATION_MANAGER, station))
    assert listed_titles(client) == {"guandu活动"}


def test_a_week_runs_monday_to_sunday_in_local_time(
    client, login, make_user, make_activity, make_station, city
):
    station = make_station(city["guandu_street"])
    for title, moment in (
        ("上周日深夜", local(2024, 1, 14, 23, 59)),
        ("周一零点", local(2024, 1, 15, 0, 0)),
        ("周日深夜", local(2024, 1, 21, 23, 30)),
        ("下周一凌晨", local(2024, 1, 22, 0, 30)),
    ):
        make_activity(station, title=title, starts_at=moment)
    admin = make_user(Role.ADMIN)
    days = week_days(admin, date(2024, 1, 15), Filters(), date(2024, 1, 1))
    assert [d.day for d in days] == [date(2024, 1, 15) + timedelta(days=i) for i in range(7)]
    assert [[i.title for i in d.items] for d in days] == [
        ["周一零点"],
        [],
        [],
        [],
        [],
        [],
        ["周日深夜"],
    ]

    login(admin)
    for any_day in ("2024-01-15", "2024-01-17", "2024-01-21"):
        columns = week_columns(text(client.get(f"/activities/calendar/week?week={any_day}")))
        assert list(columns) == [f"2024-01-{d}" for d in range(15, 22)]
        assert "周一零点" in columns["2024-01-15"] and "周日深夜" in columns["2024-01-21"]
        assert not any("上周日深夜" in c or "下周一凌晨" in c for c in columns.values())
    page = text(client.get("/activities/calendar/week?week=2024-01-17"))
    assert "week=2024-01-08" in page and "week=2024-01-22" in page  # previous and next


def test_the_week_lists_a_days_activities_by_local_start_time(
    client, login, make_user, make_activity, make_station, city
):
    station = make_station(city["guandu_street"])
    for title, hour in (("下午", 15), ("早上", 8), ("中午", 12)):
        make_activity(station, title=title, starts_at=local(2024, 1, 16, hour))
    login(make_user(Role.ADMIN))
    column = week_columns(text(client.get("/activities/calendar/week?week=2024-01-16")))[
        "2024-01-16"
    ]
    assert list(re.findall(r"(早上|中午|下午)", column)) == ["早上", "中午", "下午"]
    assert "08:00–10:00" in column


def test_the_list_is_paginated_fifty_a_page_with_the_total(
    db, client, login, make_user, make_station, make_campaign, theme, city
):
    from inclusive_day.activities.services import schedule_activity

    station = make_station(city["guandu_street"])
    campaign = make_campaign(city["guandu"])
    start = local(2024, 1, 1, 9)
    for i in range(120):
        moment = start + timedelta(hours=6 * i)
        schedule_activity(
            campaign, station, theme, f"活动{i:03d}", moment, moment + timedelta(hours=1)
        )
    db.session.commit()
    login(make_user(Role.ORGANISER, city["city"]))
    base = "/activities/calendar/list?from=2024-01-01&to=2024-02-29"
    first = text(client.get(base))
    assert "120 activities" in first and "Page 1 of 3" in first
    titles = re.findall(r'class="cal-title"[^>]*>([^<]+)</a>', first)
    assert titles == [f"活动{i:03d}" for i in range(50)]
    assert "Showing 1–50 of 120" in first
    assert "page=2" in first
    third = text(client.get(base + "&page=3"))
    assert re.findall(r'class="cal-title"[^>]*>([^<]+)</a>', third) == [
        f"活动{i:03d}" for i in range(100, 120)
    ]
    assert "Showing 101–120 of 120" in third
    # Past the end shows the last page; a page that is not a number shows the first.
    assert "Showing 101–120 of 120" in text(client.get(base + "&page=99"))
    assert "Showing 1–50 of 120" in text(client.get(base + "&page=x"))


def test_the_list_defaults_to_today_and_the_next_thirty_days(
    client, login, make_user, make_activity, make_station, city
):
    station = make_station(city["guandu_street"])
    today = datetime.now(DEFAULT_ZONE).replace(hour=10, minute=0, second=0, microsecond=0)
    make_activity(station, title="今天", starts_at=today)
    make_activity(station, title="三十天后", starts_at=today + timedelta(days=30))
    make_activity(station, title="三十一天后", starts_at=today + timedelta(days=31))
    make_activity(station, title="昨天", starts_at=today - timedelta(days=1))
    login(make_user(Role.ORGANISER, city["city"]))
    assert set(
        re.findall(
            r'class="cal-title"[^>]*>([^<]+)</a>',
            text(client.get("/activities/calendar/list")),
        )
    ) == {"今天", "三十天后"}


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("/activities/calendar?month=2026-13", "is not a month"),
        ("/activities/calendar?month=january", "is not a month"),
        ("/activities/calendar/week?week=2024-02-30", "is not a date"),
        ("/activities/calendar/week?week=9999-12-31", "is not a date"),
        ("/activities/calendar/list?from=2024-02-01&to=2024-01-01", "start date is after"),
        ("/activities/calendar/list?from=yesterday", "could not be read"),
        ("/activities/calendar?unit=abc", "is not a union unit"),
        ("/activities/calendar?theme=abc", "was not recognised"),
        ("/activities/calendar/week?campaign=1.5", "was not recognised"),
        ("/activities/calendar/list?station=-3", "was not recognised"),
        ("/activities/calendar?theme=99999", "not in the catalogue"),
        ("/activities/calendar?campaign=99999", "not one you may see"),
        ("/activities/calendar?station=99999", "No station"),
        ("/activities/calendar?station_code=NOPE", "No station"),
    ],
)
def test_bad_parameters_give_a_message_and_the_default_view(
    client, login, make_user, city, path, message
):
    login(make_user(Role.ORGANISER, city["city"]))
    page = text(client.get(path))
    alerts = ALERT.findall(page)
    assert len(alerts) == 1 and message in alerts[0], alerts
    assert "Activity calendar" in page


def test_a_bad_month_falls_back_to_this_month(client, login, make_user, city):
    login(make_user(Role.ORGANISER, city["city"]))
    page = text(client.get("/activities/calendar?month=2026-13"))
    this_month = Month.containing(datetime.now(UTC))
    assert f'<input type="hidden" name="month" value="{this_month}">' in page


def test_dates_and_weekdays_follow_the_language(app, client, login, make_user, city):
    login(make_user(Role.ORGANISER, city["city"]))
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "zh"
    page = text(client.get("/activities/calendar?month=2024-01"))
    assert "2024年1月" in page and "周一" in page
    week = text(client.get("/activities/calendar/week?week=2024-01-17"))
    # The week's label is Babel's CLDR interval pattern for "yMMMd" in zh_CN. Babel 2.19 (CLDR 47,
    # the version requirements-dev.lock pins) writes "15日 – 21日" with thin spaces round an en
    # dash; older CLDR data wrote "15日至21日". A new Babel in the lock may change it again.
    assert "2024年1月15日\u2009–\u200921日" in week
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    page = text(client.get("/activities/calendar?month=2024-01"))
    assert "January 2024" in page and ">Mon<" in page


def test_a_large_subtree_asks_for_a_station_code_instead_of_a_select(
    monkeypatch, client, login, make_user, city, two_districts
):
    login(make_user(Role.ORGANISER, city["city"]))
    page = text(client.get("/activities/calendar?month=2024-01"))
    assert 'name="station"' in page and 'name="station_code"' not in page
    monkeypatch.setattr(calendar, "STATION_CHOICES_MAX", 1)
    page = text(client.get("/activities/calendar?month=2024-01"))
    assert (
        'name="station_code"' in page
        and '<select class="form-select form-select-sm" id="cal-station"' not in page
    )
    code = two_districts["panlong"].station.code
    assert listed_titles(client, f"&station_code={code.lower()}") == {"panlong活动"}
    page = text(client.get(f"/activities/calendar/list?station_code={code}"))
    assert f'value="{code}"' in page  # the box keeps the code


def grow(db, city, theme, n_stations: int, per_station: int, day_stack: int) -> None:
    """Stations, campaigns and activities in two districts, some days with many activities."""
    from inclusive_day.activities.services import schedule_activity
    from inclusive_day.campaigns.services import create_campaign
    from inclusive_day.stations.services import create_station

    for key in ("guandu", "panlong"):
        campaign = create_campaign(city[key], f"{key}-{n_stations}", date(2024, 1, 1))
        for s in range(n_stations):
            station = create_station(city[f"{key}_street"], f"{key}-{n_stations}-{s}", f"站{s}")
            for a in range(per_station):
                moment = local(2024, 1, 1 + (a * 7 + s) % 28, 8 + a % 10)
                schedule_activity(
                    campaign, station, theme, f"活动{s}-{a}", moment, moment + timedelta(hours=1)
                )
            for a in range(day_stack):
                moment = local(2024, 1, 18, 8 + a % 12)
                schedule_activity(
                    campaign, station, theme, "扎堆", moment, moment + timedelta(hours=1)
                )
    db.session.commit()


def test_each_calendar_takes_the_same_number_of_queries_whatever_the_size(
    db, client, login, make_user, city, theme
):
    login(make_user(Role.ORGANISER, city["city"]))
    paths = [
        "/activities/calendar?month=2024-01",
        f"/activities/calendar?month=2024-01&unit={city['guandu'].id}&theme={theme.id}",
        "/activities/calendar/week?week=2024-01-18",
        "/activities/calendar/list?from=2024-01-01&to=2024-01-31",
        "/activities/calendar/list?from=2024-01-01&to=2024-01-31&page=2",
    ]

    def queries() -> dict[str, int]:
        counts = {}
        for path in paths:
            with count_queries(db.engine) as n:
                text(client.get(path))
            counts[path] = n["n"]
        return counts

    grow(db, city, theme, n_stations=1, per_station=1, day_stack=0)
    small = queries()
    grow(db, city, theme, n_stations=12, per_station=6, day_stack=2)
    large = queries()
    assert large == small
    page = text(client.get(paths[0]))
    assert "+" in month_cells(page)[18]  # the larger month really has crowded days
    assert "194 activities" in page
