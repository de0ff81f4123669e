"""The API's resources: what each user sees (404 for the rest), filters, pagination, and the
writes (activities, headcounts, pledges) going through the same rules as the web pages."""

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import func, select

from inclusive_day.activities.models import Activity
from inclusive_day.api.models import TokenScope
from inclusive_day.api.tokens import issue_token
from inclusive_day.attendance.models import HeadcountChange
from inclusive_day.audit.models import AuditEvent
from inclusive_day.auth.models import Role
from inclusive_day.campaigns.models import Theme
from inclusive_day.reports.recap import RecapScope, build_recap
from inclusive_day.sponsors.models import Donation
from inclusive_day.stations.models import HostType, Label, LabelAward, Partner, StationStatus
from inclusive_day.stations.services import create_station
from inclusive_day.units.models import Level
from tests.conftest import count_queries


class World:
    """A city with two districts (a street under the first), their stations, one campaign of
    the city, activities in both districts, and a user for each role."""


@pytest.fixture
def world(db, make_unit, make_station, make_campaign, make_activity, make_user, make_sponsor):
    w = World()
    w.province = make_unit("Yunnan")
    w.city = make_unit("Kunming", w.province)
    w.d1 = make_unit("Wuhua", w.city)
    w.d2 = make_unit("Panlong", w.city)
    w.street = make_unit("Huashan", w.d1)
    w.st1 = make_station(w.d1, "Wuhua One", code="WH-001")
    w.st1b = make_station(w.street, "Huashan Gate", code="HS-001")
    w.st2 = make_station(w.d2, "Panlong Bridge", code="PL-001")
    w.campaign = make_campaign(w.city, "Inclusive Day")
    w.a1 = make_activity(w.st1, w.campaign, datetime(2024, 1, 18, 1, 0, tzinfo=UTC))
    # 01:00 on 19 January in China, still the 18th in UTC.
    w.a2 = make_activity(w.st1b, w.campaign, datetime(2024, 1, 18, 17, 0, tzinfo=UTC))
    w.a3 = make_activity(w.st2, w.campaign, datetime(2024, 1, 18, 1, 0, tzinfo=UTC))
    w.sponsor1 = make_sponsor(w.d1, "Dianchi Tea")
    w.sponsor2 = make_sponsor(w.d2, "Panlong Bakery")
    w.org1 = make_user(Role.ORGANISER, on=w.d1)
    w.org2 = make_user(Role.ORGANISER, on=w.d2)
    w.viewer = make_user(Role.VIEWER, on=w.d1)
    w.manager = make_user(Role.STATION_MANAGER, on=w.st1)
    w.rep = make_user(Role.SPONSOR_REP, on=w.sponsor1)
    return w


@pytest.fixture
def as_(client, db):
    """Call the API as `user` with a token of `scope`: as_(user).get(url)."""

    class Caller:
        def __init__(self, user, scope):
            _token, raw = issue_token(user, "test", scope)
            db.session.commit()
            self.headers = {"Authorization": f"Bearer {raw}"}

        def get(self, url, **kw):
            return client.get(url, headers=self.headers, **kw)

        def post(self, url, json, headers=None, **kw):
            return client.post(url, json=json, headers={**self.headers, **(headers or {})}, **kw)

        def patch(self, url, json, **kw):
            return client.patch(url, json=json, headers=self.headers, **kw)

    return lambda user, scope=TokenScope.WRITE: Caller(user, scope)


def ids(answer) -> set[int]:
    assert answer.status_code == 200, answer.json
    return {item["id"] for item in answer.json["items"]}


