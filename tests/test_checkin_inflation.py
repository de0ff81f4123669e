"""Check-ins no one can inflate: the activity is named by its check-in token (ids only with a
scanner's API token), no activity takes more check-ins a minute than its station can serve,
every refusal is recorded, and organisers see and annul the minutes under review."""

import threading
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from inclusive_day.activities.models import Activity
from inclusive_day.api.models import TokenScope
from inclusive_day.api.tokens import issue_token
from inclusive_day.attendance.identity import address_key
from inclusive_day.attendance.models import (
    CheckIn,
    CheckInMinute,
    CheckInRefusal,
    CheckInSource,
    LimitKind,
    StationVisit,
)
from inclusive_day.attendance.queries import bursts_under_review, totals
from inclusive_day.attendance.services import (
    AttendanceError,
    Refusal,
    annul_burst,
    check_in,
    checkin_capacity,
    door_check_in,
    record_checkin,
    refuse_checkins,
    set_checkin_capacity,
)
from inclusive_day.audit.models import AuditEvent
from inclusive_day.auth.models import Role

# One moment inside one minute, for the figures that count per minute.
NOW = datetime.now(UTC).replace(second=10, microsecond=0)
MINUTE = timedelta(minutes=1)


def phone(n: int) -> str:
    return f"139{n:08d}"


def nonce(n: int, prefix: str = "n") -> str:
    return f"{prefix}-{n:010d}"


@pytest.fixture
def live(make_activity):
    """An activity on now: started an hour before NOW, ends an hour after."""
    return make_activity(starts_at=NOW - timedelta(hours=1), ends_at=NOW + timedelta(hours=1))


@pytest.fixture
def frozen(monkeypatch):
    """Every check-in view sees NOW, so that a test's requests fall in one minute."""
    for module in ("inclusive_day.api.checkins", "inclusive_day.attendance.views_public"):
        monkeypatch.setattr(f"{module}.utcnow", lambda: NOW)
    return NOW


def rows(db, model=CheckIn) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def refusals(db) -> list[CheckInRefusal]:
    return list(db.session.scalars(select(CheckInRefusal).order_by(CheckInRefusal.id)))


def body(activity, n: int, **kw) -> dict:
    answer = {
        "token": activity.checkin_token,
        "phone": phone(n),
        "group": "rider",
        "nonce": nonce(n),
    }
    answer.update(kw)
    return {k: v for k, v in answer.items() if v is not None}


def bearer(db, user, scope=TokenScope.WRITE) -> dict:
    _token, raw = issue_token(user, "scanner", scope)
    db.session.commit()
    return {"Authorization": f"Bearer {raw}"}


# ---- the check-in token ----------------------------------------------------------------------


def test_every_activity_gets_its_own_random_check_in_token(make_activity):
    first, second = make_activity(), make_activity()
    assert first.checkin_token != second.checkin_token
    assert len(first.checkin_token) >= 22
    assert first.checkin_token not in first.uid and str(first.id) != first.checkin_token


def test_the_check_in_token_stays_out_of_the_audit_log_and_capacity_changes_go_in(db, live):
    set_checkin_capacity(live, 9)
    db.session.commit()
    events = db.session.scalars(
        select(AuditEvent).where(AuditEvent.object_type == "activity")
    ).all()
    assert events and all(live.checkin_token not in str(e.changes) for e in events)
    assert any(e.changes.get("checkins_per_minute") == [None, 9] for e in events)


def test_anyone_checks_in_by_the_token_and_no_one_by_the_id(client, db, live):
    by_id = client.post(
        "/api/v1/checkins", json={**body(live, 1, token=None), "activity_id": live.id}
    )
    assert by_id.status_code == 401 and by_id.json["field"] == "token"
    assert rows(db) == 0
    by_token = client.post("/api/v1/checkins", json=body(live, 1))
    assert by_token.status_code == 201 and by_token.json["activity_id"] == live.id


def test_the_calendar_uid_that_feeds_publish_opens_no_check_in(client, db, live):
    published = live.uid.removesuffix("@inclusive-day")
    answer = client.post("/api/v1/checkins", json=body(live, 1, token=published))
    assert answer.status_code == 404 and answer.json["field"] == "token"
    assert client.get(f"/c/{published}").status_code == 404
    assert rows(db) == 0


