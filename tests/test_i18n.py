"""Both languages: complete catalogues, the language switch, Chinese by default."""

import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from inclusive_day.i18n import when

ROOT = Path(__file__).resolve().parent.parent
TRANSLATIONS = ROOT / "inclusive_day" / "translations"


def _catalogue(lang: str):
    with open(TRANSLATIONS / lang / "LC_MESSAGES" / "messages.po", "rb") as f:
        return read_po(f, locale=lang)


@pytest.fixture(scope="module")
def source_ids(tmp_path_factory) -> set[str]:
    """Every translatable string in the code and templates, extracted now."""
    pot = tmp_path_factory.mktemp("i18n") / "messages.pot"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "babel.messages.frontend",
            "extract",
            "-F",
            "babel.cfg",
            "-k",
            "_l",
            "-k",
            "lazy_gettext",
            "-o",
            str(pot),
            ".",
        ],
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    with open(pot, "rb") as f:
        return {m.id for m in read_po(f) if m.id}


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_every_string_in_the_source_is_translated(source_ids, lang):
    catalogue = _catalogue(lang)
    translated = {m.id for m in catalogue if m.id and m.string and "fuzzy" not in m.flags}
    assert source_ids - translated == set()


def test_chinese_is_the_default_for_chinese_browsers(client):
    response = client.get("/auth/login", headers={"Accept-Language": "zh-CN,zh;q=0.9"})
    assert "登录" in response.get_data(as_text=True)


def test_chinese_is_the_default_when_the_browser_says_nothing(app):
    response = app.test_client().get("/auth/login")
    assert '<html lang="zh-CN">' in response.get_data(as_text=True)


def test_english_browsers_get_english(client):
    response = client.get("/auth/login", headers={"Accept-Language": "en-GB,en;q=0.8"})
    assert "Sign in" in response.get_data(as_text=True)


def test_the_language_switch_turns_the_same_page_into_the_other_language(client):
    assert "Sign in" in client.get("/auth/login").get_data(as_text=True)
    response = client.post("/language", data={"lang": "zh", "next": "/auth/login"})
    assert response.headers["Location"] == "/auth/login"
    assert "登录" in client.get("/auth/login").get_data(as_text=True)


def test_the_language_switch_refuses_unknown_languages_and_foreign_targets(client):
    assert client.post("/language", data={"lang": "xx"}).status_code == 400
    response = client.post("/language", data={"lang": "en", "next": "https://evil.example/"})
    assert response.headers["Location"] == "/"


def test_a_signed_in_user_keeps_the_chosen_language(client, db, login, make_user):
    user = login(make_user())
    client.post("/language", data={"lang": "zh", "next": "/"})
    db.session.refresh(user)
    assert user.locale == "zh"


def test_form_errors_are_translated(app):
    client = app.test_client()
    response = client.post(
        "/auth/login", data={"username": "", "password": ""}, headers={"Accept-Language": "zh"}
    )
    text = response.get_data(as_text=True)
    assert "This field is required." not in text


@pytest.mark.parametrize(
    ("lang", "expected"), [("zh", "2024年1月18日 14:30"), ("en", "Jan 18, 2024 2:30\u202fPM")]
)
def test_times_show_in_china_time_to_the_minute(app, lang, expected):
    with app.test_request_context(headers={"Accept-Language": lang}):
        assert when(datetime(2024, 1, 18, 6, 30, tzinfo=UTC)) == expected
