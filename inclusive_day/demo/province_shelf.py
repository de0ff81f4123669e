"""Goods-sharing shelves for the synthetic province (`flask demo province`): a shelf at about
15 % of its open stations, each with a few kinds of goods, a year of puttings (by the
province's sponsors and by citizens) and takings (by group, counted per person where a shelf
limits them), written in bulk (COPY on PostgreSQL, executemany on SQLite).

The year is simulated day by day per shelf, so that no taking takes more than the shelf holds:
each item's stock at the end is exactly what was given less what was taken, never below 0.
"""

from __future__ import annotations

import random
import time as clock
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from sqlalchemy import bindparam, func, select, update

from inclusive_day.attendance.identity import person_key
from inclusive_day.attendance.models import BeneficiaryGroup
from inclusive_day.demo.bulk import BulkWriter, analyse
from inclusive_day.extensions import db
from inclusive_day.periods import DEFAULT_ZONE, local_today
from inclusive_day.shelf.models import (
    GiverKind,
    Shelf,
    ShelfGift,
    ShelfItem,
    ShelfPersonDay,
    ShelfTaking,
)
from inclusive_day.sponsors.models import Sponsor
from inclusive_day.stations.models import Station, StationStatus
from inclusive_day.units.models import Unit, under

SHARE = 0.15  # of the open stations that get a shelf
DAYS = 365
DAY = 86_400
# (name, unit label, points price or None, how often it is restocked: days, how many at a time);
# every item is free here: points are spent on services in the synthetic province.
CATALOGUE = (
    ("矿泉水", "瓶", None, (5, 10), (24, 72)),
    ("雨衣", "件", None, (20, 40), (10, 30)),
    ("毛巾", "条", None, (15, 30), (10, 40)),
    ("防晒袖套", "副", None, (20, 40), (10, 30)),
    ("图书", "本", None, (30, 60), (5, 20)),
    ("口罩", "包", None, (10, 20), (20, 50)),
    ("藿香正气水", "盒", None, (15, 30), (10, 30)),
    ("手套", "副", None, (20, 40), (10, 30)),
)
GROUP_WEIGHTS = (
    (BeneficiaryGroup.COURIER, 30),
    (BeneficiaryGroup.RIDER, 30),
    (BeneficiaryGroup.SANITATION, 20),
    (BeneficiaryGroup.DRIVER, 8),
    (BeneficiaryGroup.CONSTRUCTION, 6),
    (BeneficiaryGroup.POLICE, 3),
    (BeneficiaryGroup.ELDERLY, 2),
    (BeneficiaryGroup.OTHER, 1),
)
LIMITS = (None, None, 2, 3)  # a shelf's per-person daily limit, drawn from these
PEOPLE_PER_SHELF = 60  # the regulars of a limited shelf


@dataclass(frozen=True)
class ShelfFigures:
    """What the generator wrote."""

    shelves: int
    items: int
    gifts: int
    given: int
    takings: int
    taken: int
    seconds: float

    def line(self) -> str:
        """The progress line the command prints."""
        return (
            f"Shelves: {self.shelves:,} stations, {self.items:,} items; {self.given:,} given in "
            f"{self.gifts:,} puttings, {self.taken:,} taken in {self.takings:,} takings"
            f" ({self.seconds:.1f} s)"
        )