def test_a_scanner_with_a_write_token_may_use_ids_where_it_records(
    client, db, live, make_user, make_activity
):
    manager = make_user(Role.STATION_MANAGER, on=live.station)
    headers = bearer(db, manager)
    scan = {**body(live, 1, token=None), "activity_id": live.id}
    answer = client.post("/api/v1/checkins", json=scan, headers=headers)
    assert answer.status_code == 201 and answer.json["source"] == "api"
    elsewhere = make_activity(starts_at=NOW - timedelta(hours=1))
    other = {**body(elsewhere, 2, token=None), "activity_id": elsewhere.id}
    assert client.post("/api/v1/checkins", json=other, headers=headers).status_code == 404
    read_only = bearer(db, manager, TokenScope.READ)
    scan_again = {**scan, "nonce": nonce(3), "phone": phone(3)}
    assert client.post("/api/v1/checkins", json=scan_again, headers=read_only).status_code == 403
    unknown = {"Authorization": "Bearer idk_not-a-token"}
    assert client.post("/api/v1/checkins", json=scan_again, headers=unknown).status_code == 401
    assert rows(db) == 1


def test_the_openapi_document_says_how_to_name_the_activity(client):
    spec = client.get("/api/v1/openapi.json").json
    operation = spec["paths"]["/api/v1/checkins"]["post"]
    assert operation["security"] == [{}, {"bearer": []}]
    assert {"401", "403", "429"} <= set(operation["responses"])
    fields = spec["components"]["schemas"]["CheckInIn"]["properties"]
    assert "token" in fields and "activity_id" in fields
    assert "token" not in spec["components"]["schemas"]["CheckInIn"].get("required", [])


# ---- the capacity a minute ---------------------------------------------------------------------


def test_the_capacity_comes_from_the_activity_else_its_station_else_the_app(app, db, live):
    assert checkin_capacity(live) == app.config["CHECKIN_CAPACITY_PER_MINUTE"] == 30
    set_checkin_capacity(live.station, 12)
    assert checkin_capacity(live) == 12
    set_checkin_capacity(live, 5)
    assert checkin_capacity(live) == 5
    set_checkin_capacity(live, None)
    assert checkin_capacity(live) == 12


@pytest.mark.parametrize("bad", [0, -1, 1_000_000, 2.5, True])
def test_a_capacity_out_of_range_is_refused_and_changes_nothing(db, live, bad):
    set_checkin_capacity(live, 7)
    db.session.commit()
    with pytest.raises(AttendanceError) as refused:
        set_checkin_capacity(live, bad)
    db.session.rollback()
    assert refused.value.field == "checkins_per_minute"
    assert db.session.get(Activity, live.id).checkins_per_minute == 7


def test_no_minute_takes_more_than_the_capacity(db, live):
    set_checkin_capacity(live, 3)
    db.session.commit()
    for n in range(3):
        check_in(live.id, phone(n), "rider", nonce(n), now=NOW)
        db.session.commit()
    with pytest.raises(AttendanceError) as refused:
        check_in(live.id, phone(9), "rider", nonce(9), now=NOW + timedelta(seconds=40))
    assert refused.value.code is Refusal.FULL
    db.session.commit()  # even committed, the refused check-in left nothing behind
    assert rows(db) == 3
    # The next minute takes check-ins again; a repeat of an accepted one is no new check-in.
    check_in(live.id, phone(9), "rider", nonce(9), now=NOW + MINUTE)
    _same, created = check_in(live.id, phone(0), "rider", nonce(0), now=NOW + MINUTE)
    db.session.commit()
    assert not created and rows(db) == 4
    counted = {m.minute: m.accepted for m in db.session.scalars(select(CheckInMinute))}
    assert sorted(counted.values()) == [1, 3]


def test_paper_sheets_are_not_held_to_the_capacity(db, live):
    set_checkin_capacity(live, 1)
    for n in range(3):
        record_checkin(live, phone(n), "rider", nonce(n), CheckInSource.PAPER, NOW)
    db.session.commit()
    assert rows(db) == 3
    check_in(live.id, phone(7), "rider", nonce(7), now=NOW)
    assert rows(db) == 4


