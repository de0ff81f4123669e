"""The goods-sharing shelf's pages and rollup: opening a shelf and adding items, goods put on and
taken by staff and by workers on their phones, refusals that write nothing, double submits
that record one, takings of the last item at once over HTTP, a public page that shows no
number, and the rollup per sub-unit against a hand count."""

from __future__ import annotations

import io
import threading
import uuid
from datetime import UTC, date, datetime

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select

from inclusive_day.api.models import TokenScope
from inclusive_day.api.tokens import issue_token
from inclusive_day.attendance.models import BeneficiaryGroup
from inclusive_day.auth.models import Role
from inclusive_day.demo.province import build_province, find_province
from inclusive_day.demo.province_shelf import generate_shelves, shelf_stock_is_consistent
from inclusive_day.shelf.models import (
    GiverKind,
    Shelf,
    ShelfGift,
    ShelfItem,
    ShelfPersonDay,
    ShelfTaking,
)
from inclusive_day.shelf.queries import Count, Flow, items_of, shelf_rollup
from inclusive_day.shelf.services import Refusal, add_item, open_shelf
from inclusive_day.shelf.stock import ShelfError, put, take
from inclusive_day.stations.models import Station, StationStatus
from inclusive_day.units.models import Level
from tests.conftest import count_queries

PHONE = "13812345678"
COURIER = BeneficiaryGroup.COURIER


def rows(db) -> tuple[int, int, int, int]:
    """Shelves, items, puttings and takings stored: a refusal changes none."""
    return tuple(
        db.session.scalar(select(func.count()).select_from(model))
        for model in (Shelf, ShelfItem, ShelfGift, ShelfTaking)
    )


def item_of(db, shelf, name: str = "矿泉水") -> ShelfItem:
    return db.session.scalars(
        select(ShelfItem).where(ShelfItem.shelf_id == shelf.id, ShelfItem.name == name)
    ).one()


def stock(db, item_id: int) -> int:
    db.session.expire_all()
    return db.session.get(ShelfItem, item_id).stock


def nonce() -> str:
    return uuid.uuid4().hex


@pytest.fixture
def world(db, make_unit, make_station, make_user, make_sponsor):
    """A city with districts A and B, a station in each, users of each role."""
    city = make_unit("City", level=Level.CITY)
    a = make_unit("District A", city, level=Level.DISTRICT)
    b = make_unit("District B", city, level=Level.DISTRICT)

    class W:
        pass

    w = W()
    w.city, w.a, w.b = city, a, b
    w.station_a = make_station(a, "Station A", code="SA-1", opened_on=date(2024, 1, 1))
    w.station_b = make_station(b, "Station B", code="SB-1", opened_on=date(2024, 1, 1))
    w.organiser_a = make_user(Role.ORGANISER, a)
    w.viewer_a = make_user(Role.VIEWER, a)
    w.manager_a = make_user(Role.STATION_MANAGER, w.station_a)
    w.organiser_b = make_user(Role.ORGANISER, b)
    w.sponsor_a = make_sponsor(a, "石林天外天")
    w.sponsor_b = make_sponsor(b, "Sponsor B")
    return w


# ---- the domain ----------------------------------------------------------------------------


def test_opening_a_shelf_and_adding_items_refuses_bad_input(db, world):
    shelf = open_shelf(world.station_a, date(2024, 6, 1), 2, "by the door")
    db.session.commit()
    with pytest.raises(ShelfError) as again:
        open_shelf(world.station_a, date(2024, 6, 2))
    assert again.value.code is Refusal.ALREADY_OPEN
    with pytest.raises(ShelfError) as bad_limit:
        open_shelf(world.station_b, date(2024, 6, 1), 0)
    assert bad_limit.value.code is Refusal.BAD_LIMIT
    add_item(shelf, " 矿泉水 ", "瓶", None)
    db.session.commit()
    for name, points, code in [
        ("矿泉水", None, Refusal.DUPLICATE_NAME),
        ("", None, Refusal.BAD_NAME),
        ("x" * 81, None, Refusal.BAD_NAME),
        ("雨衣", 0, Refusal.BAD_POINTS),
    ]:
        before = rows(db)
        with pytest.raises(ShelfError) as refused:
            add_item(shelf, name, "", points)
        db.session.rollback()
        assert refused.value.code is code and rows(db) == before
    assert [(i.name, i.unit_label, i.stock) for i in items_of(shelf)] == [("矿泉水", "瓶", 0)]


