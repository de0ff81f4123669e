"""The public stations as files for map platforms: GeoJSON, KML and a bulk-import CSV."""

import csv
import io
import json
import re
import xml.etree.ElementTree as ET

import pytest

from inclusive_day.stations.geo import Point, wgs84_to_gcj02
from inclusive_day.stations.models import Amenity, HostType, Label, StationStatus
from inclusive_day.stations.queries import by_code
from inclusive_day.stations.services import award_label
from tests.conftest import count_queries

KML = "{http://www.opengis.net/kml/2.2}"
# Green Lake (翠湖), Kunming, in WGS-84: longitude about 102.7, latitude about 25.0.
GREEN_LAKE = (25.0478, 102.7035)
FILES = ("/directory/stations.geojson", "/directory/stations.kml", "/directory/stations.csv")


@pytest.fixture
def tree(make_unit):
    """Kunming: a city, two districts, a street under the first."""
    city = make_unit("昆明市总工会", make_unit("云南省总工会"))
    wuhua = make_unit("五华区总工会", city)
    return {
        "city": city,
        "wuhua": wuhua,
        "guandu": make_unit("官渡区总工会", city),
        "street": make_unit("华山街道工会", wuhua),
    }


@pytest.fixture
def green_lake(make_station, tree):
    """An open station at Green Lake with hours, phone and amenities."""
    lat, lon = GREEN_LAKE
    return make_station(
        tree["street"],
        "翠湖社区工会驿站",
        code="KM-WH-002",
        address="云南省昆明市五华区翠湖南路8号",
        phone="0871-63123456",
        opening_hours="08:00-20:00",
        amenities=[Amenity.WATER, Amenity.CHARGING],
        latitude=lat,
        longitude=lon,
    )


def geojson(client, query="") -> dict:
    """The GeoJSON file of a search, parsed."""
    response = client.get(f"/directory/stations.geojson{query}")
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.mimetype == "application/geo+json"
    return json.loads(response.data)


def kml(client, query=""):
    """The KML file of a search: its root element."""
    response = client.get(f"/directory/stations.kml{query}")
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.mimetype == "application/vnd.google-earth.kml+xml"
    return ET.fromstring(response.data)


def csv_rows(client, query="") -> list[dict]:
    """The bulk-import CSV of a search, read as the csv module reads it."""
    response = client.get(f"/directory/stations.csv{query}")
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert response.data.startswith("\ufeff".encode())  # Excel and WPS read it as UTF-8
    return list(csv.DictReader(io.StringIO(response.data.decode("utf-8-sig"))))


def codes_in(document: dict) -> set[str]:
    """The station codes of a GeoJSON file."""
    return {feature["properties"]["code"] for feature in document["features"]}


def test_geojson_is_a_feature_collection_of_points_at_longitude_latitude(client, green_lake):
    document = geojson(client)
    assert document["type"] == "FeatureCollection"
    assert document["coordinate_system"] == "wgs84"
    (feature,) = document["features"]
    assert feature["type"] == "Feature"
    assert feature["geometry"] == {"type": "Point", "coordinates": [102.7035, 25.0478]}
    lon, lat = feature["geometry"]["coordinates"]
    assert 73 < lon < 136 and 3 < lat < 54  # longitude first: China, not the Indian Ocean
    assert feature["properties"] == {
        "code": "KM-WH-002",
        "name": "翠湖社区工会驿站",
        "address": "云南省昆明市五华区翠湖南路8号",
        "phone": "0871-63123456",
        "opening_hours": "08:00-20:00",
        "open_24h": False,
        "amenities": ["water", "charging"],
        "amenity_names": ["drinking water", "phone charging"],
        "unit": "华山街道工会",
        "url": "http://localhost/directory/stations/KM-WH-002",
        "suspended": False,
    }


def test_the_station_link_uses_the_public_address_when_set(app, client, green_lake):
    app.config["PUBLIC_BASE_URL"] = "https://yizhan.example.cn/"
    (feature,) = geojson(client)["features"]
    assert feature["properties"]["url"] == "https://yizhan.example.cn/directory/stations/KM-WH-002"


def test_kml_parses_with_the_kml_namespace_and_escapes_text(client, make_station, tree):
    lat, lon = GREEN_LAKE
    make_station(
        tree["wuhua"],
        '骑手之家 <b>&"小站"\x0b',
        code="KM-WH-008",
        address="三市街6号 & 人民中路",
        latitude=lat,
        longitude=lon,
        open_24h=True,
    )
    root = kml(client)
    assert root.tag == f"{KML}kml"
    document = root.find(f"{KML}Document")
    assert "WGS-84" in document.findtext(f"{KML}description")
    (placemark,) = document.findall(f"{KML}Placemark")
    assert placemark.findtext(f"{KML}name") == '骑手之家 <b>&"小站"'  # the control character goes
    assert placemark.findtext(f"{KML}address") == "三市街6号 & 人民中路"
    assert placemark.findtext(f"{KML}Point/{KML}coordinates") == "102.7035,25.0478,0"
    data = {item.get("name"): item.findtext(f"{KML}value") for item in placemark.iter(f"{KML}Data")}
    assert data["code"] == "KM-WH-008" and data["open_24h"] == "true"
    assert "open 24 h, unattended" in placemark.findtext(f"{KML}description")


