"""Station spreadsheets: import (CSV in three encodings, XLSX), upsert, refusals, access,
the command line, the upload page, and export with its round trip."""

from __future__ import annotations

import csv
import io
import os
import re
import time
import zipfile

import openpyxl
import pytest
from flask_babel import force_locale
from sqlalchemy import func, select

from inclusive_day.auth.models import Role
from inclusive_day.spreadsheets import neutralise
from inclusive_day.stations.commands import stations_cli
from inclusive_day.stations.exporting import export_stations
from inclusive_day.stations.geo import CoordSystem, Point, to_wgs84
from inclusive_day.stations.importing import import_stations
from inclusive_day.stations.models import Amenity, Station, StationAmenity, StationStatus
from tests.conftest import count_queries

HEADER = "驿站编码,驿站名称,所属工会,经度,纬度,坐标系,开放时间,服务设施,联系电话,状态"
ROW_1 = (
    "KM-001,五华区环卫工人驿站,五华区总工会,102.7071,25.0406,GCJ-02,08:00-20:00,"
    "饮水、充电,0871-6531234,正常"
)
ROW_2 = "KM-002,盘龙区快递员驿站,530103,,,,24小时,,,"


@pytest.fixture(autouse=True)
def english(app):
    """Messages read outside a request in English, so that tests can match them."""
    with force_locale("en"):
        yield


def _csv(*rows: str, header: str = HEADER) -> str:
    return "\n".join([header, *rows]) + "\n"


def _xlsx(rows: list[list]) -> bytes:
    book = openpyxl.Workbook()
    sheet = book.active
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _stations(db) -> dict[str, Station]:
    db.session.expire_all()
    return {s.code: s for s in db.session.scalars(select(Station))}


def _count(db) -> int:
    return db.session.scalar(select(func.count(Station.id)))


@pytest.fixture
def tree(make_unit):
    """Yunnan > Kunming > Wuhua, Panlong; Yunnan > Qujing."""
    province = make_unit("云南省总工会", code="530000")
    kunming = make_unit("昆明市总工会", province, code="530100")
    return {
        "province": province,
        "kunming": kunming,
        "wuhua": make_unit("五华区总工会", kunming, code="530102"),
        "panlong": make_unit("盘龙区总工会", kunming, code="530103"),
        "qujing": make_unit("曲靖市总工会", province, code="530300"),
    }


# -- reading files


@pytest.mark.parametrize(
    "encoding, detected",
    [("utf-8", "utf-8"), ("utf-8-sig", "utf-8-sig"), ("gbk", "gb18030"), ("gb18030", "gb18030")],
)
def test_csv_in_every_encoding_spreadsheets_save(db, tree, encoding, detected):
    report = import_stations(_csv(ROW_1, ROW_2).encode(encoding), "驿站.csv")
    assert report.errors == []
    assert (report.format, report.encoding) == ("csv", detected)
    assert (report.rows, report.created) == (2, 2)
    stations = _stations(db)
    assert stations["KM-001"].name == "五华区环卫工人驿站"
    assert stations["KM-001"].unit_id == tree["wuhua"].id
    assert stations["KM-002"].unit_id == tree["panlong"].id  # a unit code in the unit column


def test_row_values_are_checked_and_stored_as_the_form_stores_them(db, tree):
    import_stations(_csv(ROW_1, ROW_2).encode(), "a.csv")
    one, two = _stations(db)["KM-001"], _stations(db)["KM-002"]
    stored = to_wgs84(Point(25.0406, 102.7071), CoordSystem.GCJ02)
    assert (one.latitude, one.longitude) == (round(stored.latitude, 7), round(stored.longitude, 7))
    assert one.coord_system is CoordSystem.GCJ02
    assert (one.open_24h, one.opening_hours) == (False, "08:00-20:00")
    assert one.amenities == [Amenity.WATER, Amenity.CHARGING]
    assert (one.phone, one.status) == ("0871-6531234", StationStatus.ACTIVE)
    assert (two.open_24h, two.latitude, two.amenities) == (True, None, [])


