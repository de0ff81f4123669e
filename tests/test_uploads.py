"""Uploads are judged by their content, not their name: the sniffer, the station import page
and the paper sign-in sheet page."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import openpyxl
import pytest
from flask_babel import force_locale
from sqlalchemy import func, select

from inclusive_day.attendance.models import CheckIn
from inclusive_day.auth.models import Role
from inclusive_day.stations.models import Station
from inclusive_day.uploads import CSV, XLSX, UploadRefused, sniff

HEADER = "驿站编码,驿站名称,所属工会,经度,纬度,坐标系,开放时间,服务设施,联系电话,状态"
ROWS = [
    "KM-001,五华区环卫工人驿站,五华区总工会,102.7071,25.0406,GCJ-02,08:00-20:00,,,正常",
    "KM-002,䶮山驿站,530102,,,,24小时,,,",  # 䶮 is outside GBK: four bytes in GB18030
]
STATIONS_CSV = "\n".join([HEADER, *ROWS]) + "\n"
SHEET = "手机号,服务对象,签到时间\n13800138001,快递员,09:05\n13800138002,外卖骑手,09:30\n"
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x10\x00\x00\x00\x10\x08\x06\x00\x00\x00"
HTML = b"<!DOCTYPE html>\n<html><body><script>alert(document.cookie)</script></body></html>\n"


@pytest.fixture(autouse=True)
def english(app):
    """Messages read outside a request in English, so that tests can match them."""
    with force_locale("en"):
        yield


def _xlsx(rows: list[list]) -> bytes:
    book = openpyxl.Workbook()
    for row in rows:
        book.active.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _zip_bomb(unpacked_mb: int = 60) -> bytes:
    """A zip that looks like a workbook and unpacks a sheet of `unpacked_mb` MB of zeros."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("xl/workbook.xml", "<workbook/>")
        with archive.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as sheet:
            chunk = b"\0" * (1024 * 1024)
            for _ in range(unpacked_mb):
                sheet.write(chunk)
    data = out.getvalue()
    assert len(data) < 1024 * 1024  # small on the wire
    return data


def _refusal(data: bytes, accept=(CSV, XLSX)) -> str:
    with pytest.raises(UploadRefused) as refused:
        sniff(data, accept)
    return str(refused.value.message)


# -- the sniffer


def test_csv_in_utf8_with_or_without_bom_and_gb18030_is_csv(app):
    for data in (
        STATIONS_CSV.encode(),
        STATIONS_CSV.encode("utf-8-sig"),
        STATIONS_CSV.encode("gb18030"),
        STATIONS_CSV.encode("utf-16"),  # Excel's "Unicode text", with its BOM
    ):
        assert sniff(data) == CSV


def test_an_xlsx_is_a_workbook_whatever_it_is_called(app):
    assert sniff(_xlsx([HEADER.split(",")])) == XLSX


@pytest.mark.parametrize(
    "data, message",
    [
        (PNG, "not a CSV file or an Excel workbook"),
        (b"%PDF-1.7\n1 0 obj << >> endobj\n", "not a CSV file or an Excel workbook"),
        (HTML, "not a CSV file or an Excel workbook"),
        (b"  <svg xmlns='http://www.w3.org/2000/svg'/>", "not a CSV file or an Excel workbook"),
        (b"a,b\n1,<script src=//x.example/a.js></script>\n", "not a CSV file or an Excel"),
        (b"a,b\n1,\x002\n", "not a CSV file or an Excel workbook"),
        (b"\x80\x81\xfd\xff not text in any encoding \x80", "not a CSV file or an Excel"),
        (b"PK\x03\x04not really a zip", "not a CSV file or an Excel workbook"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 100, "(.xls) cannot be read"),
        (b"", "The file is empty"),
    ],
)
def test_what_is_not_a_spreadsheet_is_refused(app, data, message):
    assert message in _refusal(data)


def test_a_zip_that_is_not_a_workbook_is_refused(app):
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("word/document.xml", "<document/>")
    assert "not a CSV file or an Excel workbook" in _refusal(out.getvalue())


def test_a_zip_bomb_is_refused_before_it_is_unpacked(app):
    assert "too large once unpacked" in _refusal(_zip_bomb())


def test_a_csv_only_form_refuses_a_workbook_and_says_what_to_do(app):
    assert "save the sheet as CSV" in _refusal(_xlsx([["a"]]), accept=(CSV,))
    assert _refusal(PNG, accept=(CSV,)) == "This is not a CSV file."


