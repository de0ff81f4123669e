"""The public station directory: search, nearest first, station pages, map, short links."""

import json
import re
from datetime import timedelta

import pytest
from flask import url_for

from inclusive_day.activities.models import ActivityStatus
from inclusive_day.database import utcnow
from inclusive_day.stations.geo import Point, wgs84_to_gcj02
from inclusive_day.stations.models import Amenity, StationStatus
from inclusive_day.units.models import Level
from tests.conftest import count_queries

# Real places in Kunming (WGS-84), and a rider standing at Green Lake (翠湖).
GREEN_LAKE = (25.0478, 102.7035)
PLACES = {
    "五华区骑手之家": (25.0430, 102.7040),  # about 0.5 km from Green Lake
    "盘龙区北京路驿站": (25.0700, 102.7200),  # about 3 km
    "官渡区关上驿站": (25.0150, 102.7480),  # about 6 km
    "呈贡区大学城驿站": (24.8800, 102.8200),  # about 22 km
}
MAP_DATA = re.compile(
    r'<script type="application/json" id="directory-map-data">(.*?)</script>', re.S
)


def page_text(response) -> str:
    """The response body as text."""
    return response.get_data(as_text=True)


def names_in_order(html: str, names) -> list[str]:
    """The given names in the order they appear in the page."""
    return sorted((n for n in names if n in html), key=html.index)


def map_data(response) -> dict:
    """The map's JSON data block."""
    match = MAP_DATA.search(page_text(response))
    assert match, "no map data block"
    return json.loads(match.group(1))


@pytest.fixture
def tree(make_unit):
    """Kunming: a province, a city, two districts, a street and a community under the first."""
    province = make_unit("云南省总工会")
    city = make_unit("昆明市总工会", province)
    wuhua = make_unit("五华区总工会", city)
    guandu = make_unit("官渡区总工会", city)
    street = make_unit("华山街道工会", wuhua)
    community = make_unit("翠湖社区工会", street)
    return {
        "province": province,
        "city": city,
        "wuhua": wuhua,
        "guandu": guandu,
        "street": street,
        "community": community,
    }


def test_the_directory_needs_no_login(client, make_station, tree):
    make_station(tree["wuhua"], "五华区骑手之家工会驿站")
    response = client.get("/directory/")
    assert response.status_code == 200
    assert "五华区骑手之家工会驿站" in page_text(response)


def test_the_directory_speaks_chinese_by_default(app, make_station, tree):
    make_station(tree["wuhua"], "五华区骑手之家工会驿站")
    response = app.test_client().get("/directory/")
    assert response.status_code == 200
    assert '<html lang="zh-CN">' in page_text(response)


def test_search_by_name_address_or_code(client, make_station, tree):
    make_station(tree["wuhua"], "翠湖社区工会驿站", code="KM-WH-002", address="翠湖南路8号")
    make_station(tree["wuhua"], "五华区骑手之家", code="KM-WH-008", address="三市街6号")
    make_station(tree["guandu"], "关上街道工会驿站", code="KM-GD-001", address="关上北路33号")
    by_name = page_text(client.get("/directory/", query_string={"q": "骑手"}))
    assert "五华区骑手之家" in by_name
    assert "翠湖社区工会驿站" not in by_name and "关上街道工会驿站" not in by_name
    by_address = page_text(client.get("/directory/", query_string={"q": "关上北路"}))
    assert "关上街道工会驿站" in by_address and "五华区骑手之家" not in by_address
    by_code = page_text(client.get("/directory/", query_string={"q": "km-wh"}))
    assert "翠湖社区工会驿站" in by_code and "五华区骑手之家" in by_code
    assert "关上街道工会驿站" not in by_code


def test_a_percent_sign_is_searched_for_not_a_wildcard(client, make_station, tree):
    make_station(tree["wuhua"], "翠湖社区工会驿站")
    html = page_text(client.get("/directory/", query_string={"q": "%"}))
    assert "翠湖社区工会驿站" not in html
    assert "No stations match." in html


