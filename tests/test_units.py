"""The union tree: paths, level order and subtree queries."""

from datetime import date

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import IntegrityError

from inclusive_day.activities.models import ActivityStatus
from inclusive_day.auth.models import Role
from inclusive_day.stations.models import StationStatus
from inclusive_day.units.models import Level, TreeError, Unit, under
from inclusive_day.units.queries import INDENT, flatten, subtree, unit_choices
from inclusive_day.units.services import create_unit, move_unit
from tests.conftest import count_queries


def test_paths_follow_the_tree(make_unit):
    province = make_unit("云南省总工会")
    city = make_unit("昆明市总工会", province)
    district = make_unit("官渡区总工会", city)
    assert province.path == f"/{province.id}/"
    assert district.path == f"/{province.id}/{city.id}/{district.id}/"
    assert district.ancestor_ids == [province.id, city.id, district.id]
    assert district.is_within(city) and not city.is_within(district)


def test_a_unit_cannot_sit_under_one_of_its_own_level_or_below(db, make_unit):
    city = make_unit("City", make_unit("Province"))
    with pytest.raises(TreeError):
        create_unit("Another city", Level.CITY, city)


def test_subtree_filter_selects_exactly_the_subtree(db, make_unit):
    province = make_unit("P")
    cities = [make_unit(f"C{i}", province) for i in range(40)]
    by_id = {c.id: c for c in cities}
    # A target with a sibling whose id starts with the target's digits: /1/3/ against /1/34/.
    target = next(c for c in cities if any(c.id * 10 + k in by_id for k in range(10)))
    children = [make_unit(f"D{j}", target) for j in range(2)]
    make_unit(
        "D-sibling",
        by_id[next(target.id * 10 + k for k in range(10) if target.id * 10 + k in by_id)],
    )
    prefix = target.path
    with count_queries(db.engine) as queries:
        found = set(db.session.scalars(select(Unit.id).where(under(Unit.path, prefix))))
    assert found == {target.id, *(d.id for d in children)}
    assert queries["n"] == 1


def test_administrative_codes_are_unique(db, make_unit):
    make_unit("昆明市总工会", make_unit("P"), code="530100")
    with pytest.raises(IntegrityError):
        make_unit("duplicate", make_unit("Q"), code="530100")
    db.session.rollback()


def test_the_database_refuses_a_level_outside_the_list(db):
    """The CHECK constraint holds even for writes that bypass the ORM's enum type."""
    insert = text(
        "INSERT INTO units (path, level, name, timezone, created_at)"
        " VALUES ('/', :level, 'x', 'Asia/Shanghai', CURRENT_TIMESTAMP)"
    )
    db.session.execute(insert, {"level": "city"})
    db.session.commit()
    with pytest.raises(IntegrityError):
        db.session.execute(insert, {"level": "galaxy"})
    db.session.rollback()


@pytest.fixture
def kunming(make_unit):
    """Yunnan > Kunming > two districts > streets, and a second city to move things to."""
    province = make_unit("云南省总工会", code="530000")
    city = make_unit("昆明市总工会", province, code="530100")
    other_city = make_unit("曲靖市总工会", province, code="530300")
    guandu = make_unit("官渡区总工会", city, code="530111")
    xishan = make_unit("西山区总工会", city, code="530112")
    streets = [make_unit(f"街道{i}", guandu) for i in range(3)]
    community = make_unit("社区", streets[0])
    return {
        "province": province,
        "city": city,
        "other_city": other_city,
        "guandu": guandu,
        "xishan": xishan,
        "streets": streets,
        "community": community,
    }


def test_moving_a_unit_moves_its_whole_subtree(db, kunming):
    guandu, other = kunming["guandu"], kunming["other_city"]
    moved = move_unit(guandu, other)
    db.session.commit()
    db.session.expire_all()
    assert moved == 5  # the district, its three streets and the community
    assert guandu.parent_id == other.id
    assert guandu.path == f"{other.path}{guandu.id}/"
    community = db.session.get(Unit, kunming["community"].id)
    assert community.path == f"{guandu.path}{kunming['streets'][0].id}/{community.id}/"
    under_old = db.session.scalars(select(Unit.id).where(under(Unit.path, kunming["city"].path)))
    assert set(under_old) == {kunming["city"].id, kunming["xishan"].id}


@pytest.mark.parametrize("target", ["community", "guandu", "xishan"])
def test_a_unit_cannot_move_under_itself_or_its_level_or_below(db, kunming, target):
    guandu = kunming["guandu"]
    before = guandu.path
    with pytest.raises(TreeError):
        move_unit(guandu, kunming[target])
    db.session.rollback()
    assert db.session.get(Unit, guandu.id).path == before