def count(db, model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


# ---- units, stations, campaigns ------------------------------------------------------------


def test_units_show_the_users_subtree_only(world, as_):
    org1 = as_(world.org1)
    assert ids(org1.get("/api/v1/units")) == {world.d1.id, world.street.id}
    assert ids(org1.get(f"/api/v1/units?under={world.street.id}")) == {world.street.id}
    assert ids(org1.get("/api/v1/units?level=street")) == {world.street.id}
    one = org1.get(f"/api/v1/units/{world.d1.id}")
    assert one.json["level"] == Level.DISTRICT.value and one.json["parent_id"] == world.city.id
    for url in (f"/api/v1/units/{world.d2.id}", f"/api/v1/units?under={world.d2.id}"):
        answer = org1.get(url)
        assert answer.status_code == 404 and answer.json["code"] == "not_found"
    assert ids(as_(world.org2).get("/api/v1/units")) == {world.d2.id}


def test_stations_filter_by_subtree_status_and_text(world, as_):
    org1 = as_(world.org1)
    assert ids(org1.get("/api/v1/stations")) == {world.st1.id, world.st1b.id}
    assert ids(org1.get(f"/api/v1/stations?unit={world.street.id}")) == {world.st1b.id}
    assert ids(org1.get("/api/v1/stations?q=gate")) == {world.st1b.id}
    assert ids(org1.get("/api/v1/stations?q=WH-")) == {world.st1.id}
    assert ids(org1.get("/api/v1/stations?q=%25")) == set()
    assert ids(org1.get("/api/v1/stations?status=closed")) == set()
    assert org1.get(f"/api/v1/stations/{world.st2.id}").status_code == 404
    assert org1.get(f"/api/v1/stations?unit={world.d2.id}").status_code == 404
    assert ids(as_(world.manager).get("/api/v1/stations")) == {world.st1.id}


def _network(db, world):
    """Give the world's stations what the network knows of them: WH-001 a gas station open
    since 2023 with two labels and two partners, HS-001 a telecom hall closed in 2024, PL-001
    (Panlong) a gas station still being built."""
    kinds = {t.code: t for t in db.session.scalars(select(HostType))}
    grades = {g.code: g for g in db.session.scalars(select(Label))}
    sinopec = Partner(unit=world.city, name="中国石化云南石油分公司")
    telecom = Partner(unit=world.d1, name="中国电信昆明分公司")
    bank = Partner(unit=world.d2, name="建设银行盘龙支行")
    db.session.add_all([sinopec, telecom, bank])
    world.st1.host_type = kinds["gas_station"]
    world.st1.opened_on = date(2023, 5, 1)
    world.st1.set_partners([sinopec, telecom])
    world.st1.label_awards = [
        LabelAward(label=grades["smart"], year=2024, awarded_by=world.d1),
        LabelAward(label=grades["provincial_level"], year=2023, awarded_by=world.province),
    ]
    world.st1b.host_type = kinds["telecom_hall"]
    world.st1b.set_partners([telecom])
    world.st1b.status = StationStatus.CLOSED
    world.st1b.opened_on, world.st1b.closed_on = date(2023, 1, 1), date(2024, 3, 1)
    world.st1b.closure_reason = "道路改造"
    world.st2.host_type = kinds["gas_station"]
    world.st2.set_partners([bank])
    world.st2.status, world.st2.opened_on = StationStatus.UNDER_CONSTRUCTION, None
    db.session.commit()
    return sinopec, telecom, bank


def test_a_station_answers_its_lifecycle_type_labels_and_partners(world, as_, db):
    sinopec, telecom, _bank = _network(db, world)
    answer = as_(world.org1).get(f"/api/v1/stations/{world.st1.id}")
    assert answer.status_code == 200
    station = answer.json
    assert "partner" not in station
    assert station["status"] == "active"
    assert (station["opened_on"], station["closed_on"]) == ("2023-05-01", None)
    assert station["host_type"] == {"code": "gas_station", "name": "gas station"}
    assert station["labels"] == [
        {
            "code": "provincial_level",
            "name": "provincial-level station",
            "year": 2023,
            "awarded_by_id": world.province.id,
        },
        {"code": "smart", "name": "smart station", "year": 2024, "awarded_by_id": world.d1.id},
    ]
    assert sorted(station["partners"], key=lambda p: p["id"]) == [
        {"id": sinopec.id, "name": sinopec.name},
        {"id": telecom.id, "name": telecom.name},
    ]
    closed = as_(world.org1).get(f"/api/v1/stations/{world.st1b.id}").json
    assert (closed["status"], closed["closed_on"], closed["closure_reason"]) == (
        "closed",
        "2024-03-01",
        "道路改造",
    )
    building = as_(world.org2).get(f"/api/v1/stations/{world.st2.id}").json
    assert (building["status"], building["opened_on"]) == ("under_construction", None)
    assert building["labels"] == []


def test_stations_filter_by_host_type_label_partner_and_open_day(world, as_, db):
    _sinopec, telecom, bank = _network(db, world)
    org1, admin = as_(world.org1), as_(world.manager)
    assert ids(org1.get("/api/v1/stations?host_type=gas_station")) == {world.st1.id}
    assert ids(org1.get("/api/v1/stations?host_type=telecom_hall")) == {world.st1b.id}
    assert ids(org1.get("/api/v1/stations?host_type=bank")) == set()
    assert ids(org1.get("/api/v1/stations?label=smart")) == {world.st1.id}
    assert ids(org1.get("/api/v1/stations?label=demonstration")) == set()
    assert ids(org1.get(f"/api/v1/stations?partner={telecom.id}")) == {world.st1.id, world.st1b.id}
    # Open on a day: opened by then and not yet closed (closing day excluded).
    assert ids(org1.get("/api/v1/stations?open_on=2023-03-01")) == {world.st1b.id}
    assert ids(org1.get("/api/v1/stations?open_on=2023-06-01")) == {world.st1.id, world.st1b.id}
    assert ids(org1.get("/api/v1/stations?open_on=2024-03-01")) == {world.st1.id}
    assert ids(as_(world.org2).get("/api/v1/stations?open_on=2030-01-01")) == set()
    assert ids(as_(world.org2).get("/api/v1/stations?status=under_construction")) == {world.st2.id}
    combined = "/api/v1/stations?host_type=gas_station&label=provincial_level&open_on=2024-01-01"
    assert ids(org1.get(combined)) == {world.st1.id}
    assert ids(admin.get("/api/v1/stations?label=smart")) == {world.st1.id}
    # Unknown codes and partners out of reach answer 404 naming the filter.
    for url, field in (
        ("/api/v1/stations?host_type=spaceport", "host_type"),
        ("/api/v1/stations?label=nope", "label"),
        (f"/api/v1/stations?partner={bank.id}", "partner"),
    ):
        answer = org1.get(url)
        assert answer.status_code == 404 and answer.json["field"] == field, url
    for bad in ("host_type=Gas-Station", "open_on=2024-02-30", "open_on=1999-12-31"):
        assert org1.get(f"/api/v1/stations?{bad}").status_code == 422, bad


def test_a_page_of_stations_loads_its_types_labels_and_partners_at_once(world, as_, db):
    _network(db, world)
    org1 = as_(world.org1)

    def queries() -> int:
        with count_queries(db.engine) as n:
            assert org1.get("/api/v1/stations").status_code == 200
        return n["n"]

    before = queries()
    for i in range(5):
        station = make_station_in(db, world.d1, f"WH-1{i:02d}")
        station.label_awards = [
            LabelAward(
                label=db.session.scalars(select(Label)).first(), year=2023, awarded_by=world.d1
            )
        ]
        station.set_partners(list(db.session.scalars(select(Partner))))
    db.session.commit()
    assert queries() == before


def make_station_in(db, unit, code):
    station = create_station(unit, code, f"Station {code}")
    db.session.flush()
    return station


def test_partners_list_by_subtree(world, as_, db):
    sinopec, telecom, bank = _network(db, world)
    org1 = as_(world.org1)
    # Their own unit's partners, and those kept above them (the city's Sinopec).
    assert ids(org1.get("/api/v1/partners")) == {sinopec.id, telecom.id}
    assert ids(as_(world.org2).get("/api/v1/partners")) == {sinopec.id, bank.id}
    # Under a unit: kept in its subtree, or co-building a station there.
    assert ids(org1.get(f"/api/v1/partners?unit={world.d1.id}")) == {sinopec.id, telecom.id}
    assert ids(org1.get(f"/api/v1/partners?unit={world.street.id}")) == {telecom.id}
    assert ids(org1.get("/api/v1/partners?q=电信")) == {telecom.id}
    assert org1.get(f"/api/v1/partners?unit={world.d2.id}").status_code == 404
    one = org1.get(f"/api/v1/partners/{telecom.id}")
    assert one.status_code == 200
    assert (one.json["name"], one.json["unit_id"]) == (telecom.name, world.d1.id)
    assert org1.get(f"/api/v1/partners/{bank.id}").status_code == 404
    first = org1.get("/api/v1/partners?per_page=1").json
    second = org1.get("/api/v1/partners?per_page=1&page=2").json
    assert (first["total"], len(first["items"]), len(second["items"])) == (2, 1, 1)
    assert {first["items"][0]["id"], second["items"][0]["id"]} == {sinopec.id, telecom.id}


def test_the_catalogues(world, as_, client):
    org1 = as_(world.org1)
    host_types = org1.get("/api/v1/host-types").json
    assert host_types["total"] == len(host_types["items"]) == 10
    assert host_types["items"][0]["code"] == "cabin"
    assert {"code": "gas_station", "name": "gas station", "name_zh": "加油站"}.items() <= (
        next(t for t in host_types["items"] if t["code"] == "gas_station").items()
    )
    labels = org1.get("/api/v1/labels?per_page=2").json
    assert labels["total"] == 6 and [label["code"] for label in labels["items"]] == [
        "national_most_beautiful",
        "provincial_level",
    ]
    assert as_(world.rep).get("/api/v1/labels").status_code == 200
    assert client.get("/api/v1/host-types").status_code == 401


def test_themes_list_the_catalogue_and_the_users_units_own(world, as_, db, client):
    own = Theme(code="wuhua_tea", name_zh="五华茶会", name_en="Wuhua tea", unit_id=world.d1.id)
    other = Theme(
        code="panlong_tea", name_zh="盘龙茶会", name_en="Panlong tea", unit_id=world.d2.id
    )
    db.session.add_all([own, other])
    db.session.commit()
    shared = db.session.scalar(select(func.count()).where(Theme.unit_id.is_(None)))
    answer = as_(world.org1).get("/api/v1/themes?per_page=200")
    assert answer.status_code == 200
    listed = {item["id"]: item for item in answer.json["items"]}
    assert answer.json["total"] == shared + 1 and own.id in listed and other.id not in listed
    assert answer.json["items"][-1]["id"] == own.id  # the shared catalogue first
    assert listed[own.id]["unit_id"] == world.d1.id and listed[own.id]["name"] == "Wuhua tea"
    assert listed[world.a1.theme_id]["unit_id"] is None
    first = as_(world.org1).get("/api/v1/themes?per_page=1").json
    assert len(first["items"]) == 1 and first["total"] == shared + 1
    assert client.get("/api/v1/themes").status_code == 401


def test_campaigns_filter_by_unit_and_day(world, as_, make_campaign):
    own = make_campaign(world.d1, "Wuhua summer", starts_on=date(2024, 6, 1), ends_on=None)
    org1 = as_(world.org1)
    assert ids(org1.get("/api/v1/campaigns")) == {world.campaign.id, own.id}
    assert ids(org1.get(f"/api/v1/campaigns?unit={world.d1.id}")) == {own.id}
    assert ids(org1.get("/api/v1/campaigns?active_on=2024-01-18")) == {world.campaign.id}
    assert ids(org1.get("/api/v1/campaigns?active_on=2030-01-01")) == {own.id}
    assert as_(world.org2).get(f"/api/v1/campaigns/{own.id}").status_code == 404


# ---- activities -----------------------------------------------------------------------------


def test_activities_show_only_visible_ones_with_filters(world, as_):
    org1 = as_(world.org1)
    assert ids(org1.get("/api/v1/activities")) == {world.a1.id, world.a2.id}
    assert ids(org1.get(f"/api/v1/activities?unit={world.street.id}")) == {world.a2.id}
    assert ids(org1.get(f"/api/v1/activities?station={world.st1.id}")) == {world.a1.id}
    assert ids(org1.get(f"/api/v1/activities?campaign={world.campaign.id}")) == {
        world.a1.id,
        world.a2.id,
    }
    # Days are China's: a2 starts at 01:00 on the 19th there.
    assert ids(org1.get("/api/v1/activities?from=2024-01-19")) == {world.a2.id}
    assert ids(org1.get("/api/v1/activities?to=2024-01-18")) == {world.a1.id}
    assert ids(org1.get("/api/v1/activities?status=cancelled")) == set()
    bad = org1.get("/api/v1/activities?from=2024-02-01&to=2024-01-01")
    assert bad.status_code == 422 and bad.json["field"] == "to"
    assert org1.get(f"/api/v1/activities/{world.a3.id}").status_code == 404
    assert org1.get(f"/api/v1/activities?station={world.st2.id}").status_code == 404
    answer = org1.get(f"/api/v1/activities/{world.a1.id}")
    assert answer.json["starts_at"] == "2024-01-18T09:00:00+08:00"


def test_lists_are_paginated_in_an_envelope(world, as_):
    org1 = as_(world.org1)
    first = org1.get("/api/v1/activities?per_page=1").json
    second = org1.get("/api/v1/activities?per_page=1&page=2").json
    assert first["total"] == second["total"] == 2
    assert (first["page"], first["per_page"], second["page"]) == (1, 1, 2)
    assert [first["items"][0]["id"], second["items"][0]["id"]] == [world.a1.id, world.a2.id]
    assert org1.get("/api/v1/activities?page=9").json["items"] == []
    assert org1.get("/api/v1/activities").json["per_page"] == 50
    assert org1.get("/api/v1/activities?per_page=201").status_code == 422


def test_range_and_length_messages_go_through_the_translations(world, as_):
    org1 = as_(world.org1)
    too_many = org1.get("/api/v1/activities?per_page=201")
    assert too_many.json["errors"]["per_page"] == ["Enter a value at least 1 and at most 200."]
    negative = org1.post("/api/v1/activities", plan(world, capacity=-1))
    assert negative.json["errors"]["capacity"] == ["Enter a value at least 0 and at most 100000."]
    long = org1.post("/api/v1/activities", plan(world, title="x" * 201))
    assert long.json["errors"]["title"] == ["Enter 1 to 200 characters or items."]
    bad_id = org1.post("/api/v1/activities", plan(world, donation_ids=[0]))
    assert bad_id.json["errors"]["donation_ids.0"][0].startswith("Enter a value at least 1 ")


def plan(world, **changes) -> dict:
    body = {
        "campaign_id": world.campaign.id,
        "station_id": world.st1.id,
        "theme_id": world.a1.theme_id,
        "title": "Free haircuts",
        "day": "2024-02-01",
        "starts_time": "09:00",
        "ends_time": "11:00",
        "groups": ["rider", "courier"],
    }
    body.update(changes)
    return body


def test_an_organiser_plans_an_activity(world, as_, db):
    answer = as_(world.org1).post("/api/v1/activities", plan(world))
    assert answer.status_code == 201, answer.json
    made = db.session.get(Activity, answer.json["id"])
    assert made.title == "Free haircuts" and made.station_id == world.st1.id
    assert answer.json["starts_at"] == "2024-02-01T09:00:00+08:00"
    assert answer.json["groups"] == ["courier", "rider"]


@pytest.mark.parametrize(
    ("change", "status", "field"),
    [
        ({"ends_time": "08:00"}, 422, "ends_time"),
        ({"starts_time": "09:00+08:00"}, 422, "starts_time"),
        ({"day": "2024-06-01"}, 422, "day"),
        ({"title": "   "}, 422, "title"),
        ({"theme_id": 999_999}, 422, "theme_id"),
        ({"groups": ["astronaut"]}, 422, "groups"),
        ({"capacity": -1}, 422, "capacity"),
        ({"donation_ids": [999_999]}, 422, "donation_ids"),
        ({"title": None}, 422, "title"),
        ({"colour": "red"}, 422, "colour"),
        ({"day": "2024-01-18"}, 409, "conflict"),
    ],
)
def test_a_bad_plan_answers_json_naming_the_field_and_writes_nothing(
    world, as_, db, change, status, field
):
    before = count(db, Activity)
    answer = as_(world.org1).post("/api/v1/activities", plan(world, **change))
    assert answer.status_code == status, answer.json
    assert answer.json["field"] == field and answer.json["error"]
    assert answer.json["code"] == ("conflict" if status == 409 else "validation")
    assert count(db, Activity) == before


def test_nobody_plans_outside_their_units(world, as_, db):
    before = count(db, Activity)
    other = as_(world.org1).post("/api/v1/activities", plan(world, station_id=world.st2.id))
    assert other.status_code == 422 and other.json["field"] == "station_id"
    assert as_(world.viewer).post("/api/v1/activities", plan(world)).status_code == 403
    manager = as_(world.manager).post("/api/v1/activities", plan(world))
    assert manager.status_code == 403
    assert as_(world.rep).post("/api/v1/activities", plan(world)).status_code == 403
    assert count(db, Activity) == before


def test_the_same_uid_plans_once(world, as_, db):
    body = plan(world, uid="0f8fad5b-d9cb-469f-a165-70867728950e@inclusive-day")
    first = as_(world.org1).post("/api/v1/activities", body)
    again = as_(world.org1).post("/api/v1/activities", body)
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json["id"] == again.json["id"]


def test_an_idempotency_key_plans_once_per_user(world, as_, db, make_user):
    org1 = as_(world.org1)
    key = {"Idempotency-Key": "order-42"}
    first = org1.post("/api/v1/activities", plan(world), headers=key)
    again = org1.post("/api/v1/activities", plan(world), headers=key)
    assert (first.status_code, again.status_code) == (201, 200), first.json
    assert first.json["id"] == again.json["id"]
    # The same key from another user is that user's own.
    colleague = as_(make_user(Role.ORGANISER, on=world.d1))
    theirs = colleague.post("/api/v1/activities", plan(world, day="2024-02-02"), headers=key)
    assert theirs.status_code == 201 and theirs.json["id"] != first.json["id"]


def test_any_uid_plans_once(world, as_, db):
    before = count(db, Activity)
    first = as_(world.org1).post("/api/v1/activities", plan(world, uid="my-plan-1"))
    again = as_(world.org1).post("/api/v1/activities", plan(world, uid="my-plan-1"))
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json["id"] == again.json["id"] and count(db, Activity) == before + 1


@pytest.mark.parametrize("key", ["", "x" * 256, "clé"])
def test_a_bad_idempotency_key_is_refused_and_writes_nothing(world, as_, db, key):
    before = count(db, Activity)
    answer = as_(world.org1).post(
        "/api/v1/activities", plan(world), headers={"Idempotency-Key": key}
    )
    assert answer.status_code == 400 and answer.json["field"] == "Idempotency-Key"
    assert count(db, Activity) == before


def test_the_document_offers_the_idempotency_key_where_records_are_made(client):
    spec = client.get("/api/v1/openapi.json").json
    for path in ("/api/v1/activities", "/api/v1/donations"):
        names = [p["name"] for p in spec["paths"][path]["post"].get("parameters", [])]
        assert "Idempotency-Key" in names, path
    uid = spec["components"]["schemas"]["ActivityIn"]["properties"]["uid"]["description"]
    assert "<uuid4>@inclusive-day" in uid


def test_an_organiser_changes_an_activity(world, as_, db):
    org1 = as_(world.org1)
    answer = org1.patch(f"/api/v1/activities/{world.a1.id}", {"title": "Haircuts and tea"})
    assert answer.status_code == 200, answer.json
    assert answer.json["title"] == "Haircuts and tea"
    assert answer.json["starts_at"] == "2024-01-18T09:00:00+08:00"
    assert answer.json["sequence"] == 1
    bad = org1.patch(f"/api/v1/activities/{world.a1.id}", {"ends_time": "08:00"})
    assert bad.status_code == 422 and bad.json["field"] == "ends_time"
    db.session.expire_all()
    assert db.session.get(Activity, world.a1.id).title == "Haircuts and tea"
    assert org1.patch(f"/api/v1/activities/{world.a3.id}", {"title": "x"}).status_code == 404
    viewer = as_(world.viewer).patch(f"/api/v1/activities/{world.a1.id}", {"title": "x"})
    assert viewer.status_code == 404


def test_api_changes_are_logged_as_the_tokens_user(world, as_, db):
    as_(world.org1).patch(f"/api/v1/activities/{world.a1.id}", {"title": "Haircuts and tea"})
    event = db.session.scalar(
        select(AuditEvent).where(
            AuditEvent.object_type == "activity",
            AuditEvent.object_id == world.a1.id,
            AuditEvent.action != "create",
        )
    )
    assert event is not None and event.user_id == world.org1.id


# ---- attendance -----------------------------------------------------------------------------


def test_a_station_manager_records_headcounts(world, as_, db):
    manager = as_(world.manager)
    url = f"/api/v1/activities/{world.a1.id}/headcounts"
    answer = manager.post(url, {"counts": {"rider": 5, "courier": 2}})
    assert answer.status_code == 200, answer.json
    assert answer.json["headcount"] == 7 and answer.json["served"] == 7
    assert answer.json["headcounts"]["rider"] == 5 and answer.json["by_group"]["courier"] == 2
    assert count(db, HeadcountChange) == 2
    moved = manager.post(url, {"counts": {"rider": 6}, "expected": {"rider": 4}})
    assert moved.status_code == 409 and moved.json["code"] == "conflict"
    too_many = manager.post(url, {"counts": {"rider": 10_001}})
    assert too_many.status_code == 422 and too_many.json["field"] == "rider"
    negative = manager.post(url, {"counts": {"rider": -1}})
    assert negative.status_code == 422
    assert count(db, HeadcountChange) == 2
    seen = as_(world.viewer, TokenScope.READ).get(f"/api/v1/activities/{world.a1.id}/attendance")
    assert seen.status_code == 200 and seen.json["served"] == 7


def test_headcounts_elsewhere_are_not_found(world, as_, db):
    body = {"counts": {"rider": 5}}
    assert (
        as_(world.manager).post(f"/api/v1/activities/{world.a2.id}/headcounts", body).status_code
        == 404
    )
    assert (
        as_(world.viewer).post(f"/api/v1/activities/{world.a1.id}/headcounts", body).status_code
        == 404
    )
    assert as_(world.org2).get(f"/api/v1/activities/{world.a1.id}/attendance").status_code == 404
    assert count(db, HeadcountChange) == 0


# ---- donations -------------------------------------------------------------------------------


def pledge(world, **changes) -> dict:
    body = {
        "sponsor_id": world.sponsor1.id,
        "kind": "in_kind",
        "description": "Green tea",
        "quantity": "200",
        "unit_label": "bottles",
        "unit_value": "3.50",
        "campaign_id": world.campaign.id,
        "pledged_on": "2024-01-10",
    }
    body.update(changes)
    return body


def test_a_representative_pledges_for_their_own_sponsor(world, as_, db):
    rep = as_(world.rep)
    answer = rep.post("/api/v1/donations", pledge(world))
    assert answer.status_code == 201, answer.json
    assert answer.json["value"] == "700.00" and answer.json["status"] == "pledged"
    donation = db.session.get(Donation, answer.json["id"])
    assert donation.sponsor_id == world.sponsor1.id and donation.pledged_by_id == world.rep.id
    assert ids(rep.get("/api/v1/donations")) == {donation.id}
    assert ids(rep.get("/api/v1/donations?status=received")) == set()
    assert as_(world.org2).get(f"/api/v1/donations/{donation.id}").status_code == 404
    assert ids(as_(world.org2).get("/api/v1/donations")) == set()
    assert ids(as_(world.org1).get(f"/api/v1/donations?campaign={world.campaign.id}")) == {
        donation.id
    }


def test_an_idempotency_key_pledges_once(world, as_, db):
    rep = as_(world.rep)
    before = count(db, Donation)
    key = {"Idempotency-Key": "2f1c1a4e-pledge"}
    first = rep.post("/api/v1/donations", pledge(world), headers=key)
    again = rep.post("/api/v1/donations", pledge(world), headers=key)
    assert (first.status_code, again.status_code) == (201, 200), first.json
    assert first.json["id"] == again.json["id"] and count(db, Donation) == before + 1
    by_uid = [rep.post("/api/v1/donations", pledge(world, uid="tea-1")) for _ in range(2)]
    assert [a.status_code for a in by_uid] == [201, 200]
    assert count(db, Donation) == before + 2


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"sponsor_id": "other"}, "sponsor_id"),
        ({"sponsor_id": 999_999}, "sponsor_id"),
        ({"kind": "cash", "value": None}, "value"),
        ({"unit_value": None}, "unit_value"),
        ({"quantity": "-1"}, "quantity"),
        ({"pledged_on": "2099-01-01"}, "pledged_on"),
        ({"campaign_id": 999_999}, "campaign_id"),
        ({"description": "tea\x00"}, "description"),
    ],
)
def test_a_bad_pledge_writes_nothing(world, as_, db, change, field):
    if change.get("sponsor_id") == "other":
        change = {"sponsor_id": world.sponsor2.id}
    answer = as_(world.rep).post("/api/v1/donations", pledge(world, **change))
    assert answer.status_code == 422, answer.json
    assert answer.json["field"] == field
    assert count(db, Donation) == 0


