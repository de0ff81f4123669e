"""Donation receipts: capital numerals, the receipt's plain data, and the one-page bilingual PDF
with its Chinese fonts embedded."""

import shutil
import subprocess
from datetime import date
from decimal import Decimal

import pytest
from flask_babel import force_locale

from inclusive_day.sponsors.models import DonationKind, SponsorKind
from inclusive_day.sponsors.receipts import (
    FONT_SIZES,
    ReceiptError,
    capital_yuan,
    layout_receipt,
    receipt_data,
    receipt_pdf,
)
from inclusive_day.sponsors.services import DonationFields, pledge_donation, receive_donation
from inclusive_day.sponsors.words import gift_in_words

needs_poppler = pytest.mark.skipif(
    not (shutil.which("pdftotext") and shutil.which("pdffonts")),
    reason="poppler-utils (pdftotext, pdffonts) are not installed",
)
LONG_DESCRIPTION = (
    "云南省昆明市官渡区关上街道爱心企业联合会会员单位共同捐赠的户外劳动者防暑降温爱心礼包"
    "（含绿茶、藿香正气水、毛巾、遮阳帽），"
) * 4
ISSUED = date(2024, 3, 1)


def _pdf_text(pdf: bytes, tmp_path) -> str:
    path = tmp_path / "receipt.pdf"
    path.write_bytes(pdf)
    return subprocess.run(
        ["pdftotext", "-enc", "UTF-8", str(path), "-"], capture_output=True, check=True, text=True
    ).stdout


def _pdf_fonts(pdf: bytes, tmp_path) -> list[list[str]]:
    path = tmp_path / "fonts.pdf"
    path.write_bytes(pdf)
    out = subprocess.run(["pdffonts", str(path)], capture_output=True, check=True, text=True)
    return [line.split() for line in out.stdout.splitlines()[2:]]


@pytest.fixture
def city(make_unit):
    """The city union that registers the sponsors and issues their receipts."""
    return make_unit("昆明市总工会", make_unit("云南省总工会"), code="530100")


@pytest.fixture
def organiser(make_user):
    """The organiser who confirms that gifts arrived."""
    return make_user(display_name="王干事")


@pytest.fixture
def give(db, city, make_sponsor, make_campaign, organiser):
    """Factory: a donation from a new sponsor of the city, received on 8 November 2023 unless
    `received` is False."""
    campaign = make_campaign(city, "工会驿站普惠日")

    def make(received=True, sponsor_name="美团", sponsor=None, **fields):
        sponsor = sponsor or make_sponsor(city, sponsor_name)
        fields.setdefault("kind", DonationKind.IN_KIND)
        fields.setdefault("description", "骑手健康服务季爱心礼包")
        if fields["kind"] is not DonationKind.CASH:
            fields.setdefault("quantity", Decimal(2000))
            fields.setdefault("unit_label", "份")
        if fields["kind"] is DonationKind.IN_KIND and "value" not in fields:
            fields.setdefault("unit_value", Decimal(60))
        fields.setdefault("campaign", campaign)
        fields.setdefault("pledged_on", date(2023, 11, 1))
        donation = pledge_donation(sponsor, DonationFields(**fields), organiser)
        if received:
            receive_donation(donation, date(2023, 11, 8), organiser)
        db.session.commit()
        return donation

    return make


@pytest.mark.parametrize(
    ("amount", "words"),
    [
        ("0", "零元整"),
        ("5", "伍元整"),
        ("10", "壹拾元整"),
        ("15", "壹拾伍元整"),
        ("100", "壹佰元整"),
        ("1001", "壹仟零壹元整"),
        ("10010", "壹万零壹拾元整"),
        ("100000", "壹拾万元整"),
        ("120000", "壹拾贰万元整"),
        ("50000.50", "伍万元伍角整"),
        ("9999999999.99", "玖拾玖亿玖仟玖佰玖拾玖万玖仟玖佰玖拾玖元玖角玖分"),
        ("0.05", "伍分"),
        ("0.50", "伍角整"),
        ("1.05", "壹元零伍分"),
        ("1680.32", "壹仟陆佰捌拾元叁角贰分"),
        ("107000.53", "壹拾万柒仟元伍角叁分"),
        ("10000100", "壹仟万零壹佰元整"),
        ("100000001", "壹亿零壹元整"),
        ("100010000", "壹亿零壹万元整"),
        ("2000000000", "贰拾亿元整"),
    ],
)
def test_capital_numerals_write_amounts_as_receipts_do(amount, words):
    assert capital_yuan(Decimal(amount)) == words


