"""Analytics tables: what the reports read instead of recounting raw rows.

Two kinds, kept up to date in two ways (see ARCHITECTURE and README, "Analytics tables"):

- Counters, kept by database triggers in the writing transaction itself, so a scan is in
  the figures the moment it commits and costs no extra round trip:
  `traffic_days` (door visits per station, local day and group) and `checkin_tallies`
  (standing check-ins per activity and group; staff headcounts are already one row per
  activity and group in `headcounts`).
- Distinct people, which do not add up, as compressed bitmaps of dense person numbers per
  unit (its whole subtree) and local month, refreshed from a change queue that the same
  triggers fill (`analytics_changes`) by `flask analytics refresh` every minute. A month
  with changes still queued is counted from the raw rows, so a figure is always exact.

The raw rows (checkins, station_visits) stay the source of truth: `flask analytics rebuild`
makes every table here again from them for any period.
"""

from __future__ import annotations

from datetime import date
from enum import StrEnum

from sqlalchemy import BigInteger, ForeignKey, Index, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from inclusive_day.attendance.models import BeneficiaryGroup
from inclusive_day.enums import enum_column
from inclusive_day.extensions import db


class TrafficDay(db.Model):
    """Door visits of one station on one local day by one group, counted by a trigger."""

    __tablename__ = "traffic_days"
    __table_args__ = (Index("ix_traffic_days_day_station", "day", "station_id", "group", "visits"),)

    station_id: Mapped[int] = mapped_column(
        ForeignKey("stations.id", ondelete="CASCADE"), primary_key=True
    )
    day: Mapped[date] = mapped_column(primary_key=True)
    group: Mapped[BeneficiaryGroup] = mapped_column(enum_column(BeneficiaryGroup), primary_key=True)
    visits: Mapped[int] = mapped_column(default=0)


class CheckinTally(db.Model):
    """Standing (not annulled) check-ins of one activity by one group, counted by a trigger."""

    __tablename__ = "checkin_tallies"

    activity_id: Mapped[int] = mapped_column(
        ForeignKey("activities.id", ondelete="CASCADE"), primary_key=True
    )
    group: Mapped[BeneficiaryGroup] = mapped_column(enum_column(BeneficiaryGroup), primary_key=True)
    checkins: Mapped[int] = mapped_column(default=0)


class AnalyticsPerson(db.Model):
    """A dense number for each person key (attendance.identity.person_key) that has been
    counted, so that people fit 32-bit compressed bitmaps. Given out by the refresh alone."""

    __tablename__ = "analytics_people"

    number: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[int] = mapped_column(BigInteger, unique=True)


class PeopleKind(StrEnum):
    """Whose distinct people a bitmap holds (never shown: the pages name the measures)."""

    VISITORS = "visitors"  # door visits
    SERVED = "served"  # check-ins at activities


# The campaign of a bitmap of visitors, and of the one of every campaign's check-ins.
ANY_CAMPAIGN = 0


class PeopleBitmap(db.Model):
    """The distinct people of a unit's subtree in one local month, as a serialised roaring
    bitmap of person numbers: of door visits, or of check-ins (per campaign, and across all
    of them as campaign 0). `own` holds those at the unit's own stations, `subtree` those of
    its whole subtree, the union of its own and its children's."""

    __tablename__ = "people_bitmaps"

    unit_id: Mapped[int] = mapped_column(
        ForeignKey("units.id", ondelete="CASCADE"), primary_key=True
    )
    kind: Mapped[PeopleKind] = mapped_column(enum_column(PeopleKind), primary_key=True)
    campaign_id: Mapped[int] = mapped_column(primary_key=True)
    month: Mapped[date] = mapped_column(primary_key=True)
    own: Mapped[bytes] = mapped_column(LargeBinary)
    subtree: Mapped[bytes] = mapped_column(LargeBinary)
    people: Mapped[int] = mapped_column(default=0)


class AnalyticsChange(db.Model):
    """A raw row that changed since the last refresh, queued by a trigger: a door visit (its
    station and day) or a check-in (its activity). The refresh deletes what it has counted;
    a month with a queued change is counted from the raw rows until then."""

    __tablename__ = "analytics_changes"
    __table_args__ = (
        Index("ix_analytics_changes_station", "station_id", "day"),
        Index("ix_analytics_changes_activity", "activity_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    station_id: Mapped[int | None] = mapped_column()
    day: Mapped[date | None] = mapped_column()
    activity_id: Mapped[int | None] = mapped_column()
    source: Mapped[str] = mapped_column(String(1))  # "v" a door visit, "c" a check-in