def test_users_without_sponsor_rights_may_not_pledge(world, as_, db):
    assert as_(world.viewer).post("/api/v1/donations", pledge(world)).status_code == 403
    assert (
        as_(world.rep, TokenScope.READ).post("/api/v1/donations", pledge(world)).status_code == 403
    )
    assert count(db, Donation) == 0


# ---- reports -------------------------------------------------------------------------------


def test_the_summary_gives_the_recaps_figures(world, as_, db):
    manager = as_(world.manager)
    manager.post(f"/api/v1/activities/{world.a1.id}/headcounts", {"counts": {"rider": 5}})
    org1 = as_(world.org1)
    answer = org1.get(f"/api/v1/reports/summary?campaign={world.campaign.id}")
    assert answer.status_code == 200, answer.json
    figures = answer.json
    assert figures["unit_id"] == world.d1.id
    assert (figures["from"], figures["to"]) == ("2023-10-19", "2024-02-26")
    recap = build_recap(
        RecapScope(world.campaign.id, world.d1.id, date(2023, 10, 19), date(2024, 2, 26))
    )
    assert figures["served"] == recap.headline.served == 5
    assert figures["activities"] + figures["planned"] == 2
    assert figures["stations"] == recap.headline.stations
    assert [line["key"] for line in figures["by_theme"]] == [line.key for line in recap.themes]
    assert {line["key"]: line["served"] for line in figures["by_group"]}.get("rider") == 5
    # Themes count the stations that held them; groups say only what is counted per group.
    assert (
        [line["stations"] for line in figures["by_theme"]]
        == [2]
        == [line.stations for line in recap.themes]
    )
    assert figures["by_group"] == [{"key": "rider", "name": "delivery rider", "served": 5}]
    assert (figures["sponsors"], figures["donations"], figures["donated_value"]) == (
        recap.headline.sponsors,
        recap.headline.donations,
        str(recap.headline.value),
    )
    assert figures["shelf"] == {
        "given": 0,
        "gifts": 0,
        "taken": 0,
        "takings": 0,
        "open_shelves": 0,
    }


def test_the_summary_refuses_what_the_user_may_not_see(world, as_):
    org1 = as_(world.org1)
    base = f"/api/v1/reports/summary?campaign={world.campaign.id}"
    assert org1.get(f"{base}&unit={world.d2.id}").status_code == 404
    assert org1.get("/api/v1/reports/summary?campaign=999999").status_code == 404
    assert org1.get("/api/v1/reports/summary").status_code == 422
    bad = org1.get(f"{base}&from=2024-02-01&to=2024-01-01")
    assert bad.status_code == 422 and bad.json["field"] == "to"
    street = org1.get(f"{base}&unit={world.street.id}").json
    assert street["unit_id"] == world.street.id