def test_the_tree_rolls_counts_up_in_a_constant_number_of_queries(
    db, kunming, make_station, make_activity
):
    streets = kunming["streets"]
    first = make_station(streets[0])
    # Suspended is still open (built, not closed); closed, planned and future ones are not.
    make_station(kunming["community"], status=StationStatus.SUSPENDED)
    make_station(kunming["xishan"])
    make_station(
        streets[1],
        status=StationStatus.CLOSED,
        opened_on=date(2020, 1, 1),
        closed_on=date(2023, 1, 1),
    )
    make_station(streets[1], status=StationStatus.PLANNED)
    make_station(streets[2], status=StationStatus.UNDER_CONSTRUCTION)
    make_activity(first)
    make_activity(first, status=ActivityStatus.CANCELLED)
    db.session.expire_all()
    with count_queries(db.engine) as queries:
        root = subtree(db.session.get(Unit, kunming["city"].id))
    # The root unit itself, then units, stations, activities and door visits.
    assert queries["n"] == 5
    rows = {row.name: row for row in flatten(root)}
    assert (root.open_stations, root.building_stations, root.activities) == (3, 2, 1)
    assert (rows["官渡区总工会"].open_stations, rows["官渡区总工会"].building_stations) == (2, 2)
    assert rows["街道0"].open_stations == 2  # its community's station rolls up into it
    assert (rows["街道1"].open_stations, rows["街道1"].building_stations) == (0, 1)
    assert "社区" not in rows and rows["街道0"].has_children  # deeper levels open on their own
    assert rows["官渡区总工会"].activities == 1
    # As of a day: on 1 June 2022 only the station closed since was open.
    then = subtree(db.session.get(Unit, kunming["city"].id), today=date(2022, 6, 1))
    assert then.open_stations == 1


def test_tree_page_shows_the_users_subtree_and_hides_the_rest(client, login, make_user, kunming):
    login(make_user(Role.ORGANISER, kunming["guandu"]))
    page = client.get("/units/").get_data(as_text=True)
    assert "官渡区总工会" in page and "西山区总工会" not in page
    assert client.get(f"/units/?unit={kunming['xishan'].id}").status_code == 404


def test_organiser_adds_renames_and_moves_units_inside_reach(db, client, login, make_user, kunming):
    login(make_user(Role.ORGANISER, kunming["city"]))
    guandu = kunming["guandu"]
    response = client.post(
        f"/units/new?parent={guandu.id}",
        data={"name": "新街道工会", "code": "530111001", "level": "street"},
    )
    assert response.status_code == 302
    added = db.session.scalar(select(Unit).where(Unit.code == "530111001"))
    assert added.path.startswith(guandu.path) and added.level is Level.STREET

    response = client.post(f"/units/{added.id}/edit", data={"name": "改名街道", "code": ""})
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(Unit, added.id).name == "改名街道"

    response = client.post(f"/units/{added.id}/move", data={"parent": kunming["xishan"].id})
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(Unit, added.id).path.startswith(kunming["xishan"].path)


@pytest.mark.parametrize(
    "code, message",
    [("12345", "not an administrative-division code"), ("530100", "already has the code")],
)
def test_bad_unit_codes_re_render_with_the_reason(
    db, client, login, make_user, kunming, code, message
):
    login(make_user(Role.ORGANISER, kunming["city"]))
    before = db.session.scalar(select(func.count(Unit.id)))
    response = client.post(
        f"/units/new?parent={kunming['guandu'].id}",
        data={"name": "x", "code": code, "level": "street"},
    )
    assert response.status_code == 200 and message in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count(Unit.id))) == before


def test_a_district_organiser_cannot_move_its_own_district(client, login, make_user, kunming):
    login(make_user(Role.ORGANISER, kunming["guandu"]))
    assert client.get(f"/units/{kunming['guandu'].id}/move").status_code == 404
    assert client.get(f"/units/{kunming['streets'][0].id}/move").status_code == 200


def test_moving_to_a_unit_outside_reach_is_refused(db, client, login, make_user, kunming):
    login(make_user(Role.ORGANISER, kunming["city"]))
    street = kunming["streets"][1]
    response = client.post(f"/units/{street.id}/move", data={"parent": kunming["other_city"].id})
    assert response.status_code == 200 and "Not a valid choice" in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Unit, street.id).path.startswith(kunming["guandu"].path)


def test_unit_choices_follow_the_tree_indented(make_unit):
    province = make_unit("Yunnan")
    kunming = make_unit("Kunming", province)
    dali = make_unit("Dali", province)
    wuhua = make_unit("Wuhua", kunming)  # made after Dali, listed under Kunming
    choices = unit_choices([wuhua, dali, province, kunming])
    assert [ident for ident, _label in choices] == [province.id, kunming.id, wuhua.id, dali.id]
    labels = [label for _ident, label in choices]
    assert labels[0].startswith("Yunnan · ")
    assert labels[2].startswith(INDENT * 2 + "Wuhua · ")
    assert labels[3].startswith(INDENT + "Dali · ")
    assert unit_choices([wuhua])[0][1].startswith("Wuhua")
