"""Activities: one themed event at one station, at one time."""

from __future__ import annotations

import secrets
import uuid
from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import JSON, CheckConstraint, Column, ForeignKey, Index, String, Table, Text
from sqlalchemy.ext.hybrid import hybrid_method
from sqlalchemy.orm import Mapped, mapped_column, relationship

from inclusive_day.campaigns.models import Campaign, Theme
from inclusive_day.database import UTCDateTime, utcnow
from inclusive_day.enums import LabelledEnum, enum_column
from inclusive_day.extensions import db
from inclusive_day.stations.models import Station

if TYPE_CHECKING:
    from inclusive_day.sponsors.models import Donation


class ActivityStatus(LabelledEnum):
    """Whether an activity is going ahead; a cancelled one keeps its record."""

    SCHEDULED = "scheduled"
    CANCELLED = "cancelled"

    @classmethod
    def _labels(cls) -> dict:
        return {cls.SCHEDULED: _l("scheduled"), cls.CANCELLED: _l("cancelled")}


def new_uid() -> str:
    """A random, permanent calendar UID for a new activity."""
    return f"{uuid.uuid4()}@inclusive-day"


def new_checkin_token() -> str:
    """A random token for a new activity's public check-in link and QR: 128 bits, unguessable,
    and shown nowhere else (the calendar uid is published in feeds, so it is not this)."""
    return secrets.token_urlsafe(16)


def checkin_grace() -> timedelta:
    """How long before its start and after its end an activity takes check-ins (config
    CHECKIN_GRACE_MINUTES): people come early and leave late."""
    return timedelta(minutes=current_app.config["CHECKIN_GRACE_MINUTES"])


def checkin_bounds(now: datetime) -> tuple[datetime, datetime]:
    """The latest start and the earliest end of an activity taking check-ins at `now`, as
    Activity.takes_checkins reads them."""
    grace = checkin_grace()
    return now + grace, now - grace


class ConflictPolicy(LabelledEnum):
    """What a series does with an occurrence whose station is already busy in that slot."""

    SKIP = "skip"
    KEEP = "keep"

    @classmethod
    def _labels(cls) -> dict:
        return {
            cls.SKIP: _l("skip the busy slots"),
            cls.KEEP: _l("schedule them anyway"),
        }


