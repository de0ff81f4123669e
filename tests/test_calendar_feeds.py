"""Calendar feeds: valid iCalendar, stable UIDs, private feeds by token, caching, bad input."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from icalendar import Calendar
from sqlalchemy import select

from inclusive_day.activities.models import Activity
from inclusive_day.auth.models import Role
from inclusive_day.campaigns.models import Theme
from inclusive_day.feeds.ical import fold
from inclusive_day.feeds.models import FeedKind, FeedToken, hash_token
from inclusive_day.periods import DEFAULT_ZONE, local_today
from tests.conftest import count_queries

SOON = datetime.combine(local_today() + timedelta(days=3), datetime.min.time(), UTC).replace(hour=1)


def parse(response) -> Calendar:
    """The response's body as a calendar, after checking it is one."""
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.headers["Content-Type"] == "text/calendar; charset=utf-8"
    return Calendar.from_ical(response.data)


def events(calendar: Calendar) -> list:
    return calendar.walk("VEVENT")


@pytest.fixture
def city(make_unit):
    province = make_unit("云南省总工会")
    return make_unit("昆明市总工会", parent=province)


@pytest.fixture
def station(make_station, city):
    station = make_station(city, name="五华区环卫驿站", address="昆明市五华区人民中路1号")
    station.latitude, station.longitude = 25.0406, 102.7125
    return station


@pytest.fixture
def public_activity(make_activity, make_campaign, station, city, db):
    campaign = make_campaign(city, name="工会驿站普惠日", is_public=True)
    activity = make_activity(station, campaign, starts_at=SOON, title="免费理发")
    db.session.commit()
    return activity


@pytest.fixture
def internal(make_activity, make_campaign, station, city):
    campaign = make_campaign(city, name="内部培训", is_public=False)
    return make_activity(station, campaign, starts_at=SOON, title="内部活动")


def make_token(db, user, kind: FeedKind, target_id: int, raw: str) -> FeedToken:
    token = FeedToken(user=user, kind=kind, target_id=target_id, secret_hash=hash_token(raw))
    db.session.add(token)
    db.session.commit()
    return token


def test_campaign_feed_is_valid_icalendar(client, public_activity, theme):
    response = client.get(f"/calendar/campaigns/{public_activity.campaign_id}.ics")
    calendar = parse(response)
    assert calendar["VERSION"] == "2.0"
    assert "PRODID" in calendar
    assert calendar["X-WR-CALNAME"] == "工会驿站普惠日"
    assert calendar["NAME"] == "工会驿站普惠日"
    assert b"REFRESH-INTERVAL;VALUE=DURATION:PT1H" in response.data
    assert b"X-PUBLISHED-TTL:PT1H" in response.data
    [event] = events(calendar)
    assert str(event["UID"]) == public_activity.uid
    assert str(event["SUMMARY"]) == "免费理发"
    assert str(event["STATUS"]) == "CONFIRMED"
    assert "五华区环卫驿站" in str(event["LOCATION"]) and "人民中路1号" in str(event["LOCATION"])
    assert event["GEO"].latitude == pytest.approx(25.0406)
    assert event["CATEGORIES"].cats == [theme.name_en]
    assert str(event["URL"]).endswith(f"/activities/{public_activity.id}")
    assert str(event["URL"]).startswith("http")
    assert event["DTSTAMP"].dt.utcoffset() == timedelta(0)
    assert event["DTSTART"].dt == public_activity.starts_at
    assert event["DTSTART"].params["TZID"] == "Asia/Shanghai"
    assert event["DTEND"].dt == public_activity.ends_at


def test_vtimezone_present(client, public_activity):
    response = client.get(f"/calendar/campaigns/{public_activity.campaign_id}.ics")
    calendar = parse(response)
    assert [str(tz["TZID"]) for tz in calendar.walk("VTIMEZONE")] == ["Asia/Shanghai"]
    assert b"DTSTART;TZID=Asia/Shanghai:" in response.data
    assert calendar.get_missing_tzids() == set()


def test_calendar_name_follows_language(client, public_activity, theme):
    english = parse(client.get(f"/calendar/units/{public_activity.station.unit_id}.ics"))
    chinese = parse(
        client.get(
            f"/calendar/units/{public_activity.station.unit_id}.ics",
            headers={"Accept-Language": "zh"},
        )
    )
    assert english["X-WR-CALNAME"] == "昆明市总工会"
    assert events(english)[0]["CATEGORIES"].cats == [theme.name_en]
    assert events(chinese)[0]["CATEGORIES"].cats == [theme.name_zh]


