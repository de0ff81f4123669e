"""The live board: each station's state now (by its hours, in its unit's zone), who is on duty,
visitors today, the last scan, silent stations over a configurable window, the counts, the
page and its JSON, who may see which board, and a constant number of queries."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from flask_babel import force_locale

from inclusive_day.attendance.traffic import silent_station_ids
from inclusive_day.auth.models import Role
from inclusive_day.extensions import db as _db
from inclusive_day.staffing.models import DutyShift
from inclusive_day.stations import views_live
from inclusive_day.stations.geo import CoordSystem, Point, from_wgs84
from inclusive_day.stations.live import (
    LiveState,
    LiveStation,
    Show,
    live_board,
    station_details,
)
from inclusive_day.stations.models import Station, StationStatus
from tests.conftest import count_queries

CST = ZoneInfo("Asia/Shanghai")
TODAY = date(2024, 6, 3)
OPENED = date(2024, 1, 1)
MORNING = datetime(2024, 6, 3, 10, 30, tzinfo=CST).astimezone(UTC)
NIGHT = datetime(2024, 6, 3, 23, 0, tzinfo=CST).astimezone(UTC)


@pytest.fixture(autouse=True)
def english(app):
    """Messages read outside a request in English, so that tests can match them."""
    with force_locale("en"):
        yield


def at(day: date, hour: int, minute: int = 0) -> datetime:
    """A moment on `day` in China Standard Time."""
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=CST)


def sign_on(admin, started: datetime, ended: datetime | None = None) -> DutyShift:
    """A duty shift of `admin` at their station (open unless `ended`)."""
    shift = DutyShift(
        admin_id=admin.id,
        station_id=admin.station_id,
        day=started.astimezone(CST).date(),
        started_at=started,
        ended_at=ended,
    )
    _db.session.add(shift)
    _db.session.commit()
    return shift


@pytest.fixture
def world(make_unit, make_station, make_admin, make_visit):
    """A province > city > districts A and B; A's stations in every state the board knows."""
    province = make_unit("云南省总工会")
    city = make_unit("昆明市总工会", province)
    a = make_unit("五华区总工会", city)
    b = make_unit("盘龙区总工会", city)

    def station(name, unit=a, **kw):
        kw.setdefault("opened_on", OPENED)
        kw.setdefault("opening_hours", "08:00-20:00")
        return make_station(unit, name, latitude=25.04, longitude=102.71, **kw)

    s = {
        "staffed": station("有人值守站"),
        "absent": station("无人在岗站"),
        "unattended": station("24小时站", open_24h=True, opening_hours=""),
        "night": station("夜间站", opening_hours="22:00-06:00"),
        "suspended": station("暂停站", status=StationStatus.SUSPENDED),
        "unknown": station("未填时间站", opening_hours=""),
        "planned": station("规划站", status=StationStatus.PLANNED, opened_on=None),
        "closed": station("关闭站", status=StationStatus.CLOSED, closed_on=date(2024, 5, 1)),
        "other": station("盘龙站", unit=b),
    }
    master = make_admin(s["staffed"], name="王芳")
    assistant = make_admin(s["staffed"], name="李强", role="assistant")
    sign_on(master, at(TODAY, 8))
    sign_on(assistant, at(TODAY, 9))
    # Signed off: no longer on duty.
    sign_on(make_admin(s["absent"], name="赵敏"), at(TODAY, 8), at(TODAY, 9))
    # Today: two people at the staffed station, one of whom also went to the 24-hour one.
    make_visit(s["staffed"], phone="13800000001", day=TODAY, visited_at=at(TODAY, 9, 5))
    make_visit(s["staffed"], phone="13800000002", day=TODAY, visited_at=at(TODAY, 10, 12))
    make_visit(s["unattended"], phone="13800000001", day=TODAY, visited_at=at(TODAY, 3, 40))
    # Earlier: the absent station 10 days ago, the night station 3 days ago.
    ten_ago = TODAY - timedelta(days=10)
    make_visit(s["absent"], day=ten_ago, visited_at=at(ten_ago, 18, 20))
    three_ago = TODAY - timedelta(days=3)
    make_visit(s["night"], day=three_ago, visited_at=at(three_ago, 23, 15))
    make_visit(s["other"], day=TODAY)
    return {"province": province, "city": city, "a": a, "b": b, **s}


