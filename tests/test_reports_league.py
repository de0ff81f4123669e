"""The monthly league table: sub-units ranked by served, activities and served per station,
with the change from last month, as a page and as a notice PDF."""

from __future__ import annotations

import shutil
import subprocess
from datetime import UTC, date, datetime

import pytest
from flask_babel import force_locale

from inclusive_day.attendance.models import BeneficiaryGroup, Headcount
from inclusive_day.auth.models import Role
from inclusive_day.periods import Month
from inclusive_day.reports.league import build_league, ranks
from inclusive_day.stations.models import StationStatus
from tests.conftest import count_queries


@pytest.fixture(autouse=True)
def report_cache(app, tmp_path):
    app.config["REPORT_CACHE_DIR"] = str(tmp_path / "cache")


@pytest.fixture
def city(db, make_unit, make_station, make_campaign, make_activity):
    """Three districts with stations; December and January activities in two campaigns."""
    city = make_unit("昆明市总工会", make_unit("云南省总工会"))
    districts = {
        name: make_unit(name, city) for name in ("五华区总工会", "盘龙区总工会", "官渡区总工会")
    }
    street = make_unit("关上街道工会", districts["官渡区总工会"])

    def built(unit, **kw):
        return make_station(unit, **{"opened_on": date(2023, 6, 1), **kw})

    stations = {
        "五华": [built(districts["五华区总工会"]) for _ in range(4)],
        "盘龙": [built(districts["盘龙区总工会"])],
        "官渡": [built(street), built(street)],
    }
    # Closed before December: not counted per station.
    built(street, status=StationStatus.CLOSED, closed_on=date(2023, 11, 30))
    first, second = make_campaign(city, "普惠日"), make_campaign(city, "春季服务季")

    def held(station, campaign, when, served):
        activity = make_activity(station, campaign, starts_at=when)
        db.session.add(Headcount(activity=activity, group=BeneficiaryGroup.COURIER, count=served))

    december, january = datetime(2023, 12, 10, 2, tzinfo=UTC), datetime(2024, 1, 10, 2, tzinfo=UTC)
    # December: 五华 300, 盘龙 100, 官渡 0.  January: 五华 200 (2 activities), 盘龙 150,
    # 官渡 240 (2 activities, two campaigns); 23:30 on 31 January in China counts in January.
    held(stations["五华"][0], first, december, 300)
    held(stations["盘龙"][0], first, december, 100)
    held(stations["五华"][1], first, january, 120)
    held(stations["五华"][2], second, january, 80)
    held(stations["盘龙"][0], first, january, 150)
    held(stations["官渡"][0], first, january, 200)
    held(stations["官渡"][1], second, datetime(2024, 1, 31, 15, 30, tzinfo=UTC), 40)
    held(stations["官渡"][1], second, datetime(2024, 1, 31, 16, 30, tzinfo=UTC), 999)  # February
    db.session.commit()
    return city, districts


def test_stations_per_station_are_those_open_at_each_months_end(db, city, make_station):
    unit, districts = city
    panlong = districts["盘龙区总工会"]
    # Opened on 31 January: open at January's end, not December's; one planned is never open.
    make_station(panlong, opened_on=date(2024, 1, 31))
    make_station(panlong, status=StationStatus.PLANNED)
    # Closed on 31 January: open at December's end only (the closing day is not open).
    make_station(
        districts["五华区总工会"],
        status=StationStatus.CLOSED,
        opened_on=date(2023, 6, 1),
        closed_on=date(2024, 1, 31),
    )
    db.session.commit()
    league = build_league(unit, Month(2024, 1))
    by_name = {row.name: row for row in league.rows}
    panlong_row, wuhua = by_name["盘龙区总工会"], by_name["五华区总工会"]
    assert (panlong_row.stations, wuhua.stations, league.stations) == (2, 4, 8)
    # 盘龙: 150 / 2 in January, 100 / 1 in December; 五华: 200 / 4, and 300 / 5 before.
    assert (panlong_row.per_station.value, panlong_row.per_station.previous) == (75.0, 100.0)
    assert (wuhua.per_station.value, wuhua.per_station.previous) == (50.0, 60.0)


def test_ranks_share_places_on_ties():
    assert ranks({1: 100, 2: 80, 3: 80, 4: 50}) == {1: 1, 2: 2, 3: 2, 4: 4}
    assert ranks({}) == {}


