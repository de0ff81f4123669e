"""Construction targets handed down the tree, coverage goals, stations open on a day, and the
construction progress notice (page, PDF, spreadsheet, API, command line)."""

from __future__ import annotations

import io
import shutil
import subprocess
from datetime import date
from decimal import Decimal

import pytest
from flask_babel import force_locale
from openpyxl import load_workbook
from sqlalchemy import func, insert, select

from inclusive_day.api.models import TokenScope
from inclusive_day.api.tokens import issue_token
from inclusive_day.auth.models import Role
from inclusive_day.construction.models import ConstructionTarget, CoverageGoal
from inclusive_day.construction.queries import (
    coverage_by_child,
    open_by_child,
    open_per_unit,
    progress,
)
from inclusive_day.construction.services import (
    STATIONS_MAX,
    ConstructionError,
    Refusal,
    TargetEntry,
    may_set_target,
    set_coverage_goals,
    set_targets,
)
from inclusive_day.funds.models import FundKind, FundLine
from inclusive_day.reports import jobs
from inclusive_day.reports.construction import ConstructionScope, build_construction
from inclusive_day.stations.models import HostType, Label, LabelAward, Station, StationStatus
from inclusive_day.units.models import Level, Unit
from tests.conftest import count_queries

ON, SINCE = date(2023, 8, 15), date(2023, 7, 15)
needs_poppler = pytest.mark.skipif(
    shutil.which("pdftotext") is None, reason="pdftotext (poppler-utils) is not installed"
)


@pytest.fixture(autouse=True)
def report_cache(app, tmp_path):
    app.config["REPORT_CACHE_DIR"] = str(tmp_path / "cache")


def _host(db, code: str) -> int:
    return db.session.scalar(select(HostType.id).where(HostType.code == code))


def _label(db, code: str) -> int:
    return db.session.scalar(select(Label.id).where(Label.code == code))


