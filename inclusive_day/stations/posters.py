"""Printable A4 QR posters for post stations, one page each, always in Chinese.

The QR code holds the station's permanent short link (/s/<code>), which the directory
sends on to the station's public or check-in page, so a poster on the wall never needs
reprinting when those pages move.
"""

from __future__ import annotations

import base64
import io
from collections.abc import Sequence
from datetime import date, datetime
from functools import cache
from urllib.parse import quote

import segno
from flask import current_app, has_request_context, render_template, request
from flask_babel import force_locale, format_date, get_timezone
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from PIL import Image, ImageDraw  # Pillow comes with WeasyPrint
from sqlalchemy import select
from sqlalchemy.orm import joinedload, selectinload
from weasyprint import Document
from weasyprint.text.fonts import FontConfiguration

from inclusive_day.activities.models import Activity
from inclusive_day.extensions import db
from inclusive_day.pdfs import html_document, release_render_memory, write_pdf
from inclusive_day.periods import local_moment
from inclusive_day.stations.hours import HoursError
from inclusive_day.stations.models import Station, StationStatus
from inclusive_day.units.models import Unit, under

POSTER_LOCALE = "zh"
DEFAULT_BATCH_MAX = 500
TEMPLATE = "pdf/station_poster.html"
BRAND_RED = (200, 16, 46)  # #c8102e

# The details zone of the poster (templates/pdf/_poster.css, .body) is a fixed box, so that
# the QR panel always sits at the same place. Its texts are set as large as fits that box:
# the sizes below mirror the stylesheet, and `_fit` picks the first scale whose estimated
# height fits. Keep the two in step.
MM_PER_PT = 25.4 / 72
BODY_WIDTH_MM, BODY_HEIGHT_MM = 180.0, 106.0
FIT_HEIGHT_MM = BODY_HEIGHT_MM * 0.94  # room for the estimate being a little short
BODY_PT = 14.0
SCALES = (1.15, 1.08, 1.0, 0.9, 0.8, 0.72, 0.64, 0.56, 0.5)
# Station names are set smaller as they grow: (at most this many characters, size in pt).
NAME_SIZES = ((10, 36.0), (16, 30.0), (26, 24.0), (44, 19.0))
NAME_SMALLEST_PT = 15.0
# A name that fits one line at this size or more is set on one line rather than wrapped
# with a character or two left over.
NAME_ONE_LINE_MIN_PT = 20.0
LONG_TEXT = 60  # a detail longer than this is set at LONG_SCALE of the body size
LONG_SCALE = 0.8
LABEL_EM = 5.8  # width of the detail labels' column
AMENITIES_PER_ROW = 5
UNIT_LINE_LONG, UNIT_LINE_MAX = 40, 90  # the band holds one line of 14 pt or two of 10.5 pt


class PosterError(ValueError):
    """Posters that cannot be made; the message says why, in the user's language."""

    def __init__(self, message):
        super().__init__(message)
        self.message = message


def station_link(code: str) -> str:
    """The absolute permanent short link (/s/<code>) a station's QR code opens."""
    return public_link(f"/s/{quote(code, safe='')}")


def public_link(path: str) -> str:
    """The absolute address of a path of the site (PUBLIC_BASE_URL, else this request's)."""
    base = current_app.config.get("PUBLIC_BASE_URL")
    if not base and has_request_context():
        base = request.url_root
    if not base:
        raise PosterError(
            _l(
                "Set PUBLIC_BASE_URL (for example https://yizhan.example.cn) so that "
                "posters printed outside a web request know the site's address."
            )
        )
    return f"{base.rstrip('/')}/{path.lstrip('/')}"


def qr_code(link: str) -> segno.QRCode:
    """The QR code of a link: a full QR (never Micro QR), high error correction."""
    return segno.make_qr(link, error="h", boost_error=True)


def qr_image(link: str) -> str:
    """The QR code of a link as an SVG data URI, for an <img> on a page or a poster."""
    return qr_code(link).svg_data_uri(dark="#000", light="#fff", border=4, scale=10)


def batch_max() -> int:
    """The most stations one poster PDF may hold (config POSTER_BATCH_MAX)."""
    return int(current_app.config.get("POSTER_BATCH_MAX", DEFAULT_BATCH_MAX))


