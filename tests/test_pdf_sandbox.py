"""The PDF sandbox: WeasyPrint never fetches file:// or outside URLs, whatever the HTML says,
while files in the static folder, data: URLs and the CJK fonts keep working."""

from __future__ import annotations

import base64
import io
import logging
import platform
import shutil
import subprocess
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from PIL import Image

from inclusive_day import pdfs
from inclusive_day.auth.models import Role
from inclusive_day.pdfs import FetchRefused, StaticOnlyFetcher, html_document
from inclusive_day.sponsors.models import DonationKind
from inclusive_day.sponsors.receipts import receipt_pdf
from inclusive_day.sponsors.services import DonationFields, pledge_donation, receive_donation
from inclusive_day.stations.posters import render_posters

needs_poppler = pytest.mark.skipif(
    not (shutil.which("pdftotext") and shutil.which("pdffonts")),
    reason="poppler-utils (pdftotext, pdffonts) are not installed",
)
# What a user might type into a title, a name or a description, hoping a PDF fetches it.
EVIL_NAME = '<img src="file:///etc/passwd"><link rel=stylesheet href="http://example.com/x.css">'
# A station's name holds 120 characters; a title has room for a style sheet as well.
EVIL = EVIL_NAME + "<style>body{background:url(file:///etc/hostname)}</style>"


def _png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (8, 8), (200, 16, 46)).save(out, "PNG")
    return out.getvalue()


@pytest.fixture
def static(app, tmp_path):
    """A static folder with a picture in it, a file beside it and a link leading out."""
    root = tmp_path / "static"
    (root / "img").mkdir(parents=True)
    (root / "img" / "logo.png").write_bytes(_png())
    (tmp_path / "secret.txt").write_text("not for PDFs")
    (root / "img" / "out.png").symlink_to(tmp_path / "secret.txt")
    (root / "img" / "folder").symlink_to(tmp_path)
    old = app.static_folder
    app.static_folder = str(root)
    yield root
    app.static_folder = old


@pytest.fixture
def fetches(monkeypatch):
    """Every URL the fetcher is asked for, with "ok" or "refused"; ("", "new") for every
    fetcher made (so a test knows the render went through the sandbox at all)."""
    seen: list[tuple[str, str]] = []
    original = StaticOnlyFetcher.fetch
    original_init = StaticOnlyFetcher.__init__

    def made(self, root):
        seen.append(("", "new"))
        original_init(self, root)

    def record(self, url, headers=None):
        try:
            response = original(self, url, headers)
        except FetchRefused:
            seen.append((url, "refused"))
            raise
        seen.append((url, "ok"))
        return response

    monkeypatch.setattr(StaticOnlyFetcher, "fetch", record)
    monkeypatch.setattr(StaticOnlyFetcher, "__init__", made)
    return seen


@pytest.fixture
def trims(monkeypatch):
    """Each malloc_trim a render asked for, by its argument: every PDF renderer hands its
    render's memory back through pdfs.release_render_memory."""
    asked: list[int] = []
    monkeypatch.setattr(pdfs, "_malloc_trim", lambda: asked.append)
    return asked


def _refused_schemes(seen) -> set[str]:
    return {url for url, outcome in seen if outcome == "refused"}


# -- the fetcher itself


def test_the_fetcher_gives_files_inside_the_static_folder_and_data_urls(static):
    fetcher = StaticOnlyFetcher(static)
    response = fetcher.fetch((static / "img" / "logo.png").as_uri())
    assert response.read() == _png() and response.content_type == "image/png"
    data_url = "data:image/png;base64," + base64.b64encode(_png()).decode()
    assert fetcher.fetch(data_url).read() == _png()


@pytest.mark.parametrize(
    "url",
    [
        "file:///etc/passwd",
        "file:///etc/hostname",
        "file://localhost/etc/passwd",
        "file://evil.example/etc/passwd",
        "http://example.com/x.css",
        "https://example.com/logo.png",
        "ftp://example.com/x",
        "gopher://example.com/",
        "javascript:alert(1)",
        "http://127.0.0.1:5104/",
    ],
)
def test_the_fetcher_refuses_everything_else(static, url):
    with pytest.raises(FetchRefused):
        StaticOnlyFetcher(static).fetch(url)


def test_no_way_out_of_the_static_folder(static):
    fetcher = StaticOnlyFetcher(static)
    for url in (
        (static / "img").as_uri() + "/../../secret.txt",  # ..
        (static / "img").as_uri() + "/%2e%2e/%2e%2e/secret.txt",  # .. spelled in %
        (static / "img" / "out.png").as_uri(),  # a link to a file outside
        (static / "img" / "folder").as_uri() + "/secret.txt",  # through a linked folder
        static.as_uri(),  # a folder is no file
        (static.parent / "static-other" / "x.png").as_uri(),  # a sibling sharing the prefix
    ):
        with pytest.raises(FetchRefused):
            fetcher.fetch(url)


# -- rendering


