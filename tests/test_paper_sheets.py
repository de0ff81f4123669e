"""Paper sign-in sheets: a CSV imported as check-ins, all rows or none, once per person."""

import io
from datetime import UTC, datetime, timedelta

import pytest
from flask_babel import force_locale
from sqlalchemy import func, select

from inclusive_day.activities.models import Activity, ActivityStatus
from inclusive_day.attendance import paper
from inclusive_day.attendance.identity import identity_for
from inclusive_day.attendance.models import BeneficiaryGroup, CheckIn, CheckInSource
from inclusive_day.attendance.paper import import_paper_sheet, parse_group_name
from inclusive_day.attendance.queries import totals
from inclusive_day.attendance.services import check_in
from inclusive_day.auth.models import Role

# The default activity: 2024-01-18 09:00-11:00 Beijing time.
SHEET = """签到表（1月18日 义剪）
序号,姓名,手机号,服务对象,签到时间
1,张三,138 0013 8001,快递员,09:05
2,李四,13800138002,外卖骑手,2024-01-18 09:30
3,王五,+86 138-0013-8003,环卫工人,
4,赵六,13800138004,elderly,10:40
"""


@pytest.fixture
def activity(make_activity):
    return make_activity()


def rows(db) -> int:
    return db.session.scalar(select(func.count()).select_from(CheckIn))


def run(activity, text: str, encoding="utf-8", name="sheet.csv"):
    return import_paper_sheet(activity, text.encode(encoding), name)


def test_a_good_sheet_makes_one_paper_checkin_per_row(db, activity):
    report = run(activity, SHEET)
    db.session.commit()
    assert report.ok and report.written
    assert (report.rows, report.created, report.existing, report.repeated) == (4, 4, 0, 0)
    assert report.ignored_columns == ["序号", "姓名"]
    stored = db.session.scalars(select(CheckIn).order_by(CheckIn.checked_in_at)).all()
    assert {c.source for c in stored} == {CheckInSource.PAPER}
    assert stored[0].identity == identity_for("13800138003")
    assert [c.group for c in stored] == [
        BeneficiaryGroup.SANITATION,  # no time: the activity's start
        BeneficiaryGroup.COURIER,
        BeneficiaryGroup.RIDER,
        BeneficiaryGroup.ELDERLY,
    ]
    assert stored[0].checked_in_at == activity.starts_at
    assert stored[1].checked_in_at == datetime(2024, 1, 18, 1, 5, tzinfo=UTC)
    assert totals([Activity.id == activity.id]).served == 4
    names = " ".join(str(v) for c in stored for v in vars(c).values())
    assert "张三" not in names and "13800138001" not in names


def test_uploading_the_same_sheet_again_adds_nobody(db, activity):
    run(activity, SHEET)
    db.session.commit()
    again = run(activity, SHEET)
    db.session.commit()
    assert again.ok and (again.created, again.existing) == (0, 4)
    assert rows(db) == 4


def test_a_person_who_scanned_the_qr_code_is_already_recorded(db, activity):
    check_in(activity.id, "13800138002", "rider", "qr-000000001", now=activity.starts_at)
    db.session.commit()
    report = run(activity, SHEET)
    db.session.commit()
    assert (report.created, report.existing) == (3, 1)
    assert rows(db) == 4


def test_a_person_twice_on_the_sheet_counts_once(db, activity):
    report = run(activity, "手机号,服务对象\n13800138001,快递员\n138 0013 8001,快递员\n")
    db.session.commit()
    assert (report.created, report.repeated) == (1, 1)
    assert rows(db) == 1


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gbk"])
def test_utf8_with_or_without_bom_and_gbk_are_read(db, activity, encoding):
    report = run(activity, SHEET, encoding)
    assert report.ok and report.created == 4
    assert report.encoding in {"utf-8", "utf-8-sig", "gb18030"}


def test_english_headers_and_english_labels_or_codes(db, activity):
    text = (
        "Phone,Group,Time\r\n"
        "13800138001,delivery rider,09:10\r\n"
        "13800138002,Sanitation Worker,\r\n"
        "13800138003,police,\r\n"
        "13800138004,driver,\r\n"
    )
    report = run(activity, text)
    assert report.ok, [str(e) for e in report.errors]
    groups = sorted(c.group.value for c in db.session.scalars(select(CheckIn)))
    assert groups == ["driver", "police", "rider", "sanitation"]


def test_group_names_people_write(app):
    assert parse_group_name("交警") is BeneficiaryGroup.POLICE
    assert parse_group_name("出租车/网约车司机") is BeneficiaryGroup.DRIVER
    assert parse_group_name(" Construction worker ") is BeneficiaryGroup.CONSTRUCTION
    assert parse_group_name("外卖小哥") is BeneficiaryGroup.RIDER
    assert parse_group_name("astronaut") is None


