"""Points: earning on check-in, the card on the phone, moving it, spending at a station from the
code the card shows, the rules and the rollup."""

import re
import threading
import uuid
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from inclusive_day.attendance.identity import person_for
from inclusive_day.auth.models import Role
from inclusive_day.database import utcnow
from inclusive_day.extensions import limiter
from inclusive_day.points.card import (
    CARD_COOKIE,
    CardError,
    Refusal,
    account_from_code,
    make_link,
    presentation_code,
    send_link,
)
from inclusive_day.points.earning import set_rule
from inclusive_day.points.ledger import account_for, find_account, post
from inclusive_day.points.models import (
    CardLink,
    EarnRule,
    EntryReason,
    PointAccount,
    PointEntry,
    PointRule,
)
from inclusive_day.points.queries import points_rollup
from inclusive_day.shelf.models import ShelfItem, ShelfTaking
from tests.conftest import PASSWORD

PHONE = "13912345678"
NONCE_INPUT = re.compile(r'<input[^>]*name="nonce"[^>]*>')
VALUE = re.compile(r'value="([^"]*)"')
BALANCE = re.compile(r'data-balance="(\d+)"')
CODE = re.compile(r"<p[^>]*data-code>([^<]+)</p>")


def text(response) -> str:
    """The response body as text."""
    return response.get_data(as_text=True)


def count(db, model) -> int:
    """How many rows the table holds."""
    return db.session.scalar(select(func.count()).select_from(model))


def balance_shown(response) -> int | None:
    """The balance a card or station page shows, if it shows one."""
    found = BALANCE.search(text(response))
    return int(found.group(1)) if found else None


@pytest.fixture
def station(make_station):
    """An active station."""
    return make_station(name="石板坡驿站", code="JZ-SBP-001")


@pytest.fixture
def activity(make_activity, station):
    """An activity at the station, on now."""
    now = utcnow()
    return make_activity(
        station, starts_at=now - timedelta(minutes=30), ends_at=now + timedelta(minutes=90)
    )


@pytest.fixture
def five_points(db, station):
    """The station's unit awards 5 points an activity."""
    set_rule(station.unit, EarnRule.ACTIVITY, 5)
    db.session.commit()


def phone_client(app):
    """A new phone: a browser with no cookies."""
    client = app.test_client()
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    return client


def check_in(client, activity, phone=PHONE):
    """Open the activity's QR page and send its form."""
    url = f"/c/{activity.checkin_token}"
    nonce = VALUE.search(NONCE_INPUT.search(text(client.get(url))).group(0)).group(1)
    return client.post(url, data={"phone": phone, "group": "rider", "nonce": nonce})


def door(client, station, phone=PHONE):
    """Open the station's door page and send its form."""
    url = f"/d/{station.code}"
    nonce = VALUE.search(NONCE_INPUT.search(text(client.get(url))).group(0)).group(1)
    return client.post(url, data={"phone": phone, "group": "courier", "nonce": nonce})


def account_of(db, phone=PHONE) -> PointAccount | None:
    db.session.expire_all()
    return find_account(person_for(phone).identity)


# ---- earning and the card --------------------------------------------------------------------


def test_a_checkin_earns_once_and_leaves_a_card_that_shows_the_balance(
    app, db, client, activity, five_points
):
    response = check_in(client, activity)
    assert response.status_code == 302
    cookie = next(h for h in response.headers.getlist("Set-Cookie") if h.startswith(CARD_COOKIE))
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Max-Age=" in cookie
    assert "Secure" not in cookie  # plain http in tests
    assert PHONE not in cookie
    assert 'href="/points/card"' in text(client.get(response.headers["Location"]))
    page = client.get("/points/card")
    assert page.status_code == 200 and page.headers["Cache-Control"] == "no-store"
    assert balance_shown(page) == 5
    html = text(page)
    assert "taking part in an activity" in html and "石板坡驿站" in html and "+5" in html
    assert PHONE not in html

    # A repeat scan (a new form, the same person) awards nothing more.
    assert check_in(client, activity).status_code == 302
    assert account_of(db).balance == 5 and count(db, PointEntry) == 1


