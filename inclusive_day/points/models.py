"""Point rules per unit, accounts per keyed identity, the ledger, and one-time card links."""

from __future__ import annotations

from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Index, Integer, String, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from inclusive_day.attendance.models import CheckIn
from inclusive_day.database import UTCDateTime, utcnow
from inclusive_day.enums import LabelledEnum, enum_column
from inclusive_day.extensions import db
from inclusive_day.shelf.models import ShelfTaking
from inclusive_day.stations.models import Station
from inclusive_day.units.models import Unit
from inclusive_day.volunteers.models import VolunteerSession


class EarnRule(LabelledEnum):
    """What a unit may award points for."""

    VOLUNTEER_HOUR = "volunteer_hour"
    ACTIVITY = "activity"

    @classmethod
    def _labels(cls) -> dict:
        return {
            cls.VOLUNTEER_HOUR: _l("each confirmed hour of volunteer service"),
            cls.ACTIVITY: _l("each activity taken part in (checked in by QR)"),
        }


class EntryReason(LabelledEnum):
    """Why a ledger entry moved a balance."""

    VOLUNTEER_HOURS = "volunteer_hours"
    ACTIVITY = "activity"
    SHELF_GOODS = "shelf_goods"
    SERVICE = "service"
    ADJUSTMENT = "adjustment"

    @classmethod
    def _labels(cls) -> dict:
        return {
            cls.VOLUNTEER_HOURS: _l("volunteer hours"),
            cls.ACTIVITY: _l("taking part in an activity"),
            cls.SHELF_GOODS: _l("goods from a shelf"),
            cls.SERVICE: _l("a station's service"),
            cls.ADJUSTMENT: _l("correction by an organiser"),
        }


class PointRule(db.Model):
    """How many points a unit gives for one thing: its stations and activities (and those of
    the units below that set no rule of their own) award them. No rule, or 0: nothing."""

    __tablename__ = "point_rules"
    __table_args__ = (
        CheckConstraint("points >= 0", name="points_not_negative"),
        Index("ux_point_rules_unit_rule", "unit_id", "rule", unique=True),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id", ondelete="CASCADE"))
    rule: Mapped[EarnRule] = mapped_column(enum_column(EarnRule))
    points: Mapped[int] = mapped_column(Integer)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    unit: Mapped[Unit] = relationship()


class PointAccount(db.Model):
    """One person's points, keyed by the identity check-ins store (never the phone number).
    `balance` only changes with a ledger entry, by one guarded UPDATE, and the database
    refuses a negative figure besides. `card_version` goes up when the card moves to a new
    phone: older cards stop working."""

    __tablename__ = "point_accounts"
    __table_args__ = (CheckConstraint("balance >= 0", name="balance_not_negative"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    identity: Mapped[str] = mapped_column(String(64), unique=True)
    person_key: Mapped[int] = mapped_column(BigInteger, index=True)
    balance: Mapped[int] = mapped_column(Integer, default=0)
    card_version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class PointEntry(db.Model):
    """One movement of a balance with its reason and what it came from; an earning names its
    source (a session, a check-in) and the database keeps each source to one entry."""

    __tablename__ = "point_entries"
    __table_args__ = (
        CheckConstraint("delta <> 0", name="delta_not_zero"),
        CheckConstraint("balance_after >= 0", name="balance_after_not_negative"),
        Index("ix_point_entries_account_id", "account_id", "id"),
        Index("ix_point_entries_station_created", "station_id", "created_at"),
        Index(
            "ux_point_entries_session",
            "session_id",
            unique=True,
            postgresql_where=text("session_id IS NOT NULL"),
            sqlite_where=text("session_id IS NOT NULL"),
        ),
        Index(
            "ux_point_entries_checkin",
            "checkin_id",
            unique=True,
            postgresql_where=text("checkin_id IS NOT NULL"),
            sqlite_where=text("checkin_id IS NOT NULL"),
        ),
        Index(
            "ux_point_entries_taking",
            "taking_id",
            unique=True,
            postgresql_where=text("taking_id IS NOT NULL"),
            sqlite_where=text("taking_id IS NOT NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("point_accounts.id", ondelete="CASCADE"))
    delta: Mapped[int] = mapped_column(Integer)
    balance_after: Mapped[int] = mapped_column(Integer)
    reason: Mapped[EntryReason] = mapped_column(enum_column(EntryReason))
    station_id: Mapped[int | None] = mapped_column(ForeignKey("stations.id", ondelete="SET NULL"))
    # The unit whose rule awarded it, or where it was spent (the station's unit).
    unit_id: Mapped[int | None] = mapped_column(
        ForeignKey("units.id", ondelete="SET NULL"), index=True
    )
    session_id: Mapped[int | None] = mapped_column(
        ForeignKey("volunteer_sessions.id", ondelete="SET NULL")
    )
    checkin_id: Mapped[int | None] = mapped_column(ForeignKey("checkins.id", ondelete="SET NULL"))
    taking_id: Mapped[int | None] = mapped_column(
        ForeignKey("shelf_takings.id", ondelete="SET NULL")
    )
    note: Mapped[str] = mapped_column(String(200), default="")
    # The client's idempotency key for a spend: a double submit spends once.
    nonce: Mapped[str | None] = mapped_column(String(64), unique=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    account: Mapped[PointAccount] = relationship()
    station: Mapped[Station | None] = relationship()
    session: Mapped[VolunteerSession | None] = relationship()
    checkin: Mapped[CheckIn | None] = relationship()
    taking: Mapped[ShelfTaking | None] = relationship()


class CardLink(db.Model):
    """A one-time link that puts a points card on a phone (moved from an old phone, or sent by
    an SMS gateway once one is plugged in): used once, within its time, then refused."""

    __tablename__ = "point_card_links"

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(
        ForeignKey("point_accounts.id", ondelete="CASCADE"), index=True
    )
    nonce: Mapped[str] = mapped_column(String(64), unique=True)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
