"""The station registry: coordinates, hours, the profile form, managers and inspections."""

from datetime import UTC, date, datetime, time

import pytest
from sqlalchemy import func, select

from inclusive_day import extensions
from inclusive_day.auth.models import Role, RoleGrant
from inclusive_day.periods import add_months, local_today
from inclusive_day.stations.geo import (
    CoordSystem,
    Point,
    distance_km,
    from_wgs84,
    gcj02_to_bd09,
    gcj02_to_wgs84,
    to_wgs84,
    wgs84_to_gcj02,
)
from inclusive_day.stations.hours import HoursError, parse_hours
from inclusive_day.stations.inspections import overdue, record_inspection, set_cadences
from inclusive_day.stations.models import (
    Amenity,
    CheckItem,
    HostType,
    Inspection,
    InspectionResult,
    Station,
    StationStatus,
)
from inclusive_day.stations.services import StationError, parse_amenities
from inclusive_day.units.models import Level

# The reference pair every implementation of the GCJ-02 offset publishes.
WGS = Point(39.915, 116.404)
GCJ = Point(39.91640428150164, 116.41024449916938)
BD_OF_WGS_POINT_AS_GCJ = Point(39.92133699351021, 116.41036949371029)


def test_gcj02_offset_matches_the_published_reference():
    assert wgs84_to_gcj02(WGS) == pytest.approx(GCJ)
    assert gcj02_to_bd09(WGS) == pytest.approx(BD_OF_WGS_POINT_AS_GCJ)


@pytest.mark.parametrize("system", list(CoordSystem))
def test_every_system_round_trips_to_within_a_metre(system):
    kunming = Point(25.0389, 102.7183)
    back = to_wgs84(from_wgs84(kunming, system), system)
    assert distance_km(kunming, back) < 0.001


def test_offsets_are_hundreds_of_metres_and_none_abroad():
    kunming = Point(25.0389, 102.7183)
    assert 0.1 < distance_km(kunming, wgs84_to_gcj02(kunming)) < 1
    tokyo = Point(35.68, 139.76)
    assert gcj02_to_wgs84(tokyo) == tokyo


@pytest.mark.parametrize(
    "text, open_24h, periods",
    [
        ("24小时", True, ""),
        ("24小时无人值守", True, ""),
        ("24 hours", True, ""),
        ("8:00-20:00", False, "08:00-20:00"),
        ("08:00～12:00，14:00—18:00", False, "08:00-12:00, 14:00-18:00"),
        ("07:30 至 19:30", False, "07:30-19:30"),
        ("20:00-02:00", False, "20:00-02:00"),
    ],
)
def test_opening_hours_read_as_people_write_them(app, text, open_24h, periods):
    hours = parse_hours(text)
    assert (hours.open_24h, hours.text) == (open_24h, periods)


@pytest.mark.parametrize("text", ["", "8点到晚上", "25:00-26:00", "08:00-08:00", "08:00-"])
def test_malformed_hours_are_refused(app, text):
    with pytest.raises(HoursError):
        parse_hours(text)


def test_overnight_hours_are_open_after_midnight(app):
    hours = parse_hours("20:00-02:00")
    assert hours.is_open_at(time(1, 0)) and not hours.is_open_at(time(12, 0))


def test_amenities_read_in_either_language(app):
    assert parse_amenities("饮水、充电, wifi；卫生间") == [
        Amenity.WATER,
        Amenity.CHARGING,
        Amenity.WIFI,
        Amenity.TOILET,
    ]
    with pytest.raises(StationError):
        parse_amenities("游泳池")


@pytest.fixture
def district(make_unit):
    """Yunnan > Kunming > Guandu."""
    return make_unit("官渡区总工会", make_unit("昆明市总工会", make_unit("云南省总工会")))


def _host_type_id(code: str) -> int:
    return extensions.db.session.scalar(select(HostType.id).where(HostType.code == code))


def _form(unit, **changes):
    data = {
        "code": "KM-GD-100",
        "name": "关上中心驿站",
        "unit": unit.id,
        "address": "昆明市官渡区关上中路",
        "latitude": "25.0359345",
        "longitude": "102.7197524",
        "coord_system": "gcj02",
        "opening_hours": "08:00-20:00",
        "amenities": ["water", "charging"],
        "host_type": _host_type_id("other"),
        "partners": "",
        "services": "",
        "phone": "0871-12345678",
        "status": "active",
        "opened_on": "2023-05-01",
    }
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


