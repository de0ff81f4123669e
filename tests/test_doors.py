"""Doors that stood ajar (issue 23, item 3), each shut and kept shut by a test: redirects off
the site, pledges to internal campaigns, tokens that outlive a reset, door scans into internal
activities, look-alike sign-ups, guessable passwords, a token in the session cookie, pages a
cache could keep, a tally past its cap, and page numbers too large to count."""

from __future__ import annotations

import re
import uuid
from datetime import date, timedelta
from decimal import Decimal
from urllib.parse import quote

import pytest
from flask_babel import force_locale
from sqlalchemy import func, select

from inclusive_day import create_app
from inclusive_day.api.models import ApiToken, TokenScope
from inclusive_day.api.tokens import issue_token
from inclusive_day.attendance.models import CheckIn, HeadcountChange, StationVisit
from inclusive_day.auth.models import Role, User
from inclusive_day.auth.passwords import password_problem
from inclusive_day.config import TestConfig
from inclusive_day.database import utcnow
from inclusive_day.extensions import limiter
from inclusive_day.sponsors.models import Donation, DonationKind, Sponsor
from inclusive_day.sponsors.services import (
    DonationFields,
    SponsorError,
    new_form_uid,
    pledge_donation,
)
from inclusive_day.stations.models import StationStatus
from tests.conftest import PASSWORD, count_queries

NEW_PASSWORD = "plum blossom lantern 7"


@pytest.fixture(autouse=True)
def fresh_limits(app):
    """Every test starts with no attempts counted."""
    limiter.reset()
    yield
    limiter.reset()


def count(db, model) -> int:
    """How many rows the table holds."""
    return db.session.scalar(select(func.count()).select_from(model))


def bearer(raw: str) -> dict:
    """The header that sends an API token."""
    return {"Authorization": f"Bearer {raw}"}


def new_token(db, user, scope=TokenScope.WRITE) -> str:
    """A fresh API token of `user`, raw."""
    _token, raw = issue_token(user, "scanner", scope)
    db.session.commit()
    return raw


# --- Redirects stay on the site ----------------------------------------------------------------

OFF_SITE = [
    "////evil.example/phish",
    "///evil.example/phish",
    "//evil.example",
    "/\\evil.example",
    "/\t/evil.example",
    "https://evil.example/",
    "javascript:alert(1)",
    " //evil.example",
]


@pytest.mark.parametrize("target", OFF_SITE)
def test_sign_in_never_sends_anyone_off_the_site(client, make_user, target):
    make_user(username="guandu")
    answer = client.post(
        f"/auth/login?next={quote(target, safe='')}",
        data={"username": "guandu", "password": PASSWORD},
    )
    assert answer.status_code == 302
    assert answer.headers["Location"] == "/"


@pytest.mark.parametrize("target", OFF_SITE)
def test_the_language_switch_never_sends_anyone_off_the_site(client, target):
    answer = client.post("/language", data={"lang": "zh", "next": target})
    assert answer.status_code == 302
    assert answer.headers["Location"] == "/"


@pytest.mark.parametrize("target", ["/stations/?q=KM", "/d/KM-WH-001", "/directory/map?page=2"])
def test_a_path_on_the_site_is_followed(client, make_user, target):
    make_user(username="guandu")
    answer = client.post(
        f"/auth/login?next={quote(target, safe='')}",
        data={"username": "guandu", "password": PASSWORD},
    )
    assert answer.headers["Location"] == target
    client.post("/auth/logout")
    assert client.post("/language", data={"lang": "en", "next": target}).location == target


# --- Sponsors give to public campaigns ---------------------------------------------------------


@pytest.fixture
def giving(db, make_unit, make_sponsor, make_campaign, make_user):
    """A province with an internal and a public campaign, a city under it with a sponsor, and
    the sponsor's representative."""

    class Giving:
        province = make_unit("云南省总工会", code="530000")
        city = make_unit("昆明市总工会", province, code="530100")
        internal = make_campaign(province, "省总内部培训", is_public=False)
        public = make_campaign(province, "工会驿站普惠日")
        sponsor = make_sponsor(city, "石林天外天")
        rep = make_user(Role.SPONSOR_REP, on=sponsor)
        organiser = make_user(Role.ORGANISER, on=province)

    return Giving


