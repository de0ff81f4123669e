"""Reads of points: a card's history, and the rollup of a subtree's points per sub-unit.

The rollup is set-based: a fixed number of statements whatever the size of the subtree (the
entries joined to `station_child`, the one station -> sub-unit mapping, and grouped in the
database)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import case, distinct, func, literal, select, union_all
from sqlalchemy.orm import joinedload

from inclusive_day.construction.queries import children_of
from inclusive_day.extensions import db
from inclusive_day.periods import days_utc_range, zone_of
from inclusive_day.points.models import EntryReason, PointEntry
from inclusive_day.stations.queries import station_child
from inclusive_day.units.models import Unit

HISTORY_LENGTH = 50


def card_history(account_id: int, limit: int = HISTORY_LENGTH) -> list[PointEntry]:
    """An account's latest entries, newest first, with their stations (one statement)."""
    return list(
        db.session.scalars(
            select(PointEntry)
            .where(PointEntry.account_id == account_id)
            .options(joinedload(PointEntry.station))
            .order_by(PointEntry.id.desc())
            .limit(limit)
        )
    )


@dataclass
class Figures:
    """Points earned and spent, by reason, and the accounts that moved, for one sub-unit."""

    earned: dict[EntryReason, int] = field(default_factory=dict)
    spent: dict[EntryReason, int] = field(default_factory=dict)
    active: int = 0

    @property
    def total_earned(self) -> int:
        """All points earned."""
        return sum(self.earned.values())

    @property
    def total_spent(self) -> int:
        """All points spent."""
        return sum(self.spent.values())


@dataclass(frozen=True)
class Rollup:
    """A subtree's points over a period: per sub-unit (the unit itself for its own stations)
    and in all; `total.active` counts each account once however many sub-units it moved in."""

    unit: Unit
    first: date
    last: date
    rows: list[tuple[Unit, Figures]]
    own: Figures | None
    total: Figures


def points_rollup(unit: Unit, first: date, last: date) -> Rollup:
    """Points earned and spent at the stations of `unit`'s subtree in the local days `first` to
    `last`, per sub-unit and reason, with the accounts active: two grouped statements (and
    the sub-units' names)."""
    start, end = days_utc_range(first, last, zone_of(unit.timezone))
    mapping = station_child(unit).subquery("station_child")
    in_period = (PointEntry.created_at >= start, PointEntry.created_at < end)
    by_reason = db.session.execute(
        select(
            mapping.c.child_id,
            PointEntry.reason,
            func.sum(case((PointEntry.delta > 0, PointEntry.delta), else_=0)),
            func.sum(case((PointEntry.delta < 0, -PointEntry.delta), else_=0)),
        )
        .join(mapping, mapping.c.station_id == PointEntry.station_id)
        .where(*in_period)
        .group_by(mapping.c.child_id, PointEntry.reason)
    ).all()
    # Each (sub-unit, account) pair once, hashed in one pass; then the accounts per sub-unit
    # and, over the same pairs, the accounts in all (an account counts once however many
    # sub-units it moved in).
    pairs = (
        select(mapping.c.child_id, PointEntry.account_id)
        .join(mapping, mapping.c.station_id == PointEntry.station_id)
        .where(*in_period)
        .group_by(mapping.c.child_id, PointEntry.account_id)
        .cte("pairs")
    )
    active = db.session.execute(
        union_all(
            select(pairs.c.child_id, func.count()).group_by(pairs.c.child_id),
            select(literal(None), func.count(distinct(pairs.c.account_id))),
        )
    ).all()
    all_active = next((n for child_id, n in active if child_id is None), 0)
    figures: dict[int, Figures] = {}
    total = Figures(active=int(all_active or 0))
    for child_id, reason, earned, spent in by_reason:
        row = figures.setdefault(child_id, Figures())
        for target in (row, total):
            if earned:
                target.earned[reason] = target.earned.get(reason, 0) + int(earned)
            if spent:
                target.spent[reason] = target.spent.get(reason, 0) + int(spent)
    for child_id, count in active:
        if child_id is not None:
            figures.setdefault(child_id, Figures()).active = int(count)
    return Rollup(
        unit,
        first,
        last,
        [(child, figures.get(child.id, Figures())) for child in children_of(unit)],
        figures.get(unit.id),
        total,
    )
