"""The staff attendance page: headcounts with history and concurrency, check-ins, annulling,
the live counter, and who may do any of it."""

import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from inclusive_day.activities.models import Activity, ActivityStatus
from inclusive_day.attendance.identity import identity_for
from inclusive_day.attendance.models import (
    BeneficiaryGroup,
    CheckIn,
    CheckInSource,
    Headcount,
    HeadcountChange,
    HeadcountSource,
)
from inclusive_day.attendance.queries import totals
from inclusive_day.attendance.services import record_checkin, set_headcounts
from inclusive_day.auth.models import Role

PHONE = "13800138000"


@pytest.fixture
def activity(make_activity):
    return make_activity()


@pytest.fixture
def organiser(make_user, activity, login):
    return login(make_user(Role.ORGANISER, on=activity.station.unit, display_name="Li Na"))


def page_url(activity) -> str:
    return f"/activities/{activity.id}/attendance"


def form_data(**counts) -> dict:
    """The headcount form as the page shows it with all counts 0, then `counts` typed in."""
    data = {}
    for group in BeneficiaryGroup:
        data[f"count_{group.value}"] = "0"
        data[f"shown_{group.value}"] = "0"
    for key, value in counts.items():
        data[key] = str(value)
    return data


def rows(db, model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def checkin(db, activity, phone=PHONE, nonce="paper-0000001", **kw) -> CheckIn:
    row, _ = record_checkin(
        activity,
        identity_for(phone),
        kw.pop("group", BeneficiaryGroup.RIDER),
        nonce,
        kw.pop("source", CheckInSource.QR),
        kw.pop("at", activity.starts_at),
    )
    db.session.commit()
    return db.session.get(CheckIn, row.id)


def served(activity) -> int:
    return totals([Activity.id == activity.id]).served


# ---- headcounts ---------------------------------------------------------------------------


def test_the_form_shows_a_field_per_group_with_the_stored_counts(client, db, activity, organiser):
    set_headcounts(activity, {BeneficiaryGroup.ELDERLY: 12}, organiser)
    db.session.commit()
    html = client.get(page_url(activity)).get_data(as_text=True)
    for group in BeneficiaryGroup:
        assert f'name="count_{group.value}"' in html
    assert re.search(r'name="count_elderly"[^>]*value="12"', html)
    assert re.search(r'name="shown_elderly"[^>]*value="12"', html) or re.search(
        r'value="12"[^>]*name="shown_elderly"', html
    )


def test_counts_without_history_are_not_called_none(client, db, activity, organiser):
    empty = client.get(page_url(activity)).get_data(as_text=True)
    assert "No headcount entered yet." in empty
    db.session.add(Headcount(activity=activity, group=BeneficiaryGroup.COURIER, count=472))
    db.session.commit()
    html = client.get(page_url(activity)).get_data(as_text=True)
    assert "No headcount entered yet." not in html
    assert "The 472 counted by staff came in without a history of changes" in html


def test_saving_counts_and_correcting_them_keeps_the_history(client, db, activity, organiser):
    answer = client.post(page_url(activity), data=form_data(count_courier=5, count_elderly=3))
    assert answer.status_code == 302
    answer = client.post(
        page_url(activity),
        data=form_data(count_courier=7, count_elderly=3, shown_courier=5, shown_elderly=3),
        follow_redirects=True,
    )
    assert "1 group changed" in answer.get_data(as_text=True)
    changes = db.session.scalars(
        select(HeadcountChange)
        .order_by(HeadcountChange.id)
        .where(HeadcountChange.group == BeneficiaryGroup.COURIER)
    ).all()
    assert [(c.old_count, c.new_count) for c in changes] == [(0, 5), (5, 7)]
    assert all(
        c.source is HeadcountSource.FORM and c.changed_by_id == organiser.id for c in changes
    )
    assert totals([Activity.id == activity.id]).headcount == 10
    html = answer.get_data(as_text=True)
    assert "5 → <strong>7</strong>" in html and "Li Na" in html


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("-1", "between 0 and 10,000"),
        ("10001", "between 0 and 10,000"),
        ("lots", "Counts are whole numbers."),
        ("2.5", "Counts are whole numbers."),
    ],
)
def test_bad_counts_show_the_message_and_write_nothing(
    client, db, activity, organiser, typed, message
):
    answer = client.post(page_url(activity), data=form_data(count_courier=4, count_rider=typed))
    assert answer.status_code == 422
    html = answer.get_data(as_text=True)
    assert message.replace(",", "") in html.replace(",", "")
    assert "is-invalid" in html
    assert rows(db, Headcount) == 0 and rows(db, HeadcountChange) == 0


