"""The recap as a PDF (Chinese fonts embedded, the figures in its text), the command line, the
PDF cache, background rendering on RQ, and the spreadsheets."""

from __future__ import annotations

import csv
import io
import os
import shutil
import subprocess
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from openpyxl import load_workbook
from redis import Redis
from redis.exceptions import RedisError
from rq import SimpleWorker

import inclusive_day.reports.charts
from inclusive_day.attendance.identity import identity_for
from inclusive_day.attendance.models import BeneficiaryGroup, CheckIn, Headcount
from inclusive_day.auth.models import Role
from inclusive_day.demo.kunming import load_kunming
from inclusive_day.reports import jobs
from inclusive_day.reports.cache import cached, fingerprint
from inclusive_day.reports.pdf import css_page_counter, css_string
from inclusive_day.reports.recap import RecapScope

REDIS_URL = "redis://127.0.0.1:6379/5"
needs_poppler = pytest.mark.skipif(
    shutil.which("pdftotext") is None, reason="pdftotext (poppler-utils) is not installed"
)


def pdf_text(data: bytes, tmp_path) -> str:
    """The text of a PDF, as pdftotext reads it (layout kept, so table rows stay together)."""
    path = tmp_path / "out.pdf"
    path.write_bytes(data)
    return subprocess.run(
        ["pdftotext", "-layout", str(path), "-"], capture_output=True, check=True, text=True
    ).stdout


def pdf_fonts(data: bytes, tmp_path) -> str:
    path = tmp_path / "fonts.pdf"
    path.write_bytes(data)
    return subprocess.run(
        ["pdffonts", str(path)], capture_output=True, check=True, text=True
    ).stdout


@pytest.fixture(autouse=True)
def report_cache(app, tmp_path):
    """Each test renders into its own cache folder."""
    app.config["REPORT_CACHE_DIR"] = str(tmp_path / "cache")
    return tmp_path / "cache"


@pytest.fixture
def district(db, make_unit, make_station, make_campaign, make_activity):
    """A district with two streets, a campaign and attendance."""
    city = make_unit("昆明市总工会", make_unit("云南省总工会"))
    district = make_unit("官渡区总工会", city)
    streets = [make_unit("关上街道工会", district), make_unit("吴井街道工会", district)]
    campaign = make_campaign(district, "工会驿站普惠日")
    activities = []
    for i, street in enumerate(streets):
        station = make_station(street, f"{street.name}驿站")
        activity = make_activity(
            station, campaign, starts_at=datetime(2024, 1, 10 + i, 2, tzinfo=UTC)
        )
        db.session.add(Headcount(activity=activity, group=BeneficiaryGroup.COURIER, count=100))
        activities.append(activity)
    db.session.add(
        CheckIn(
            activity=activities[0],
            identity=identity_for("13900000001"),
            group=BeneficiaryGroup.RIDER,
            nonce="only-one",
        )
    )
    db.session.commit()
    return {
        "district": district,
        "campaign": campaign,
        "activities": activities,
        "query": f"campaign={campaign.id}&unit={district.id}&from=2023-10-19&to=2024-02-26",
    }


@pytest.fixture
def admin(client, login, make_user):
    return login(make_user(Role.ADMIN))


# --- The PDF ---------------------------------------------------------------------------------


@needs_poppler
def test_the_kunming_recap_pdf_holds_the_figures_in_chinese(db, client, admin, tmp_path):
    result = load_kunming(echo=lambda _: None)
    db.session.commit()
    response = client.get(f"/reports/recap.pdf?campaign={result.campaign_id}&lang=zh")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    text = pdf_text(response.data, tmp_path)
    for expected in ("工会驿站普惠日", "昆明市总工会", "76,800", "6,145", "256", "服务人次"):
        assert expected in text, expected
    assert "2023年10月19日" in text and "第 1 页" in text
    fonts = pdf_fonts(response.data, tmp_path)
    assert "NotoSansCJK" in fonts.replace("-", "") and " yes yes yes" in fonts
    assert "Type 3" not in fonts  # no glyphs drawn as shapes: real, embedded, subset fonts


@needs_poppler
def test_the_english_pdf(client, admin, district, tmp_path):
    response = client.get(f"/reports/recap.pdf?{district['query']}&lang=en")
    text = pdf_text(response.data, tmp_path)
    assert "Campaign recap" in text and "Served" in text and "201" in text
    assert "Page 1 of" in text
    assert "官渡区总工会" in text  # names stay as they are


@needs_poppler
def test_an_empty_recap_renders_with_zeros(client, admin, make_unit, make_campaign, tmp_path):
    unit = make_unit("空白区总工会")
    campaign = make_campaign(unit, "空白活动")
    response = client.get(f"/reports/recap.pdf?campaign={campaign.id}&lang=zh")
    assert response.status_code == 200
    assert "空白活动" in pdf_text(response.data, tmp_path)


