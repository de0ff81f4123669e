"""Construction targets and coverage goals, per unit and year."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import CheckConstraint, Date, ForeignKey, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from inclusive_day.database import UTCDateTime, utcnow
from inclusive_day.enums import enum_column
from inclusive_day.extensions import db
from inclusive_day.units.models import Level, Unit


class ConstructionTarget(db.Model):
    """How many stations a unit's subtree is to have open by a day of a year ("11,000 by
    31 December 2023"), handed down by the unit above as campaign targets are."""

    __tablename__ = "construction_targets"
    __table_args__ = (
        UniqueConstraint("unit_id", "year"),
        CheckConstraint("stations >= 0", name="stations_not_negative"),
        CheckConstraint("year BETWEEN 2000 AND 2100", name="year_range"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id", ondelete="CASCADE"), index=True)
    year: Mapped[int]
    stations: Mapped[int]
    # The day the target is due; the year's last day unless the unit set another.
    due_on: Mapped[date] = mapped_column(Date)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    unit: Mapped[Unit] = relationship()


class CoverageGoal(db.Model):
    """The share of a unit's sub-units of one level that should have at least one open
    station in a year (Jingzhou: 100 % of central urban communities, 50 % of counties)."""

    __tablename__ = "coverage_goals"
    __table_args__ = (
        UniqueConstraint("unit_id", "year", "level"),
        CheckConstraint("percent BETWEEN 1 AND 100", name="percent_range"),
        CheckConstraint("year BETWEEN 2000 AND 2100", name="year_range"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id", ondelete="CASCADE"), index=True)
    year: Mapped[int]
    level: Mapped[Level] = mapped_column(enum_column(Level))
    percent: Mapped[int]
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    unit: Mapped[Unit] = relationship()
