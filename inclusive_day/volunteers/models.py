"""Volunteer teams, their members and the sessions of service each member logs."""

from __future__ import annotations

from datetime import date, datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from inclusive_day.activities.models import Activity
from inclusive_day.auth.models import User
from inclusive_day.database import UTCDateTime, utcnow
from inclusive_day.enums import LabelledEnum, enum_column
from inclusive_day.extensions import db
from inclusive_day.sponsors.models import Sponsor
from inclusive_day.stations.models import Partner, Station
from inclusive_day.units.models import Unit


class Skill(LabelledEnum):
    """What a volunteer can do for workers at a station."""

    HAIRCUT = "haircut"
    HEALTH_CHECK = "health_check"
    LEGAL_ADVICE = "legal_advice"
    REPAIR = "repair"
    COUNSELLING = "counselling"
    TEACHING = "teaching"
    PHOTOGRAPHY = "photography"
    GENERAL = "general"

    @classmethod
    def _labels(cls) -> dict:
        return {
            cls.HAIRCUT: _l("haircuts"),
            cls.HEALTH_CHECK: _l("health checks"),
            cls.LEGAL_ADVICE: _l("legal advice"),
            cls.REPAIR: _l("repairs (phones, e-bikes, clothes)"),
            cls.COUNSELLING: _l("counselling"),
            cls.TEACHING: _l("teaching and reading"),
            cls.PHOTOGRAPHY: _l("photography"),
            cls.GENERAL: _l("general help"),
        }


class SessionStatus(LabelledEnum):
    """Where a logged session stands: hours count once confirmed."""

    LOGGED = "logged"
    CONFIRMED = "confirmed"
    REJECTED = "rejected"

    @classmethod
    def _labels(cls) -> dict:
        return {
            cls.LOGGED: _l("awaiting confirmation"),
            cls.CONFIRMED: _l("confirmed"),
            cls.REJECTED: _l("rejected"),
        }


class VolunteerTeam(db.Model):
    """A volunteer team kept by a union unit; often the same organisation as a sponsor (its
    gifts on the honour roll) or a co-building partner."""

    __tablename__ = "volunteer_teams"
    __table_args__ = (UniqueConstraint("unit_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id", ondelete="RESTRICT"), index=True)
    name: Mapped[str] = mapped_column(String(120))
    description: Mapped[str] = mapped_column(String(1000), default="")
    leader_name: Mapped[str] = mapped_column(String(60), default="")
    # For the union's own use; never shown on public pages.
    leader_phone: Mapped[str] = mapped_column(String(32), default="")
    sponsor_id: Mapped[int | None] = mapped_column(
        ForeignKey("sponsors.id", ondelete="SET NULL"), unique=True
    )
    partner_id: Mapped[int | None] = mapped_column(
        ForeignKey("partners.id", ondelete="SET NULL"), unique=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    unit: Mapped[Unit] = relationship()
    sponsor: Mapped[Sponsor | None] = relationship()
    partner: Mapped[Partner | None] = relationship()
    members: Mapped[list[Volunteer]] = relationship(
        back_populates="team", order_by="Volunteer.name", lazy="raise_on_sql"
    )

    def __repr__(self) -> str:
        return f"<VolunteerTeam {self.id} {self.name!r}>"


class Volunteer(db.Model):
    """A member of a team: name, a contact for the team's use, skills. `identity` (the keyed
    hash of their mobile, as check-ins store it; never the number) lets confirmed hours earn
    points on the same ledger their check-ins do."""

    __tablename__ = "volunteers"
    __table_args__ = (Index("ix_volunteers_team_name", "team_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    team_id: Mapped[int] = mapped_column(ForeignKey("volunteer_teams.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(60))
    # For the team's own use (WeChat id, phone); never shown on public pages.
    contact: Mapped[str] = mapped_column(String(60), default="")
    # Skill values separated by commas, in Skill's order.
    skills: Mapped[str] = mapped_column(String(200), default="")
    identity: Mapped[str | None] = mapped_column(String(64), index=True)
    person_key: Mapped[int | None] = mapped_column(BigInteger)
    joined_on: Mapped[date | None] = mapped_column(Date)
    left_on: Mapped[date | None] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    team: Mapped[VolunteerTeam] = relationship(back_populates="members")

    @property
    def skill_list(self) -> list[Skill]:
        """The member's skills as enum members (unknown values skipped)."""
        values = {v for v in self.skills.split(",") if v}
        return [s for s in Skill if s.value in values]

    @property
    def is_active(self) -> bool:
        return self.left_on is None

    def __repr__(self) -> str:
        return f"<Volunteer {self.id} {self.name!r}>"


class VolunteerSession(db.Model):
    """One person's service at one station (and, if it was one, one activity) from a start to an
    end: the hours count once the station's administrator or the activity's organiser confirms
    them. Sessions of one volunteer never overlap (the service refuses it)."""

    __tablename__ = "volunteer_sessions"
    __table_args__ = (
        CheckConstraint("ends_at > starts_at", name="ends_after_start"),
        CheckConstraint("minutes > 0", name="minutes_positive"),
        CheckConstraint("served IS NULL OR served >= 0", name="served_not_negative"),
        Index("ix_volunteer_sessions_volunteer_start", "volunteer_id", "starts_at"),
        Index("ix_volunteer_sessions_station_start", "station_id", "starts_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    volunteer_id: Mapped[int] = mapped_column(ForeignKey("volunteers.id", ondelete="CASCADE"))
    # Denormalised from the volunteer, so a team's hours sum without a join.
    team_id: Mapped[int] = mapped_column(
        ForeignKey("volunteer_teams.id", ondelete="CASCADE"), index=True
    )
    station_id: Mapped[int] = mapped_column(ForeignKey("stations.id", ondelete="RESTRICT"))
    activity_id: Mapped[int | None] = mapped_column(
        ForeignKey("activities.id", ondelete="SET NULL"), index=True
    )
    skill: Mapped[Skill] = mapped_column(enum_column(Skill))
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime)
    minutes: Mapped[int] = mapped_column(Integer)
    # People served at a session outside an activity (an activity's served count is its own).
    served: Mapped[int | None] = mapped_column(Integer)
    note: Mapped[str] = mapped_column(String(300), default="")
    status: Mapped[SessionStatus] = mapped_column(
        enum_column(SessionStatus), default=SessionStatus.LOGGED
    )
    logged_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    logged_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    confirmed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Why the station or organiser rejected it, shown to the team (empty unless rejected).
    rejected_reason: Mapped[str] = mapped_column(String(300), default="", server_default="")

    volunteer: Mapped[Volunteer] = relationship()
    team: Mapped[VolunteerTeam] = relationship()
    station: Mapped[Station] = relationship()
    activity: Mapped[Activity | None] = relationship()
    logged_by: Mapped[User | None] = relationship(foreign_keys=[logged_by_id])
    confirmed_by: Mapped[User | None] = relationship(foreign_keys=[confirmed_by_id])
