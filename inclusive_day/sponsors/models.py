"""Sponsors (爱心企业) and their donations in cash, in kind and as services."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from flask_babel import lazy_gettext as _l
from sqlalchemy import CheckConstraint, ForeignKey, Numeric, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from inclusive_day.campaigns.models import Campaign
from inclusive_day.database import Money, UTCDateTime, utcnow
from inclusive_day.enums import LabelledEnum, enum_column
from inclusive_day.extensions import db
from inclusive_day.units.models import Unit


class SponsorKind(LabelledEnum):
    """What sort of giver a sponsor is."""

    ENTERPRISE = "enterprise"
    CHARITY = "charity"
    VOLUNTEER_TEAM = "volunteer_team"
    INDIVIDUAL = "individual"

    @classmethod
    def _labels(cls) -> dict:
        return {
            cls.ENTERPRISE: _l("enterprise"),
            cls.CHARITY: _l("charity"),
            cls.VOLUNTEER_TEAM: _l("volunteer team"),
            cls.INDIVIDUAL: _l("individual"),
        }


class SponsorStatus(LabelledEnum):
    """Where a sponsor's registration stands with the unit's organisers."""

    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"

    @classmethod
    def _labels(cls) -> dict:
        return {
            cls.PENDING: _l("awaiting approval"),
            cls.APPROVED: _l("approved"),
            cls.REJECTED: _l("rejected"),
        }


class DonationKind(LabelledEnum):
    """Cash, goods, or a service such as free haircuts."""

    CASH = "cash"
    IN_KIND = "in_kind"
    SERVICE = "service"

    @classmethod
    def _labels(cls) -> dict:
        return {cls.CASH: _l("cash"), cls.IN_KIND: _l("in kind"), cls.SERVICE: _l("service")}


class DonationStatus(LabelledEnum):
    """A donation's progress: pledged, then received, then handed out."""

    PLEDGED = "pledged"
    RECEIVED = "received"
    DISTRIBUTED = "distributed"

    @classmethod
    def _labels(cls) -> dict:
        return {
            cls.PLEDGED: _l("pledged"),
            cls.RECEIVED: _l("received"),
            cls.DISTRIBUTED: _l("distributed"),
        }


class Sponsor(db.Model):
    """An enterprise, charity, volunteer team or person that gives to campaigns."""

    __tablename__ = "sponsors"

    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id", ondelete="RESTRICT"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[SponsorKind] = mapped_column(enum_column(SponsorKind))
    contact_name: Mapped[str] = mapped_column(String(80), default="")
    contact_phone: Mapped[str] = mapped_column(String(40), default="")
    # How the sponsor wishes to appear on the honour roll; anonymous sponsors appear unnamed.
    public_name: Mapped[str] = mapped_column(String(200), default="")
    is_anonymous: Mapped[bool] = mapped_column(default=False)
    status: Mapped[SponsorStatus] = mapped_column(
        enum_column(SponsorStatus), default=SponsorStatus.PENDING
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    unit: Mapped[Unit] = relationship()
    donations: Mapped[list[Donation]] = relationship(
        back_populates="sponsor", lazy="raise_on_sql", order_by="Donation.id"
    )

    def __repr__(self) -> str:
        return f"<Sponsor {self.id} {self.name!r}>"


class Donation(db.Model):
    """A gift from a sponsor to a campaign, valued in yuan."""

    __tablename__ = "donations"
    __table_args__ = (
        CheckConstraint("value >= 0", name="value_not_negative"),
        CheckConstraint("quantity IS NULL OR quantity > 0", name="quantity_positive"),
        CheckConstraint(
            "kind <> 'in_kind' OR (quantity IS NOT NULL AND value > 0)", name="in_kind_valued"
        ),
        CheckConstraint("kind <> 'cash' OR value > 0", name="cash_positive"),
        CheckConstraint(
            "received_on IS NULL OR received_on >= pledged_on", name="received_after_pledge"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    sponsor_id: Mapped[int] = mapped_column(
        ForeignKey("sponsors.id", ondelete="RESTRICT"), index=True
    )
    campaign_id: Mapped[int | None] = mapped_column(
        ForeignKey("campaigns.id", ondelete="RESTRICT"), index=True
    )
    kind: Mapped[DonationKind] = mapped_column(enum_column(DonationKind))
    description: Mapped[str] = mapped_column(String(200))
    quantity: Mapped[Decimal | None] = mapped_column(Numeric(12, 2))
    unit_label: Mapped[str] = mapped_column(String(20), default="")
    unit_value: Mapped[Decimal | None] = mapped_column(Money)
    value: Mapped[Decimal] = mapped_column(Money)
    status: Mapped[DonationStatus] = mapped_column(
        enum_column(DonationStatus), default=DonationStatus.PLEDGED
    )
    pledged_on: Mapped[date]
    received_on: Mapped[date | None]
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    sponsor: Mapped[Sponsor] = relationship(back_populates="donations")
    campaign: Mapped[Campaign | None] = relationship()

    def __repr__(self) -> str:
        return f"<Donation {self.id} {self.description!r}>"
