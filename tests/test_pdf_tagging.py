"""Every PDF the application makes is tagged (PDF/UA-1) and reads in order.

The recap, the monthly notice, the construction notice, a donation receipt and a station
poster carry a structure tree, their language and their title; real readers (poppler's
pdftotext, pdffonts, qpdf) find each recap figure beside its label, no letters of the
receipt's decorative mark among its table, every font embedded and no broken structure. The
recap's column headers never leave one character on a line, and its closing small print
never starts a page alone.

The development lock holds no PDF library, so `pdf_objects` reads the objects itself: the
plain ones, and those packed in object streams (WeasyPrint compresses the catalogue and the
structure elements into them), inflated with zlib. That is enough to read a catalogue, an
information dictionary and structure elements; nothing here parses content streams.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import zlib
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from flask import render_template_string
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import select
from weasyprint.formatting_structure import boxes

from inclusive_day import pdfs
from inclusive_day.attendance.identity import identity_for
from inclusive_day.attendance.models import BeneficiaryGroup, CheckIn, Headcount
from inclusive_day.campaigns.models import Campaign
from inclusive_day.campaigns.targets import TargetValues, set_targets
from inclusive_day.demo.kunming import load_kunming
from inclusive_day.i18n import PEOPLE_BY_QR
from inclusive_day.periods import Month
from inclusive_day.reports import pdf as report_pdf
from inclusive_day.reports.construction import ConstructionScope
from inclusive_day.reports.documents import render_construction, render_league, render_recap
from inclusive_day.reports.recap import RecapScope, default_period
from inclusive_day.sponsors import receipts
from inclusive_day.sponsors.models import DonationKind
from inclusive_day.sponsors.services import DonationFields, pledge_donation, receive_donation
from inclusive_day.stations.models import HostType, Label, LabelAward
from inclusive_day.stations.posters import render_posters

needs_poppler = pytest.mark.skipif(
    not (shutil.which("pdftotext") and shutil.which("pdffonts") and shutil.which("pdfinfo")),
    reason="poppler-utils (pdftotext, pdffonts, pdfinfo) are not installed",
)
# qpdf and poppler's pdfinfo and pdffonts, when installed, check every PDF as well.
TOOLS = all(shutil.which(tool) for tool in ("qpdf", "pdfinfo", "pdffonts"))

START, END = date(2023, 10, 19), date(2024, 2, 26)
ISSUED = date(2024, 3, 1)
KINDS = ("recap-zh", "recap-en", "league", "construction", "receipt", "poster")


# --- Reading a PDF's objects -----------------------------------------------------------------


def pdf_objects(data: bytes) -> dict[int, bytes]:
    """Every object of a PDF by number, those packed in object streams included."""
    objects = {
        int(match[1]): match[2]
        for match in re.finditer(rb"(?s)(?:^|\n)(\d+) 0 obj\s*(.*?)\sendobj", data)
    }
    for body in list(objects.values()):
        if not re.search(rb"/Type\s*/ObjStm", body):
            continue
        first = int(re.search(rb"/First\s+(\d+)", body)[1])
        packed = stream_data(body)
        numbers = [int(n) for n in packed[:first].split()]
        pairs = list(zip(numbers[0::2], numbers[1::2], strict=True))
        ends = [offset for _number, offset in pairs[1:]] + [len(packed) - first]
        for (number, offset), end in zip(pairs, ends, strict=True):
            objects[number] = packed[first + offset : first + end]
    return objects


def stream_data(body: bytes) -> bytes:
    """The content of a stream object, inflated when it is compressed."""
    data = body[re.search(rb"stream\r?\n", body).end() :]
    if re.search(rb"/Filter\s*/FlateDecode", body[:200]):
        return zlib.decompressobj().decompress(data)  # stops at the end of the deflated data
    return data[: data.rindex(b"endstream")]


def pdf_string(token: bytes) -> str:
    """A PDF string as written: (literal) or <hex>, UTF-16 when it starts with its mark."""
    if token.startswith(b"<"):
        raw = bytes.fromhex(token[1:-1].decode("ascii"))
    else:
        raw = re.sub(rb"\\([()\\])", rb"\1", token[1:-1])
    if raw.startswith(b"\xfe\xff"):
        return raw[2:].decode("utf-16-be")
    return raw.decode("latin-1")


STRING = rb"(\((?:\\.|[^\\)])*\)|<[0-9A-Fa-f\s]*>)"


def catalogue(data: bytes, objects: dict[int, bytes]) -> bytes:
    """The document catalogue: the object the trailer's /Root names."""
    return objects[int(re.search(rb"/Root\s+(\d+)\s+0\s+R", data)[1])]


