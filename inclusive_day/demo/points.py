"""Points in the Kunming demo: Chenggong district turns activity points on (5 for each activity
taken part in) in February, every check-in at its activities since earns them through the
ledger, and some workers spend them at its stations on a free haircut voucher or a phone
charging cable (and on shelf goods with a points price, when the shelves have any).

Its own random.Random: the rest of the demo draws exactly as it did without it.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, or_, select, update

from inclusive_day.activities.models import Activity
from inclusive_day.attendance.identity import Person
from inclusive_day.attendance.models import BeneficiaryGroup, CheckIn
from inclusive_day.extensions import db
from inclusive_day.periods import DEFAULT_ZONE
from inclusive_day.points.earning import award_checkin, set_rule
from inclusive_day.points.ledger import PointsError, spend
from inclusive_day.points.models import EarnRule, EntryReason, PointAccount, PointEntry
from inclusive_day.shelf.models import Shelf, ShelfItem
from inclusive_day.shelf.stock import ShelfError, take
from inclusive_day.stations.models import Station
from inclusive_day.units.models import Unit, under

SEED = 20_240_301
# The districts that turn activity points on, and what each activity earns. One district of
# about 1,100 check-ins: each award goes through the ledger one by one (a few ms each).
DISTRICT_CODES = ("530114",)  # 呈贡区总工会
ACTIVITY_POINTS = 5
# Points came in with February: the check-ins from then on earn them (each award goes
# through the ledger one by one, a few ms each).
POINTS_FROM = datetime(2024, 2, 1, tzinfo=DEFAULT_ZONE)
# What the stations offer for points, and the share of workers with enough who spend.
SERVICES = (("免费理发券", 10), ("手机充电线", 5))
SPEND_SHARE = 0.4
NONCE = "demo-points-{}"


@dataclass(frozen=True)
class PointsLoaded:
    """What the demo's points came to."""

    districts: int
    earned: int
    spends: int

    def line(self) -> str:
        """One line for the demo's output."""
        return (
            f"Turned on activity points in {self.districts} district(s): {self.earned:,} awards"
            f" and {self.spends:,} spends."
        )


def load_points(echo: Callable[[str], object] = print) -> PointsLoaded:
    """Turn activity points on in the districts, award their activities' check-ins, and
    spend some of the points; the caller commits. Nothing if the districts are not there."""
    rng = random.Random(SEED)
    districts = list(
        db.session.scalars(select(Unit).where(Unit.code.in_(DISTRICT_CODES)).order_by(Unit.code))
    )
    if not districts:
        return PointsLoaded(0, 0, 0)
    for district in districts:
        set_rule(district, EarnRule.ACTIVITY, ACTIVITY_POINTS)
    station_ids = (
        select(Station.id)
        .join(Unit, Unit.id == Station.unit_id)
        .where(or_(*(under(Unit.path, d.path) for d in districts)))
    )
    checkins = list(
        db.session.scalars(
            select(CheckIn)
            .join(Activity, Activity.id == CheckIn.activity_id)
            .where(
                Activity.station_id.in_(station_ids),
                CheckIn.annulled_at.is_(None),
                CheckIn.checked_in_at >= POINTS_FROM,
            )
            .order_by(CheckIn.checked_in_at, CheckIn.id)
        )
    )
    earned = sum(award_checkin(checkin) is not None for checkin in checkins)
    _date_awards_at_their_checkins()
    spends = _spend_some(rng, station_ids)
    result = PointsLoaded(len(districts), earned, spends)
    echo(result.line())
    return result


def _date_awards_at_their_checkins() -> None:
    """An award is written now; the demo's check-ins were long ago: date each at its check-in
    (one statement; the ledger's order and balances are untouched)."""
    db.session.execute(
        update(PointEntry)
        .where(PointEntry.checkin_id.is_not(None))
        .values(
            created_at=select(CheckIn.checked_in_at)
            .where(CheckIn.id == PointEntry.checkin_id)
            .scalar_subquery()
        ),
        execution_options={"synchronize_session": False},
    )


def _spend_some(rng: random.Random, station_ids) -> int:
    """Some workers with enough points spend them where they last earned, a few days later:
    on shelf goods with a points price if their station's shelf has any, else on a service."""
    goods = {
        item.station_id: item
        for item in db.session.scalars(
            select(ShelfItem)
            .join(Shelf, Shelf.id == ShelfItem.shelf_id)
            .where(
                ShelfItem.station_id.in_(station_ids),
                ShelfItem.points > 0,
                ShelfItem.stock > 0,
                Shelf.is_open.is_(True),
            )
            .order_by(ShelfItem.id)
        )
    }
    last = db.session.execute(
        select(
            PointAccount.id,
            PointAccount.identity,
            PointAccount.balance,
            PointEntry.station_id,
            PointEntry.created_at,
        )
        .join(PointEntry, PointEntry.account_id == PointAccount.id)
        .where(PointEntry.id.in_(select(func.max(PointEntry.id)).group_by(PointEntry.account_id)))
        .order_by(PointAccount.id)
    ).all()
    spends = 0
    for n, account in enumerate(last):
        entry = account
        if rng.random() >= SPEND_SHARE:
            continue
        when = entry.created_at + timedelta(days=rng.randint(1, 20))
        nonce = NONCE.format(n)
        item = goods.get(entry.station_id)
        try:
            with db.session.begin_nested():
                if item is not None and item.points <= account.balance:
                    taken = take(
                        item.id,
                        1,
                        BeneficiaryGroup.OTHER,
                        nonce,
                        person=Person.of(account.identity),
                        points=item.points,
                        now=when,
                    )
                    _entry, created = spend(
                        account.id,
                        item.points,
                        EntryReason.SHELF_GOODS,
                        nonce=nonce,
                        taking_id=taken.taking.id,
                        station_id=entry.station_id,
                        note=item.name,
                        now=when,
                    )
                else:
                    affordable = [s for s in SERVICES if s[1] <= account.balance]
                    if not affordable:
                        continue
                    name, points = rng.choice(affordable)
                    _entry, created = spend(
                        account.id,
                        points,
                        EntryReason.SERVICE,
                        nonce=nonce,
                        station_id=entry.station_id,
                        note=name,
                        now=when,
                    )
        except (PointsError, ShelfError):  # not enough points, or the shelf ran out
            continue
        spends += created  # a second load finds its nonces spent already
    return spends
