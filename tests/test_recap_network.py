"""The recap's station network: stations opened in the period and open at its end (by their
lifecycle days, not when they were entered), and the breakdowns by host type and by label, on
a small hand-built city, in the page, the PDF, the spreadsheet and the API, in constant queries."""

from __future__ import annotations

import io
import shutil
import subprocess
from datetime import UTC, date, datetime

import pytest
from flask_babel import force_locale
from openpyxl import load_workbook
from sqlalchemy import select

from inclusive_day.api.models import TokenScope
from inclusive_day.api.tokens import issue_token
from inclusive_day.attendance.models import BeneficiaryGroup, Headcount
from inclusive_day.auth.models import Role
from inclusive_day.reports.cache import fingerprint
from inclusive_day.reports.recap import RecapScope, build_recap, station_network
from inclusive_day.stations.models import HostType, Label, LabelAward, StationStatus
from tests.conftest import count_queries

CHINA_NOON = 4  # 12:00 in China is 04:00 UTC
START, END = date(2023, 10, 19), date(2024, 2, 26)


def _at(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, CHINA_NOON, tzinfo=UTC)


def host_type(db, code: str) -> HostType:
    return db.session.scalar(select(HostType).where(HostType.code == code))


def label(db, code: str) -> Label:
    return db.session.scalar(select(Label).where(Label.code == code))


@pytest.fixture
def network(db, make_unit, make_station, make_campaign, make_activity):
    """A city with two districts (one with a street), and stations of every lifecycle:

    gas   (Guandu, gas station, open since May 2023, provincial-level 2023 and smart 2024)
    hall  (the street, telecom hall, opened in November 2023, provincial-level 2022)
    short (Panlong, gas station, opened in January 2024, closed in February 2024)
    plan  (Panlong, cabin, planned)
    late  (the city, telecom hall, opened after the period; demonstration 2023)
    pause (Guandu, "other", suspended, open since 2022)
    away  (another city, gas station, open since 2023: outside the scope)
    Activities (headcounts): gas 40 and a cancelled one, hall 25, short 10, pause 7, away 99.
    """
    province = make_unit("云南省总工会")
    city = make_unit("昆明市总工会", province)
    guandu = make_unit("官渡区总工会", city)
    street = make_unit("关上街道工会", guandu)
    panlong = make_unit("盘龙区总工会", city)
    other_city = make_unit("曲靖市总工会", province)
    gas_station, hall, cabin = (host_type(db, c) for c in ("gas_station", "telecom_hall", "cabin"))
    stations = {
        "gas": make_station(
            guandu, "加油站驿站", host_type=gas_station, opened_on=date(2023, 5, 1)
        ),
        "hall": make_station(street, "营业厅驿站", host_type=hall, opened_on=date(2023, 11, 10)),
        "short": make_station(
            panlong,
            "临时驿站",
            host_type=gas_station,
            status=StationStatus.CLOSED,
            opened_on=date(2024, 1, 5),
            closed_on=date(2024, 2, 10),
            closure_reason="道路改造",
        ),
        "plan": make_station(panlong, "规划驿站", host_type=cabin, status=StationStatus.PLANNED),
        "late": make_station(city, "新驿站", host_type=hall, opened_on=date(2024, 3, 1)),
        "pause": make_station(
            guandu, "暂停驿站", status=StationStatus.SUSPENDED, opened_on=date(2022, 1, 1)
        ),
        "away": make_station(
            other_city, "曲靖驿站", host_type=gas_station, opened_on=date(2023, 1, 1)
        ),
    }
    for station, code, year, by in (
        ("gas", "provincial_level", 2023, province),
        ("gas", "smart", 2024, city),
        ("hall", "provincial_level", 2022, province),
        ("late", "demonstration", 2023, city),
        ("away", "provincial_level", 2023, province),
    ):
        db.session.add(
            LabelAward(station=stations[station], label=label(db, code), year=year, awarded_by=by)
        )
    campaign = make_campaign(province, "工会驿站普惠日", starts_on=START, ends_on=END)
    for station, day, count in (
        ("gas", date(2023, 11, 5), 40),
        ("hall", date(2024, 1, 18), 25),
        ("short", date(2024, 1, 20), 10),
        ("pause", date(2023, 12, 1), 7),
        ("away", date(2023, 12, 2), 99),
    ):
        activity = make_activity(stations[station], campaign, starts_at=_at(day))
        db.session.add(Headcount(activity=activity, group=BeneficiaryGroup.COURIER, count=count))
    make_activity(stations["gas"], campaign, starts_at=_at(date(2024, 2, 1))).cancel("暴雨")
    db.session.commit()
    return {
        "province": province,
        "city": city,
        "guandu": guandu,
        "campaign": campaign,
        "stations": stations,
        "scope": RecapScope(campaign.id, city.id, START, END),
    }