def test_the_league_ranks_each_measure_with_the_change_from_last_month(city):
    unit, districts = city
    with force_locale("zh"):
        league = build_league(unit, Month(2024, 1))
    assert (league.month_name, league.previous_name) == ("2024年1月", "2023年12月")
    assert (league.activities, league.served) == (5, 590)
    assert (league.previous_activities, league.previous_served) == (2, 400)
    by_name = {row.name: row for row in league.rows}
    wuhua, panlong, guandu = (by_name[n] for n in ("五华区总工会", "盘龙区总工会", "官渡区总工会"))
    assert [r.name for r in league.ranked("served")] == [
        "官渡区总工会",
        "五华区总工会",
        "盘龙区总工会",
    ]
    assert (guandu.served.value, guandu.served.rank, guandu.served.previous_rank) == (240, 1, 3)
    assert guandu.served.rank_change == 2 and guandu.served.change == 240
    assert (wuhua.served.change, wuhua.served.rank_change, wuhua.served.change_percent) == (
        -100,
        -1,
        -33.3,
    )
    # Served per active station: 五华 200/4, 盘龙 150/1, 官渡 240/2 (the closed one is left out).
    assert (wuhua.stations, panlong.stations, guandu.stations) == (4, 1, 2)
    assert [r.per_station.value for r in league.ranked("per_station")] == [150.0, 120.0, 50.0]
    assert panlong.per_station.rank == 1 and panlong.per_station.previous == 100.0
    # Two activities each for 五华 and 官渡: they share first place.
    assert (wuhua.activities.rank, guandu.activities.rank, panlong.activities.rank) == (1, 1, 3)
    assert league.leader("served").name == "官渡区总工会"


def test_a_month_without_activity_ranks_everyone_equal_at_zero(city):
    unit, _ = city
    league = build_league(unit, Month(2022, 6))
    assert {row.served.rank for row in league.rows} == {1}
    assert league.leader("served") is None and league.served == 0


def test_the_league_takes_a_constant_number_of_queries(db, city, make_unit):
    unit, _ = city
    with count_queries(db.engine) as few:
        build_league(unit, Month(2024, 1))
    for i in range(5):
        make_unit(f"新区{i}", unit)
    db.session.expire_all()
    with count_queries(db.engine) as many:
        build_league(unit, Month(2024, 1))
    # The figures, stations, door traffic per sub-unit and in all, sub-units (and SET jit on PG).
    assert few["n"] == many["n"] <= 7


def test_the_league_page(client, login, make_user, city):
    unit, _ = city
    login(make_user(Role.VIEWER, unit))
    response = client.get("/reports/league?month=2024-01")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "官渡区总工会" in page and "240" in page and "▲" in page
    assert "/reports/league.pdf?unit=" in page
    assert client.get("/reports/league?month=2024-13").status_code == 400


def test_league_access(client, login, make_user, make_unit, city):
    unit, districts = city
    login(make_user(Role.ORGANISER, districts["官渡区总工会"]))
    assert client.get(f"/reports/league?unit={unit.id}").status_code == 404
    assert client.get("/reports/league?unit=999999").status_code == 404
    assert client.get(f"/reports/league.pdf?unit={unit.id}&month=2024-01").status_code == 404
    own = client.get("/reports/league?month=2024-01")
    assert own.status_code == 200 and "关上街道工会" in own.get_data(as_text=True)


def test_a_station_manager_has_no_league(client, login, make_user, make_station):
    login(make_user(Role.STATION_MANAGER, make_station()))
    response = client.get("/reports/league")
    assert response.status_code == 404 and "your role covers none" in response.get_data(
        as_text=True
    )


@pytest.mark.skipif(shutil.which("pdftotext") is None, reason="needs poppler-utils")
def test_the_notice_pdf(client, login, make_user, city, tmp_path):
    unit, _ = city
    login(make_user(Role.ADMIN))
    response = client.get(f"/reports/league.pdf?unit={unit.id}&month=2024-01&lang=zh")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    path = tmp_path / "notice.pdf"
    path.write_bytes(response.data)
    text = subprocess.run(
        ["pdftotext", "-layout", str(path), "-"], capture_output=True, check=True, text=True
    ).stdout
    assert "昆明市总工会" in text and "2024年1月" in text and "官渡区总工会" in text
    assert "590" in text


def test_the_notice_command(runner, city, tmp_path):
    unit, _ = city
    output = tmp_path / "notice.pdf"
    result = runner.invoke(
        args=[
            "report",
            "league",
            "--unit",
            str(unit.id),
            "--month",
            "2024-01",
            "--output",
            str(output),
        ]
    )
    assert result.exit_code == 0, result.output
    assert output.read_bytes().startswith(b"%PDF")
