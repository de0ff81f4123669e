"""Door traffic as the network's measure: counted by attendance.traffic and shown wherever a
station's figures appear (the dashboard, the tree, the station list and its export, the recap,
the league table and the API summary), with distinct visitors, and never added to served."""

from __future__ import annotations

import csv
import io
import shutil
import subprocess
from datetime import UTC, date, datetime, timedelta

import pytest
from flask_babel import force_locale
from openpyxl import load_workbook

from inclusive_day.api.models import TokenScope
from inclusive_day.api.tokens import issue_token
from inclusive_day.attendance.models import BeneficiaryGroup, Headcount
from inclusive_day.attendance.traffic import (
    Traffic,
    recent_days,
    traffic_by_child_month,
    traffic_by_month,
    traffic_of,
    visits_by_unit,
)
from inclusive_day.auth.models import Role
from inclusive_day.database import utcnow
from inclusive_day.main.dashboard import dashboard
from inclusive_day.periods import Month, local_today
from inclusive_day.reports.cache import fingerprint
from inclusive_day.reports.league import build_league
from inclusive_day.reports.recap import RecapScope, build_recap
from inclusive_day.staffing.queries import without_master_ids
from inclusive_day.stations.exporting import export_stations
from inclusive_day.stations.importing import import_stations
from inclusive_day.stations.models import StationStatus
from inclusive_day.units.models import Unit
from inclusive_day.units.queries import flatten, subtree
from tests.conftest import count_queries

TODAY = local_today()
needs_poppler = pytest.mark.skipif(
    shutil.which("pdftotext") is None, reason="pdftotext (poppler-utils) is not installed"
)


@pytest.fixture(autouse=True)
def report_cache(app, tmp_path):
    """Each test renders report PDFs into its own cache folder."""
    app.config["REPORT_CACHE_DIR"] = str(tmp_path / "cache")


@pytest.fixture(autouse=True)
def english(app):
    """Figures built outside a request are labelled in English, so that tests can match them."""
    with force_locale("en"):
        yield


@pytest.fixture
def city(db, make_unit, make_station):
    """A city with two districts (Wuhua with a street), a station at each and one at the city."""
    province = make_unit("云南省总工会")
    city = make_unit("昆明市总工会", province)
    wuhua = make_unit("五华区总工会", city)
    street = make_unit("华山街道工会", wuhua)
    panlong = make_unit("盘龙区总工会", city)

    def built(unit, name):
        return make_station(unit, name, opened_on=date(2023, 6, 1), opening_hours="08:00-20:00")

    return {
        "province": province,
        "city": city,
        "wuhua": wuhua,
        "street": street,
        "panlong": panlong,
        "s_wuhua": built(wuhua, "五华驿站"),
        "s_street": built(street, "华山驿站"),
        "s_panlong": built(panlong, "盘龙驿站"),
        "s_city": built(city, "市总驿站"),
    }


def _text(response) -> str:
    return response.get_data(as_text=True)


# --- The counting rules --------------------------------------------------------------------


def test_recent_days_are_thirty_days_today_included():
    assert recent_days(date(2024, 3, 30)) == (date(2024, 3, 1), date(2024, 3, 30))
    assert recent_days(date(2024, 3, 1), 1) == (date(2024, 3, 1), date(2024, 3, 1))


def test_traffic_of_a_set_of_stations_counts_each_person_once(db, city, make_visit):
    day = date(2024, 1, 10)
    make_visit(city["s_wuhua"], "13800000001", day)
    make_visit(city["s_panlong"], "13800000001", day)  # the same person, another station
    make_visit(city["s_wuhua"], "13800000001", day + timedelta(days=1))
    make_visit(city["s_city"], "13800000002", day)
    ids = [city["s_wuhua"].id, city["s_panlong"].id]
    assert traffic_of(ids) == Traffic(3, 1)
    assert traffic_of(ids, day, day) == Traffic(2, 1)
    assert traffic_of([]) == Traffic(0, 0)


def test_visits_by_unit_count_each_units_own_stations(db, city, make_visit):
    day = date(2024, 1, 10)
    make_visit(city["s_wuhua"], day=day)
    make_visit(city["s_street"], day=day)
    make_visit(city["s_street"], day=day)
    make_visit(city["s_street"], day=date(2023, 12, 1))  # before the days asked
    found = visits_by_unit(city["city"].path, day, day)
    assert found == {city["wuhua"].id: 1, city["street"].id: 2}
    assert visits_by_unit(city["wuhua"].path) == {city["wuhua"].id: 1, city["street"].id: 3}


