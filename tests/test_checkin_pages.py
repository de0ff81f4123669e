"""The public QR check-in pages: an activity's (/c/<token>) and a station door's (/d/<code>)."""

import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from inclusive_day.activities.models import ActivityStatus
from inclusive_day.attendance.identity import identity_for
from inclusive_day.attendance.models import BeneficiaryGroup, CheckIn, CheckInSource, StationVisit
from inclusive_day.database import utcnow
from inclusive_day.extensions import limiter
from inclusive_day.stations.models import StationStatus
from tests.conftest import count_queries

PHONE = "139 1234 5678"
DIGITS = "13912345678"
NONCE_INPUT = re.compile(r'<input[^>]*name="nonce"[^>]*>')
VALUE = re.compile(r'value="([^"]*)"')


def text(response) -> str:
    """The response body as text."""
    return response.get_data(as_text=True)


def nonce_of(response) -> str:
    """The hidden nonce the form carries."""
    field = NONCE_INPUT.search(text(response))
    assert field, "no nonce field"
    return VALUE.search(field.group(0)).group(1)


def token_of(activity) -> str:
    """The token of the activity's check-in link."""
    return activity.checkin_token


def count(db, model) -> int:
    """How many rows the table holds."""
    return db.session.scalar(select(func.count()).select_from(model))


@pytest.fixture
def station(make_station):
    """An active station."""
    return make_station(name="五华区骑手之家", code="KM-WH-001", address="翠湖南路 1 号")


@pytest.fixture
def activity(make_activity, station):
    """A haircut day at the station, on now."""
    now = utcnow()
    return make_activity(
        station,
        starts_at=now - timedelta(minutes=30),
        ends_at=now + timedelta(minutes=90),
        title="义剪进驿站",
    )


@pytest.fixture
def check_in(client):
    """Open an activity's page, then send the form it gave (returns the POST's response)."""

    def do(activity, phone=PHONE, group="rider", nonce=None, **kw):
        url = f"/c/{token_of(activity)}"
        if nonce is None:
            nonce = nonce_of(client.get(url))
        data = {"phone": phone, "group": group, "nonce": nonce}
        return client.post(url, data={k: v for k, v in data.items() if v is not None}, **kw)

    return do


@pytest.fixture
def door(client):
    """Open a station's door page, then send its form."""

    def do(code, phone=PHONE, group="courier", nonce=None, **kw):
        url = f"/d/{code}"
        if nonce is None:
            nonce = nonce_of(client.get(url))
        return client.post(url, data={"phone": phone, "group": group, "nonce": nonce}, **kw)

    return do


# --- The activity's page ------------------------------------------------------------------------


def test_the_activity_page_is_a_phone_form(client, activity):
    response = client.get(f"/c/{token_of(activity)}")
    assert response.status_code == 200
    html = text(response)
    assert "义剪进驿站" in html and "五华区骑手之家" in html
    for label in ("courier", "delivery rider", "sanitation worker", "driver", "police"):
        assert f">{label}</span></label>" in html
    assert html.count('type="radio"') == len(BeneficiaryGroup)
    phone = re.search(r'<input[^>]*name="phone"[^>]*>', html).group(0)
    for attribute in ('type="tel"', 'inputmode="numeric"', 'autocomplete="tel"'):
        assert attribute in phone
    assert "never the number itself" in html
    assert len(nonce_of(response)) >= 16
    assert response.headers["Cache-Control"] == "no-store"
    assert 'href="/directory/stations/KM-WH-001"' in html
    assert "/auth/login" not in html


def test_each_visit_of_the_form_gets_a_new_nonce(client, activity):
    url = f"/c/{token_of(activity)}"
    assert nonce_of(client.get(url)) != nonce_of(client.get(url))


