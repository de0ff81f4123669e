"""The shelf's stock and the points ledger: the guarded statements that never let stock or a
balance go below zero, on one connection and on many at once."""

import uuid

import pytest
from sqlalchemy import func, select

from inclusive_day.attendance.identity import person_for
from inclusive_day.attendance.models import BeneficiaryGroup, CheckIn, CheckInSource
from inclusive_day.extensions import db as _db
from inclusive_day.points.earning import Rule, award_checkin, rule_at, set_rule
from inclusive_day.points.ledger import PointsError, account_for, earn_once, post, spend
from inclusive_day.points.models import EarnRule, EntryReason, PointAccount, PointEntry
from inclusive_day.shelf.models import GiverKind, ShelfItem, ShelfTaking
from inclusive_day.shelf.stock import Refusal, ShelfError, put, take
from tests.conftest import at_once

COURIER = BeneficiaryGroup.COURIER


def _item(shelf) -> ShelfItem:
    return _db.session.scalars(select(ShelfItem).where(ShelfItem.shelf_id == shelf.id)).one()


def _nonce() -> str:
    return uuid.uuid4().hex


def test_taking_lowers_the_stock_and_a_repeat_takes_nothing(db, make_shelf):
    item = _item(make_shelf(items={"矿泉水": 5}))
    nonce = _nonce()
    first = take(item.id, 2, COURIER, nonce)
    again = take(item.id, 2, COURIER, nonce)
    db.session.commit()
    assert (first.created, first.stock, again.created) == (True, 3, False)
    assert again.taking.id == first.taking.id
    db.session.refresh(item)
    assert item.stock == 3


def test_taking_more_than_the_stock_is_refused_and_keeps_nothing(db, make_shelf):
    item = _item(make_shelf(items={"矿泉水": 1}))
    with pytest.raises(ShelfError) as refused:
        take(item.id, 2, COURIER, _nonce())
    db.session.rollback()
    assert refused.value.code is Refusal.OUT_OF_STOCK
    assert db.session.scalar(select(func.count(ShelfTaking.id))) == 0
    assert db.session.get(ShelfItem, item.id).stock == 1


def test_the_per_person_limit_counts_the_day_and_asks_for_a_phone(db, make_shelf):
    item = _item(make_shelf(items={"毛巾": 10}, per_person_day=2))
    worker = person_for("13800000001")
    take(item.id, 1, COURIER, _nonce(), person=worker)
    db.session.commit()
    with pytest.raises(ShelfError) as over:
        take(item.id, 2, COURIER, _nonce(), person=worker)
    db.session.rollback()
    with pytest.raises(ShelfError) as anonymous:
        take(item.id, 1, COURIER, _nonce())
    db.session.rollback()
    assert (over.value.code, anonymous.value.code) == (Refusal.OVER_LIMIT, Refusal.NEEDS_PHONE)
    take(item.id, 1, COURIER, _nonce(), person=worker)  # up to the limit
    take(item.id, 2, COURIER, _nonce(), person=person_for("13800000002"))  # someone else
    db.session.commit()
    assert db.session.get(ShelfItem, item.id).stock == 6


def test_putting_raises_the_stock_and_names_the_giver(db, make_shelf, make_sponsor):
    item = _item(make_shelf(items={"矿泉水": 0}))
    with pytest.raises(ShelfError):
        put(item.id, 5, GiverKind.SPONSOR)  # a sponsor's gift names the sponsor
    db.session.rollback()
    put(item.id, 24, GiverKind.CITIZEN)
    db.session.commit()
    assert db.session.get(ShelfItem, item.id).stock == 24


def test_a_balance_never_goes_below_zero(db):
    account = account_for(person_for("13900000001"))
    post(account.id, 10, EntryReason.ADJUSTMENT)
    db.session.commit()
    with pytest.raises(PointsError):
        spend(account.id, 11, EntryReason.SERVICE)
    db.session.rollback()
    entry, created = spend(account.id, 10, EntryReason.SERVICE, nonce="n-1")
    again, repeated = spend(account.id, 10, EntryReason.SERVICE, nonce="n-1")
    db.session.commit()
    assert created and not repeated and again.id == entry.id
    assert db.session.get(PointAccount, account.id).balance == 0
    assert [
        e.balance_after for e in db.session.scalars(select(PointEntry).order_by(PointEntry.id))
    ] == [10, 0]


