"""Workers' feedback after a door scan or a check-in: one rating and comment per person,
station and day; organisers read a station's ratings and may hide a comment."""

import re
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from inclusive_day.attendance.feedback import (
    FeedbackError,
    FeedbackRefusal,
    leave_feedback,
    ratings_of,
)
from inclusive_day.attendance.identity import identity_for
from inclusive_day.attendance.models import FEEDBACK_COMMENT_MAX, Feedback
from inclusive_day.auth.models import Role
from inclusive_day.database import utcnow
from inclusive_day.periods import local_today

PHONE = "139 1234 5678"
NONCE = re.compile(r'<input[^>]*name="nonce"[^>]*value="([^"]*)"')


def text(response) -> str:
    """The response body as text."""
    return response.get_data(as_text=True)


def count(db) -> int:
    """How many feedback rows there are."""
    return db.session.scalar(select(func.count()).select_from(Feedback))


@pytest.fixture
def station(make_station, make_unit):
    """An active station in a district."""
    district = make_unit("五华区总工会", make_unit("昆明市总工会"))
    return make_station(district, "五华区骑手之家", code="KM-WH-001")


@pytest.fixture
def door(client, station):
    """Scan the station's door QR as the person with PHONE: the done page is then theirs."""

    def do(phone=PHONE):
        nonce = NONCE.search(text(client.get("/d/KM-WH-001"))).group(1)
        response = client.post(
            "/d/KM-WH-001", data={"phone": phone, "group": "courier", "nonce": nonce}
        )
        assert response.status_code == 302
        return response

    return do


def send(client, data, url="/d/KM-WH-001/feedback"):
    """Post the feedback form of the confirmation page."""
    return client.post(url, data=data)


# --- Leaving feedback -----------------------------------------------------------------------


def test_the_door_confirmation_offers_stars_and_a_comment(client, door):
    door()
    html = text(client.get("/d/KM-WH-001/done"))
    assert 'action="/d/KM-WH-001/feedback"' in html
    assert html.count('name="rating"') == 5
    assert "5 stars: very good" in html  # each star's accessible name
    assert f'maxlength="{FEEDBACK_COMMENT_MAX}"' in html
    # The person is known from the session only: no identity and no number in the page.
    assert identity_for(PHONE) not in html and "13912345678" not in html


def test_a_rating_and_a_comment_are_stored_for_the_visit(client, db, door, station):
    door()
    response = send(client, {"rating": "4", "comment": "  水很好喝  "})
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/d/KM-WH-001/done#feedback")
    row = db.session.scalars(select(Feedback)).one()
    assert (row.station_id, row.identity, row.rating, row.comment) == (
        station.id,
        identity_for(PHONE),
        4,
        "水很好喝",
    )
    assert row.visit_day == local_today()
    html = text(client.get("/d/KM-WH-001/done"))
    assert "Thank you for your word" in html and 'name="rating"' not in html


def test_a_comment_alone_or_a_rating_alone_is_enough(client, db, door):
    door()
    assert send(client, {"comment": "有热水"}).status_code == 302
    door("138 0000 0001")
    assert send(client, {"rating": "5"}).status_code == 302
    rows = db.session.scalars(select(Feedback).order_by(Feedback.comment)).all()
    assert [(f.rating, f.comment) for f in rows] == [(5, ""), (None, "有热水")]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"rating": "0"}, "Choose a rating from one to five stars."),
        ({"rating": "6"}, "Choose a rating from one to five stars."),
        ({"rating": "four"}, "Choose a rating from one to five stars."),
        ({"rating": "4.5"}, "Choose a rating from one to five stars."),
        ({"rating": "3", "comment": "长" * (FEEDBACK_COMMENT_MAX + 1)}, "Keep the comment to 200"),
        ({}, "Choose a rating or write a comment"),
        ({"rating": "", "comment": "   "}, "Choose a rating or write a comment"),
    ],
    ids=["zero", "six", "words", "half", "too-long", "nothing", "blank"],
)
def test_bad_feedback_is_refused_and_nothing_is_written(client, db, door, data, message):
    door()
    response = send(client, data)
    assert response.status_code == 400
    assert message in text(response)
    assert count(db) == 0


def test_one_word_per_person_station_and_day(client, db, door):
    door()
    assert send(client, {"rating": "2", "comment": "没人"}).status_code == 302
    again = send(client, {"rating": "5", "comment": "改主意了"})
    assert again.status_code == 400
    row = db.session.scalars(select(Feedback)).one()
    assert (row.rating, row.comment) == (2, "没人")


def test_the_service_refuses_a_second_word_the_same_day_only(db, station):
    identity = identity_for(PHONE)
    leave_feedback(station.id, identity, date(2026, 5, 1), 4, "")
    with pytest.raises(FeedbackError) as refused:
        leave_feedback(station.id, identity, date(2026, 5, 1), None, "又来了")
    assert refused.value.code is FeedbackRefusal.ALREADY_GIVEN
    leave_feedback(station.id, identity, date(2026, 5, 2), 5, "")
    db.session.commit()
    assert count(db) == 2


def test_without_a_scan_in_this_browser_nothing_is_taken(client, db, station):
    response = send(client, {"rating": "5"})
    assert response.status_code == 302 and response.headers["Location"].endswith("/d/KM-WH-001")
    assert count(db) == 0