def test_check_in_then_a_repeat_stores_one_row(client, db, activity, check_in):
    response = check_in(activity)
    assert response.status_code == 302
    assert response.headers["Location"] == f"/c/{token_of(activity)}/done"
    done = text(client.get(response.headers["Location"]))
    assert "Checked in" in done and "already" not in done
    assert "delivery rider" in done and "义剪进驿站" in done

    row = db.session.scalar(select(CheckIn))
    assert row.activity_id == activity.id
    assert row.identity == identity_for(DIGITS)
    assert row.group is BeneficiaryGroup.RIDER and row.source is CheckInSource.QR

    again = check_in(activity, phone="+86 139-1234-5678", group="courier")
    assert again.status_code == 302
    assert "You were already checked in" in text(client.get(again.headers["Location"]))
    assert count(db, CheckIn) == 1


def test_a_double_submit_with_the_same_nonce_lands_once(client, db, activity, check_in):
    nonce = nonce_of(client.get(f"/c/{token_of(activity)}"))
    first = check_in(activity, nonce=nonce, follow_redirects=True)
    second = check_in(activity, nonce=nonce, follow_redirects=True)
    assert "Checked in" in text(first) and "already" not in text(first)
    assert "You were already checked in" in text(second)
    assert count(db, CheckIn) == 1


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"phone": "12345"}, "Enter an 11-digit mobile number"),
        ({"phone": ""}, "Enter an 11-digit mobile number"),
        ({"group": None}, "Choose who you are from the list."),
        ({"group": "astronaut"}, "Choose who you are from the list."),
    ],
)
def test_bad_input_redisplays_the_form_and_stores_nothing(db, activity, check_in, data, message):
    response = check_in(activity, **data)
    assert response.status_code == 200
    html = text(response)
    assert message in html
    assert 'name="phone"' in html and 'type="radio"' in html
    assert count(db, CheckIn) == 0


def test_a_bad_phone_keeps_the_form_s_nonce_and_chosen_group(client, activity, check_in):
    nonce = nonce_of(client.get(f"/c/{token_of(activity)}"))
    response = check_in(activity, phone="1391234", group="elderly", nonce=nonce)
    assert nonce_of(response) == nonce
    assert re.search(
        r'<input[^>]*checked[^>]*value="elderly"|value="elderly"[^>]*checked', text(response)
    )


@pytest.mark.parametrize("nonce", ["short", "has spaces and !", "x" * 65])
def test_a_tampered_nonce_stores_nothing_and_hands_out_a_new_one(db, activity, check_in, nonce):
    response = check_in(activity, nonce=nonce)
    assert response.status_code == 200
    assert "This form was already sent or has expired" in text(response)
    assert nonce_of(response) != nonce
    assert count(db, CheckIn) == 0


def test_a_nonce_spent_on_someone_else_is_refused(client, db, activity, check_in):
    nonce = nonce_of(client.get(f"/c/{token_of(activity)}"))
    check_in(activity, nonce=nonce)
    response = check_in(activity, phone="13800000001", nonce=nonce)
    assert response.status_code == 200
    assert "This form was already sent or has expired" in text(response)
    assert nonce_of(response) != nonce
    assert count(db, CheckIn) == 1


@pytest.mark.parametrize(
    ("when", "cancelled", "message", "retry"),
    [
        (timedelta(hours=-1), True, "This activity was cancelled.", False),
        (timedelta(hours=3), False, "Check-in opens at", True),
        (timedelta(hours=-5), False, "This activity has finished.", False),
    ],
)
def test_an_activity_that_is_not_open_takes_no_check_in(
    client, db, make_activity, station, check_in, when, cancelled, message, retry
):
    starts = utcnow() + when
    activity = make_activity(station, starts_at=starts, ends_at=starts + timedelta(hours=2))
    nonce = "a-nonce-from-an-earlier-visit"
    if cancelled:
        activity.cancel("rain")
        db.session.commit()
        assert activity.status is ActivityStatus.CANCELLED
    page = client.get(f"/c/{token_of(activity)}")
    assert page.status_code == 200
    assert message in text(page)
    assert 'name="phone"' not in text(page)
    assert ("Try again" in text(page)) is retry

    response = check_in(activity, nonce=nonce)
    assert response.status_code == 409
    assert message in text(response)
    assert count(db, CheckIn) == 0


