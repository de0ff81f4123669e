"""Donation receipts (捐赠收据 · 感谢状): one numbered, bilingual A4 page for a received gift.

The page is both the accounting record of what arrived (number, date, what and how much,
worth in yuan with the amount in capital numerals, who confirmed it) and a certificate of
thanks the giver can frame. The sponsor's unit issues it under the number that
`receive_donation` gave the gift.

The document always carries both languages, Chinese first and English beneath. Its wording
is therefore fixed text here and in templates/pdf/receipt.html, deliberately not run through
gettext: whoever prints it, in whichever language the site speaks to them, gets the same
two-language page. Only the gift itself is worded by `gift_in_words` (asked once in each
language), and only the error a user may see (a pledge has no receipt yet) is translated.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from functools import cache

from babel.dates import format_date as babel_date
from flask import render_template
from flask_babel import force_locale
from flask_babel import lazy_gettext as _l
from weasyprint import Document
from weasyprint.text.fonts import FontConfiguration

from inclusive_day.auth.models import User
from inclusive_day.extensions import db
from inclusive_day.i18n import money
from inclusive_day.pdfs import glyph_outlines, html_document, release_render_memory, write_pdf
from inclusive_day.periods import local_today
from inclusive_day.sponsors.models import Donation, DonationKind, DonationStatus, SponsorKind
from inclusive_day.sponsors.words import gift_in_words, quantity_text

TEMPLATE = "pdf/receipt.html"
# The content's base size in pt, largest first (templates/pdf/_receipt.css sizes it in em).
FONT_SIZES = (11.0, 10.0, 9.0, 8.0, 7.0)
CENT = Decimal("0.01")

# Fixed bilingual labels: the document always shows both (see the module docstring).
KIND_WORDS = {
    DonationKind.CASH: ("现金", "cash"),
    DonationKind.IN_KIND: ("实物", "in kind"),
    DonationKind.SERVICE: ("服务", "service"),
}

# A gift in words longer than this is not repeated in the thank-you paragraphs, which then
# point to the table instead, so that a long description cannot push the page to a second.
GIFT_IN_TEXT_MAX = 60
# Names longer than these are set smaller (classes in templates/pdf/_receipt.css).
SPONSOR_NAME_LONG, SPONSOR_NAME_VERY_LONG = 18, 40
UNIT_NAME_LONG, UNIT_NAME_VERY_LONG = 10, 40

# The decorative mark of thanks beside the issuer's name: words of thanks around a ring with
# a star. It is deliberately not a seal: no unit name, no official wording, and it is set
# beside the name rather than stamped over it.
MARK_TOP, MARK_BOTTOM = "衷心感谢 · THANK YOU", "INCLUSIVE DAY"
MARK_WORDS = f"{MARK_TOP} · {MARK_BOTTOM}"  # the mark's title, as its letters are shapes
MARK_CENTRE, MARK_RADIUS = 60.0, 44.0  # in the units of the mark's 120 x 120 SVG viewBox
MARK_FONT, MARK_FONT_SIZE = "Noto Sans CJK SC:bold", 8.2  # the letters' size in those units
MARK_EM = MARK_FONT_SIZE * 1.12  # the letters' size with a little tracking

DIGITS = "零壹贰叁肆伍陆柒捌玖"
PLACES = ("", "拾", "佰", "仟")
GROUPS = ("", "万", "亿", "万亿")
CAPITAL_MAX = Decimal("9999999999999999.99")


class ReceiptError(ValueError):
    """A receipt that cannot be made; the message says why, in the user's language."""

    def __init__(self, message):
        super().__init__(message)
        self.message = message


def _group_words(number: int) -> str:
    """A number below 10,000 in capital numerals, zeros between digits said once."""
    words, zero = [], False
    for place in range(3, -1, -1):
        digit = number // 10**place % 10
        if digit == 0:
            zero = bool(words)
            continue
        if zero:
            words.append(DIGITS[0])
            zero = False
        words.append(DIGITS[digit] + PLACES[place])
    return "".join(words)