def generate_shelves(
    root: Unit | None,
    *,
    share: float = SHARE,
    days: int = DAYS,
    seed: int = 1,
    echo: Callable[[str], object] = print,
    today: date | None = None,
) -> ShelfFigures | None:
    """Put shelves at `share` of the open stations under `root` with `days` of goods given
    and taken up to `today`, in bulk; commit. Nothing when there is no province."""
    if root is None:
        return None
    started = clock.perf_counter()
    rng = random.Random(f"shelves/{seed}")
    today = today or local_today()
    first = today - timedelta(days=days - 1)
    stations = list(
        db.session.scalars(
            select(Station.id)
            .where(Station.under(root.path), Station.status == StationStatus.ACTIVE)
            .order_by(Station.id)
        )
    )
    sponsors = list(
        db.session.scalars(
            select(Sponsor.id)
            .join(Unit, Unit.id == Sponsor.unit_id)
            .where(under(Unit.path, root.path))
            .order_by(Sponsor.id)
        )
    )
    chosen = sorted(rng.sample(stations, round(len(stations) * share))) if stations else []
    writer = BulkWriter(db.session)
    run = _Run(writer, rng, first, days, sponsors)
    run.write(chosen)
    writer.fix_sequences([t.__table__ for t in (Shelf, ShelfItem, ShelfGift, ShelfTaking)])
    db.session.commit()
    analyse(
        db.session,
        [t.__table__ for t in (Shelf, ShelfItem, ShelfGift, ShelfTaking, ShelfPersonDay)],
    )
    figures = ShelfFigures(
        len(chosen),
        run.items,
        run.gifts,
        run.given,
        run.takings,
        run.taken,
        round(clock.perf_counter() - started, 1),
    )
    echo(figures.line())
    return figures