def pledge_form(campaign_id: int) -> dict:
    return {
        "uid": new_form_uid(),
        "kind": "in_kind",
        "description": "矿泉水",
        "quantity": "100",
        "unit_label": "箱",
        "unit_value": "30",
        "campaign": campaign_id,
        "pledged_on": "2024-01-05",
    }


def pledge_json(giving, campaign_id: int) -> dict:
    return {
        "sponsor_id": giving.sponsor.id,
        "kind": "in_kind",
        "description": "矿泉水",
        "quantity": "100",
        "unit_label": "箱",
        "unit_value": "30",
        "campaign_id": campaign_id,
        "pledged_on": "2024-01-05",
    }


def test_a_representative_neither_sees_nor_pledges_to_an_internal_campaign(
    db, client, giving, login
):
    login(giving.rep)
    url = f"/sponsors/{giving.sponsor.id}/donations/new"
    page = client.get(url).get_data(as_text=True)
    assert giving.public.name in page and giving.internal.name not in page
    answer = client.post(url, data=pledge_form(giving.internal.id))
    assert answer.status_code == 200
    assert count(db, Donation) == 0
    assert client.post(url, data=pledge_form(giving.public.id)).status_code == 302
    assert db.session.scalar(select(Donation.campaign_id)) == giving.public.id


def test_the_api_refuses_a_pledge_to_an_internal_campaign(db, client, giving):
    raw = new_token(db, giving.rep)
    answer = client.post(
        "/api/v1/donations", json=pledge_json(giving, giving.internal.id), headers=bearer(raw)
    )
    assert answer.status_code == 422 and answer.json["field"] == "campaign_id"
    assert count(db, Donation) == 0
    made = client.post(
        "/api/v1/donations", json=pledge_json(giving, giving.public.id), headers=bearer(raw)
    )
    assert made.status_code == 201, made.json


def test_the_service_holds_the_rule_and_the_campaigns_organisers_may_still_use_it(db, giving, app):
    fields = DonationFields(
        kind=DonationKind.CASH,
        description="现金",
        value=Decimal(5000),
        campaign=giving.internal,
        pledged_on=date(2024, 1, 5),
    )
    with force_locale("en"), pytest.raises(SponsorError) as refused:
        pledge_donation(giving.sponsor, fields, giving.rep)
    assert refused.value.field == "campaign"
    db.session.rollback()
    assert count(db, Donation) == 0
    # The campaign's own organisers may record a gift to it for the sponsor.
    pledge_donation(giving.sponsor, fields, giving.organiser)
    db.session.commit()
    assert count(db, Donation) == 1


def test_a_gift_to_an_internal_campaign_does_not_open_the_campaign_to_the_sponsor(
    db, client, giving, login
):
    fields = DonationFields(
        kind=DonationKind.CASH,
        description="现金",
        value=Decimal(5000),
        campaign=giving.internal,
        pledged_on=date(2024, 1, 5),
    )
    pledge_donation(giving.sponsor, fields, giving.organiser)
    pledge_donation(
        giving.sponsor,
        DonationFields(
            kind=DonationKind.CASH,
            description="现金",
            value=Decimal(100),
            campaign=giving.public,
            pledged_on=date(2024, 1, 5),
        ),
        giving.rep,
    )
    db.session.commit()
    raw = new_token(db, giving.rep)
    assert (
        client.get(f"/api/v1/campaigns/{giving.internal.id}", headers=bearer(raw)).status_code
        == 404
    )
    assert (
        client.get(f"/api/v1/campaigns/{giving.public.id}", headers=bearer(raw)).status_code == 200
    )
    login(giving.rep)
    assert client.get(f"/campaigns/{giving.internal.id}").status_code == 404


# --- A reset or a disabling ends the API tokens too --------------------------------------------


@pytest.fixture
def admin(make_user):
    return make_user(Role.ADMIN, username="root-admin")