@pytest.mark.parametrize("amount", ["-1", "99999999999999999"])
def test_capital_numerals_refuse_amounts_out_of_range(amount):
    with pytest.raises(ValueError):
        capital_yuan(Decimal(amount))


def test_the_receipt_data_are_plain_values_with_number_names_words_and_amount(give, city):
    donation = give()
    data = receipt_data(donation, ISSUED)

    assert data["number"] == donation.receipt_number == "530100-2023-00001"
    assert data["unit_name"] == "昆明市总工会"
    assert data["sponsor_name"] == "美团"
    with force_locale("zh"):
        zh = gift_in_words(DonationKind.IN_KIND, "骑手健康服务季爱心礼包", Decimal(2000), "份", 0)
    with force_locale("en"):
        en = gift_in_words(DonationKind.IN_KIND, "骑手健康服务季爱心礼包", Decimal(2000), "份", 0)
    assert (data["gift_zh"], data["gift_en"]) == (zh, en)
    assert "骑手健康服务季爱心礼包" in en and "2,000" in en
    assert (data["kind_zh"], data["kind_en"]) == ("实物", "in kind")
    assert data["quantity_text"] == "2,000" and data["unit_label"] == "份"
    assert data["unit_value_text"] == "60.00"
    assert data["value"] == Decimal("120000.00") and data["total_text"] == "120,000.00"
    assert data["total_capital"] == "壹拾贰万元整"
    assert data["campaign"] == "工会驿站普惠日"
    assert (data["received_on"], data["received_zh"], data["received_en"]) == (
        "2023-11-08",
        "2023年11月8日",
        "8 November 2023",
    )
    assert (data["issued_zh"], data["issued_en"]) == ("2024年3月1日", "1 March 2024")
    assert data["confirmed_by"] == "王干事"
    assert "530100-2023-00001" in data["verify_zh"] and "530100-2023-00001" in data["verify_en"]
    assert all(
        value is None or isinstance(value, str | int | bool | Decimal) for value in data.values()
    )


def test_a_second_receipt_of_the_unit_takes_the_next_number(give):
    give()
    second = give(sponsor_name="中国电信云南分公司", kind=DonationKind.CASH, value=Decimal(5000))
    data = receipt_data(second, ISSUED)
    assert data["number"] == "530100-2023-00002"
    assert data["gift_en"] == "5,000 yuan in cash"
    assert data["quantity_text"] == "" and data["total_capital"] == "伍仟元整"


@needs_poppler
def test_the_pdf_is_one_bilingual_a4_page_with_the_number_sponsor_and_total(give, tmp_path):
    donation = give()
    document, font_pt = layout_receipt(receipt_data(donation, ISSUED))
    assert len(document.pages) == 1 and font_pt == FONT_SIZES[0]
    page = document.pages[0]
    assert (round(page.width * 25.4 / 96), round(page.height * 25.4 / 96)) == (210, 297)

    pdf = receipt_pdf(donation, ISSUED)
    assert pdf.startswith(b"%PDF-")
    text = _pdf_text(pdf, tmp_path)
    assert text.count("\f") == 1  # pdftotext ends each page with a form feed
    for expected in (
        "530100-2023-00001",
        "美团",
        "捐赠收据",
        "感谢状",
        "Donation Receipt and Certificate of Thanks",
        "120,000.00",
        "人民币壹拾贰万元整",
        "特发此据，以资感谢",
        "This receipt is issued in gratitude",
        "昆明市总工会",
        "2024年3月1日",
        "王干事",
        "Generated by Inclusive Day",
    ):
        assert expected in text, expected