@pytest.fixture
def network(db, make_unit, make_station, make_user):
    """A province with four cities, stations opening and closing through 2023, targets, funds,
    host types and labels; the figures of 15 August 2023 (gain since 15 July) are worked out
    in the comments."""
    p = make_unit("安徽省总工会")
    a, b, c, d = (
        make_unit(name, p) for name in ("合肥市总工会", "芜湖市总工会", "蚌埠市", "淮南市")
    )
    a1, a2 = make_unit("庐阳区总工会", a), make_unit("瑶海区总工会", a)
    a1s = make_unit("杏林街道工会", a1)
    a1c1, a1c2 = make_unit("杏花村社区", a1s), make_unit("桃花村社区", a1s)
    b1 = make_unit("镜湖区总工会", b)
    b1s = make_unit("范罗山街道工会", b1)

    def station(unit, opened=None, closed=None, status=StationStatus.ACTIVE, **kw):
        if closed is not None:
            status = StationStatus.CLOSED
        return make_station(unit, opened_on=opened, closed_on=closed, status=status, **kw)

    gas, telecom = _host(db, "gas_station"), _host(db, "telecom_hall")
    # 合肥 (target 4): on 15 Aug st1 and st2 (2, 50 %); on 15 Jul st1, st4, st4b (3, 75 %).
    st1 = station(a1c1, date(2023, 1, 10), host_type_id=gas)
    st2 = station(a1, date(2023, 7, 20), host_type_id=telecom)
    station(a2, date(2023, 8, 20))  # opens after the report's day
    st4 = station(a2, date(2022, 5, 1), date(2023, 8, 1))  # closed between the two days
    station(a2, date(2023, 1, 1), date(2023, 8, 10))
    # 芜湖 (target 4): on 15 Aug 3 (75 %); on 15 Jul 2 (50 %); one still planned.
    st5 = station(b1s, date(2023, 3, 1))
    station(b1s, date(2023, 3, 2), status=StationStatus.SUSPENDED)  # suspended: still built
    station(b1s, date(2023, 8, 1))
    station(b1s, status=StationStatus.PLANNED)
    # 蚌埠 (no target) and 淮南 (target 1, met on both days); one station of the province's own.
    station(c, date(2023, 2, 1))
    station(d, date(2023, 1, 5))
    station(p, date(2023, 1, 1))
    provincial, smart, demonstration = (
        _label(db, code) for code in ("provincial_level", "smart", "demonstration")
    )
    db.session.add_all(
        [
            ConstructionTarget(unit_id=p.id, year=2023, stations=10, due_on=date(2023, 12, 31)),
            ConstructionTarget(unit_id=a.id, year=2023, stations=4, due_on=date(2023, 12, 31)),
            ConstructionTarget(unit_id=b.id, year=2023, stations=4, due_on=date(2023, 9, 30)),
            ConstructionTarget(unit_id=d.id, year=2023, stations=1, due_on=date(2023, 12, 31)),
            ConstructionTarget(unit_id=a.id, year=2024, stations=99, due_on=date(2024, 12, 31)),
            LabelAward(station=st1, label_id=provincial, year=2023, awarded_by=p),
            LabelAward(station=st5, label_id=provincial, year=2024, awarded_by=p),
            LabelAward(station=st2, label_id=smart, year=2022, awarded_by=p),
            LabelAward(station=st4, label_id=demonstration, year=2022, awarded_by=p),
        ]
    )

    def fund(kind, amount, unit, allocated, paid=None, year=2023, station=None):
        return FundLine(
            kind=kind,
            amount=Decimal(amount),
            year=year,
            unit_id=unit.id,
            station_id=station.id if station else None,
            allocated_on=allocated,
            paid_on=paid,
        )

    K = FundKind
    db.session.add_all(
        [
            fund(K.CONSTRUCTION_SUBSIDY, "1000", a1, date(2023, 3, 1), date(2023, 4, 1)),
            fund(K.UNION_INVESTMENT, "500", b1, date(2023, 5, 1)),
            fund(K.LEVERAGED, "2000", a1c1, date(2023, 9, 1), station=st1),  # after the day
            fund(K.LEVERAGED, "700", b1s, date(2023, 6, 1), date(2023, 9, 1)),  # paid later
            fund(K.CONSTRUCTION_SUBSIDY, "9999", a1, date(2022, 3, 1), year=2022),
            fund(K.AWARD, "300", p, date(2023, 2, 1), date(2023, 2, 2)),
        ]
    )
    db.session.commit()
    names = ("p", "a", "b", "c", "d", "a1", "a2", "a1s", "a1c1", "a1c2", "b1", "b1s")
    units = dict(zip(names, (p, a, b, c, d, a1, a2, a1s, a1c1, a1c2, b1, b1s), strict=True))
    for unit in units.values():
        db.session.refresh(unit)  # loaded again, so that counting queries counts only theirs
    return units


# --- Stations open on a day --------------------------------------------------------------------


def test_open_by_child_counts_both_days_in_one_query(db, network):
    n = network
    with count_queries(db.engine) as q:
        counts = open_by_child(n["p"], ON, SINCE)
    assert q["n"] == 1
    assert counts == {
        n["a"].id: (2, 3),
        n["b"].id: (3, 2),
        n["c"].id: (1, 1),
        n["d"].id: (1, 1),
    } | {n["p"].id: (1, 1)}


def test_open_per_unit_counts_every_unit_at_once(db, network):
    n = network
    with count_queries(db.engine) as q:
        counts = open_per_unit(n["p"], ON)
    assert q["n"] == 1
    total = db.session.scalar(select(func.count(Unit.id)))
    assert len(counts) == total  # every unit, those without stations at 0
    names = ("p", "a", "b", "c", "d", "a1", "a2", "a1s", "a1c1", "a1c2", "b1", "b1s")
    expected = dict(zip(names, (8, 2, 3, 1, 1, 2, 0, 1, 1, 0, 3, 3), strict=True))
    assert {name: counts[n[name].id] for name in expected} == expected
    assert open_per_unit(n["a"], SINCE) == {
        n["a"].id: 3,
        n["a1"].id: 1,
        n["a2"].id: 2,
        n["a1s"].id: 1,
        n["a1c1"].id: 1,
        n["a1c2"].id: 0,
    }