def test_a_count_changed_meanwhile_is_a_conflict_and_nothing_is_written(
    client, db, activity, organiser, make_user
):
    other = make_user(Role.STATION_MANAGER, on=activity.station)
    set_headcounts(activity, {BeneficiaryGroup.COURIER: 3}, other)
    db.session.commit()
    # The form was loaded before the other person's change: it showed 0.
    answer = client.post(page_url(activity), data=form_data(count_courier=5, count_rider=2))
    assert answer.status_code == 409
    html = answer.get_data(as_text=True)
    assert "Someone changed these counts meanwhile" in html
    assert "now 3" in html
    assert re.search(r'name="count_courier"[^>]*value="5"', html)  # what was typed stays
    db.session.expire_all()
    assert totals([Activity.id == activity.id]).headcount == 3
    assert rows(db, HeadcountChange) == 1
    # Sent again, now knowing the 3, the correction goes through.
    again = client.post(
        page_url(activity), data=form_data(count_courier=5, count_rider=2, shown_courier=3)
    )
    assert again.status_code == 302
    assert totals([Activity.id == activity.id]).headcount == 7


def test_people_correcting_different_groups_at_once_do_not_stop_each_other(
    client, db, activity, organiser, make_user
):
    other = make_user(Role.STATION_MANAGER, on=activity.station)
    set_headcounts(activity, {BeneficiaryGroup.COURIER: 3}, other)
    db.session.commit()
    answer = client.post(page_url(activity), data=form_data(count_elderly=8))
    assert answer.status_code == 302
    assert totals([Activity.id == activity.id]).headcount == 11


def test_a_tampered_shown_count_is_a_conflict(client, db, activity, organiser):
    answer = client.post(page_url(activity), data=form_data(count_courier=5, shown_courier="x"))
    assert answer.status_code == 409
    assert rows(db, HeadcountChange) == 0


def test_a_cancelled_activity_takes_no_headcount(client, db, activity, organiser):
    activity.status = ActivityStatus.CANCELLED
    db.session.commit()
    answer = client.post(page_url(activity), data=form_data(count_courier=5))
    assert answer.status_code == 409
    assert "This activity was cancelled." in answer.get_data(as_text=True)
    assert rows(db, Headcount) == 0


# ---- check-ins and annulling ---------------------------------------------------------------


def test_checkins_are_listed_by_reference_never_by_phone(client, db, activity, organiser):
    row = checkin(db, activity, source=CheckInSource.PAPER)
    html = client.get(page_url(activity)).get_data(as_text=True)
    assert f"<code>{row.identity[:8]}</code>" in html
    assert row.identity not in html
    assert PHONE not in html and "138 0013 8000" not in html
    assert "paper sheet" in html and "delivery rider" in html


def annul_url(activity, row) -> str:
    return f"/activities/{activity.id}/checkins/{row.id}/annul"


def test_an_annulled_checkin_stays_listed_and_stops_counting(client, db, activity, organiser):
    row = checkin(db, activity)
    checkin(db, activity, phone="13900139000", nonce="paper-0000002")
    assert served(activity) == 2
    answer = client.post(
        annul_url(activity, row), data={"reason": "scanned twice by mistake"}, follow_redirects=True
    )
    assert answer.status_code == 200
    db.session.expire_all()
    assert row.is_annulled and row.annulled_by_id == organiser.id
    assert totals([Activity.id == activity.id]).checkins == 1
    assert served(activity) == 1
    html = answer.get_data(as_text=True)
    assert "scanned twice by mistake" in html and "Li Na" in html
    assert f"<del>{'delivery rider'}</del>" in html
    assert rows(db, CheckIn) == 2  # kept in the history


def test_annulling_needs_a_reason(client, db, activity, organiser):
    row = checkin(db, activity)
    answer = client.post(annul_url(activity, row), data={"reason": "  "}, follow_redirects=True)
    assert "Say why the check-in is annulled." in answer.get_data(as_text=True)
    db.session.expire_all()
    assert not row.is_annulled and served(activity) == 1


def test_annulling_twice_is_refused_and_keeps_the_first_reason(client, db, activity, organiser):
    row = checkin(db, activity)
    client.post(annul_url(activity, row), data={"reason": "first"})
    answer = client.post(annul_url(activity, row), data={"reason": "second"}, follow_redirects=True)
    assert "already annulled" in answer.get_data(as_text=True)
    db.session.expire_all()
    assert row.annul_reason == "first"


def test_a_checkin_of_another_activity_cannot_be_annulled_through_this_one(
    client, db, activity, organiser, make_activity
):
    elsewhere = make_activity(activity.station, activity.campaign)
    row = checkin(db, elsewhere)
    answer = client.post(annul_url(activity, row), data={"reason": "wrong"})
    assert answer.status_code == 404
    db.session.expire_all()
    assert not row.is_annulled


# ---- the live counter ------------------------------------------------------------------------