def test_an_earning_counts_once_per_source(db, make_activity):
    from_checkin = make_activity()
    worker = person_for("13900000002")
    checkin_id = _checkin(from_checkin, worker)
    assert earn_once(worker, 5, EntryReason.ACTIVITY, checkin_id=checkin_id) is not None
    assert earn_once(worker, 5, EntryReason.ACTIVITY, checkin_id=checkin_id) is None
    db.session.commit()
    assert account_for(worker).balance == 5


def _checkin(activity, person) -> int:
    checkin = CheckIn(
        activity_id=activity.id,
        identity=person.identity,
        person_key=person.key,
        group=COURIER,
        nonce=_nonce(),
        source=CheckInSource.QR,
        checked_in_at=activity.starts_at,
    )
    _db.session.add(checkin)
    _db.session.flush()
    return checkin.id


def test_eight_people_taking_the_last_three_items_at_once_take_three(app, db, make_shelf):
    item_id = _item(make_shelf(items={"矿泉水": 3})).id
    outcomes = at_once(app, 8, lambda i: take(item_id, 1, COURIER, _nonce()).stock)
    db.session.expire_all()
    assert sorted(o for o in outcomes if isinstance(o, int)) == [0, 1, 2]
    assert outcomes.count(Refusal.OUT_OF_STOCK) == 5
    assert db.session.get(ShelfItem, item_id).stock == 0
    assert db.session.scalar(select(func.count(ShelfTaking.id))) == 3


def test_two_spends_of_the_last_points_at_once_record_one(app, db):
    account = account_for(person_for("13900000003"))
    post(account.id, 10, EntryReason.ADJUSTMENT)
    db.session.commit()
    account_id = account.id
    outcomes = at_once(
        app, 6, lambda i: spend(account_id, 10, EntryReason.SERVICE, nonce=_nonce())[0].id
    )
    db.session.expire_all()
    assert len([o for o in outcomes if isinstance(o, int)]) == 1
    assert db.session.get(PointAccount, account_id).balance == 0
    assert db.session.scalar(select(func.count(PointEntry.id))) == 2


def test_the_nearest_unit_up_the_tree_sets_the_rule(db, make_unit, make_activity, make_station):
    province = make_unit("省总工会")
    city = make_unit("市总工会", province)
    district = make_unit("区总工会", city)
    set_rule(province, EarnRule.ACTIVITY, 5)
    set_rule(city, EarnRule.ACTIVITY, 0)  # the city turns it off below itself
    set_rule(district, EarnRule.ACTIVITY, 2)
    db.session.commit()
    assert rule_at(make_unit("另一市", province), EarnRule.ACTIVITY).points == 5
    assert rule_at(city, EarnRule.ACTIVITY).points == 0
    assert rule_at(district, EarnRule.ACTIVITY) == Rule(2, district)
    assert rule_at(district, EarnRule.VOLUNTEER_HOUR) == Rule(0, None)
    worker = person_for("13900000009")
    activity = make_activity(station=make_station(district))
    checkin = db.session.get(CheckIn, _checkin(activity, worker))
    assert award_checkin(checkin).delta == 2
    assert award_checkin(checkin) is None  # once per check-in
    db.session.commit()
    assert account_for(worker).balance == 2


def test_goods_with_a_points_price_go_for_points_only(db, make_shelf):
    shelf = make_shelf(items={"雨衣": 5})
    item = _item(shelf)
    item.points = 20
    db.session.commit()
    with pytest.raises(ShelfError) as free:
        take(item.id, 1, COURIER, _nonce())
    db.session.rollback()
    assert free.value.code is Refusal.FOR_POINTS
    assert take(item.id, 1, COURIER, _nonce(), points=20).stock == 4