@needs_poppler
def test_the_chinese_fonts_are_embedded_and_subsetted(give, tmp_path):
    fonts = _pdf_fonts(receipt_pdf(give(), ISSUED), tmp_path)
    cjk = [row for row in fonts if "CJK" in row[0]]
    assert cjk, fonts
    # name type... encoding emb sub uni: the three flags come before the object numbers.
    assert all(row[0][6] == "+" and row[-5:-2] == ["yes", "yes", "yes"] for row in cjk), cjk
    assert any(row[0].endswith("Noto-Serif-CJK-SC") for row in cjk)


@needs_poppler
def test_a_long_description_wraps_on_the_one_page(give, organiser, db, tmp_path):
    description = LONG_DESCRIPTION[:200]
    donation = give(description=description, unit_value=Decimal("35.50"))
    document, font_pt = layout_receipt(receipt_data(donation, ISSUED))
    assert len(document.pages) == 1
    assert font_pt is not None  # it fits, at some size, rather than losing its spill
    text = "".join(_pdf_text(document.write_pdf(), tmp_path).split())
    assert text.count(description[-20:]) >= 1
    assert "王干事" in text  # the last row of the table is still on the page


def test_the_longest_texts_of_every_column_still_make_one_page(
    db, make_unit, make_sponsor, make_campaign, make_user
):
    unit = make_unit(("昆明市官渡区关上街道关上中心区社区联合工会委员会" * 6)[:120], code="530111")
    sponsor = make_sponsor(unit, ("中国石油化工股份有限公司云南昆明石油分公司" * 10)[:200])
    campaign = make_campaign(unit, ("工会驿站普惠日暨户外劳动者服务季" * 15)[:200])
    organiser = make_user(display_name="张" * 120)
    fields = DonationFields(
        kind=DonationKind.IN_KIND,
        description=LONG_DESCRIPTION[:200],
        quantity=Decimal("1234567.5"),
        unit_label="份" * 20,
        value=Decimal("9876543210.99"),
        campaign=campaign,
        pledged_on=date(2024, 1, 1),
    )
    donation = receive_donation(pledge_donation(sponsor, fields, organiser), ISSUED, organiser)
    data = receipt_data(donation, ISSUED)
    assert data["sponsor_size"] == data["unit_size"] == "very-long"
    document, _font_pt = layout_receipt(data)
    assert len(document.pages) == 1


def test_a_pledged_donation_has_no_receipt_yet(give):
    donation = give(received=False)
    with pytest.raises(ReceiptError) as raised:
        receipt_data(donation)
    with pytest.raises(ReceiptError):
        receipt_pdf(donation)
    assert isinstance(raised.value, ValueError)
    with force_locale("en"):
        assert str(raised.value.message).startswith("This donation has not been received yet")


@needs_poppler
def test_an_anonymous_sponsor_s_receipt_still_names_it(give, make_sponsor, city, tmp_path):
    anonymous = make_sponsor(
        city, "陈女士", kind=SponsorKind.INDIVIDUAL, is_anonymous=True, public_name=""
    )
    donation = give(
        sponsor=anonymous, kind=DonationKind.CASH, description="腊八节爱心捐款", value=Decimal(5000)
    )
    data = receipt_data(donation, ISSUED)
    assert data["sponsor_name"] == "陈女士" and data["anonymous"] and data["individual"]
    text = _pdf_text(receipt_pdf(donation, ISSUED), tmp_path)
    assert "陈女士" in text
    assert "感谢您" in text  # a person is thanked as 您, an enterprise as 贵单位
    assert "公益爱心榜上不公开其名称" in text
    assert "5,000.00" in text and "伍仟元整" in text


@needs_poppler
def test_a_service_without_a_value_is_thanked_without_an_amount(give, tmp_path):
    donation = give(
        kind=DonationKind.SERVICE,
        description="每月定期到工会驿站公益义剪",
        quantity=Decimal(20),
        unit_label="场",
        value=Decimal(0),
    )
    data = receipt_data(donation, ISSUED)
    assert not data["valued"] and data["total_capital"] == "零元整"
    text = _pdf_text(receipt_pdf(donation, ISSUED), tmp_path)
    assert "不计价" in text and "not valued" in text
    assert "价值人民币" not in text and "worth RMB" not in text