def test_months_cut_to_a_periods_days_and_sub_units_per_month(db, city, make_visit):
    make_visit(city["s_wuhua"], "13800000001", date(2023, 12, 5))
    make_visit(city["s_wuhua"], "13800000001", date(2023, 12, 20))
    make_visit(city["s_street"], "13800000001", date(2024, 1, 31))
    make_visit(city["s_panlong"], "13800000002", date(2024, 1, 2))
    months = [Month(2023, 12), Month(2024, 1)]
    whole = traffic_by_month(city["city"].path, months)
    assert whole == {Month(2023, 12): Traffic(2, 1), Month(2024, 1): Traffic(2, 2)}
    cut = traffic_by_month(city["city"].path, months, date(2023, 12, 10), date(2024, 1, 30))
    assert cut == {Month(2023, 12): Traffic(1, 1), Month(2024, 1): Traffic(1, 1)}
    per_month = traffic_by_child_month(city["city"], months)
    assert per_month[Month(2023, 12)].by_child == {city["wuhua"].id: Traffic(2, 1)}
    assert per_month[Month(2024, 1)].by_child == {
        city["wuhua"].id: Traffic(1, 1),
        city["panlong"].id: Traffic(1, 1),
    }
    # In all, a person counts once over the subtree.
    assert per_month[Month(2024, 1)].total == whole[Month(2024, 1)]


# --- The dashboard -------------------------------------------------------------------------


def test_the_dashboard_counts_door_traffic_in_reach_this_month_and_last(
    db, city, make_visit, make_user
):
    make_visit(city["s_wuhua"], "13800000001", date(2024, 1, 3))
    make_visit(city["s_street"], "13800000001", date(2024, 1, 3))
    make_visit(city["s_wuhua"], "13800000001", date(2024, 1, 4))
    make_visit(city["s_wuhua"], "13800000002", date(2023, 12, 30))
    make_visit(city["s_panlong"], "13800000003", date(2024, 1, 3))  # outside Wuhua
    figures = dashboard(make_user(Role.ORGANISER, city["wuhua"]), Month(2024, 1), utcnow())
    assert figures.traffic == Traffic(3, 1)
    assert figures.previous_traffic == Traffic(1, 1)
    manager = make_user(Role.STATION_MANAGER, city["s_panlong"])
    assert dashboard(manager, Month(2024, 1), utcnow()).traffic == Traffic(1, 1)


def test_the_dashboard_page_shows_door_visits_beside_served(
    db, client, login, city, make_visit, make_user
):
    for n in range(7):
        make_visit(city["s_panlong"], f"1380000000{n}", date(2024, 1, 3))
    make_visit(city["s_panlong"], "13800000000", date(2024, 1, 4))
    login(make_user(Role.VIEWER, city["city"]))
    page = _text(client.get("/?month=2024-01"))
    assert "Door visits in the month" in page and "Visitors in the month" in page
    assert '<div class="figure-value">8</div>' in page  # visits
    assert '<div class="figure-value">7</div>' in page  # visitors
    assert "never added together" in page


# --- The tree ------------------------------------------------------------------------------


def test_the_tree_rolls_up_recent_visits_and_stations_without_a_master(
    db, city, make_station, make_visit, make_admin
):
    make_visit(city["s_street"], day=TODAY)
    make_visit(city["s_street"], day=TODAY - timedelta(days=29))
    make_visit(city["s_street"], day=TODAY - timedelta(days=30))  # 31 days ago: not counted
    make_visit(city["s_panlong"], day=TODAY)
    make_admin(city["s_wuhua"])  # Wuhua's own station has a master
    make_admin(city["s_panlong"], until=TODAY - timedelta(days=3))  # Panlong's has left
    make_admin(city["s_city"], role="assistant")  # an assistant is no master
    make_station(city["street"], status=StationStatus.PLANNED)  # not open: needs none yet
    db.session.expire_all()
    with count_queries(db.engine) as queries:
        root = subtree(db.session.get(Unit, city["city"].id))
    assert queries["n"] == 5  # the unit, then units, stations, activities, door visits
    rows = {row.name: row for row in flatten(root)}
    assert (root.visits, root.without_master) == (3, 3)
    assert (rows["五华区总工会"].visits, rows["五华区总工会"].without_master) == (2, 1)
    assert (rows["华山街道工会"].visits, rows["华山街道工会"].without_master) == (2, 1)
    assert (rows["盘龙区总工会"].visits, rows["盘龙区总工会"].without_master) == (1, 1)


