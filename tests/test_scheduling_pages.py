"""The pages that plan, change and cancel activities and series."""

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import func, select

from inclusive_day.activities.models import Activity, ActivityStatus, Series
from inclusive_day.auth.models import Role
from inclusive_day.units.models import Level

UID = "7d0c6a8e-5b1f-4c3a-9e2d-1f2a3b4c5d6e@inclusive-day"


@pytest.fixture
def setting(db, make_unit, make_station, make_campaign, make_user, login, theme):
    city = make_unit("Kunming", level=Level.CITY)
    district = make_unit("Guandu", parent=city)
    stations = [make_station(district, code=f"GD-{i}") for i in range(1, 4)]
    outside = make_station(make_unit("Xishan", parent=city), code="XS-1")
    campaign = make_campaign(city, starts_on=date(2026, 1, 1), ends_on=date(2026, 12, 31))
    organiser = login(make_user(Role.ORGANISER, on=district))
    return {
        "district": district,
        "stations": stations,
        "outside": outside,
        "campaign": campaign,
        "organiser": organiser,
        "theme": theme,
    }


def activity_form(setting, **kw):
    data = {
        "uid": UID,
        "campaign": setting["campaign"].id,
        "station": setting["stations"][0].id,
        "theme": setting["theme"].id,
        "title": "Free haircuts",
        "day": "2026-03-08",
        "starts_time": "09:00",
        "ends_time": "11:30",
        "capacity": "40",
        "groups": ["courier", "rider"],
        "description": "",
    }
    data.update(kw)
    return data


def count(db, model=Activity) -> int:
    return db.session.scalar(select(func.count(model.id)))


def test_plan_one_activity(client, db, setting):
    page = client.get(f"/activities/new?station={setting['stations'][0].id}")
    assert page.status_code == 200 and b"Free haircuts" not in page.data
    response = client.post("/activities/new", data=activity_form(setting))
    assert response.status_code == 302
    activity = db.session.scalar(select(Activity))
    assert activity.uid == UID and activity.target_groups == "courier,rider"
    assert activity.starts_at == datetime(2026, 3, 8, 1, 0, tzinfo=UTC)
    shown = client.get(response.location).get_data(as_text=True)
    assert "delivery rider" in shown and "Edit" in shown


def test_a_double_submit_saves_one_activity(client, db, setting):
    client.post("/activities/new", data=activity_form(setting))
    again = client.post("/activities/new", data=activity_form(setting))
    assert again.status_code == 302
    assert count(db) == 1


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"ends_time": "08:00"}, "The end time must be after the start time."),
        ({"day": "2027-01-05"}, "outside the campaign"),
        ({"capacity": "-3"}, "Number must be between 0 and 100000."),
        ({"title": ""}, "This field is required."),
    ],
)
def test_bad_input_re_renders_the_form_and_writes_nothing(client, db, setting, change, message):
    response = client.post("/activities/new", data=activity_form(setting, **change))
    assert response.status_code == 200
    assert message in response.get_data(as_text=True)
    assert count(db) == 0


def test_a_station_outside_the_organisers_subtree_is_not_offered(client, db, setting):
    page = client.get("/activities/new").get_data(as_text=True)
    assert "XS-1" not in page
    response = client.post(
        "/activities/new", data=activity_form(setting, station=setting["outside"].id)
    )
    assert response.status_code == 200 and count(db) == 0


def test_a_busy_station_needs_a_deliberate_keep(client, db, setting, make_activity):
    make_activity(
        setting["stations"][0],
        setting["campaign"],
        starts_at=datetime(2026, 3, 8, 2, 0, tzinfo=UTC),
        title="Health check",
    )
    refused = client.post("/activities/new", data=activity_form(setting))
    assert "Health check" in refused.get_data(as_text=True) and count(db) == 1
    kept = client.post("/activities/new", data=activity_form(setting, keep_conflicts="y"))
    assert kept.status_code == 302 and count(db) == 2


def series_form(setting, **kw):
    data = {
        "uid": UID,
        "campaign": setting["campaign"].id,
        "theme": setting["theme"].id,
        "title": "Summer green tea",
        "starts_time": "14:00",
        "ends_time": "17:00",
        "pick": "subtree",
        "unit": setting["district"].id,
        "repeat": "daily",
        "first": "2026-07-01",
        "count": "10",
        "interval": "1",
        "nth": "2",
        "nth_weekday": "6",
        "conflicts": "skip",
        "dates": "",
        "excluded": "2026-07-05",
    }
    data.update(kw)
    return data