def test_over_the_capacity_the_api_answers_429_and_records_the_refusal(client, db, live, frozen):
    set_checkin_capacity(live, 2)
    db.session.commit()
    answers = [client.post("/api/v1/checkins", json=body(live, n)).status_code for n in range(4)]
    assert answers == [201, 201, 429, 429]
    assert rows(db) == 2
    [refused] = refusals(db)
    assert (refused.activity_id, refused.kind, refused.count) == (live.id, LimitKind.CAPACITY, 2)
    assert refused.minute == NOW.replace(second=0)
    assert refused.address_hash == address_key("127.0.0.1") and "127.0.0.1" not in vars(refused)


def test_over_the_capacity_the_qr_page_says_so_and_records_it(client, db, live, frozen):
    set_checkin_capacity(live, 1)
    db.session.commit()
    form = {"phone": phone(1), "group": "rider", "nonce": nonce(1)}
    assert client.post(f"/c/{live.checkin_token}", data=form).status_code == 302
    again = client.post(
        f"/c/{live.checkin_token}", data={**form, "phone": phone(2), "nonce": nonce(2)}
    )
    assert again.status_code == 429
    assert "as many check-ins this minute as its station can serve" in again.get_data(as_text=True)
    assert rows(db) == 1 and [r.kind for r in refusals(db)] == [LimitKind.CAPACITY]


def test_a_door_scan_at_a_full_activity_counts_the_visit_but_not_the_check_in(db, live):
    set_checkin_capacity(live, 1)
    door_check_in(live.station, phone(1), "courier", nonce(1, "door"), now=NOW, address_hash="a")
    result = door_check_in(
        live.station, phone(2), "courier", nonce(2, "door"), now=NOW, address_hash="b"
    )
    db.session.commit()
    assert result.created and result.checkins == [] and result.refused == [live]
    assert rows(db, StationVisit) == 2 and rows(db) == 1
    [refused] = refusals(db)
    assert (refused.address_hash, refused.kind) == ("b", LimitKind.CAPACITY)


def test_concurrent_scans_never_take_more_than_the_capacity(app, db, live):
    """Twelve threads, each a connection of its own, check twelve people in at once."""
    set_checkin_capacity(live, 5)
    db.session.commit()
    activity_id, barrier, outcomes = live.id, threading.Barrier(12), []

    def scan(i):
        with app.app_context():
            try:
                barrier.wait()
                check_in(activity_id, phone(i), "courier", nonce(i), now=NOW)
                db.session.commit()
                outcomes.append("accepted")
            except AttendanceError as error:
                db.session.rollback()
                outcomes.append(error.code.value)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=scan, args=(i,)) for i in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["accepted"] * 5 + ["full"] * 7
    assert rows(db) == 5


# ---- the limit per client address ---------------------------------------------------------------


def test_one_address_is_limited_over_the_api_and_the_pages_together(app, client, db, live, frozen):
    app.config["CHECKIN_RATE_LIMIT"] = "3 per minute"
    assert client.post("/api/v1/checkins", json=body(live, 1)).status_code == 201
    form = {"phone": phone(2), "group": "rider", "nonce": nonce(2)}
    assert client.post(f"/c/{live.checkin_token}", data=form).status_code == 302
    door = {"phone": phone(3), "group": "rider", "nonce": nonce(3, "door")}
    assert client.post(f"/d/{live.station.code}", data=door).status_code == 302
    # The fourth, on any of the three, is over the address's limit, and recorded.
    over = client.post("/api/v1/checkins", json=body(live, 4))
    assert over.status_code == 429 and over.json["code"] == "rate_limited"
    assert (
        client.post(f"/c/{live.checkin_token}", data={**form, "phone": phone(5)}).status_code == 429
    )
    assert rows(db) == 3  # the door scan checked in to the activity on now too
    [refused] = refusals(db)
    assert (refused.kind, refused.count) == (LimitKind.ADDRESS, 2)


# ---- check-ins under review, and a burst annulled at once ----------------------------------------