def test_an_unknown_token_is_a_friendly_404(client, activity):
    # The old links named the activity by its calendar uid, which feeds publish: no more.
    calendar_uid = activity.uid.removesuffix("@inclusive-day")
    for token in (calendar_uid, "00000000-0000-0000-0000-000000000000", "nope", "x" * 200):
        response = client.get(f"/c/{token}")
        assert response.status_code == 404
        assert "This check-in code is not known" in text(response)
    assert client.post("/c/nope", data={"phone": PHONE}).status_code == 404


def test_the_confirmation_without_a_check_in_goes_back_to_the_form(client, activity):
    response = client.get(f"/c/{token_of(activity)}/done")
    assert response.status_code == 302
    assert response.headers["Location"] == f"/c/{token_of(activity)}"


def test_the_group_chosen_last_is_chosen_again(client, activity, check_in):
    check_in(activity, group="sanitation")
    html = text(client.get(f"/c/{token_of(activity)}"))
    chosen = re.findall(r'<input[^>]*type="radio"[^>]*>', html)
    assert [tag for tag in chosen if "checked" in tag] == [
        tag for tag in chosen if 'value="sanitation"' in tag
    ]


def test_no_phone_number_is_stored_anywhere(db, activity, station, check_in, door):
    check_in(activity)
    door(station.code, phone="+86 138-0013-8000")  # also checks in to the activity on now
    assert count(db, CheckIn) == 2 and count(db, StationVisit) == 1
    for table in db.metadata.sorted_tables:
        for row in db.session.execute(select(table)):
            dump = " ".join(str(value) for value in row)
            for digits in (DIGITS, "13800138000", "1234 5678", "0013-8000"):
                assert digits not in dump, f"{digits} found in {table.name}"


def test_csrf_protects_the_form_in_production(app, client, db, activity):
    app.config["WTF_CSRF_ENABLED"] = True
    url = f"/c/{token_of(activity)}"
    page = client.get(url)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', text(page))
    assert token, "the form carries no CSRF token"
    data = {"phone": PHONE, "group": "rider", "nonce": nonce_of(page)}
    assert client.post(url, data=data).status_code == 400
    assert count(db, CheckIn) == 0
    assert client.post(url, data=data | {"csrf_token": token.group(1)}).status_code == 302
    assert count(db, CheckIn) == 1


# --- The station door -----------------------------------------------------------------------------


def test_the_door_page_shows_the_station_and_what_is_on(client, station, activity, make_activity):
    later = utcnow() + timedelta(days=2)
    make_activity(station, activity.campaign, starts_at=later, title="健康体检")
    response = client.get("/d/KM-WH-001")
    assert response.status_code == 200
    html = text(response)
    assert "五华区骑手之家" in html and "翠湖南路 1 号" in html
    assert "义剪进驿站" in html and "健康体检" in html
    assert html.count("On now") == 1
    assert 'name="phone"' in html and html.count('type="radio"') == len(BeneficiaryGroup)
    assert 'href="/directory/stations/KM-WH-001"' in html


def test_a_door_visit_counts_once_a_day(client, db, station, door):
    first = door(station.code)
    assert first.status_code == 302 and first.headers["Location"] == "/d/KM-WH-001/done"
    assert "Visit recorded" in text(client.get(first.headers["Location"]))
    second = door(station.code, phone="13912345678", group="rider", follow_redirects=True)
    assert "Your visit today was already recorded" in text(second)
    visit = db.session.scalar(select(StationVisit))
    assert count(db, StationVisit) == 1
    assert visit.identity == identity_for(DIGITS) and visit.group is BeneficiaryGroup.COURIER
    assert count(db, CheckIn) == 0  # nothing on at the station


def test_a_door_visit_during_an_activity_also_checks_in(
    client, db, station, activity, make_activity, door
):
    make_activity(station, activity.campaign, starts_at=utcnow() + timedelta(days=1))
    response = door(station.code, follow_redirects=True)
    html = text(response)
    assert "Visit recorded" in html and "Also counted for" in html and "义剪进驿站" in html
    [checkin] = db.session.scalars(select(CheckIn)).all()
    assert checkin.activity_id == activity.id and checkin.identity == identity_for(DIGITS)
    assert count(db, StationVisit) == 1

    again = text(door(station.code, follow_redirects=True))
    assert "Your visit today was already recorded" in again and "Already checked in" in again
    assert count(db, CheckIn) == 1 and count(db, StationVisit) == 1