def board_of(unit, now=MORNING, days=7):
    return live_board([Station.under(unit.path)], now, days)


def by_name(board):
    return {station.name: station for station in board.stations}


def details(board):
    """Each station's details (on duty, visitors today, last scan), by name."""
    found = station_details(board, [station.id for station in board.stations])
    return {station.name: found[station.id] for station in board.stations}


# ---- The board's rules ---------------------------------------------------------------------


def test_only_stations_open_today_by_their_lifecycle_are_on_the_board(world):
    names = set(by_name(board_of(world["a"])))
    assert names == {"有人值守站", "无人在岗站", "24小时站", "夜间站", "暂停站", "未填时间站"}


def test_states_in_the_morning(world):
    board = by_name(board_of(world["a"]))
    assert board["有人值守站"].state == LiveState.DUTY
    assert board["有人值守站"].staffed
    assert board["无人在岗站"].state == LiveState.ABSENT
    assert not board["无人在岗站"].staffed
    assert board["24小时站"].state == LiveState.OPEN
    assert board["夜间站"].state == LiveState.CLOSED
    assert board["暂停站"].state == LiveState.SUSPENDED
    assert board["未填时间站"].state == LiveState.UNKNOWN


def test_states_at_night(world):
    night = board_of(world["a"], now=NIGHT)
    board = by_name(night)
    # Still signed on after closing time: closed all the same, the names still shown.
    assert board["有人值守站"].state == LiveState.CLOSED
    assert details(night)["有人值守站"].on_duty == ("王芳", "李强")
    assert board["无人在岗站"].state == LiveState.CLOSED
    assert board["夜间站"].state == LiveState.ABSENT
    assert board["24小时站"].state == LiveState.OPEN


def test_hours_are_read_in_the_station_units_zone(make_unit, make_station):
    london = make_unit("London")
    london.timezone = "Europe/London"
    _db.session.commit()
    make_station(london, "伦敦站", opened_on=OPENED, opening_hours="08:00-20:00")
    # 10:30 in Kunming is 03:30 in London.
    (station,) = board_of(london, days=7).stations
    assert station.state == LiveState.CLOSED
    later = datetime(2024, 6, 3, 9, 0, tzinfo=ZoneInfo("Europe/London"))
    (station,) = board_of(london, now=later.astimezone(UTC)).stations
    assert station.state == LiveState.ABSENT


def test_who_is_on_duty(world):
    rows = details(board_of(world["a"]))
    assert rows["有人值守站"].on_duty == ("王芳", "李强")
    # 赵敏 signed off at nine.
    assert rows["无人在岗站"].on_duty == ()


def test_visitors_today_and_the_last_scan(world):
    board = board_of(world["a"])
    rows = details(board)
    assert rows["有人值守站"].visitors == 2
    assert rows["有人值守站"].last_scan == at(TODAY, 10, 12)
    assert rows["24小时站"].visitors == 1
    assert rows["夜间站"].visitors == 0
    assert rows["夜间站"].last_scan == at(TODAY - timedelta(days=3), 23, 15)
    # One person at two stations: three visits, two people.
    assert (board.counts.visits_today, board.counts.visitors_today) == (3, 2)


def test_silent_stations_follow_the_window(world):
    week = board_of(world["a"], days=7)
    assert {s.name for s in week.stations if s.silent} == {"无人在岗站", "暂停站", "未填时间站"}
    # The last scan is looked for inside the window only.
    assert details(week)["无人在岗站"].last_scan is None
    fortnight = board_of(world["a"], days=14)
    assert {s.name for s in fortnight.stations if s.silent} == {"暂停站", "未填时间站"}
    assert details(fortnight)["无人在岗站"].last_scan == at(TODAY - timedelta(days=10), 18, 20)
    two_days = by_name(board_of(world["a"], days=2))
    assert {name for name, s in two_days.items() if s.silent} == {
        "无人在岗站",
        "夜间站",
        "暂停站",
        "未填时间站",
    }


def test_the_notice_and_the_board_agree_on_silent_stations(world):
    for days in (2, 7, 14):
        board = board_of(world["city"], days=days)
        silent = set(_db.session.scalars(silent_station_ids(world["city"].path, TODAY, days)))
        assert silent == {station.id for station in board.stations if station.silent}