def test_page_counters_become_css():
    assert css_page_counter("第 %(page)s 页，共 %(pages)s 页") == (
        '"第 " counter(page) " 页，共 " counter(pages) " 页"'
    )
    assert css_string('a"b</style>') == '"a\\"b\\3c /style>"'


@needs_poppler
def test_the_command_line_writes_a_pdf(db, runner, district, tmp_path):
    output = tmp_path / "recap.pdf"
    result = runner.invoke(
        args=[
            "report",
            "recap",
            "--campaign",
            str(district["campaign"].id),
            "--unit",
            str(district["district"].id),
            "--from",
            "2024-01-01",
            "--to",
            "2024-01-31",
            "--lang",
            "zh",
            "--output",
            str(output),
        ]
    )
    assert result.exit_code == 0, result.output
    text = pdf_text(output.read_bytes(), tmp_path)
    assert "官渡区总工会" in text and "201" in text and "2024年1月1日" in text


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--campaign", "999999"], "no campaign 999999"),
        (["--campaign", "{campaign}", "--unit", "999999"], "no unit 999999"),
        (
            ["--campaign", "{campaign}", "--from", "2024-02-01", "--to", "2024-01-01"],
            "结束日期早于开始日期",
        ),
        (["--campaign", "{campaign}", "--from", "yesterday"], "not a date"),
    ],
)
def test_the_command_line_says_what_is_wrong(runner, district, tmp_path, args, message):
    args = [a.format(campaign=district["campaign"].id) for a in args]
    result = runner.invoke(args=["report", "recap", *args, "--output", str(tmp_path / "x.pdf")])
    assert result.exit_code != 0
    assert message in result.output
    assert not (tmp_path / "x.pdf").exists()


# --- The cache -------------------------------------------------------------------------------


def test_an_unchanged_recap_comes_from_the_cache_and_a_change_renders_it_again(
    db, client, admin, district, report_cache, monkeypatch
):
    url = f"/reports/recap.pdf?{district['query']}&lang=zh"
    renders = []
    original = jobs.render_recap

    def counting(*args):
        renders.append(args)
        return original(*args)

    monkeypatch.setattr(jobs, "render_recap", counting)
    first = client.get(url)
    assert first.status_code == 200 and len(renders) == 1
    assert client.get(url).data == first.data and len(renders) == 1  # served from the cache
    assert len(list(report_cache.glob("*.pdf"))) == 1
    # Another language is another PDF.
    client.get(url.replace("lang=zh", "lang=en"))
    assert len(renders) == 2
    # A new headcount changes the data: the recap is rendered again.
    db.session.add(
        Headcount(activity=district["activities"][1], group=BeneficiaryGroup.POLICE, count=3)
    )
    db.session.commit()
    client.get(url)
    assert len(renders) == 3


def test_the_fingerprint_follows_every_kind_of_change(db, district):
    params = RecapScope(
        district["campaign"].id, district["district"].id, date(2024, 1, 1), date(2024, 1, 31)
    ).params()
    now = datetime(2026, 1, 1, tzinfo=UTC)
    seen = {fingerprint("recap", params, "zh", now)}

    def changed() -> bool:
        key = fingerprint("recap", params, "zh", now)
        fresh = key not in seen
        seen.add(key)
        return fresh

    assert not changed()
    checkin = db.session.query(CheckIn).one()
    checkin.annulled_at, checkin.annul_reason = now, "扫错了"
    db.session.commit()
    assert changed()
    district["district"].name = "官渡区总工会（新）"
    db.session.commit()
    assert changed()
    district["activities"][0].cancel("下雨")
    db.session.commit()
    assert changed()
    assert fingerprint("recap", params, "en", now) != fingerprint("recap", params, "zh", now)
    assert fingerprint("recap", {**params, "to": "2024-01-30"}, "zh", now) not in seen
    # So does a change to the code that draws the PDF (a new release), not just its templates.
    charts = Path(inclusive_day.reports.charts.__file__)
    stamp = charts.stat()
    try:
        os.utime(charts, ns=(stamp.st_atime_ns, stamp.st_mtime_ns + 1_000_000_000))
        assert changed()
    finally:
        os.utime(charts, ns=(stamp.st_atime_ns, stamp.st_mtime_ns))


# --- Background rendering --------------------------------------------------------------------


@pytest.fixture
def redis_queue(app):
    """The reports queue on Redis db 5 (emptied before and after); skipped without Redis."""
    connection = Redis.from_url(REDIS_URL)
    try:
        connection.ping()
    except RedisError:
        pytest.skip("Redis is not running at 127.0.0.1:6379")
    app.config["REDIS_URL"] = REDIS_URL
    app.config["REPORT_QUEUE_THRESHOLD"] = 0
    connection.flushdb()  # db 5 is the reports tests' own
    yield jobs.report_queue()
    connection.flushdb()