def test_xlsx_is_recognised_by_its_content_whatever_its_name(db, tree):
    data = _xlsx(
        [
            ["昆明市工会驿站信息表"],  # a title row above the header
            HEADER.split(","),
            ROW_1.split(","),
            [],
            ["KM-003", "官渡区驿站", "530102", 102.75, 25.0, "WGS84", "9:00-18:00"],
        ]
    )
    report = import_stations(data, "stations.csv")
    assert report.errors == []
    assert (report.format, report.rows, report.created) == ("xlsx", 2, 2)
    assert _stations(db)["KM-003"].latitude == 25.0


def test_english_headers_and_spellings(db, tree):
    text = _csv(
        "E-1,Riders' rest,530102,102.70,25.04,amap,8:00-12:00; 14:00-18:00,water / wifi,suspended",
        header="Station code,Name,Unit,Longitude,Latitude,Coordinate system,Opening hours,"
        "Amenities,Status",
    )
    report = import_stations(text.encode(), "en.csv")
    assert report.errors == []
    station = _stations(db)["E-1"]
    assert station.opening_hours == "08:00-12:00, 14:00-18:00"
    assert station.amenities == [Amenity.WATER, Amenity.WIFI]
    assert station.status is StationStatus.SUSPENDED


def test_unknown_columns_are_ignored_and_named(db, tree):
    text = _csv(ROW_2 + ",备注内容", header=HEADER + ",备注")
    report = import_stations(text.encode(), "a.csv")
    assert report.ok and report.ignored_columns == ["备注"]


# -- upsert


def test_create_then_update_then_unchanged(db, tree):
    first = import_stations(_csv(ROW_1, ROW_2).encode(), "a.csv")
    db.session.commit()
    assert (first.created, first.updated, first.unchanged) == (2, 0, 0)
    ids = {code: s.id for code, s in _stations(db).items()}

    changed = ROW_1.replace("五华区环卫工人驿站", "五华区爱心驿站").replace("饮水、充电", "微波炉")
    second = import_stations(_csv(changed, ROW_2).encode(), "a.csv")
    db.session.commit()
    assert (second.created, second.updated, second.unchanged) == (0, 1, 1)
    stations = _stations(db)
    assert {code: s.id for code, s in stations.items()} == ids
    assert stations["KM-001"].name == "五华区爱心驿站"
    assert stations["KM-001"].amenities == [Amenity.MICROWAVE]
    assert db.session.scalar(select(func.count()).select_from(StationAmenity)) == 1

    third = import_stations(_csv(changed, ROW_2).encode(), "a.csv")
    assert (third.created, third.updated, third.unchanged) == (0, 0, 2)


def test_a_station_can_move_to_another_unit(db, tree):
    import_stations(_csv(ROW_2).encode(), "a.csv")
    db.session.commit()
    import_stations(_csv(ROW_2.replace("530103", "五华区总工会")).encode(), "a.csv")
    db.session.commit()
    assert _stations(db)["KM-002"].unit_id == tree["wuhua"].id


def test_columns_left_out_keep_what_is_stored(db, tree):
    import_stations(_csv(ROW_1).encode(), "a.csv")
    db.session.commit()
    report = import_stations(
        _csv(
            "KM-001,五华区环卫工人驿站,五华区总工会,24小时", header="编码,名称,所属工会,开放时间"
        ).encode(),
        "a.csv",
    )
    db.session.commit()
    assert report.updated == 1
    station = _stations(db)["KM-001"]
    assert station.open_24h and station.phone == "0871-6531234"
    assert station.amenities == [Amenity.WATER, Amenity.CHARGING]
    assert station.coord_system is CoordSystem.GCJ02


def test_blank_cells_clear_and_blank_status_keeps(db, tree, make_station):
    make_station(tree["wuhua"], code="KM-009", phone="12345", status=StationStatus.CLOSED)
    text = _csv(
        "KM-009,新名称,五华区总工会,24小时,,", header="编码,名称,所属工会,开放时间,联系电话,状态"
    )
    assert import_stations(text.encode(), "a.csv").updated == 1
    db.session.commit()
    station = _stations(db)["KM-009"]
    assert (station.phone, station.status) == ("", StationStatus.CLOSED)