def test_the_tree_page_links_stations_without_a_master(client, login, make_user, city):
    login(make_user(Role.ORGANISER, city["city"]))
    page = _text(client.get("/units/"))
    assert "Door visits, last 30 days" in page and "Without a master" in page
    assert f"?unit={city['panlong'].id}&amp;master=none" in page


# --- The station list ----------------------------------------------------------------------


def test_the_station_list_shows_visits_marks_and_filters_stations_without_a_master(
    db, client, login, make_user, city, make_visit, make_admin
):
    make_admin(city["s_wuhua"], name="张站长")
    for n in range(3):
        make_visit(city["s_panlong"], f"1390000000{n}", TODAY - timedelta(days=n))
    make_visit(city["s_panlong"], "13900000009", TODAY - timedelta(days=40))
    login(make_user(Role.ORGANISER, city["city"]))
    page = _text(client.get("/stations/"))
    assert "Door visits, last 30 days" in page
    row = page[page.index("盘龙驿站") :]
    row = row[: row.index("</tr>")]
    assert "no master" in row and '<td class="text-end">3</td>' in row
    mastered = page[page.index("五华驿站") :]
    assert "no master" not in mastered[: mastered.index("</tr>")]
    assert "Open, without a master (3)" in page
    filtered = _text(client.get("/stations/?master=none"))
    assert "盘龙驿站" in filtered and "五华驿站" not in filtered
    assert without_master_ids([city["s_wuhua"].id, city["s_panlong"].id], TODAY) == {
        city["s_panlong"].id
    }
    wrong = client.get("/stations/?master=maybe")
    assert wrong.status_code == 400 and "is not a station master filter" in _text(wrong)


def test_the_station_list_takes_the_same_queries_with_visits_and_masters(
    db, client, login, make_user, city, make_station, make_visit, make_admin
):
    login(make_user(Role.ORGANISER, city["city"]))

    def queries() -> int:
        with count_queries(db.engine) as n:
            assert client.get("/stations/").status_code == 200
        return n["n"]

    make_visit(city["s_wuhua"], day=TODAY)
    few = queries()
    for i in range(6):
        station = make_station(city["panlong"], f"新驿站{i}")
        make_visit(station, day=TODAY)
        if i % 2:
            make_admin(station)
    assert queries() == few


# --- The stations export -------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_the_stations_export_adds_recent_visits_and_still_imports_back(db, city, make_visit, fmt):
    today = date(2024, 3, 30)
    make_visit(city["s_panlong"], day=date(2024, 3, 1))
    make_visit(city["s_panlong"], day=date(2024, 2, 29))  # 31 days before: not counted
    export = export_stations(city["city"], fmt, today)
    if fmt == "csv":
        rows = list(csv.reader(io.StringIO(export.data.decode("utf-8-sig"))))
    else:
        sheet = load_workbook(io.BytesIO(export.data), read_only=True).worksheets[0]
        rows = [list(row) for row in sheet.iter_rows(values_only=True)]
    header = rows[0]
    assert header[-1] == "到访人次（近30日，2024-03-01至2024-03-30）"
    cells = {row[1]: row[-1] for row in rows[1:]}
    assert str(cells["盘龙驿站"]) == "1" and str(cells["五华驿站"]) == "0"
    report = import_stations(export.data, export.filename)
    assert report.errors == [] and report.ignored_columns == [header[-1]]
    assert (report.created, report.updated, report.unchanged) == (0, 0, 4)


# --- The recap -----------------------------------------------------------------------------


@pytest.fixture
def recap_world(db, city, make_campaign, make_activity, make_visit):
    """A campaign of the city with an activity served 50 in January, and door traffic from
    December to February at the city's stations, some of it outside the recap's period."""
    campaign = make_campaign(city["city"], "工会驿站普惠日", starts_on=date(2023, 12, 10))
    activity = make_activity(
        city["s_street"], campaign, starts_at=datetime(2024, 1, 10, 2, tzinfo=UTC)
    )
    db.session.add(Headcount(activity=activity, group=BeneficiaryGroup.COURIER, count=50))
    db.session.commit()
    make_visit(city["s_street"], "13800000001", date(2023, 12, 9))  # the day before
    make_visit(city["s_street"], "13800000001", date(2023, 12, 10))
    make_visit(city["s_street"], "13800000001", date(2024, 1, 10))  # also at the activity
    make_visit(city["s_wuhua"], "13800000001", date(2024, 1, 10))
    make_visit(city["s_panlong"], "13800000002", date(2024, 1, 11), group=BeneficiaryGroup.RIDER)
    make_visit(city["s_city"], "13800000003", date(2024, 1, 20), group=BeneficiaryGroup.RIDER)
    make_visit(city["s_city"], "13800000003", date(2024, 2, 1))  # the day after
    scope = RecapScope(campaign.id, city["city"].id, date(2023, 12, 10), date(2024, 1, 31))
    return {**city, "campaign": campaign, "scope": scope}