def title(data: bytes, objects: dict[int, bytes]) -> str:
    """The /Title of the document information dictionary."""
    info = objects[int(re.search(rb"/Info\s+(\d+)\s+0\s+R", data)[1])]
    return pdf_string(re.search(rb"/Title\s*" + STRING, info)[1])


def structure_types(objects: dict[int, bytes]) -> set[str]:
    """The structure types (/S) used by the structure elements."""
    return {
        match[1].decode()
        for body in objects.values()
        if re.search(rb"/Type\s*/StructElem", body)
        for match in [re.search(rb"/S\s*/(\w+)", body)]
        if match
    }


def figure_alts(objects: dict[int, bytes]) -> list[str]:
    """The alternative texts of the structure's figures."""
    alts = []
    for body in objects.values():
        if re.search(rb"/S\s*/Figure\b", body) and (alt := re.search(rb"/Alt\s*" + STRING, body)):
            alts.append(pdf_string(alt[1]))
    return alts


def run(*args: str) -> str:
    """The standard output of a command that must succeed."""
    return subprocess.run(args, capture_output=True, check=True, text=True).stdout


def saved(data: bytes, tmp_path, name: str = "out.pdf") -> str:
    """The path of a file holding `data`, for the command-line tools."""
    path = tmp_path / name
    path.write_bytes(data)
    return str(path)


# --- Reading a laid-out document (WeasyPrint's boxes) -----------------------------------------


def walk(box):
    """A box and every box inside it."""
    yield box
    for child in getattr(box, "children", ()):
        yield from walk(child)


def line_text(line) -> str:
    """The text of a line box (or of any box)."""
    return "".join(box.text for box in walk(line) if isinstance(box, boxes.TextBox))


def classed(box, name: str) -> bool:
    """True when the box is made by an element of the class `name`."""
    return box.element is not None and name in (box.element.get("class") or "").split()


@pytest.fixture
def laid_out(monkeypatch) -> list:
    """The WeasyPrint documents the report PDFs are written from, in the order rendered."""
    documents_seen = []
    write = report_pdf.write_pdf

    def keep(document):
        documents_seen.append(document)
        return write(document)

    monkeypatch.setattr(report_pdf, "write_pdf", keep)
    return documents_seen


# --- A small city with every section of every document ----------------------------------------