def test_live_json_gives_the_counting_rules_figures(client, db, activity, organiser):
    set_headcounts(activity, {BeneficiaryGroup.SANITATION: 40}, organiser)
    checkin(db, activity)
    row = checkin(db, activity, phone="13900139000", nonce="paper-0000002")
    answer = client.get(f"/activities/{activity.id}/live.json")
    assert answer.status_code == 200
    assert answer.json == {
        "served": 42,
        "headcount": 40,
        "checkins": 2,
        "people": 2,
        "by_group": {
            g.value: {"sanitation": 40, "rider": 2}.get(g.value, 0) for g in BeneficiaryGroup
        },
    }
    assert answer.headers["Cache-Control"] == "no-store"
    client.post(annul_url(activity, row), data={"reason": "duplicate"})
    later = client.get(f"/activities/{activity.id}/live.json").json
    assert (later["served"], later["checkins"], later["by_group"]["rider"]) == (41, 1, 1)


def test_live_json_answers_json_errors_not_pages(client, db, activity, make_user, login):
    signed_out = client.get(f"/activities/{activity.id}/live.json")
    assert signed_out.status_code == 401 and "error" in signed_out.json
    login(make_user(Role.VIEWER, on=activity.station.unit))
    refused = client.get(f"/activities/{activity.id}/live.json")
    assert refused.status_code == 404 and "error" in refused.json


def test_the_activity_page_has_the_live_counter_and_links_for_staff_only(
    client, db, activity, make_user, login
):
    manager = login(make_user(Role.STATION_MANAGER, on=activity.station))
    html = client.get(f"/activities/{activity.id}").get_data(as_text=True)
    assert f'data-live-url="/activities/{activity.id}/live.json"' in html
    assert "js/live_counter.js" in html
    assert 'data-live="people"' in html
    assert f'href="/activities/{activity.id}/attendance"' in html
    assert f'href="/activities/{activity.id}/tally"' in html
    assert manager
    client.post("/auth/logout")
    login(make_user(Role.VIEWER, on=activity.station.unit))
    html = client.get(f"/activities/{activity.id}").get_data(as_text=True)
    assert "data-live-url" not in html and "live_counter.js" not in html
    assert f"/activities/{activity.id}/attendance" not in html


# ---- who may record ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("who", "status"),
    [("organiser", 200), ("manager", 200), ("other_manager", 404), ("viewer", 404)],
)
def test_who_may_open_the_attendance_pages(
    client, db, activity, make_user, make_station, login, who, status
):
    on = {
        "organiser": (Role.ORGANISER, activity.station.unit),
        "manager": (Role.STATION_MANAGER, activity.station),
        "other_manager": (Role.STATION_MANAGER, make_station(activity.station.unit)),
        "viewer": (Role.VIEWER, activity.station.unit),
    }[who]
    login(make_user(*on))
    for path in ("attendance", "tally", "paper", "paper/sheet.csv"):
        assert client.get(f"/activities/{activity.id}/{path}").status_code == status, path


@pytest.mark.parametrize("who", ["viewer", "other_manager"])
def test_those_who_may_not_record_cannot_post_anything(
    client, db, activity, make_user, make_station, login, who
):
    row = checkin(db, activity)
    on = (
        (Role.VIEWER, activity.station.unit)
        if who == "viewer"
        else (Role.STATION_MANAGER, make_station(activity.station.unit))
    )
    login(make_user(*on))
    assert client.post(page_url(activity), data=form_data(count_courier=5)).status_code == 404
    assert client.post(annul_url(activity, row), data={"reason": "x"}).status_code == 404
    tally = client.post(
        f"/activities/{activity.id}/tally",
        json={"taps": [{"nonce": "tap-00000001", "group": "courier"}]},
    )
    assert tally.status_code == 404 and "error" in tally.json
    db.session.expire_all()
    assert rows(db, Headcount) == 0 and not row.is_annulled


def test_signed_out_pages_go_to_the_sign_in_page(client, activity):
    answer = client.get(page_url(activity))
    assert answer.status_code == 302 and "/auth/login" in answer.headers["Location"]


def test_the_page_reads_its_lists_in_a_fixed_number_of_queries(
    client, db, activity, organiser, make_user
):
    from tests.conftest import count_queries

    for i in range(3):
        checkin(db, activity, phone=f"1390013900{i}", nonce=f"paper-000000{i}")
    set_headcounts(activity, {BeneficiaryGroup.COURIER: 1}, organiser)
    db.session.commit()
    with count_queries(db.engine) as few:
        client.get(page_url(activity))
    for i in range(3, 12):
        row = checkin(db, activity, phone=f"139001390{i:02d}", nonce=f"paper-00000{i:02d}")
        row.annulled_at, row.annul_reason = datetime.now(UTC), "test"
        row.annulled_by_id = make_user().id
        set_headcounts(activity, {BeneficiaryGroup.COURIER: i}, make_user())
        db.session.commit()
    with count_queries(db.engine) as many:
        client.get(page_url(activity))
    assert many["n"] == few["n"]


def test_an_activity_in_the_past_still_takes_corrections(
    client, db, make_activity, make_user, login
):
    old = make_activity(starts_at=datetime.now(UTC) - timedelta(days=30))
    login(make_user(Role.ORGANISER, on=old.station.unit))
    assert client.post(page_url(old), data=form_data(count_police=6)).status_code == 302
    assert totals([Activity.id == old.id]).headcount == 6