def figures(lines) -> dict:
    return {line.key: (line.open_stations, line.activities, line.served) for line in lines}


def test_new_stations_are_those_opened_in_the_period_and_open_ones_those_open_at_its_end(
    network,
):
    h = build_recap(network["scope"]).headline
    # hall and short opened in the period (every station was entered today, after it).
    assert h.new_stations == 2
    # gas, hall and pause are open on 26 February 2024: short closed, plan and late not yet.
    assert h.open_stations == 3
    assert (h.activities, h.served, h.stations) == (4, 82, 4)


def test_the_breakdown_by_host_type(network):
    recap = build_recap(network["scope"])
    assert figures(recap.host_types) == {
        "gas_station": (1, 2, 50),  # gas open; its activity and the closed station's
        "telecom_hall": (1, 1, 25),  # hall open; late opens after the period
        "other": (1, 1, 7),  # the suspended station is open, as built
    }
    # In catalogue order; cabins (only a planned one) have no line.
    assert [line.key for line in recap.host_types] == ["telecom_hall", "gas_station", "other"]
    gas = next(line for line in recap.host_types if line.key == "gas_station")
    assert gas.share == pytest.approx(61.0) and gas.per_activity == 25


def test_the_breakdown_by_label_counts_a_station_under_each_label_held_by_then(network):
    recap = build_recap(network["scope"])
    assert figures(recap.labels) == {
        "provincial_level": (2, 2, 65),  # gas and hall
        "smart": (1, 1, 40),  # awarded in 2024, the period's last year
    }
    ended_2023 = RecapScope(network["campaign"].id, network["city"].id, START, date(2023, 12, 31))
    # By the end of 2023 hall had opened (but held its activity in 2024), and smart was not yet.
    assert figures(build_recap(ended_2023).labels) == {"provincial_level": (2, 1, 40)}


def test_a_sub_units_recap_counts_its_own_subtree(network):
    scope = RecapScope(network["campaign"].id, network["guandu"].id, START, END)
    recap = build_recap(scope)
    assert (recap.headline.new_stations, recap.headline.open_stations) == (1, 3)
    assert figures(recap.host_types) == {
        "telecom_hall": (1, 1, 25),
        "gas_station": (1, 1, 40),
        "other": (1, 1, 7),
    }


def test_the_network_counts_every_catalogue_value_in_one_query(db, network):
    path = network["city"].path
    db.session.expire_all()
    with count_queries(db.engine) as n:
        counted = station_network(path, START, END)
    assert n["n"] == 1
    assert (counted.opened, counted.open) == (2, 3)
    assert len(counted.host_types) == db.session.query(HostType).count()
    assert {c.code: c.open_stations for c in counted.labels if c.open_stations} == {
        "provincial_level": 2,
        "smart": 1,
    }


def test_more_stations_types_and_labels_cost_no_more_queries(db, network, make_station):
    def queries() -> int:
        db.session.expire_all()
        with count_queries(db.engine) as n:
            build_recap(network["scope"])
        return n["n"]

    before = queries()
    for i in range(5):
        kind = HostType(code=f"kind_{i}", name_zh=f"类型{i}", name_en=f"Kind {i}", position=20 + i)
        grade = Label(code=f"grade_{i}", name_zh=f"称号{i}", name_en=f"Grade {i}", position=20 + i)
        db.session.add_all([kind, grade])
        station = make_station(network["guandu"], host_type=kind, opened_on=date(2023, 1, 1))
        db.session.add(
            LabelAward(station=station, label=grade, year=2023, awarded_by=network["city"])
        )
    db.session.commit()
    assert queries() == before
    assert len(build_recap(network["scope"]).host_types) == 8


def test_english_names(network):
    with force_locale("en"):
        recap = build_recap(network["scope"])
    assert [line.name for line in recap.labels] == ["provincial-level station", "smart station"]


# --- Where the figures show ---------------------------------------------------------------