def test_coverage_counts_units_with_an_open_station_in_their_subtree(db, network):
    n = network
    levels = [Level.DISTRICT, Level.STREET, Level.COMMUNITY]
    with count_queries(db.engine) as q:
        coverage = coverage_by_child(n["p"], ON, levels)
    assert q["n"] == 1
    a = coverage[n["a"].id]
    # 庐阳 has stations, 瑶海's are closed or not yet open; 杏林 through 杏花村; 桃花村 none.
    assert (a[Level.DISTRICT].covered, a[Level.DISTRICT].total) == (1, 2)
    assert (a[Level.STREET].covered, a[Level.STREET].total) == (1, 1)
    assert (a[Level.COMMUNITY].covered, a[Level.COMMUNITY].total, a[Level.COMMUNITY].percent) == (
        1,
        2,
        50.0,
    )
    assert Level.COMMUNITY not in coverage[n["b"].id]
    assert n["c"].id not in coverage  # no unit of those levels
    # On 15 July 瑶海 still had its stations.
    earlier = coverage_by_child(n["p"], SINCE, levels)[n["a"].id]
    assert earlier[Level.DISTRICT].covered == 2


def test_progress_of_a_unit_and_its_sub_units(db, network):
    n = network
    children = [n["a"], n["b"], n["c"], n["d"]]
    with count_queries(db.engine) as q:
        figures = progress(n["p"], children, 2023, ON)
    assert q["n"] == 2
    own = figures[n["p"].id]
    assert (own.built, own.target, own.percent, own.still_to_build) == (8, 10, 80.0, 2)
    assert (figures[n["b"].id].percent, figures[n["b"].id].due_on) == (75.0, date(2023, 9, 30))
    assert figures[n["c"].id].percent is None and figures[n["c"].id].still_to_build is None
    assert figures[n["d"].id].met and figures[n["d"].id].still_to_build == 0


# --- Setting targets and goals -----------------------------------------------------------------


def _target(db, unit, year=2023):
    return db.session.scalar(
        select(ConstructionTarget).where(
            ConstructionTarget.unit_id == unit.id, ConstructionTarget.year == year
        )
    )


def test_a_unit_hands_targets_down_due_on_the_last_day_by_default(db, network, make_user):
    n = network
    organiser = make_user(Role.ORGANISER, n["b"])
    changed = set_targets(organiser, 2023, {n["b1"]: TargetEntry(4)})
    db.session.commit()
    row = _target(db, n["b1"])
    assert changed == 1 and (row.stations, row.due_on, row.updated_by_id) == (
        4,
        date(2023, 12, 31),
        organiser.id,
    )
    assert set_targets(organiser, 2023, {n["b1"]: TargetEntry(4)}) == 0  # unchanged
    set_targets(organiser, 2023, {n["b1"]: TargetEntry(6, date(2023, 10, 1))})
    assert (_target(db, n["b1"]).stations, _target(db, n["b1"]).due_on) == (6, date(2023, 10, 1))
    set_targets(organiser, 2023, {n["b1"]: TargetEntry(None)})  # blank: no target
    db.session.commit()
    assert _target(db, n["b1"]) is None


def test_a_units_own_target_is_set_from_above(db, network, make_user):
    n = network
    city = make_user(Role.ORGANISER, n["b"])
    assert not may_set_target(city, n["b"]) and may_set_target(city, n["b1"])
    with pytest.raises(ConstructionError) as refused:
        set_targets(city, 2023, {n["b"]: TargetEntry(50)})
    assert refused.value.code is Refusal.NOT_ALLOWED
    outsider = make_user(Role.ORGANISER, n["a"])
    with pytest.raises(ConstructionError) as refused:
        set_targets(outsider, 2023, {n["b1"]: TargetEntry(50)})
    assert refused.value.code is Refusal.NOT_ALLOWED
    viewer = make_user(Role.VIEWER, n["p"])
    with pytest.raises(ConstructionError):
        set_targets(viewer, 2023, {n["a"]: TargetEntry(5)})
    # A root's own target: those who may edit the root.
    admin = make_user(Role.ADMIN)
    assert set_targets(admin, 2023, {n["p"]: TargetEntry(11_000)}) == 1
    assert _target(db, n["p"]).stations == 11_000


