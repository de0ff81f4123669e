"""POST /api/v1/checkins and the check-in rules beneath it: each scan counts once."""

import re
import threading
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from inclusive_day.activities.models import ActivityStatus
from inclusive_day.attendance.models import CheckIn, StationVisit
from inclusive_day.attendance.services import AttendanceError, Refusal, check_in, door_check_in
from inclusive_day.extensions import limiter
from tests.conftest import count_queries

PHONE = "138 0013 8000"
HOUR = timedelta(hours=1)


@pytest.fixture
def live(make_activity):
    """An activity that started an hour ago and ends in an hour."""
    start = datetime.now(UTC) - timedelta(hours=1)
    return make_activity(starts_at=start, ends_at=start + timedelta(hours=2))


def post(client, **body):
    return client.post("/api/v1/checkins", json=body)


def payload(activity, **kw):
    """An anonymous check-in: the activity named by its check-in token, as its QR carries it."""
    body = {
        "token": activity.checkin_token,
        "phone": PHONE,
        "group": "rider",
        "nonce": "n-000000001",
    }
    body.update(kw)
    return {k: v for k, v in body.items() if v is not None}


def rows(db, model=CheckIn) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def test_a_new_checkin_answers_201_and_a_repeat_200_with_the_same_record(client, db, live):
    first = post(client, **payload(live))
    assert first.status_code == 201
    assert first.json["group"] == "rider" and first.json["activity_id"] == live.id
    same_nonce = post(client, **payload(live))
    same_person = post(client, **payload(live, nonce="n-000000002", phone="13800138000"))
    assert same_nonce.status_code == 200 and same_person.status_code == 200
    assert same_nonce.json["id"] == same_person.json["id"] == first.json["id"]
    assert rows(db) == 1


def test_checked_in_at_carries_the_units_offset_like_every_other_time(client, db, live):
    answer = post(client, **payload(live))
    moment = datetime.fromisoformat(answer.json["checked_in_at"])
    assert moment.utcoffset() == timedelta(hours=8)
    assert abs(moment - datetime.now(UTC)) < HOUR


def test_no_phone_number_is_stored_or_returned(client, db, live):
    answer = post(client, **payload(live))
    assert "13800138000" not in answer.get_data(as_text=True)
    stored = db.session.scalar(select(CheckIn))
    assert "13800138000" not in " ".join(str(v) for v in vars(stored).values())
    assert len(stored.identity) == 64


@pytest.mark.parametrize(
    ("change", "status", "field"),
    [
        ({"phone": "12345"}, 422, "phone"),
        ({"group": "astronaut"}, 422, "group"),
        ({"nonce": "short"}, 400, "nonce"),
        ({"nonce": "has spaces in it"}, 400, "nonce"),
        ({"token": "not-a-known-token"}, 404, "token"),
        ({"token": "x" * 500}, 404, "token"),
        ({"token": 12}, 404, "token"),
        ({"token": None}, 404, "token"),
        # An id, the old way, without an API token: ids are a counter anyone could walk.
        ({"token": None, "activity_id": 1}, 401, "token"),
    ],
)
def test_bad_input_answers_4xx_json_and_stores_nothing(client, db, live, change, status, field):
    answer = post(client, **payload(live, **change))
    assert answer.status_code == status
    assert answer.json["field"] == field and answer.json["error"]
    assert rows(db) == 0


def test_a_body_that_is_not_a_json_object_is_refused(client, db, live):
    answer = client.post("/api/v1/checkins", data="phone=1", content_type="text/plain")
    assert answer.status_code == 400 and "error" in answer.json


def test_a_reused_nonce_with_other_data_is_refused(client, db, live):
    post(client, **payload(live))
    tampered = post(client, **payload(live, phone="13900139000"))
    assert tampered.status_code == 409 and tampered.json["field"] == "nonce"
    assert rows(db) == 1


def test_cancelled_finished_and_not_yet_open_activities_refuse(client, db, make_activity, live):
    live.status = ActivityStatus.CANCELLED
    db.session.commit()
    assert post(client, **payload(live)).status_code == 409
    now = datetime.now(UTC)
    done = make_activity(starts_at=now - timedelta(hours=6), ends_at=now - timedelta(hours=4))
    later = make_activity(starts_at=now + timedelta(days=1))
    assert post(client, **payload(done, nonce="n-done00001")).status_code == 409
    early = post(client, **payload(later, nonce="n-later0001"))
    assert early.status_code == 409 and "opens" in early.json["error"]
    assert rows(db) == 0


def test_the_rate_limit_answers_429_json(app, client, db, live):
    app.config["CHECKIN_RATE_LIMIT"] = "3 per minute"
    answers = [post(client, **payload(live, nonce=f"n-rate{i:05d}")).status_code for i in range(5)]
    assert answers[:3] == [201, 200, 200] and answers[3:] == [429, 429]