@pytest.fixture
def city(app, db, make_unit, make_station, make_campaign, make_activity, make_sponsor, make_user):
    """A city with two districts, a station in each (host type, label), a campaign held at
    both with headcounts and a check-in, a received gift and targets handed down."""
    app.config["PUBLIC_BASE_URL"] = "https://yizhan.example.cn"
    province = make_unit("云南省总工会")
    city = make_unit("昆明市总工会", province, code="530100")
    districts = [make_unit("官渡区总工会", city), make_unit("盘龙区总工会", city)]
    cabin = db.session.scalar(select(HostType).where(HostType.code == "cabin"))
    smart = db.session.scalar(select(Label).where(Label.code == "smart"))
    campaign = make_campaign(city, "工会驿站普惠日")
    stations = []
    for i, district in enumerate(districts):
        station = make_station(
            district,
            f"{district.name[:2]}驿站",
            host_type=cabin,
            opened_on=date(2023, 5, 1),
            address="云南省昆明市官渡区关上北路33号",
        )
        db.session.add(LabelAward(station=station, label=smart, year=2023, awarded_by=city))
        for month in (11, 12, 1):
            year = 2024 if month == 1 else 2023
            starts_at = datetime(year, month, 10 + i, 2, tzinfo=UTC)
            activity = make_activity(station, campaign, starts_at=starts_at)
            db.session.add(
                Headcount(activity=activity, group=BeneficiaryGroup.COURIER, count=40 + 10 * i)
            )
        stations.append(station)
    db.session.add(
        CheckIn(
            activity=activity,
            identity=identity_for("13900000001"),
            group=BeneficiaryGroup.RIDER,
            nonce="one-check-in",
        )
    )
    organiser = make_user(display_name="王干事")
    fields = DonationFields(
        kind=DonationKind.IN_KIND,
        description="骑手健康服务季爱心礼包",
        quantity=Decimal(2000),
        unit_label="份",
        unit_value=Decimal(60),
        campaign=campaign,
        pledged_on=date(2023, 11, 1),
    )
    donation = pledge_donation(make_sponsor(city, "美团"), fields, organiser)
    receive_donation(donation, date(2023, 11, 8), organiser)
    set_targets(
        campaign,
        {
            city.id: TargetValues(activities=10, served=500, stations=2),
            districts[0].id: TargetValues(activities=5, served=200, stations=1),
        },
    )
    db.session.commit()
    return {
        "city": city,
        "campaign": campaign,
        "stations": stations,
        "donation": donation,
        "scope": RecapScope(campaign.id, city.id, START, END),
    }


def render(kind: str, city: dict) -> bytes:
    """The PDF of `kind` for the small city."""
    if kind.startswith("recap-"):
        return render_recap(city["scope"], kind.removeprefix("recap-"))
    if kind == "league":
        return render_league(city["city"], Month(2024, 1), "en")
    if kind == "construction":
        return render_construction(
            ConstructionScope(city["city"].id, date(2024, 2, 26), date(2024, 1, 26)), "zh"
        )
    if kind == "receipt":
        return receipts.receipt_pdf(city["donation"], ISSUED)
    return render_posters(city["stations"][:1], ISSUED)


EXPECTED = {
    "recap-zh": ("zh-CN", "工会驿站普惠日", {"H1", "H2", "Table", "TH", "TD", "Figure", "P"}),
    "recap-en": ("en", "Recap", {"H1", "H2", "Table", "TH", "TD", "Figure", "P"}),
    "league": ("en", "Monthly notice", {"H1", "Table", "TH", "TD", "P"}),
    "construction": ("zh-CN", "建设进度通报", {"H1", "Table", "TH", "TD", "P"}),
    "receipt": ("zh-CN", "530100-2023-00001", {"H1", "Table", "TH", "TD", "Figure", "P"}),
    "poster": ("zh-CN", "驿站海报", {"Figure", "P"}),
}


# --- Tagged, with a language and a title ------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
def test_every_pdf_is_tagged_with_its_language_and_title(city, kind, tmp_path):
    data = render(kind, city)
    objects = pdf_objects(data)
    root = catalogue(data, objects)
    lang, title_part, types = EXPECTED[kind]
    assert re.search(rb"/MarkInfo\s*<<\s*/Marked\s+true\s*>>", root), root
    assert re.search(rb"/StructTreeRoot\s+\d+\s+0\s+R", root), root
    assert pdf_string(re.search(rb"/Lang\s*" + STRING, root)[1]) == lang
    assert re.search(rb"/DisplayDocTitle\s+true", root)  # viewers show the title, not a file
    assert title_part in title(data, objects)
    metadata = stream_data(objects[int(re.search(rb"/Metadata\s+(\d+)\s+0\s+R", root)[1])])
    assert re.search(rb"pdfuaid:part[^0-9]{0,3}1", metadata), metadata  # says it is PDF/UA-1
    assert types <= structure_types(objects), structure_types(objects)
    alts = figure_alts(objects)
    if kind == "recap-en":
        assert any("month" in alt.lower() for alt in alts), alts  # the charts' titles
    if kind == "poster":
        assert any(alt.startswith("https://yizhan.example.cn/s/") for alt in alts), alts
    if TOOLS:  # and as the real tools read it, where they are installed
        path = saved(data, tmp_path)
        run("qpdf", "--check", path)  # exits non-zero on a structural error
        assert int(run("qpdf", "--show-npages", path)) >= 1
        assert re.search(r"^Tagged:\s+yes$", run("pdfinfo", path), re.M)
        fonts = [line.split() for line in run("pdffonts", path).splitlines()[2:]]
        assert fonts and all(row[-5:-2] == ["yes", "yes", "yes"] for row in fonts), fonts


