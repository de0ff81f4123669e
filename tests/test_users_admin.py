"""User administration: only administrators, accounts, password resets, role grants."""

import re

import pytest
from sqlalchemy import func, select

from inclusive_day.auth.models import Role, RoleGrant, User
from inclusive_day.extensions import limiter
from inclusive_day.sponsors.models import SponsorStatus
from tests.conftest import PASSWORD


@pytest.fixture(autouse=True)
def fresh_limits(app):
    limiter.reset()


@pytest.fixture
def admin(make_user):
    return make_user(Role.ADMIN, username="root", display_name="省总工会管理员")


@pytest.fixture
def city(make_unit):
    return make_unit("昆明市总工会")


@pytest.fixture
def target(make_user):
    return make_user(username="panlong", display_name="盘龙区总工会")


def _grants(db, user) -> list[tuple]:
    rows = db.session.scalars(select(RoleGrant).where(RoleGrant.user_id == user.id))
    return [(g.role, g.unit_id, g.station_id, g.sponsor_id) for g in rows]


def _version(db, user) -> int:
    db.session.expire_all()
    return db.session.get(User, user.id).session_version


# --- Who may come in ----------------------------------------------------------------------------

PAGES = [
    ("get", "/auth/users"),
    ("get", "/auth/users/new"),
    ("post", "/auth/users/new"),
    ("get", "/auth/users/{id}"),
    ("post", "/auth/users/{id}/disable"),
    ("post", "/auth/users/{id}/enable"),
    ("post", "/auth/users/{id}/reset-password"),
    ("post", "/auth/users/{id}/grants"),
    ("post", "/auth/users/{id}/grants/{grant}/revoke"),
]


@pytest.mark.parametrize(("method", "path"), PAGES)
@pytest.mark.parametrize("role", [Role.ORGANISER, Role.VIEWER, None])
def test_anyone_but_an_administrator_gets_404(
    client, db, make_user, city, admin, login, method, path, role
):
    someone = make_user(role, on=city)
    login(someone)
    admin_grant = db.session.scalar(select(RoleGrant).where(RoleGrant.user_id == admin.id))
    url = path.format(id=admin.id, grant=admin_grant.id)
    answer = getattr(client, method)(url, data={"role": "admin"})
    assert answer.status_code == 404
    assert _grants(db, admin) == [(Role.ADMIN, None, None, None)]
    assert _version(db, admin) == 0


def test_the_pages_ask_a_stranger_to_sign_in(client, admin):
    assert client.get("/auth/users").status_code == 302
    assert client.post(f"/auth/users/{admin.id}/disable").status_code == 302


def test_an_unknown_user_is_404(client, admin, login):
    login(admin)
    assert client.get("/auth/users/999999").status_code == 404


# --- The list -----------------------------------------------------------------------------------


def test_the_list_shows_roles_and_searches_names(client, db, admin, city, make_user, login):
    organiser = make_user(Role.ORGANISER, on=city, username="kmorg", display_name="市总组织员")
    make_user(username="zhangsan", display_name="张三")
    login(admin)
    html = client.get("/auth/users").get_data(as_text=True)
    assert "kmorg" in html and "zhangsan" in html and "root" in html
    assert "organiser · 昆明市总工会" in html
    by_name = client.get("/auth/users?q=KMO").get_data(as_text=True)
    assert f"/auth/users/{organiser.id}" in by_name and "zhangsan" not in by_name
    by_display = client.get("/auth/users?q=张三").get_data(as_text=True)
    assert "zhangsan" in by_display and "kmorg" not in by_display
    assert "No user matches." in client.get("/auth/users?q=%25").get_data(as_text=True)


def test_the_list_reads_grants_in_one_query(client, db, admin, city, make_user, login):
    from tests.conftest import count_queries

    login(admin)
    for n in range(3):
        make_user(Role.VIEWER, on=city, username=f"viewer{n}")
    with count_queries(db.engine) as few:
        client.get("/auth/users")
    for n in range(3, 10):
        make_user(Role.VIEWER, on=city, username=f"viewer{n}")
    with count_queries(db.engine) as many:
        client.get("/auth/users")
    assert many["n"] == few["n"]


# --- Creating accounts --------------------------------------------------------------------------