def test_search_within_a_district_covers_its_whole_subtree(client, make_station, tree):
    make_station(tree["wuhua"], "五华区骑手之家")
    make_station(tree["street"], "华山街道工会驿站")
    make_station(tree["community"], "翠湖社区工会驿站")
    make_station(tree["guandu"], "关上街道工会驿站")
    html = page_text(client.get("/directory/", query_string={"unit": tree["wuhua"].id}))
    for name in ("五华区骑手之家", "华山街道工会驿站", "翠湖社区工会驿站"):
        assert name in html
    assert "关上街道工会驿站" not in html
    street_only = page_text(client.get("/directory/", query_string={"unit": tree["street"].id}))
    assert "华山街道工会驿站" in street_only and "五华区骑手之家" not in street_only


def test_the_district_list_offers_districts_with_active_stations(client, make_station, tree):
    make_station(tree["community"], "翠湖社区工会驿站")
    make_station(tree["guandu"], "关上街道工会驿站", status=StationStatus.SUSPENDED)
    html = page_text(client.get("/directory/"))
    assert f'<option value="{tree["wuhua"].id}"' in html
    assert f'<option value="{tree["guandu"].id}"' not in html
    assert f'<option value="{tree["street"].id}"' not in html


def test_amenity_filter_needs_every_amenity_asked_for(client, make_station, tree):
    both = [Amenity.WATER, Amenity.CHARGING, Amenity.TOILET]
    make_station(tree["wuhua"], "全都有驿站", amenities=both)
    make_station(tree["wuhua"], "只有饮水驿站", amenities=[Amenity.WATER])
    make_station(tree["wuhua"], "只有充电驿站", amenities=[Amenity.CHARGING, Amenity.WIFI])
    one = page_text(client.get("/directory/?amenity=water"))
    assert "全都有驿站" in one and "只有饮水驿站" in one and "只有充电驿站" not in one
    two = page_text(client.get("/directory/?amenity=water&amenity=charging"))
    assert "全都有驿站" in two
    assert "只有饮水驿站" not in two and "只有充电驿站" not in two


def test_an_unknown_amenity_is_explained(client, make_station, tree):
    make_station(tree["wuhua"], "翠湖社区工会驿站")
    response = client.get("/directory/?amenity=jacuzzi")
    assert response.status_code == 400
    assert "is not a known amenity" in page_text(response)
    assert "翠湖社区工会驿站" in page_text(response)


def test_nearest_first_with_distances(client, make_station, tree):
    for name in ("官渡区关上驿站", "呈贡区大学城驿站", "五华区骑手之家", "盘龙区北京路驿站"):
        lat, lon = PLACES[name]
        make_station(tree["wuhua"], name, latitude=lat, longitude=lon)
    make_station(tree["wuhua"], "没有坐标的驿站")
    lat, lon = GREEN_LAKE
    response = client.get("/directory/", query_string={"lat": lat, "lon": lon})
    html = page_text(response)
    assert response.status_code == 200
    assert names_in_order(html, PLACES) == [
        "五华区骑手之家",
        "盘龙区北京路驿站",
        "官渡区关上驿站",
        "呈贡区大学城驿站",
    ]
    assert "没有坐标的驿站" not in html
    assert "nearest first" in html
    assert "540 m" in html  # 25.0478,102.7035 to 25.0430,102.7040 is 0.536 km
    assert "3.0 km" in html and "5.8 km" in html and "22 km" in html


def test_nearest_leaves_out_suspended_stations_but_lists_show_them(client, make_station, tree):
    make_station(tree["wuhua"], "五华区骑手之家", latitude=25.043, longitude=102.704)
    make_station(
        tree["wuhua"],
        "暂停的驿站",
        latitude=25.047,
        longitude=102.703,
        status=StationStatus.SUSPENDED,
    )
    near = page_text(client.get("/directory/?lat=25.0478&lon=102.7035"))
    assert "五华区骑手之家" in near and "暂停的驿站" not in near
    listed = page_text(client.get("/directory/"))
    assert names_in_order(listed, ["暂停的驿站", "五华区骑手之家"]) == [
        "五华区骑手之家",
        "暂停的驿站",
    ]
    assert "Suspended" in listed