def _check_batch(count: int) -> None:
    limit = batch_max()
    if count > limit:
        raise PosterError(
            _l(
                "More than %(max)d stations: too many for one poster file. "
                "Print the posters of each union unit below this one instead.",
                max=limit,
            )
        )


def stations_for_posters(unit: Unit) -> list[Station]:
    """The active and suspended stations of `unit`'s subtree, by unit path then code, loaded
    with their units (and parents) and amenities in a fixed number of queries."""
    stations = db.session.scalars(
        select(Station)
        .join(Station.unit)
        .where(
            under(Unit.path, unit.path),
            Station.status.in_((StationStatus.ACTIVE, StationStatus.SUSPENDED)),
        )
        .order_by(Unit.path, Station.code)
        .options(
            joinedload(Station.unit).joinedload(Unit.parent),
            selectinload(Station.amenity_rows),
            selectinload(Station.partners),
        )
        .limit(batch_max() + 1)
    ).all()
    _check_batch(len(stations))
    return list(stations)


def _text_width(text: str) -> float:
    """Width of `text` in ems: CJK and full-width characters 1, the rest about 0.6."""
    return sum(1.0 if ord(c) >= 0x2E80 else 0.6 for c in text)


def _lines(text: str, size_pt: float, width_mm: float) -> int:
    per_line = max(1, int(width_mm / (size_pt * MM_PER_PT)))
    return max(1, -(-int(_text_width(text) + 0.999) // per_line))


def _name_pt(name: str, scale: float) -> float:
    size = next((pt for limit, pt in NAME_SIZES if len(name) <= limit), NAME_SMALLEST_PT) * scale
    one_line = BODY_WIDTH_MM * 0.97 / (max(_text_width(name), 1.0) * MM_PER_PT)
    return min(size, one_line) if one_line >= NAME_ONE_LINE_MIN_PT else size


def _height_mm(name: str, details: list[tuple[str, str]], amenities: int, scale: float) -> float:
    """Estimated height of the details zone at `scale`, mirroring _poster.css."""
    name_pt, body_pt = _name_pt(name, scale), BODY_PT * scale
    height = _lines(name, name_pt, BODY_WIDTH_MM) * name_pt * MM_PER_PT * 1.2 + 8.9
    value_width = BODY_WIDTH_MM - LABEL_EM * body_pt * MM_PER_PT
    for _label, value in details:
        size = body_pt * (LONG_SCALE if len(value) > LONG_TEXT else 1)
        height += _lines(value, size, value_width) * size * MM_PER_PT * 1.45 + 1.6
    if amenities:
        height += body_pt * MM_PER_PT * (1.45 + 1.35)  # the heading and its margins
        rows = -(-amenities // AMENITIES_PER_ROW)
        height += rows * (0.93 * body_pt * MM_PER_PT * (1.5 + 0.8 + 0.5) + 0.7)
    return height


def _fit(name: str, details: list[tuple[str, str]], amenities: int) -> float:
    for scale in SCALES:
        if _height_mm(name, details, amenities, scale) <= FIT_HEIGHT_MM:
            return scale
    return SCALES[-1]


def _hours_text(station: Station) -> str:
    try:
        hours = station.hours
    except HoursError:  # stored before the rule existed, or left empty: print it as it is
        return station.opening_hours.strip()
    if hours.open_24h:
        return _("Open 24 hours")
    periods = "、".join(f"{a:%H:%M}–{b:%H:%M}" for a, b in hours.periods)
    return _("Daily %(periods)s", periods=periods)


def _unit_line(unit: Unit) -> str:
    """The station's unit after its parent ("官渡区总工会 · 关上街道工会"); the unit alone when
    both together would not fit the band."""
    if unit.parent is None or len(unit.parent.name) + len(unit.name) > UNIT_LINE_MAX:
        return unit.name
    return f"{unit.parent.name} · {unit.name}"


def _poster(station: Station, printed: str) -> dict:
    link = station_link(station.code)
    details = [
        (label, value)
        for label, value in (
            (_("Address"), station.address.strip()),
            (_("Opening hours"), _hours_text(station)),
            (_("Contact phone"), station.phone.strip()),
            (_("Co-building partner"), station.partner_names),
        )
        if value
    ]
    amenities = [str(a.label) for a in station.amenities]
    page = _page(station.code, station.name, _unit_line(station.unit), details, amenities, link)
    page["printed"] = printed
    return page


def _page(
    code: str,
    name: str,
    unit_line: str,
    details: list[tuple[str, str]],
    amenities: list[str],
    link: str,
    steps: Sequence[str] = (),
) -> dict:
    """One poster page's plain values: its texts set as large as fit, and its QR code."""
    scale = _fit(name, details, len(amenities))
    return {
        "code": code,
        "name": name,
        "name_pt": round(_name_pt(name, scale), 1),
        "body_pt": round(BODY_PT * scale, 1),
        "unit_line": unit_line,
        "unit_long": len(unit_line) > UNIT_LINE_LONG,
        "details": [
            {"label": label, "value": value, "long": len(value) > LONG_TEXT}
            for label, value in details
        ],
        "amenities": amenities,
        "link": link,
        "qr": qr_image(link),
        "steps": list(steps),
    }


def poster_data(stations: Sequence[Station], printed_on: date | None = None) -> list[dict]:
    """Plain values (Chinese text, short link, QR as an SVG data URI) for each station's poster."""
    with force_locale(POSTER_LOCALE):
        day = printed_on or datetime.now(get_timezone()).date()
        printed = format_date(day, "long")
        return [_poster(station, printed) for station in stations]


@cache
def tick_icon() -> str:
    """The amenity tick (white on brand red) as a PNG data URI, drawn once per process."""
    size, oversample = 96, 4
    big = size * oversample
    image = Image.new("RGBA", (big, big), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    draw.ellipse((0, 0, big - 1, big - 1), fill=BRAND_RED)
    k = big / 20  # the tick's coordinates are on a 20 x 20 grid
    draw.line(
        [(5.5 * k, 10.5 * k), (8.5 * k, 13.5 * k), (14.5 * k, 6.5 * k)],
        fill="white",
        width=round(2.2 * k),
        joint="curve",
    )
    buffer = io.BytesIO()
    image.resize((size, size), Image.Resampling.LANCZOS).save(buffer, "PNG", optimize=True)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def render_document(stations: Sequence[Station], printed_on: date | None = None) -> Document:
    """Lay out the posters of `stations`, one A4 page each, as a WeasyPrint document."""
    if not stations:
        raise PosterError(_l("There is no station to print a poster for."))
    _check_batch(len(stations))
    posters = poster_data(stations, printed_on)
    with force_locale(POSTER_LOCALE):
        html = render_template(TEMPLATE, posters=posters, tick=tick_icon())
    return html_document(html).render(font_config=FontConfiguration())


def checkin_sheet(activity: Activity, link: str, printed_on: date | None = None) -> bytes:
    """An activity's A4 "scan to check in" sheet: the station poster's page, in Chinese, with
    the activity's title, time and place, and the QR code of its check-in `link`."""
    station = activity.station
    with force_locale(POSTER_LOCALE):
        start, end = local_moment(activity.starts_at), local_moment(activity.ends_at)
        details = [
            (_("Time"), f"{format_date(start.date(), 'long')} {start:%H:%M}–{end:%H:%M}"),
            (_("Station"), station.name),
            (_("Address"), station.address.strip()),
        ]
        steps = [
            _("Scan the code with WeChat or the camera"),
            _("Choose who you are"),
            _("Enter your phone number: you are checked in"),
        ]
        page = _page(
            station.code,
            activity.title,
            _unit_line(station.unit),
            [(label, value) for label, value in details if value],
            [],
            link,
            steps,
        )
        page["printed"] = format_date(printed_on or datetime.now(get_timezone()).date(), "long")
        html = render_template(TEMPLATE, posters=[page], tick=tick_icon())
    data = html_document(html).render(font_config=FontConfiguration()).write_pdf()
    release_render_memory()
    return data


def render_posters(stations: Sequence[Station], printed_on: date | None = None) -> bytes:
    """One PDF with an A4 poster page for each station, fonts embedded."""
    data = write_pdf(render_document(stations, printed_on))
    release_render_memory()
    return data