def test_concurrent_scans_of_the_same_person_store_one_record(app, db, live):
    """Eight threads check the same person in at once, each with its own nonce."""
    results, errors = [], []
    barrier = threading.Barrier(8)
    activity_id = live.id  # read here: the threads must not touch the test's session

    def scan(i):
        with app.app_context():
            try:
                barrier.wait()
                checkin, created = check_in(activity_id, PHONE, "courier", f"n-thread{i:04d}")
                db.session.commit()
                results.append((checkin.id, created))
            except Exception as error:  # noqa: BLE001 - reported below
                errors.append(error)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=scan, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    assert len({cid for cid, _ in results}) == 1
    assert sum(created for _, created in results) == 1
    assert rows(db) == 1


def test_a_door_scan_counts_once_a_day_and_for_the_activity_on_now(db, live, make_station):
    first = door_check_in(live.station, PHONE, "courier", "door-00000001")
    db.session.commit()
    again = door_check_in(live.station, PHONE, "courier", "door-00000002")
    db.session.commit()
    assert first.created and not again.created
    assert [created for _c, created in first.checkins] == [True]
    assert first.checkins[0][0].activity_id == live.id
    assert rows(db, StationVisit) == 1 and rows(db) == 1
    quiet = make_station(live.station.unit)
    alone = door_check_in(quiet, PHONE, "courier", "door-00000003")
    db.session.commit()
    assert alone.created and alone.checkins == []


def test_a_door_visit_is_dated_in_its_units_zone(db, make_unit, make_station):
    """Xinjiang time (UTC+6): 23:30 and 00:30 there are two days, one day in Beijing."""
    unit = make_unit()
    unit.timezone = "Asia/Urumqi"
    station = make_station(unit)
    at = datetime(2024, 3, 1, 17, 30, tzinfo=UTC)  # 23:30 in Urumqi, 01:30 in Beijing
    late = door_check_in(station, PHONE, "courier", "door-0000000u", now=at)
    after_midnight = door_check_in(station, PHONE, "courier", "door-0000000v", now=at + HOUR)
    assert late.created and after_midnight.created
    assert late.visit.visit_day == date(2024, 3, 1)
    assert after_midnight.visit.visit_day == date(2024, 3, 2)


def test_an_early_scan_is_told_when_check_in_opens_in_the_stations_zone(
    app, db, make_unit, make_station, make_activity
):
    unit = make_unit()
    unit.timezone = "Asia/Urumqi"
    activity = make_activity(make_station(unit))
    opens = activity.starts_at - timedelta(minutes=app.config["CHECKIN_GRACE_MINUTES"])
    with pytest.raises(AttendanceError) as refused:
        check_in(activity.id, PHONE, "courier", "n-early0001", now=opens - timedelta(days=1))
    local = opens.astimezone(ZoneInfo("Asia/Urumqi")).strftime("%Y-%m-%d %H:%M")
    assert refused.value.code is Refusal.NOT_YET_OPEN and local in str(refused.value)


def test_a_closed_station_takes_no_door_scans(db, live):
    from inclusive_day.stations.services import close_station

    close_station(live.station, live.station.opened_on, "拆除")
    db.session.commit()
    with pytest.raises(AttendanceError):
        door_check_in(live.station, PHONE, "courier", "door-00000009")


def test_the_station_page_shows_its_door_traffic(client, db, live, make_user, login):
    from inclusive_day.auth.models import Role

    for nonce, phone in (("door-0000000a", PHONE), ("door-0000000b", "13900139000")):
        door_check_in(live.station, phone, "courier", nonce)
        db.session.commit()
    login(make_user(Role.ADMIN))
    page = client.get(f"/stations/{live.station.id}").get_data(as_text=True)
    # Two door visits, and (the activity being on) two check-ins: 2 served, 2 people.
    values = re.findall(r'figure-value">([^<]+)</div>\s*<div class="figure-label">([^<]+)', page)
    shown = {label: value for value, label in values}
    assert shown["Door visits"] == "2" and shown["Visitors"] == "2"
    assert shown["Served"] == "2"


def test_a_new_checkin_by_token_is_one_statement_and_its_counts(client, db, live, monkeypatch):
    """The insert finds the activity by its token itself: a new check-in is that statement,
    the minute's count and the points rule, no lookup of the token before them (the address's
    count, in the limits' storage, is left out here)."""
    monkeypatch.setattr(limiter, "enabled", False)
    body = payload(live)
    with count_queries(db.engine) as statements:
        answer = post(client, **body)
    assert answer.status_code == 201
    assert statements["n"] == 3


def test_a_repeat_by_token_still_answers_with_the_earlier_record(client, db, live, monkeypatch):
    monkeypatch.setattr(limiter, "enabled", False)
    first = post(client, **payload(live))
    body = payload(live, nonce="n-000000002")
    with count_queries(db.engine) as statements:
        again = post(client, **body)
    assert again.status_code == 200 and again.json["id"] == first.json["id"]
    # The insert that stored nothing, the token's activity, the earlier check-in.
    assert statements["n"] == 3