def test_the_csv_is_the_bulk_import_layout_in_gcj02(client, green_lake):
    shifted = wgs84_to_gcj02(Point(*GREEN_LAKE))
    response = client.get("/directory/stations.csv")
    header = response.data.decode("utf-8-sig").splitlines()[0]
    assert header == "名称,地址,经度,纬度,电话,备注"
    (row,) = csv_rows(client)
    assert row["名称"] == "翠湖社区工会驿站"
    assert row["地址"] == "云南省昆明市五华区翠湖南路8号"
    assert float(row["经度"]) == round(shifted.longitude, 6)
    assert float(row["纬度"]) == round(shifted.latitude, 6)
    assert row["电话"] == "0871-63123456"
    assert "08:00-20:00" in row["备注"] and "drinking water" in row["备注"]
    assert row["备注"].endswith("/directory/stations/KM-WH-002")
    assert 'attachment; filename="stations-' in response.headers["Content-Disposition"]


def test_gcj02_is_applied_only_when_asked(client, green_lake):
    stored = [102.7035, 25.0478]
    shifted = wgs84_to_gcj02(Point(*GREEN_LAKE))
    gcj = [round(shifted.longitude, 6), round(shifted.latitude, 6)]
    assert gcj != stored
    assert geojson(client)["features"][0]["geometry"]["coordinates"] == stored
    asked = geojson(client, "?crs=gcj02")
    assert asked["coordinate_system"] == "gcj02"
    assert asked["features"][0]["geometry"]["coordinates"] == gcj
    coordinates = f"{KML}Document/{KML}Placemark/{KML}Point/{KML}coordinates"
    assert kml(client).findtext(coordinates) == "102.7035,25.0478,0"
    in_gcj = kml(client, "?crs=gcj02")
    assert in_gcj.findtext(coordinates) == f"{gcj[0]},{gcj[1]},0"
    assert "GCJ-02" in in_gcj.findtext(f"{KML}Document/{KML}description")
    (row,) = csv_rows(client, "?crs=wgs84")
    assert [float(row["经度"]), float(row["纬度"])] == stored
    named = client.get("/directory/stations.kml?crs=gcj02").headers["Content-Disposition"]
    assert 'filename="stations-gcj02-' in named


@pytest.mark.parametrize(
    "status",
    [StationStatus.PLANNED, StationStatus.UNDER_CONSTRUCTION, StationStatus.CLOSED],
)
def test_stations_the_public_may_not_see_never_appear(client, make_station, tree, status):
    lat, lon = GREEN_LAKE
    make_station(tree["wuhua"], "开着的驿站", code="KM-OPEN", latitude=lat, longitude=lon)
    make_station(
        tree["wuhua"], "不公开的驿站", code="KM-HIDDEN", status=status, latitude=lat, longitude=lon
    )
    make_station(
        tree["wuhua"],
        "暂停的驿站",
        code="KM-PAUSED",
        status=StationStatus.SUSPENDED,
        latitude=lat,
        longitude=lon,
    )
    document = geojson(client)
    assert codes_in(document) == {"KM-OPEN", "KM-PAUSED"}
    paused = next(f for f in document["features"] if f["properties"]["code"] == "KM-PAUSED")
    assert paused["properties"]["suspended"] is True
    for path in FILES:
        body = client.get(path).get_data(as_text=True)
        assert "KM-HIDDEN" not in body and "不公开的驿站" not in body, path


def test_stations_without_coordinates_are_left_out_and_counted(
    client, make_station, green_lake, tree
):
    make_station(tree["wuhua"], "没有坐标的驿站", code="KM-NOWHERE")
    for path in FILES:
        response = client.get(path)
        assert response.headers["X-Omitted-Stations"] == "1", path
        assert "没有坐标的驿站" not in response.get_data(as_text=True), path
    assert codes_in(geojson(client)) == {"KM-WH-002"}
    description = kml(client).findtext(f"{KML}Document/{KML}description")
    assert "1 station without coordinates is left out." in description
    assert [row["名称"] for row in csv_rows(client)] == ["翠湖社区工会驿站"]


