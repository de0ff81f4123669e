"""Station QR posters: the short link, one A4 page per station, Chinese fonts, the limits."""

import contextlib
import re
import zlib
from datetime import date

import pytest
from flask import url_for
from flask_babel import force_locale, gettext

from inclusive_day.auth.models import Role
from inclusive_day.stations.models import Amenity, StationStatus
from inclusive_day.stations.posters import (
    PosterError,
    poster_data,
    qr_code,
    render_document,
    render_posters,
    station_link,
    stations_for_posters,
)
from tests.conftest import count_queries

BASE = "https://yizhan.example.cn"
LONG_NAME = "中国石化春城路加油站暨建设银行白塔路支行联合共建户外劳动者爱心服务工会驿站"
LONG_ADDRESS = "云南省昆明市官渡区春城路318号加油站便利店东侧二楼（公交站下车向南步行两百米）"
LONG_PARTNER = "中国石油化工股份有限公司云南昆明石油分公司、中国建设银行股份有限公司"


@pytest.fixture
def public_base(app):
    """Posters made outside a request link to the configured public site."""
    app.config["PUBLIC_BASE_URL"] = BASE
    return BASE


@pytest.fixture
def kunming(make_unit, make_station, make_partner):
    """A district with a street under it, and stations in both (one closed)."""
    city = make_unit("昆明市总工会", make_unit("云南省总工会"))
    district = make_unit("官渡区总工会", city)
    street = make_unit("关上街道工会", district)
    stations = {
        "street": make_station(
            street,
            "关上街道工会驿站",
            code="KM-GD-001",
            address="云南省昆明市官渡区关上北路33号",
            opening_hours="09:00-21:00",
            amenities=[Amenity.WATER, Amenity.CHARGING, Amenity.MICROWAVE],
            phone="0871-63123456",
        ),
        "district": make_station(
            district,
            "中国石化春城路加油站工会驿站",
            code="KM-GD-002",
            open_24h=True,
            partners=[make_partner("中国石化", city)],
            amenities=[Amenity.TOILET],
        ),
        "suspended": make_station(
            district, "吴井街道工会驿站", code="KM-GD-003", status=StationStatus.SUSPENDED
        ),
        "closed": make_station(
            street, "东站社区工会驿站", code="KM-GD-004", status=StationStatus.CLOSED
        ),
        "elsewhere": make_station(make_unit("五华区总工会", city), "华山街道工会驿站"),
    }
    return district, street, stations


def _expand(pdf: bytes) -> bytes:
    """The PDF with every compressed stream (object streams included) appended, inflated."""
    parts = [pdf]
    for match in re.finditer(rb"stream\r?\n", pdf):
        with contextlib.suppress(zlib.error):
            parts.append(zlib.decompressobj().decompress(pdf[match.end() :]))
    return b"\n".join(parts)


def _body_fill(document) -> list[float]:
    """For each page, how much of the fixed details zone its content uses (1.0 = full).

    Reads WeasyPrint's layout tree (`_page_box`, not public API) to catch text that the
    zone's `overflow: hidden` would silently cut off."""
    fills = []
    for page in document.pages:
        for box in page._page_box.descendants():
            element = getattr(box, "element", None)
            if box.element_tag == "div" and element is not None and element.get("class") == "body":
                last = box.children[-1]
                bottom = last.position_y + last.margin_height() - box.content_box_y()
                fills.append(bottom / box.height)
                break
    return fills


def test_the_link_is_built_on_the_public_base_url(app, public_base):
    app.config["PUBLIC_BASE_URL"] = BASE + "/"
    assert station_link("KM-GD-001") == f"{BASE}/s/KM-GD-001"
    assert station_link("a b/c") == f"{BASE}/s/a%20b%2Fc"


def test_without_a_base_url_the_link_follows_the_request_host(app):
    with app.test_request_context("/stations/1/poster.pdf", base_url="http://yizhan.test/"):
        assert station_link("KM-GD-001") == "http://yizhan.test/s/KM-GD-001"


def test_without_a_base_url_or_a_request_the_link_cannot_be_made(app):
    app.config.pop("PUBLIC_BASE_URL", None)
    with pytest.raises(PosterError, match="PUBLIC_BASE_URL"):
        station_link("KM-GD-001")


def test_the_qr_code_encodes_the_short_link_scannably(public_base, kunming):
    _district, _street, stations = kunming
    [data] = poster_data([stations["street"]])
    assert data["link"] == f"{BASE}/s/KM-GD-001"
    code = qr_code(data["link"])
    assert (code.error, code.is_micro) == ("H", False)
    # The QR drawn on the poster is the QR of exactly that link.
    expected = qr_code(f"{BASE}/s/KM-GD-001")
    assert code.matrix == expected.matrix
    assert data["qr"] == expected.svg_data_uri(dark="#000", light="#fff", border=4, scale=10)
    assert data["qr"].startswith("data:image/svg+xml")


def test_poster_data_are_plain_chinese_values(public_base, kunming):
    _district, _street, stations = kunming
    street, district = poster_data([stations["street"], stations["district"]], date(2024, 1, 18))
    assert street["name"] == "关上街道工会驿站"
    assert street["unit_line"] == "官渡区总工会 · 关上街道工会"
    assert district["unit_line"] == "昆明市总工会 · 官渡区总工会"
    assert street["amenities"] == ["饮用水", "手机充电", "微波炉"]
    details = {d["label"]: d["value"] for d in street["details"]}
    with force_locale("zh"):
        assert details == {
            "地址": "云南省昆明市官渡区关上北路33号",
            "开放时间": gettext("Daily %(periods)s", periods="09:00–21:00"),
            gettext("Contact phone"): "0871-63123456",
        }
        hours = {d["label"]: d["value"] for d in district["details"]}["开放时间"]
        assert hours == gettext("Open 24 hours")
        assert {d["label"]: d["value"] for d in district["details"]}["共建单位"] == "中国石化"
    assert street["printed"] == "2024年1月18日"
    for poster in (street, district):
        for value in poster.values():
            assert isinstance(value, str | int | float | bool | list)