# --- Read in order ----------------------------------------------------------------------------


@needs_poppler
@pytest.mark.parametrize("lang", ["zh", "en"])
def test_the_recap_reads_each_figure_beside_its_label(city, lang, tmp_path):
    text = run("pdftotext", "-enc", "UTF-8", saved(render(f"recap-{lang}", city), tmp_path), "-")
    lines = [line.strip() for line in text.splitlines()]
    with force_locale(lang):
        labels = [
            _("Activities held"),
            _("Served"),
            str(PEOPLE_BY_QR),
            _("Stations involved"),
            _("Sponsors"),
            _("Value given"),
        ]
    for label in labels:
        figure = re.compile(r"^[0-9][0-9,.]*\S* " + re.escape(label) + "$")
        assert any(figure.match(line) for line in lines), (label, lines[:40])


@needs_poppler
def test_the_receipt_s_mark_is_drawn_not_written_among_the_table(city, tmp_path):
    data = render("receipt", city)
    text = run("pdftotext", "-enc", "UTF-8", saved(data, tmp_path), "-")
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    for word in ("THANK", "YOU", "INCLUSIVE", "衷心感谢", "谢"):
        assert not any(word in line.split() or line == word for line in lines), word
    assert not [line for line in lines if re.fullmatch(r"[A-Z·]{1,3}", line)]  # no lone letters
    table = lines[lines.index("捐赠内容") : lines.index("经手人") + 1]
    assert "骑手健康服务季爱心礼包" in table and "人民币壹拾贰万元整" in table
    # The words of the mark are the figure's alternative text instead.
    assert receipts.MARK_WORDS in figure_alts(pdf_objects(data))


@pytest.fixture
def no_outlines(monkeypatch):
    """Fonts whose outlines cannot be read; the mark's letters are worked out afresh."""
    monkeypatch.setattr(receipts, "glyph_outlines", lambda *args: None)
    receipts.mark_letters.cache_clear()
    yield
    receipts.mark_letters.cache_clear()


def test_without_the_font_s_outlines_the_mark_is_set_as_text(city, no_outlines):
    letters = receipts.mark_letters()
    assert letters and not any(letter.path for letter in letters)
    document, font_pt = receipts.layout_receipt(receipts.receipt_data(city["donation"], ISSUED))
    assert len(document.pages) == 1 and font_pt == receipts.FONT_SIZES[0]


def test_glyph_outlines_come_from_the_font_weasyprint_would_use(app):
    path, index = pdfs.font_file("Noto Sans CJK SC:bold")
    assert "CJK" in path and index >= 0
    outlines = pdfs.glyph_outlines("Noto Sans CJK SC:bold", "谢K")
    assert set(outlines) == {"谢", "K"}
    assert outlines["谢"].advance == outlines["谢"].units_per_em  # a full-width ideograph
    assert outlines["K"].path.startswith("M") and outlines["K"].advance < outlines["谢"].advance
    assert pdfs.glyph_outlines("Noto Sans CJK SC:bold", "\U000e0100") is None  # not in it