class Series(db.Model):
    """One activity fanned out over many stations and dates; each occurrence is an Activity.

    The rule is kept as written: an RFC 5545 RRULE for the repeating dates, explicit dates
    and excluded dates, the local start and end times, and how the stations were chosen.
    """

    __tablename__ = "series"
    __table_args__ = (
        CheckConstraint("capacity IS NULL OR capacity >= 0", name="capacity_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # Set by the form that planned the series, so that a second submit finds the first.
    uid: Mapped[str] = mapped_column(String(80), unique=True, default=new_uid)
    campaign_id: Mapped[int] = mapped_column(
        ForeignKey("campaigns.id", ondelete="RESTRICT"), index=True
    )
    theme_id: Mapped[int] = mapped_column(ForeignKey("themes.id", ondelete="RESTRICT"))
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    capacity: Mapped[int | None]
    target_groups: Mapped[str] = mapped_column(String(200), default="")
    starts_time: Mapped[time]
    ends_time: Mapped[time]
    first_date: Mapped[date]
    # The RRULE (without DTSTART), e.g. "FREQ=MONTHLY;BYDAY=2SU"; empty for explicit dates only.
    rule: Mapped[str] = mapped_column(String(500), default="")
    dates: Mapped[list] = mapped_column(JSON, default=list)
    excluded: Mapped[list] = mapped_column(JSON, default=list)
    # How the stations were chosen: {"by": "subtree"|"amenity"|"list", "unit": id, ...}.
    stations: Mapped[dict] = mapped_column(JSON, default=dict)
    conflicts: Mapped[ConflictPolicy] = mapped_column(
        enum_column(ConflictPolicy), default=ConflictPolicy.SKIP
    )
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    campaign: Mapped[Campaign] = relationship()
    theme: Mapped[Theme] = relationship()

    def __repr__(self) -> str:
        return f"<Series {self.id} {self.title!r}>"


# Donations (cash or in kind) that an activity hands out or is paid from.
activity_donations = Table(
    "activity_donations",
    db.metadata,
    Column("activity_id", ForeignKey("activities.id", ondelete="CASCADE"), primary_key=True),
    Column("donation_id", ForeignKey("donations.id", ondelete="CASCADE"), primary_key=True),
)


class Activity(db.Model):
    """A themed free-service event at a station, part of a campaign."""

    __tablename__ = "activities"
    __table_args__ = (
        CheckConstraint("ends_at > starts_at", name="ends_after_start"),
        CheckConstraint("capacity IS NULL OR capacity >= 0", name="capacity_not_negative"),
        CheckConstraint(
            "checkins_per_minute IS NULL OR checkins_per_minute > 0",
            name="checkins_per_minute_positive",
        ),
        CheckConstraint("sequence >= 0", name="sequence_not_negative"),
        Index("ix_activities_station_starts", "station_id", "starts_at"),
        Index("ix_activities_campaign_starts", "campaign_id", "starts_at"),
        # Counting held activities per station reads only this index.
        Index("ix_activities_station_status", "station_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    uid: Mapped[str] = mapped_column(String(80), unique=True, default=new_uid)
    sequence: Mapped[int] = mapped_column(default=0)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="RESTRICT"))
    station_id: Mapped[int] = mapped_column(ForeignKey("stations.id", ondelete="RESTRICT"))
    theme_id: Mapped[int] = mapped_column(ForeignKey("themes.id", ondelete="RESTRICT"), index=True)
    series_id: Mapped[int | None] = mapped_column(
        ForeignKey("series.id", ondelete="SET NULL"), index=True
    )
    title: Mapped[str] = mapped_column(String(200))
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime)
    status: Mapped[ActivityStatus] = mapped_column(
        enum_column(ActivityStatus), default=ActivityStatus.SCHEDULED
    )
    capacity: Mapped[int | None]
    # The token of the public check-in link /c/<token> and its QR (new_checkin_token): people
    # name the activity by it, never by its id, which is a counter anyone could walk through.
    checkin_token: Mapped[str] = mapped_column(String(32), unique=True, default=new_checkin_token)
    # The most check-ins a minute the activity takes; unset, its station's, else the app's
    # CHECKIN_CAPACITY_PER_MINUTE (see attendance.services).
    checkins_per_minute: Mapped[int | None]
    # Beneficiary group codes the activity is meant for, comma-separated ("courier,rider").
    target_groups: Mapped[str] = mapped_column(String(200), default="")
    description: Mapped[str] = mapped_column(Text, default="")
    cancel_reason: Mapped[str | None] = mapped_column(String(255))
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    campaign: Mapped[Campaign] = relationship()
    station: Mapped[Station] = relationship()
    theme: Mapped[Theme] = relationship()
    series: Mapped[Series | None] = relationship()
    donations: Mapped[list[Donation]] = relationship(secondary=activity_donations)

    def __repr__(self) -> str:
        return f"<Activity {self.id} {self.title!r}>"

    @property
    def is_cancelled(self) -> bool:
        """True once the activity has been called off."""
        return self.status is ActivityStatus.CANCELLED

    @hybrid_method
    def takes_checkins(self, latest_start, earliest_end):
        """Whether the activity takes check-ins at the moment checkin_bounds(now) describes:
        going ahead, started by `latest_start` and not ended before `earliest_end`.

        The one statement of the open window. On an activity it answers True or False; on the
        class it is the same rule as a query clause (the bounds may then be bound parameters),
        comparing the columns as stored, so that their indexes serve it.
        """
        return (
            (self.status == ActivityStatus.SCHEDULED)
            & (self.starts_at <= latest_start)
            & (self.ends_at >= earliest_end)
        )

    def checkin_window(self) -> tuple[datetime, datetime]:
        """When the open window opens and closes, to tell people: the grace before the start
        and after the end (takes_checkins is the rule; this is the same window as times)."""
        grace = checkin_grace()
        return self.starts_at - grace, self.ends_at + grace

    def cancel(self, reason: str) -> None:
        """Call the activity off, keeping its record, and bump its calendar sequence."""
        if not reason.strip():
            raise ValueError("a cancellation needs a reason")
        self.status = ActivityStatus.CANCELLED
        self.cancel_reason = reason.strip()
        self.cancelled_at = utcnow()
        self.sequence += 1
