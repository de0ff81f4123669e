"""Stock on a shelf: putting goods on and taking them off, the one place `stock` changes.

A taking is three statements in one transaction, in this order:
1. INSERT the taking ON CONFLICT (nonce) DO NOTHING RETURNING id: a double submit (the same
   nonce) stores nothing more and is answered with the first taking;
2. where the station limits takings per person and day, raise the person's counter for the day
   by an upsert guarded by ``taken + :n <= limit``: no row back means over the limit;
3. ``UPDATE shelf_items SET stock = stock - :n WHERE id = :id AND stock >= :n RETURNING stock``:
   no row back means not enough on the shelf.
On PostgreSQL steps 2 and 3 lock their rows, so two people taking the last item at once run one
after the other and the second finds the stock at 0; SQLite holds one writer at a time. A refusal
raises ShelfError and the caller rolls the transaction back, taking step 1 with it. The CHECK
constraint on shelf_items refuses a negative stock besides.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum

from flask_babel import lazy_gettext as _l
from sqlalchemy import select, update

from inclusive_day.attendance.identity import Person
from inclusive_day.attendance.models import BeneficiaryGroup
from inclusive_day.database import INSERT_OR_NOTHING, utcnow
from inclusive_day.extensions import db
from inclusive_day.periods import zone_of
from inclusive_day.refusals import Refused
from inclusive_day.shelf.models import (
    GiverKind,
    Shelf,
    ShelfGift,
    ShelfItem,
    ShelfPersonDay,
    ShelfTaking,
)
from inclusive_day.stations.models import Station

MAX_QUANTITY = 100_000


class Refusal(StrEnum):
    """Why the shelf refuses a putting or a taking."""

    NO_ITEM = "no_item"
    CLOSED = "closed"
    BAD_QUANTITY = "bad_quantity"
    OUT_OF_STOCK = "out_of_stock"
    OVER_LIMIT = "over_limit"
    NEEDS_PHONE = "needs_phone"
    FOR_POINTS = "for_points"  # an item with a points price is had for points only
    BAD_GIVER = "bad_giver"


class ShelfError(Refused):
    """A putting or taking that cannot be made; nothing of it is kept once rolled back."""


@dataclass(frozen=True)
class Taken:
    """A taking as stored, whether this call stored it, and the stock left after it."""

    taking: ShelfTaking
    created: bool
    stock: int


def check_quantity(quantity: int | None) -> int:
    """A quantity of goods: a whole number from 1 to 100,000."""
    if quantity is None or not 0 < quantity <= MAX_QUANTITY:
        raise ShelfError(
            _l("Give a quantity from 1 to %(n)s.", n=f"{MAX_QUANTITY:,}"),
            Refusal.BAD_QUANTITY,
            "quantity",
        )
    return quantity


def _open_item(item_id: int) -> tuple[ShelfItem, Shelf]:
    row = db.session.execute(
        select(ShelfItem, Shelf)
        .join(Shelf, Shelf.id == ShelfItem.shelf_id)
        .where(ShelfItem.id == item_id)
    ).first()
    if row is None:
        raise ShelfError(_l("There is no such item on this shelf."), Refusal.NO_ITEM, "item")
    if not row.Shelf.is_open:
        raise ShelfError(_l("This shelf is closed for now."), Refusal.CLOSED)
    return row.ShelfItem, row.Shelf


def _station_day(station_id: int, at: datetime) -> date:
    """The station's local day at `at`."""
    station = db.session.get(Station, station_id)
    return at.astimezone(zone_of(station.unit.timezone if station else None)).date()


def put(
    item_id: int,
    quantity: int,
    giver: GiverKind,
    *,
    sponsor_id: int | None = None,
    team_id: int | None = None,
    note: str = "",
    nonce: str | None = None,
    user_id: int | None = None,
    now: datetime | None = None,
) -> tuple[ShelfGift, bool]:
    """Put goods on a shelf; the caller commits. A repeat of the same nonce puts nothing more
    and returns the first gift. Returns the gift and whether it is new."""
    check_quantity(quantity)
    if (giver is GiverKind.SPONSOR) != (sponsor_id is not None) or (giver is GiverKind.TEAM) != (
        team_id is not None
    ):
        raise ShelfError(_l("Say who gave the goods."), Refusal.BAD_GIVER, "giver")
    if nonce is not None:
        done = db.session.scalars(select(ShelfGift).where(ShelfGift.nonce == nonce)).first()
        if done is not None:
            return done, False
    item, _shelf = _open_item(item_id)
    now = now or utcnow()
    gift = ShelfGift(
        item_id=item.id,
        station_id=item.station_id,
        quantity=quantity,
        giver=giver,
        sponsor_id=sponsor_id,
        team_id=team_id,
        given_at=now,
        given_on=_station_day(item.station_id, now),
        note=note,
        nonce=nonce,
        recorded_by_id=user_id,
    )
    db.session.add(gift)
    db.session.execute(
        update(ShelfItem)
        .where(ShelfItem.id == item.id)
        .values(stock=ShelfItem.stock + quantity, updated_at=now),
        execution_options={"synchronize_session": False},
    )
    db.session.flush()
    return gift, True


