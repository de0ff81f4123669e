"""Verbs on points that views call: award new check-ins and hand out the card, set a unit's
rules, and spend at a station on shelf goods or a service. They flush, never commit; a refusal
raises a Refused subclass and the caller rolls back, so nothing of it is kept."""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from inclusive_day.attendance.identity import Person
from inclusive_day.attendance.models import BeneficiaryGroup, CheckIn
from inclusive_day.extensions import db
from inclusive_day.points.earning import MAX_RULE_POINTS, award_checkin, set_rule
from inclusive_day.points.ledger import account_for, spend
from inclusive_day.points.models import EarnRule, EntryReason, PointAccount, PointEntry
from inclusive_day.refusals import Refused
from inclusive_day.shelf.models import Shelf, ShelfItem
from inclusive_day.shelf.stock import take
from inclusive_day.stations.models import Station
from inclusive_day.units.models import Unit

SERVICE_NAME_MAX = 80
MAX_SPEND = 1_000_000


class Refusal(StrEnum):
    """Why a rule or a spend at a station is refused."""

    BAD_POINTS = "bad_points"
    NO_ITEM = "no_item"
    NO_NAME = "no_name"
    BAD_GROUP = "bad_group"
    STALE_FORM = "stale_form"


class SpendError(Refused):
    """A rule or a spend that cannot be made; nothing of it is kept once rolled back."""


def card_on_scan(person: Person, checkins: Iterable[tuple[CheckIn, bool]]) -> PointAccount:
    """After a check-in or door scan: award each NEW check-in (a repeat awards nothing) and
    return the person's account, made now if need be, for the card the phone keeps."""
    award_new(checkins)
    return account_for(person)


def award_new(checkins: Iterable[tuple[CheckIn, bool]]) -> list[PointEntry]:
    """Award the activity points of the check-ins this request made (created is True)."""
    return [
        entry
        for checkin, created in checkins
        if created and (entry := award_checkin(checkin)) is not None
    ]


def check_rule_points(value) -> int:
    """Points for a rule: a whole number from 0 (off) to MAX_RULE_POINTS."""
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_RULE_POINTS:
        raise SpendError(
            _l("Give a whole number of points from 0 to %(n)s.", n=f"{MAX_RULE_POINTS:,}"),
            Refusal.BAD_POINTS,
        )
    return value


def set_rules(unit: Unit, points: dict[EarnRule, int | None]) -> None:
    """Set the unit's own rules; None leaves a rule as it is. The caller checks the user may
    edit the unit, and commits."""
    checked = {
        rule: check_rule_points(value) for rule, value in points.items() if value is not None
    }
    for rule, value in checked.items():
        set_rule(unit, rule, value)


def goods_for_points(station_id: int) -> list[ShelfItem]:
    """The items on the station's open shelves that have a points price, by name."""
    return list(
        db.session.scalars(
            select(ShelfItem)
            .join(Shelf, Shelf.id == ShelfItem.shelf_id)
            .where(
                ShelfItem.station_id == station_id,
                ShelfItem.points.is_not(None),
                ShelfItem.points > 0,
                Shelf.is_open.is_(True),
            )
            .order_by(ShelfItem.name, ShelfItem.id)
        )
    )


def spend_on_goods(
    account: PointAccount,
    station: Station,
    item_id,
    quantity,
    group,
    nonce: str,
    user_id: int | None,
) -> PointEntry:
    """Take goods off the station's shelf and pay for them in points, in one transaction: the
    taking, then the spend of price x quantity (PointsError if short, ShelfError if the stock
    is short). A repeat of the nonce takes and spends nothing more."""
    try:
        item_id = int(item_id)
    except (TypeError, ValueError):
        item_id = None
    item = db.session.get(ShelfItem, item_id) if item_id is not None else None
    if item is None or item.station_id != station.id or not item.points:
        raise SpendError(
            _l("Pick an item of this station's shelf that has a points price."),
            Refusal.NO_ITEM,
            "item",
        )
    try:
        group = BeneficiaryGroup(group)
    except ValueError:
        raise SpendError(_l("Say who the worker is."), Refusal.BAD_GROUP, "group") from None
    if not isinstance(quantity, int) or isinstance(quantity, bool):
        quantity = None
    price = item.points * quantity if quantity else None
    taken = take(
        item.id,
        quantity,
        group,
        nonce,
        person=Person.of(account.identity),
        points=price,
        user_id=user_id,
    )
    entry, _created = spend(
        account.id,
        taken.taking.points or price,
        EntryReason.SHELF_GOODS,
        nonce=nonce,
        taking_id=taken.taking.id,
        station_id=station.id,
        unit_id=station.unit_id,
        note=item.name[:200],
        created_by_id=user_id,
    )
    return entry


def spend_on_service(
    account: PointAccount, station: Station, name, points, nonce: str, user_id: int | None
) -> PointEntry:
    """Spend points on one of the station's services (a haircut, a charging cable), named in
    the entry's note. A repeat of the nonce spends nothing more."""
    name = " ".join(str(name or "").split())
    if not name or len(name) > SERVICE_NAME_MAX:
        raise SpendError(
            _l("Name the service in up to %(n)d characters.", n=SERVICE_NAME_MAX),
            Refusal.NO_NAME,
            "name",
        )
    if isinstance(points, bool) or not isinstance(points, int) or not 0 < points <= MAX_SPEND:
        raise SpendError(
            _l("Give a whole number of points from 1 to %(n)s.", n=f"{MAX_SPEND:,}"),
            Refusal.BAD_POINTS,
            "points",
        )
    entry, _created = spend(
        account.id,
        points,
        EntryReason.SERVICE,
        nonce=nonce,
        station_id=station.id,
        unit_id=station.unit_id,
        note=name,
        created_by_id=user_id,
    )
    return entry