def test_closed_stations_never_appear(client, make_station, tree):
    make_station(tree["wuhua"], "已关闭的驿站", code="KM-X-1", status=StationStatus.CLOSED)
    make_station(tree["wuhua"], "开着的驿站")
    assert "已关闭的驿站" not in page_text(client.get("/directory/"))
    assert "已关闭的驿站" not in page_text(client.get("/directory/?q=已关闭"))
    assert "已关闭的驿站" not in page_text(client.get("/directory/map"))
    assert "已关闭的驿站" not in page_text(client.get("/directory/?lat=25&lon=102.7"))
    assert client.get("/directory/stations/KM-X-1").status_code == 404
    assert client.get("/s/KM-X-1").status_code == 404


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ({"lat": "abc", "lon": "102.7"}, "The latitude must be a number from -90 to 90."),
        ({"lat": "95", "lon": "102.7"}, "The latitude must be a number from -90 to 90."),
        ({"lat": "nan", "lon": "102.7"}, "The latitude must be a number from -90 to 90."),
        ({"lat": "25", "lon": "200"}, "The longitude must be a number from -180 to 180."),
        ({"lat": "25", "lon": "1e999"}, "The longitude must be a number from -180 to 180."),
        ({"lat": "25"}, "Your location needs both a latitude and a longitude."),
        ({"unit": "99999"}, "There is no such district; choose one from the list."),
        ({"unit": "abc"}, "There is no such district; choose one from the list."),
        ({"q": "驿" * 101}, "Search for at most 100 characters."),
    ],
)
def test_bad_input_gets_a_clear_message(client, make_station, tree, query, message):
    make_station(tree["wuhua"], "翠湖社区工会驿站", latitude=25.04, longitude=102.7)
    for path in ("/directory/", "/directory/map"):
        response = client.get(path, query_string=query)
        assert response.status_code == 400
        html = page_text(response)
        assert message in html
        assert "翠湖社区工会驿站" in html  # the rest of the search still answers


def test_pages_keep_the_filters(client, make_station, tree):
    for n in range(25):
        make_station(tree["wuhua"], f"驿站{n:02d}", amenities=[Amenity.WATER, Amenity.WIFI])
    first = page_text(client.get("/directory/?amenity=water&amenity=wifi"))
    assert "25 stations" in first
    assert "amenity=water&amp;amenity=wifi" in first and "page=2" in first
    second = page_text(client.get("/directory/?amenity=water&amenity=wifi&page=2"))
    assert "驿站24" in second and "驿站00" not in second


def test_public_station_page(client, make_station, make_partner, tree):
    station = make_station(
        tree["community"],
        "翠湖社区工会驿站",
        code="KM-WH-002",
        address="云南省昆明市五华区翠湖南路8号",
        amenities=[Amenity.WATER, Amenity.CHARGING],
        open_24h=True,
        partners=[make_partner("中国电信", tree["city"])],
        services="饮水、充电、休息",
        phone="0871-63123456",
        latitude=25.0478,
        longitude=102.7035,
    )
    response = client.get("/directory/stations/KM-WH-002")
    html = page_text(response)
    assert response.status_code == 200
    for text in (
        station.name,
        station.address,
        "open 24 h, unattended",
        "Open now",
        "drinking water",
        "phone charging",
        "中国电信",
        "饮水、充电、休息",
        'href="tel:087163123456"',
        "翠湖社区工会",
        "directory-map-data",
    ):
        assert text in html, text


