"""Campaigns (活动品牌) owned by a unit, and the catalogue of activity themes."""

from __future__ import annotations

from datetime import date, datetime

from flask_babel import get_locale
from sqlalchemy import CheckConstraint, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from inclusive_day.database import UTCDateTime, utcnow
from inclusive_day.extensions import db
from inclusive_day.units.models import Unit


class Theme(db.Model):
    """An activity theme (haircut, health check, festival food...) with names in both languages."""

    __tablename__ = "themes"
    __table_args__ = (CheckConstraint("length(colour) = 7", name="colour_hex"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name_zh: Mapped[str] = mapped_column(String(80))
    name_en: Mapped[str] = mapped_column(String(80))
    colour: Mapped[str] = mapped_column(String(7), default="#c0392b")
    # A theme added by a unit for itself; the shared catalogue has none.
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    def __repr__(self) -> str:
        return f"<Theme {self.code}>"

    @property
    def name(self) -> str:
        """The theme's name in the user's language."""
        locale = get_locale()
        return self.name_en if locale is not None and locale.language == "en" else self.name_zh


class Campaign(db.Model):
    """A themed campaign such as Inclusive Day, covering its owner unit's subtree."""

    __tablename__ = "campaigns"
    __table_args__ = (
        CheckConstraint("ends_on IS NULL OR ends_on >= starts_on", name="ends_after_start"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id", ondelete="RESTRICT"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    starts_on: Mapped[date]
    ends_on: Mapped[date | None]
    description: Mapped[str] = mapped_column(Text, default="")
    is_public: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    unit: Mapped[Unit] = relationship()

    def __repr__(self) -> str:
        return f"<Campaign {self.id} {self.name!r}>"

    def covers(self, day: date) -> bool:
        """True when `day` falls within the campaign's dates."""
        return self.starts_on <= day and (self.ends_on is None or day <= self.ends_on)


class CampaignTarget(db.Model):
    """What a unit is asked to achieve in a campaign, handed down by the unit above it.

    Each figure is optional: a unit may be given a number of activities without a number of
    people. Progress is counted over the unit's subtree (see `campaigns.targets`).
    """

    __tablename__ = "campaign_targets"
    __table_args__ = (
        UniqueConstraint("campaign_id", "unit_id"),
        CheckConstraint("activities IS NULL OR activities >= 0", name="activities_not_negative"),
        CheckConstraint("served IS NULL OR served >= 0", name="served_not_negative"),
        CheckConstraint("stations IS NULL OR stations >= 0", name="stations_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"))
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id", ondelete="CASCADE"), index=True)
    activities: Mapped[int | None]
    served: Mapped[int | None]
    stations: Mapped[int | None]
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    campaign: Mapped[Campaign] = relationship()
    unit: Mapped[Unit] = relationship()

    def __repr__(self) -> str:
        return f"<CampaignTarget {self.campaign_id}/{self.unit_id}>"