def test_door_bad_input_redisplays_the_form(db, station, door):
    response = door(station.code, phone="1", group="")
    assert response.status_code == 200
    assert "Enter an 11-digit mobile number" in text(response)
    assert "Choose who you are from the list." in text(response)
    assert count(db, StationVisit) == 0


def test_a_door_nonce_spent_on_someone_else_is_refused(client, db, station, door):
    nonce = nonce_of(client.get("/d/KM-WH-001"))
    door(station.code, nonce=nonce)
    response = door(station.code, phone="13800000001", nonce=nonce)
    assert response.status_code == 200
    assert "This form was already sent or has expired" in text(response)
    assert nonce_of(response) != nonce
    assert count(db, StationVisit) == 1


@pytest.mark.parametrize("status", [StationStatus.SUSPENDED, StationStatus.CLOSED])
def test_a_station_not_open_is_a_friendly_404(client, db, make_station, status):
    make_station(name="暂停的驿站", code="KM-S-1", status=status)
    page = client.get("/d/KM-S-1")
    assert page.status_code == 404
    # The same words as for an unknown code: a code does not tell whether a station exists.
    assert "No station takes check-ins with this code now" in text(page)
    assert "暂停的驿站" not in text(page) and "/directory/stations/KM-S-1" not in text(page)
    post = client.post("/d/KM-S-1", data={"phone": PHONE, "group": "rider", "nonce": "n" * 22})
    assert post.status_code == 404
    assert count(db, StationVisit) == 0


def test_an_unknown_station_is_a_friendly_404(client):
    response = client.get("/d/NO-SUCH")
    assert response.status_code == 404
    assert "No station takes check-ins with this code now" in text(response)
    assert 'href="/directory/"' in text(response)


def test_the_poster_short_link_opens_the_door_page(client, station):
    response = client.get("/s/KM-WH-001")
    assert response.status_code == 302
    assert response.headers["Location"] == "/d/KM-WH-001"
    assert client.get(response.headers["Location"]).status_code == 200


# --- Languages ------------------------------------------------------------------------------------


def test_chinese_is_the_default(app, activity):
    client = app.test_client()  # no Accept-Language at all
    html = text(client.get(f"/c/{token_of(activity)}"))
    assert '<html lang="zh-CN">' in html
    assert ">快递员</span></label>" in html and ">外卖骑手</span></label>" in html
    door = text(client.get("/d/KM-WH-001"))
    assert '<html lang="zh-CN">' in door and ">环卫工人</span></label>" in door


def test_english_renders_when_asked_for(client, activity):
    html = text(client.get(f"/c/{token_of(activity)}"))
    assert '<html lang="en">' in html
    assert ">courier</span></label>" in html and "Check in" in html


def test_the_page_switches_language_on_the_spot(app, activity):
    client = app.test_client()
    url = f"/c/{token_of(activity)}"
    response = client.post("/language", data={"lang": "en", "next": url})
    assert response.status_code == 302 and response.headers["Location"] == url
    assert '<html lang="en">' in text(client.get(url))


def test_a_door_scan_makes_its_points_card_in_one_statement(
    client, db, station, activity, door, monkeypatch
):
    """A door scan during an activity: the station, the visit, the activities on now, the
    check-in, the minute's count, the points rule and the points card (made or found by one
    INSERT ... ON CONFLICT DO UPDATE ... RETURNING); the address's count, in the limits'
    storage, is left out here."""
    monkeypatch.setattr(limiter, "enabled", False)
    nonce = nonce_of(client.get(f"/d/{station.code}"))
    with count_queries(db.engine) as statements:
        response = door(station.code, nonce=nonce)
    assert response.status_code == 302
    assert statements["n"] == 7
    assert count(db, StationVisit) == 1 and count(db, CheckIn) == 1