def test_a_dry_run_counts_and_writes_nothing(db, tree):
    report = import_stations(_csv(ROW_1, ROW_2).encode(), "a.csv", dry_run=True)
    assert report.ok and report.created == 2 and not report.written
    db.session.commit()
    assert _count(db) == 0


# -- refusals: every bad row is reported, and nothing is written


@pytest.mark.parametrize(
    "row, column, message",
    [
        ("KM-1,驿站,西山区总工会,102.7,25.0,,08:00-20:00", "所属工会", "西山区总工会"),
        ("KM-1,驿站,530999,102.7,25.0,,08:00-20:00", "所属工会", "530999"),
        ("KM-1,驿站,五华区总工会,25.0,102.7,,08:00-20:00", "纬度", "outside China"),
        ("KM-1,驿站,五华区总工会,2.7,25.0,,08:00-20:00", "纬度", "outside China"),
        ("KM-1,驿站,五华区总工会,abc,25.0,,08:00-20:00", "经度", "not a number"),
        ("KM-1,驿站,五华区总工会,102.7,,,08:00-20:00", "纬度", "both"),
        ("KM-1,驿站,五华区总工会,102.7,25.0,火星,08:00-20:00", "坐标系", "coordinate system"),
        ("KM-1,驿站,五华区总工会,,,,8点到20点", "开放时间", "period"),
        ("KM-1,驿站,五华区总工会,,,,25:00-26:00", "开放时间", "time of day"),
        ("KM-1,驿站,五华区总工会,,,,", "开放时间", "opening hours"),
        ("KM 1,驿站,五华区总工会,,,,24小时", "驿站编码", "station code"),
        ("KM-1,,五华区总工会,,,,24小时", "驿站名称", "name is required"),
        (",驿站,五华区总工会,,,,24小时", "驿站编码", "required"),
    ],
)
def test_a_bad_row_names_its_row_column_and_reason(db, tree, row, column, message):
    good = "KM-0,驿站,五华区总工会,102.7,25.0,,08:00-20:00"
    header = "驿站编码,驿站名称,所属工会,经度,纬度,坐标系,开放时间"
    report = import_stations(_csv(good, row, header=header).encode(), "a.csv")
    assert [(e.row, e.column) for e in report.errors] == [(3, column)]
    assert message in str(report.errors[0].message)
    db.session.commit()
    assert _count(db) == 0  # not even the good row


def test_every_bad_row_is_reported(db, tree):
    rows = [f"K-{i},驿站,五华区总工会,,,,{'bad' if i % 2 else '24小时'}" for i in range(10)]
    report = import_stations(_csv(*rows).encode(), "a.csv")
    assert [e.row for e in report.errors] == [3, 5, 7, 9, 11]


def test_duplicate_codes_name_the_first_row(db, tree):
    report = import_stations(_csv(ROW_1, ROW_2, ROW_1, ROW_1).encode(), "a.csv")
    assert [(e.row, e.column) for e in report.errors] == [(4, "驿站编码"), (5, "驿站编码")]
    assert all("row 2" in str(e.message) for e in report.errors)
    assert _count(db) == 0


def test_a_unit_name_shared_by_two_units_needs_the_code(db, tree, make_unit):
    make_unit("城关区总工会", tree["kunming"], code="530111")
    make_unit("城关区总工会", tree["qujing"], code="530311")
    ambiguous = _csv("K-1,驿站,城关区总工会,24小时", header="编码,名称,所属工会,开放时间")
    report = import_stations(ambiguous.encode(), "a.csv")
    assert "2 union units" in str(report.errors[0].message)
    with_code = _csv(
        "K-1,驿站,城关区总工会,530311,24小时", header="编码,名称,所属工会,所属工会编码,开放时间"
    )
    assert import_stations(with_code.encode(), "a.csv").ok
    wrong_name = with_code.replace("城关区总工会", "五华区总工会")
    report = import_stations(wrong_name.encode(), "b.csv")
    assert 'is "城关区总工会"' in str(report.errors[0].message)