def capital_yuan(amount: Decimal) -> str:
    """An amount of yuan in the capital numerals of Chinese receipts and cheques (大写金额):
    100000 is 壹拾万元整, 50000.50 is 伍万元伍角整, 1.05 is 壹元零伍分."""
    amount = Decimal(amount).quantize(CENT, rounding=ROUND_HALF_UP)
    if amount < 0 or amount > CAPITAL_MAX:
        raise ValueError(f"no capital numerals for {amount}")
    yuan, cents = divmod(int(amount * 100), 100)
    jiao, fen = divmod(cents, 10)
    words = []
    groups = [yuan // 10_000**i % 10_000 for i in range(len(GROUPS))]
    zero = False
    for index in range(len(GROUPS) - 1, -1, -1):
        group = groups[index]
        if group == 0:
            zero = bool(words)
            continue
        if words and (zero or group < 1000):
            words.append(DIGITS[0])
        words.append(_group_words(group) + GROUPS[index])
        zero = False
    if words:
        words.append("元")
    if jiao:
        words.append(DIGITS[jiao] + "角")
    if fen:
        if words and not jiao:
            words.append(DIGITS[0])
        words.append(DIGITS[fen] + "分")
    if not words:
        return "零元整"
    if not fen:
        words.append("整")
    return "".join(words)


def date_zh(day: date) -> str:
    """A date as Chinese documents write it: 2024年1月20日."""
    return f"{day.year}年{day.month}月{day.day}日"


def date_en(day: date) -> str:
    """A date in English, day first as on a certificate: 20 January 2024."""
    return babel_date(day, "d MMMM y", locale="en")


def _em(letter: str) -> float:
    """A letter's advance in ems: CJK 1, spaces and I narrow, other Latin capitals between."""
    return 1.0 if ord(letter) >= 0x2E80 else 0.38 if letter in " I" else 0.68


def _arc(words: str, top: bool) -> list[tuple[str, float, float, float]]:
    """Letters of `words` centred on the top of the ring (clockwise) or its bottom
    (anticlockwise, turned upright so that they read left to right)."""
    step = MARK_EM / MARK_RADIUS  # radians per em along the ring
    span = sum(_em(letter) for letter in words) * step
    letters, along = [], -span / 2
    for letter in words:
        middle = along + _em(letter) * step / 2
        along += _em(letter) * step
        if letter == " ":
            continue
        # Angles from the top of the ring, clockwise; the bottom arc runs the other way.
        angle = middle if top else math.pi - middle
        x = MARK_CENTRE + MARK_RADIUS * math.sin(angle)
        y = MARK_CENTRE - MARK_RADIUS * math.cos(angle)
        degrees = math.degrees(angle) + (0 if top else 180)
        letters.append((letter, round(x, 2), round(y, 2), round(degrees, 1)))
    return letters


@dataclass(frozen=True)
class MarkLetter:
    """A letter of the mark's ring: its centre and turn and, when the font could be read, its
    shape (SVG path data in font units) with the transform that sets it there."""

    letter: str
    x: float
    y: float
    degrees: float
    path: str = ""
    transform: str = ""


@cache
def mark_letters() -> tuple[MarkLetter, ...]:
    """The letters of the mark's ring, placed one by one (WeasyPrint lays no text along an
    SVG textPath) and drawn as shapes: the mark is a decoration, and letters set as text
    would be read out, or extracted, in among the table's words. Set as text (as before)
    only where the font's outlines cannot be read."""
    placed = _arc(MARK_TOP, top=True) + _arc(MARK_BOTTOM, top=False)
    outlines = glyph_outlines(MARK_FONT, MARK_TOP + MARK_BOTTOM)
    if outlines is None:
        return tuple(MarkLetter(*letter) for letter in placed)
    letters = []
    for letter, x, y, degrees in placed:
        shape = outlines[letter]
        scale = MARK_FONT_SIZE / shape.units_per_em
        # Centred on its place like text-anchor="middle" dominant-baseline="central"; font
        # units run up, the SVG's down.
        transform = (
            f"translate({x} {y}) rotate({degrees}) scale({scale:.6f} {-scale:.6f}) "
            f"translate({-shape.advance / 2:g} {-shape.central:g})"
        )
        letters.append(MarkLetter(letter, x, y, degrees, shape.path, transform))
    return tuple(letters)


def _size(text: str, long: int, very_long: int) -> str:
    """The stylesheet's size class for a name of this length."""
    return "very-long" if len(text) > very_long else "long" if len(text) > long else ""


def _confirmed_by(donation: Donation) -> str:
    if donation.received_by_id is None:
        return ""
    user = db.session.get(User, donation.received_by_id)
    if user is None:
        return ""
    return user.display_name.strip() or user.username


def _gift_words(donation: Donation, locale: str) -> str:
    with force_locale(locale):
        return gift_in_words(
            donation.kind,
            donation.description,
            donation.quantity,
            donation.unit_label,
            donation.value,
        )


def receipt_data(donation: Donation, issued_on: date | None = None) -> dict:
    """Plain values for a received donation's receipt; ReceiptError while it is only pledged.

    `issued_on` is the date the receipt is issued (printed), today in China unless given.
    """
    if donation.status is DonationStatus.PLEDGED or not donation.receipt_number:
        raise ReceiptError(
            _l("This donation has not been received yet: it gets a receipt once it arrives.")
        )
    sponsor = donation.sponsor
    issued_on = issued_on or local_today()
    valued = donation.value > 0
    kind_zh, kind_en = KIND_WORDS[donation.kind]
    counted = donation.quantity is not None
    gift_zh, gift_en = _gift_words(donation, "zh"), _gift_words(donation, "en")
    sponsor_name = sponsor.name.strip()
    unit_name = sponsor.unit.name.strip()
    return {
        "number": donation.receipt_number,
        "unit_name": unit_name,
        "unit_size": _size(unit_name, UNIT_NAME_LONG, UNIT_NAME_VERY_LONG),
        "sponsor_name": sponsor_name,
        "sponsor_size": _size(sponsor_name, SPONSOR_NAME_LONG, SPONSOR_NAME_VERY_LONG),
        # The receipt names the giver even when the public honour roll keeps it anonymous.
        "anonymous": sponsor.is_anonymous,
        "individual": sponsor.kind is SponsorKind.INDIVIDUAL,
        "kind": donation.kind.value,
        "kind_zh": kind_zh,
        "kind_en": kind_en,
        "description": donation.description.strip(),
        "gift_zh": gift_zh,
        "gift_en": gift_en,
        "gift_in_text": max(len(gift_zh), len(gift_en)) <= GIFT_IN_TEXT_MAX,
        "quantity": donation.quantity,
        "quantity_text": quantity_text(donation.quantity) if counted else "",
        "unit_label": donation.unit_label if counted else "",
        "unit_value": donation.unit_value,
        "unit_value_text": money(donation.unit_value) if donation.unit_value else "",
        "value": donation.value,
        "valued": valued,
        "total_text": money(donation.value),
        "total_capital": capital_yuan(donation.value),
        "campaign": donation.campaign.name.strip() if donation.campaign is not None else "",
        "station": donation.station.name.strip() if donation.station is not None else "",
        "received_on": donation.received_on.isoformat(),
        "received_zh": date_zh(donation.received_on),
        "received_en": date_en(donation.received_on),
        "issued_on": issued_on.isoformat(),
        "issued_zh": date_zh(issued_on),
        "issued_en": date_en(issued_on),
        "confirmed_by": _confirmed_by(donation),
        "verify_zh": f"如需核验，请向开具单位提供本收据编号 {donation.receipt_number}。",
        "verify_en": (
            f"To verify this receipt, quote its number {donation.receipt_number} "
            "to the issuing unit."
        ),
    }


def layout_receipt(data: dict) -> tuple[Document, float | None]:
    """Lay out a receipt from `receipt_data` on one A4 page, and say at which content size.

    The texts are set at the largest of FONT_SIZES at which the page holds them all: long
    names and descriptions wrap and get smaller rather than run onto a second page. The size
    is None when even the smallest spilled over; only texts far beyond their columns' lengths
    do, and then the first page is kept and the spill dropped.
    """
    fonts = FontConfiguration()
    for font_pt in FONT_SIZES:
        html = render_template(
            TEMPLATE, r=data, mark=mark_letters(), mark_words=MARK_WORDS, font_pt=font_pt
        )
        document = html_document(html).render(font_config=fonts)
        if len(document.pages) == 1:
            return document, font_pt
    return document.copy(document.pages[:1]), None


def receipt_pdf(donation: Donation, issued_on: date | None = None) -> bytes:
    """The numbered bilingual receipt and certificate of thanks for a received donation."""
    document, _font_pt = layout_receipt(receipt_data(donation, issued_on))
    data = write_pdf(document)
    del document
    release_render_memory()
    return data