def test_uid_stable_and_sequence_rises_across_edits(client, db, public_activity):
    url = f"/calendar/stations/{public_activity.station_id}.ics"
    before = events(parse(client.get(url)))[0]
    public_activity.starts_at += timedelta(hours=1)
    public_activity.ends_at += timedelta(hours=1)
    public_activity.sequence += 1
    db.session.commit()
    after = events(parse(client.get(url)))
    assert len(after) == 1
    assert after[0]["UID"] == before["UID"]
    assert after[0]["SEQUENCE"] > before["SEQUENCE"]
    assert after[0]["DTSTART"].dt == before["DTSTART"].dt + timedelta(hours=1)


def test_cancelled_activity_shows_cancelled_with_reason(client, db, public_activity):
    public_activity.cancel("暴雨预警，改期举行")
    db.session.commit()
    response = client.get(f"/calendar/activities/{public_activity.id}.ics")
    assert b"STATUS:CANCELLED" in response.data
    calendar = parse(response)
    [event] = events(calendar)
    assert str(event["STATUS"]) == "CANCELLED"
    assert "暴雨预警，改期举行" in str(event["DESCRIPTION"])
    assert event["SEQUENCE"] == 1


def test_chinese_description_folds_on_character_bounds(client, db, public_activity):
    public_activity.description = "为快递员、外卖骑手、环卫工人提供免费理发和健康咨询，" * 12
    db.session.commit()
    response = client.get(f"/calendar/activities/{public_activity.id}.ics")
    lines = response.data.split(b"\r\n")
    assert any(line.startswith(b" ") for line in lines)  # it was folded
    for line in lines:
        assert len(line) <= 75
        line.decode("utf-8")  # a split character would raise here
    [event] = events(parse(response))
    assert str(event["DESCRIPTION"]) == public_activity.description


@pytest.mark.parametrize(
    "text",
    ["a" * 200, "中" * 100, "é" * 80 + "中文" * 30, "x\\," * 60, "𠀀" * 40, "ab\\n" * 50],
)
def test_fold_never_splits_characters_or_escapes(text):
    folded = fold("DESCRIPTION:" + text)
    parts = folded.encode().split(b"\r\n")
    assert all(len(p) <= 75 for p in parts)
    assert all(not p.decode().endswith("\\") or p.decode().endswith("\\\\") for p in parts[:-1])
    assert folded.replace("\r\n ", "") == "DESCRIPTION:" + text