def test_organiser_registers_a_station_and_gcj02_is_stored_as_wgs84(
    db, client, login, make_user, district
):
    login(make_user(Role.ORGANISER, district))
    response = client.post("/stations/new", data=_form(district))
    assert response.status_code == 302
    station = db.session.scalar(select(Station).where(Station.code == "KM-GD-100"))
    assert station.coord_system is CoordSystem.GCJ02
    assert distance_km(station.location, Point(25.0389, 102.7183)) < 0.002
    assert station.amenities == [Amenity.WATER, Amenity.CHARGING]
    assert station.opening_hours == "08:00-20:00" and not station.open_24h
    page = client.get(f"/stations/{station.id}/edit").get_data(as_text=True)
    assert 'value="25.03593' in page  # shown back in the system it was entered in


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"latitude": "102.7", "longitude": "25.0"}, "outside China"),
        ({"longitude": None}, "both latitude and longitude"),
        ({"opening_hours": "早上八点"}, "not a period"),
        ({"code": "KM GD 1"}, "not a station code"),
        ({"phone": "call me"}, "not a telephone number"),
        ({"amenities": ["pool"]}, "not a valid choice"),
    ],
)
def test_bad_station_input_re_renders_and_writes_nothing(
    db, client, login, make_user, district, changes, message
):
    login(make_user(Role.ORGANISER, district))
    response = client.post("/stations/new", data=_form(district, **changes))
    assert response.status_code == 200
    assert message in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count(Station.id))) == 0


def test_a_station_code_is_unique(db, client, login, make_user, make_station, district):
    make_station(district, code="KM-GD-100")
    login(make_user(Role.ORGANISER, district))
    response = client.post("/stations/new", data=_form(district))
    assert "Another station already has this code" in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count(Station.id))) == 1


def test_open_24h_needs_no_hours(db, client, login, make_user, district):
    login(make_user(Role.ORGANISER, district))
    data = _form(district, opening_hours="", open_24h="y")
    assert client.post("/stations/new", data=data).status_code == 302
    assert db.session.scalar(select(Station.open_24h))


def test_a_viewer_cannot_register_or_edit(client, login, make_user, make_station, district):
    station = make_station(district)
    login(make_user(Role.VIEWER, district))
    assert client.get("/stations/new").status_code == 404
    assert client.get(f"/stations/{station.id}/edit").status_code == 404


def test_managers_are_added_once_and_removed(db, client, login, make_user, make_station, district):
    station = make_station(district)
    worker = make_user(username="laowang")
    login(make_user(Role.ORGANISER, district))
    client.post(f"/stations/{station.id}/managers", data={"username": "laowang"})
    again = client.post(
        f"/stations/{station.id}/managers", data={"username": "laowang"}, follow_redirects=True
    )
    assert "already manages this station" in again.get_data(as_text=True)
    grants = select(func.count(RoleGrant.id)).where(RoleGrant.station_id == station.id)
    assert db.session.scalar(grants) == 1
    client.post(f"/stations/{station.id}/managers/{worker.id}/remove")
    assert db.session.scalar(grants) == 0


def test_an_inspection_with_unmet_points_cannot_pass(
    db, client, login, make_user, make_station, district
):
    station = make_station(district)
    login(make_user(Role.ORGANISER, district.parent))
    data = {
        "unit": district.parent.id,
        "inspected_on": local_today().isoformat(),
        "met": ["signage", "clean"],
        "result": "passed",
    }
    response = client.post(f"/stations/{station.id}/inspections/new", data=data)
    assert "Some points were not met" in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count(Inspection.id))) == 0

    data["result"] = "rectify"
    assert client.post(f"/stations/{station.id}/inspections/new", data=data).status_code == 302
    inspection = db.session.scalar(select(Inspection))
    assert inspection.unit_id == district.parent.id
    assert CheckItem.WATER in inspection.failed_items and CheckItem.CLEAN not in (
        inspection.failed_items
    )