def test_counts(world):
    counts = board_of(world["a"]).counts
    assert counts.stations == 6
    assert counts.open_now == 3  # staffed, absent, 24-hour
    assert counts.on_duty == 1
    assert counts.absent == 1
    assert counts.silent == 3
    assert [counts.of(show) for show in Show] == [6, 3, 1, 1, 3]


def test_filters(world):
    board = board_of(world["a"])

    def names(show):
        return [LiveStation._make(row).name for row in board.shown(show)]

    assert names(Show.ABSENT) == ["无人在岗站"]
    assert names(Show.DUTY) == ["有人值守站"]
    assert set(names(Show.OPEN)) == {"有人值守站", "无人在岗站", "24小时站"}
    assert len(names(Show.ALL)) == 6
    assert [s.name for s in board.stations if s.shown_by(Show.SILENT)] == [
        "无人在岗站",
        "暂停站",
        "未填时间站",
    ]


def test_a_subtree_counts_its_own_stations_only(world):
    assert board_of(world["b"]).counts.stations == 1
    assert board_of(world["city"]).counts.stations == 7


def test_the_number_of_queries_does_not_grow_with_the_stations(
    make_unit, make_station, make_admin, make_visit, make_user, login, client, db, monkeypatch
):
    monkeypatch.setattr(views_live, "utcnow", lambda: MORNING)
    small, large = make_unit("小"), make_unit("大")
    for unit, n in ((small, 3), (large, 30)):
        for i in range(n):
            station = make_station(unit, opened_on=OPENED, opening_hours="08:00-20:00")
            if i % 2:
                sign_on(make_admin(station), at(TODAY, 8))
            make_visit(station, day=TODAY)
    admin = login(make_user(Role.ADMIN))
    assert admin
    counted = {}
    for unit in (small, large):
        with count_queries(db.engine) as n:
            board = board_of(unit)
            station_details(board, [station.id for station in board.stations])
        with count_queries(db.engine) as page:
            assert client.get(f"/stations/live?unit={unit.id}").status_code == 200
        with count_queries(db.engine) as data:
            assert client.get(f"/stations/live.json?unit={unit.id}").status_code == 200
        counted[board.counts.stations] = (n["n"], page["n"], data["n"])
    assert counted[3] == counted[30]


def test_rows_come_a_page_at_a_time(world):
    board = board_of(world["a"])
    stations = board.stations
    first = views_live.rows_page(board.rows, 1, per_page=4)
    assert (first.page, first.pages, first.total, len(first.items)) == (1, 2, 6, 4)
    assert first.has_next and not first.has_prev
    # Past the last page: the last one.
    last = views_live.rows_page(board.rows, 9, per_page=4)
    assert (last.page, [s.id for s in last.items]) == (2, [s.id for s in stations[4:]])
    assert views_live.rows_page([], 1).pages == 1


# ---- The page and its JSON ------------------------------------------------------------------


@pytest.fixture
def organiser(world, make_user, login, monkeypatch):
    """An organiser of district A, signed in, the board's clock fixed to the morning."""
    monkeypatch.setattr(views_live, "utcnow", lambda: MORNING)
    return login(make_user(Role.ORGANISER, on=world["a"], locale="en"))


def test_the_page_shows_counts_table_and_map(world, organiser, client):
    response = client.get(f"/stations/live?unit={world['a'].id}")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "有人值守站" in html and "王芳、李强" in html
    assert 'data-live-count="absent">1<' in html
    assert 'id="live-map"' in html and "live-board-config" in html
    assert "盘龙站" not in html
    assert "规划站" not in html


def test_the_filter_keeps_the_matching_rows(world, organiser, client):
    html = client.get(f"/stations/live?unit={world['a'].id}&show=absent").get_data(as_text=True)
    table = html.split("data-live-rows", 1)[1].split("</tbody>", 1)[0]
    assert "无人在岗站" in table
    assert "有人值守站" not in table


@pytest.mark.parametrize("days", ["0", "366", "abc", "-3", "7.5"])
def test_a_bad_window_says_so_and_uses_the_default(world, organiser, client, days):
    response = client.get(f"/stations/live?unit={world['a'].id}&days={days}")
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "is not a number of days from 1 to 365" in html
    assert 'name="days" min="1" max="365" value="7"' in html
    assert "有人值守站" in html


def test_the_window_comes_from_the_configuration(world, organiser, client, app):
    app.config["SILENT_STATION_DAYS"] = 14
    data = client.get(f"/stations/live.json?unit={world['a'].id}").get_json()
    assert data["days"] == 14
    assert data["counts"]["silent"] == 2