def test_etag_and_last_modified_answer_304(client, db, public_activity):
    url = f"/calendar/campaigns/{public_activity.campaign_id}.ics"
    first = client.get(url)
    etag = first.headers["ETag"]
    assert etag and first.headers["Last-Modified"]
    again = client.get(url, headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.data == b""
    since = client.get(url, headers={"If-Modified-Since": first.headers["Last-Modified"]})
    assert since.status_code == 304
    public_activity.title = "免费理发（改）"
    public_activity.sequence += 1
    db.session.commit()
    changed = client.get(url, headers={"If-None-Match": etag})
    assert changed.status_code == 200 and changed.headers["ETag"] != etag


def test_etag_depends_on_filters(client, public_activity, theme):
    url = f"/calendar/campaigns/{public_activity.campaign_id}.ics"
    plain = client.get(url).headers["ETag"]
    filtered = client.get(url, query_string={"theme": theme.id}).headers["ETag"]
    assert plain != filtered


def test_internal_campaign_needs_token(client, db, internal, make_user, city):
    user = make_user(Role.VIEWER, on=city)
    url = f"/calendar/campaigns/{internal.campaign_id}.ics"
    assert client.get(url).status_code == 404
    token = make_token(db, user, FeedKind.CAMPAIGN, internal.campaign_id, "secret-a")
    calendar = parse(client.get(url, query_string={"token": "secret-a"}))
    assert [str(e["SUMMARY"]) for e in events(calendar)] == ["内部活动"]
    assert db.session.get(FeedToken, token.id).last_used_at is not None


def test_revoked_token_stops_at_once(client, db, internal, make_user, city):
    user = make_user(Role.VIEWER, on=city)
    token = make_token(db, user, FeedKind.CAMPAIGN, internal.campaign_id, "secret-b")
    url = f"/calendar/campaigns/{internal.campaign_id}.ics?token=secret-b"
    assert client.get(url).status_code == 200
    token.revoke()
    db.session.commit()
    assert client.get(url).status_code == 404


def test_unknown_token_is_404(client, public_activity):
    url = f"/calendar/stations/{public_activity.station_id}.ics?token=nope"
    assert client.get(url).status_code == 404


def test_token_opens_only_its_feed(client, db, internal, make_user, make_campaign, city):
    user = make_user(Role.VIEWER, on=city)
    other = make_campaign(city, is_public=False)
    make_token(db, user, FeedKind.CAMPAIGN, other.id, "secret-c")
    url = f"/calendar/campaigns/{internal.campaign_id}.ics?token=secret-c"
    assert client.get(url).status_code == 404
    station_url = f"/calendar/stations/{internal.station_id}.ics?token=secret-c"
    assert client.get(station_url).status_code == 404


def test_token_of_user_without_access_is_404(client, db, internal, make_user, make_unit):
    stranger = make_user(Role.VIEWER, on=make_unit())
    make_token(db, stranger, FeedKind.CAMPAIGN, internal.campaign_id, "secret-d")
    url = f"/calendar/campaigns/{internal.campaign_id}.ics?token=secret-d"
    assert client.get(url).status_code == 404


def test_station_feed_public_without_token_more_with(
    client, db, public_activity, internal, make_user, city
):
    url = f"/calendar/stations/{public_activity.station_id}.ics"
    titles = [str(e["SUMMARY"]) for e in events(parse(client.get(url)))]
    assert titles == ["免费理发"]
    user = make_user(Role.VIEWER, on=city)
    make_token(db, user, FeedKind.STATION, public_activity.station_id, "secret-e")
    titles = sorted(str(e["SUMMARY"]) for e in events(parse(client.get(url + "?token=secret-e"))))
    assert titles == ["免费理发", "内部活动"]


def test_unit_feed_covers_subtree_only(
    client, public_activity, make_unit, make_station, make_activity, make_campaign, city
):
    district = make_unit("五华区总工会", parent=city)
    far = make_unit("曲靖市总工会", parent=city.parent)
    inside = make_activity(
        make_station(district), make_campaign(city), starts_at=SOON, title="区里活动"
    )
    make_activity(make_station(far), make_campaign(far), starts_at=SOON, title="外地活动")
    titles = sorted(
        str(e["SUMMARY"]) for e in events(parse(client.get(f"/calendar/units/{city.id}.ics")))
    )
    assert titles == sorted(["免费理发", inside.title])
    district_titles = [
        str(e["SUMMARY"]) for e in events(parse(client.get(f"/calendar/units/{district.id}.ics")))
    ]
    assert district_titles == ["区里活动"]


def test_theme_and_window_filters(client, db, public_activity, make_activity):
    other_theme = db.session.scalar(select(Theme).where(Theme.id != public_activity.theme_id))
    later = make_activity(
        public_activity.station,
        public_activity.campaign,
        starts_at=SOON + timedelta(days=60),
        theme=other_theme,
        title="晚些的活动",
    )
    url = f"/calendar/campaigns/{public_activity.campaign_id}.ics"

    def titles(**query):
        return sorted(str(e["SUMMARY"]) for e in events(parse(client.get(url, query_string=query))))

    assert titles() == sorted(["免费理发", later.title])
    assert titles(theme=other_theme.id) == [later.title]
    soon = (SOON + timedelta(days=1)).date().isoformat()
    assert titles(**{"to": soon}) == ["免费理发"]
    far = (SOON + timedelta(days=30)).date().isoformat()
    assert titles(**{"from": far}) == [later.title]


def test_default_window_leaves_out_old_activities(client, public_activity, make_activity):
    make_activity(
        public_activity.station,
        public_activity.campaign,
        starts_at=SOON - timedelta(days=90),
        title="很久以前",
    )
    calendar = parse(client.get(f"/calendar/campaigns/{public_activity.campaign_id}.ics"))
    assert [str(e["SUMMARY"]) for e in events(calendar)] == ["免费理发"]


@pytest.mark.parametrize(
    "query",
    [
        {"theme": "abc"},
        {"theme": "999999"},
        {"from": "2024-13-01"},
        {"to": "tomorrow"},
        {"from": "2024-05-01", "to": "2024-04-01"},
        {"from": "2020-01-01", "to": "2030-01-01"},
    ],
)
def test_bad_filters_answer_400(client, public_activity, query):
    response = client.get(
        f"/calendar/campaigns/{public_activity.campaign_id}.ics", query_string=query
    )
    assert response.status_code == 400
    assert response.mimetype == "text/plain"
    assert len(response.get_data(as_text=True)) < 200


@pytest.mark.parametrize("kind", ["campaigns", "units", "stations", "activities"])
def test_unknown_ids_answer_404(client, kind):
    assert client.get(f"/calendar/{kind}/424242.ics").status_code == 404


def test_internal_activity_needs_a_viewer(client, login, internal, make_user, city):
    url = f"/calendar/activities/{internal.id}.ics"
    assert client.get(url).status_code == 404
    login(make_user(Role.VIEWER, on=city))
    [event] = events(parse(client.get(url)))
    assert str(event["UID"]) == internal.uid


@pytest.mark.parametrize("with_token", [False, True])
def test_queries_do_not_grow_with_activities(
    client, db, make_station, make_campaign, make_user, city, theme, with_token
):
    station = make_station(city)
    campaign = make_campaign(city, is_public=True)

    def add(n):
        now = datetime.now(UTC)
        db.session.add_all(
            Activity(
                campaign=campaign,
                station=make_station(city) if i % 5 == 0 else station,
                theme=theme,
                title=f"活动{i}",
                starts_at=SOON + timedelta(hours=3 * i),
                ends_at=SOON + timedelta(hours=3 * i + 2),
                updated_at=now,
            )
            for i in range(n)
        )
        db.session.commit()

    url = f"/calendar/units/{city.id}.ics"
    if with_token:
        make_token(db, make_user(Role.VIEWER, on=city), FeedKind.UNIT, city.id, "secret-q")
        url += "?token=secret-q"
    add(2)
    client.get(url)  # a token's first use is written once; later fetches within minutes are not
    with count_queries(db.engine) as small:
        assert len(events(parse(client.get(url)))) == 2
    add(60)
    with count_queries(db.engine) as large:
        assert len(events(parse(client.get(url)))) == 62
    assert small["n"] == large["n"]


def test_subscribe_page_makes_and_revokes_tokens(client, db, login, internal, make_user, city):
    login(make_user(Role.VIEWER, on=city))
    page = f"/calendar/campaign/{internal.campaign_id}/subscribe"
    assert client.get(page).status_code == 200
    made = client.post(page)
    assert made.status_code == 200
    body = made.get_data(as_text=True)
    assert "?token=" in body
    raw = body.split("?token=")[1].split('"')[0]
    feed = f"/calendar/campaigns/{internal.campaign_id}.ics?token={raw}"
    assert client.get(feed).status_code == 200
    token = db.session.scalar(select(FeedToken))
    assert token.secret_hash == hash_token(raw) and raw not in token.secret_hash
    assert client.post(f"/calendar/tokens/{token.id}/revoke").status_code == 302
    assert client.get(feed).status_code == 404


def test_subscribe_page_hides_what_user_cannot_see(client, login, internal, make_user, make_unit):
    login(make_user(Role.VIEWER, on=make_unit()))
    page = f"/calendar/campaign/{internal.campaign_id}/subscribe"
    assert client.get(page).status_code == 404
    assert client.post(page).status_code == 404


def test_revoking_someone_elses_token_is_404(client, db, login, internal, make_user, city):
    owner = make_user(Role.VIEWER, on=city)
    token = make_token(db, owner, FeedKind.CAMPAIGN, internal.campaign_id, "secret-f")
    login(make_user(Role.VIEWER, on=city))
    assert client.post(f"/calendar/tokens/{token.id}/revoke").status_code == 404
    assert db.session.get(FeedToken, token.id).revoked_at is None


def test_pages_link_to_feeds(client, login, make_user, public_activity):
    login(make_user(Role.ADMIN))
    activity_page = client.get(f"/activities/{public_activity.id}").get_data(as_text=True)
    assert f"/calendar/activities/{public_activity.id}.ics" in activity_page
    campaign_page = client.get(f"/campaigns/{public_activity.campaign_id}").get_data(as_text=True)
    assert f"/calendar/campaigns/{public_activity.campaign_id}.ics" in campaign_page
    station_page = client.get(f"/stations/{public_activity.station_id}").get_data(as_text=True)
    assert f"/calendar/station/{public_activity.station_id}/subscribe" in station_page


def test_window_dates_are_local_days(client, public_activity):
    day = public_activity.starts_at.astimezone(DEFAULT_ZONE).date()
    assert isinstance(day, date)
    url = f"/calendar/campaigns/{public_activity.campaign_id}.ics"
    inside = client.get(url, query_string={"from": day.isoformat(), "to": day.isoformat()})
    assert len(events(parse(inside))) == 1
    before = (day - timedelta(days=1)).isoformat()
    outside = client.get(url, query_string={"from": before, "to": before})
    assert events(parse(outside)) == []