def test_an_administrators_reset_revokes_the_users_tokens(db, client, make_user, admin, login):
    victim = make_user(username="victim")
    raw = new_token(db, victim)
    assert client.get("/api/v1/units", headers=bearer(raw)).status_code == 200
    login(admin)
    assert client.post(f"/auth/users/{victim.id}/reset-password").status_code == 200
    assert client.get("/api/v1/units", headers=bearer(raw)).status_code == 401
    assert db.session.scalar(select(ApiToken.revoked_at)) is not None


def test_disabling_revokes_the_tokens_for_good(db, client, make_user, admin, login):
    victim = make_user(username="victim")
    raw = new_token(db, victim)
    login(admin)
    client.post(f"/auth/users/{victim.id}/disable")
    client.post(f"/auth/users/{victim.id}/enable")
    assert db.session.get(User, victim.id).active
    assert client.get("/api/v1/units", headers=bearer(raw)).status_code == 401


def test_ones_own_change_offers_to_sign_out_the_tokens_ticked(db, client, make_user, login):
    user = login(make_user(username="guandu"))
    raw = new_token(db, user)
    page = client.get("/auth/password").get_data(as_text=True)
    box = (
        page.split('name="revoke_tokens"')[0].rsplit("<input", 1)[1]
        + page.split('name="revoke_tokens"')[1].split(">", 1)[0]
    )
    assert "checked" in box
    answer = client.post(
        "/auth/password",
        data={
            "current": PASSWORD,
            "password": NEW_PASSWORD,
            "confirm": NEW_PASSWORD,
            "revoke_tokens": "y",
        },
    )
    assert answer.status_code == 302
    assert client.get("/api/v1/units", headers=bearer(raw)).status_code == 401


def test_ones_own_change_may_keep_the_tokens(db, client, make_user, login):
    user = login(make_user(username="guandu"))
    raw = new_token(db, user)
    answer = client.post(
        "/auth/password",
        data={"current": PASSWORD, "password": NEW_PASSWORD, "confirm": NEW_PASSWORD},
    )
    assert answer.status_code == 302
    assert client.get("/api/v1/units", headers=bearer(raw)).status_code == 200


# --- Door scans: public activities only, and no station told apart -----------------------------


@pytest.fixture
def door_station(make_station):
    return make_station(name="五华区骑手之家", code="KM-WH-001")


def test_an_anonymous_door_scan_checks_in_to_public_activities_only(
    db, client, door_station, make_activity, make_campaign
):
    now = utcnow()
    on_now = {"starts_at": now - timedelta(minutes=30), "ends_at": now + timedelta(minutes=90)}
    internal = make_campaign(door_station.unit, "内部", is_public=False)
    secret = make_activity(door_station, internal, title="站长闭门培训会", **on_now)
    public = make_activity(door_station, title="义剪进驿站", **on_now)
    form = client.get("/d/KM-WH-001").get_data(as_text=True)
    assert "站长闭门培训会" not in form
    nonce = form.split('name="nonce"')[1].split('value="')[1].split('"')[0]
    answer = client.post(
        "/d/KM-WH-001", data={"phone": "139 1234 5678", "group": "rider", "nonce": nonce}
    )
    assert answer.status_code == 302
    done = client.get(answer.location).get_data(as_text=True)
    assert "义剪进驿站" in done and "站长闭门培训会" not in done
    assert set(db.session.scalars(select(CheckIn.activity_id))) == {public.id}
    assert secret.id not in set(db.session.scalars(select(CheckIn.activity_id)))
    assert count(db, StationVisit) == 1


def same_page(known, unknown) -> bool:
    """The two answers alike but for the code asked for and the CSRF tokens, which are
    signed with the second they were made in."""

    def page(answer) -> str:
        text = answer.get_data(as_text=True).replace("KM-S-1", "KM-S-2")
        return re.sub(r'(csrf[^>]*?(?:value|content)=")[^"]*', r"\1", text)

    return page(known) == page(unknown)