def test_an_inspection_cannot_be_dated_in_the_future(
    db, client, login, make_user, make_station, district
):
    station = make_station(district)
    login(make_user(Role.ORGANISER, district))
    tomorrow = add_months(local_today(), 1)
    response = client.post(
        f"/stations/{station.id}/inspections/new",
        data={"unit": district.id, "inspected_on": tomorrow.isoformat(), "result": "failed"},
    )
    assert "cannot be in the future" in response.get_data(as_text=True)


def test_overdue_follows_each_levels_cadence(db, make_unit, make_station):
    province = make_unit("省")
    city = make_unit("市", province)
    district = make_unit("区", city)
    old = datetime(2024, 1, 1, tzinfo=UTC)
    inspected = make_station(district, code="A", created_at=old)
    make_station(district, code="B", created_at=old)
    at_city = make_station(city, code="C", created_at=old)
    fresh = make_station(district, code="D")
    today = date(2024, 9, 1)
    set_cadences({Level.PROVINCE: 12, Level.CITY: 6, Level.DISTRICT: 3})
    everything = set(CheckItem)
    record_inspection(inspected, city, date(2024, 5, 1), everything, InspectionResult.PASSED)
    record_inspection(inspected, district, date(2024, 7, 1), everything, InspectionResult.PASSED)
    db.session.commit()

    counts, rows = overdue(province, today)
    due = {(r.code, r.level) for r in rows}
    assert counts == {Level.PROVINCE: 0, Level.CITY: 2, Level.DISTRICT: 1}
    assert due == {("B", Level.CITY), ("C", Level.CITY), ("B", Level.DISTRICT)}
    assert all(r.code != fresh.code for r in rows)
    assert next(r for r in rows if r.code == "B" and r.level is Level.CITY).due == date(2024, 7, 1)
    assert at_city.code == "C"  # a city's own station is not inspected by districts
    assert overdue(district, today)[0] == {Level.PROVINCE: 0, Level.CITY: 1, Level.DISTRICT: 1}


def test_overdue_page_and_cadence_settings(db, client, login, make_user, make_unit, make_station):
    province = make_unit("云南省总工会")
    make_station(make_unit("昆明", province), created_at=datetime(2020, 1, 1, tzinfo=UTC))
    login(make_user(Role.ADMIN))
    page = client.get(f"/stations/inspections/overdue?unit={province.id}").get_data(as_text=True)
    assert "never" in page
    response = client.post(
        "/stations/inspections/cadence", data={"province": "", "city": "4", "district": "99"}
    )
    assert response.status_code == 200  # 99 months is out of range: nothing saved
    client.post("/stations/inspections/cadence", data={"province": "", "city": "4", "district": ""})
    page = client.get(f"/stations/inspections/overdue?unit={province.id}").get_data(as_text=True)
    assert "every 4 months" in page and "every 12 months" not in page


def test_cadence_settings_are_for_administrators(client, login, make_user, district):
    login(make_user(Role.ORGANISER, district))
    assert client.get("/stations/inspections/cadence").status_code == 404


def test_posters_are_served_as_pdf_inside_reach_only(
    client, login, make_user, make_unit, make_station, district
):
    station = make_station(district)
    closed = make_station(district, status=StationStatus.CLOSED)
    elsewhere = make_station(make_unit("西山区总工会", district.parent))
    login(make_user(Role.VIEWER, district))
    response = client.get(f"/stations/{station.id}/poster.pdf")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert response.data.startswith(b"%PDF")
    assert client.get(f"/stations/{elsewhere.id}/poster.pdf").status_code == 404
    assert client.get(f"/stations/{closed.id}/poster.pdf").status_code == 302
    unit_pdf = client.get(f"/units/{district.id}/posters.pdf")
    assert unit_pdf.mimetype == "application/pdf" and unit_pdf.data.startswith(b"%PDF")
    assert client.get(f"/units/{district.parent.id}/posters.pdf").status_code == 404


def test_a_unit_without_stations_gets_a_message_not_an_empty_pdf(
    client, login, make_user, district
):
    login(make_user(Role.VIEWER, district))
    response = client.get(f"/units/{district.id}/posters.pdf", follow_redirects=True)
    assert response.mimetype == "text/html"
    assert "no station" in response.get_data(as_text=True).lower()