def test_a_large_recap_renders_in_the_worker_behind_a_status_page(
    app, client, admin, district, redis_queue
):
    url = f"/reports/recap.pdf?{district['query']}&lang=zh"
    response = client.get(url)
    assert response.status_code == 302 and "/reports/recap/status" in response.location
    assert redis_queue.count == 1
    status = client.get(response.location)
    page = status.get_data(as_text=True)
    assert status.status_code == 200 and 'http-equiv="refresh"' in page
    # Asking again while it waits queues nothing more.
    client.get(url)
    assert redis_queue.count == 1
    SimpleWorker([redis_queue], connection=redis_queue.connection).work(burst=True)
    ready = client.get(response.location)
    assert ready.status_code == 302 and "/reports/recap.pdf" in ready.location
    pdf = client.get(ready.location)
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")


def test_a_synchronous_queue_renders_at_once(app, client, admin, district, redis_queue):
    app.config["REPORT_QUEUE_ASYNC"] = False
    response = client.get(f"/reports/recap.pdf?{district['query']}&lang=en")
    assert response.status_code == 302
    assert client.get(response.location).status_code == 302  # ready: on to the PDF
    params = RecapScope(
        district["campaign"].id, district["district"].id, date(2023, 10, 19), date(2024, 2, 26)
    ).params()
    assert cached(fingerprint("recap", params, "en")) is not None


def test_small_recaps_render_in_the_request_even_with_a_queue(
    app, client, admin, district, redis_queue
):
    app.config["REPORT_QUEUE_THRESHOLD"] = 100
    response = client.get(f"/reports/recap.pdf?{district['query']}")
    assert response.status_code == 200 and redis_queue.count == 0


def test_without_redis_the_recap_renders_in_the_request(app, client, admin, district):
    app.config["REDIS_URL"] = None
    app.config["REPORT_QUEUE_THRESHOLD"] = 0
    response = client.get(f"/reports/recap.pdf?{district['query']}")
    assert response.status_code == 200 and response.data.startswith(b"%PDF")
    assert jobs.report_queue() is None
    # A status page left open from before goes on to the PDF.
    status = client.get(f"/reports/recap/status?{district['query']}")
    assert status.status_code == 302 and "/reports/recap.pdf" in status.location


def test_the_worker_command_needs_redis(app, runner):
    app.config["REDIS_URL"] = None
    result = runner.invoke(args=["report", "worker", "--burst"])
    assert result.exit_code != 0 and "REDIS_URL" in result.output


def test_the_worker_command_drains_the_queue(app, runner, district, redis_queue):
    params = RecapScope(
        district["campaign"].id, district["district"].id, date(2023, 10, 19), date(2024, 2, 26)
    ).params()
    key = fingerprint("recap", params, "zh")
    jobs.enqueue("recap", params, "zh", key)
    result = runner.invoke(args=["report", "worker", "--burst"])
    assert result.exit_code == 0, result.output
    assert cached(key) is not None and jobs.job_state(key).status == "finished"


# --- Spreadsheets ----------------------------------------------------------------------------


def test_the_workbook_holds_every_table(client, admin, district):
    response = client.get(f"/reports/recap.xlsx?{district['query']}")
    assert response.status_code == 200
    book = load_workbook(io.BytesIO(response.data))
    assert len(book.sheetnames) == 13  # ten of the campaign, three of door traffic
    summary = {row[0]: row[1] for row in book.worksheets[0].iter_rows(values_only=True)}
    assert summary["Served (person-times)"] == 201
    stations = list(book["Stations"].iter_rows(values_only=True))
    assert len(stations) == 3 and stations[1][5] == 101


def test_one_table_as_csv_with_formulas_made_inert(db, client, admin, district, make_station):
    station = district["activities"][0].station
    station.name = '=HYPERLINK("http://evil")'
    db.session.commit()
    response = client.get(f"/reports/recap.csv?{district['query']}&table=stations")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(response.data.decode("utf-8-sig"))))
    assert rows[0][:2] == ["Station code", "Station"]
    assert rows[1][1] == '\'=HYPERLINK("http://evil")'
    assert client.get(f"/reports/recap.csv?{district['query']}&table=nope").status_code == 404


def test_a_csv_download_names_its_charset_once(client, admin, district):
    response = client.get(f"/reports/recap.csv?{district['query']}&table=stations")
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"


def test_a_failed_render_says_so_and_stops_refreshing(
    app, client, admin, district, redis_queue, monkeypatch
):
    def broken(*_args):
        raise RuntimeError("the printer is on fire")

    monkeypatch.setattr(jobs, "render_recap", broken)
    response = client.get(f"/reports/recap.pdf?{district['query']}&lang=zh")
    SimpleWorker([redis_queue], connection=redis_queue.connection).work(burst=True)
    page = client.get(response.location).get_data(as_text=True)
    assert "could not be made" in page and 'http-equiv="refresh"' not in page