def test_series_preview_counts_and_writes_nothing(client, db, setting, make_activity):
    make_activity(
        setting["stations"][1],
        setting["campaign"],
        starts_at=datetime(2026, 7, 2, 7, 0, tzinfo=UTC),  # 15:00 local
        title="Anti-fraud talk",
    )
    response = client.post("/activities/series/new", data=series_form(setting, preview="y"))
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    # 3 stations x 9 dates (the 5th excluded); one slot busy.
    assert ">27<" in page and "1 slot is already busy." in page and "Anti-fraud talk" in page
    assert count(db) == 1 and count(db, Series) == 0


def test_series_create_then_a_second_submit_adds_nothing(client, db, setting):
    response = client.post("/activities/series/new", data=series_form(setting, create="y"))
    assert response.status_code == 302
    series = db.session.scalar(select(Series))
    assert series.rule == "FREQ=DAILY;COUNT=10" and series.excluded == ["2026-07-05"]
    assert count(db) == 27
    again = client.post("/activities/series/new", data=series_form(setting, create="y"))
    assert again.status_code == 302 and count(db) == 27
    page = client.get(response.location).get_data(as_text=True)
    assert "every day" in page and "27" in page


def test_second_sunday_series_by_station_list(client, db, setting):
    response = client.post(
        "/activities/series/new",
        data=series_form(
            setting,
            create="y",
            pick="list",
            codes="GD-1, gd-3",
            repeat="monthly_weekday",
            first="2026-01-01",
            count="",
            until="2026-06-30",
            excluded="",
        ),
    )
    assert response.status_code == 302
    days = sorted({a.starts_at.date() for a in db.session.scalars(select(Activity))})
    assert days == [
        date(2026, 1, 11),
        date(2026, 2, 8),
        date(2026, 3, 8),
        date(2026, 4, 12),
        date(2026, 5, 10),
        date(2026, 6, 14),
    ]
    assert count(db) == 12


def test_series_errors_write_nothing(client, app, db, setting):
    too_many = series_form(setting, create="y", first="2026-01-01", count="360")
    app.config["SERIES_MAX_ACTIVITIES"] = 1000
    response = client.post("/activities/series/new", data=too_many)
    assert "more than 1000 activities" in response.get_data(as_text=True)
    outside = client.post(
        "/activities/series/new",
        data=series_form(setting, create="y", pick="list", codes="XS-1"),
    )
    assert "Outside the campaign or the units you organise" in outside.get_data(as_text=True)
    bad_dates = client.post(
        "/activities/series/new", data=series_form(setting, create="y", dates="2026-02-30")
    )
    assert "Not a date" in bad_dates.get_data(as_text=True)
    assert count(db) == 0 and count(db, Series) == 0


def test_edit_following_and_cancel_all_through_the_pages(client, db, setting, monkeypatch):
    import inclusive_day.activities.services as services

    monkeypatch.setattr(services, "utcnow", lambda: datetime(2026, 6, 1, tzinfo=UTC))
    client.post(
        "/activities/series/new",
        data=series_form(setting, create="y", count="3", excluded="", pick="list", codes="GD-1"),
    )
    first, second, third = db.session.scalars(select(Activity).order_by(Activity.starts_at))
    edit = activity_form(
        setting,
        title="Green tea and fans",
        day="2026-07-02",
        starts_time="15:00",
        ends_time="18:00",
        which="following",
    )
    response = client.post(f"/activities/{second.id}/edit", data=edit)
    assert response.status_code == 302
    db.session.expire_all()
    titles = [a.title for a in db.session.scalars(select(Activity).order_by(Activity.starts_at))]
    assert titles == ["Summer green tea", "Green tea and fans", "Green tea and fans"]

    moved = client.post(
        f"/activities/{second.id}/edit", data={**edit, "day": "2026-07-09"}
    ).get_data(as_text=True)
    assert "this activity only" in moved

    cancelled = client.post(
        f"/activities/{first.id}/cancel", data={"reason": "Typhoon", "which": "all"}
    )
    assert cancelled.status_code == 302
    db.session.expire_all()
    assert [a.status for a in db.session.scalars(select(Activity))] == [
        ActivityStatus.CANCELLED
    ] * 3
    page = client.get(f"/activities/{third.id}").get_data(as_text=True)
    assert "Typhoon" in page and "cancelled" in page


def test_cancel_without_a_reason_changes_nothing(client, db, setting, make_activity):
    activity = make_activity(setting["stations"][0], setting["campaign"])
    response = client.post(f"/activities/{activity.id}/cancel", data={"reason": ""})
    assert response.status_code == 200
    db.session.refresh(activity)
    assert activity.status is ActivityStatus.SCHEDULED


def test_another_districts_activity_cannot_be_edited(client, db, setting, make_activity):
    theirs = make_activity(setting["outside"], setting["campaign"])
    assert client.get(f"/activities/{theirs.id}/edit").status_code == 404
    assert client.post(f"/activities/{theirs.id}/cancel", data={"reason": "x"}).status_code == 404