def test_the_recap_page_shows_the_network(client, login, make_user, network):
    login(make_user(Role.VIEWER, network["city"]))
    query = f"campaign={network['campaign'].id}&unit={network['city'].id}"
    page = client.get(f"/reports/recap?{query}&from=2023-10-19&to=2024-02-26&lang=en")
    text = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "2 opened in the period, 3 open at its end" in text
    for expected in ("By host type", "By label", "gas station", "provincial-level station"):
        assert expected in text, expected
    assert "standalone cabin" not in text  # no open cabin, no activity at one


def test_the_workbook_has_the_network_sheets(client, login, make_user, network):
    login(make_user(Role.ADMIN))
    query = f"campaign={network['campaign'].id}&unit={network['city'].id}"
    response = client.get(f"/reports/recap.xlsx?{query}&from=2023-10-19&to=2024-02-26")
    book = load_workbook(io.BytesIO(response.data))
    summary = {row[0]: row[1] for row in book["Summary"].iter_rows(values_only=True)}
    assert summary["Stations opened in the period"] == 2
    assert summary["Stations open at the end of the period"] == 3
    types = list(book["By host type"].iter_rows(values_only=True))
    assert types[0][:3] == ("Host type", "Code", "Open stations at the end of the period")
    assert [row[1:5] for row in types[1:]] == [
        ("telecom_hall", 1, 1, 25),
        ("gas_station", 1, 2, 50),
        ("other", 1, 1, 7),
    ]
    labels = list(book["By label"].iter_rows(values_only=True))
    assert [row[1:5] for row in labels[1:]] == [("provincial_level", 2, 2, 65), ("smart", 1, 1, 40)]
    csv = client.get(f"/reports/recap.csv?{query}&from=2023-10-19&to=2024-02-26&table=labels")
    assert csv.status_code == 200 and "provincial_level" in csv.data.decode("utf-8-sig")


@pytest.mark.skipif(shutil.which("pdftotext") is None, reason="pdftotext is not installed")
def test_the_pdf_has_the_network_tables(app, client, login, make_user, network, tmp_path):
    app.config["REPORT_CACHE_DIR"] = str(tmp_path / "cache")
    login(make_user(Role.ADMIN))
    query = f"campaign={network['campaign'].id}&unit={network['city'].id}"
    response = client.get(f"/reports/recap.pdf?{query}&from=2023-10-19&to=2024-02-26&lang=zh")
    assert response.status_code == 200
    path = tmp_path / "recap.pdf"
    path.write_bytes(response.data)
    text = subprocess.run(
        ["pdftotext", "-layout", str(path), "-"], capture_output=True, check=True, text=True
    ).stdout
    for expected in ("加油站", "通信营业厅", "省级工会驿站", "智慧驿站"):
        assert expected in text, expected
    gas = next(line for line in text.splitlines() if "加油站" in line)
    assert gas.split()[1:4] == ["1", "2", "50"]


def test_the_api_summary_has_the_network(client, db, make_user, network):
    organiser = make_user(Role.ORGANISER, on=network["city"])
    _token, raw = issue_token(organiser, "test", TokenScope.READ)
    db.session.commit()
    answer = client.get(
        f"/api/v1/reports/summary?campaign={network['campaign'].id}&unit={network['city'].id}"
        "&from=2023-10-19&to=2024-02-26",
        headers={"Authorization": f"Bearer {raw}"},
    )
    assert answer.status_code == 200, answer.json
    body = answer.json
    assert (body["new_stations"], body["open_stations"]) == (2, 3)
    assert body["by_host_type"][1] == {
        "key": "gas_station",
        "name": "gas station",
        "open_stations": 1,
        "activities": 2,
        "served": 50,
    }
    assert [line["key"] for line in body["by_label"]] == ["provincial_level", "smart"]


def test_the_pdf_cache_follows_labels_and_catalogue_names(db, network):
    params = network["scope"].params()
    now = datetime(2026, 1, 1, tzinfo=UTC)
    seen = {fingerprint("recap", params, "zh", now)}

    def changed() -> bool:
        key = fingerprint("recap", params, "zh", now)
        fresh = key not in seen
        seen.add(key)
        return fresh

    award = LabelAward(
        station=network["stations"]["pause"],
        label=label(db, "open_24h"),
        year=2023,
        awarded_by=network["city"],
    )
    db.session.add(award)
    db.session.commit()
    assert changed()
    award.year = 2022
    db.session.commit()
    assert changed()
    host_type(db, "gas_station").name_zh = "加油站（中石化）"
    db.session.commit()
    assert changed()
    label(db, "smart").name_en = "smart post station"
    db.session.commit()
    assert changed()
    assert not changed()
