"""Sponsors (爱心企业) and their donations in cash, in kind and as services."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from flask_babel import lazy_gettext as _l
from sqlalchemy import CheckConstraint, ForeignKey, Numeric, PrimaryKeyConstraint, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from inclusive_day.activities.models import Activity
from inclusive_day.campaigns.models import Campaign
from inclusive_day.database import ZERO_YUAN, Money, UTCDateTime, utcnow
from inclusive_day.enums import LabelledEnum, enum_column
from inclusive_day.extensions import db
from inclusive_day.stations.models import Station
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
    # Sponsors who opt out give as much, but are not listed on the public honour roll.
    on_honour_roll: Mapped[bool] = mapped_column(default=True)
    status: Mapped[SponsorStatus] = mapped_column(
        enum_column(SponsorStatus), default=SponsorStatus.PENDING
    )
    # The representative's account from the sign-up; active once an organiser approves.
    representative_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    reviewed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    reviewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    review_note: Mapped[str] = mapped_column(String(200), default="")
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
        CheckConstraint("kind <> 'service' OR quantity IS NOT NULL", name="service_counted"),
        CheckConstraint("kind <> 'cash' OR quantity IS NULL", name="cash_uncounted"),
        CheckConstraint(
            "distributed >= 0 AND distributed <= COALESCE(quantity, value)",
            name="distributed_within_amount",
        ),
        CheckConstraint("status = 'pledged' OR received_on IS NOT NULL", name="received_has_date"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # The form's one-time id: a double submit finds the donation the first one made.
    uid: Mapped[str | None] = mapped_column(String(32), unique=True)
    sponsor_id: Mapped[int] = mapped_column(
        ForeignKey("sponsors.id", ondelete="RESTRICT"), index=True
    )
    campaign_id: Mapped[int | None] = mapped_column(
        ForeignKey("campaigns.id", ondelete="RESTRICT"), index=True
    )
    # A gift meant for one station ("water tickets for the Guandu station"), when it is.
    station_id: Mapped[int | None] = mapped_column(
        ForeignKey("stations.id", ondelete="RESTRICT"), index=True
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
    note: Mapped[str] = mapped_column(Text, default="")
    pledged_on: Mapped[date]
    pledged_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    received_on: Mapped[date | None]
    received_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    # How much has been handed out, in the donation's own measure (items, sessions, or yuan
    # for cash); kept by the distribution service with a guarded UPDATE, so concurrent
    # hand-outs can never exceed what was received.
    distributed: Mapped[Decimal] = mapped_column(Numeric(12, 2), default=ZERO_YUAN)
    receipt_number: Mapped[str | None] = mapped_column(String(40), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    sponsor: Mapped[Sponsor] = relationship(back_populates="donations")
    campaign: Mapped[Campaign | None] = relationship()
    station: Mapped[Station | None] = relationship()
    distributions: Mapped[list[Distribution]] = relationship(
        back_populates="donation", lazy="raise_on_sql", order_by="Distribution.id"
    )

    def __repr__(self) -> str:
        return f"<Donation {self.id} {self.description!r}>"

    @property
    def amount(self) -> Decimal:
        """What there is to hand out, in the donation's measure: the quantity, or yuan for cash."""
        return self.quantity if self.quantity is not None else self.value

    @property
    def balance(self) -> Decimal:
        """What is left to hand out; nothing before the gift is received."""
        if self.status is DonationStatus.PLEDGED:
            return ZERO_YUAN
        return self.amount - self.distributed


class Distribution(db.Model):
    """Part of a received donation handed out at an activity or a station."""

    __tablename__ = "donation_distributions"
    __table_args__ = (
        CheckConstraint("quantity > 0", name="quantity_positive"),
        CheckConstraint("value >= 0", name="value_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    uid: Mapped[str] = mapped_column(String(32), unique=True)
    donation_id: Mapped[int] = mapped_column(
        ForeignKey("donations.id", ondelete="RESTRICT"), index=True
    )
    # Always the station; the activity too when the gift went to one.
    station_id: Mapped[int] = mapped_column(
        ForeignKey("stations.id", ondelete="RESTRICT"), index=True
    )
    activity_id: Mapped[int | None] = mapped_column(
        ForeignKey("activities.id", ondelete="RESTRICT"), index=True
    )
    quantity: Mapped[Decimal] = mapped_column(Numeric(12, 2))
    # The yuan worth of this share of the donation.
    value: Mapped[Decimal] = mapped_column(Money)
    distributed_on: Mapped[date]
    note: Mapped[str] = mapped_column(String(200), default="")
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    donation: Mapped[Donation] = relationship(back_populates="distributions")
    station: Mapped[Station] = relationship()
    activity: Mapped[Activity | None] = relationship()

    def __repr__(self) -> str:
        return f"<Distribution {self.id} of donation {self.donation_id}>"


class ReceiptCounter(db.Model):
    """The last receipt number a unit issued in a year; receipts are numbered without gaps."""

    __tablename__ = "receipt_counters"
    __table_args__ = (PrimaryKeyConstraint("unit_id", "year"),)

    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id", ondelete="CASCADE"))
    year: Mapped[int]
    last: Mapped[int] = mapped_column(default=0)