def test_the_recap_counts_the_stations_door_traffic_beside_served(recap_world):
    recap = build_recap(recap_world["scope"])
    traffic = recap.traffic
    assert recap.headline.served == 50  # door visits are never added to served
    assert (traffic.visits, traffic.visitors) == (5, 3)
    units = {line.name: (line.visits, line.visitors, line.share) for line in traffic.units}
    assert units == {
        "五华区总工会": (3, 1, 60.0),
        "盘龙区总工会": (1, 1, 20.0),
        "昆明市总工会 (its own stations)": (1, 1, 20.0),
    }
    months = [(line.key, line.visits, line.visitors) for line in traffic.months]
    assert months == [("2023-12", 1, 1), ("2024-01", 4, 3)]
    groups = [(line.key, line.visits, line.visitors) for line in traffic.groups]
    assert groups == [("courier", 3, 1), ("rider", 2, 2)]
    district = build_recap(
        RecapScope(
            recap_world["campaign"].id,
            recap_world["wuhua"].id,
            date(2023, 12, 10),
            date(2024, 1, 31),
        )
    )
    assert (district.traffic.visits, district.traffic.visitors) == (3, 1)
    assert [line.name for line in district.traffic.units] == [
        "华山街道工会",
        "五华区总工会 (its own stations)",
    ]


def test_the_recap_page_and_workbook_show_the_traffic(client, login, make_user, recap_world):
    login(make_user(Role.ORGANISER, recap_world["city"]))
    params = "&".join(f"{k}={v}" for k, v in recap_world["scope"].params().items())
    page = _text(client.get(f"/reports/recap?{params}"))
    assert "Door traffic at the stations" in page and "whatever the campaign" in page
    assert "<strong>5</strong> door visits" in page and "<strong>3</strong> visitors" in page
    response = client.get(f"/reports/recap.xlsx?{params}")
    book = load_workbook(io.BytesIO(response.data))
    summary = {row[0]: row[1] for row in book["Summary"].iter_rows(values_only=True)}
    assert summary["Door visits at the stations (person-times)"] == 5
    assert summary["Visitors at the stations (distinct people)"] == 3
    months = list(book["Door traffic by month"].iter_rows(values_only=True))
    assert months[0][:3] == ("Month", "Door visits (person-times)", "Visitors (distinct people)")
    assert [row[1] for row in months[1:]] == [1, 4]
    groups = client.get(f"/reports/recap.csv?{params}&table=traffic_groups")
    rows = list(csv.reader(io.StringIO(groups.data.decode("utf-8-sig"))))
    assert [row[1:3] for row in rows[1:]] == [["3", "1"], ["2", "2"]]


def test_a_door_visit_renders_the_recap_pdf_again(recap_world, make_visit):
    params = recap_world["scope"].params()
    before = fingerprint("recap", params, "en")
    make_visit(recap_world["s_wuhua"], day=date(2024, 1, 15))
    assert fingerprint("recap", params, "en") != before


def _pdf_text(data: bytes, tmp_path) -> str:
    path = tmp_path / "out.pdf"
    path.write_bytes(data)
    return subprocess.run(
        ["pdftotext", "-layout", str(path), "-"], capture_output=True, check=True, text=True
    ).stdout


@needs_poppler
def test_the_recap_pdf_has_the_traffic_section(client, login, make_user, recap_world, tmp_path):
    login(make_user(Role.ORGANISER, recap_world["city"]))
    params = "&".join(f"{k}={v}" for k, v in recap_world["scope"].params().items())
    response = client.get(f"/reports/recap.pdf?{params}&lang=en")
    assert response.status_code == 200
    text = " ".join(_pdf_text(response.data, tmp_path).split())
    assert "Door traffic at the stations" in text and "Door traffic by sub-unit" in text
    assert "5 door visits (person-times) by 3 visitors (distinct people)" in text
    assert "never added" in text


# --- The league table ----------------------------------------------------------------------