@pytest.mark.parametrize(
    ("entry", "code", "field"),
    [
        (TargetEntry(-1), Refusal.NEGATIVE_TARGET, "stations_{id}"),
        (TargetEntry(STATIONS_MAX + 1), Refusal.TARGET_TOO_LARGE, "stations_{id}"),
        (TargetEntry(5, date(2024, 1, 1)), Refusal.DUE_OUTSIDE_YEAR, "due_{id}"),
        (TargetEntry(5, date(2022, 12, 31)), Refusal.DUE_OUTSIDE_YEAR, "due_{id}"),
    ],
)
def test_bad_targets_are_refused_and_nothing_is_written(db, network, make_user, entry, code, field):
    n = network
    organiser = make_user(Role.ORGANISER, n["a"])
    before = db.session.scalar(select(func.count(ConstructionTarget.id)))
    with pytest.raises(ConstructionError) as refused:
        # A good entry first: it must not be written either.
        set_targets(organiser, 2023, {n["a1"]: TargetEntry(3), n["a2"]: entry})
    db.session.rollback()
    assert refused.value.code is code and refused.value.field == field.format(id=n["a2"].id)
    assert str(refused.value.message)
    assert db.session.scalar(select(func.count(ConstructionTarget.id))) == before


def test_a_year_outside_the_tables_is_refused(network, make_user):
    with pytest.raises(ConstructionError) as refused:
        set_targets(make_user(Role.ADMIN), 1999, {network["p"]: TargetEntry(1)})
    assert refused.value.code is Refusal.BAD_YEAR


def test_coverage_goals_per_level(db, network, make_user):
    n = network
    city = make_user(Role.ORGANISER, n["a"])
    goals = {Level.DISTRICT: 50, Level.COMMUNITY: 100}
    assert set_coverage_goals(city, n["a"], 2023, goals) == 2
    db.session.commit()
    stored = db.session.execute(
        select(CoverageGoal.level, CoverageGoal.percent).where(CoverageGoal.unit_id == n["a"].id)
    ).all()
    assert dict(stored) == goals
    assert set_coverage_goals(city, n["a"], 2023, {Level.DISTRICT: None}) == 1  # removed
    with pytest.raises(ConstructionError) as refused:
        set_coverage_goals(city, n["a"], 2023, {Level.CITY: 50})
    assert refused.value.code is Refusal.LEVEL_NOT_BELOW
    for percent in (0, 101, -5):
        with pytest.raises(ConstructionError) as refused:
            set_coverage_goals(city, n["a"], 2023, {Level.STREET: percent})
        assert refused.value.code is Refusal.BAD_PERCENT
    with pytest.raises(ConstructionError) as refused:
        set_coverage_goals(city, n["b"], 2023, {Level.STREET: 50})
    assert refused.value.code is Refusal.NOT_ALLOWED


# --- The report's figures ----------------------------------------------------------------------


