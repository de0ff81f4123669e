"""The monthly traffic notice: sub-units by door visits, visitors, silent stations and duty,
ranked with the change of rank; as a page, a PDF and a spreadsheet; issued to sub-units and
by the command line, and found again on the notices page."""

from __future__ import annotations

import io
import shutil
import subprocess
from datetime import UTC, date, datetime

import pytest
from flask_babel import force_locale
from openpyxl import load_workbook
from sqlalchemy import func, select

from inclusive_day.auth.models import Role
from inclusive_day.database import utcnow
from inclusive_day.periods import Month
from inclusive_day.reports.models import Notice, NoticeKind
from inclusive_day.reports.notices import store_notice
from inclusive_day.reports.traffic import build_traffic_notice
from inclusive_day.staffing.models import DutyShift
from inclusive_day.stations.models import StationStatus
from tests.conftest import count_queries

FEBRUARY = Month(2024, 2)


@pytest.fixture
def tree(db, make_unit, make_station, make_visit, make_admin):
    """A province with two cities; Kunming with three districts, one of them without an open
    station, and a station of its own. January and February door traffic, duty in February."""
    province = make_unit("云南省总工会")
    kunming, qujing = make_unit("昆明市总工会", province), make_unit("曲靖市总工会", province)
    wuhua, panlong, guandu = (make_unit(n, kunming) for n in ("五华区", "盘龙区", "官渡区"))

    def built(unit, **kw):
        return make_station(unit, **{"opened_on": date(2023, 6, 1), **kw})

    s1 = built(wuhua, opening_hours="09:00-18:00")
    s2 = built(wuhua)
    s3 = built(panlong, open_24h=True)
    # Open at February's end only, so never silent in February; on duty the day before it
    # opened (not an expected day) and the day after.
    s4 = built(panlong, opened_on=date(2024, 2, 20), opening_hours="08:00-20:00")
    s5 = built(
        guandu, status=StationStatus.CLOSED, opened_on=date(2023, 6, 1), closed_on=date(2024, 1, 15)
    )
    own = built(kunming)
    s7 = built(qujing)

    def visits(station, day, *people):
        for person in people:
            make_visit(station, phone=f"139{person:08d}", day=day)

    # February. 五华: A twice and B at s1 (A again on the 29th); s2 has visits only on 31
    # January and 1 March, so it is silent in February. 盘龙: five people at s3, A among them.
    visits(s1, date(2024, 2, 1), 1, 2)
    visits(s1, date(2024, 2, 2), 1)
    visits(s1, date(2024, 2, 29), 1)
    visits(s2, date(2024, 1, 31), 14)
    visits(s2, date(2024, 3, 1), 1)
    visits(s3, date(2024, 2, 5), 1, 3, 4, 5, 6)
    visits(own, date(2024, 2, 8), 2)
    visits(s7, date(2024, 2, 8), 20)
    # January: 五华 six people at s1 (and s2's one), 盘龙 two, 官渡 one before it closed.
    visits(s1, date(2024, 1, 10), 8, 9, 10, 11, 12, 13)
    visits(s3, date(2024, 1, 10), 15, 16)
    visits(s5, date(2024, 1, 5), 17)
    # Duty at s1 (opening hours; s3 is open round the clock and expects no one): three
    # February days, one in March.
    shifts = {
        s1: (date(2024, 2, 1), date(2024, 2, 2), date(2024, 2, 5), date(2024, 3, 1)),
        s4: (date(2024, 2, 19), date(2024, 2, 21)),
    }
    for station, days in shifts.items():
        admin = make_admin(station)
        for day in days:
            start = datetime(day.year, day.month, day.day, 1, tzinfo=UTC)
            db.session.add(
                DutyShift(
                    admin_id=admin.id,
                    station_id=station.id,
                    day=day,
                    started_at=start,
                    ended_at=start.replace(hour=9),
                )
            )
    db.session.commit()
    return province, kunming, qujing, {"五华区": wuhua, "盘龙区": panlong, "官渡区": guandu}


def _now() -> datetime:
    return datetime(2024, 3, 5, tzinfo=UTC)