class _Run:
    """One generation: shelves and items first, then the year's takings streamed while the
    puttings are kept (fewer by far) and written after, then each item's final stock."""

    def __init__(self, writer: BulkWriter, rng: random.Random, first: date, days: int, sponsors):
        self.writer, self.rng, self.first, self.days = writer, rng, first, days
        self.sponsors = sponsors
        self.start_epoch = int(datetime.combine(first, time(), DEFAULT_ZONE).timestamp())
        self.day_values = [writer.day(first + timedelta(days=d)) for d in range(days)]
        self.items = self.gifts = self.given = self.takings = self.taken = 0
        self.groups = [g.value for g, _w in GROUP_WEIGHTS]
        self.group_weights = [w for _g, w in GROUP_WEIGHTS]
        self.plans: list[tuple] = []

    def write(self, stations: list[int]) -> None:
        w, rng = self.writer, self.rng
        shelf_id = w.first_id(Shelf.__table__)
        item_id = w.first_id(ShelfItem.__table__)
        created = w.stamp(self.start_epoch)
        shelves, items = [], []
        for station_id in stations:
            limit = rng.choice(LIMITS)
            shelves.append(
                (shelf_id, station_id, rng.random() > 0.03, limit, self.day_values[0], "", created)
            )
            kinds = rng.sample(CATALOGUE, rng.randint(3, 5))
            shelf_items = []
            for name, label, points, every, amount in kinds:
                items.append((item_id, shelf_id, station_id, name, label, 0, points, created))
                shelf_items.append(
                    [item_id, rng.randint(*every), amount, rng.randrange(every[0]), 0]
                )
                item_id += 1
            self.plans.append((station_id, limit, shelf_items, 0.4 + rng.random() * 2.2))
            shelf_id += 1
        w.write(
            Shelf.__table__,
            ("id", "station_id", "is_open", "per_person_day", "opened_on", "note", "created_at"),
            shelves,
        )
        w.write(
            ShelfItem.__table__,
            ("id", "shelf_id", "station_id", "name", "unit_label", "stock", "points", "updated_at"),
            items,
        )
        self.items = len(items)
        gifts, person_days, stock = self._simulate()
        w.write(
            ShelfGift.__table__,
            (
                "id",
                "item_id",
                "station_id",
                "quantity",
                "giver",
                "sponsor_id",
                "given_at",
                "given_on",
                "note",
            ),
            gifts,
        )
        w.write(ShelfPersonDay.__table__, ("station_id", "day", "person_key", "taken"), person_days)
        db.session.execute(
            update(ShelfItem.__table__)
            .where(ShelfItem.__table__.c.id == bindparam("item_id"))
            .values(stock=bindparam("left")),
            [{"item_id": i, "left": n} for i, n in stock.items() if n],
        )

    def _simulate(self) -> tuple[list[tuple], list[tuple], dict[int, int]]:
        """Stream the takings; return the puttings, the per-person counters and final stock."""
        w, rng = self.writer, self.rng
        gift_id = w.first_id(ShelfGift.__table__)
        taking_id = w.first_id(ShelfTaking.__table__)
        gifts: list[tuple] = []
        person_days: list[tuple] = []
        stock: dict[int, int] = {}
        columns = (
            "id",
            "item_id",
            "station_id",
            "quantity",
            "group",
            "identity",
            "person_key",
            "taken_at",
            "taken_on",
            "nonce",
        )
        with w.sink(ShelfTaking.__table__, columns) as put:
            for station_id, limit, items, busy in self.plans:
                people = (
                    [self._person() for _ in range(PEOPLE_PER_SHELF)] if limit is not None else []
                )
                for day in range(self.days):
                    on = self.day_values[day]
                    base = self.start_epoch + day * DAY
                    for item in items:
                        item_id, every, amount, offset, _left = item
                        if day % every != offset % every:
                            continue
                        # Restocked on its days, up to what the shelf holds of it at most.
                        quantity = min(rng.randint(*amount), amount[1] - item[4])
                        if quantity <= 0:
                            continue
                        sponsored = self.sponsors and rng.random() < 0.55
                        gifts.append(
                            (
                                gift_id,
                                item_id,
                                station_id,
                                quantity,
                                (GiverKind.SPONSOR if sponsored else GiverKind.CITIZEN).value,
                                rng.choice(self.sponsors) if sponsored else None,
                                w.stamp(base + rng.randint(8 * 3600, 18 * 3600)),
                                on,
                                "",
                            )
                        )
                        gift_id += 1
                        item[4] += quantity
                        self.gifts += 1
                        self.given += quantity
                    counts: Counter = Counter()
                    for _ in range(int(busy + rng.random() * busy)):
                        stocked = [item for item in items if item[4] > 0]
                        if not stocked:
                            break
                        item = rng.choice(stocked)
                        quantity = min(item[4], 2 if rng.random() < 0.1 else 1)
                        identity = key = None
                        if limit is not None:
                            identity, key = rng.choice(people)
                            quantity = min(quantity, limit - counts[key])
                            if quantity <= 0:
                                continue
                            counts[key] += quantity
                        put(
                            (
                                taking_id,
                                item[0],
                                station_id,
                                quantity,
                                rng.choices(self.groups, self.group_weights)[0],
                                identity,
                                key,
                                w.stamp(base + rng.randint(7 * 3600, 21 * 3600)),
                                on,
                                f"demo-shelf-{taking_id}",
                            )
                        )
                        taking_id += 1
                        item[4] -= quantity
                        self.takings += 1
                        self.taken += quantity
                    person_days.extend((station_id, on, k, n) for k, n in counts.items())
                for item in items:
                    stock[item[0]] = item[4]
        return gifts, person_days, stock

    def _person(self) -> tuple[str, int]:
        identity = f"{self.rng.getrandbits(256):064x}"
        return identity, person_key(identity)


def shelf_stock_is_consistent() -> bool:
    """Every item's stock equals what was given less what was taken (and so is never below 0):
    for the tests and the bench."""
    given = (
        select(ShelfGift.item_id, func.sum(ShelfGift.quantity).label("n"))
        .group_by(ShelfGift.item_id)
        .subquery()
    )
    taken = (
        select(ShelfTaking.item_id, func.sum(ShelfTaking.quantity).label("n"))
        .group_by(ShelfTaking.item_id)
        .subquery()
    )
    wrong = db.session.scalar(
        select(func.count(ShelfItem.id))
        .outerjoin(given, given.c.item_id == ShelfItem.id)
        .outerjoin(taken, taken.c.item_id == ShelfItem.id)
        .where(ShelfItem.stock != func.coalesce(given.c.n, 0) - func.coalesce(taken.c.n, 0))
    )
    return wrong == 0