def _burst(db, live, n: int = 3, refused: int = 2):
    """n check-ins in NOW's minute, a paper one at the same time, and `refused` refusals."""
    set_checkin_capacity(live, n)
    for i in range(n):
        check_in(live.id, phone(i), "rider", nonce(i), now=NOW + timedelta(seconds=i))
    record_checkin(live, phone(50), "elderly", nonce(50), CheckInSource.PAPER, NOW)
    check_in(live.id, phone(60), "rider", nonce(60), now=NOW - MINUTE)  # the minute before
    for i in range(refused):
        refuse_checkins([live.id], LimitKind.CAPACITY, f"address-{i % 2}", NOW)
    db.session.commit()


def test_a_minute_at_its_capacity_is_under_review_even_without_refusals(db, live):
    _burst(db, live, n=2, refused=0)
    [burst] = bursts_under_review([Activity.id == live.id])
    assert (burst.accepted, burst.standing, burst.refused) == (2, 2, 0)
    assert burst.minute == NOW.replace(second=0)


def test_refusals_put_their_minute_and_the_one_before_under_review(db, live):
    check_in(live.id, phone(1), "rider", nonce(1), now=NOW - MINUTE)
    check_in(live.id, phone(2), "rider", nonce(2), now=NOW)
    refuse_checkins([live.id], LimitKind.ADDRESS, "x", NOW)
    refuse_checkins([live.id], LimitKind.ADDRESS, "y", NOW)
    db.session.commit()
    bursts = bursts_under_review([Activity.id == live.id])
    assert [(b.accepted, b.refused, b.addresses) for b in bursts] == [(1, 0, 0), (1, 2, 2)]


def test_the_attendance_page_lists_the_minutes_under_review(client, db, live, make_user, login):
    _burst(db, live)
    login(make_user(Role.STATION_MANAGER, on=live.station))
    page = client.get(f"/activities/{live.id}/attendance").get_data(as_text=True)
    assert "Check-ins under review" in page
    assert "from 2 addresses" in page and "3 of 3" in page and "Annul 3 check-ins" in page
    # A station manager reviews and annuls, but the capacity is an organiser's to set.
    assert "checkin-capacity" not in page


def test_annulling_a_burst_annuls_its_minute_s_live_check_ins_and_nothing_else(
    client, db, live, make_user, login
):
    _burst(db, live)
    login(make_user(Role.STATION_MANAGER, on=live.station))
    minute = int(NOW.replace(second=0).timestamp())
    url = f"/activities/{live.id}/bursts/{minute}/annul"
    assert client.post(url, data={"reason": " "}).status_code == 302
    assert totals([Activity.id == live.id]).checkins == 5  # no reason: nothing annulled
    answer = client.post(url, data={"reason": "a burst of fake check-ins"})
    assert answer.status_code == 302
    annulled = db.session.scalars(select(CheckIn).where(CheckIn.annulled_at.is_not(None))).all()
    assert sorted(c.identity for c in annulled) == sorted(
        c.identity
        for c in db.session.scalars(select(CheckIn).where(CheckIn.source != CheckInSource.PAPER))
        if c.checked_in_at >= NOW.replace(second=0)
    )
    assert len(annulled) == 3 and {c.annul_reason for c in annulled} == {
        "a burst of fake check-ins"
    }
    # Annulled check-ins stop counting everywhere: the paper one and the minute before stay.
    assert totals([Activity.id == live.id]).checkins == 2
    [burst] = [b for b in bursts_under_review([Activity.id == live.id]) if b.refused]
    assert burst.standing == 0
    # The minute before, which the refusals followed, is still under review and counting.
    [before] = bursts_under_review([Activity.id == live.id], still_counting=True)
    assert before.minute == NOW.replace(second=0) - MINUTE and before.standing == 1
    assert client.post(url, data={"reason": "again"}).status_code == 302  # nothing left: said


def test_only_a_minute_under_review_can_be_annulled_at_once(client, db, live, make_user, login):
    _burst(db, live, refused=0)
    login(make_user(Role.ORGANISER, on=live.station.unit))
    quiet = int((NOW - 5 * MINUTE).replace(second=0).timestamp())
    odd = int(NOW.timestamp())  # not the start of a minute
    for minute in (quiet, odd, 10**20):
        answer = client.post(f"/activities/{live.id}/bursts/{minute}/annul", data={"reason": "x"})
        assert answer.status_code == 404
    assert totals([Activity.id == live.id]).checkins == 5


