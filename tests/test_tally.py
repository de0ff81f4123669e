"""The offline tally: its page, its service worker, and POST /activities/<id>/tally, where a
retried or concurrent upload of the same taps counts them once."""

import json
import re
import threading

import pytest
from sqlalchemy import func, select

from inclusive_day.activities.models import Activity, ActivityStatus
from inclusive_day.attendance.models import (
    BeneficiaryGroup,
    HeadcountChange,
    HeadcountSource,
)
from inclusive_day.attendance.queries import totals
from inclusive_day.attendance.services import set_headcounts
from inclusive_day.auth.models import Role
from tests.conftest import PASSWORD


@pytest.fixture
def activity(make_activity):
    return make_activity()


@pytest.fixture
def manager(make_user, activity, login):
    return login(make_user(Role.STATION_MANAGER, on=activity.station))


def taps(*groups, start=1, delta=None) -> list[dict]:
    result = []
    for i, group in enumerate(groups, start):
        tap = {"nonce": f"tap-{i:012d}", "group": group}
        if delta is not None:
            tap["delta"] = delta
        result.append(tap)
    return result


def upload(client, activity, body):
    return client.post(f"/activities/{activity.id}/tally", json=body)


def headcount(activity) -> int:
    return totals([Activity.id == activity.id]).headcount


def changes(db) -> int:
    return db.session.scalar(select(func.count()).select_from(HeadcountChange))


def test_the_page_has_a_button_per_group_and_its_sync_settings(client, db, activity, manager):
    set_headcounts(activity, {BeneficiaryGroup.COURIER: 4}, manager)
    db.session.commit()
    answer = client.get(f"/activities/{activity.id}/tally")
    assert answer.status_code == 200
    html = answer.get_data(as_text=True)
    for group in BeneficiaryGroup:
        assert f'data-group="{group.value}"' in html
    found = re.search(
        r'<script type="application/json" id="tally-config">(.*?)</script>', html, re.S
    )
    config = json.loads(found[1])
    assert config["syncUrl"] == f"/activities/{activity.id}/tally"
    assert config["workerUrl"] == "/activities/tally-sw.js"
    assert config["workerScope"] == "/activities/"
    assert config["counts"]["courier"] == 4 and config["counts"]["elderly"] == 0
    assert "{n}" in config["text"]["queued"]
    assert "js/tally.js" in html and "css/tally.css" in html


def test_the_service_worker_is_served_for_the_activities_scope(client):
    answer = client.get("/activities/tally-sw.js")
    assert answer.status_code == 200
    assert answer.mimetype == "text/javascript"
    assert answer.headers["Service-Worker-Allowed"] == "/activities/"
    body = answer.get_data(as_text=True)
    assert "inclusive-day-tally-v2" in body and 'addEventListener("fetch"' in body


def test_taps_are_counted_and_a_retried_upload_adds_nothing(client, db, activity, manager):
    body = {"taps": taps("courier", "courier", "elderly")}
    first = upload(client, activity, body)
    assert first.status_code == 200
    assert (first.json["accepted"], first.json["repeated"]) == (3, 0)
    assert first.json["counts"]["courier"] == 2 and first.json["counts"]["elderly"] == 1
    again = upload(client, activity, body)
    assert (again.json["accepted"], again.json["repeated"]) == (0, 3)
    assert again.json["counts"] == first.json["counts"]
    assert headcount(activity) == 3
    assert changes(db) == 3
    kinds = db.session.scalars(select(HeadcountChange.source)).all()
    assert set(kinds) == {HeadcountSource.TALLY}


def test_a_batch_overlapping_an_earlier_one_counts_only_the_new_taps(client, db, activity, manager):
    upload(client, activity, {"taps": taps("rider", "rider")})
    answer = upload(client, activity, {"taps": taps("rider", "rider", "rider", "police")})
    assert (answer.json["accepted"], answer.json["repeated"]) == (2, 2)
    assert answer.json["counts"]["rider"] == 3 and answer.json["counts"]["police"] == 1


def test_an_undo_takes_one_away_but_never_below_zero(client, db, activity, manager):
    upload(client, activity, {"taps": taps("driver", "driver")})
    answer = upload(client, activity, {"taps": taps("driver", start=10, delta=-1)})
    assert answer.json["counts"]["driver"] == 1
    answer = upload(client, activity, {"taps": taps("elderly", start=20, delta=-1)})
    assert answer.json["counts"]["elderly"] == 0 and answer.json["accepted"] == 0


def test_taps_and_form_entries_share_one_count_and_one_history(client, db, activity, manager):
    set_headcounts(activity, {BeneficiaryGroup.SANITATION: 10}, manager)
    db.session.commit()
    answer = upload(client, activity, {"taps": taps("sanitation")})
    assert answer.json["counts"]["sanitation"] == 11
    html = client.get(f"/activities/{activity.id}/attendance").get_data(as_text=True)
    assert "10 → <strong>11</strong>" in html and "tally" in html