@pytest.mark.parametrize("status", [StationStatus.SUSPENDED, StationStatus.CLOSED])
def test_an_unknown_station_answers_like_one_not_open(db, client, make_station, status):
    make_station(name="暂停的驿站", code="KM-S-1", status=status)
    known = client.get("/d/KM-S-1")
    unknown = client.get("/d/KM-S-2")
    assert known.status_code == unknown.status_code == 404
    assert same_page(known, unknown)
    assert "暂停的驿站" not in known.get_data(as_text=True)
    data = {"phone": "139 1234 5678", "group": "rider", "nonce": "n" * 22}
    posted, posted_unknown = (
        client.post("/d/KM-S-1", data=data),
        client.post("/d/KM-S-2", data=data),
    )
    assert posted.status_code == posted_unknown.status_code == 404
    assert same_page(posted, posted_unknown)
    assert count(db, StationVisit) == 0


# --- Sponsor sign-up: one rule for user names, no telling, a limit -----------------------------


@pytest.fixture
def sign_up_unit(make_unit):
    return make_unit("昆明市总工会", code="530100")


def sign_up(client, unit, username, **extra):
    data = {
        "unit": unit.id,
        "name": f"企业 {uuid.uuid4().hex[:6]}",
        "kind": "enterprise",
        "username": username,
        "password": "tangyuan-lantern",
        "confirm": "tangyuan-lantern",
    }
    data.update(extra)
    return client.post("/sponsors/register", data=data)


@pytest.mark.parametrize("username", ["ａｄｍｉｎ", "ADMIN", "Ａｄｍｉｎ"])
def test_a_look_alike_of_a_taken_name_is_refused(db, client, make_user, sign_up_unit, username):
    make_user(username="admin")
    answer = sign_up(client, sign_up_unit, username)
    assert answer.status_code == 200
    assert "taken or not allowed" in answer.get_data(as_text=True)
    assert count(db, User) == 1 and count(db, Sponsor) == 0


@pytest.mark.parametrize("username", ["ad\u200bmin", "zhang\u200b", "li wei", "a\u00adb\u00adc"])
def test_invisible_and_spaced_names_are_refused(db, client, sign_up_unit, username):
    answer = sign_up(client, sign_up_unit, username)
    assert answer.status_code == 200
    assert "Use letters, digits" in answer.get_data(as_text=True)
    assert count(db, User) == 0 and count(db, Sponsor) == 0


def test_a_taken_name_and_a_reserved_one_get_the_same_answer(db, client, make_user, sign_up_unit):
    make_user(username="kunming")
    taken = sign_up(client, sign_up_unit, "kunming").get_data(as_text=True)
    reserved = sign_up(client, sign_up_unit, "administrator").get_data(as_text=True)
    message = "This user name is taken or not allowed; choose another."
    assert message in taken and message in reserved
    assert count(db, User) == 1


def test_a_full_width_name_is_stored_in_its_plain_form(db, client, sign_up_unit):
    assert sign_up(client, sign_up_unit, "ｔｉａｎｗａｉｔｉａｎ").status_code == 302
    assert db.session.scalar(select(User.username)) == "tianwaitian"


def test_the_administrators_form_takes_the_same_rule(db, client, admin, login):
    login(admin)
    data = {"password": NEW_PASSWORD, "confirm": NEW_PASSWORD, "display_name": ""}
    refused = client.post("/auth/users/new", data={**data, "username": "ROOT-ＡＤＭＩＮ"})
    assert "taken" in refused.get_data(as_text=True)
    assert client.post("/auth/users/new", data={**data, "username": "ｗａｎｇ"}).status_code == 302
    assert "wang" in set(db.session.scalars(select(User.username)))


def test_look_alikes_of_a_name_are_one_account_at_sign_in(client, make_user):
    make_user(username="guandu")
    for name in ("guandu", "ＧＵＡＮＤＵ", "ｇｕａｎｄｕ", "GuanDu", "Ｇuandu"):
        answer = client.post("/auth/login", data={"username": name, "password": "wrong password"})
        assert answer.status_code == 200
    blocked = client.post("/auth/login", data={"username": "guandu", "password": PASSWORD})
    assert blocked.status_code == 429


def test_a_full_width_name_signs_in_as_its_plain_form(client, make_user):
    make_user(username="guandu")
    answer = client.post("/auth/login", data={"username": "ｇｕａｎｄｕ", "password": PASSWORD})
    assert answer.status_code == 302