def test_over_https_the_card_cookie_is_secure(app, db, client, activity):
    url = f"/c/{activity.checkin_token}"
    form = text(client.get(url, base_url="https://localhost"))
    nonce = VALUE.search(NONCE_INPUT.search(form).group(0)).group(1)
    response = client.post(
        url,
        data={"phone": PHONE, "group": "rider", "nonce": nonce},
        base_url="https://localhost",
    )
    cookie = next(h for h in response.headers.getlist("Set-Cookie") if h.startswith(CARD_COOKIE))
    assert "Secure" in cookie


def test_a_door_scan_earns_for_the_activity_on_now_and_leaves_a_card(
    app, db, client, station, activity, five_points
):
    response = door(client, station)
    assert response.status_code == 302
    assert any(h.startswith(CARD_COOKIE) for h in response.headers.getlist("Set-Cookie"))
    assert balance_shown(client.get("/points/card")) == 5
    door(client, station)
    assert account_of(db).balance == 5


def test_a_scan_where_no_rule_awards_still_gives_a_card(app, db, client, activity):
    assert check_in(client, activity).status_code == 302
    assert balance_shown(client.get("/points/card")) == 0
    assert account_of(db) is not None and count(db, PointEntry) == 0


def test_the_checkin_api_awards_once(app, db, client, activity, five_points):
    body = {"token": activity.checkin_token, "phone": PHONE, "group": "rider"}
    assert client.post("/api/v1/checkins", json={**body, "nonce": "n" * 16}).status_code == 201
    assert client.post("/api/v1/checkins", json={**body, "nonce": "m" * 16}).status_code == 200
    assert account_of(db).balance == 5 and count(db, PointEntry) == 1


def test_another_phone_typing_the_same_number_sees_nothing(app, db, client, activity, five_points):
    check_in(client, activity)
    stranger = phone_client(app)
    page = stranger.get("/points/card")
    assert page.status_code == 200 and balance_shown(page) is None
    assert "This phone holds no points card" in text(page)
    assert 'name="phone"' not in text(page)  # no way to look points up by number
    assert stranger.post("/points/card", data={"phone": PHONE}).status_code == 405


def test_a_forged_or_old_card_shows_nothing(app, db, client, activity, five_points):
    check_in(client, activity)
    good = client.get_cookie(CARD_COOKIE).value
    forged = phone_client(app)
    forged.set_cookie(CARD_COOKIE, good[:-3] + ("AAA" if not good.endswith("AAA") else "BBB"))
    assert balance_shown(forged.get("/points/card")) is None
    account = account_of(db)
    account.card_version += 1  # the card moved to another phone
    db.session.commit()
    assert balance_shown(client.get("/points/card")) is None


# ---- moving the card ------------------------------------------------------------------------


def test_moving_the_card_retires_the_old_phone_and_the_link_works_once(
    app, db, client, activity, five_points
):
    check_in(client, activity)
    made = client.post("/points/card/link")
    assert made.status_code == 200 and "data:image/svg+xml" in text(made)
    nonce = db.session.scalar(select(CardLink.nonce))
    assert f"/points/link/{nonce}" in text(made)

    new_phone = phone_client(app)
    assert new_phone.get(f"/points/link/{nonce}").status_code == 200  # asks, spends nothing
    assert db.session.scalar(select(CardLink.used_at)) is None
    moved = new_phone.post(f"/points/link/{nonce}")
    assert moved.status_code == 302 and moved.headers["Location"] == "/points/card"
    assert balance_shown(new_phone.get("/points/card")) == 5
    assert balance_shown(client.get("/points/card")) is None  # the old phone's card stops
    version = account_of(db).card_version
    assert version == 2

    third = phone_client(app)
    again = third.post(f"/points/link/{nonce}")
    assert again.status_code == 410 and "used already or has expired" in text(again)
    assert third.get_cookie(CARD_COOKIE) is None
    assert account_of(db).card_version == version
    assert balance_shown(new_phone.get("/points/card")) == 5


def test_an_expired_link_is_refused_and_changes_nothing(app, db, client, activity):
    check_in(client, activity)
    account = account_of(db)
    link = make_link(account, now=utcnow() - timedelta(minutes=16))
    db.session.commit()
    new_phone = phone_client(app)
    assert new_phone.get(f"/points/link/{link.nonce}").status_code == 410
    assert new_phone.post(f"/points/link/{link.nonce}").status_code == 410
    db.session.expire_all()
    assert db.session.get(CardLink, link.id).used_at is None
    assert account_of(db).card_version == 1
    assert balance_shown(client.get("/points/card")) == 0


