"""API tokens: shown once, hashed at rest, scoped, revocable; the token pages; the API's
authentication (401 with WWW-Authenticate, 403 for a read token's change) and error shape."""

from datetime import timedelta

import pytest
from sqlalchemy import select, text

from inclusive_day.api.models import ApiToken, TokenScope
from inclusive_day.api.tokens import authenticate, issue_token, revoke_token
from inclusive_day.auth.models import Role
from inclusive_day.feeds.models import hash_token


@pytest.fixture
def organiser(make_user, make_unit):
    return make_user(Role.ORGANISER, on=make_unit("Kunming"))


def bearer(raw: str) -> dict:
    return {"Authorization": f"Bearer {raw}"}


def new_token(db, user, scope=TokenScope.READ) -> str:
    _token, raw = issue_token(user, "scanner", scope)
    db.session.commit()
    return raw


def test_a_token_is_stored_only_as_its_hash(db, organiser):
    token, raw = issue_token(organiser, "scanner", TokenScope.WRITE)
    db.session.commit()
    assert raw.startswith("idk_") and len(raw) > 40
    assert token.token_hash == hash_token(raw) and token.prefix == raw[:12]
    dump = " ".join(
        str(value) for row in db.session.execute(text("SELECT * FROM api_tokens")) for value in row
    )
    assert raw not in dump and raw[12:] not in dump


def test_authenticate_knows_live_tokens_only(db, organiser):
    raw = new_token(db, organiser)
    assert authenticate(raw).user_id == organiser.id
    assert authenticate(raw + "x") is None
    assert authenticate("Bearer " + raw) is None
    assert authenticate("") is None and authenticate(None) is None
    token = db.session.scalar(select(ApiToken))
    revoke_token(token)
    db.session.commit()
    assert authenticate(raw) is None


def test_last_used_moves_at_most_once_a_minute(db, organiser):
    raw = new_token(db, organiser)
    authenticate(raw)
    db.session.commit()
    token = db.session.scalar(select(ApiToken))
    first = token.last_used_at
    assert first is not None
    authenticate(raw)
    db.session.commit()
    db.session.refresh(token)
    assert token.last_used_at == first
    token.last_used_at = first - timedelta(minutes=2)
    db.session.commit()
    authenticate(raw)
    db.session.commit()
    db.session.refresh(token)
    assert token.last_used_at > first - timedelta(minutes=2)


def test_the_api_refuses_missing_unknown_and_revoked_tokens_with_401(client, db, organiser):
    raw = new_token(db, organiser)
    assert client.get("/api/v1/units", headers=bearer(raw)).status_code == 200
    for headers in ({}, bearer("idk_nope"), {"Authorization": f"Basic {raw}"}):
        answer = client.get("/api/v1/units", headers=headers)
        assert answer.status_code == 401
        assert answer.headers["WWW-Authenticate"] == "Bearer"
        assert answer.json["code"] == "unauthorized" and answer.json["error"]
    revoke_token(db.session.scalar(select(ApiToken)))
    db.session.commit()
    assert client.get("/api/v1/units", headers=bearer(raw)).status_code == 401


def test_a_disabled_users_tokens_stop_working(client, db, organiser):
    raw = new_token(db, organiser)
    organiser.active = False
    db.session.commit()
    assert client.get("/api/v1/units", headers=bearer(raw)).status_code == 401


def test_a_read_token_may_not_write(client, db, organiser):
    raw = new_token(db, organiser, TokenScope.READ)
    answer = client.post("/api/v1/activities", json={}, headers=bearer(raw))
    assert answer.status_code == 403 and answer.json["code"] == "forbidden"


def test_a_session_cookie_is_no_api_credential(client, db, organiser, login):
    login(organiser)
    assert client.get("/api/v1/units").status_code == 401