def test_hours_that_cannot_be_read_do_not_stop_the_poster(public_base, make_station):
    station = make_station(opening_hours="")
    [data] = poster_data([station])
    assert "开放时间" not in {d["label"] for d in data["details"]}


def test_a_unit_pdf_has_one_a4_page_per_station_with_cjk_fonts_embedded(public_base, kunming):
    district, _street, _stations = kunming
    stations = stations_for_posters(district)
    document = render_document(stations)
    assert len(document.pages) == len(stations) == 3
    assert all(
        (round(page.width * 25.4 / 96), round(page.height * 25.4 / 96)) == (210, 297)
        for page in document.pages
    )
    pdf = render_posters(stations)
    assert pdf.startswith(b"%PDF-")
    content = _expand(pdf)
    assert len(re.findall(rb"/Type\s*/Page\b(?!s)", content)) == 3
    assert re.search(rb"/FontFile[23]?\b", content)
    assert re.search(rb"/FontName\s*/[A-Z]{6}\+Noto-Sans-CJK-SC", content)


def test_posters_come_in_subtree_order_without_closed_stations(db, public_base, kunming):
    district, street, stations = kunming
    found = stations_for_posters(district)
    assert [s.code for s in found] == ["KM-GD-002", "KM-GD-003", "KM-GD-001"]
    assert [s.code for s in stations_for_posters(street)] == ["KM-GD-001"]


def test_loading_a_unit_s_posters_takes_a_fixed_number_of_queries(
    db, public_base, kunming, make_unit, make_station
):
    district, street, _stations = kunming

    def queries() -> int:
        db.session.expire_all()
        with count_queries(db.engine) as n:
            poster_data(stations_for_posters(district))
        return n["n"]

    before = queries()
    for i in range(4):
        community = make_unit(f"社区{i}", street)
        make_station(community, amenities=[Amenity.WATER, Amenity.BOOKS])
    assert queries() == before


def test_too_many_stations_are_refused_with_a_clear_message(app, public_base, kunming):
    district, _street, stations = kunming
    app.config["POSTER_BATCH_MAX"] = 2
    with force_locale("en"), pytest.raises(PosterError, match="More than 2 stations"):
        stations_for_posters(district)
    with pytest.raises(PosterError):
        render_posters([stations["street"], stations["district"], stations["suspended"]])
    assert render_posters([stations["street"], stations["district"]]).startswith(b"%PDF")


def test_no_station_no_pdf(public_base, make_unit):
    empty = make_unit("空工会")
    assert stations_for_posters(empty) == []
    with pytest.raises(PosterError):
        render_posters([])


def test_the_longest_texts_still_fit_one_page(public_base, make_unit, make_station, make_partner):
    parent = make_unit("昆明市官渡区关上街道关上中心区社区联合工会委员会" * 3)
    unit = make_unit("中国石油化工股份有限公司云南昆明石油分公司工会委员会" * 3, parent)
    longest = make_station(
        unit,
        (LONG_NAME * 4)[:120],
        code="KM-GD-LONGEST-0123456789-ABCDEF",
        address=(LONG_ADDRESS * 6)[:255],
        phone="0871-63123456 / 13800138000",
        opening_hours="06:00-09:00, 11:00-14:00, 17:00-20:00, 22:00-02:00",
        partners=[
            make_partner(f"{name}第{i}分公司", parent)
            for i in range(3)
            for name in LONG_PARTNER.split("、")
        ],
        amenities=list(Amenity),
    )
    short = make_station(unit, "驿站", amenities=[Amenity.WATER])
    document = render_document([longest, short, longest])
    assert len(document.pages) == 3
    fills = _body_fill(document)
    assert len(fills) == 3 and all(0.3 < fill <= 1.0 for fill in fills)
    [data, small, _] = poster_data([longest, short, longest])
    assert data["name_pt"] < small["name_pt"]


def test_the_printed_link_is_the_directory_s_short_link_route(app):
    """Posters build /s/<code> by hand (no route needed to print); it must stay that route."""
    app.config.pop("PUBLIC_BASE_URL", None)
    with app.test_request_context("/", base_url="https://yizhan.example.cn/"):
        assert station_link("KM-GD-001") == url_for(
            "directory.station_link", code="KM-GD-001", _external=True
        )


def test_an_activity_page_shows_its_check_in_qr_link_and_a_printable_sheet(
    client, db, login, make_activity, make_user
):
    activity = make_activity(title="腊八粥暖心送")
    token = activity.checkin_token
    login(make_user(Role.ORGANISER, on=activity.station.unit))
    page = client.get(f"/activities/{activity.id}").get_data(as_text=True)
    assert f"/c/{token}" in page and "data:image/svg+xml" in page
    assert f"/activities/{activity.id}/checkin-sheet.pdf" in page
    sheet = client.get(f"/activities/{activity.id}/checkin-sheet.pdf")
    assert sheet.status_code == 200 and sheet.mimetype == "application/pdf"
    content = _expand(sheet.data)
    assert len(re.findall(rb"/Type\s*/Page\b(?!s)", content)) == 1
    assert re.search(rb"/FontName\s*/[A-Z]{6}\+Noto-Sans-CJK-SC", content)
