"""Reading shelves: a station's shelf and stock, its recent puttings and takings, and what was
given and taken over any subtree and period, rolled up to sub-units in a constant number of
statements (GROUP BY in the database over the (station_id, day) indexes)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import Select, func, select
from sqlalchemy.orm import joinedload

from inclusive_day.attendance.models import BeneficiaryGroup
from inclusive_day.extensions import db
from inclusive_day.shelf.models import GiverKind, Shelf, ShelfGift, ShelfItem, ShelfTaking
from inclusive_day.stations.models import Station
from inclusive_day.stations.queries import station_child
from inclusive_day.units.models import Unit

RECENT = 20


def shelf_at(station_id: int) -> Shelf | None:
    """The station's shelf, open or closed, if it has one."""
    return db.session.scalar(select(Shelf).where(Shelf.station_id == station_id))


def items_of(shelf: Shelf) -> list[ShelfItem]:
    """The shelf's items by name, with their stock on hand."""
    return list(
        db.session.scalars(
            select(ShelfItem).where(ShelfItem.shelf_id == shelf.id).order_by(ShelfItem.name)
        )
    )


def stock_by_station(station_ids: Select | list[int]) -> dict[int, list[tuple[str, str, int]]]:
    """Stock on hand per station and item: {station_id: [(name, unit label, stock)]}."""
    rows = db.session.execute(
        select(ShelfItem.station_id, ShelfItem.name, ShelfItem.unit_label, ShelfItem.stock)
        .where(ShelfItem.station_id.in_(station_ids))
        .order_by(ShelfItem.station_id, ShelfItem.name)
    ).all()
    found: dict[int, list[tuple[str, str, int]]] = defaultdict(list)
    for station_id, name, unit_label, stock in rows:
        found[station_id].append((name, unit_label, stock))
    return dict(found)


def last_restocked(station_id: int) -> datetime | None:
    """When goods were last put on the station's shelf."""
    return db.session.scalar(
        select(func.max(ShelfGift.given_at)).where(ShelfGift.station_id == station_id)
    )


def recent_gifts(station_id: int, limit: int = RECENT) -> list[ShelfGift]:
    """The station's latest puttings, newest first, with item and giver."""
    return list(
        db.session.scalars(
            select(ShelfGift)
            .where(ShelfGift.station_id == station_id)
            .options(
                joinedload(ShelfGift.item),
                joinedload(ShelfGift.sponsor),
                joinedload(ShelfGift.team),
            )
            .order_by(ShelfGift.given_at.desc(), ShelfGift.id.desc())
            .limit(limit)
        )
    )


def recent_takings(station_id: int, limit: int = RECENT) -> list[ShelfTaking]:
    """The station's latest takings, newest first, with the item."""
    return list(
        db.session.scalars(
            select(ShelfTaking)
            .where(ShelfTaking.station_id == station_id)
            .options(joinedload(ShelfTaking.item))
            .order_by(ShelfTaking.taken_at.desc(), ShelfTaking.id.desc())
            .limit(limit)
        )
    )


# ---- rollups -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Flow:
    """Goods given and taken: items, and puttings and takings counted."""

    given: int = 0
    gifts: int = 0
    taken: int = 0
    takings: int = 0

    def __add__(self, other: Flow) -> Flow:
        return Flow(
            self.given + other.given,
            self.gifts + other.gifts,
            self.taken + other.taken,
            self.takings + other.takings,
        )


NO_FLOW = Flow()


@dataclass(frozen=True)
class Count:
    """Items and the records they came in."""

    items: int = 0
    records: int = 0


@dataclass(frozen=True)
class ShelfRollup:
    """A subtree's shelves over a period: per sub-unit (and the unit itself for its own
    stations), by giver kind, by beneficiary group, and the stations with an open shelf."""

    unit_id: int
    first: date
    last: date
    by_child: dict[int, Flow] = field(default_factory=dict)
    by_giver: dict[GiverKind, Count] = field(default_factory=dict)
    by_group: dict[BeneficiaryGroup, Count] = field(default_factory=dict)
    open_by_child: dict[int, int] = field(default_factory=dict)

    @property
    def total(self) -> Flow:
        """The whole subtree's flow."""
        return sum(self.by_child.values(), NO_FLOW)

    @property
    def open_shelves(self) -> int:
        """Stations of the subtree with an open shelf (now)."""
        return sum(self.open_by_child.values())


def _flow(model, kind, day, pairs, stations, first: date, last: date) -> list:
    """(sub-unit, kind, items, rows) of the puttings or the takings (`model`) at `stations` on
    the days `first` to `last`, grouped by sub-unit and `kind` (giver or group): one statement."""
    return db.session.execute(
        select(pairs.c.child_id, kind, func.sum(model.quantity), func.count(model.id))
        .join(pairs, pairs.c.station_id == model.station_id)
        .where(model.station_id.in_(stations), day >= first, day <= last)
        .group_by(pairs.c.child_id, kind)
    ).all()


def shelf_rollup(unit: Unit, first: date, last: date) -> ShelfRollup:
    """What was given and taken at the shelves of `unit`'s subtree from `first` to `last`
    (the stations' local days): three statements whatever the number of stations."""
    pairs = station_child(unit).subquery("station_child")
    # Said again as a plain "stations under the unit": the planner estimates it well, and for a
    # district reads the (station_id, day) indexes rather than the whole table.
    stations = select(Station.id).where(Station.under(unit.path))
    gifts = _flow(ShelfGift, ShelfGift.giver, ShelfGift.given_on, pairs, stations, first, last)
    takings = _flow(
        ShelfTaking, ShelfTaking.group, ShelfTaking.taken_on, pairs, stations, first, last
    )
    shelves = db.session.execute(
        select(pairs.c.child_id, func.count(Shelf.id))
        .join(pairs, pairs.c.station_id == Shelf.station_id)
        .where(Shelf.is_open.is_(True))
        .group_by(pairs.c.child_id)
    ).all()
    by_child: dict[int, Flow] = defaultdict(lambda: NO_FLOW)
    by_giver: dict[GiverKind, Count] = {}
    by_group: dict[BeneficiaryGroup, Count] = {}
    for child_id, giver, items, records in gifts:
        by_child[child_id] += Flow(given=int(items), gifts=records)
        was = by_giver.get(giver, Count())
        by_giver[giver] = Count(was.items + int(items), was.records + records)
    for child_id, group, items, records in takings:
        by_child[child_id] += Flow(taken=int(items), takings=records)
        was = by_group.get(group, Count())
        by_group[group] = Count(was.items + int(items), was.records + records)
    return ShelfRollup(
        unit.id,
        first,
        last,
        dict(by_child),
        {kind: by_giver[kind] for kind in GiverKind if kind in by_giver},
        dict(sorted(by_group.items(), key=lambda pair: -pair[1].items)),
        dict(shelves),
    )


def open_shelf_stations(unit: Unit, limit: int = 200) -> list[Station]:
    """The first `limit` stations of `unit`'s subtree with an open shelf, by name."""
    return list(
        db.session.scalars(
            select(Station)
            .join(Shelf, Shelf.station_id == Station.id)
            .where(Station.under(unit.path), Shelf.is_open.is_(True))
            .order_by(Station.name, Station.id)
            .limit(limit)
        )
    )
