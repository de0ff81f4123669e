"""The access rule: every role against objects inside and outside its reach."""

from datetime import date
from decimal import Decimal

import pytest

from inclusive_day.access.rule import Action, can, visible
from inclusive_day.auth.models import Role
from inclusive_day.sponsors.models import Donation, DonationKind, Sponsor
from inclusive_day.stations.models import Station


@pytest.fixture
def world(db, make_unit, make_station, make_campaign, make_activity, make_sponsor, make_user):
    """Two districts of one city, each with a station, campaign, activity, sponsor, donation."""
    province = make_unit("Province")
    city = make_unit("City", province)
    w = {"province": province, "city": city}
    for side in ("in", "out"):
        district = make_unit(f"District {side}", city)
        station = make_station(district)
        campaign = make_campaign(district)
        activity = make_activity(station, campaign)
        sponsor = make_sponsor(district)
        donation = Donation(
            sponsor=sponsor,
            campaign=campaign,
            kind=DonationKind.CASH,
            description="cash",
            value=Decimal("1000.00"),
            pledged_on=date(2023, 10, 1),
        )
        db.session.add(donation)
        db.session.commit()
        w[side] = {
            "district": district,
            "station": station,
            "campaign": campaign,
            "activity": activity,
            "sponsor": sponsor,
            "donation": donation,
        }
    w["city_campaign"] = make_campaign(city, name="City campaign")
    inside = w["in"]
    w["users"] = {
        "admin": make_user(Role.ADMIN),
        "city_organiser": make_user(Role.ORGANISER, city),
        "organiser": make_user(Role.ORGANISER, inside["district"]),
        "viewer": make_user(Role.VIEWER, inside["district"]),
        "station_manager": make_user(Role.STATION_MANAGER, inside["station"]),
        "sponsor_rep": make_user(Role.SPONSOR_REP, inside["sponsor"]),
        "nobody": make_user(),
    }
    return w


PAGES = {
    "station": "/stations/{id}",
    "campaign": "/campaigns/{id}",
    "activity": "/activities/{id}",
}

# What each role may see, of the objects in its own district ("in") and the other ("out").
SEES = {
    "admin": {
        "in": {"station", "campaign", "activity"},
        "out": {"station", "campaign", "activity"},
    },
    "city_organiser": {
        "in": {"station", "campaign", "activity"},
        "out": {"station", "campaign", "activity"},
    },
    "organiser": {"in": {"station", "campaign", "activity"}, "out": set()},
    "viewer": {"in": {"station", "campaign", "activity"}, "out": set()},
    "station_manager": {"in": {"station", "campaign", "activity"}, "out": set()},
    "sponsor_rep": {"in": {"campaign"}, "out": set()},
    "nobody": {"in": set(), "out": set()},
}


@pytest.mark.parametrize("role", list(SEES))
@pytest.mark.parametrize("side", ["in", "out"])
@pytest.mark.parametrize("kind", list(PAGES))
def test_pages_answer_200_inside_reach_and_404_outside(world, client, login, role, side, kind):
    login(world["users"][role])
    obj = world[side][kind]
    response = client.get(PAGES[kind].format(id=obj.id))
    expected = 200 if kind in SEES[role][side] else 404
    assert response.status_code == expected


@pytest.mark.parametrize("kind", list(PAGES))
def test_signed_out_visitors_are_sent_to_sign_in(world, client, kind):
    response = client.get(PAGES[kind].format(id=world["in"][kind].id))
    assert response.status_code == 302
    assert "/auth/login" in response.headers["Location"]


# (role, action, object key, side) -> allowed
ACTIONS = [
    ("organiser", Action.EDIT, "station", "in", True),
    ("organiser", Action.EDIT, "station", "out", False),
    ("organiser", Action.RECORD, "activity", "in", True),
    ("city_organiser", Action.EDIT, "district", "out", True),
    ("organiser", Action.EDIT, "district", "in", True),
    ("organiser", Action.VIEW, "district", "out", False),
    ("viewer", Action.VIEW, "sponsor", "in", True),
    ("viewer", Action.EDIT, "station", "in", False),
    ("viewer", Action.RECORD, "activity", "in", False),
    ("station_manager", Action.RECORD, "activity", "in", True),
    ("station_manager", Action.RECORD, "activity", "out", False),
    ("station_manager", Action.EDIT, "activity", "in", False),
    ("station_manager", Action.EDIT, "station", "in", False),
    ("station_manager", Action.EDIT, "campaign", "in", False),
    ("sponsor_rep", Action.EDIT, "sponsor", "in", True),
    ("sponsor_rep", Action.EDIT, "donation", "in", True),
    ("sponsor_rep", Action.VIEW, "donation", "out", False),
    ("sponsor_rep", Action.VIEW, "sponsor", "out", False),
    ("sponsor_rep", Action.EDIT, "campaign", "in", False),
    ("sponsor_rep", Action.VIEW, "station", "in", False),
    ("organiser", Action.VIEW, "city_campaign", None, True),
    ("organiser", Action.EDIT, "city_campaign", None, False),
    ("city_organiser", Action.EDIT, "city_campaign", None, True),
    ("admin", Action.EDIT, "donation", "out", True),
    ("nobody", Action.VIEW, "station", "in", False),
]


@pytest.mark.parametrize(("role", "action", "key", "side", "allowed"), ACTIONS)
def test_can_answers_per_role_action_and_object(world, role, action, key, side, allowed):
    obj = world[key] if side is None else world[side][key]
    assert can(world["users"][role], action, obj) is allowed


def test_a_disabled_account_reaches_nothing(world, db):
    organiser = world["users"]["organiser"]
    organiser.active = False
    db.session.commit()
    assert not can(organiser, Action.VIEW, world["in"]["station"])


def test_lists_and_single_checks_agree(world, db):
    for role, user in world["users"].items():
        listed = set(
            db.session.scalars(db.select(Station.id).where(visible(user, Action.VIEW, Station)))
        )
        single = {
            s["station"].id
            for s in (world["in"], world["out"])
            if can(user, Action.VIEW, s["station"])
        }
        assert listed == single, role
        sponsors = set(
            db.session.scalars(db.select(Sponsor.id).where(visible(user, Action.EDIT, Sponsor)))
        )
        assert sponsors == {
            s["sponsor"].id
            for s in (world["in"], world["out"])
            if can(user, Action.EDIT, s["sponsor"])
        }