@pytest.fixture
def league_world(db, city, make_visit):
    """December and January door traffic: Panlong busier in January, Wuhua in December."""
    for n in range(3):
        make_visit(city["s_wuhua"], f"1380000000{n}", date(2023, 12, 5))
    make_visit(city["s_street"], "13800000000", date(2024, 1, 5))
    make_visit(city["s_street"], "13800000000", date(2024, 1, 6))
    for n in range(4):
        make_visit(city["s_panlong"], f"1390000000{n}", date(2024, 1, 5))
    make_visit(city["s_city"], "13700000000", date(2024, 1, 5))  # the city's own station
    return city


def test_the_league_ranks_door_traffic_per_sub_unit(league_world):
    league = build_league(league_world["city"], Month(2024, 1))
    rows = {row.name: row for row in league.rows}
    wuhua, panlong = rows["五华区总工会"], rows["盘龙区总工会"]
    assert (wuhua.visits.value, wuhua.visits.previous) == (2, 3)
    assert (wuhua.visitors.value, wuhua.visitors.previous) == (1, 3)
    assert (panlong.visits.value, panlong.visits.rank, panlong.visits.rank_change) == (4, 1, 1)
    # Wuhua has two open stations, Panlong one: 1.0 and 4.0 door visits per open station.
    assert (wuhua.visits_per_station.value, panlong.visits_per_station.value) == (1.0, 4.0)
    assert panlong.visits_per_station.rank == 1 and wuhua.visits_per_station.previous == 1.5
    assert (league.visits, league.visitors) == (7, 6)
    assert (league.previous_visits, league.previous_visitors) == (3, 3)
    assert league.leader("visits_per_station").name == "盘龙区总工会"
    assert wuhua.served.value == 0  # door visits are no one served


def test_the_league_page_and_workbook_show_the_traffic_rankings(
    client, login, make_user, league_world
):
    login(make_user(Role.ORGANISER, league_world["city"]))
    query = f"unit={league_world['city'].id}&month=2024-01"
    page = _text(client.get(f"/reports/league?{query}"))
    assert "Door visits per open station" in page and "Visitors (distinct people)" in page
    assert f"/reports/league.xlsx?{query}" in page.replace("&amp;", "&")
    response = client.get(f"/reports/league.xlsx?{query}")
    assert response.status_code == 200
    book = load_workbook(io.BytesIO(response.data))
    assert "Door visits per open station" in book.sheetnames
    ranking = list(book["Door visits per open station"].iter_rows(values_only=True))
    assert ranking[1][:3] == (1, "盘龙区总工会", 4)
    figures = list(book["Sub-units"].iter_rows(values_only=True))
    assert "Door visits (person-times)" in figures[0]
    assert (
        client.get(f"/reports/league.xlsx?unit={league_world['city'].id}&month=x").status_code
        == 400
    )


@needs_poppler
def test_the_league_notice_ranks_door_visits_per_open_station(
    client, login, make_user, league_world, tmp_path
):
    login(make_user(Role.ORGANISER, league_world["city"]))
    response = client.get(
        f"/reports/league.pdf?unit={league_world['city'].id}&month=2024-01&lang=en"
    )
    assert response.status_code == 200
    text = " ".join(_pdf_text(response.data, tmp_path).split())
    assert "6. Door visits per open station" in text
    assert "By door visits per open station, 盘龙区总工会 ranks first." in text


# --- The API -------------------------------------------------------------------------------


def test_the_api_summary_gives_the_door_traffic(db, client, make_user, recap_world):
    user = make_user(Role.ORGANISER, recap_world["city"])
    _token, raw = issue_token(user, "test", TokenScope.READ)
    db.session.commit()
    scope = recap_world["scope"]
    answer = client.get(
        f"/api/v1/reports/summary?campaign={scope.campaign_id}&unit={scope.unit_id}"
        f"&from={scope.start}&to={scope.end}",
        headers={"Authorization": f"Bearer {raw}"},
    )
    assert answer.status_code == 200, answer.json
    traffic = answer.json["traffic"]
    assert (traffic["visits"], traffic["visitors"]) == (5, 3)
    assert answer.json["served"] == 50
    assert [(m["key"], m["visits"]) for m in traffic["by_month"]] == [
        ("2023-12", 1),
        ("2024-01", 4),
    ]
    assert {g["key"]: g["visitors"] for g in traffic["by_group"]} == {"courier": 1, "rider": 2}
    assert {u["key"]: u["visits"] for u in traffic["by_unit"]}[str(recap_world["wuhua"].id)] == 3