def test_feedback_after_an_activity_check_in_rates_its_station(client, db, make_activity, station):
    now = utcnow()
    activity = make_activity(
        station, starts_at=now - timedelta(minutes=30), ends_at=now + timedelta(hours=1)
    )
    token = activity.checkin_token
    nonce = NONCE.search(text(client.get(f"/c/{token}"))).group(1)
    client.post(f"/c/{token}", data={"phone": PHONE, "group": "rider", "nonce": nonce})
    assert 'action="/c/' in text(client.get(f"/c/{token}/done"))
    response = send(client, {"rating": "3"}, url=f"/c/{token}/feedback")
    assert response.status_code == 302
    row = db.session.scalars(select(Feedback)).one()
    assert (row.station_id, row.identity, row.visit_day) == (
        station.id,
        identity_for(PHONE),
        local_today(),
    )
    # The same person scanning the door the same day has already given their word.
    nonce = NONCE.search(text(client.get("/d/KM-WH-001"))).group(1)
    client.post("/d/KM-WH-001", data={"phone": PHONE, "group": "rider", "nonce": nonce})
    assert "Thank you for your word" in text(client.get("/d/KM-WH-001/done"))


# --- Organisers -----------------------------------------------------------------------------


@pytest.fixture
def rated(db, station):
    """Three ratings at the station, two with comments, one of them the newest."""
    rows = [
        Feedback(
            station_id=station.id,
            identity=identity_for(f"1380000000{i}"),
            visit_day=date(2026, 3, 1) + timedelta(days=i),
            rating=rating,
            comment=comment,
            created_at=utcnow() + timedelta(minutes=i),
        )
        for i, (rating, comment) in enumerate([(5, ""), (4, "older comment"), (2, "rude words")])
    ]
    db.session.add_all(rows)
    db.session.commit()
    return rows


def test_the_ratings_page_shows_the_figures_and_comments_newest_first(
    client, login, make_user, station, rated
):
    login(make_user(Role.VIEWER, station.unit))
    html = text(client.get(f"/stations/{station.id}/feedback"))
    assert "3.7 ★" in html  # (5 + 4 + 2) / 3
    assert html.index("rude words") < html.index("older comment")
    assert ratings_of(station.id).distribution == {1: 0, 2: 1, 3: 0, 4: 1, 5: 1}
    assert identity_for("13800000002") not in html
    assert "Hide" not in html  # a viewer may not hide


def test_an_editor_hides_a_comment_and_the_public_never_sees_it(
    client, db, login, make_user, station, rated
):
    organiser = login(make_user(Role.ORGANISER, station.unit))
    rude = rated[2]
    public = text(client.get("/directory/stations/KM-WH-001"))
    assert "rude words" in public and "3.7" in public
    response = client.post(f"/stations/{station.id}/feedback/{rude.id}/hide")
    assert response.status_code == 302
    db.session.expire_all()
    row = db.session.get(Feedback, rude.id)
    assert row.is_hidden and row.hidden_by_id == organiser.id
    # Greyed for its editors, with who hid it; its rating still counts.
    html = text(client.get(f"/stations/{station.id}/feedback"))
    assert "rude words" in html and "hidden" in html and organiser.username in html
    assert ratings_of(station.id).count == 3
    public = text(client.get("/directory/stations/KM-WH-001"))
    assert "rude words" not in public and "older comment" in public
    assert identity_for("13800000001") not in public
    client.post(f"/stations/{station.id}/feedback/{rude.id}/show")
    db.session.expire_all()
    assert not db.session.get(Feedback, rude.id).is_hidden


def test_a_viewer_may_not_hide_and_does_not_see_hidden_comments(
    client, db, login, make_user, station, rated
):
    rated[2].hidden_at = utcnow()
    db.session.commit()
    login(make_user(Role.VIEWER, station.unit))
    assert "rude words" not in text(client.get(f"/stations/{station.id}/feedback"))
    assert client.post(f"/stations/{station.id}/feedback/{rated[1].id}/hide").status_code == 404
    db.session.expire_all()
    assert not db.session.get(Feedback, rated[1].id).is_hidden


def test_another_units_organiser_gets_404(client, login, make_user, make_unit, station, rated):
    login(make_user(Role.ORGANISER, make_unit("Elsewhere")))
    assert client.get(f"/stations/{station.id}/feedback").status_code == 404
    assert client.post(f"/stations/{station.id}/feedback/{rated[2].id}/hide").status_code == 404


def test_a_comment_of_another_station_is_not_hidden_from_here(
    client, db, login, make_user, make_station, station, rated
):
    other = make_station(station.unit)
    login(make_user(Role.ORGANISER, station.unit))
    response = client.post(f"/stations/{other.id}/feedback/{rated[2].id}/hide")
    assert response.status_code == 302
    db.session.expire_all()
    assert not db.session.get(Feedback, rated[2].id).is_hidden


def test_the_station_page_shows_the_average_rating(client, login, make_user, station, rated):
    login(make_user(Role.VIEWER, station.unit))
    html = text(client.get(f"/stations/{station.id}"))
    assert "3.7 ★" in html and f"/stations/{station.id}/feedback" in html
