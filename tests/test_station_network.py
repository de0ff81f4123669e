"""The station network as organisers keep it: the lifecycle with its days, co-building partners
as records, host types and labels (with their catalogue pages), the filters by type and label,
and the same rules through the spreadsheet import and export."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime, timedelta

import pytest
from flask_babel import force_locale
from sqlalchemy import func, select

from inclusive_day.attendance.services import door_check_in
from inclusive_day.auth.models import Role
from inclusive_day.demo.kunming import load_kunming
from inclusive_day.extensions import db as _db
from inclusive_day.funds.models import FundKind, FundLine
from inclusive_day.periods import local_today
from inclusive_day.reports.construction import ConstructionScope, build_construction
from inclusive_day.stations.exporting import export_stations
from inclusive_day.stations.importing import import_stations
from inclusive_day.stations.inspections import overdue, set_cadences
from inclusive_day.stations.models import (
    HostType,
    Label,
    LabelAward,
    Partner,
    Station,
    StationPartner,
    StationStatus,
)
from inclusive_day.stations.services import (
    Lifecycle,
    StationError,
    award_label,
    check_lifecycle,
    close_station,
    find_partners,
)
from inclusive_day.units.models import Level, Unit
from tests.conftest import count_queries

TODAY = local_today()
TOMORROW = TODAY + timedelta(days=1)


@pytest.fixture(autouse=True)
def english(app):
    """Messages read outside a request in English, so that tests can match them."""
    with force_locale("en"):
        yield


@pytest.fixture
def tree(make_unit):
    """Yunnan > Kunming > Wuhua (> Huashan street), Panlong."""
    province = make_unit("云南省总工会", code="530000")
    city = make_unit("昆明市总工会", province, code="530100")
    wuhua = make_unit("五华区总工会", city, code="530102")
    return {
        "province": province,
        "city": city,
        "wuhua": wuhua,
        "panlong": make_unit("盘龙区总工会", city, code="530103"),
        "street": make_unit("华山街道工会", wuhua),
    }


def host_type(code: str) -> HostType:
    return _db.session.scalar(select(HostType).where(HostType.code == code))


def label(code: str) -> Label:
    return _db.session.scalar(select(Label).where(Label.code == code))


def _form(unit, **changes):
    data = {
        "code": "KM-WH-100",
        "name": "华山南路驿站",
        "unit": unit.id,
        "opening_hours": "08:00-20:00",
        "coord_system": "wgs84",
        "host_type": host_type("cabin").id,
        "partners": "",
        "status": "active",
        "opened_on": "2023-05-01",
        "closed_on": "",
        "closure_reason": "",
    }
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


def _count(model) -> int:
    return _db.session.scalar(select(func.count()).select_from(model))


def _text(response) -> str:
    return response.get_data(as_text=True)


# -- the lifecycle's rules ----------------------------------------------------------------


@pytest.mark.parametrize(
    "life, field, message",
    [
        (Lifecycle(StationStatus.ACTIVE, TOMORROW), "opened_on", "in the future"),
        (Lifecycle(StationStatus.SUSPENDED, None), "opened_on", "Give the day the station opened"),
        (Lifecycle(StationStatus.PLANNED, TODAY), "opened_on", "has not opened yet"),
        (
            Lifecycle(StationStatus.UNDER_CONSTRUCTION, None, TODAY),
            "closed_on",
            "Only a closed station",
        ),
        (
            Lifecycle(StationStatus.CLOSED, date(2023, 5, 1), date(2023, 4, 30), "拆迁"),
            "closed_on",
            "before the opening day",
        ),
        (
            Lifecycle(StationStatus.CLOSED, date(2023, 5, 1), TOMORROW, "拆迁"),
            "closed_on",
            "in the future",
        ),
        (Lifecycle(StationStatus.CLOSED, date(2023, 5, 1), None, "拆迁"), "closed_on", "closed."),
        (
            Lifecycle(StationStatus.CLOSED, date(2023, 5, 1), date(2023, 6, 1), "  "),
            "closure_reason",
            "Say why",
        ),
        (Lifecycle(StationStatus.ACTIVE, date(2023, 5, 1), date(2023, 6, 1)), "closed_on", "Only"),
    ],
)
def test_the_lifecycle_rules(app, life, field, message):
    with pytest.raises(StationError) as refused:
        check_lifecycle(life, TODAY)
    assert refused.value.field == field and message in str(refused.value.message)


def test_a_good_lifecycle_passes_and_only_a_closed_station_keeps_a_reason(app):
    closed = Lifecycle(StationStatus.CLOSED, date(2023, 5, 1), date(2023, 5, 1), " 拆迁 ")
    assert check_lifecycle(closed, TODAY).closure_reason == "拆迁"
    active = Lifecycle(StationStatus.ACTIVE, TODAY, None, "left over")
    assert check_lifecycle(active, TODAY).closure_reason == ""
    assert check_lifecycle(Lifecycle(StationStatus.PLANNED), TODAY).opened_on is None


def test_a_stored_lifecycle_is_taken_as_it_is(app):
    # Closed before the rules asked for a reason: the other fields stay editable.
    legacy = Lifecycle(StationStatus.CLOSED, date(2023, 5, 1), date(2023, 6, 1), "")
    assert check_lifecycle(legacy, TODAY, before=legacy) == legacy
    with pytest.raises(StationError):
        check_lifecycle(legacy, TODAY)


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"opened_on": TOMORROW.isoformat()}, "is in the future"),
        ({"opened_on": ""}, "Give the day the station opened"),
        (
            {"status": "closed", "closed_on": "2023-04-01", "closure_reason": "拆迁"},
            "cannot be before the opening day",
        ),
        ({"status": "closed", "closed_on": "2023-06-01"}, "Say why the station closed"),
        ({"status": "planned"}, "has not opened yet"),
        ({"partners": "不存在的单位"}, "There is no co-building partner"),
        ({"host_type": "999999"}, "Not a valid choice"),
    ],
)
def test_bad_lifecycle_or_partner_on_the_form_writes_nothing(
    db, client, login, make_user, tree, changes, message
):
    login(make_user(Role.ORGANISER, tree["wuhua"]))
    response = client.post("/stations/new", data=_form(tree["wuhua"], **changes))
    assert response.status_code == 200
    assert message in _text(response)
    assert _count(Station) == 0 and _count(StationPartner) == 0


def test_the_form_keeps_the_lifecycle_partners_and_one_host_type(
    db, client, login, make_user, make_partner, tree
):
    sinopec = make_partner("中国石化", tree["city"])  # kept above the station's unit
    telecom = make_partner("中国电信", tree["wuhua"])
    make_partner("中国电信", tree["province"])  # the nearer keeper wins
    login(make_user(Role.ORGANISER, tree["wuhua"]))
    data = _form(
        tree["street"],
        partners="中国石化、 中国电信；中国石化",
        host_type=[host_type("gas_station").id, host_type("bank").id],
        status="closed",
        opened_on="2023-03-01",
        closed_on="2023-09-30",
        closure_reason="道路改造",
    )
    assert client.post("/stations/new", data=data).status_code == 302
    station = db.session.scalar(select(Station))
    assert {p.id for p in station.partners} == {sinopec.id, telecom.id}
    # One host type: a second value sent for the field is not a second host type.
    assert station.host_type.code == "gas_station"
    assert (station.status, station.opened_on, station.closed_on, station.closure_reason) == (
        StationStatus.CLOSED,
        date(2023, 3, 1),
        date(2023, 9, 30),
        "道路改造",
    )
    page = _text(client.get(f"/stations/{station.id}/edit"))
    assert "中国石化" in page and "道路改造" in page
    shown = _text(client.get(f"/stations/{station.id}"))
    assert f"/stations/partners/{sinopec.id}" in shown and "2023" in shown


def test_a_partner_kept_by_a_sibling_unit_cannot_be_named(db, tree, make_partner):
    make_partner("盘龙区共建单位", tree["panlong"])
    make_partner("街道共建单位", tree["street"])  # below the district: not the district's
    for name in ("盘龙区共建单位", "街道共建单位"):
        with pytest.raises(StationError) as refused:
            find_partners(tree["wuhua"], name)
        assert "kept by 五华区总工会 or a unit above it" in str(refused.value.message)


def test_a_closed_station_without_a_reason_keeps_its_other_fields_editable(
    db, client, login, make_user, make_station, tree
):
    station = make_station(tree["wuhua"], status=StationStatus.CLOSED, opened_on=date(2023, 1, 2))
    assert station.closure_reason == ""
    login(make_user(Role.ORGANISER, tree["wuhua"]))
    data = _form(
        tree["wuhua"],
        code=station.code,
        name="改过名字",
        status="closed",
        opened_on="2023-01-02",
        closed_on=station.closed_on.isoformat(),
        host_type=station.host_type_id,
    )
    assert client.post(f"/stations/{station.id}/edit", data=data).status_code == 302
    db.session.expire_all()
    assert db.session.get(Station, station.id).name == "改过名字"


def test_closing_a_station_from_its_page(db, client, login, make_user, make_station, tree):
    station = make_station(tree["wuhua"], opened_on=date(2023, 5, 1))
    login(make_user(Role.ORGANISER, tree["wuhua"]))
    assert "Close the station" in _text(client.get(f"/stations/{station.id}"))
    refused = client.post(
        f"/stations/{station.id}/close",
        data={"closed_on": "2023-04-01", "closure_reason": "拆迁"},
        follow_redirects=True,
    )
    assert "cannot be before the opening day" in _text(refused)
    db.session.expire_all()
    assert db.session.get(Station, station.id).status is StationStatus.ACTIVE
    client.post(
        f"/stations/{station.id}/close", data={"closed_on": "2023-12-31", "closure_reason": "拆迁"}
    )
    db.session.expire_all()
    closed = db.session.get(Station, station.id)
    assert (closed.status, closed.closed_on, closed.closure_reason) == (
        StationStatus.CLOSED,
        date(2023, 12, 31),
        "拆迁",
    )
    assert "Close the station" not in _text(client.get(f"/stations/{station.id}"))


def test_the_close_service_checks_the_same_rules(db, make_station, tree):
    station = make_station(tree["wuhua"], opened_on=date(2023, 5, 1))
    with pytest.raises(StationError):
        close_station(station, TOMORROW, "拆迁")
    with pytest.raises(StationError):
        close_station(station, date(2023, 6, 1), "")


def test_stations_not_yet_open_are_not_public(client, make_station, tree):
    make_station(tree["wuhua"], "规划中的驿站", code="KM-P-1", status=StationStatus.PLANNED)
    make_station(
        tree["wuhua"], "在建的驿站", code="KM-P-2", status=StationStatus.UNDER_CONSTRUCTION
    )
    make_station(tree["wuhua"], "开着的驿站")
    listed = _text(client.get("/directory/"))
    assert "开着的驿站" in listed and "规划中的驿站" not in listed and "在建的驿站" not in listed
    assert client.get("/directory/stations/KM-P-1").status_code == 404
    assert client.get("/s/KM-P-2").status_code == 404


# -- labels -------------------------------------------------------------------------------


def test_labels_are_awarded_by_the_station_s_unit_or_one_above(db, make_station, tree):
    station = make_station(tree["wuhua"])
    award_label(station, label("provincial_level"), 2023, tree["province"])
    award_label(station, label("demonstration"), 2024, tree["wuhua"])
    with pytest.raises(StationError) as below:
        award_label(station, label("smart"), 2023, tree["street"])
    assert "a label is awarded by the station's own unit or a unit above it" in str(
        below.value.message
    )
    with pytest.raises(StationError):
        award_label(station, label("smart"), 2023, tree["panlong"])  # beside it
    with pytest.raises(StationError):
        award_label(station, label("smart"), TODAY.year + 1, tree["wuhua"])
    with pytest.raises(StationError):
        award_label(station, label("provincial_level"), 2024, tree["wuhua"])  # held already
    db.session.commit()
    assert sorted((a.label.code, a.year) for a in station.label_awards) == [
        ("demonstration", 2024),
        ("provincial_level", 2023),
    ]


def test_labels_are_awarded_and_withdrawn_on_the_station_page(
    db, client, login, make_user, make_station, tree
):
    station = make_station(tree["wuhua"])
    login(make_user(Role.ORGANISER, tree["wuhua"]))
    below = client.post(
        f"/stations/{station.id}/labels",
        data={"label": label("smart").id, "year": 2023, "awarded_by": tree["street"].id},
        follow_redirects=True,
    )
    assert "cannot award a label" in _text(below) and _count(LabelAward) == 0
    client.post(
        f"/stations/{station.id}/labels",
        data={"label": label("smart").id, "year": 2023, "awarded_by": tree["province"].id},
    )
    award = db.session.scalar(select(LabelAward))
    assert (award.awarded_by_id, award.year) == (tree["province"].id, 2023)
    page = _text(client.get(f"/stations/{station.id}"))
    assert "smart station" in page and "云南省总工会" in page
    client.post(f"/stations/{station.id}/labels/{award.id}/withdraw")
    assert _count(LabelAward) == 0
    again = client.post(f"/stations/{station.id}/labels/{award.id}/withdraw", follow_redirects=True)
    assert "does not hold that label" in _text(again)


def test_a_viewer_cannot_award_or_close(db, client, login, make_user, make_station, tree):
    station = make_station(tree["wuhua"])
    login(make_user(Role.VIEWER, tree["wuhua"]))
    data = {"label": label("smart").id, "year": 2023, "awarded_by": tree["wuhua"].id}
    assert client.post(f"/stations/{station.id}/labels", data=data).status_code == 404
    close = {"closed_on": "2023-12-31", "closure_reason": "x"}
    assert client.post(f"/stations/{station.id}/close", data=close).status_code == 404


# -- the host-type and label sets ---------------------------------------------------------


def test_administrators_manage_the_sets(db, client, login, make_user, make_station, tree):
    make_station(tree["wuhua"], host_type=host_type("bank"))
    login(make_user(Role.ADMIN))
    page = _text(client.get("/stations/catalogues/host-types/"))
    assert "bank branch" in page and "gas station" in page
    added = client.post(
        "/stations/catalogues/host-types/new",
        data={"code": "toilet_block", "name_zh": "环卫公厕", "name_en": "public toilet block"},
    )
    assert added.status_code == 302
    new = host_type("toilet_block")
    assert new.position == max(h.position for h in db.session.scalars(select(HostType)))
    taken = client.post(
        "/stations/catalogues/host-types/new",
        data={"code": "bank", "name_zh": "银行", "name_en": "bank"},
    )
    assert "already taken" in _text(taken)
    renamed = client.post(
        f"/stations/catalogues/host-types/{new.id}/edit",
        data={"code": "toilet_block", "name_zh": "公厕驿站", "name_en": "toilet station"},
    )
    db.session.expire_all()
    assert renamed.status_code == 302 and host_type("toilet_block").name_zh == "公厕驿站"
    client.post(f"/stations/catalogues/host-types/{new.id}/move", data={"direction": "up"})
    ordered = [h.code for h in db.session.scalars(select(HostType).order_by(HostType.position))]
    assert ordered[-2:] == ["toilet_block", "other"]
    used = client.post(
        f"/stations/catalogues/host-types/{host_type('bank').id}/delete", follow_redirects=True
    )
    assert "cannot be deleted" in _text(used) and host_type("bank") is not None
    other = client.post(
        f"/stations/catalogues/host-types/{host_type('other').id}/delete", follow_redirects=True
    )
    assert "it stays" in _text(other) and host_type("other") is not None
    client.post(f"/stations/catalogues/host-types/{new.id}/delete")
    assert host_type("toilet_block") is None


def test_a_label_in_use_cannot_be_deleted(db, client, login, make_user, make_station, tree):
    award_label(make_station(tree["wuhua"]), label("smart"), 2023, tree["wuhua"])
    db.session.commit()
    login(make_user(Role.ADMIN))
    client.post(f"/stations/catalogues/labels/{label('smart').id}/delete")
    assert label("smart") is not None


def test_organisers_read_the_sets_but_do_not_manage_them(client, login, make_user, tree):
    login(make_user(Role.ORGANISER, tree["city"]))
    assert client.get("/stations/catalogues/labels/").status_code == 200
    assert client.get("/stations/catalogues/labels/new").status_code == 404
    assert client.get("/stations/catalogues/nonsense/").status_code == 404


# -- filters by host type and label -------------------------------------------------------


def _network(make_station, tree, n: int, start: int = 0):
    for i in range(start, start + n):
        station = make_station(
            tree["wuhua"],
            f"加油站驿站{i:02d}",
            host_type=host_type("gas_station" if i % 2 else "bank"),
        )
        if i % 3 == 0:
            award_label(station, label("provincial_level"), 2023, tree["province"])
    _db.session.commit()


def test_the_station_list_filters_by_host_type_and_label(
    db, client, login, make_user, make_station, tree
):
    _network(make_station, tree, 6)
    login(make_user(Role.ORGANISER, tree["city"]))
    page = _text(client.get("/stations/?type=gas_station"))
    assert "加油站驿站01" in page and "加油站驿站00" not in page
    assert "gas station (3)" in page and "bank branch (3)" in page
    both = _text(client.get("/stations/?type=gas_station&label=provincial_level"))
    assert "加油站驿站03" in both and "加油站驿站00" not in both and "加油站驿站01" not in both
    # The label counts are those of the chosen host type.
    assert "provincial-level station (1)" in both
    wrong = client.get("/stations/?type=spaceport")
    assert wrong.status_code == 400 and "is not a host type" in _text(wrong)

    def queries() -> int:
        with count_queries(db.engine) as n:
            assert client.get("/stations/?type=gas_station&label=provincial_level").status_code
        return n["n"]

    few = queries()
    _network(make_station, tree, 12, start=6)
    assert queries() == few


def test_the_directory_filters_by_host_type_and_label(db, client, make_station, tree):
    _network(make_station, tree, 6)
    make_station(tree["wuhua"], "规划的加油站", status=StationStatus.PLANNED)
    page = _text(client.get("/directory/?type=gas_station&label=provincial_level"))
    assert "1 station" in page and "加油站驿站03" in page
    assert "gas station (3)" in _text(client.get("/directory/"))  # the planned one not counted
    on_map = _text(client.get("/directory/map?label=provincial_level"))
    assert "加油站驿站00" in on_map and "加油站驿站01" not in on_map
    wrong = client.get("/directory/?label=best")
    assert wrong.status_code == 400 and "is not a label" in _text(wrong)


# -- partner pages ------------------------------------------------------------------------


def test_partner_pages_list_what_the_user_may_see(
    db, client, login, make_user, make_partner, make_station, tree
):
    city_partner = make_partner("中国石化", tree["city"])
    own = make_partner("五华区共建单位", tree["wuhua"])
    sibling = make_partner("盘龙区共建单位", tree["panlong"])
    login(make_user(Role.ORGANISER, tree["wuhua"]))
    listed = _text(client.get("/stations/partners/"))
    assert "中国石化" in listed and "五华区共建单位" in listed and "盘龙区共建单位" not in listed
    assert client.get(f"/stations/partners/{city_partner.id}").status_code == 200
    assert client.get(f"/stations/partners/{sibling.id}").status_code == 404
    assert client.get(f"/stations/partners/{own.id}/edit").status_code == 200
    # A partner kept above may be looked at, not changed.
    assert client.get(f"/stations/partners/{city_partner.id}/edit").status_code == 404
    assert client.post(f"/stations/partners/{sibling.id}/edit", data={}).status_code == 404


def test_a_station_manager_sees_the_partners_of_their_station(
    db, client, login, make_user, make_partner, make_station, tree
):
    partner = make_partner("中国电信", tree["city"])
    other = make_partner("中国移动", tree["city"])
    station = make_station(tree["wuhua"], partners=[partner])
    login(make_user(Role.STATION_MANAGER, station))
    assert client.get(f"/stations/partners/{partner.id}").status_code == 200
    assert client.get(f"/stations/partners/{other.id}").status_code == 404


def test_a_partner_page_shows_its_stations_traffic_and_activities_in_constant_queries(
    db, client, login, make_user, make_partner, make_station, make_activity, tree
):
    partner = make_partner("中国石化", tree["city"])
    first = make_station(tree["wuhua"], "石化一号站", partners=[partner])
    make_station(tree["panlong"], "石化二号站", partners=[partner])
    make_station(tree["wuhua"], "别人的驿站")
    make_activity(first)  # held in January 2024
    for n, phone in enumerate(("13800138000", "13900139000")):
        door_check_in(first, phone, "courier", f"door-net-{n:04d}")
    db.session.commit()
    login(make_user(Role.ORGANISER, tree["wuhua"]))

    def page() -> tuple[str, int]:
        with count_queries(db.engine) as n:
            response = client.get(f"/stations/partners/{partner.id}")
        assert response.status_code == 200
        return _text(response), n["n"]

    html, few = page()
    # The organiser of Wuhua sees Wuhua's station of the partner, not Panlong's.
    assert "石化一号站" in html and "石化二号站" not in html and "别人的驿站" not in html
    row = html[html.index("石化一号站") :]
    cells = [c.split("<")[0].strip() for c in row.split('<td class="text-end">')[1:5]]
    assert cells == ["2", "2", "1", "0"]  # visits, visitors, activities held, served
    for i in range(8):
        make_station(tree["wuhua"], f"石化{i}号加站", partners=[partner])
    _html, many = page()
    assert many == few


def test_partners_are_created_and_kept_by_a_unit_in_reach(
    db, client, login, make_user, make_sponsor, tree
):
    sponsor = make_sponsor(tree["wuhua"], name="中国石化云南石油分公司")
    login(make_user(Role.ORGANISER, tree["wuhua"]))
    data = {
        "name": "中国石化",
        "unit": tree["wuhua"].id,
        "contact_name": "杨经理",
        "contact_phone": "0871-63101234",
        "sponsor": sponsor.id,
    }
    assert client.post("/stations/partners/new", data=data).status_code == 302
    partner = db.session.scalar(select(Partner))
    assert (partner.unit_id, partner.sponsor_id) == (tree["wuhua"].id, sponsor.id)
    again = client.post("/stations/partners/new", data=data)
    assert "already keeps a partner" in _text(again) and _count(Partner) == 1
    other = client.post("/stations/partners/new", data={**data, "name": "石化二"})
    assert "is already the partner" in _text(other) and _count(Partner) == 1
    outside = client.post("/stations/partners/new", data={**data, "unit": tree["city"].id})
    assert "Not a valid choice" in _text(outside) and _count(Partner) == 1
    bad_name = client.post("/stations/partners/new", data={**data, "name": "甲、乙"})
    assert "commas" in _text(bad_name) and _count(Partner) == 1


def test_a_partner_cannot_move_below_the_stations_it_co_builds(
    db, client, login, make_user, make_partner, make_station, tree
):
    partner = make_partner("中国石化", tree["wuhua"])
    make_station(tree["wuhua"], partners=[partner])
    login(make_user(Role.ORGANISER, tree["wuhua"]))
    data = {"name": "中国石化", "unit": tree["street"].id, "sponsor": 0}
    response = client.post(f"/stations/partners/{partner.id}/edit", data=data)
    assert "1 stations it co-builds are not under" in _text(response)
    db.session.expire_all()
    assert db.session.get(Partner, partner.id).unit_id == tree["wuhua"].id


# -- import and export --------------------------------------------------------------------

HEADER = (
    "驿站编码,驿站名称,所属工会,开放时间,依托类型,称号,共建单位,状态,建成启用日期,关闭日期,关闭原因"
)


def _csv(*rows: str, header: str = HEADER) -> bytes:
    return ("\n".join([header, *rows]) + "\n").encode()


def test_import_reads_types_labels_partners_and_the_lifecycle(db, tree, make_partner):
    sinopec = make_partner("中国石化", tree["city"])
    telecom = make_partner("中国电信", tree["wuhua"])
    rows = [
        "KM-1,石化驿站,五华区总工会,24小时,加油站,省级工会驿站 2023；全国最美工会驿站 2024 @530000,"
        "中国石化、中国电信,运营,2023-03-01,,",
        "KM-2,营业厅驿站,华山街道工会,08:00-20:00,telecom hall,Smart station 2023 @五华区总工会,"
        "中国电信,关闭,2023/2/1,2023年9月30日,道路改造",
        "KM-3,规划驿站,五华区总工会,08:00-20:00,park,,,规划,,,",
    ]
    report = import_stations(_csv(*rows), "a.csv")
    assert report.errors == [] and report.created == 3
    db.session.expire_all()
    stations = {s.code: s for s in db.session.scalars(select(Station))}
    one, two, three = stations["KM-1"], stations["KM-2"], stations["KM-3"]
    assert one.host_type.code == "gas_station" and two.host_type.code == "telecom_hall"
    assert {p.id for p in one.partners} == {sinopec.id, telecom.id}
    assert sorted((a.label.code, a.year, a.awarded_by_id) for a in one.label_awards) == [
        ("national_most_beautiful", 2024, tree["province"].id),
        ("provincial_level", 2023, tree["wuhua"].id),
    ]
    assert [(a.label.code, a.awarded_by_id) for a in two.label_awards] == [
        ("smart", tree["wuhua"].id)
    ]
    assert (two.status, two.opened_on, two.closed_on, two.closure_reason) == (
        StationStatus.CLOSED,
        date(2023, 2, 1),
        date(2023, 9, 30),
        "道路改造",
    )
    assert (three.status, three.opened_on, three.host_type.code) == (
        StationStatus.PLANNED,
        None,
        "park",
    )


@pytest.mark.parametrize(
    "row, column, message",
    [
        ("KM-9,驿站,五华区总工会,24小时,飞船,,,运营,2023-03-01,,", "依托类型", "not a host type"),
        ("KM-9,驿站,五华区总工会,24小时,,最佳驿站 2023,,运营,2023-03-01,,", "称号", "not a label"),
        ("KM-9,驿站,五华区总工会,24小时,,省级工会驿站,,运营,2023-03-01,,", "称号", "with its year"),
        (
            "KM-9,驿站,五华区总工会,24小时,,省级工会驿站 2023 @华山街道工会,,运营,2023-03-01,,",
            "称号",
            "neither the station's unit nor a unit above it",
        ),
        (
            "KM-9,驿站,五华区总工会,24小时,,智慧驿站 2023；smart 2024,,运营,2023-03-01,,",
            "称号",
            "given twice",
        ),
        (
            "KM-9,驿站,五华区总工会,24小时,,,某某公司,运营,2023-03-01,,",
            "共建单位",
            "no co-building",
        ),
        (
            "KM-9,驿站,五华区总工会,24小时,,,盘龙区共建单位,运营,2023-03-01,,",
            "共建单位",
            "no co-building",
        ),
        (
            f"KM-9,驿站,五华区总工会,24小时,,,,运营,{TOMORROW.isoformat()},,",
            "建成启用日期",
            "in the future",
        ),
        ("KM-9,驿站,五华区总工会,24小时,,,,运营,,,", "建成启用日期", "Give the day"),
        ("KM-9,驿站,五华区总工会,24小时,,,,运营,3月1日,,", "建成启用日期", "not a day"),
        (
            "KM-9,驿站,五华区总工会,24小时,,,,关闭,2023-03-01,2023-02-01,拆迁",
            "关闭日期",
            "before the opening day",
        ),
        ("KM-9,驿站,五华区总工会,24小时,,,,关闭,2023-03-01,2023-04-01,", "关闭原因", "Say why"),
        ("KM-9,驿站,五华区总工会,24小时,,,,规划,2023-03-01,,", "建成启用日期", "not opened yet"),
    ],
)
def test_a_bad_network_cell_is_a_row_error_and_nothing_is_written(
    db, tree, make_partner, row, column, message
):
    make_partner("盘龙区共建单位", tree["panlong"])
    good = "KM-8,好驿站,五华区总工会,24小时,加油站,,,运营,2023-03-01,,"
    report = import_stations(_csv(good, row), "a.csv")
    assert [(e.row, e.column) for e in report.errors] == [(3, column)]
    assert message in str(report.errors[0].message)
    assert _count(Station) == 0 and _count(LabelAward) == 0 and _count(StationPartner) == 0


def test_a_closed_row_without_a_closing_column_names_the_column_to_add(db, tree):
    report = import_stations(
        _csv(
            "KM-1,驿站,五华区总工会,24小时,关闭", header="驿站编码,驿站名称,所属工会,开放时间,状态"
        ),
        "a.csv",
    )
    assert [(e.column, str(e.message)) for e in report.errors] == [
        ("关闭日期", "Give the day the station closed.")
    ]


def test_a_new_open_station_without_an_opening_column_opened_today(db, tree):
    report = import_stations(
        _csv("KM-1,驿站,五华区总工会,24小时", header="驿站编码,驿站名称,所属工会,开放时间"), "a.csv"
    )
    assert report.ok
    station = db.session.scalar(select(Station))
    assert (station.opened_on, station.host_type.code) == (TODAY, "other")


def test_columns_left_out_keep_partners_labels_and_type(db, tree, make_partner, make_station):
    partner = make_partner("中国石化", tree["city"])
    station = make_station(
        tree["wuhua"], code="KM-1", partners=[partner], host_type=host_type("gas_station")
    )
    award_label(station, label("smart"), 2023, tree["wuhua"])
    db.session.commit()
    report = import_stations(
        _csv("KM-1,新名字,五华区总工会,24小时", header="驿站编码,驿站名称,所属工会,开放时间"),
        "a.csv",
    )
    assert report.ok and report.updated == 1
    db.session.expire_all()
    kept = db.session.get(Station, station.id)
    assert kept.name == "新名字" and kept.partner_names == "中国石化"
    assert kept.host_type.code == "gas_station" and len(kept.label_awards) == 1
    cleared = import_stations(
        _csv(
            "KM-1,新名字,五华区总工会,24小时,,",
            header="驿站编码,驿站名称,所属工会,开放时间,称号,共建单位",
        ),
        "b.csv",
    )
    assert cleared.ok and cleared.updated == 1
    db.session.expire_all()
    assert db.session.get(Station, station.id).partners == []
    assert _count(LabelAward) == 0


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_an_export_with_the_network_imports_back_unchanged(
    db, tree, make_partner, make_station, fmt
):
    sinopec = make_partner("中国石化", tree["city"])
    telecom = make_partner("中国电信", tree["wuhua"])
    one = make_station(
        tree["street"],
        code="KM-1",
        partners=[sinopec, telecom],
        host_type=host_type("gas_station"),
        opened_on=date(2023, 3, 1),
        open_24h=True,
    )
    award_label(one, label("provincial_level"), 2023, tree["province"])
    award_label(one, label("smart"), 2024, tree["street"])
    make_station(
        tree["wuhua"],
        code="KM-2",
        status=StationStatus.CLOSED,
        opened_on=date(2023, 1, 1),
        closed_on=date(2023, 6, 30),
        closure_reason="撤并",
        open_24h=True,
    )
    make_station(tree["wuhua"], code="KM-3", status=StationStatus.UNDER_CONSTRUCTION, open_24h=True)
    db.session.commit()
    export = export_stations(tree["province"], "csv")
    rows = {r[0]: r for r in csv.reader(io.StringIO(export.data.decode("utf-8-sig")))}
    header = rows["驿站编码"]
    first = dict(zip(header, rows["KM-1"], strict=True))
    assert first["称号"] == "省级工会驿站 2023 @530000；智慧驿站 2024"
    assert first["共建单位"] == "中国电信、中国石化" and first["依托类型"] == "加油站"
    assert first["建成启用日期"] == "2023-03-01"
    second = dict(zip(header, rows["KM-2"], strict=True))
    assert (second["关闭日期"], second["关闭原因"]) == ("2023-06-30", "撤并")
    export = export_stations(tree["province"], fmt)
    report = import_stations(export.data, export.filename)
    assert report.errors == []
    assert (report.created, report.updated, report.unchanged) == (0, 0, 3)


# -- the demo -----------------------------------------------------------------------------


def test_the_kunming_demo_shows_the_network(db):
    load_kunming(echo=lambda _: None)
    db.session.commit()
    partners = {p.name: p for p in db.session.scalars(select(Partner))}
    assert {"中国石化", "中国电信", "中国建设银行", "美团"} <= set(partners)
    assert partners["中国石化"].sponsor.name == "中国石化云南石油分公司"
    stations = list(db.session.scalars(select(Station)))
    assert all(date(2023, 1, 1) <= s.opened_on <= date(2023, 10, 18) for s in stations)
    sinopec = [s for s in stations if s.partner_names == "中国石化"]
    assert sinopec and {s.host_type.code for s in sinopec} == {"gas_station"}
    held = db.session.execute(
        select(Label.code, func.count()).join(LabelAward).group_by(Label.code)
    ).all()
    held = dict(held)
    assert held["national_most_beautiful"] == 1 and held["provincial_level"] >= 3
    kinds = dict(
        db.session.execute(select(FundLine.kind, func.count()).group_by(FundLine.kind)).all()
    )
    assert kinds[FundKind.CONSTRUCTION_SUBSIDY] == len(stations)
    assert kinds[FundKind.OPERATING_SUBSIDY] == held["provincial_level"]
    assert kinds[FundKind.LEVERAGED] >= 1


def test_stations_not_built_yet_are_not_overdue_for_inspection(db, make_station, tree):
    old = datetime(2023, 1, 1, tzinfo=UTC)
    make_station(tree["wuhua"], code="OPEN", created_at=old)
    make_station(tree["wuhua"], code="PLAN", created_at=old, status=StationStatus.PLANNED)
    set_cadences({Level.DISTRICT: 3})
    db.session.commit()
    _counts, rows = overdue(tree["city"], date(2024, 9, 1))
    assert [row.code for row in rows] == ["OPEN"]


def test_a_new_station_starts_open_today_as_other(client, login, make_user, tree):
    login(make_user(Role.ORGANISER, tree["wuhua"]))
    page = _text(client.get("/stations/new"))
    assert '<option selected value="active">' in page
    assert f'value="{TODAY.isoformat()}"' in page
    assert f'<option selected value="{host_type("other").id}">' in page


def test_the_kunming_demo_has_a_construction_year_to_report(db):
    load_kunming(echo=lambda _: None)
    db.session.commit()
    city = db.session.scalar(select(Unit).where(Unit.name == "昆明市总工会"))
    on = date(2023, 12, 31)
    report = build_construction(ConstructionScope(city.id, on, date(2023, 11, 30)))
    assert (report.target, report.built) == (50, 45)
    assert report.handed_down >= report.target  # the districts' targets add up to the city's
    assert all(row.target == row.built + 1 for row in report.rows)
