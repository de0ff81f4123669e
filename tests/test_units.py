"""The union tree: paths, level order and subtree queries."""

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import IntegrityError

from inclusive_day.units.models import Level, Unit, under
from inclusive_day.units.services import create_unit
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
    with pytest.raises(ValueError, match="cannot sit under"):
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