def test_sign_up_is_rate_limited_per_address(app, db, client, sign_up_unit):
    app.config["SIGNUP_LIMIT_ADDRESS"] = "3 per hour"
    for n in range(3):
        assert sign_up(client, sign_up_unit, f"probe{n}", password="x").status_code == 200
    blocked = sign_up(client, sign_up_unit, "kunming-tea")
    assert blocked.status_code == 429
    assert "Too many sign-ups" in blocked.get_data(as_text=True)
    assert count(db, User) == 0
    elsewhere = app.test_client()
    elsewhere.environ_base.update(HTTP_ACCEPT_LANGUAGE="en", REMOTE_ADDR="10.9.8.7")
    assert sign_up(elsewhere, sign_up_unit, "kunming-tea").status_code == 302


# --- Passwords people guess first --------------------------------------------------------------


@pytest.mark.parametrize(
    ("password", "expected"),
    [
        ("1111122222", "repeated"),
        ("5201314abc", "520"),
        ("zaq1xsw2cde3", "keyboard"),
        ("zaq12wsxcde3", "keyboard"),
        ("qwerasdfzxcv", "keyboard"),
        ("147258369a", "keyboard"),
        ("1314520woaini", "520"),
        ("zhangweiming1990", "pinyin"),
        ("wangxiaoming0815", "pinyin"),
        ("zhoumin19900815", "date"),
        ("19900815abc", "date"),
        ("20240101aaa", "date"),
        ("aaa111bbb222", "repeated"),
        ("abcd12345678", "sequence"),
        ("520woaini520", "520"),
        ("p@ssw0rd2024", "common"),
        ("dragonmonkey", "common"),
        ("gonghuiyizhan", "common"),
        ("a" * 60 + "b" * 60, "repeated"),
        ("qwertyuiop" * 5 + "x", "keyboard"),
    ],
)
def test_guessable_passwords_are_refused_with_the_reason(app, password, expected):
    with force_locale("en"):
        problem = password_problem(password)
    assert problem is not None and expected in problem, problem


@pytest.mark.parametrize(
    "password",
    [
        PASSWORD,
        NEW_PASSWORD,
        "tangyuan-lantern",
        "implants-for-police",
        "inclusive-day-2023",
        "丁香花开在昆明的春天",
        "Kx7#mQ2v!pLz",
        "river-tea-cloud-lamp",
    ],
)
def test_passwords_that_follow_no_pattern_pass(app, password):
    assert password_problem(password, "guandu") is None


def test_the_reason_is_said_in_chinese_too(app):
    with force_locale("zh"):
        problem = password_problem("5201314abc")
    assert problem is not None and "520" in problem


# --- A new API token is shown by the answer that made it, kept nowhere -------------------------


def test_a_new_token_is_shown_at_once_and_never_put_in_the_session(db, client, make_user, login):
    login(make_user(Role.ADMIN))
    made = client.post("/account/tokens", data={"name": "Door scanner", "scope": "read"})
    assert made.status_code == 201
    assert made.headers["Cache-Control"] == "no-store"
    page = made.get_data(as_text=True)
    raw = page.split('readonly value="')[1].split('"')[0]
    assert raw.startswith("idk_")
    with client.session_transaction() as sess:
        assert raw not in repr(dict(sess))
    assert all(raw not in header for header in made.headers.getlist("Set-Cookie"))
    assert raw not in client.get("/account/tokens").get_data(as_text=True)
    assert client.get("/api/v1/units", headers=bearer(raw)).status_code == 200


# --- Nothing private stays in a cache ----------------------------------------------------------


def test_private_pages_api_answers_and_exports_are_not_stored(db, client, make_user, login):
    user = make_user(Role.ADMIN)
    raw = new_token(db, user)
    api = client.get("/api/v1/units", headers=bearer(raw))
    assert api.status_code == 200 and "no-store" in api.headers["Cache-Control"]
    login(user)
    for url in ("/", "/stations/", "/sponsors/", "/sponsors/donations.csv", "/auth/users"):
        answer = client.get(url)
        assert answer.status_code == 200, url
        assert "no-store" in answer.headers.get("Cache-Control", ""), url


