"""The people who run stations: administrators, their training records, their duty shifts."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from flask_babel import lazy_gettext as _l
from sqlalchemy import CheckConstraint, Date, ForeignKey, Index, Numeric, String, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from inclusive_day.auth.models import User
from inclusive_day.database import UTCDateTime, utcnow
from inclusive_day.enums import LabelledEnum, enum_column
from inclusive_day.extensions import db
from inclusive_day.stations.models import Station


class AdminRole(LabelledEnum):
    """What an administrator is at their station."""

    MASTER = "master"
    ASSISTANT = "assistant"

    @classmethod
    def _labels(cls) -> dict:
        return {cls.MASTER: _l("station master"), cls.ASSISTANT: _l("assistant administrator")}


class StationAdmin(db.Model):
    """A person who runs a station (驿站管理员), with or without an account: a station has at
    most one current master and any number of assistants. Leaving sets `until`; the row stays
    so that past duty and rankings keep their name."""

    __tablename__ = "station_admins"
    __table_args__ = (
        CheckConstraint("until IS NULL OR until >= since", name="until_after_since"),
        # One current master per station, held by the database against concurrent edits.
        Index(
            "ux_station_admins_one_master",
            "station_id",
            unique=True,
            postgresql_where=text("role = 'master' AND until IS NULL"),
            sqlite_where=text("role = 'master' AND until IS NULL"),
        ),
        Index("ix_station_admins_station_until", "station_id", "until"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    station_id: Mapped[int] = mapped_column(ForeignKey("stations.id", ondelete="CASCADE"))
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    name: Mapped[str] = mapped_column(String(60))
    # A contact number for the union's own use; never shown on public pages.
    phone: Mapped[str] = mapped_column(String(32), default="")
    role: Mapped[AdminRole] = mapped_column(enum_column(AdminRole), default=AdminRole.MASTER)
    since: Mapped[date] = mapped_column(Date)
    until: Mapped[date | None] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    station: Mapped[Station] = relationship()
    user: Mapped[User | None] = relationship()
    trainings: Mapped[list[Training]] = relationship(
        back_populates="admin", cascade="all, delete-orphan", order_by="Training.taken_on.desc()"
    )

    @property
    def is_current(self) -> bool:
        """True while the person still runs the station."""
        return self.until is None


class Training(db.Model):
    """One course an administrator took: what, when, how many hours, the certificate's number."""

    __tablename__ = "station_admin_trainings"
    __table_args__ = (CheckConstraint("hours > 0", name="hours_positive"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    admin_id: Mapped[int] = mapped_column(
        ForeignKey("station_admins.id", ondelete="CASCADE"), index=True
    )
    course: Mapped[str] = mapped_column(String(120))
    taken_on: Mapped[date] = mapped_column(Date)
    hours: Mapped[Decimal] = mapped_column(Numeric(5, 1, asdecimal=True))
    certificate: Mapped[str] = mapped_column(String(60), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    admin: Mapped[StationAdmin] = relationship(back_populates="trainings")


class DutyShift(db.Model):
    """An administrator on duty at their station, from sign-on to sign-off.

    `day` is the local day the shift began, in the station's unit's zone. At most one open
    shift per administrator: the partial unique index refuses a second concurrent sign-on.
    """

    __tablename__ = "duty_shifts"
    __table_args__ = (
        CheckConstraint("ended_at IS NULL OR ended_at >= started_at", name="ends_after_start"),
        Index(
            "ux_duty_shifts_one_open",
            "admin_id",
            unique=True,
            postgresql_where=text("ended_at IS NULL"),
            sqlite_where=text("ended_at IS NULL"),
        ),
        Index("ix_duty_shifts_station_day", "station_id", "day"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    admin_id: Mapped[int] = mapped_column(ForeignKey("station_admins.id", ondelete="CASCADE"))
    station_id: Mapped[int] = mapped_column(ForeignKey("stations.id", ondelete="CASCADE"))
    day: Mapped[date] = mapped_column(Date)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    admin: Mapped[StationAdmin] = relationship()
    station: Mapped[Station] = relationship()

    @property
    def is_open(self) -> bool:
        """True while the administrator is on duty."""
        return self.ended_at is None