def test_the_status_cell_takes_both_languages(db, tree):
    statuses = ["运营", "暂停", "关闭", "closed", "已关闭", "运行中", "规划", "建设中"]
    rows = [
        f"S-{i},驿站,五华区总工会,24小时,{status},"
        + ("" if status in ("规划", "建设中") else "2023-05-01")
        + (",2023-06-01,拆迁" if "关闭" in status or status == "closed" else ",,")
        for i, status in enumerate(statuses)
    ]
    header = "编码,名称,所属工会,开放时间,状态,建成启用日期,关闭日期,关闭原因"
    report = import_stations(_csv(*rows, header=header).encode(), "a.csv")
    assert report.ok, report.errors
    statuses = [s.status.value for s in sorted(_stations(db).values(), key=lambda s: s.code)]
    assert statuses == [
        "active",
        "suspended",
        "closed",
        "closed",
        "closed",
        "active",
        "planned",
        "under_construction",
    ]
    report = import_stations(
        _csv(
            "S-9,驿站,五华区总工会,24小时,maybe", header="编码,名称,所属工会,开放时间,状态"
        ).encode(),
        "b.csv",
    )
    assert "not a station status" in str(report.errors[0].message)


def _file_error(report) -> str:
    assert report.errors and report.errors[0].row is None
    return str(report.errors[0].message)


@pytest.mark.parametrize(
    "data, name, message",
    [
        (b"", "a.csv", "empty"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "photo.png", "not a CSV file"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "photo.csv", "not a CSV file"),
        ("驿站编码,驿站名称".encode(), "a.pdf", "not a CSV file"),
        (b"PK\x03\x04not really a zip", "a.xlsx", "not a CSV file"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 100, "a.xls", ".xls"),
        (HEADER.encode() + b"\n", "a.csv", "no station rows"),
        ("编码,名称\nK-1,驿站\n".encode(), "a.csv", 'no "Union unit" column'),
        ("名称,所属工会,开放时间\n驿站,x,24小时\n".encode(), "a.csv", 'no "Station code" column'),
        ("编码,驿站编码,名称,所属工会,开放时间\n".encode(), "a.csv", "both give"),
        ("编码,名称,所属工会,开放时间,纬度\nK,x,y,24小时,25\n".encode(), "a.csv", "not both"),
    ],
)
def test_a_file_that_cannot_be_imported_says_why(db, tree, data, name, message):
    report = import_stations(data, name)
    assert message in _file_error(report)
    assert _count(db) == 0


def test_a_docx_is_not_a_workbook(db, tree):
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("word/document.xml", "<w:document/>")
    assert "not a CSV file" in _file_error(import_stations(out.getvalue(), "a.xlsx"))


def test_a_file_over_the_limit_is_refused(app, db, tree):
    app.config["STATION_IMPORT_MAX_BYTES"] = 100
    data = _csv(ROW_1, ROW_2).encode()
    assert len(data) > 100
    assert "at most 100 B may be imported" in _file_error(import_stations(data, "a.csv"))
    assert _count(db) == 0


def test_our_formula_guard_is_removed_on_import(db, tree):
    text = _csv(
        "K-1,'=1+1,五华区总工会,24小时,'+86 871 6531234", header="编码,名称,所属工会,开放时间,电话"
    )
    assert import_stations(text.encode(), "a.csv").ok
    station = _stations(db)["K-1"]
    assert (station.name, station.phone) == ("=1+1", "+86 871 6531234")


# -- access


