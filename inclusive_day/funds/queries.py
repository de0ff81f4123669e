"""Rollups of the funds ledger: allocated, driven, leveraged and paid, per subtree and year.

A line counts in the subtree of the unit it is for (a station's line, in its station's unit's),
in its year, once it has been allocated by the day asked about; it counts as paid once its paid
day has come. Each function is one query, however many units and lines.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy import case, func, select

from inclusive_day.extensions import db
from inclusive_day.funds.models import FundKind, FundLine
from inclusive_day.units.models import Unit, unit_child, units_under

ZERO = Decimal("0.00")


@dataclass(frozen=True)
class FundTotals:
    """What a subtree's ledger holds for a year, up to a day."""

    allocated: Decimal = ZERO
    driven: Decimal = ZERO
    leveraged: Decimal = ZERO
    paid: Decimal = ZERO

    @property
    def total(self) -> Decimal:
        """Everything allocated, driven and leveraged."""
        return self.allocated + self.driven + self.leveraged

    def __add__(self, other: FundTotals) -> FundTotals:
        return FundTotals(
            self.allocated + other.allocated,
            self.driven + other.driven,
            self.leveraged + other.leveraged,
            self.paid + other.paid,
        )


def _sums(group_column, where, year: int, on: date):
    """SELECT (group, kind, amount, paid) over the lines of `year` allocated by `on`."""
    paid = func.sum(case((FundLine.paid_on <= on, FundLine.amount), else_=0))
    return (
        select(group_column, FundLine.kind, func.sum(FundLine.amount), paid)
        .where(where, FundLine.year == year, FundLine.allocated_on <= on)
        .group_by(group_column, FundLine.kind)
    )


def _fold(rows) -> dict[int, FundTotals]:
    """Rows of (group, kind, amount, paid) as totals per group."""
    parts: dict[int, dict[str, Decimal]] = defaultdict(lambda: defaultdict(lambda: ZERO))
    for group, kind, amount, paid in rows:
        column = FundKind(kind).rollup
        parts[group][column] += Decimal(amount or 0)
        parts[group]["paid"] += Decimal(paid or 0)
    return {group: FundTotals(**values) for group, values in parts.items()}


def subtree_totals(unit: Unit, year: int, on: date) -> FundTotals:
    """The funds of `unit`'s whole subtree for `year`, as they stood on `on`."""
    rows = db.session.execute(
        _sums(FundLine.year, FundLine.unit_id.in_(units_under(unit.path)), year, on)
    )
    return _fold(rows).get(year, FundTotals())


def totals_by_child(unit: Unit, year: int, on: date) -> dict[int, FundTotals]:
    """The funds of each immediate sub-unit's subtree (and of `unit`'s own lines, under its
    own id) for `year`, as they stood on `on`; sub-units without lines are absent."""
    mapping = unit_child(unit).subquery("unit_child")
    statement = _sums(
        mapping.c.child_id, FundLine.unit_id == mapping.c.unit_id, year, on
    ).join_from(FundLine, mapping, FundLine.unit_id == mapping.c.unit_id)
    return _fold(db.session.execute(statement))