# --- The recap's layout -----------------------------------------------------------------------


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_no_recap_column_header_leaves_one_character_on_a_line(city, laid_out, lang):
    render_recap(city["scope"], lang)
    headers = []
    for page in laid_out[-1].pages:
        for cell in walk(page._page_box):
            if isinstance(cell, boxes.TableCellBox) and cell.element_tag == "th":
                lines = [line for line in walk(cell) if isinstance(line, boxes.LineBox)]
                texts = [line_text(line).strip() for line in lines]
                headers.append(("".join(texts), [t for t in texts if t], cell, lines))
    with force_locale(lang):
        for wanted in (_("Share of served"), _("Value (yuan)"), _("Stations with activities")):
            assert any(wanted.replace(" ", "") == name.replace(" ", "") for name, *_ in headers)
    for name, texts, cell, lines in headers:
        if len(name) > 1:
            assert all(len(text) > 1 for text in texts), (name, texts)
        for line in lines:  # and none runs out of its column
            width = sum(box.width for box in walk(line) if isinstance(box, boxes.TextBox))
            assert width <= cell.width + 0.5, (name, width, cell.width)


CLOSING = """<!doctype html>
<html lang="en"><head><title>closing</title><style>{% include "pdf/_report.css" %}</style></head>
<body><div style="height: {{ filler }}px"></div>
<section><h2 class="section">Honour roll</h2>
<table class="data honour"><thead><tr><th>Sponsor</th><th>Gave</th></tr></thead><tbody>
{% for n in range(6) %}<tr><td class="name">美团<span class="detail">enterprise</span></td>
<td class="gifts">骑手健康服务季爱心礼包: 2,000 份</td></tr>{% endfor %}
</tbody></table></section>
<div class="definitions"><p>Served counts person-times: the headcounts staff entered plus every
check-in that was not annulled.</p><p>Activities held are those that had started.</p>
<p>Generated by Inclusive Day on December 7, 2026 from the records.</p></div>
</body></html>"""


def closing(filler: float):
    """The end of a report (a table, then the small print), pushed down the page by a filler:
    the report stylesheet laid out on its own, so that any place of the page's foot can be
    tried without building a roll of that length."""
    return pdfs.html_document(render_template_string(CLOSING, filler=filler)).render()


def test_the_closing_definitions_never_start_a_page_alone(app):
    """Wherever the page's foot falls in the small print, the small print moves over whole
    and takes the table's last two rows with it."""
    page = closing(0).pages[0]._page_box
    definitions = next(box for box in walk(page) if classed(box, "definitions"))
    foot = page.content_box_y() + page.height
    top, bottom = definitions.border_box_y(), definitions.position_y + definitions.margin_height()
    for inside in (0.1, 0.5, 0.9, -0.2):  # how much of it is above the foot (< 0: none)
        document = closing(foot - top - inside * (bottom - top))
        assert len(document.pages) == 2
        first, last = (page._page_box for page in document.pages)
        assert not any(classed(box, "definitions") for box in walk(first)), inside
        rows = [box for box in walk(last) if box.element_tag == "tr" and "美团" in line_text(box)]
        assert len(rows) >= 2, inside


def test_the_demo_recap_ends_on_a_page_with_more_than_its_small_print(db, laid_out):
    """The demo-sized recap in both languages (English runs longer, in its words and its
    two-line headers): its last page is never a near-empty one holding only the definitions
    or a line of them."""
    campaign = db.session.get(Campaign, load_kunming(echo=lambda _: None).campaign_id)
    db.session.commit()
    scope = RecapScope(campaign.id, campaign.unit_id, *default_period(campaign))
    render_recap(scope, "zh")
    render_recap(scope, "en")
    for document in laid_out:
        last = document.pages[-1]
        assert len({round(line.position_y) for line in body_lines(last)}) > 10  # lines down it
        rows = [box for box in walk(last._page_box) if box.element_tag == "tr"]
        assert len(rows) >= 3  # a table's head and at least two of its rows


def body_lines(page) -> list:
    """The lines of text on a page outside its running header and footer."""
    return [
        line
        for child in page._page_box.children
        if not isinstance(child, boxes.MarginBox)
        for line in walk(child)
        if isinstance(line, boxes.LineBox) and line_text(line).strip()
    ]