def test_every_bad_row_is_reported_and_nothing_is_written(db, activity):
    text = (
        "手机号,服务对象,签到时间\n"
        "13800138001,快递员,09:05\n"  # good, but not written either
        "12345,快递员,\n"
        "13800138003,宇航员,\n"
        "13800138004,,\n"
        "13800138005,快递员,半夜\n"
        "13800138006,快递员,2024-01-19 09:00\n"
        "\n"
        "1380013800,火星人,25:00\n"
    )
    with force_locale("en"):
        report = run(activity, text)
        errors = [(e.row, e.column, str(e.message)) for e in report.errors]
    assert not report.ok and not report.written
    assert rows(db) == 0
    assert [(row, column) for row, column, _m in errors] == [
        (3, "手机号"),
        (4, "服务对象"),
        (5, "服务对象"),
        (6, "签到时间"),
        (7, "签到时间"),
        (9, "手机号"),
        (9, "服务对象"),
        (9, "签到时间"),
    ]
    messages = {(r, c): m for r, c, m in errors}
    assert "11-digit" in messages[(3, "手机号")]
    assert '"宇航员" is not a group' in messages[(4, "服务对象")]
    assert "outside the activity" in messages[(7, "签到时间")]


def test_a_file_without_the_columns_is_refused_as_a_whole(db, activity):
    with force_locale("en"):
        report = run(activity, "姓名,单位\n张三,顺丰\n")
        assert [e.row for e in report.errors] == [None]
        assert "No header row names the phone and group columns" in str(report.errors[0])
    assert rows(db) == 0


def test_a_cancelled_activity_refuses_sheets(db, activity):
    activity.status = ActivityStatus.CANCELLED
    db.session.commit()
    report = run(activity, SHEET)
    assert not report.ok and rows(db) == 0


def test_an_activity_not_yet_started_refuses_sheets(db, make_activity):
    coming = make_activity(starts_at=datetime.now(UTC) + timedelta(days=3))
    report = run(coming, "手机号,服务对象\n13800138001,快递员\n")
    assert not report.ok and rows(db) == 0


def test_too_large_or_excel_files_are_refused(db, activity, monkeypatch):
    monkeypatch.setattr(paper, "MAX_BYTES", 100)
    with force_locale("en"):
        big = run(activity, SHEET)
        assert "at most 100 B" in str(big.errors[0])
        excel = import_paper_sheet(activity, b"PK\x03\x04rest-of-a-zip", "sheet.xlsx")
        assert "save the sheet as CSV" in str(excel.errors[0])
    assert rows(db) == 0


def test_a_sheet_with_only_a_header_is_refused(db, activity):
    report = run(activity, "手机号,服务对象\n")
    assert not report.ok and rows(db) == 0


# ---- the page --------------------------------------------------------------------------------


@pytest.fixture
def manager(make_user, activity, login):
    return login(make_user(Role.STATION_MANAGER, on=activity.station))


def post_sheet(client, activity, text: str, encoding="utf-8", **kw):
    return client.post(
        f"/activities/{activity.id}/paper",
        data={"file": (io.BytesIO(text.encode(encoding)), "sheet.csv")},
        content_type="multipart/form-data",
        **kw,
    )


def test_uploading_a_good_sheet_imports_it_and_says_so(client, db, activity, manager):
    answer = post_sheet(client, activity, SHEET, "gbk", follow_redirects=True)
    assert answer.status_code == 200
    assert "4 new check-ins, 0 already recorded" in answer.get_data(as_text=True)
    again = post_sheet(client, activity, SHEET, follow_redirects=True)
    assert "0 new check-ins, 4 already recorded" in again.get_data(as_text=True)
    assert rows(db) == 4


def test_uploading_a_bad_sheet_shows_every_error_and_imports_nothing(client, db, activity, manager):
    answer = post_sheet(client, activity, "手机号,服务对象\n13800138001,快递员\n123,快递员\n")
    assert answer.status_code == 422
    html = answer.get_data(as_text=True)
    assert "Nothing was imported" in html and '<td class="text-nowrap">3</td>' in html
    assert rows(db) == 0


def test_the_form_needs_a_file(client, db, activity, manager):
    answer = client.post(f"/activities/{activity.id}/paper", data={})
    assert answer.status_code == 422 and "Choose a CSV file." in answer.get_data(as_text=True)


def test_the_blank_sheet_has_the_headers_the_import_reads(client, db, activity, manager):
    answer = client.get(f"/activities/{activity.id}/paper/sheet.csv")
    assert answer.status_code == 200 and answer.mimetype == "text/csv"
    text = answer.get_data().decode("utf-8-sig")
    assert text.splitlines()[0] == "手机号,服务对象,签到时间"
    report = run(activity, text + "13800138001,快递员,09:30\n")
    assert report.ok and report.created == 1


def test_a_viewer_cannot_import(client, db, activity, make_user, login):
    login(make_user(Role.VIEWER, on=activity.station.unit))
    assert post_sheet(client, activity, SHEET).status_code == 404
    assert rows(db) == 0