def test_rows_outside_the_importers_reach_are_errors(db, tree, make_user, make_station):
    make_station(tree["qujing"], code="QJ-001", name="曲靖驿站")
    organiser = make_user(Role.ORGANISER, on=tree["kunming"])
    text = _csv(
        "KM-1,驿站,五华区总工会,24小时",
        "KM-2,驿站,曲靖市总工会,24小时",
        "QJ-001,改名,五华区总工会,24小时",
        header="编码,名称,所属工会,开放时间",
    )
    report = import_stations(text.encode(), "a.csv", user=organiser)
    assert [(e.row, e.column) for e in report.errors] == [(3, "所属工会"), (4, "编码")]
    assert "may not edit" in str(report.errors[1].message)
    assert "曲靖" not in str(report.errors[1].message)  # does not say whose station it is
    db.session.commit()
    assert set(_stations(db)) == {"QJ-001"} and _stations(db)["QJ-001"].name == "曲靖驿站"


def test_the_command_line_reaches_everything(db, tree, make_station):
    make_station(tree["qujing"], code="QJ-001")
    text = _csv("QJ-001,改名,五华区总工会,24小时", header="编码,名称,所属工会,开放时间")
    assert import_stations(text.encode(), "a.csv", user=None).updated == 1


# -- command line


@pytest.fixture
def cli(app, runner):
    if "stations" not in app.cli.commands:  # until register_commands adds it
        app.cli.add_command(stations_cli)
    return runner


def test_cli_imports_and_reports(db, tree, cli, tmp_path):
    path = tmp_path / "驿站.csv"
    path.write_bytes(_csv(ROW_1, ROW_2).encode("gbk"))
    result = cli.invoke(args=["stations", "import", str(path), "--lang", "en"])
    assert result.exit_code == 0, result.output
    assert "GBK" in result.stdout and "Imported: 2 new, 0 updated, 0 unchanged." in result.stdout
    assert _count(db) == 2


