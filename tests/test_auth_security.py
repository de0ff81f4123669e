"""Password rule, sign-in limits, sessions that really end, changing one's password."""

import pytest
from flask_babel import force_locale
from sqlalchemy import select

from inclusive_day.auth.models import User
from inclusive_day.auth.passwords import (
    common_passwords,
    password_problem,
    temporary_password,
)
from inclusive_day.extensions import limiter
from tests.conftest import PASSWORD

NEW_PASSWORD = "plum blossom lantern 7"


@pytest.fixture(autouse=True)
def fresh_limits(app):
    """Every test starts with no failed attempts counted."""
    limiter.reset()
    yield
    limiter.reset()


@pytest.fixture
def user(make_user):
    return make_user(username="guandu", display_name="官渡区总工会")


def _sign_in(client, username="guandu", password=PASSWORD, **extra):
    return client.post("/auth/login", data={"username": username, "password": password, **extra})


# --- The password rule --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("password", "username", "expected"),
    [
        ("short1!", None, "at least 10 characters"),
        ("5201314520", None, "most common"),
        ("3456789012", None, "sequence"),
        ("woaini1314", None, "most common"),
        ("WoAiNi1314", None, "most common"),
        ("1qaz2wsx3edc", None, "sequence"),
        ("qwertyuiop", None, "sequence"),
        ("QWERTYUIOP", None, "sequence"),
        ("a123456789", None, "most common"),
        ("1234567890", None, "sequence"),
        ("0987654321", None, "sequence"),
        ("password123", None, "most common"),
        ("iloveyou2024", None, "most common"),
        ("Password!!!", None, "most common"),
        ("aaaaaaaaaaaa", None, "sequence"),
        ("abababababab", None, "sequence"),
        ("abcdefghijkl", None, "sequence"),
        ("guandu-2023!", "GuanDu", "user name"),
        ("wangxiaoming", "wangxiaoming", "user name"),
    ],
)
def test_weak_passwords_are_refused_with_the_reason(app, password, username, expected):
    with force_locale("en"):
        problem = password_problem(password, username)
    assert problem is not None and expected in problem


@pytest.mark.parametrize(
    "password", [PASSWORD, "inclusive-day-2023", "implants-for-police", "丁香花开在昆明的春天"]
)
def test_good_passwords_pass(app, password):
    assert password_problem(password, "guandu") is None


def test_the_common_list_holds_several_hundred_well_known_passwords(app):
    listed = common_passwords()
    assert len(listed) >= 500
    assert {"5201314", "woaini1314", "1qaz2wsx", "qwertyuiop", "iloveyou"} <= listed


def test_a_short_user_name_does_not_forbid_its_letters(app):
    assert password_problem("ab-lantern-festival", "ab") is None
    assert password_problem("ab", "ab") is not None


def test_temporary_passwords_pass_the_rule_and_differ(app):
    made = {temporary_password() for _ in range(20)}
    assert len(made) == 20
    assert all(password_problem(p) is None and len(p) >= 16 for p in made)


def test_create_admin_refuses_a_common_password_and_takes_a_strong_one(runner, db):
    refused = runner.invoke(
        args=["users", "create-admin", "boss"], input="woaini1314\nwoaini1314\n"
    )
    # The command speaks the default language, as the rule does outside a request.
    assert refused.exit_code != 0 and password_problem("woaini1314") in refused.output
    assert db.session.scalar(select(User).where(User.username == "boss")) is None
    made = runner.invoke(args=["users", "create-admin", "boss"], input=f"{PASSWORD}\n{PASSWORD}\n")
    assert made.exit_code == 0, made.output
    assert db.session.scalar(select(User).where(User.username == "boss")) is not None


# --- Sign-in limits -----------------------------------------------------------------------------


def test_an_account_is_locked_after_five_failures_and_the_password_is_not_checked(
    client, db, user, monkeypatch
):
    for _ in range(5):
        assert _sign_in(client, password="wrong password").status_code == 200
    checks = []
    original = User.check_password
    monkeypatch.setattr(
        User, "check_password", lambda self, pw: checks.append(pw) or original(self, pw)
    )
    blocked = _sign_in(client, username="GUANDU ")
    assert blocked.status_code == 429
    assert "Too many failed sign-in attempts" in blocked.get_data(as_text=True)
    assert "<form" in blocked.get_data(as_text=True)
    assert checks == []  # the right password was never even looked at
    assert client.get("/").status_code == 302
    assert db.session.get(User, user.id).last_login_at is None


def test_the_account_limit_holds_from_another_address(app, client, user, make_user):
    for _ in range(5):
        _sign_in(client, password="wrong password")
    elsewhere = app.test_client()
    elsewhere.environ_base.update(HTTP_ACCEPT_LANGUAGE="en", REMOTE_ADDR="10.9.8.7")
    assert _sign_in(elsewhere).status_code == 429
    # Other accounts from the first address are not affected.
    other = make_user(username="panlong")
    assert _sign_in(client, username=other.username).status_code == 302


def test_successful_sign_ins_are_not_counted(client, user):
    for _ in range(7):
        assert _sign_in(client).status_code == 302
        client.post("/auth/logout")
    assert _sign_in(client).status_code == 302


def test_an_address_is_limited_across_accounts(app, client, user):
    app.config["LOGIN_LIMIT_ADDRESS"] = "3 per 15 minutes"
    for name in ("a1", "a2", "a3"):
        assert _sign_in(client, username=name, password="wrong password").status_code == 200
    assert _sign_in(client).status_code == 429
    elsewhere = app.test_client()
    elsewhere.environ_base.update(HTTP_ACCEPT_LANGUAGE="en", REMOTE_ADDR="10.1.2.3")
    assert _sign_in(elsewhere).status_code == 302


