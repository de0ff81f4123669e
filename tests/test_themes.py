"""The theme catalogue: the shared themes, those units add, who may add or change them."""

import pytest
from sqlalchemy import func, select

from inclusive_day.auth.models import Role
from inclusive_day.campaigns.models import Theme
from inclusive_day.campaigns.services import (
    CampaignError,
    new_theme_code,
    save_theme,
    theme_usable,
    usable_themes,
)


@pytest.fixture
def world(db, make_unit, make_user):
    """City > districts A (street S) and B, each district with a theme of its own."""
    city = make_unit("City", make_unit("Province"))
    a = make_unit("District A", city)
    street = make_unit("Street S", a)
    b = make_unit("District B", city)
    themes = {
        "city": save_theme(None, city, "城市茶歇", "City tea break", "#112233"),
        "a": save_theme(None, a, "官渡义诊", "Free clinic A", "#445566"),
        "b": save_theme(None, b, "西山书法", "Calligraphy B", "#778899"),
    }
    db.session.commit()
    return {
        "city": city,
        "a": a,
        "street": street,
        "b": b,
        "themes": themes,
        "users": {
            "admin": make_user(Role.ADMIN),
            "district": make_user(Role.ORGANISER, a),
            "street": make_user(Role.ORGANISER, street),
            "viewer": make_user(Role.VIEWER, a),
        },
    }


def _count(db) -> int:
    return db.session.scalar(select(func.count(Theme.id)))


def test_the_list_shows_shared_themes_and_those_in_or_above_reach(world, client, login):
    login(world["users"]["street"])
    page = client.get("/campaigns/themes").get_data(as_text=True)
    assert "义剪理发" in page and "Free haircut" in page  # the shared catalogue, both names
    assert "#8e44ad" in page  # its colour swatch
    assert "City tea break" in page and "Free clinic A" in page  # added above the street
    assert "Calligraphy B" not in page  # a sibling district's
    assert "District A" in page and "Shared catalogue" in page


def test_an_administrator_sees_every_theme(world, client, login):
    login(world["users"]["admin"])
    page = client.get("/campaigns/themes").get_data(as_text=True)
    assert "Calligraphy B" in page and "Free clinic A" in page


def test_a_district_adds_a_theme_with_a_generated_code(db, world, client, login):
    login(world["users"]["district"])
    form = client.get("/campaigns/themes/new").get_data(as_text=True)
    assert "Shared catalogue" not in form and "District B" not in form
    response = client.post(
        "/campaigns/themes/new",
        data={
            "unit": world["a"].id,
            "name_zh": "反诈小课堂",
            "name_en": "Anti-fraud class",
            "colour": "#1A2B3C",
        },
    )
    assert response.status_code == 302
    theme = db.session.scalar(select(Theme).where(Theme.name_en == "Anti-fraud class"))
    assert theme.unit_id == world["a"].id and theme.colour == "#1a2b3c"
    assert theme.code == f"u{world['a'].id}_anti_fraud_class"
    assert theme_usable(theme, world["street"]) and not theme_usable(theme, world["b"])


def test_only_administrators_add_to_the_shared_catalogue(db, world, client, login):
    data = {"unit": 0, "name_zh": "送清风", "name_en": "Breeze", "colour": "#aabbcc"}
    login(world["users"]["district"])
    before = _count(db)
    assert client.post("/campaigns/themes/new", data=data).status_code == 200
    assert _count(db) == before
    client.post("/auth/logout")
    login(world["users"]["admin"])
    assert "Shared catalogue" in client.get("/campaigns/themes/new").get_data(as_text=True)
    assert client.post("/campaigns/themes/new", data=data).status_code == 302
    theme = db.session.scalar(select(Theme).where(Theme.name_en == "Breeze"))
    assert theme.unit_id is None and theme.code == "breeze"


@pytest.mark.parametrize(
    ("name_zh", "name_en", "message"),
    [
        ("官渡义诊", "Another clinic", "District A already has a theme with this name."),
        ("新义诊", "free CLINIC a", "District A already has a theme with this name."),
        ("义剪理发", "Haircuts again", "The shared catalogue already has a theme with this name."),
        ("茶歇二", "City Tea Break", "City already has a theme with this name."),
    ],
)
def test_a_name_already_in_use_is_refused(db, world, client, login, name_zh, name_en, message):
    login(world["users"]["district"])
    before = _count(db)
    response = client.post(
        "/campaigns/themes/new",
        data={"unit": world["a"].id, "name_zh": name_zh, "name_en": name_en, "colour": "#000000"},
    )
    assert response.status_code == 200
    assert message in response.get_data(as_text=True)
    assert _count(db) == before