def test_the_report_against_the_hand_built_tree(db, network):
    n = network
    with force_locale("zh"):
        report = build_construction(ConstructionScope(n["p"].id, ON, SINCE))
    assert (report.target, report.built, report.built_since, report.gain) == (10, 8, 8, 0)
    assert (report.percent, report.still_to_build, report.handed_down) == (80.0, 2, 9)
    assert (report.direct_built, report.year) == (1, 2023)
    rows = {r.name: r for r in report.rows}
    hefei, wuhu, bengbu, huainan = (
        rows[x] for x in ("合肥市总工会", "芜湖市总工会", "蚌埠市", "淮南市")
    )
    assert (hefei.built, hefei.built_since, hefei.gain, hefei.percent) == (2, 3, -1, 50.0)
    assert (wuhu.built, wuhu.gain, wuhu.percent, wuhu.still_to_build) == (3, 1, 75.0, 1)
    assert (bengbu.target, bengbu.percent, bengbu.rank) == (None, None, None)
    # Ranks by share of target: on 15 July 淮南 100 %, 合肥 75 %, 芜湖 50 %; on 15 August
    # 淮南 100 %, 芜湖 75 %, 合肥 50 %.
    assert (huainan.rank, huainan.rank_change) == (1, 0)
    assert (wuhu.rank, wuhu.previous_rank, wuhu.rank_change) == (2, 3, 1)
    assert (hefei.rank, hefei.previous_rank, hefei.rank_change) == (3, 2, -1)
    assert [r.name for r in report.ranked()] == ["淮南市", "芜湖市总工会", "合肥市总工会", "蚌埠市"]
    # Coverage without goals: the levels below the cities.
    assert report.levels == (Level.DISTRICT, Level.STREET, Level.COMMUNITY)
    totals = {c.level: (c.covered, c.total) for c in report.coverage}
    assert totals == {Level.DISTRICT: (2, 3), Level.STREET: (2, 2), Level.COMMUNITY: (1, 2)}
    assert [c.percent for c in hefei.coverage] == [50.0, 100.0, 50.0]
    # Funds of 2023 allocated by 15 August; paid by then.
    f = report.funds
    assert (f.allocated, f.driven, f.leveraged, f.paid) == (
        Decimal("1300.00"),
        Decimal("500.00"),
        Decimal("700.00"),
        Decimal("1300.00"),
    )
    assert hefei.funds.allocated == Decimal("1000.00") and wuhu.funds.leveraged == Decimal("700")
    assert report.direct_funds.allocated == Decimal("300.00")
    # The stations open on the day by host type and by label (awarded by then).
    types = {s.code: s.stations for s in report.host_types}
    assert (types["gas_station"], types["telecom_hall"], types["other"]) == (1, 1, 6)
    assert report.host_types[0].name == "独立驿站"  # the catalogue's order, in Chinese
    labels = {s.code: s.stations for s in report.labels}
    assert (labels["provincial_level"], labels["smart"], labels["demonstration"]) == (1, 1, 0)
    assert {s.code: s.percent for s in report.labels}["smart"] == 12.5


def test_goals_choose_the_coverage_levels(db, network, make_user):
    n = network
    set_coverage_goals(make_user(Role.ADMIN), n["p"], 2023, {Level.DISTRICT: 50, Level.CITY: 100})
    db.session.commit()
    report = build_construction(ConstructionScope(n["p"].id, ON, SINCE))
    assert report.levels == (Level.CITY, Level.DISTRICT)
    city, district = report.coverage
    assert (city.covered, city.total, city.goal, city.met) == (4, 4, 100, True)
    assert (district.percent, district.goal, district.met) == (66.7, 50, True)


def test_the_report_takes_a_constant_number_of_queries(db, network, make_unit, make_station):
    n = network
    scope = ConstructionScope(n["p"].id, ON, SINCE)
    db.session.expire_all()
    with count_queries(db.engine) as few:
        build_construction(scope)
    for i in range(4):
        city = make_unit(f"新市{i}", n["p"])
        district = make_unit(f"新区{i}", city)
        for _ in range(3):
            make_station(district, opened_on=date(2023, 5, 1))
    db.session.execute(
        insert(Station),
        [
            {"unit_id": n["a1c2"].id, "code": f"BULK{i}", "name": f"站{i}", "opened_on": ON}
            for i in range(200)
        ],
    )
    db.session.commit()
    db.session.expire_all()
    with count_queries(db.engine) as many:
        report = build_construction(scope)
    assert report.built == 8 + 12 + 200
    assert few["n"] == many["n"] <= 11


# --- Pages -------------------------------------------------------------------------------------


def test_the_targets_page_warns_when_the_sub_units_fall_short(client, login, make_user, network):
    n = network
    login(make_user(Role.ADMIN))
    response = client.get(f"/construction/targets?unit={n['p'].id}&year=2023")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    # 2023 is over: built counts what stood on 31 December (淮南's 20 August station too).
    assert "合肥市总工会" in page and "90.0%" in page
    assert "The sub-units' targets fall short of the unit's own by 1." in page
    assert f'name="stations_{n["a"].id}"' in page and 'value="4"' in page