def test_the_figures_of_each_sub_unit_this_month_and_last(tree):
    _province, kunming, _qujing, _districts = tree
    with force_locale("zh"):
        notice = build_traffic_notice(kunming, FEBRUARY, _now())
    assert (notice.month_name, notice.previous_name) == ("2024年2月", "2024年1月")
    rows = {r.name: r for r in notice.rows}
    wuhua, panlong, guandu = rows["五华区"], rows["盘龙区"], rows["官渡区"]
    # 五华: 4 visits by 2 people in February; 7 by 7 in January (31 January and 1 March
    # fall outside February).
    assert (wuhua.visits, wuhua.visitors) == (4, 2)
    assert (wuhua.previous.visits, wuhua.previous.visitors) == (7, 7)
    assert (wuhua.stations, wuhua.previous_stations, wuhua.per_station) == (2, 2, 2.0)
    assert (wuhua.change, wuhua.change_percent) == (-3, -42.9)
    # 盘龙: 5 visits over 2 stations open at February's end (one opened on the 20th).
    assert (panlong.visits, panlong.stations, panlong.per_station) == (5, 2, 2.5)
    assert (panlong.previous_stations, panlong.previous_per_station) == (1, 2.0)
    # 官渡: its only station closed in January: nothing open, so not ranked.
    assert (guandu.stations, guandu.rank, guandu.previous.visits) == (0, None, 1)
    # The unit's own station is a line of its own; the total counts people once over the
    # whole city (A and B visited two sub-units): 10 visits by 6 people, not 8.
    assert notice.direct is not None and notice.direct.visits == 1
    assert (notice.total.visits, notice.total.visitors) == (10, 6)
    assert (notice.total.previous.visits, notice.total.stations) == (10, 5)


def test_silent_stations_are_open_all_month_without_a_visit(tree):
    _province, kunming, _qujing, _districts = tree
    notice = build_traffic_notice(kunming, FEBRUARY, _now())
    rows = {r.name: r for r in notice.rows}
    # s2 (visits only on 31 January and 1 March) is silent; 盘龙's new station opened on the
    # 20th is not, nor is 官渡's closed one.
    assert (rows["五华区"].silent, rows["盘龙区"].silent, rows["官渡区"].silent) == (1, 0, 0)
    assert rows["五华区"].silent_percent == 50.0
    assert notice.total.silent == 1
    assert [r.name for r in notice.with_silent] == ["五华区"]


def test_duty_attendance_counts_the_days_that_expected_someone(tree):
    _province, kunming, _qujing, _districts = tree
    notice = build_traffic_notice(kunming, FEBRUARY, _now())
    wuhua = notice.row(tree[3]["五华区"].id)
    # s1 has opening hours: 29 days expected in February, 3 attended (1 March is not).
    assert (wuhua.duty.expected, wuhua.duty.attended, wuhua.duty.absent) == (29, 3, 26)
    assert round(wuhua.duty.rate, 3) == 0.103 and wuhua.duty.hours == 24.0
    # 盘龙: s3 is open round the clock and expects no one; s4 expects its ten days from the
    # 20th, attended once (its shift the day before it opened counts only as hours).
    panlong = notice.row(tree[3]["盘龙区"].id).duty
    assert (panlong.expected, panlong.attended, panlong.hours) == (10, 1, 16.0)
    assert (notice.total.duty.expected, notice.total.duty.attended) == (39, 4)


def test_ranks_by_visits_per_open_station_with_the_change_of_rank(tree):
    _province, kunming, _qujing, _districts = tree
    notice = build_traffic_notice(kunming, FEBRUARY, _now())
    ranked = notice.ranked()
    assert [(r.name, r.rank, r.previous_rank) for r in ranked] == [
        ("盘龙区", 1, 2),  # 2.5 per station; January 2.0
        ("五华区", 2, 1),  # 2.0; January 3.5
        ("官渡区", None, None),  # no open station
    ]
    assert (ranked[0].rank_change, ranked[1].rank_change, ranked[2].rank_change) == (1, -1, 0)
    assert notice.leader.name == "盘龙区"
    # Kunming among the province's cities: 10 visits over 5 stations against Qujing's 1 over 1.
    place = notice.place
    assert (place.parent_name, place.rank, place.previous_rank, place.ranked) == (
        "云南省总工会",
        1,
        1,
        2,
    )
    # The province has no parent: no place.
    assert build_traffic_notice(tree[0], FEBRUARY, _now()).place is None