class FakeGateway:
    """An SMS gateway that keeps what it was asked to send."""

    sent: list[tuple[str, str]] = []

    def __init__(self, config) -> None:
        self.config = config

    def send(self, phone: str, text: str) -> None:
        FakeGateway.sent.append((phone, text))


def test_with_a_gateway_a_link_is_texted_and_the_page_says_the_same_either_way(
    app, db, client, activity
):
    FakeGateway.sent = []
    check_in(client, activity)
    app.config["POINTS_SMS_GATEWAY"] = FakeGateway
    try:
        stranger = phone_client(app)
        assert "Send a link to my number" in text(stranger.get("/points/card"))
        known = stranger.post("/points/send", data={"phone": "139 1234 5678"})
        unknown = stranger.post("/points/send", data={"phone": "13800000000"})
        assert known.status_code == unknown.status_code == 200
        assert text(known) == text(unknown)
        assert balance_shown(known) is None
        [(to, message)] = FakeGateway.sent
        nonce = db.session.scalar(select(CardLink.nonce))
        assert to == PHONE and f"/points/link/{nonce}" in message
        assert stranger.post("/points/send", data={"phone": "12"}).status_code == 422
    finally:
        app.config["POINTS_SMS_GATEWAY"] = None
    assert phone_client(app).get("/points/send").status_code == 404


def test_send_link_sends_nothing_for_a_number_without_a_card(app, db):
    FakeGateway.sent = []
    with app.test_request_context():
        assert not send_link("13700000000", FakeGateway({}), lambda n: n)
        with pytest.raises(CardError):
            send_link("not a number", FakeGateway({}), lambda n: n)
    assert FakeGateway.sent == [] and count(db, CardLink) == 0


# ---- the presentation code -----------------------------------------------------------------


def test_a_presentation_code_works_for_ten_minutes_and_for_the_current_card(app, db):
    account = account_for(person_for(PHONE))
    db.session.commit()
    made = utcnow()
    code = presentation_code(account, made).code
    assert account_from_code(code.lower(), made + timedelta(minutes=9)).id == account.id
    with pytest.raises(CardError) as expired:
        account_from_code(code, made + timedelta(minutes=11))
    assert expired.value.code is Refusal.CODE_EXPIRED
    forged = code[:-1] + ("A" if code[-1] != "A" else "B")
    for bad in (forged, "12-34", "", f"{account.id + 1}{code[len(str(account.id)) :]}"):
        with pytest.raises(CardError) as refused:
            account_from_code(bad, made)
        assert refused.value.code is Refusal.BAD_CODE
    account.card_version += 1
    db.session.commit()
    with pytest.raises(CardError):
        account_from_code(code, made)


# ---- spending at a station -------------------------------------------------------------------


@pytest.fixture
def worker(db):
    """A worker's account holding 10 points."""
    account = account_for(person_for(PHONE))
    post(account.id, 10, EntryReason.ADJUSTMENT)
    db.session.commit()
    return account


@pytest.fixture
def recorder(make_user, station):
    """The station's manager (may record at it)."""
    return make_user(Role.STATION_MANAGER, station)


def code_for(account) -> str:
    return presentation_code(account).code


def service(code, points, nonce=None, name="免费理发券"):
    return {
        "service-code": code,
        "service-nonce": nonce or uuid.uuid4().hex,
        "service-name": name,
        "service-points": str(points),
        "service-submit": "1",
    }


def goods(code, item_id, quantity, nonce=None):
    return {
        "goods-code": code,
        "goods-nonce": nonce or uuid.uuid4().hex,
        "goods-item": str(item_id),
        "goods-quantity": str(quantity),
        "goods-group": "courier",
        "goods-submit": "1",
    }


def test_the_station_shows_the_balance_for_a_presented_code(
    db, client, login, recorder, station, worker
):
    login(recorder)
    url = f"/stations/{station.id}/points"
    assert balance_shown(client.get(url)) is None
    shown = client.get(url, query_string={"code": code_for(worker)})
    assert shown.status_code == 200 and balance_shown(shown) == 10
    assert "correction by an organiser" in text(shown)
    bad = client.get(url, query_string={"code": "1-00AAAAAA"})
    assert bad.status_code == 422 and balance_shown(bad) is None


