"""Rollups of the funds ledger: allocated, driven, leveraged and paid, per subtree and year.

A line counts in the subtree of the unit it is for (a station's line, in its station's unit's),
in its year, once it has been allocated by the day asked about; it counts as paid once its paid
day has come. Each function is one query, however many units and lines.

The ledger page reads the lines of a subtree as they stand now, filtered (LedgerFilter):
the lines, their totals and the rows of the accounts' export.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy import Select, case, func, literal, select
from sqlalchemy.orm import aliased, joinedload

from inclusive_day.access.rule import Action, visible
from inclusive_day.extensions import db
from inclusive_day.funds.models import FundKind, FundLine
from inclusive_day.stations.models import Partner, Station
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


# ---- the ledger page and its export ---------------------------------------------------------


@dataclass(frozen=True)
class LedgerFilter:
    """Which lines of a unit's subtree the ledger shows: a year (None: every year), a kind,
    paid or not (None: both), one station by its code."""

    unit: Unit
    year: int | None = None
    kind: FundKind | None = None
    paid: bool | None = None
    station_code: str = ""


def ledger_conditions(user, chosen: LedgerFilter) -> list:
    """WHERE clauses for the lines `chosen` names that `user` may see."""
    conditions = [
        FundLine.unit_id.in_(units_under(chosen.unit.path)),
        visible(user, Action.VIEW, FundLine),
    ]
    if chosen.year is not None:
        conditions.append(FundLine.year == chosen.year)
    if chosen.kind is not None:
        conditions.append(FundLine.kind == chosen.kind)
    if chosen.paid is not None:
        conditions.append(
            FundLine.paid_on.is_not(None) if chosen.paid else FundLine.paid_on.is_(None)
        )
    if chosen.station_code:
        conditions.append(
            FundLine.station_id.in_(select(Station.id).where(Station.code == chosen.station_code))
        )
    return conditions


def ledger_lines(user, chosen: LedgerFilter) -> Select:
    """SELECT the lines, newest allocation first, with what a row shows loaded alongside."""
    return (
        select(FundLine)
        .where(*ledger_conditions(user, chosen))
        .options(
            joinedload(FundLine.unit),
            joinedload(FundLine.station),
            joinedload(FundLine.source_unit),
            joinedload(FundLine.partner),
        )
        .order_by(FundLine.allocated_on.desc(), FundLine.id.desc())
    )


def ledger_totals(user, chosen: LedgerFilter) -> FundTotals:
    """What the chosen lines add up to: allocated, driven, leveraged, and paid so far."""
    paid = func.sum(case((FundLine.paid_on.is_not(None), FundLine.amount), else_=0))
    rows = db.session.execute(
        select(literal(0), FundLine.kind, func.sum(FundLine.amount), paid)
        .where(*ledger_conditions(user, chosen))
        .group_by(FundLine.kind)
    )
    return _fold(rows).get(0, FundTotals())


def ledger_years(unit: Unit) -> list[int]:
    """The budget years the subtree's ledger has lines in, latest first."""
    return list(
        db.session.scalars(
            select(FundLine.year)
            .where(FundLine.unit_id.in_(units_under(unit.path)))
            .distinct()
            .order_by(FundLine.year.desc())
        )
    )


@dataclass(frozen=True)
class LedgerRow:
    """One line as the accounts read it: plain values, no ORM object."""

    id: int
    year: int
    unit: str
    station_code: str
    station_name: str
    kind: FundKind
    amount: Decimal
    allocated_on: date
    paid_on: date | None
    source: str
    note: str
    rule: str


def ledger_rows(user, chosen: LedgerFilter) -> list[LedgerRow]:
    """Every chosen line, oldest allocation first, in one query (for the exports)."""
    source = aliased(Unit)
    rows = db.session.execute(
        select(
            FundLine.id,
            FundLine.year,
            Unit.name,
            Station.code,
            Station.name,
            FundLine.kind,
            FundLine.amount,
            FundLine.allocated_on,
            FundLine.paid_on,
            source.name,
            Partner.name,
            FundLine.note,
            FundLine.rule,
        )
        .join(Unit, Unit.id == FundLine.unit_id)
        .outerjoin(Station, Station.id == FundLine.station_id)
        .outerjoin(source, source.id == FundLine.source_unit_id)
        .outerjoin(Partner, Partner.id == FundLine.partner_id)
        .where(*ledger_conditions(user, chosen))
        .order_by(FundLine.allocated_on, FundLine.id)
    )
    return [
        LedgerRow(
            id=line_id,
            year=year,
            unit=unit,
            station_code=code or "",
            station_name=name or "",
            kind=FundKind(kind),
            amount=Decimal(amount).quantize(Decimal("0.01")),
            allocated_on=allocated_on,
            paid_on=paid_on,
            source=source_name or partner or "",
            note=note,
            rule=rule or "",
        )
        for (
            line_id,
            year,
            unit,
            code,
            name,
            kind,
            amount,
            allocated_on,
            paid_on,
            source_name,
            partner,
            note,
            rule,
        ) in rows
    ]