def test_saving_targets_from_the_page(db, client, login, make_user, network):
    n = network
    login(make_user(Role.ORGANISER, n["a"]))
    url = f"/construction/targets?unit={n['a'].id}&year=2023"
    page = client.get(url).get_data(as_text=True)
    assert f'name="stations_{n["a"].id}"' not in page  # handed down from the province
    response = client.post(
        url,
        data={
            f"stations_{n['a1'].id}": "3",
            f"due_{n['a1'].id}": "2023-11-30",
            f"stations_{n['a2'].id}": "2",
        },
    )
    assert response.status_code == 302
    assert (_target(db, n["a1"]).stations, _target(db, n["a1"]).due_on) == (3, date(2023, 11, 30))
    assert _target(db, n["a2"]).due_on == date(2023, 12, 31)
    # 3 + 2 handed down against 合肥's own 4.
    assert "Handed down 1 more than the own target" in client.get(url).get_data(as_text=True)


@pytest.mark.parametrize(
    ("value", "due", "message"),
    [
        ("-3", "", "A target cannot be negative."),
        ("50000000", "", "is not plausible"),
        ("3", "2024-03-01", "The due day must fall in 2023."),
        ("three", "", "Enter a whole number of 0 or more."),
    ],
)
def test_a_bad_target_re_renders_the_form_and_changes_nothing(
    db, client, login, make_user, network, value, due, message
):
    n = network
    login(make_user(Role.ORGANISER, n["a"]))
    url = f"/construction/targets?unit={n['a'].id}&year=2023"
    response = client.post(
        url,
        data={
            f"stations_{n['a1'].id}": "7",
            f"stations_{n['a2'].id}": value,
            f"due_{n['a2'].id}": due,
        },
    )
    assert response.status_code == 200
    assert message in response.get_data(as_text=True)
    assert _target(db, n["a1"]) is None and _target(db, n["a2"]) is None


def test_targets_outside_ones_reach_answer_404(client, login, make_user, network):
    n = network
    login(make_user(Role.ORGANISER, n["a"]))
    assert client.get(f"/construction/targets?unit={n['b'].id}").status_code == 404
    assert client.post(f"/construction/targets?unit={n['b'].id}&year=2023").status_code == 404
    assert client.get(f"/construction/targets?unit={n['a'].id}&year=1800").status_code == 404
    assert client.get(f"/construction/targets?unit={n['a'].id}&year=x").status_code == 404
    assert client.post(f"/construction/goals?unit={n['b'].id}&year=2023").status_code == 404


def test_a_viewer_sees_targets_and_sets_none(client, login, make_user, network):
    n = network
    login(make_user(Role.VIEWER, n["a"]))
    response = client.get("/construction/targets?year=2023")  # their highest unit
    assert response.status_code == 200 and "合肥市总工会" in response.get_data(as_text=True)
    assert 'name="stations_' not in response.get_data(as_text=True)
    assert client.post(f"/construction/targets?unit={n['a'].id}").status_code == 404


def test_saving_coverage_goals_from_the_page(db, client, login, make_user, network):
    n = network
    login(make_user(Role.ORGANISER, n["a"]))
    url = f"/construction/goals?unit={n['a'].id}&year=2023"
    bad = client.post(url, data={"percent_street": "120", "percent_community": "100"})
    assert bad.status_code == 200 and "from 1 to 100" in bad.get_data(as_text=True)
    assert db.session.scalar(select(func.count(CoverageGoal.id))) == 0
    assert (
        client.post(url, data={"percent_street": "80", "percent_community": ""}).status_code == 302
    )
    goal = db.session.scalar(select(CoverageGoal))
    assert (goal.unit_id, goal.level, goal.percent) == (n["a"].id, Level.STREET, 80)


def test_the_report_page(client, login, make_user, network):
    n = network
    login(make_user(Role.VIEWER, n["p"]))
    response = client.get(f"/reports/construction?unit={n['p'].id}&on=2023-08-15")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "芜湖市总工会" in page and "80.0%" in page and "75.0%" in page and "↑1" in page
    assert "since=2023-07-15" in page  # a month before, by default
    assert "/reports/construction.pdf?" in page and "/construction/targets?" in page
    assert "1,300.00" in page  # allocated in 2023 by the day