# -- the station import page


@pytest.fixture
def organiser(db, make_unit, make_user, login, app, tmp_path):
    app.instance_path = str(tmp_path)  # uploads kept in a temporary instance folder
    province = make_unit("云南省总工会", code="530000")
    kunming = make_unit("昆明市总工会", province, code="530100")
    make_unit("五华区总工会", kunming, code="530102")
    return login(make_user(Role.ORGANISER, on=kunming))


def _import(client, data: bytes, name: str):
    return client.post(
        "/stations/import",
        data={"file": (io.BytesIO(data), name)},
        content_type="multipart/form-data",
    )


def _saved(app) -> list[str]:
    folder = Path(app.instance_path) / "uploads"
    return sorted(p.suffix for p in folder.iterdir()) if folder.is_dir() else []


def _stations(db) -> int:
    return db.session.scalar(select(func.count(Station.id)))


@pytest.mark.parametrize(
    "data, name, message",
    [
        (PNG, "stations.csv", "This is not a CSV file or an Excel workbook (.xlsx)."),
        (HTML, "stations.xlsx", "This is not a CSV file or an Excel workbook (.xlsx)."),
        (None, "stations.xlsx", "The workbook is too large once unpacked."),
    ],
)
def test_the_import_page_refuses_what_is_not_a_spreadsheet(
    app, db, client, organiser, data, name, message
):
    response = _import(client, _zip_bomb() if data is None else data, name)
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert message in page and 'class="invalid-feedback' in page  # under the file field
    assert "Check of" not in page  # the import never read it
    assert _saved(app) == [] and _stations(db) == 0


def test_the_import_page_reads_an_xlsx_called_csv_as_a_workbook(app, db, client, organiser):
    data = _xlsx([HEADER.split(","), *[row.split(",") for row in ROWS]])
    response = _import(client, data, "stations.csv")
    page = response.get_data(as_text=True)
    assert response.status_code == 200, page
    assert "Import 2 stations" in page
    assert _saved(app) == [".xlsx"]


def test_the_import_page_takes_a_gb18030_csv_whatever_its_name(app, db, client, organiser):
    response = _import(client, STATIONS_CSV.encode("gb18030"), "驿站导出.dat")
    page = response.get_data(as_text=True)
    assert response.status_code == 200, page
    assert "Import 2 stations" in page and "GB18030" in page
    assert _saved(app) == [".csv"]


def test_the_import_page_refuses_a_file_over_the_limit(app, db, client, organiser):
    app.config["STATION_IMPORT_MAX_BYTES"] = 64
    response = _import(client, STATIONS_CSV.encode(), "stations.csv")
    assert response.status_code == 422
    assert "The file is larger than 64 B." in response.get_data(as_text=True)
    assert _saved(app) == []


# -- the paper sign-in sheet page


@pytest.fixture
def activity(make_activity):
    return make_activity()


@pytest.fixture
def manager(make_user, activity, login):
    return login(make_user(Role.STATION_MANAGER, on=activity.station))


def _sheet(client, activity, data: bytes, name: str, **kw):
    return client.post(
        f"/activities/{activity.id}/paper",
        data={"file": (io.BytesIO(data), name)},
        content_type="multipart/form-data",
        **kw,
    )


def _checkins(db) -> int:
    return db.session.scalar(select(func.count()).select_from(CheckIn))


@pytest.mark.parametrize(
    "data, name, message",
    [
        (PNG, "sheet.csv", "This is not a CSV file."),
        (HTML, "sheet.csv", "This is not a CSV file."),
        (None, "sheet.csv", "This is an Excel workbook: save the sheet as CSV first."),
    ],
)
def test_the_paper_page_refuses_what_is_not_a_csv(
    db, client, activity, manager, data, name, message
):
    if data is None:
        data = _xlsx([row.split(",") for row in SHEET.splitlines()])
    response = _sheet(client, activity, data, name)
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert message in page and 'class="invalid-feedback' in page
    assert "Check of" not in page and _checkins(db) == 0


def test_the_paper_page_takes_a_gb18030_sheet_whatever_its_name(db, client, activity, manager):
    response = _sheet(
        client, activity, SHEET.encode("gb18030"), "签到表.txt", follow_redirects=True
    )
    assert response.status_code == 200
    assert "2 new check-ins" in response.get_data(as_text=True)
    assert _checkins(db) == 2