def test_a_service_spend_and_its_double_submit_spend_once(
    db, client, login, recorder, station, worker
):
    login(recorder)
    url = f"/stations/{station.id}/points"
    body = service(code_for(worker), 4)
    first = client.post(url, data=body)
    second = client.post(url, data=body)
    assert first.status_code == second.status_code == 302
    db.session.expire_all()
    assert db.session.get(PointAccount, worker.id).balance == 6
    spent = db.session.scalars(select(PointEntry).where(PointEntry.delta < 0)).all()
    assert [(e.delta, e.reason, e.note, e.station_id) for e in spent] == [
        (-4, EntryReason.SERVICE, "免费理发券", station.id)
    ]
    assert spent[0].created_by_id == recorder.id and spent[0].balance_after == 6


@pytest.mark.parametrize(
    ("points", "message"),
    [(11, "Not enough points"), (0, "from 1 to"), ("x", "Not a valid integer")],
)
def test_a_refused_service_spend_writes_nothing(
    db, client, login, recorder, station, worker, points, message
):
    login(recorder)
    answer = client.post(f"/stations/{station.id}/points", data=service(code_for(worker), points))
    assert answer.status_code == 422 and message in text(answer)
    assert balance_shown(answer) == 10
    assert count(db, PointEntry) == 1


def test_an_expired_code_spends_nothing(db, client, login, recorder, station, worker):
    login(recorder)
    old = presentation_code(worker, utcnow() - timedelta(minutes=11)).code
    answer = client.post(f"/stations/{station.id}/points", data=service(old, 1))
    assert answer.status_code == 422 and "expired" in text(answer)
    assert count(db, PointEntry) == 1


def _points_item(db, make_shelf, station, stock=3, points=4) -> ShelfItem:
    shelf = make_shelf(station, items={"充电线": stock})
    item = db.session.scalars(select(ShelfItem).where(ShelfItem.shelf_id == shelf.id)).one()
    item.points = points
    db.session.commit()
    return item


def test_goods_paid_in_points_take_the_stock_and_the_points_once(
    db, client, login, recorder, station, worker, make_shelf
):
    item = _points_item(db, make_shelf, station)
    login(recorder)
    url = f"/stations/{station.id}/points"
    assert "充电线 · 4 points" in text(client.get(url, query_string={"code": code_for(worker)}))
    body = goods(code_for(worker), item.id, 2)
    assert client.post(url, data=body).status_code == 302
    assert client.post(url, data=body).status_code == 302
    db.session.expire_all()
    assert db.session.get(ShelfItem, item.id).stock == 1
    assert db.session.get(PointAccount, worker.id).balance == 2
    taking = db.session.scalars(select(ShelfTaking)).one()
    entry = db.session.scalars(select(PointEntry).where(PointEntry.delta < 0)).one()
    assert taking.points == 8 and taking.identity == worker.identity
    assert (entry.delta, entry.reason, entry.taking_id) == (-8, EntryReason.SHELF_GOODS, taking.id)


@pytest.mark.parametrize(
    ("stock", "quantity", "message"),
    [(10, 3, "Not enough points"), (1, 2, "Not enough left on the shelf")],
)
def test_refused_goods_take_nothing_and_spend_nothing(
    db, client, login, recorder, station, worker, make_shelf, stock, quantity, message
):
    item = _points_item(db, make_shelf, station, stock=stock)
    login(recorder)
    answer = client.post(
        f"/stations/{station.id}/points", data=goods(code_for(worker), item.id, quantity)
    )
    assert answer.status_code == 422 and message in text(answer)
    db.session.expire_all()
    assert db.session.get(ShelfItem, item.id).stock == stock
    assert count(db, ShelfTaking) == 0 and count(db, PointEntry) == 1
    assert db.session.get(PointAccount, worker.id).balance == 10


def test_goods_without_a_points_price_or_of_another_station_are_refused(
    db, client, login, recorder, station, worker, make_shelf, make_station
):
    elsewhere = _points_item(db, make_shelf, make_station())
    login(recorder)
    answer = client.post(
        f"/stations/{station.id}/points", data=goods(code_for(worker), elsewhere.id, 1)
    )
    assert answer.status_code == 422 and "points price" in text(answer)
    assert count(db, ShelfTaking) == 0