def test_annul_burst_needs_a_reason_and_something_to_annul(db, live, make_user):
    _burst(db, live)
    user = make_user(Role.ADMIN)
    minute = NOW.replace(second=0)
    with pytest.raises(AttendanceError) as no_reason:
        annul_burst(live, minute, "", user)
    assert no_reason.value.code is Refusal.NO_REASON
    assert annul_burst(live, minute, "fake", user) == 3
    with pytest.raises(AttendanceError) as nothing:
        annul_burst(live, minute, "fake", user)
    assert nothing.value.code is Refusal.NOTHING_TO_ANNUL


def test_the_recap_shows_the_check_ins_under_review(client, db, live, make_user, login):
    _burst(db, live)
    login(make_user(Role.ORGANISER, on=live.station.unit))
    day = NOW.astimezone(UTC).date()
    query = (
        f"campaign={live.campaign_id}&unit={live.station.unit_id}"
        f"&from={day - timedelta(days=1)}&to={day + timedelta(days=1)}"
    )
    page = client.get(f"/reports/recap?{query}").get_data(as_text=True)
    assert "Check-ins under review" in page and live.title in page
    assert f"/activities/{live.id}/attendance#review" in page
    assert page.count(f"/activities/{live.id}/attendance#review") == 2  # and the minute before
    admin = make_user(Role.ADMIN)
    for minute in (NOW.replace(second=0), NOW.replace(second=0) - MINUTE):
        annul_burst(live, minute, "fake", admin)
    db.session.commit()
    page = client.get(f"/reports/recap?{query}").get_data(as_text=True)
    assert "Check-ins under review" not in page


def test_an_organiser_sets_the_activity_s_check_ins_a_minute(client, db, live, make_user, login):
    login(make_user(Role.ORGANISER, on=live.station.unit))
    url = f"/activities/{live.id}/checkin-capacity"
    assert client.post(url, data={"checkins_per_minute": "12"}).status_code == 302
    db.session.expire_all()
    assert db.session.get(Activity, live.id).checkins_per_minute == 12
    for bad in ("0", "-3", "many", "100000"):
        answer = client.post(url, data={"checkins_per_minute": bad})
        assert answer.status_code == 422, bad
        db.session.expire_all()
        assert db.session.get(Activity, live.id).checkins_per_minute == 12
    assert client.post(url, data={"checkins_per_minute": ""}).status_code == 302
    db.session.expire_all()
    assert db.session.get(Activity, live.id).checkins_per_minute is None


def test_a_station_manager_may_not_set_the_capacity(client, db, live, make_user, login):
    login(make_user(Role.STATION_MANAGER, on=live.station))
    url = f"/activities/{live.id}/checkin-capacity"
    assert client.post(url, data={"checkins_per_minute": "500"}).status_code == 404
    assert db.session.get(Activity, live.id).checkins_per_minute is None


def test_the_station_form_sets_the_station_s_check_ins_a_minute(client, db, live, make_user, login):
    station = live.station
    login(make_user(Role.ORGANISER, on=station.unit))
    page = client.get(f"/stations/{station.id}/edit").get_data(as_text=True)
    assert 'name="checkins_per_minute"' in page
    form = {
        "code": station.code,
        "name": station.name,
        "unit": station.unit_id,
        "coord_system": "wgs84",
        "open_24h": "y",
        "host_type": station.host_type_id,
        "status": "active",
        "opened_on": station.opened_on.isoformat(),
        "checkins_per_minute": "8",
    }
    answer = client.post(f"/stations/{station.id}/edit", data=form)
    assert answer.status_code == 302, answer.get_data(as_text=True)
    db.session.expire_all()
    assert checkin_capacity(db.session.get(Activity, live.id)) == 8
    assert (
        client.post(
            f"/stations/{station.id}/edit", data={**form, "checkins_per_minute": "0"}
        ).status_code
        == 200
    )
    db.session.expire_all()
    assert db.session.get(Activity, live.id).station.checkins_per_minute == 8