def test_station_page_shows_only_public_scheduled_coming_activities(
    client, make_station, make_campaign, make_activity, tree
):
    station = make_station(tree["wuhua"], "五华区骑手之家", code="KM-WH-008")
    public = make_campaign(tree["city"], "工会驿站普惠日", is_public=True)
    internal = make_campaign(tree["city"], "内部培训", is_public=False)
    now = utcnow()
    make_activity(station, public, now + timedelta(days=2), title="爱心义剪进驿站")
    make_activity(station, public, now - timedelta(minutes=30), title="正在进行的送清凉")
    make_activity(station, public, now - timedelta(days=3), title="上周的健康体检")
    make_activity(station, internal, now + timedelta(days=1), title="站长内部培训")
    make_activity(
        station,
        public,
        now + timedelta(days=4),
        title="取消的反诈宣讲",
        status=ActivityStatus.CANCELLED,
    )
    html = page_text(client.get("/directory/stations/KM-WH-008"))
    assert names_in_order(html, ["爱心义剪进驿站", "正在进行的送清凉"]) == [
        "正在进行的送清凉",
        "爱心义剪进驿站",
    ]
    assert "On now" in html
    for hidden in ("上周的健康体检", "站长内部培训", "取消的反诈宣讲"):
        assert hidden not in html
    assert "1 activity held here so far" in html


def test_station_page_lists_at_most_ten_coming_activities(
    client, make_station, make_campaign, make_activity, tree
):
    station = make_station(tree["wuhua"], code="KM-WH-009")
    campaign = make_campaign(tree["city"])
    now = utcnow()
    for day in range(12):
        make_activity(station, campaign, now + timedelta(days=day + 1), title=f"活动第{day:02d}号")
    html = page_text(client.get("/directory/stations/KM-WH-009"))
    assert "活动第09号" in html and "活动第10号" not in html


def test_suspended_station_page_says_so(client, make_station, tree):
    make_station(tree["wuhua"], "暂停的驿站", code="KM-S-1", status=StationStatus.SUSPENDED)
    response = client.get("/directory/stations/KM-S-1")
    assert response.status_code == 200
    assert "This station is suspended for now" in page_text(response)


def test_short_link_redirects_to_the_door_check_in_page(app, client, make_station, tree):
    make_station(tree["wuhua"], code="KM-WH-001")
    with app.test_request_context():
        assert url_for("directory.station_link", code="KM-WH-001") == "/s/KM-WH-001"
    response = client.get("/s/KM-WH-001")
    assert response.status_code == 302
    assert response.headers["Location"] == "/d/KM-WH-001"


def test_unknown_codes_are_not_found(client, make_station, tree):
    make_station(tree["wuhua"], code="KM-WH-001")
    for path in ("/s/NO-SUCH", "/directory/stations/NO-SUCH"):
        response = client.get(path)
        assert response.status_code == 404
        assert "No open station has the code NO-SUCH" in page_text(response)


def test_the_map_lists_every_station_below_it(client, make_station, tree):
    for name, (lat, lon) in PLACES.items():
        make_station(tree["wuhua"], name, latitude=lat, longitude=lon)
    response = client.get("/directory/map", query_string={"lat": 25.0478, "lon": 102.7035})
    html = page_text(response)
    assert response.status_code == 200
    assert "Map tiles could not load; the list below shows every station." in html
    data = map_data(response)
    assert [m["name"] for m in data["markers"]] == names_in_order(html, PLACES)
    assert all(m["url"].startswith("/directory/stations/ST-") for m in data["markers"])
    assert data["tiles"]["url"] == "https://tile.openstreetmap.org/{z}/{x}/{y}.png"
    assert data["you"] == [25.0478, 102.7035]
    for tag in re.findall(r"<script[^>]*>", html):  # no inline code: a strict CSP may forbid it
        assert " src=" in tag or 'type="application/json"' in tag, tag