# ---- the staff page ------------------------------------------------------------------------


def test_an_organiser_opens_a_shelf_adds_items_and_records_goods(db, client, login, world):
    login(world.organiser_a)
    page = client.get(f"/stations/{world.station_a.id}/shelf")
    assert page.status_code == 200 and "Open the shelf" in page.get_data(as_text=True)
    assert "/shelf" in client.get(f"/stations/{world.station_a.id}").get_data(as_text=True)
    base = f"/stations/{world.station_a.id}/shelf"
    opened = client.post(f"{base}/open", data={"opened_on": "2024-06-01", "per_person_day": ""})
    assert opened.status_code == 302
    assert (
        client.post(f"{base}/items", data={"name": "矿泉水", "unit_label": "瓶"}).status_code == 302
    )
    assert client.post(f"{base}/items", data={"name": "雨衣", "points": "20"}).status_code == 302
    shelf = db.session.scalar(select(Shelf).where(Shelf.station_id == world.station_a.id))
    water = item_of(db, shelf)
    put_on = client.post(
        f"{base}/put",
        data={
            "nonce": "n-put-1",
            "item": water.id,
            "quantity": 24,
            "giver": f"sponsor:{world.sponsor_a.id}",
        },
    )
    assert put_on.status_code == 302
    taken = client.post(
        f"{base}/take",
        data={"nonce": "n-take-1", "item": water.id, "quantity": 2, "group": "courier"},
    )
    assert taken.status_code == 302
    assert stock(db, water.id) == 22
    gift = db.session.scalars(select(ShelfGift)).one()
    assert (gift.giver, gift.sponsor_id, gift.recorded_by_id) == (
        GiverKind.SPONSOR,
        world.sponsor_a.id,
        world.organiser_a.id,
    )
    text = client.get(base).get_data(as_text=True)
    assert "石林天外天" in text and "22瓶" in text


def test_a_viewer_sees_the_shelf_but_cannot_record(db, client, login, world, make_shelf):
    shelf = make_shelf(world.station_a, {"毛巾": 5})
    login(world.viewer_a)
    page = client.get(f"/stations/{world.station_a.id}/shelf")
    assert page.status_code == 200 and "毛巾" in page.get_data(as_text=True)
    assert "Record the goods put on" not in page.get_data(as_text=True)
    item = item_of(db, shelf, "毛巾")
    refused = client.post(
        f"/stations/{world.station_a.id}/shelf/take",
        data={"nonce": nonce(), "item": item.id, "quantity": 1, "group": "courier"},
    )
    assert refused.status_code == 404 and stock(db, item.id) == 5


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"quantity": 2}, "Not enough left on the shelf"),
        ({"quantity": 0}, "Give a quantity from 1"),
        ({"quantity": "many"}, "Not a valid integer"),
        ({"phone": ""}, "give a mobile number"),
        ({"phone": "12345"}, "11-digit mobile number"),
        ({"quantity": 3}, "at most 2 a day"),
    ],
)
def test_refused_takings_show_the_form_again_and_write_nothing(
    db, client, login, world, make_shelf, data, message
):
    shelf = make_shelf(world.station_a, {"矿泉水": 1}, per_person_day=2)
    item = item_of(db, shelf)
    login(world.organiser_a)
    before = rows(db)
    form = {"nonce": nonce(), "item": item.id, "quantity": 1, "group": "courier", "phone": PHONE}
    response = client.post(f"/stations/{world.station_a.id}/shelf/take", data=form | data)
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert rows(db) == before and stock(db, item.id) == 1


def test_a_closed_shelf_refuses_puttings_and_takings(db, client, login, world, make_shelf):
    shelf = make_shelf(world.station_a, {"矿泉水": 5})
    item = item_of(db, shelf)
    login(world.manager_a)
    base = f"/stations/{world.station_a.id}/shelf"
    assert client.post(f"{base}/close").status_code == 302
    before = rows(db)
    took = client.post(
        f"{base}/take", data={"nonce": nonce(), "item": item.id, "quantity": 1, "group": "courier"}
    )
    put_on = client.post(
        f"{base}/put", data={"nonce": nonce(), "item": item.id, "quantity": 1, "giver": "citizen"}
    )
    for response in (took, put_on):
        assert response.status_code == 422
        assert "This shelf is closed for now." in response.get_data(as_text=True)
    assert rows(db) == before
    public = client.get(f"/directory/stations/{world.station_a.code}/shelf/take")
    assert "closed for now" in public.get_data(as_text=True)
    assert client.post(f"{base}/reopen").status_code == 302
    assert db.session.get(Shelf, shelf.id).is_open