@pytest.mark.parametrize(
    "query",
    [
        "on=2023-08-15&since=2023-08-15",
        "on=2023-08-15&since=2023-09-01",
        "on=2023-02-30",
        "on=1999-01-01",
        "on=2023-08-15&since=1999-12-31",
    ],
)
def test_bad_days_answer_400_with_the_form(client, login, make_user, network, query):
    n = network
    login(make_user(Role.ADMIN))
    response = client.get(f"/reports/construction?unit={n['p'].id}&{query}")
    assert response.status_code == 400
    assert "is-invalid" in response.get_data(as_text=True)
    assert client.get(f"/reports/construction.pdf?unit={n['p'].id}&{query}").status_code == 400


def test_report_access(client, login, make_user, network, make_station):
    n = network
    login(make_user(Role.ORGANISER, n["a"]))
    for path in (
        "/reports/construction",
        "/reports/construction.pdf",
        "/reports/construction.xlsx",
    ):
        assert client.get(f"{path}?unit={n['p'].id}&on=2023-08-15").status_code == 404
    assert client.get("/reports/construction?unit=abc").status_code == 404
    assert client.get("/reports/construction?on=2023-08-15").status_code == 200  # 合肥


@needs_poppler
def test_the_notice_pdf_in_chinese_and_english(client, login, make_user, network, tmp_path):
    n = network
    login(make_user(Role.ADMIN))
    url = f"/reports/construction.pdf?unit={n['p'].id}&on=2023-08-15&since=2023-07-15"
    response = client.get(url + "&lang=zh")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    text = _pdf_text(response.data, tmp_path)
    for expected in ("安徽省总工会", "2023年8月15日", "芜湖市总工会", "80.0%", "1,300.00"):
        assert expected in text, expected
    assert "排名" in text and "下级单位" in text and "第 1 页" in text  # in Chinese
    english = _pdf_text(client.get(url + "&lang=en").data, tmp_path)
    assert "Construction progress notice" in english and "Still to" in english
    assert "淮南市" in english  # names stay as they are


def _pdf_text(data: bytes, tmp_path) -> str:
    path = tmp_path / "notice.pdf"
    path.write_bytes(data)
    return subprocess.run(
        ["pdftotext", "-layout", str(path), "-"], capture_output=True, check=True, text=True
    ).stdout


def test_the_pdf_comes_from_the_cache_until_a_target_changes(
    db, client, login, make_user, network, monkeypatch
):
    n = network
    login(make_user(Role.ADMIN))
    renders = []
    original = jobs.render_construction
    monkeypatch.setattr(jobs, "render_construction", lambda *a: renders.append(a) or original(*a))
    url = f"/reports/construction.pdf?unit={n['p'].id}&on=2023-08-15"
    first = client.get(url)
    assert client.get(url).data == first.data and len(renders) == 1
    target = _target(db, n["a"])
    target.stations = 5
    db.session.commit()
    client.get(url)
    assert len(renders) == 2


def test_the_spreadsheet(client, login, make_user, network):
    n = network
    login(make_user(Role.ADMIN))
    response = client.get(f"/reports/construction.xlsx?unit={n['p'].id}&on=2023-08-15")
    assert response.status_code == 200
    book = load_workbook(io.BytesIO(response.data))
    assert book.sheetnames == [
        "Summary",
        "Progress",
        "Coverage",
        "Funds",
        "By host type",
        "By label",
    ]
    progress_rows = list(book["Progress"].iter_rows(values_only=True))
    assert progress_rows[1][:2] == (1, "淮南市")
    wuhu = next(r for r in progress_rows if r[1] == "芜湖市总工会")
    assert (wuhu[3], wuhu[5], wuhu[6], wuhu[7], wuhu[10]) == (4, 3, 75.0, 1, 1)
    funds = list(book["Funds"].iter_rows(values_only=True))
    assert funds[-1][0] == "Total" and funds[-1][1] == 1300