def test_an_unknown_filter_says_so(world, organiser, client):
    response = client.get(f"/stations/live?unit={world['a'].id}&show=busy")
    assert response.status_code == 400
    assert "is not one of the board" in response.get_data(as_text=True)


def test_the_json_shape(world, organiser, client):
    response = client.get(f"/stations/live.json?unit={world['a'].id}&days=14&show=duty")
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    data = response.get_json()
    assert data["unit"] == {"id": world["a"].id, "name": "五华区总工会"}
    assert data["today"] == "2024-06-03"
    assert data["updated_text"] == "10:30:00"
    assert data["days"] == 14 and data["show"] == "duty"
    assert data["counts"] == {
        "all": 6,
        "open": 3,
        "duty": 1,
        "absent": 1,
        "silent": 2,
        "visits_today": 3,
        "visitors_today": 2,
    }
    assert (data["page"], data["pages"], data["matching"]) == (1, 1, 1)
    (row,) = data["rows"]
    assert row == {
        "id": world["staffed"].id,
        "code": world["staffed"].code,
        "name": "有人值守站",
        "unit": "五华区总工会",
        "state": "duty",
        "state_label": "Open, on duty",
        "hours": "08:00-20:00",
        "on_duty": ["王芳", "李强"],
        "visitors": 2,
        "last_scan": "10:12",
        "silent": False,
    }
    markers = {m[0]: m for m in data["markers"]}
    assert len(markers) == 6
    assert data["coord_scale"] == 100_000
    assert markers[world["absent"].id] == [
        world["absent"].id,
        2_504_000,
        10_271_000,
        "absent",
        0,
        "无人在岗站",
    ]


def test_markers_sit_on_gcj02_tiles_when_the_map_uses_them(world, organiser, client, app):
    app.config["MAP_TILE_COORD_SYSTEM"] = "gcj02"
    data = client.get(f"/stations/live.json?unit={world['a'].id}").get_json()
    shown = from_wgs84(Point(25.04, 102.71), CoordSystem.GCJ02)
    (marker, *_) = data["markers"]
    assert marker[1:3] == [round(shown.latitude * 100_000), round(shown.longitude * 100_000)]
    assert marker[1:3] != [2_504_000, 10_271_000]


def test_the_json_refuses_a_bad_window(world, organiser, client):
    response = client.get(f"/stations/live.json?unit={world['a'].id}&days=0")
    assert response.status_code == 400
    assert response.get_json()["field"] == "days"


# ---- Who sees which board -------------------------------------------------------------------


def test_a_unit_outside_ones_reach_is_not_found(world, make_user, login, client):
    login(make_user(Role.ORGANISER, on=world["b"]))
    assert client.get(f"/stations/live?unit={world['a'].id}").status_code == 404
    assert client.get(f"/stations/live.json?unit={world['a'].id}").status_code == 404
    assert client.get("/stations/live?unit=999999").status_code == 404
    assert client.get("/stations/live?unit=abc").status_code == 404


def test_without_a_unit_the_board_holds_what_one_may_see(world, make_user, login, client):
    login(make_user(Role.VIEWER, on=world["b"]))
    data = client.get("/stations/live.json").get_json()
    assert data["unit"] is None
    assert [r["name"] for r in data["rows"]] == ["盘龙站"]


def test_a_station_manager_sees_their_own_station(world, make_user, login, client):
    login(make_user(Role.STATION_MANAGER, on=world["staffed"]))
    response = client.get("/stations/live")
    assert response.status_code == 200
    assert "有人值守站" in response.get_data(as_text=True)
    data = client.get("/stations/live.json").get_json()
    assert [r["name"] for r in data["rows"]] == ["有人值守站"]
    assert client.get(f"/stations/live?unit={world['a'].id}").status_code == 404


def test_signed_out_the_json_answers_401(client):
    response = client.get("/stations/live.json")
    assert response.status_code == 401
    assert response.is_json


def test_the_station_list_and_the_tree_link_to_the_board(world, organiser, client):
    link = f"/stations/live?unit={world['a'].id}"
    assert link in client.get(f"/stations/?unit={world['a'].id}").get_data(as_text=True)
    assert link in client.get(f"/units/?unit={world['a'].id}").get_data(as_text=True)