def test_a_giver_out_of_sight_is_refused(db, client, login, world, make_shelf):
    item = item_of(db, make_shelf(world.station_a, {"矿泉水": 5}))
    login(world.manager_a)
    before = rows(db)
    response = client.post(
        f"/stations/{world.station_a.id}/shelf/put",
        data={
            "nonce": nonce(),
            "item": item.id,
            "quantity": 1,
            "giver": f"sponsor:{world.sponsor_b.id}",
        },
    )
    assert response.status_code == 422 and rows(db) == before


def test_a_double_submit_records_one_putting_and_one_taking(db, client, login, world, make_shelf):
    item = item_of(db, make_shelf(world.station_a, {"矿泉水": 5}))
    login(world.manager_a)
    base = f"/stations/{world.station_a.id}/shelf"
    putting = {"nonce": "same-put", "item": item.id, "quantity": 10, "giver": "citizen"}
    taking = {"nonce": "same-take", "item": item.id, "quantity": 3, "group": "sanitation"}
    for _ in range(2):
        assert client.post(f"{base}/put", data=putting).status_code == 302
        assert client.post(f"{base}/take", data=taking).status_code == 302
    assert rows(db)[2:] == (1, 1) and stock(db, item.id) == 12


def test_the_limit_can_change(db, client, login, world, make_shelf):
    shelf = make_shelf(world.station_a, {"矿泉水": 5})
    login(world.manager_a)
    base = f"/stations/{world.station_a.id}/shelf"
    assert client.post(f"{base}/limit", data={"per_person_day": "3"}).status_code == 302
    assert db.session.get(Shelf, shelf.id).per_person_day == 3
    assert client.post(f"{base}/limit", data={"per_person_day": "0"}).status_code == 422
    assert client.post(f"{base}/limit", data={"per_person_day": ""}).status_code == 302
    db.session.expire_all()
    assert db.session.get(Shelf, shelf.id).per_person_day is None


# ---- the public pages ----------------------------------------------------------------------


def test_the_public_page_shows_stock_and_no_phone(db, client, world, make_shelf):
    shelf = make_shelf(world.station_a, {"矿泉水": 5, "雨衣": 0}, per_person_day=2)
    water = item_of(db, shelf)
    put(water.id, 3, GiverKind.CITIZEN, now=datetime(2024, 6, 1, 2, tzinfo=UTC))
    db.session.commit()
    code = world.station_a.code
    assert f"/directory/stations/{code}/shelf" in client.get(
        f"/directory/stations/{code}"
    ).get_data(as_text=True)
    form = client.get(f"/directory/stations/{code}/shelf/take")
    assert form.status_code == 200 and form.headers["Cache-Control"] == "no-store"
    done = client.post(
        f"/directory/stations/{code}/shelf/take",
        data={
            "nonce": "phone-nonce-1",
            "item": water.id,
            "quantity": 1,
            "group": "courier",
            "phone": PHONE,
        },
    )
    assert done.status_code == 302
    confirmation = client.get(done.headers["Location"])
    page = client.get(f"/directory/stations/{code}/shelf")
    text = page.get_data(as_text=True)
    assert page.status_code == 200 and "矿泉水" in text and "7" in text and "none left" in text
    assert "Last restocked" in text
    for response in (form, confirmation, page):
        body = response.get_data(as_text=True)
        assert PHONE not in body and "138 1234 5678" not in body and "5678" not in body
    taking = db.session.scalars(select(ShelfTaking)).one()
    assert taking.identity and PHONE not in taking.identity


def test_a_worker_over_the_limit_or_without_a_phone_is_refused(db, client, world, make_shelf):
    item = item_of(db, make_shelf(world.station_a, {"矿泉水": 5}, per_person_day=1))
    url = f"/directory/stations/{world.station_a.code}/shelf/take"
    form = {"item": item.id, "quantity": 1, "group": "courier", "phone": PHONE}
    assert client.post(url, data=form | {"nonce": "first-take-1"}).status_code == 302
    before = rows(db)
    over = client.post(url, data=form | {"nonce": "second-take-1"})
    assert over.status_code == 422 and "at most 1 a day" in over.get_data(as_text=True)
    no_phone = client.post(url, data=form | {"nonce": "third-take-1", "phone": ""})
    assert no_phone.status_code == 422
    bad_nonce = client.post(url, data=form | {"nonce": "x"})
    assert bad_nonce.status_code == 422
    assert rows(db) == before and stock(db, item.id) == 4