def test_public_pages_and_static_files_keep_their_caching(client, make_user, login):
    assert "no-store" not in client.get("/directory/").headers.get("Cache-Control", "")
    login(make_user(Role.ADMIN))
    static = client.get("/static/css/app.css")
    static.close()
    assert static.status_code == 200
    assert "no-store" not in static.headers.get("Cache-Control", "")


def test_a_download_is_not_stored_even_without_a_session(database_url):
    app = create_app(TestConfig(database_url))  # its own: a test route joins it

    @app.get("/_test_download")
    def _download():
        return app.response_class(
            "a,b\n", headers={"Content-Disposition": 'attachment; filename="x.csv"'}
        )

    answer = app.test_client().get("/_test_download")
    assert "no-store" in answer.headers["Cache-Control"]


# --- The tally's cap and its one grouped write ---------------------------------------------------


def taps(group: str, n: int, start: int = 1) -> list[dict]:
    return [{"nonce": f"tap-{group}-{i:08d}", "group": group} for i in range(start, start + n)]


@pytest.fixture
def tally(make_activity, make_user, login):
    activity = make_activity()
    login(make_user(Role.STATION_MANAGER, on=activity.station))
    return activity


def test_uploads_never_take_a_headcount_past_its_cap(app, db, client, tally):
    app.config["HEADCOUNT_MAX"] = 5
    answers = [
        client.post(f"/activities/{tally.id}/tally", json={"taps": taps("courier", 3, 1 + 3 * k)})
        for k in range(3)
    ]
    assert [a.status_code for a in answers] == [200, 200, 200]
    assert answers[-1].json["counts"]["courier"] == 5
    assert sum(a.json["accepted"] for a in answers) == 5
    assert sum(a.json["refused"] for a in answers) == 4
    assert count(db, HeadcountChange) == 5
    # An undo makes room for one more.
    undo = [{"nonce": "tap-undo-00000001", "group": "courier", "delta": -1}]
    assert (
        client.post(f"/activities/{tally.id}/tally", json={"taps": undo}).json["counts"]["courier"]
        == 4
    )


def test_one_upload_carries_a_bounded_number_of_taps(app, db, client, tally):
    limit = app.config["TALLY_BATCH_MAX"]
    assert limit <= 500
    answer = client.post(f"/activities/{tally.id}/tally", json={"taps": taps("rider", limit + 1)})
    assert answer.status_code == 400
    assert count(db, HeadcountChange) == 0


def test_applying_taps_is_one_grouped_write_whatever_their_number(db, client, tally):
    url = f"/activities/{tally.id}/tally"
    with count_queries(db.engine) as few:
        client.post(url, json={"taps": taps("rider", 2) + taps("elderly", 1)})
    with count_queries(db.engine) as many:
        answer = client.post(url, json={"taps": taps("rider", 300, 10) + taps("elderly", 100, 10)})
    assert answer.json["accepted"] == 400
    assert many["n"] == few["n"]
    # Within one upload a nonce sent twice counts once.
    twice = taps("police", 1) * 2
    again = client.post(url, json={"taps": twice})
    assert (again.json["accepted"], again.json["repeated"]) == (1, 1)


# --- Page numbers too large to count -------------------------------------------------------------

HUGE = "99999999999999999999"


@pytest.mark.parametrize("url", [f"/directory/?page={HUGE}", f"/directory/map?page={HUGE}"])
def test_a_huge_page_number_is_no_server_error(client, make_station, url):
    make_station(name="五华区骑手之家", code="KM-WH-001")
    assert client.get(url).status_code == 200
    assert client.get(url.replace(HUGE, "-3")).status_code == 200


def test_the_staff_lists_take_huge_page_numbers_too(client, make_user, make_activity, login):
    activity = make_activity()
    login(make_user(Role.ADMIN))
    assert client.get(f"/stations/?page={HUGE}").status_code == 200
    answer = client.get(f"/activities/{activity.id}/attendance?history={HUGE}&checkins={HUGE}")
    assert answer.status_code == 200