def test_cli_lists_every_error_and_writes_nothing(db, tree, cli, tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text(_csv(ROW_1, ROW_1.replace("KM-001", "KM-003").replace("25.0406", "95")))
    result = cli.invoke(args=["stations", "import", str(path), "--lang", "en"])
    assert result.exit_code == 1
    assert "Row 3, 纬度: 95.0, 102.7071 is outside China" in result.stderr
    assert "Nothing was imported. Errors: 1." in result.stderr
    assert _count(db) == 0


def test_cli_dry_run(db, tree, cli, tmp_path):
    path = tmp_path / "a.csv"
    path.write_text(_csv(ROW_1))
    result = cli.invoke(args=["stations", "import", str(path), "--dry-run", "--lang", "en"])
    assert result.exit_code == 0 and "1 new" in result.stdout and "nothing written" in result.stdout
    assert _count(db) == 0


def test_cli_exports_a_subtree(db, tree, cli, tmp_path, make_station):
    make_station(tree["wuhua"], code="KM-1")
    make_station(tree["qujing"], code="QJ-1")
    out = tmp_path / "kunming.xlsx"
    result = cli.invoke(args=["stations", "export", "530100", "-o", str(out)])
    assert result.exit_code == 0, result.output
    book = openpyxl.load_workbook(out, read_only=True)
    codes = [row[0] for row in book.worksheets[0].iter_rows(min_row=2, values_only=True)]
    book.close()  # a read-only workbook holds its file open until closed
    assert codes == ["KM-1"]
    result = cli.invoke(args=["stations", "export", "530000", "--format", "csv", "-o", "-"])
    assert result.stdout_bytes.startswith("\ufeff驿站编码".encode())
    assert cli.invoke(args=["stations", "export", "999999", "--lang", "en"]).exit_code == 1


# -- export


def _export_rows(unit, fmt: str) -> list[list]:
    export = export_stations(unit, fmt)
    if fmt == "csv":
        return list(csv.reader(io.StringIO(export.data.decode("utf-8-sig"))))
    sheet = openpyxl.load_workbook(io.BytesIO(export.data), read_only=True).worksheets[0]
    return [list(row) for row in sheet.iter_rows(values_only=True)]


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_an_export_imports_back_unchanged(db, tree, fmt):
    rows = [
        ROW_1,
        ROW_2,
        'KM-003,=HYPERLINK("http://x"),五华区总工会,102.70,25.04,百度,7:00-9:00 17:00-19:00,'
        "图书,+86 871 6531234,暂停",
        "KM-004,@驿站,530102,102.70,25.04,WGS-84,24小时,,-12345,关闭",
    ]
    header = HEADER + ",建成启用日期,关闭日期,关闭原因"
    days = [",2023-03-01,,", ",2023-03-02,,", ",2023-03-03,,", ",2022-01-01,2023-06-30,撤并"]
    rows = [row + day for row, day in zip(rows, days, strict=True)]
    assert import_stations(_csv(*rows, header=header).encode(), "a.csv").ok
    db.session.commit()
    export = export_stations(tree["province"], fmt)
    report = import_stations(export.data, export.filename)
    assert report.errors == []
    assert (report.rows, report.created, report.updated, report.unchanged) == (4, 0, 0, 4)


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_export_neutralises_formulas_in_text_only(db, tree, make_station, fmt):
    make_station(
        tree["wuhua"],
        code="KM-1",
        name="=cmd|' /C calc'!A0",
        phone="+86 871 1",
        latitude=25.04,
        longitude=102.7,
        opening_hours="08:00-20:00",
    )
    header, row = _export_rows(tree["kunming"], fmt)
    cells = dict(zip(header, row, strict=True))
    assert cells["驿站名称"] == "'=cmd|' /C calc'!A0"
    assert cells["联系电话"] == "'+86 871 1"
    assert cells["所属工会"] == "五华区总工会" and cells["坐标系"] == "WGS-84"
    if fmt == "xlsx":
        assert cells["纬度"] == 25.04 and isinstance(cells["经度"], float)
    else:
        assert cells["纬度"] == "25.04"


def test_neutralise_leaves_numbers_and_plain_text():
    assert neutralise(-5.5) == -5.5
    assert neutralise("驿站") == "驿站"
    assert [neutralise(x) for x in ("=1", "+1", "-1", "@a", "\tx", "\rx")] == [
        "'=1",
        "'+1",
        "'-1",
        "'@a",
        "'\tx",
        "'\rx",
    ]


def test_export_takes_a_constant_number_of_queries(db, tree, make_station):
    make_station(tree["wuhua"], amenities=[Amenity.WATER])
    with count_queries(db.engine) as few:
        export_stations(tree["kunming"], "csv")
    for _ in range(6):
        make_station(tree["panlong"], amenities=[Amenity.WATER, Amenity.BOOKS])
    with count_queries(db.engine) as many:
        rows = _export_rows(tree["kunming"], "csv")
    # The unit, the stations with their units and host types, amenities, labels, partners,
    # door visits.
    assert len(rows) == 8 and few["n"] == many["n"] <= 6


# -- the upload page


@pytest.fixture
def uploads(app, tmp_path):
    """Keep uploads in a temporary instance folder."""
    app.instance_path = str(tmp_path)
    return tmp_path / "uploads"


def _upload(client, data: bytes, name: str = "stations.csv"):
    return client.post(
        "/stations/import",
        data={"file": (io.BytesIO(data), name)},
        content_type="multipart/form-data",
    )


def test_upload_check_confirm_import(db, tree, client, login, make_user, uploads):
    login(make_user(Role.ORGANISER, on=tree["kunming"]))
    assert client.get("/stations/import").status_code == 200
    response = _upload(client, _csv(ROW_1, ROW_2).encode("gbk"))
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and "Import 2 stations" in page and "GBK" in page
    assert _count(db) == 0  # checked, not saved
    token = re.search(r'name="token" type="hidden" value="([0-9a-f]{32})"', page).group(1)
    assert len(list(uploads.iterdir())) == 1

    response = client.post("/stations/import/confirm", data={"token": token})
    assert response.status_code == 302 and response.headers["Location"] == "/stations/"
    assert set(_stations(db)) == {"KM-001", "KM-002"}
    assert list(uploads.iterdir()) == []
    assert "Imported: 2 new stations" in client.get("/stations/").get_data(as_text=True)
    # The same token again: the file is gone.
    response = client.post("/stations/import/confirm", data={"token": token})
    assert response.status_code == 302 and response.headers["Location"] == "/stations/import"


def test_upload_with_errors_shows_them_and_saves_nothing(
    db, tree, client, login, make_user, uploads
):
    login(make_user(Role.ORGANISER, on=tree["kunming"]))
    bad = _csv(ROW_1, ROW_2.replace("24小时", "早八晚八"), ROW_1.replace("五华区", "曲靖市"))
    response = _upload(client, bad.encode())
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Nothing was imported" in page and "Import 3 stations" not in page
    assert '<td class="text-nowrap">3</td>' in page and "早八晚八" in page
    assert "曲靖市总工会" in page
    assert _count(db) == 0 and not uploads.exists()


def test_upload_of_a_file_that_is_not_a_spreadsheet(db, tree, client, login, make_user, uploads):
    login(make_user(Role.ORGANISER, on=tree["kunming"]))
    response = _upload(client, b"%PDF-1.4\n\x00\x01binary", "report.pdf")
    assert response.status_code == 422
    assert "not a CSV file or an Excel workbook" in response.get_data(as_text=True)
    assert _upload(client, b"", "empty.csv").status_code == 422


def test_confirm_rejects_tokens_that_are_not_plain_hex(db, tree, client, login, make_user, uploads):
    login(make_user(Role.ORGANISER, on=tree["kunming"]))
    for token in ("../../secret_key", "ABCDEF" * 6, ""):
        assert client.post("/stations/import/confirm", data={"token": token}).status_code == 400


def test_confirm_checks_again_under_the_confirming_user(
    db, tree, client, login, make_user, uploads
):
    """A token only names a file of the user who uploaded it."""
    login(make_user(Role.ORGANISER, on=tree["kunming"]))
    page = _upload(client, _csv(ROW_1).encode()).get_data(as_text=True)
    token = re.search(r'value="([0-9a-f]{32})"', page).group(1)
    client.post("/auth/logout")
    login(make_user(Role.ORGANISER, on=tree["kunming"]))
    response = client.post("/stations/import/confirm", data={"token": token})
    assert response.headers["Location"] == "/stations/import"
    assert _count(db) == 0


def test_uploads_older_than_a_day_are_deleted(db, tree, client, login, make_user, uploads):
    uploads.mkdir(parents=True)
    old = uploads / f"import-1-{'a' * 32}.csv"
    old.write_text("x")
    day_ago = time.time() - 25 * 3600
    os.utime(old, (day_ago, day_ago))
    login(make_user(Role.ORGANISER, on=tree["kunming"]))
    _upload(client, _csv(ROW_1).encode())
    assert not old.exists()


@pytest.mark.parametrize("role", [Role.VIEWER, None])
def test_the_import_page_is_not_there_for_others(db, tree, client, login, make_user, role, uploads):
    login(make_user(role, on=tree["kunming"] if role else None))
    assert client.get("/stations/import").status_code == 404
    assert _upload(client, _csv(ROW_1).encode()).status_code == 404
    assert client.post("/stations/import/confirm", data={"token": "a" * 32}).status_code == 404
    assert _count(db) == 0


def test_export_downloads_within_view_reach(db, tree, client, login, make_user, make_station):
    make_station(tree["wuhua"], code="KM-1")
    make_station(tree["qujing"], code="QJ-1")
    login(make_user(Role.VIEWER, on=tree["kunming"]))
    response = client.get("/stations/export.csv")
    assert response.status_code == 200
    assert "attachment" in response.headers["Content-Disposition"]
    assert "stations-530100-" in response.headers["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.get_data().decode("utf-8-sig"))))
    assert [r[0] for r in rows[1:]] == ["KM-1"]
    response = client.get(f"/stations/export.xlsx?unit={tree['wuhua'].id}")
    assert response.status_code == 200 and response.data.startswith(b"PK")
    assert client.get(f"/stations/export.csv?unit={tree['qujing'].id}").status_code == 404
    assert client.get(f"/stations/export.csv?unit={tree['province'].id}").status_code == 404
    assert client.get("/stations/export.pdf").status_code == 404
    assert client.get("/stations/export.csv?unit=abc").status_code == 404