def test_the_notice_takes_a_constant_number_of_queries(db, tree, make_unit, make_station):
    _province, kunming, _qujing, _districts = tree
    with count_queries(db.engine) as few:
        build_traffic_notice(kunming, FEBRUARY, _now())
    for i in range(4):
        make_station(make_unit(f"新区{i}", kunming), opening_hours="08:00-20:00")
    db.session.expire_all()
    with count_queries(db.engine) as many:
        build_traffic_notice(kunming, FEBRUARY, _now())
    assert few["n"] == many["n"]


def test_the_traffic_page(client, login, make_user, tree):
    _province, kunming, _qujing, _districts = tree
    login(make_user(Role.ORGANISER, kunming))
    response = client.get("/reports/traffic?month=2024-02")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "盘龙区" in page and "2.5" in page and "▼" in page
    assert f"/reports/traffic.pdf?unit={kunming.id}&amp;month=2024-02" in page
    assert f"/reports/traffic.xlsx?unit={kunming.id}&amp;month=2024-02" in page
    assert f"/reports/traffic/issue?unit={kunming.id}" in page  # an organiser may issue


def test_a_viewer_sees_the_page_without_the_issue_button(client, login, make_user, tree):
    login(make_user(Role.VIEWER, tree[1]))
    page = client.get("/reports/traffic?month=2024-02").get_data(as_text=True)
    assert "盘龙区" in page and "/reports/traffic/issue" not in page


@pytest.mark.parametrize(
    "path", ["/reports/traffic", "/reports/traffic.pdf", "/reports/traffic.xlsx"]
)
def test_a_bad_month_is_a_clear_message(client, login, make_user, tree, path):
    login(make_user(Role.ORGANISER, tree[1]))
    response = client.get(f"{path}?month=2024-13")
    assert response.status_code == 400
    assert "YYYY-MM" in response.get_data(as_text=True)


def test_out_of_reach_answers_404(client, login, make_user, tree):
    province, kunming, qujing, districts = tree
    login(make_user(Role.ORGANISER, districts["五华区"]))
    for path in ("/reports/traffic", "/reports/traffic.pdf", "/reports/traffic.xlsx"):
        assert client.get(f"{path}?unit={kunming.id}&month=2024-02").status_code == 404
    assert client.get("/reports/traffic?unit=999999").status_code == 404
    response = client.post(f"/reports/traffic/issue?unit={kunming.id}", data={"month": "2024-02"})
    assert response.status_code == 404


@pytest.mark.skipif(shutil.which("pdftotext") is None, reason="needs poppler-utils")
@pytest.mark.parametrize(
    ("lang", "words"),
    [
        ("zh", ["昆明市总工会", "2024年2月", "盘龙区", "五华区"]),
        ("en", ["February 2024", "Silent"]),
    ],
)
def test_the_notice_pdf(client, login, make_user, tree, tmp_path, lang, words):
    login(make_user(Role.ADMIN))
    response = client.get(f"/reports/traffic.pdf?unit={tree[1].id}&month=2024-02&lang={lang}")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    path = tmp_path / "notice.pdf"
    path.write_bytes(response.data)
    text = subprocess.run(
        ["pdftotext", "-layout", str(path), "-"], capture_output=True, check=True, text=True
    ).stdout
    for word in words:
        assert word in text


def test_the_spreadsheet(client, login, make_user, tree):
    login(make_user(Role.VIEWER, tree[1]))
    response = client.get(f"/reports/traffic.xlsx?unit={tree[1].id}&month=2024-02")
    assert response.status_code == 200
    book = load_workbook(io.BytesIO(response.data))
    assert len(book.sheetnames) == 3
    sub_units = list(book.worksheets[1].values)
    first = sub_units[1]
    assert first[:6] == (1, "盘龙区", first[2], 2, 5, 5)
    silent = list(book.worksheets[2].values)
    assert len(silent) == 2 and silent[1][3] == "五华区"


def test_issuing_to_the_sub_units_keeps_one_notice_each(client, login, make_user, tree, db):
    _province, kunming, _qujing, districts = tree
    login(make_user(Role.ORGANISER, kunming))
    response = client.post(
        f"/reports/traffic/issue?unit={kunming.id}", data={"month": "2024-02", "lang": "zh"}
    )
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/reports/notices?unit={kunming.id}")
    kept = db.session.scalars(select(Notice).order_by(Notice.unit_id)).all()
    assert {n.unit_id for n in kept} == {d.id for d in districts.values()}
    assert {(n.month, n.lang, n.kind) for n in kept} == {
        (date(2024, 2, 1), "zh", NoticeKind.TRAFFIC)
    }
    assert all(n.pdf.startswith(b"%PDF") for n in kept)
    # Again: the notices are replaced, not doubled.
    client.post(
        f"/reports/traffic/issue?unit={kunming.id}", data={"month": "2024-02", "lang": "zh"}
    )
    assert db.session.scalar(select(func.count(Notice.id))) == 3