def test_the_same_name_in_a_sibling_unit_is_fine(db, world):
    theme = save_theme(None, world["b"], "官渡义诊", "Free clinic A", "#000000")
    assert theme.unit_id == world["b"].id


@pytest.mark.parametrize("colour", ["red", "#12345", "#12345g", "112233", ""])
def test_a_colour_must_be_hex(db, world, client, login, colour):
    login(world["users"]["district"])
    before = _count(db)
    response = client.post(
        "/campaigns/themes/new",
        data={"unit": world["a"].id, "name_zh": "新", "name_en": "New", "colour": colour},
    )
    assert response.status_code == 200 and 'class="invalid-feedback' in response.get_data(
        as_text=True
    )
    assert _count(db) == before


def test_editing_keeps_the_code(db, world, client, login):
    theme = world["themes"]["a"]
    code = theme.code
    login(world["users"]["district"])
    form = client.get(f"/campaigns/themes/{theme.id}/edit").get_data(as_text=True)
    assert code in form and 'value="官渡义诊"' in form
    response = client.post(
        f"/campaigns/themes/{theme.id}/edit",
        data={
            "unit": world["street"].id,
            "name_zh": "义诊",
            "name_en": "Free clinic",
            "colour": "#00ff00",
        },
    )
    assert response.status_code == 302
    db.session.expire_all()
    theme = db.session.get(Theme, theme.id)
    assert (theme.code, theme.name_en, theme.colour, theme.unit_id) == (
        code,
        "Free clinic",
        "#00ff00",
        world["street"].id,
    )


def test_who_may_edit_which_theme(db, world, client, login):
    shared = db.session.scalar(select(Theme).where(Theme.code == "haircut"))
    login(world["users"]["district"])
    assert client.get(f"/campaigns/themes/{shared.id}/edit").status_code == 404
    assert client.get(f"/campaigns/themes/{world['themes']['b'].id}/edit").status_code == 404
    assert client.get(f"/campaigns/themes/{world['themes']['city'].id}/edit").status_code == 404
    response = client.post(
        f"/campaigns/themes/{shared.id}/edit",
        data={"unit": world["a"].id, "name_zh": "x", "name_en": "x", "colour": "#000000"},
    )
    assert response.status_code == 404
    db.session.expire_all()
    assert db.session.get(Theme, shared.id).name_en == "Free haircut"
    page = client.get("/campaigns/themes").get_data(as_text=True)
    assert f"/campaigns/themes/{world['themes']['a'].id}/edit" in page
    assert f"/campaigns/themes/{shared.id}/edit" not in page


def test_a_viewer_cannot_add_or_edit_themes(world, client, login):
    login(world["users"]["viewer"])
    assert client.get("/campaigns/themes").status_code == 200
    assert client.get("/campaigns/themes/new").status_code == 404
    assert client.get(f"/campaigns/themes/{world['themes']['a'].id}/edit").status_code == 404
    assert "New theme" not in client.get("/campaigns/themes").get_data(as_text=True)


def test_a_theme_in_use_cannot_move_away_from_its_activities(
    db, world, make_station, make_campaign, make_activity
):
    theme = world["themes"]["a"]
    station = make_station(world["street"])
    make_activity(station, make_campaign(world["a"]), theme=theme)
    with pytest.raises(CampaignError) as error:
        save_theme(theme, world["b"], theme.name_zh, theme.name_en, theme.colour)
    assert error.value.field == "unit"
    db.session.rollback()
    assert save_theme(theme, world["city"], "义诊", "Clinic", "#000000").unit_id == world["city"].id


def test_codes_stay_unique(db, world):
    first = save_theme(None, world["street"], "茶", "Tea", "#000000")
    db.session.commit()
    assert new_theme_code("Tea", world["street"]) == f"{first.code}_2"
    assert new_theme_code("茶歇", None) == "theme"


def test_usable_themes_still_offer_the_shared_catalogue_and_units_above(world):
    names = {t.name_en for t in usable_themes(world["street"])}
    assert {"Free haircut", "City tea break", "Free clinic A"} <= names
    assert "Calligraphy B" not in names
