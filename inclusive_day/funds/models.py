"""The funds ledger: one line per sum of money for a station or a unit."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING

from flask_babel import lazy_gettext as _l
from sqlalchemy import CheckConstraint, Date, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from inclusive_day.database import Money, UTCDateTime, utcnow
from inclusive_day.enums import LabelledEnum, enum_column
from inclusive_day.extensions import db
from inclusive_day.stations.models import Partner, Station
from inclusive_day.units.models import Unit

if TYPE_CHECKING:
    from inclusive_day.auth.models import User


class FundKind(LabelledEnum):
    """What a sum of money is, and so which rollup it counts in."""

    CONSTRUCTION_SUBSIDY = "construction_subsidy"  # one-off, allocated by a union unit
    OPERATING_SUBSIDY = "operating_subsidy"  # yearly, allocated by a union unit
    AWARD = "award"  # labour-competition awards, allocated by a union unit
    UNION_INVESTMENT = "union_investment"  # the units' own money ("driven")
    LEVERAGED = "leveraged"  # partners' and other units' money ("leveraged")

    @classmethod
    def _labels(cls) -> dict:
        return {
            cls.CONSTRUCTION_SUBSIDY: _l("construction subsidy"),
            cls.OPERATING_SUBSIDY: _l("operating subsidy"),
            cls.AWARD: _l("award"),
            cls.UNION_INVESTMENT: _l("union investment"),
            cls.LEVERAGED: _l("leveraged funds"),
        }

    @property
    def rollup(self) -> str:
        """The column it adds to: allocated, driven or leveraged."""
        if self is FundKind.UNION_INVESTMENT:
            return "driven"
        if self is FundKind.LEVERAGED:
            return "leveraged"
        return "allocated"


class FundLine(db.Model):
    """A sum of money for one station or one unit: allocated on a day (by a union unit, or
    leveraged from a partner or another body), then paid on a later day."""

    __tablename__ = "fund_lines"
    __table_args__ = (
        CheckConstraint("amount > 0", name="amount_positive"),
        CheckConstraint("paid_on IS NULL OR paid_on >= allocated_on", name="paid_after_allocated"),
        CheckConstraint("year BETWEEN 2000 AND 2100", name="year_range"),
        # A rule (the yearly operating subsidy of a label) writes one line per station and year.
        UniqueConstraint("rule", "station_id", "year"),
        Index("ix_fund_lines_unit_year", "unit_id", "year"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[FundKind] = mapped_column(enum_column(FundKind, length=24))
    amount: Mapped[Decimal] = mapped_column(Money)
    year: Mapped[int]
    # Whose the money is for: the station's unit when it is for a station, else the unit.
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id", ondelete="RESTRICT"))
    station_id: Mapped[int | None] = mapped_column(
        ForeignKey("stations.id", ondelete="RESTRICT"), index=True
    )
    # Where it comes from: the union unit that allocated or invested it, or the partner
    # (or the other body, named in the note) it was leveraged from.
    source_unit_id: Mapped[int | None] = mapped_column(
        ForeignKey("units.id", ondelete="RESTRICT"), index=True
    )
    partner_id: Mapped[int | None] = mapped_column(
        ForeignKey("partners.id", ondelete="RESTRICT"), index=True
    )
    allocated_on: Mapped[date] = mapped_column(Date)
    paid_on: Mapped[date | None] = mapped_column(Date)
    # The rule that wrote the line ("operating:<label code>"), so that running it twice adds
    # nothing; None for lines entered by hand.
    rule: Mapped[str | None] = mapped_column(String(60))
    note: Mapped[str] = mapped_column(String(255), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    unit: Mapped[Unit] = relationship(foreign_keys=[unit_id])
    station: Mapped[Station | None] = relationship()
    source_unit: Mapped[Unit | None] = relationship(foreign_keys=[source_unit_id])
    partner: Mapped[Partner | None] = relationship()
    created_by: Mapped[User | None] = relationship()