def test_issuing_with_a_bad_month_writes_nothing(client, login, make_user, tree, db):
    login(make_user(Role.ORGANISER, tree[1]))
    response = client.post(
        f"/reports/traffic/issue?unit={tree[1].id}", data={"month": "2024-2", "lang": "zh"}
    )
    assert response.status_code == 400 and "YYYY-MM" in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count(Notice.id))) == 0


def test_the_notices_page_lists_only_what_reaches_the_users_units(
    client, login, make_user, tree, db
):
    _province, kunming, qujing, districts = tree
    kept = {
        unit.name: store_notice(unit, NoticeKind.TRAFFIC, FEBRUARY, "zh", b"%PDF-1.7 " + name)
        for unit, name in (
            (kunming, b"km"),
            (districts["五华区"], b"wh"),
            (qujing, b"qj"),
        )
    }
    db.session.commit()
    login(make_user(Role.VIEWER, kunming))
    page = client.get("/reports/notices").get_data(as_text=True)
    assert "昆明市总工会" in page and "五华区" in page and "曲靖市总工会" not in page
    mine = client.get(f"/reports/notices/{kept['五华区'].id}.pdf")
    assert mine.status_code == 200 and mine.data == b"%PDF-1.7 wh"
    assert client.get(f"/reports/notices/{kept['曲靖市总工会'].id}.pdf").status_code == 404
    assert client.get(f"/reports/notices?unit={qujing.id}").status_code == 404
    below = client.get(f"/reports/notices?unit={districts['五华区'].id}").get_data(as_text=True)
    assert "五华区" in below and "昆明市总工会" not in below


def test_the_command_issues_one_notice(runner, tree, tmp_path, db):
    output = tmp_path / "notice.pdf"
    args = ["report", "traffic", "--unit", str(tree[1].id), "--month", "2024-02"]
    result = runner.invoke(args=[*args, "--output", str(output)])
    assert result.exit_code == 0, result.output
    assert output.read_bytes().startswith(b"%PDF")
    notice = db.session.scalar(select(Notice))
    assert (notice.unit_id, notice.month, notice.lang) == (tree[1].id, date(2024, 2, 1), "zh")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--unit", "999999", "--month", "2024-02"], "There is no unit 999999"),
        (["--month", "2024-13"], "is not a month"),
        (["--month", "2024-02"], "Give --unit and --month"),
        (["--all-cities"], "needs --output-dir"),
    ],
)
def test_the_command_refuses_bad_input(runner, tree, db, args, message):
    if args[0] == "--month" and args[1] == "2024-13":
        args = ["--unit", str(tree[1].id), *args]
    result = runner.invoke(args=["report", "traffic", *args])
    assert result.exit_code != 0 and message in result.output
    assert db.session.scalar(select(func.count(Notice.id))) == 0


def test_the_command_issues_every_citys_notice_for_last_month(runner, tree, tmp_path, db):
    province, kunming, qujing, _districts = tree
    folder = tmp_path / "notices"
    args = ["report", "traffic", "--all-cities", "--unit", str(province.id)]
    result = runner.invoke(args=[*args, "--output-dir", str(folder)])
    assert result.exit_code == 0, result.output
    last_month = Month.containing(utcnow()).shift(-1)
    assert sorted(p.name for p in folder.iterdir()) == sorted(
        f"{name}-月度流量通报-{last_month}.pdf" for name in ("昆明市总工会", "曲靖市总工会")
    )
    kept = db.session.scalars(select(Notice)).all()
    assert {n.unit_id for n in kept} == {kunming.id, qujing.id}
    assert {n.month for n in kept} == {last_month.first_day}


def test_all_cities_below_a_unit_without_cities_is_refused(runner, tree, tmp_path, db):
    district = tree[3]["五华区"]
    args = ["report", "traffic", "--all-cities", "--unit", str(district.id)]
    result = runner.invoke(args=[*args, "--output-dir", str(tmp_path / "out")])
    assert result.exit_code != 0 and "no city-level unit" in result.output
    assert db.session.scalar(select(func.count(Notice.id))) == 0