def test_api_errors_share_one_shape(client, db, organiser):
    raw = new_token(db, organiser, TokenScope.WRITE)
    missing = client.get("/api/v1/units/999999", headers=bearer(raw))
    assert missing.status_code == 404
    assert missing.json == {
        "error": "There is nothing here, or you may not see it.",
        "code": "not_found",
    }
    wrong_method = client.delete("/api/v1/units", headers=bearer(raw))
    assert wrong_method.status_code == 405 and wrong_method.json["code"] == "method_not_allowed"
    invalid = client.get("/api/v1/units?per_page=500", headers=bearer(raw))
    assert invalid.status_code == 422 and invalid.json["code"] == "validation"
    assert invalid.json["field"] == "per_page" and invalid.json["errors"]["per_page"]


def test_errors_speak_the_requests_language(client, db, organiser):
    raw = new_token(db, organiser)
    answer = client.get("/api/v1/units/999999", headers={**bearer(raw), "Accept-Language": "zh"})
    assert answer.status_code == 404 and answer.json["error"] == "此处没有内容，或您无权查看。"


# ---- the token pages ---------------------------------------------------------------------------


def test_the_token_page_needs_a_signed_in_user(client):
    assert client.get("/account/tokens").status_code == 302


def test_a_new_token_is_shown_once_then_works_with_its_scope(client, db, organiser, login):
    login(organiser)
    made = client.post("/account/tokens", data={"name": "Door scanner", "scope": "write"})
    assert made.status_code == 201  # shown by the answer that made it, never by a redirect
    assert made.headers["Cache-Control"] == "no-store"
    page = made.get_data(as_text=True)
    token = db.session.scalar(select(ApiToken))
    assert token.name == "Door scanner" and token.scope is TokenScope.WRITE
    raw = page.split('readonly value="')[1].split('"')[0]
    assert raw.startswith(token.prefix) and hash_token(raw) == token.token_hash
    again = client.get("/account/tokens").get_data(as_text=True)
    assert raw not in again and token.prefix in again
    assert client.get("/api/v1/units", headers=bearer(raw)).status_code == 200


def test_a_bad_form_makes_no_token(client, db, organiser, login):
    login(organiser)
    answer = client.post("/account/tokens", data={"name": "", "scope": "write"})
    assert answer.status_code == 422
    assert client.post("/account/tokens", data={"name": "x", "scope": "root"}).status_code == 422
    assert db.session.scalar(select(ApiToken)) is None


def test_revoking_from_the_page_stops_the_token(client, db, organiser, login, make_user, make_unit):
    raw = new_token(db, organiser)
    token = db.session.scalar(select(ApiToken))
    other = make_user(Role.ORGANISER, on=make_unit())
    login(other)
    assert client.post(f"/account/tokens/{token.id}/revoke").status_code == 404
    assert client.get("/api/v1/units", headers=bearer(raw)).status_code == 200
    client.post("/auth/logout")
    login(organiser)
    assert client.post(f"/account/tokens/{token.id}/revoke").status_code == 302
    assert client.get("/api/v1/units", headers=bearer(raw)).status_code == 401
    page = client.get("/account/tokens").get_data(as_text=True)
    assert "revoked" in page


def test_a_server_error_answers_the_error_shape(app, client, db, organiser, monkeypatch):
    import inclusive_day.api.catalogue as catalogue

    def broken(*_args):
        raise RuntimeError("boom")

    monkeypatch.setattr(catalogue, "paginated", broken)
    app.config["PROPAGATE_EXCEPTIONS"] = False
    answer = client.get("/api/v1/units", headers=bearer(new_token(db, organiser)))
    assert answer.status_code == 500
    assert answer.json["code"] == "server_error" and "boom" not in answer.json["error"]


def test_the_rate_limit_answers_the_error_shape(app, client):
    app.config["CHECKIN_RATE_LIMIT"] = "1 per minute"
    client.post("/api/v1/checkins", json={})
    answer = client.post("/api/v1/checkins", json={})
    assert answer.status_code == 429 and answer.json["code"] == "rate_limited"