def test_a_render_fetches_the_static_picture_and_nothing_else(app, static, fetches, caplog):
    html = """<html><head>
      <link rel=stylesheet href="http://example.com/x.css">
      <style>body { background: url(file:///etc/hostname) }</style>
    </head><body>
      <img src="file:///etc/passwd"> <img src="img/logo.png"> <p>你好</p>
    </body></html>"""
    with app.test_request_context(), caplog.at_level(logging.INFO):
        pdf = html_document(html).write_pdf()
    assert pdf.startswith(b"%PDF")
    assert (static / "img" / "logo.png").as_uri() in {u for u, o in fetches if o == "ok"}
    assert _refused_schemes(fetches) == {
        "file:///etc/passwd",
        "file:///etc/hostname",
        "http://example.com/x.css",
    }
    # Refusals are noted at info, without WeasyPrint's error lines for them.
    assert not [r for r in caplog.records if r.name == "weasyprint" and r.levelno >= logging.ERROR]
    assert sum("refused to fetch" in r.getMessage() for r in caplog.records) == 3


# -- end to end: what users type is text in the PDF, never markup that fetches


def _pdf_text(pdf: bytes, tmp_path) -> str:
    path = tmp_path / "out.pdf"
    path.write_bytes(pdf)
    out = subprocess.run(
        ["pdftotext", "-enc", "UTF-8", str(path), "-"], capture_output=True, check=True, text=True
    )
    return "".join(out.stdout.split())


def _pdf_fonts(pdf: bytes, tmp_path) -> str:
    path = tmp_path / "fonts.pdf"
    path.write_bytes(pdf)
    return subprocess.run(
        ["pdffonts", str(path)], capture_output=True, check=True, text=True
    ).stdout


def _sandboxed_and_only_data_urls(fetches) -> bool:
    """The render went through the sandbox, and fetched nothing but data: URLs."""
    urls = [(url, outcome) for url, outcome in fetches if outcome != "new"]
    made = len(fetches) - len(urls)
    return made > 0 and all(url.startswith("data:") and outcome == "ok" for url, outcome in urls)


@needs_poppler
def test_a_donation_description_with_markup_is_printed_not_fetched(
    db, make_unit, make_sponsor, make_campaign, make_user, fetches, trims, tmp_path
):
    city = make_unit("昆明市总工会", make_unit("云南省总工会"), code="530100")
    organiser = make_user(display_name="王干事")
    fields = DonationFields(
        kind=DonationKind.IN_KIND,
        description='礼包<img src="file:///etc/passwd">',
        quantity=Decimal(10),
        unit_label="份",
        unit_value=Decimal(60),
        campaign=make_campaign(city, "工会驿站普惠日"),
        pledged_on=date(2023, 11, 1),
    )
    donation = pledge_donation(make_sponsor(city, "美团"), fields, organiser)
    receive_donation(donation, date(2023, 11, 8), organiser)
    db.session.commit()
    pdf = receipt_pdf(donation, date(2024, 3, 1))
    assert '礼包<imgsrc="file:///etc/passwd">' in _pdf_text(pdf, tmp_path)
    assert _sandboxed_and_only_data_urls(fetches)
    assert "NotoSerifCJK" in _pdf_fonts(pdf, tmp_path).replace("-", "")
    assert trims == [0]


@needs_poppler
def test_a_station_name_with_markup_is_printed_on_its_poster_not_fetched(
    app, db, make_unit, make_station, fetches, trims, tmp_path
):
    app.config["PUBLIC_BASE_URL"] = "https://yizhan.example.cn"
    station = make_station(make_unit("昆明市总工会"), "驿站" + EVIL_NAME)
    pdf = render_posters([station], date(2024, 3, 1))
    text = _pdf_text(pdf, tmp_path)
    assert "file:///etc/passwd" in text and "http://example.com/x.css" in text
    assert _sandboxed_and_only_data_urls(fetches)  # the QR code and the tick, drawn by us
    assert "NotoSansCJK" in _pdf_fonts(pdf, tmp_path).replace("-", "")
    assert trims == [0]


@needs_poppler
def test_a_campaign_and_activity_with_markup_give_a_recap_that_fetches_nothing(
    app,
    db,
    client,
    login,
    make_user,
    make_unit,
    make_station,
    make_campaign,
    make_activity,
    fetches,
    trims,
    tmp_path,
):
    app.config["REPORT_CACHE_DIR"] = str(tmp_path / "cache")
    district = make_unit("官渡区总工会", make_unit("昆明市总工会"))
    campaign = make_campaign(
        district, '普惠日"); } @page { background: url(file:///etc/hostname) } '
    )
    station = make_station(district, "驿站" + EVIL_NAME)
    make_activity(station, campaign, title=EVIL, starts_at=datetime(2024, 1, 10, 2, tzinfo=UTC))
    login(make_user(Role.ADMIN))
    query = f"campaign={campaign.id}&unit={district.id}&from=2023-10-19&to=2024-02-26&lang=zh"
    response = client.get(f"/reports/recap.pdf?{query}")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert "file:///etc/hostname" in _pdf_text(response.data, tmp_path)  # printed as text
    assert _sandboxed_and_only_data_urls(fetches)
    assert "NotoSansCJK" in _pdf_fonts(response.data, tmp_path).replace("-", "")
    assert trims == [0]


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="malloc_trim is glibc's")
def test_the_render_memory_goes_back_to_the_system_on_glibc():
    assert pdfs._malloc_trim() is not None
    assert pdfs.release_render_memory() is True