def test_an_administrator_creates_a_user(client, db, admin, login):
    login(admin)
    answer = client.post(
        "/auth/users/new",
        data={
            "username": "wuhua",
            "display_name": "五华区总工会",
            "password": "dianchi-lake-sunrise",
            "confirm": "dianchi-lake-sunrise",
            "must_change": "y",
        },
    )
    made = db.session.scalar(select(User).where(User.username == "wuhua"))
    assert answer.status_code == 302 and answer.location == f"/auth/users/{made.id}"
    assert made.display_name == "五华区总工会" and made.must_change_password
    assert made.check_password("dianchi-lake-sunrise")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"password": "1qaz2wsx3edc", "confirm": "1qaz2wsx3edc"}, "sequence"),
        ({"password": "woaini1314", "confirm": "woaini1314"}, "most common"),
        ({"password": "wuhua-2024-ok", "confirm": "wuhua-2024-ok"}, "user name"),
        ({"confirm": "something else"}, "The passwords differ."),
        ({"username": "ROOT"}, "This user name is taken"),
        ({"username": "has space"}, "without spaces"),
    ],
)
def test_a_bad_new_user_says_why_and_writes_nothing(client, db, admin, login, change, message):
    login(admin)
    data = {"username": "wuhua", "password": "dianchi-lake-sunrise"}
    data["confirm"] = data["password"]
    data.update(change)
    answer = client.post("/auth/users/new", data=data)
    assert answer.status_code == 200
    assert message in answer.get_data(as_text=True)
    assert db.session.scalar(select(func.count(User.id))) == 1


# --- Disabling ----------------------------------------------------------------------------------


def test_disabling_signs_the_user_out_and_enabling_lets_them_back(
    app, client, db, admin, target, login
):
    other = app.test_client()
    other.post("/auth/login", data={"username": "panlong", "password": PASSWORD})
    assert other.get("/").status_code == 200
    login(admin)
    assert client.post(f"/auth/users/{target.id}/disable").status_code == 302
    db.session.expire_all()
    assert db.session.get(User, target.id).active is False
    assert _version(db, target) == 1
    assert other.get("/").status_code == 302
    assert client.post(f"/auth/users/{target.id}/enable").status_code == 302
    db.session.expire_all()
    assert db.session.get(User, target.id).active is True
    assert other.get("/").status_code == 302  # the old session stays over
    answer = other.post("/auth/login", data={"username": "panlong", "password": PASSWORD})
    assert answer.status_code == 302


def test_an_administrator_cannot_disable_themselves(client, db, admin, login):
    login(admin)
    answer = client.post(f"/auth/users/{admin.id}/disable")
    assert answer.status_code == 200
    assert "You cannot disable your own account." in answer.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(User, admin.id).active is True
    assert client.get("/auth/users").status_code == 200


# --- Password reset -----------------------------------------------------------------------------


def test_a_reset_shows_a_temporary_password_once_and_ends_the_sessions(
    app, client, db, admin, target, login
):
    other = app.test_client()
    other.post("/auth/login", data={"username": "panlong", "password": PASSWORD})
    login(admin)
    answer = client.post(f"/auth/users/{target.id}/reset-password")
    assert answer.status_code == 200
    assert answer.headers["Cache-Control"] == "no-store"
    html = answer.get_data(as_text=True)
    temporary = re.search(r'font-monospace mb-2 user-select-all">([^<]+)<', html).group(1)
    assert temporary not in client.get(f"/auth/users/{target.id}").get_data(as_text=True)
    db.session.expire_all()
    reset = db.session.get(User, target.id)
    assert reset.must_change_password and reset.check_password(temporary)
    assert not reset.check_password(PASSWORD)
    assert other.get("/").status_code == 302

    fresh = app.test_client()
    fresh.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    signed_in = fresh.post("/auth/login", data={"username": "panlong", "password": temporary})
    assert signed_in.location == "/auth/password"
    assert fresh.get("/").location == "/auth/password"


# --- Grants -------------------------------------------------------------------------------------