def test_a_double_tap_on_the_phone_records_one_taking(db, client, world, make_shelf):
    item = item_of(db, make_shelf(world.station_a, {"矿泉水": 5}))
    url = f"/directory/stations/{world.station_a.code}/shelf/take"
    form = {"nonce": "tap-tap-nonce", "item": item.id, "quantity": 1, "group": "courier"}
    first, second = client.post(url, data=form), client.post(url, data=form)
    assert first.status_code == second.status_code == 302
    assert "already recorded" in client.get(second.headers["Location"]).get_data(as_text=True)
    assert rows(db)[3] == 1 and stock(db, item.id) == 4


def test_an_unknown_station_or_one_without_a_shelf_has_no_shelf_page(db, client, world):
    assert client.get("/directory/stations/NOPE/shelf").status_code == 404
    assert client.get(f"/directory/stations/{world.station_a.code}/shelf").status_code == 404


def test_many_takers_of_the_last_items_at_once_over_http_take_them_once(app, db, world, make_shelf):
    """Eight phones take from a shelf holding three at once (on SQLite and PostgreSQL)."""
    item_id = item_of(db, make_shelf(world.station_a, {"矿泉水": 3})).id
    url = f"/directory/stations/{world.station_a.code}/shelf/take"
    n = 8
    barrier = threading.Barrier(n)
    statuses = []

    def run(i):
        client = app.test_client()
        client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
        client.environ_base["REMOTE_ADDR"] = f"10.0.0.{i + 1}"
        form = {"nonce": f"concurrent-{i:04d}", "item": item_id, "quantity": 1, "group": "courier"}
        barrier.wait()
        statuses.append(client.post(url, data=form).status_code)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(statuses) == [302] * 3 + [422] * 5
    assert stock(db, item_id) == 0
    assert db.session.scalar(select(func.count(ShelfTaking.id))) == 3


# ---- the rollup ----------------------------------------------------------------------------


def _rollup_world(db, world, make_shelf, make_station):
    """Shelves at A (two stations) and B, with puttings and takings in and out of June 2024."""
    station_a2 = make_station(world.a, "Station A2", code="SA-2")
    june = datetime(2024, 6, 10, 3, tzinfo=UTC)
    july = datetime(2024, 7, 2, 3, tzinfo=UTC)
    items = {}
    for station in (world.station_a, station_a2, world.station_b):
        items[station.code] = item_of(db, make_shelf(station, {"矿泉水": 0}))
    a1, a2, b = items["SA-1"].id, items["SA-2"].id, items["SB-1"].id
    put(a1, 10, GiverKind.SPONSOR, sponsor_id=world.sponsor_a.id, now=june)
    put(a1, 5, GiverKind.CITIZEN, now=june)
    put(a2, 7, GiverKind.CITIZEN, now=june)
    put(b, 4, GiverKind.SPONSOR, sponsor_id=world.sponsor_b.id, now=june)
    put(b, 100, GiverKind.CITIZEN, now=july)  # outside the period
    take(a1, 3, COURIER, nonce(), now=june)
    take(a2, 2, BeneficiaryGroup.SANITATION, nonce(), now=june)
    take(a2, 1, COURIER, nonce(), now=june)
    take(b, 4, COURIER, nonce(), now=june)
    take(b, 9, COURIER, nonce(), now=july)  # outside the period
    db.session.commit()
    return station_a2


def test_the_rollup_equals_a_hand_count(db, world, make_shelf, make_station):
    _rollup_world(db, world, make_shelf, make_station)
    db.session.refresh(world.city)
    with count_queries(db.engine) as queries:
        rollup = shelf_rollup(world.city, date(2024, 6, 1), date(2024, 6, 30))
    assert queries["n"] == 3
    assert rollup.by_child == {
        world.a.id: Flow(given=22, gifts=3, taken=6, takings=3),
        world.b.id: Flow(given=4, gifts=1, taken=4, takings=1),
    }
    assert rollup.total == Flow(26, 4, 10, 4)
    assert rollup.by_giver == {GiverKind.SPONSOR: Count(14, 2), GiverKind.CITIZEN: Count(12, 2)}
    assert rollup.by_group == {COURIER: Count(8, 3), BeneficiaryGroup.SANITATION: Count(2, 1)}
    assert rollup.open_by_child == {world.a.id: 2, world.b.id: 1}
    district = shelf_rollup(world.a, date(2024, 6, 1), date(2024, 7, 31))
    assert district.total == Flow(22, 3, 6, 3)