# --- API and command line ----------------------------------------------------------------------


def test_the_api_answers_the_report(db, client, make_user, network):
    n = network
    _token, raw = issue_token(make_user(Role.VIEWER, n["p"]), "test", TokenScope.READ)
    db.session.commit()
    headers = {"Authorization": f"Bearer {raw}"}
    response = client.get(
        f"/api/v1/reports/construction?unit={n['p'].id}&on=2023-08-15", headers=headers
    )
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert (body["built"], body["target"], body["percent"], body["since"]) == (
        8,
        10,
        80.0,
        "2023-07-15",
    )
    assert body["funds"] == {
        "allocated": "1300.00",
        "driven": "500.00",
        "leveraged": "700.00",
        "paid": "1300.00",
    }
    first = body["sub_units"][0]
    assert (first["name"], first["rank"], first["level"]) == ("淮南市", 1, "city")
    wuhu = next(s for s in body["sub_units"] if s["name"] == "芜湖市总工会")
    assert (wuhu["gain"], wuhu["rank_change"], wuhu["due_on"]) == (1, 1, "2023-09-30")
    assert {s["code"]: s["stations"] for s in body["by_label"]}["provincial_level"] == 1
    assert [c["level"] for c in body["coverage"]] == ["district", "street", "community"]


def test_the_api_refuses_what_it_cannot_answer(db, client, make_user, network):
    n = network
    _token, raw = issue_token(make_user(Role.ORGANISER, n["a"]), "test", TokenScope.READ)
    db.session.commit()
    headers = {"Authorization": f"Bearer {raw}"}
    outside = client.get(f"/api/v1/reports/construction?unit={n['p'].id}", headers=headers)
    assert outside.status_code == 404 and outside.is_json
    bad = client.get(
        f"/api/v1/reports/construction?unit={n['a'].id}&on=2023-08-15&since=2023-09-01",
        headers=headers,
    )
    assert bad.status_code == 422 and bad.get_json()["field"] == "since"
    assert (
        client.get("/api/v1/reports/construction?on=2023-13-01", headers=headers).status_code == 422
    )
    own = client.get("/api/v1/reports/construction?on=2023-08-15", headers=headers)
    assert own.status_code == 200 and own.get_json()["unit_id"] == n["a"].id
    assert client.get("/api/v1/reports/construction").status_code == 401


@needs_poppler
def test_the_command_line_writes_the_notice(runner, network, tmp_path):
    output = tmp_path / "construction.pdf"
    args = ["report", "construction", "--unit", str(network["p"].id), "--on", "2023-08-15"]
    result = runner.invoke(args=[*args, "--lang", "zh", "-o", str(output)])
    assert result.exit_code == 0, result.output
    assert "2023-07-15" in result.output
    text = _pdf_text(output.read_bytes(), tmp_path)
    assert "安徽省总工会" in text and "淮南市" in text


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--unit", "999999", "--on", "2023-08-15"], "no unit 999999"),
        (["--unit", "{p}", "--on", "15/08/2023"], "not a date"),
        (["--unit", "{p}", "--on", "2023-08-15", "--since", "2023-08-20"], "2023-08-20"),
        (["--unit", "{p}", "--on", "1999-12-31"], "1999-12-31"),
    ],
)
def test_the_command_line_says_what_is_wrong(runner, network, tmp_path, args, message):
    args = [a.format(p=network["p"].id) for a in args]
    output = tmp_path / "x.pdf"
    result = runner.invoke(
        args=["report", "construction", *args, "--lang", "en", "-o", str(output)]
    )
    assert result.exit_code != 0 and message in result.output
    assert not output.exists()


def test_a_queued_render_rebuilds_the_scope_from_its_parameters(network):
    scope = ConstructionScope(network["p"].id, ON, SINCE)
    assert ConstructionScope.from_params(scope.params()) == scope
    assert scope.params() == {
        "unit": str(network["p"].id),
        "on": "2023-08-15",
        "since": "2023-07-15",
    }
    assert jobs._render("construction", scope.params(), "en").startswith(b"%PDF")