# --- Sessions -----------------------------------------------------------------------------------


def test_signing_in_starts_a_new_session(client, user):
    client.post("/language", data={"lang": "en", "next": "/"})
    with client.session_transaction() as sess:
        sess["planted"] = "by an attacker"
    before = client.get_cookie("session").value
    assert _sign_in(client).status_code == 302
    assert client.get_cookie("session").value != before
    with client.session_transaction() as sess:
        assert "planted" not in sess
        assert sess["lang"] == "en"


def _copy_cookies(source, target, names=("session", "remember_token")):
    for name in names:
        cookie = source.get_cookie(name)
        if cookie is not None:
            target.set_cookie(name, cookie.value)


def test_signing_out_ends_copies_of_the_session_and_remember_cookies(app, client, db, user):
    _sign_in(client, remember="y")
    assert client.get_cookie("remember_token") is not None
    thief = app.test_client()
    _copy_cookies(client, thief)
    remembered = app.test_client()
    _copy_cookies(client, remembered, names=("remember_token",))
    assert thief.get("/").status_code == 200
    assert remembered.get("/").status_code == 200
    version = db.session.get(User, user.id).session_version

    assert client.post("/auth/logout").status_code == 302

    db.session.expire_all()
    assert db.session.get(User, user.id).session_version == version + 1
    assert thief.get("/").status_code == 302
    fresh = app.test_client()
    _copy_cookies(thief, fresh, names=("remember_token",))
    assert fresh.get("/").status_code == 302


def test_a_disabled_and_re_enabled_account_keeps_no_old_session(app, client, db, user):
    from inclusive_day.auth.services import set_active

    _sign_in(client, remember="y")
    admin = User(username="root-admin", display_name="", password_hash="x")
    db.session.add(admin)
    db.session.flush()
    set_active(db.session.get(User, user.id), False, by=admin)
    db.session.commit()
    set_active(db.session.get(User, user.id), True, by=admin)
    db.session.commit()
    assert client.get("/").status_code == 302


# --- Changing one's password --------------------------------------------------------------------


def _change(client, current=PASSWORD, new=NEW_PASSWORD, confirm=None):
    return client.post(
        "/auth/password",
        data={"current": current, "password": new, "confirm": confirm or new},
    )


def test_changing_the_password_keeps_this_browser_and_ends_the_others(app, client, db, user, login):
    login(user)
    other = app.test_client()
    _copy_cookies(client, other)
    assert other.get("/").status_code == 200
    answer = _change(client)
    assert answer.status_code == 302 and answer.location == "/"
    assert client.get("/").status_code == 200
    assert other.get("/").status_code == 302
    db.session.expire_all()
    changed = db.session.get(User, user.id)
    assert changed.check_password(NEW_PASSWORD) and changed.password_changed_at is not None
    client.post("/auth/logout")
    assert _sign_in(client).status_code == 200
    assert _sign_in(client, password=NEW_PASSWORD).status_code == 302


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"current": "not my password"}, "The current password is wrong."),
        ({"new": "woaini1314"}, "most common"),
        ({"new": "short"}, "at least 10 characters"),
        ({"new": "guandu-rocks-2024"}, "user name"),
        ({"new": PASSWORD}, "different from the current one"),
        ({"confirm": "something else entirely"}, "The passwords differ."),
    ],
)
def test_a_bad_password_change_says_why_and_changes_nothing(
    client, db, user, login, change, message
):
    login(user)
    answer = _change(client, **change)
    assert answer.status_code == 200
    assert message in answer.get_data(as_text=True)
    db.session.expire_all()
    unchanged = db.session.get(User, user.id)
    assert unchanged.check_password(PASSWORD) and unchanged.password_changed_at is None
    assert client.get("/").status_code == 200


def test_the_password_page_needs_a_signed_in_user(client):
    assert client.get("/auth/password").status_code == 302


def test_a_reset_password_must_be_changed_before_anything_else(client, db, user):
    user.must_change_password = True
    db.session.commit()
    answer = _sign_in(client, next="/stations/")
    assert answer.location == "/auth/password"
    for path in ("/", "/stations/", "/campaigns/"):
        blocked = client.get(path)
        assert blocked.status_code == 302 and blocked.location == "/auth/password"
    assert client.get("/auth/password").status_code == 200
    static = client.get("/static/css/app.css")
    static.close()
    assert static.status_code == 200
    assert _change(client).status_code == 302
    db.session.expire_all()
    assert db.session.get(User, user.id).must_change_password is False
    assert client.get("/stations/").status_code == 200


def test_sign_out_works_while_a_change_is_due(client, db, user):
    user.must_change_password = True
    db.session.commit()
    _sign_in(client)
    assert client.post("/auth/logout").status_code == 302
    assert client.get("/auth/password").status_code == 302


def test_sponsor_sign_up_uses_the_same_rule(client, db, make_unit):
    from inclusive_day.sponsors.models import Sponsor

    city = make_unit("昆明市总工会")
    answer = client.post(
        "/sponsors/register",
        data={
            "unit": city.id,
            "name": "大润发",
            "kind": "enterprise",
            "username": "rtmart",
            "password": "woaini1314",
            "confirm": "woaini1314",
        },
    )
    assert answer.status_code == 200
    assert "most common" in answer.get_data(as_text=True)
    assert db.session.scalar(select(Sponsor)) is None
    assert db.session.scalar(select(User)) is None


def test_a_signed_in_api_request_is_refused_while_a_change_is_due(client, db, user):
    user.must_change_password = True
    db.session.commit()
    _sign_in(client)
    assert client.get("/api/v1/openapi.json").status_code == 403