def test_granting_each_kind_of_role(
    client, db, admin, target, city, make_station, make_sponsor, login
):
    station = make_station(city, code="KM-0042")
    sponsor = make_sponsor(city, name="云南白药")
    login(admin)
    url = f"/auth/users/{target.id}/grants"
    for data in (
        {"role": "organiser", "unit": city.id},
        {"role": "viewer", "unit": city.id},
        {"role": "station_manager", "station_code": "km-0042"},
        {"role": "sponsor_rep", "sponsor": sponsor.id},
        {"role": "admin"},
    ):
        answer = client.post(url, data=data)
        assert answer.status_code == 302, answer.get_data(as_text=True)
    assert _grants(db, target) == [
        (Role.ORGANISER, city.id, None, None),
        (Role.VIEWER, city.id, None, None),
        (Role.STATION_MANAGER, None, station.id, None),
        (Role.SPONSOR_REP, None, None, sponsor.id),
        (Role.ADMIN, None, None, None),
    ]
    html = client.get(f"/auth/users/{target.id}").get_data(as_text=True)
    assert "Station 42" not in html and f"{station.name} (KM-0042)" in html and "云南白药" in html


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"role": "organiser"}, "Choose the union unit for this role."),
        ({"role": "station_manager", "station_code": "NOPE-1"}, "No station has this code."),
        ({"role": "sponsor_rep"}, "Choose an approved sponsor."),
        ({"role": "sponsor_rep", "sponsor": "pending"}, "Not a valid choice"),
        ({"role": "viewer", "unit": "city"}, "The user already holds this role."),
        ({"role": "emperor"}, "Not a valid choice"),
    ],
)
def test_a_bad_grant_says_why_and_changes_nothing(
    client, db, admin, target, city, make_user, make_sponsor, login, data, message
):
    from inclusive_day.auth.services import grant

    grant(target, Role.VIEWER, unit=city)
    db.session.commit()
    pending = make_sponsor(city, status=SponsorStatus.PENDING)
    values = {"city": city.id, "pending": pending.id}
    data = {k: values.get(v, v) for k, v in data.items()}
    login(admin)
    answer = client.post(f"/auth/users/{target.id}/grants", data=data)
    assert answer.status_code == 200
    assert message in answer.get_data(as_text=True)
    assert _grants(db, target) == [(Role.VIEWER, city.id, None, None)]


def test_the_service_refuses_a_sponsor_not_yet_approved(db, target, make_sponsor):
    from inclusive_day.auth.services import UserError, grant_role

    pending = make_sponsor(status=SponsorStatus.PENDING)
    with pytest.raises(UserError) as refused:
        grant_role(target, Role.SPONSOR_REP, sponsor_id=pending.id)
    assert refused.value.field == "sponsor"


def test_revoking_a_grant(client, db, admin, target, city, login):
    from inclusive_day.auth.services import grant

    row = grant(target, Role.ORGANISER, unit=city)
    db.session.commit()
    login(admin)
    answer = client.post(f"/auth/users/{target.id}/grants/{row.id}/revoke")
    assert answer.status_code == 302
    assert _grants(db, target) == []


def test_a_grant_of_another_user_is_404(client, db, admin, target, city, login):
    from inclusive_day.auth.services import grant

    row = grant(target, Role.ORGANISER, unit=city)
    db.session.commit()
    login(admin)
    assert client.post(f"/auth/users/{admin.id}/grants/{row.id}/revoke").status_code == 404
    assert len(_grants(db, target)) == 1


def test_an_administrator_keeps_their_own_last_admin_grant(client, db, admin, target, login):
    login(admin)
    own = db.session.scalar(select(RoleGrant).where(RoleGrant.user_id == admin.id))
    answer = client.post(f"/auth/users/{admin.id}/grants/{own.id}/revoke")
    assert answer.status_code == 200
    assert "You cannot take away your own administrator role." in answer.get_data(as_text=True)
    assert _grants(db, admin) == [(Role.ADMIN, None, None, None)]
    # Another administrator's grant may go.
    client.post(f"/auth/users/{target.id}/grants", data={"role": "admin"})
    theirs = db.session.scalar(select(RoleGrant).where(RoleGrant.user_id == target.id))
    assert client.post(f"/auth/users/{target.id}/grants/{theirs.id}/revoke").status_code == 302
    assert _grants(db, target) == []


def test_the_forms_need_the_csrf_token(app, client, admin, target, login):
    login(admin)
    app.config["WTF_CSRF_ENABLED"] = True
    assert client.post(f"/auth/users/{target.id}/disable").status_code == 400
    assert client.post(f"/auth/users/{target.id}/grants", data={"role": "admin"}).status_code == 400