def test_gcj02_tiles_shift_the_markers(app, client, make_station, tree):
    make_station(tree["wuhua"], "翠湖社区工会驿站", latitude=25.0478, longitude=102.7035)
    plain = map_data(client.get("/directory/map"))["markers"][0]["at"]
    assert plain == [25.0478, 102.7035]
    app.config["MAP_TILE_COORD_SYSTEM"] = "gcj02"
    app.config["MAP_TILE_URL"] = "https://webrd0{s}.is.autonavi.com/appmaptile?x={x}&y={y}&z={z}"
    app.config["MAP_TILE_SUBDOMAINS"] = "1234"
    data = map_data(client.get("/directory/map"))
    shifted = wgs84_to_gcj02(Point(25.0478, 102.7035))
    assert data["markers"][0]["at"] == [round(shifted.latitude, 6), round(shifted.longitude, 6)]
    assert data["markers"][0]["at"] != plain
    assert data["tiles"]["subdomains"] == "1234"
    assert "autonavi" in data["tiles"]["url"]


def test_leaflet_is_served_from_the_installed_package(client):
    response = client.get("/directory/vendor/leaflet/leaflet.js?v=1.9.3")
    assert response.status_code == 200
    assert "javascript" in response.content_type
    assert b"Leaflet" in response.data[:400]
    assert "max-age" in response.headers["Cache-Control"]
    response.close()
    css = client.get("/directory/vendor/leaflet/leaflet.css")
    assert css.status_code == 200 and b".leaflet-container" in css.data
    css.close()
    assert client.get("/directory/vendor/leaflet/../../__init__.py").status_code == 404


def _kunming_stations(make_station, tree, start: int, count: int) -> None:
    """`count` stations spread over the subtree, with amenities and coordinates."""
    units = [tree["wuhua"], tree["street"], tree["community"], tree["guandu"]]
    amenities = list(Amenity)
    for n in range(start, start + count):
        make_station(
            units[n % len(units)],
            f"驿站{n:03d}",
            amenities=amenities[n % 3 : n % 3 + 4],
            latitude=24.95 + (n % 17) * 0.01,
            longitude=102.65 + (n % 13) * 0.01,
            open_24h=n % 2 == 0,
            opening_hours="" if n % 2 == 0 else "08:00-20:00",
            status=StationStatus.SUSPENDED if n % 7 == 0 else StationStatus.ACTIVE,
        )


def test_query_count_does_not_grow_with_the_number_of_stations(
    client, db, make_station, make_campaign, make_activity, tree
):
    kinds = {
        "text": "/directory/?q=驿站",
        "district": f"/directory/?unit={tree['wuhua'].id}",
        "amenity": "/directory/?amenity=charging&amenity=microwave",
        "nearest": "/directory/?lat=25.0478&lon=102.7035",
        "everything": f"/directory/?q=驿站&unit={tree['city'].id}&amenity=charging"
        "&lat=25.0478&lon=102.7035",
        "map": "/directory/map?lat=25.0478&lon=102.7035",
        "station": "/directory/stations/{code}",
    }

    def measure() -> dict:
        counts = {}
        for kind, path in kinds.items():
            with count_queries(db.engine) as queries:
                response = client.get(path.format(code="ST-FIRST"))
            assert response.status_code == 200, kind
            counts[kind] = queries["n"]
        return counts

    first = make_station(
        tree["wuhua"], "驿站首站", code="ST-FIRST", latitude=25.04, longitude=102.7
    )
    _kunming_stations(make_station, tree, 0, 4)
    make_activity(first, make_campaign(tree["city"]), utcnow() + timedelta(days=1))
    few = measure()
    _kunming_stations(make_station, tree, 4, 45)
    campaign = make_campaign(tree["city"])
    for day in range(5):
        make_activity(first, campaign, utcnow() + timedelta(days=day + 2))
    many = measure()
    assert few == many
    # The host-type and label filters count their stations in one grouped query each; a
    # station's page asks once more, whether it has a goods-sharing shelf.
    station_page = many.pop("station")
    assert max(many.values()) <= 9
    assert station_page <= 10


def test_the_district_select_groups_districts_by_city(client, make_unit, make_station, tree):
    county = make_unit("宜良县总工会", tree["city"], level=Level.DISTRICT)
    make_station(county, "宜良县工会驿站")
    html = page_text(client.get("/directory/"))
    assert 'optgroup label="昆明市总工会"' in html
    assert f'<option value="{county.id}"' in html
