"""Attendance: headcounts by beneficiary group and individual QR check-ins."""

from __future__ import annotations

from datetime import date, datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    ForeignKey,
    Index,
    String,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from inclusive_day.activities.models import Activity
from inclusive_day.attendance.identity import person_key
from inclusive_day.database import UTCDateTime, utcnow
from inclusive_day.enums import LabelledEnum, enum_column
from inclusive_day.extensions import db

# The longest comment a worker may leave on a station.
FEEDBACK_COMMENT_MAX = 200


class BeneficiaryGroup(LabelledEnum):
    """Who was served (服务对象)."""

    COURIER = "courier"
    RIDER = "rider"
    SANITATION = "sanitation"
    DRIVER = "driver"
    POLICE = "police"
    CONSTRUCTION = "construction"
    ELDERLY = "elderly"
    OTHER = "other"

    @classmethod
    def _labels(cls) -> dict:
        return {
            cls.COURIER: _l("courier"),
            cls.RIDER: _l("delivery rider"),
            cls.SANITATION: _l("sanitation worker"),
            cls.DRIVER: _l("driver"),
            cls.POLICE: _l("police"),
            cls.CONSTRUCTION: _l("construction worker"),
            cls.ELDERLY: _l("elderly"),
            cls.OTHER: _l("other"),
        }


class CheckInSource(LabelledEnum):
    """How a check-in reached us."""

    QR = "qr"
    API = "api"
    PAPER = "paper"

    @classmethod
    def _labels(cls) -> dict:
        return {cls.QR: _l("QR scan"), cls.API: _l("scanner"), cls.PAPER: _l("paper sheet")}