def test_spends_of_the_last_points_at_once_over_http_spend_once(app, db, recorder, station, worker):
    code = code_for(worker)
    url = f"/stations/{station.id}/points"
    clients = []
    for _ in range(6):
        c = app.test_client()
        c.post("/auth/login", data={"username": recorder.username, "password": PASSWORD})
        clients.append(c)
    barrier = threading.Barrier(len(clients))
    answers, errors = [], []

    def send(c):
        try:
            barrier.wait()
            answers.append(c.post(url, data=service(code, 10)).status_code)
        except Exception as error:  # noqa: BLE001 - reported below
            errors.append(error)

    threads = [threading.Thread(target=send, args=(c,)) for c in clients]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    assert sorted(answers) == [302, 422, 422, 422, 422, 422]
    db.session.expire_all()
    assert db.session.get(PointAccount, worker.id).balance == 0
    assert count(db, PointEntry) == 2


# ---- rules and the rollup --------------------------------------------------------------------


def test_rules_show_what_comes_from_above_and_refuse_bad_figures(
    db, client, login, make_unit, make_user
):
    city = make_unit("荆州市总工会")
    district = make_unit("沙市区总工会", city)
    set_rule(city, EarnRule.VOLUNTEER_HOUR, 10)
    db.session.commit()
    login(make_user(Role.ORGANISER, district))
    page = text(client.get("/points/rules", query_string={"unit": district.id}))
    assert "From above: 10 points, set by 荆州市总工会" in page
    url = f"/points/rules?unit={district.id}"
    refused = client.post(url, data={"volunteer_hour": "", "activity": "10001"})
    assert refused.status_code == 422 and "from 0 to 10,000" in text(refused)
    assert count(db, PointRule) == 1
    assert client.get(f"/points/rules?unit={city.id}").status_code == 404
    saved = client.post(url, data={"volunteer_hour": "0", "activity": "5"})
    assert saved.status_code == 302
    rules = {
        r.rule: r.points
        for r in db.session.scalars(select(PointRule).where(PointRule.unit_id == district.id))
    }
    assert rules == {EarnRule.VOLUNTEER_HOUR: 0, EarnRule.ACTIVITY: 5}


def test_the_rollup_counts_per_sub_unit_and_reason(
    app, db, client, login, make_unit, make_station, make_activity, make_user
):
    city = make_unit("荆州市总工会")
    a, b = make_unit("沙市区", city), make_unit("荆州区", city)
    now = utcnow()
    set_rule(city, EarnRule.ACTIVITY, 5)
    db.session.commit()
    for unit, phones in ((a, ("13900000001", "13900000002")), (b, ("13900000003",))):
        act = make_activity(
            make_station(unit),
            starts_at=now - timedelta(minutes=5),
            ends_at=now + timedelta(hours=1),
        )
        for phone in phones:
            check_in(phone_client(app), act, phone)
    spender = account_of(db, "13900000001")
    station_a = db.session.scalar(
        select(PointEntry.station_id).where(PointEntry.account_id == spender.id)
    )
    post(spender.id, -3, EntryReason.SERVICE, station_id=station_a, note="理发")
    db.session.commit()
    login(make_user(Role.VIEWER, city))
    page = client.get("/points/report", query_string={"unit": city.id})
    assert page.status_code == 200
    rollup = points_rollup(city, now.date() - timedelta(days=1), now.date() + timedelta(days=1))
    by_unit = {u.name: f for u, f in rollup.rows}
    assert by_unit["沙市区"].earned == {EntryReason.ACTIVITY: 10}
    assert by_unit["沙市区"].spent == {EntryReason.SERVICE: 3}
    assert by_unit["沙市区"].active == 2 and by_unit["荆州区"].active == 1
    assert rollup.total.total_earned == 15 and rollup.total.active == 3


def test_refused_codes_are_limited_per_staff_account(app, db, client, login, recorder, station):
    limiter.reset()
    app.config["POINTS_CODE_LIMIT"] = "3 per 10 minutes"
    login(recorder)
    url = f"/stations/{station.id}/points"
    answers = [client.get(url, query_string={"code": f"1-00AAAAA{n}"}) for n in range(4)]
    assert [a.status_code for a in answers] == [422, 422, 422, 429]
    assert client.get(url).status_code == 429  # until the window passes, for this account
    limiter.reset()
