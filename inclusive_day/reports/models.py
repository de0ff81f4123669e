"""What reports keep: the notices sent to units, and the Double Top 100 lists as confirmed."""

from __future__ import annotations

from datetime import date, datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import (
    JSON,
    CheckConstraint,
    Date,
    ForeignKey,
    LargeBinary,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from inclusive_day.auth.models import User
from inclusive_day.database import UTCDateTime, utcnow
from inclusive_day.enums import LabelledEnum, enum_column
from inclusive_day.extensions import db
from inclusive_day.units.models import Unit


class NoticeKind(LabelledEnum):
    """Which notice a unit received."""

    TRAFFIC = "traffic"

    @classmethod
    def _labels(cls) -> dict:
        return {cls.TRAFFIC: _l("monthly traffic notice")}


class Notice(db.Model):
    """A notice as it was issued to a unit for a month: the PDF itself, kept so that what was
    sent stays readable after the figures move on. Issuing again replaces it."""

    __tablename__ = "notices"
    __table_args__ = (UniqueConstraint("unit_id", "kind", "month", "lang"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id", ondelete="CASCADE"), index=True)
    kind: Mapped[NoticeKind] = mapped_column(enum_column(NoticeKind))
    # The first day of the month the notice is about.
    month: Mapped[date] = mapped_column(Date)
    lang: Mapped[str] = mapped_column(String(5))
    pdf: Mapped[bytes] = mapped_column(LargeBinary)
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    issued_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    unit: Mapped[Unit] = relationship()
    issued_by: Mapped[User | None] = relationship()


class Top100List(db.Model):
    """A province's Double Top 100 for a year: the criteria's weights the organisers set, and,
    once confirmed, the two lists (sites and station masters) exactly as they were published."""

    __tablename__ = "top100_lists"
    __table_args__ = (
        UniqueConstraint("unit_id", "year"),
        CheckConstraint("year BETWEEN 2000 AND 2100", name="year_range"),
        CheckConstraint(
            "(confirmed_at IS NULL) = (confirmed_sites IS NULL)", name="confirmed_has_lists"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id", ondelete="CASCADE"))
    year: Mapped[int]
    # criterion code -> weight (a non-negative number; at least one above zero).
    weights: Mapped[dict] = mapped_column(JSON, default=dict)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    confirmed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    # The published lists: one dict per row, as shown (rank, name, unit, score, raw figures).
    confirmed_sites: Mapped[list | None] = mapped_column(JSON)
    confirmed_masters: Mapped[list | None] = mapped_column(JSON)

    unit: Mapped[Unit] = relationship()

    @property
    def is_confirmed(self) -> bool:
        """True once organisers have confirmed and published the lists."""
        return self.confirmed_at is not None