class Headcount(db.Model):
    """The number of people of one group that staff counted at an activity."""

    __tablename__ = "headcounts"
    __table_args__ = (
        UniqueConstraint("activity_id", "group"),
        CheckConstraint("count >= 0", name="count_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    activity_id: Mapped[int] = mapped_column(ForeignKey("activities.id", ondelete="CASCADE"))
    group: Mapped[BeneficiaryGroup] = mapped_column(enum_column(BeneficiaryGroup))
    count: Mapped[int] = mapped_column(default=0)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    activity: Mapped[Activity] = relationship()


def _person_key_of_row(context) -> int:
    """The default of checkins.person_key: derived from the row's identity."""
    return person_key(context.get_current_parameters()["identity"])


class CheckIn(db.Model):
    """One person's check-in at an activity, identified by a keyed hash of their phone number."""

    __tablename__ = "checkins"
    __table_args__ = (
        UniqueConstraint("activity_id", "identity"),
        # Everything the counting rules read of the standing check-ins (served per activity
        # and group, unique people by key), so that reports scan this index, not the table.
        Index(
            "ix_checkins_standing",
            "activity_id",
            "group",
            "person_key",
            postgresql_where=text("annulled_at IS NULL"),
            sqlite_where=text("annulled_at IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    activity_id: Mapped[int] = mapped_column(ForeignKey("activities.id", ondelete="CASCADE"))
    # HMAC-SHA256 of the normalised phone number, hex; the number itself is never stored.
    identity: Mapped[str] = mapped_column(String(64))
    # person_key(identity): what "unique people" counts (see attendance.identity).
    person_key: Mapped[int] = mapped_column(BigInteger, default=_person_key_of_row)
    group: Mapped[BeneficiaryGroup] = mapped_column(enum_column(BeneficiaryGroup))
    # The client's idempotency key: a retried upload carries the same nonce.
    nonce: Mapped[str] = mapped_column(String(64), unique=True)
    source: Mapped[CheckInSource] = mapped_column(
        enum_column(CheckInSource), default=CheckInSource.QR
    )
    checked_in_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    annulled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    annul_reason: Mapped[str | None] = mapped_column(String(255))
    annulled_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    activity: Mapped[Activity] = relationship()

    @property
    def is_annulled(self) -> bool:
        """True once staff have annulled it: it stays in the history and stops counting."""
        return self.annulled_at is not None


class CheckInMinute(db.Model):
    """The live check-ins (QR, door and API scans) an activity took in one minute of UTC time.

    Counted by one atomic upsert as each is accepted, in the check-in's own transaction, up to
    the activity's capacity a minute: so no minute takes more, however many workers or app
    servers take scans. A minute goes under review when it reaches its capacity, or when
    refused attempts land in it or in the minute after it.
    """

    __tablename__ = "checkin_minutes"
    __table_args__ = (
        CheckConstraint("accepted >= 0", name="accepted_not_negative"),
        Index(
            "ix_checkin_minutes_under_review",
            "activity_id",
            "minute",
            postgresql_where=text("under_review"),
            sqlite_where=text("under_review"),
        ),
    )

    activity_id: Mapped[int] = mapped_column(
        ForeignKey("activities.id", ondelete="CASCADE"), primary_key=True
    )
    # The minute's first moment and the next minute's (UTC), so that queries need no date
    # arithmetic, which the two databases spell differently.
    minute: Mapped[datetime] = mapped_column(UTCDateTime, primary_key=True)
    minute_end: Mapped[datetime] = mapped_column(UTCDateTime)
    accepted: Mapped[int] = mapped_column(default=0)
    under_review: Mapped[bool] = mapped_column(default=False)


class LimitKind(LabelledEnum):
    """Which limit refused a check-in."""

    CAPACITY = "capacity"
    ADDRESS = "address"

    @classmethod
    def _labels(cls) -> dict:
        return {
            cls.CAPACITY: _l("the activity's check-ins a minute"),
            cls.ADDRESS: _l("one address's check-ins a minute"),
        }


class CheckInRefusal(db.Model):
    """Check-ins refused by a limit, counted per activity, minute (UTC), limit and client
    address (a keyed hash of it, never the address): every refused attempt is kept, and a
    flood from one address adds to one row rather than filling the table."""

    __tablename__ = "checkin_refusals"
    __table_args__ = (
        UniqueConstraint("activity_id", "minute", "kind", "address_hash"),
        CheckConstraint("count > 0", name="count_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    activity_id: Mapped[int] = mapped_column(ForeignKey("activities.id", ondelete="CASCADE"))
    minute: Mapped[datetime] = mapped_column(UTCDateTime)
    kind: Mapped[LimitKind] = mapped_column(enum_column(LimitKind))
    # identity.address_key of the client's address (behind TRUSTED_PROXIES, the forwarded one).
    address_hash: Mapped[str] = mapped_column(String(64))
    count: Mapped[int] = mapped_column(default=1)
    last_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class HeadcountSource(LabelledEnum):
    """How a headcount changed: typed in by staff, or tapped on the tally page."""

    FORM = "form"
    TALLY = "tally"

    @classmethod
    def _labels(cls) -> dict:
        return {cls.FORM: _l("entered"), cls.TALLY: _l("tally")}


class HeadcountChange(db.Model):
    """One change of a headcount, kept so corrections have a history.

    A tally tap carries the nonce its phone gave it, so a retried upload adds nothing.
    """

    __tablename__ = "headcount_changes"
    __table_args__ = (Index("ix_headcount_changes_activity_changed", "activity_id", "changed_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    activity_id: Mapped[int] = mapped_column(ForeignKey("activities.id", ondelete="CASCADE"))
    group: Mapped[BeneficiaryGroup] = mapped_column(enum_column(BeneficiaryGroup))
    old_count: Mapped[int]
    new_count: Mapped[int]
    source: Mapped[HeadcountSource] = mapped_column(enum_column(HeadcountSource))
    nonce: Mapped[str | None] = mapped_column(String(64), unique=True)
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    changed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))


class StationVisit(db.Model):
    """A scan of a station's door QR: station traffic, once per person per station per day."""

    __tablename__ = "station_visits"
    __table_args__ = (
        UniqueConstraint("station_id", "identity", "visit_day"),
        Index("ix_station_visits_station_visited", "station_id", "visited_at"),
        # Traffic over a period reads this index only: the days, their stations, the groups
        # and the people, so counting a month of a province never touches the table.
        Index("ix_station_visits_day_station", "visit_day", "station_id", "group", "person_key"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    station_id: Mapped[int] = mapped_column(ForeignKey("stations.id", ondelete="CASCADE"))
    identity: Mapped[str] = mapped_column(String(64))
    # person_key(identity), as on check-ins: what "visitors" counts.
    person_key: Mapped[int] = mapped_column(BigInteger, default=_person_key_of_row)
    group: Mapped[BeneficiaryGroup] = mapped_column(enum_column(BeneficiaryGroup))
    nonce: Mapped[str] = mapped_column(String(64), unique=True)
    # The local (China) calendar day of the visit.
    visit_day: Mapped[date]
    visited_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Feedback(db.Model):
    """A worker's word on a station after a door scan or check-in: an optional rating of one to
    five and a short comment, one per person, station and day. Organisers may hide a comment;
    the rating still counts."""

    __tablename__ = "station_feedback"
    __table_args__ = (
        UniqueConstraint("station_id", "identity", "visit_day"),
        CheckConstraint("rating IS NULL OR (rating BETWEEN 1 AND 5)", name="rating_range"),
        CheckConstraint("rating IS NOT NULL OR comment <> ''", name="says_something"),
        Index("ix_station_feedback_station_day", "station_id", "visit_day"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    station_id: Mapped[int] = mapped_column(ForeignKey("stations.id", ondelete="CASCADE"))
    identity: Mapped[str] = mapped_column(String(64))
    visit_day: Mapped[date]
    rating: Mapped[int | None]
    comment: Mapped[str] = mapped_column(String(FEEDBACK_COMMENT_MAX), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    hidden_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    hidden_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    @property
    def is_hidden(self) -> bool:
        """True once an organiser has hidden the comment."""
        return self.hidden_at is not None
