"""Signing in and out."""

import pytest
from sqlalchemy import func, select

from inclusive_day.auth.models import User
from tests.conftest import PASSWORD


@pytest.fixture
def user(make_user):
    return make_user(username="guandu", display_name="官渡区总工会")


def test_sign_in_with_the_right_password_reaches_the_dashboard(client, user):
    response = client.post("/auth/login", data={"username": "guandu", "password": PASSWORD})
    assert response.status_code == 302
    assert response.headers["Location"] == "/"
    assert client.get("/").status_code == 200


def test_user_names_are_matched_without_regard_to_case(client, user):
    response = client.post("/auth/login", data={"username": "GuanDu", "password": PASSWORD})
    assert response.status_code == 302


@pytest.mark.parametrize(
    ("username", "password"), [("guandu", "wrong password"), ("nobody", PASSWORD)]
)
def test_a_failed_sign_in_does_not_say_which_part_was_wrong(client, user, username, password):
    response = client.post("/auth/login", data={"username": username, "password": password})
    assert response.status_code == 200
    assert b"Wrong user name or password." in response.data
    assert client.get("/").status_code == 302


def test_an_empty_form_re_renders_with_errors_and_writes_nothing(client, db, user):
    before = db.session.scalar(select(func.count(User.id)))
    response = client.post("/auth/login", data={"username": "", "password": ""})
    assert response.status_code == 200
    assert b"This field is required." in response.data
    assert db.session.scalar(select(func.count(User.id))) == before
    assert db.session.get(User, user.id).last_login_at is None


def test_a_disabled_account_cannot_sign_in(client, db, user):
    user.active = False
    db.session.commit()
    response = client.post("/auth/login", data={"username": "guandu", "password": PASSWORD})
    assert b"Wrong user name or password." in response.data


def test_disabling_an_account_ends_its_running_session(client, db, login, user):
    login(user)
    user.active = False
    db.session.commit()
    assert client.get("/").status_code == 302


def test_sign_out_is_a_post_and_ends_the_session(client, login, user):
    login(user)
    assert client.get("/auth/logout").status_code == 405
    assert client.post("/auth/logout").status_code == 302
    assert client.get("/").status_code == 302


@pytest.mark.parametrize(
    ("target", "expected"),
    [("/stations/", "/stations/"), ("https://evil.example/", "/"), ("//evil.example", "/")],
)
def test_sign_in_follows_next_only_within_the_site(client, user, target, expected):
    response = client.post(
        f"/auth/login?next={target}", data={"username": "guandu", "password": PASSWORD}
    )
    assert response.headers["Location"] == expected


def test_passwords_are_stored_hashed(db, user):
    stored = db.session.get(User, user.id).password_hash
    assert PASSWORD not in stored
    assert stored.startswith("pbkdf2:")


def test_forms_refuse_a_post_without_the_csrf_token(database_url, user):
    from inclusive_day import create_app
    from inclusive_day.config import TestConfig

    config = TestConfig(database_url)
    config.WTF_CSRF_ENABLED = True
    client = create_app(config).test_client()
    response = client.post(
        "/auth/login",
        data={"username": "guandu", "password": PASSWORD},
        headers={"Accept-Language": "en"},
    )
    assert response.status_code == 400
    assert b"The form expired" in response.data
    assert client.post("/language", data={"lang": "zh"}).status_code == 400