def take(
    item_id: int,
    quantity: int,
    group: BeneficiaryGroup,
    nonce: str,
    *,
    person: Person | None = None,
    points: int | None = None,
    user_id: int | None = None,
    now: datetime | None = None,
) -> Taken:
    """Take goods off a shelf (see the module's note for the order and the guards); the caller
    commits, or rolls back on ShelfError. `person` is required where the station limits takings
    per person; `points` records what was paid in points (the caller posts the spend): an item
    with a points price is had for points only."""
    check_quantity(quantity)
    item, shelf = _open_item(item_id)
    if item.points is not None and points is None:
        raise ShelfError(
            _l("This is exchanged for points: show your points card to the station's staff."),
            Refusal.FOR_POINTS,
            "item",
        )
    now = now or utcnow()
    day = _station_day(item.station_id, now)
    dialect = db.session.get_bind().dialect.name
    table = ShelfTaking.__table__
    new_id = db.session.execute(
        INSERT_OR_NOTHING[dialect](table)
        .values(
            item_id=item.id,
            station_id=item.station_id,
            quantity=quantity,
            group=group,
            identity=person.identity if person else None,
            person_key=person.key if person else None,
            points=points,
            taken_at=now,
            taken_on=day,
            nonce=nonce,
            recorded_by_id=user_id,
        )
        .on_conflict_do_nothing(index_elements=[table.c.nonce])
        .returning(table.c.id)
    ).scalar()
    if new_id is None:
        first = db.session.scalars(select(ShelfTaking).where(ShelfTaking.nonce == nonce)).one()
        return Taken(first, False, _stock(first.item_id))
    if shelf.per_person_day is not None:
        _count_for_person(shelf, item.station_id, day, person, quantity, dialect)
    stock = db.session.execute(
        update(ShelfItem)
        .where(ShelfItem.id == item.id, ShelfItem.stock >= quantity)
        .values(stock=ShelfItem.stock - quantity, updated_at=now)
        .returning(ShelfItem.stock),
        execution_options={"synchronize_session": False},
    ).scalar()
    if stock is None:
        raise ShelfError(
            _l("Not enough left on the shelf: %(n)d at most.", n=_stock(item.id)),
            Refusal.OUT_OF_STOCK,
            "quantity",
        )
    return Taken(db.session.get(ShelfTaking, new_id), True, stock)


def _count_for_person(shelf: Shelf, station_id: int, day, person, quantity, dialect) -> None:
    """Raise the person's count for the day at this station, unless it would pass the limit."""
    limit = shelf.per_person_day
    if person is None:
        raise ShelfError(
            _l("This shelf limits what one person takes a day: give a mobile number."),
            Refusal.NEEDS_PHONE,
            "phone",
        )
    if quantity > limit:
        raise ShelfError(
            _l("One person may take at most %(n)d a day here.", n=limit),
            Refusal.OVER_LIMIT,
            "quantity",
        )
    table = ShelfPersonDay.__table__
    counted = db.session.execute(
        INSERT_OR_NOTHING[dialect](table)
        .values(station_id=station_id, day=day, person_key=person.key, taken=quantity)
        .on_conflict_do_update(
            index_elements=[table.c.station_id, table.c.day, table.c.person_key],
            set_={"taken": table.c.taken + quantity},
            where=table.c.taken + quantity <= limit,
        )
        .returning(table.c.taken)
    ).scalar()
    if counted is None:
        raise ShelfError(
            _l("One person may take at most %(n)d a day here; this would pass it.", n=limit),
            Refusal.OVER_LIMIT,
            "quantity",
        )


def _stock(item_id: int) -> int:
    return db.session.scalar(select(ShelfItem.stock).where(ShelfItem.id == item_id)) or 0