def test_the_report_page_and_spreadsheet(db, client, login, world, make_shelf, make_station):
    _rollup_world(db, world, make_shelf, make_station)
    login(world.organiser_a)
    period = "from=2024-06-01&to=2024-06-30"
    page = client.get(f"/shelf/report?unit={world.a.id}&{period}")
    text = page.get_data(as_text=True)
    assert page.status_code == 200 and "22 given, 6 taken" in text
    assert client.get(f"/shelf/report?unit={world.city.id}&{period}").status_code == 404
    assert (
        client.get(f"/shelf/report?unit={world.a.id}&from=2024-07-01&to=2024-06-01").status_code
        == 400
    )
    sheet = client.get(f"/shelf/report.xlsx?unit={world.a.id}&{period}")
    assert sheet.status_code == 200
    book = load_workbook(io.BytesIO(sheet.data))
    values = [list(r) for r in book.active.iter_rows(values_only=True)]
    assert values[-1] == ["Total", 2, 22, 3, 6, 3]


def test_the_api_summary_counts_the_shelves(
    db, client, world, make_shelf, make_station, make_campaign
):
    _rollup_world(db, world, make_shelf, make_station)
    campaign = make_campaign(world.city, starts_on=date(2024, 6, 1), ends_on=date(2024, 6, 30))
    _token, raw = issue_token(world.organiser_a, "test", TokenScope.READ)
    db.session.commit()
    answer = client.get(
        f"/api/v1/reports/summary?campaign={campaign.id}&unit={world.a.id}",
        headers={"Authorization": f"Bearer {raw}"},
    )
    assert answer.status_code == 200, answer.json
    assert answer.json["shelf"] == {
        "given": 22,
        "gifts": 3,
        "taken": 6,
        "takings": 3,
        "open_shelves": 2,
    }


# ---- the synthetic province's shelves ------------------------------------------------------


def test_the_province_generator_puts_shelves_with_a_consistent_year(db):
    build_province(
        stations=60, activities=50, checkins=200, visits=400, seed=3, today=date(2026, 6, 30),
        echo=lambda _: None,
    )  # fmt: skip
    root = find_province()
    lines = []
    figures = generate_shelves(root, seed=3, today=date(2026, 6, 30), echo=lines.append)
    active = db.session.scalar(
        select(func.count(Station.id)).where(
            Station.under(root.path), Station.status == StationStatus.ACTIVE
        )
    )
    assert figures.shelves == round(active * 0.15) == rows(db)[0] > 0
    assert lines == [figures.line()]
    assert shelf_stock_is_consistent()
    assert db.session.scalar(select(func.min(ShelfItem.stock))) >= 0
    stored = (
        db.session.scalar(select(func.sum(ShelfGift.quantity))),
        db.session.scalar(select(func.count(ShelfGift.id))),
        db.session.scalar(select(func.sum(ShelfTaking.quantity))),
        db.session.scalar(select(func.count(ShelfTaking.id))),
    )
    assert tuple(stored) == (figures.given, figures.gifts, figures.taken, figures.takings)
    assert figures.takings > figures.gifts > 0
    first, last = date(2025, 7, 1), date(2026, 6, 30)
    rollup = shelf_rollup(root, first, last)
    assert (rollup.total.given, rollup.total.taken) == (figures.given, figures.taken)
    # No one took more in a day than a limited shelf allows.
    over = db.session.scalar(
        select(func.count())
        .select_from(ShelfPersonDay)
        .join(Shelf, Shelf.station_id == ShelfPersonDay.station_id)
        .where(ShelfPersonDay.taken > Shelf.per_person_day)
    )
    assert over == 0


def test_a_shelf_without_a_limit_keeps_no_identity(db, client, world, make_shelf):
    item = item_of(db, make_shelf(world.station_a, {"矿泉水": 5}))
    url = f"/directory/stations/{world.station_a.code}/shelf/take"
    form = {"nonce": "no-limit-take", "item": item.id, "quantity": 1, "group": "courier"}
    assert client.post(url, data=form | {"phone": PHONE}).status_code == 302
    taking = db.session.scalars(select(ShelfTaking)).one()
    assert (taking.identity, taking.person_key) == (None, None)