def test_the_same_upload_sent_by_several_phones_at_once_counts_once(app, db, activity, make_user):
    """Eight clients post the same twenty taps at the same moment (a retry storm)."""
    user = make_user(Role.STATION_MANAGER, on=activity.station)
    body = {"taps": taps(*(["courier"] * 15 + ["elderly"] * 5))}
    clients = []
    for _ in range(8):
        c = app.test_client()
        c.post("/auth/login", data={"username": user.username, "password": PASSWORD})
        clients.append(c)
    barrier = threading.Barrier(len(clients))
    answers, errors = [], []
    url = f"/activities/{activity.id}/tally"  # read here: the threads must not touch the session

    def send(c):
        try:
            barrier.wait()
            answers.append(c.post(url, json=body))
        except Exception as error:  # noqa: BLE001 - reported below
            errors.append(error)

    threads = [threading.Thread(target=send, args=(c,)) for c in clients]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    assert [a.status_code for a in answers] == [200] * 8, [a.get_data() for a in answers]
    assert sum(a.json["accepted"] for a in answers) == 20
    assert sum(a.json["repeated"] for a in answers) == 20 * 7
    db.session.expire_all()
    assert headcount(activity) == 20
    assert changes(db) == 20


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        ([1, 2], 400, "taps"),
        ({"taps": "courier"}, 400, "taps"),
        ({"taps": [{"nonce": "short", "group": "courier"}]}, 400, "nonce"),
        ({"taps": [{"nonce": "tap-000000000001", "group": "astronaut"}]}, 422, "group"),
        ({"taps": [{"nonce": "tap-000000000001", "group": "courier", "delta": 2}]}, 400, None),
        ({"taps": [{"nonce": "tap-000000000001", "group": "courier", "delta": True}]}, 400, None),
        ({"taps": [{"nonce": "tap-000000000001", "group": "courier", "delta": 1.5}]}, 400, None),
        ({"taps": ["courier"]}, 400, None),
    ],
)
def test_bad_uploads_answer_4xx_json_and_count_nothing(
    client, db, activity, manager, body, status, field
):
    good = {"nonce": "tap-000000000099", "group": "courier"}
    if isinstance(body, dict) and isinstance(body["taps"], list):
        body = {"taps": [good, *body["taps"]]}  # one bad tap spoils the whole upload
    answer = upload(client, activity, body)
    assert answer.status_code == status
    assert answer.is_json and answer.json["error"]
    if field:
        assert answer.json["field"] == field
    assert changes(db) == 0 and headcount(activity) == 0


def test_an_upload_must_be_json(client, db, activity, manager):
    as_form = client.post(f"/activities/{activity.id}/tally", data={"taps": "x"})
    as_text = client.post(
        f"/activities/{activity.id}/tally",
        data=json.dumps({"taps": taps("courier")}),
        content_type="text/plain",
    )
    assert as_form.status_code == as_text.status_code == 415
    assert as_text.json["error"]
    assert changes(db) == 0


def test_a_broken_json_body_is_refused(client, db, activity, manager):
    answer = client.post(
        f"/activities/{activity.id}/tally", data="{not json", content_type="application/json"
    )
    assert answer.status_code == 400 and answer.json["error"]


def test_the_upload_needs_no_csrf_token_but_forms_still_do(app, client, db, activity, manager):
    app.config["WTF_CSRF_ENABLED"] = True
    answer = upload(client, activity, {"taps": taps("courier")})
    assert answer.status_code == 200 and answer.json["accepted"] == 1
    form = client.post(f"/activities/{activity.id}/attendance", data={"count_courier": "9"})
    assert form.status_code == 400
    assert headcount(activity) == 1


def test_a_signed_out_phone_gets_401_json_and_its_taps_wait(client, db, activity):
    answer = upload(client, activity, {"taps": taps("courier")})
    assert answer.status_code == 401 and answer.json["error"]
    assert changes(db) == 0


def test_a_manager_of_another_station_gets_404_json(
    client, db, activity, make_user, make_station, login
):
    login(make_user(Role.STATION_MANAGER, on=make_station(activity.station.unit)))
    answer = upload(client, activity, {"taps": taps("courier")})
    assert answer.status_code == 404 and answer.json["error"]
    assert client.get(f"/activities/{activity.id}/tally").status_code == 404
    assert changes(db) == 0


def test_a_cancelled_activity_refuses_taps(client, db, activity, manager):
    activity.status = ActivityStatus.CANCELLED
    db.session.commit()
    answer = upload(client, activity, {"taps": taps("courier")})
    assert answer.status_code == 409 and "cancelled" in answer.json["error"]
    html = client.get(f"/activities/{activity.id}/tally").get_data(as_text=True)
    assert "tally-config" not in html and "disabled" in html
    assert changes(db) == 0


def test_an_empty_upload_just_reads_the_counts(client, db, activity, manager):
    set_headcounts(activity, {BeneficiaryGroup.POLICE: 2}, manager)
    db.session.commit()
    answer = upload(client, activity, {"taps": []})
    assert answer.status_code == 200 and answer.json["counts"]["police"] == 2
    assert answer.json["accepted"] == answer.json["repeated"] == 0
