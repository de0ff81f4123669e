"""The Kunming demo's goods-sharing shelves (爱心互献): shelves at four stations over the campaign,
with Shilin Tianwaitian's mineral water, raincoats, towels, sun sleeves and a reading exchange,
put on by the sponsors, the volunteer team (when one exists) and citizens, and taken by
outdoor workers of each group.

Everything goes through the shelf's own writers (shelf.services, shelf.stock.put and take), with
its own random generator, so the rest of the demo draws what it always drew. Stock and the
per-person limits are followed here as the takings are made, so that none is refused.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable
from datetime import date, datetime, time, timedelta

from sqlalchemy import select

from inclusive_day.attendance.identity import person_for
from inclusive_day.attendance.models import BeneficiaryGroup
from inclusive_day.extensions import db
from inclusive_day.periods import zone_of
from inclusive_day.shelf.models import GiverKind
from inclusive_day.shelf.services import add_item, open_shelf
from inclusive_day.shelf.stock import put, take
from inclusive_day.sponsors.models import Sponsor
from inclusive_day.stations.models import Station, StationStatus
from inclusive_day.units.models import Unit, under
from inclusive_day.volunteers.models import VolunteerTeam

SEED = 20231019
FIRST = date(2024, 1, 2)  # the shelves opened with the new year
LAST = date(2024, 2, 26)
SHELVES = 4
# Per station: its per-person daily limit and its items (name, unit, points price or None,
# the sponsor key that restocks it or None for citizens, how many it holds at most).
PLANS = (
    (
        2,
        (
            ("矿泉水", "瓶", None, "tianwaitian", 48),
            ("雨衣", "件", 20, "rt_mart", 12),
            ("毛巾", "条", None, "rt_mart", 20),
            ("图书", "本", None, None, 6),
        ),
    ),
    (
        None,
        (
            ("矿泉水", "瓶", None, "tianwaitian", 36),
            ("防晒袖套", "副", 15, "sinopec", 12),
            ("毛巾", "条", None, "barbers", 10),
        ),
    ),
    (
        3,
        (
            ("矿泉水", "瓶", None, "sinopec", 24),
            ("雨衣", "件", 20, "sinopec", 10),
            ("图书", "本", None, None, 8),
        ),
    ),
    (
        None,
        (
            ("矿泉水", "瓶", None, "tianwaitian", 24),
            ("防晒袖套", "副", 15, None, 6),
            ("毛巾", "条", None, None, 8),
        ),
    ),
)
GROUPS = (
    (BeneficiaryGroup.COURIER, 5),
    (BeneficiaryGroup.RIDER, 5),
    (BeneficiaryGroup.SANITATION, 4),
    (BeneficiaryGroup.DRIVER, 2),
    (BeneficiaryGroup.CONSTRUCTION, 1),
    (BeneficiaryGroup.POLICE, 1),
)
RESTOCK_EVERY = 7  # days
PEOPLE = 40  # regular takers at a limited shelf, with demo numbers


def load_shelves(
    stations: list[Station], sponsors: dict[str, Sponsor], echo: Callable[[str], object] = print
) -> int:
    """Open the demo shelves and run them over the campaign (the caller commits); the number
    of takings."""
    rng = random.Random(SEED)
    open_stations = [s for s in stations if s.status is StationStatus.ACTIVE][:SHELVES]
    team = _team(open_stations)
    given = taken = takings = 0
    for index, (station, (limit, goods)) in enumerate(zip(open_stations, PLANS, strict=False)):
        zone = zone_of(station.unit.timezone)
        shelf = open_shelf(station, FIRST, limit, "爱心互献 · 取所需，献所余")
        items = [
            (add_item(shelf, name, label, points), key, n) for name, label, points, key, n in goods
        ]
        people = [person_for(f"1990871{index}{n:03d}") for n in range(PEOPLE)]
        stock = Counter()
        day = FIRST
        while day <= LAST:
            counts: Counter = Counter()
            at = datetime.combine(day, time(8), zone)
            if (day - FIRST).days % RESTOCK_EVERY == index % RESTOCK_EVERY:
                for item, key, amount in items:
                    # Topped up to `amount`: what the shelf holds of it at most.
                    short = amount - stock[item.id]
                    if short <= 0:
                        continue
                    kind, sponsor_id, team_id = _giver(key, sponsors, team, rng)
                    quantity = short if kind is not GiverKind.CITIZEN else rng.randint(1, short)
                    put(
                        item.id,
                        quantity,
                        kind,
                        sponsor_id=sponsor_id,
                        team_id=team_id,
                        note="" if kind is not GiverKind.CITIZEN else "市民爱心捐赠",
                        now=at,
                    )
                    stock[item.id] += quantity
                    given += quantity
            for n in range(rng.randint(1, 4)):
                item = rng.choice([i for i, _k, _n in items])
                quantity = 1 if rng.random() < 0.85 else 2
                if stock[item.id] < quantity or item.points is not None:
                    continue  # goods with a points price go for points (demo.points)
                person = rng.choice(people) if limit is not None else None
                if person is not None:
                    if counts[person.key] + quantity > limit:
                        continue
                    counts[person.key] += quantity
                take(
                    item.id,
                    quantity,
                    rng.choices([g for g, _w in GROUPS], [w for _g, w in GROUPS])[0],
                    f"demo-shelf-{station.code}-{day:%Y%m%d}-{n}",
                    person=person,
                    now=at + timedelta(hours=1 + n, minutes=rng.randrange(60)),
                )
                stock[item.id] -= quantity
                taken += quantity
                takings += 1
            day += timedelta(days=1)
    db.session.flush()
    echo(
        f"Opened {len(open_stations)} goods-sharing shelves: {given:,} items given,"
        f" {taken:,} taken in {takings:,} takings."
    )
    return takings


def _team(stations: list[Station]) -> VolunteerTeam | None:
    """A volunteer team of the demo's union tree, if the demo has one yet."""
    if not stations:
        return None
    root = "/" + stations[0].unit.path.split("/")[1] + "/"
    return db.session.scalar(
        select(VolunteerTeam)
        .join(Unit, Unit.id == VolunteerTeam.unit_id)
        .where(under(Unit.path, root))
        .order_by(VolunteerTeam.id)
    )


def _giver(key, sponsors, team, rng) -> tuple[GiverKind, int | None, int | None]:
    """Who restocks: the item's sponsor, the volunteer team now and then, else a citizen."""
    if team is not None and rng.random() < 0.2:
        return GiverKind.TEAM, None, team.id
    sponsor = sponsors.get(key) if key else None
    if sponsor is not None:
        return GiverKind.SPONSOR, sponsor.id, None
    return GiverKind.CITIZEN, None, None