def test_the_csv_makes_formulas_inert(client, make_station, tree):
    lat, lon = GREEN_LAKE
    make_station(
        tree["wuhua"],
        '=HYPERLINK("http://evil.example","点我")',
        address="+1 街道",
        phone="@SUM(1)",
        latitude=lat,
        longitude=lon,
    )
    (row,) = csv_rows(client)
    assert row["名称"] == '\'=HYPERLINK("http://evil.example","点我")'
    assert row["地址"] == "'+1 街道"
    assert row["电话"] == "'@SUM(1)"


def test_the_directory_filters_choose_the_same_stations(client, db, make_station, tree):
    lat, lon = GREEN_LAKE
    gas = by_code(HostType, "gas_station")
    smart = by_code(Label, "smart")
    stations = {
        "KM-A": make_station(
            tree["street"], "甲驿站", code="KM-A", amenities=[Amenity.WATER], host_type=gas
        ),
        "KM-B": make_station(
            tree["wuhua"], "乙驿站", code="KM-B", amenities=[Amenity.WATER, Amenity.WIFI]
        ),
        "KM-C": make_station(tree["guandu"], "丙驿站", code="KM-C", amenities=[Amenity.WIFI]),
    }
    award_label(stations["KM-B"], smart, 2024, tree["wuhua"])
    for station in stations.values():
        station.latitude, station.longitude = lat, lon
    db.session.commit()
    names = {"甲驿站": "KM-A", "乙驿站": "KM-B", "丙驿站": "KM-C"}
    for query in (
        f"?unit={tree['wuhua'].id}",
        f"?unit={tree['street'].id}",
        "?amenity=water",
        "?amenity=water&amenity=wifi",
        "?type=gas_station",
        "?label=smart",
        "?q=丙",
        f"?unit={tree['city'].id}&amenity=wifi",
    ):
        page = client.get(f"/directory/{query}").get_data(as_text=True)
        listed = {code for name, code in names.items() if name in page}
        assert codes_in(geojson(client, query)) == listed, query
        kml_names = {p.findtext(f"{KML}name") for p in kml(client, query).iter(f"{KML}Placemark")}
        assert {names[n] for n in kml_names} == listed, query
        assert {names[row["名称"]] for row in csv_rows(client, query)} == listed, query
    assert codes_in(geojson(client, f"?unit={tree['wuhua'].id}")) == {"KM-A", "KM-B"}


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("?crs=mercator", '"mercator" is not a coordinate system here: use wgs84, gcj02 or bd09.'),
        ("?amenity=jacuzzi", '"jacuzzi" is not a known amenity.'),
        ("?unit=99999", "There is no such district; choose one from the list."),
        ("?type=spaceport", '"spaceport" is not a host type.'),
    ],
)
def test_bad_input_is_refused_with_the_reason(client, green_lake, query, message):
    for path in FILES:
        response = client.get(path + query)
        assert response.status_code == 400, path
        assert response.mimetype == "text/plain"
        assert message in response.get_data(as_text=True)


def test_the_files_are_public_cacheable_and_open_to_other_sites(client, green_lake):
    for path in FILES:
        response = client.get(path)
        assert response.headers["Access-Control-Allow-Origin"] == "*"
        assert "public" in response.headers["Cache-Control"]
        assert "max-age=600" in response.headers["Cache-Control"]


def test_the_directory_links_to_the_files_with_its_filters(client, green_lake, tree):
    unit = tree["wuhua"].id
    html = client.get(f"/directory/?unit={unit}&lat=25.04&lon=102.7").get_data(as_text=True)
    assert "For map platforms" in html
    links = re.findall(r'href="(/directory/stations\.[a-z]+[^"]*)"', html)
    assert f"/directory/stations.geojson?unit={unit}" in links
    assert f"/directory/stations.kml?unit={unit}&amp;crs=gcj02" in links
    assert f"/directory/stations.csv?unit={unit}" in links
    assert not any("lat=" in link for link in links)  # the searcher's place stays private
    assert "For map platforms" in client.get("/directory/map").get_data(as_text=True)


def test_query_count_does_not_grow_with_the_number_of_stations(client, db, make_station, tree):
    smart = by_code(Label, "smart")

    def add(count: int) -> None:
        for n in range(count):
            station = make_station(
                tree["street"],
                amenities=[Amenity.WATER, Amenity.TOILET],
                latitude=25.0 + n / 1000,
                longitude=102.7,
            )
            award_label(station, smart, 2024, tree["street"])
        db.session.commit()

    def measure() -> dict:
        counts = {}
        for path in FILES:
            with count_queries(db.engine) as queries:
                assert client.get(path).status_code == 200
            counts[path] = queries["n"]
        return counts

    add(2)
    few = measure()
    add(20)
    assert measure() == few
