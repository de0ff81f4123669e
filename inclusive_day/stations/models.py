"""Post stations (工会驿站) and their amenities."""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING

from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from sqlalchemy import (
    CheckConstraint,
    ColumnElement,
    Date,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
    and_,
    or_,
    select,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from inclusive_day.database import UTCDateTime, utcnow
from inclusive_day.enums import LabelledEnum, enum_column
from inclusive_day.extensions import db
from inclusive_day.periods import local_today
from inclusive_day.stations.geo import CoordSystem, Point, from_wgs84, to_wgs84
from inclusive_day.stations.hours import OpeningHours, parse_hours
from inclusive_day.units.models import Level, Unit, units_under

if TYPE_CHECKING:
    from inclusive_day.auth.models import User
    from inclusive_day.sponsors.models import Sponsor


class StationStatus(LabelledEnum):
    """Where a station is in its life: planned, being built, open, suspended or closed.

    A station counts as built (and open, in the "as of a date" counts) from the day it opened
    until the day it closed; a suspension pauses its service, not its existence."""

    PLANNED = "planned"
    UNDER_CONSTRUCTION = "under_construction"
    ACTIVE = "active"
    SUSPENDED = "suspended"
    CLOSED = "closed"

    @classmethod
    def _labels(cls) -> dict:
        return {
            cls.PLANNED: _l("planned"),
            cls.UNDER_CONSTRUCTION: _l("under construction"),
            cls.ACTIVE: _l("active"),
            cls.SUSPENDED: _l("suspended"),
            cls.CLOSED: _l("closed"),
        }

    @property
    def has_opened(self) -> bool:
        """True for the states that come after the opening day (open, suspended, closed)."""
        return self in (StationStatus.ACTIVE, StationStatus.SUSPENDED, StationStatus.CLOSED)


class Catalogued:
    """A classification value with a code and names in both languages (host types, labels)."""

    code: Mapped[str]
    name_zh: Mapped[str]
    name_en: Mapped[str]

    @property
    def name(self) -> str:
        """The value's name in the user's language."""
        locale = get_locale()
        return self.name_en if locale is not None and locale.language == "en" else self.name_zh


OTHER_HOST_TYPE = "other"


class HostType(Catalogued, db.Model):
    """Where a station is housed (standalone cabin, telecom hall, gas station, bank...):
    every station has exactly one. Organisers manage the set; the shared catalogue is seeded."""

    __tablename__ = "station_host_types"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name_zh: Mapped[str] = mapped_column(String(80))
    name_en: Mapped[str] = mapped_column(String(80))
    position: Mapped[int] = mapped_column(default=0)

    def __repr__(self) -> str:
        return f"<HostType {self.code}>"


class Label(Catalogued, db.Model):
    """A grade or title a station may hold, several at once, each awarded in a year by a unit
    (national "most beautiful station", provincial-level station, demonstration station...)."""

    __tablename__ = "station_labels"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name_zh: Mapped[str] = mapped_column(String(80))
    name_en: Mapped[str] = mapped_column(String(80))
    position: Mapped[int] = mapped_column(default=0)

    def __repr__(self) -> str:
        return f"<Label {self.code}>"


class LabelAward(db.Model):
    """One label held by one station: the year it was awarded and the unit that awarded it
    (the station's own unit or one above it)."""

    __tablename__ = "station_label_awards"
    __table_args__ = (
        UniqueConstraint("station_id", "label_id"),
        CheckConstraint("year BETWEEN 2000 AND 2100", name="year_range"),
        Index("ix_station_label_awards_label_year", "label_id", "year"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    station_id: Mapped[int] = mapped_column(ForeignKey("stations.id", ondelete="CASCADE"))
    label_id: Mapped[int] = mapped_column(ForeignKey("station_labels.id", ondelete="RESTRICT"))
    year: Mapped[int]
    awarded_by_id: Mapped[int] = mapped_column(ForeignKey("units.id", ondelete="RESTRICT"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    station: Mapped[Station] = relationship(back_populates="label_awards")
    label: Mapped[Label] = relationship()
    awarded_by: Mapped[Unit] = relationship()


class Partner(db.Model):
    """A co-building partner (共建单位): an organisation that houses or co-builds stations
    (Sinopec Yunnan, China Telecom Hebei, a bank). One that also gives as a sponsor is the same
    organisation, linked to its sponsor record."""

    __tablename__ = "partners"
    __table_args__ = (UniqueConstraint("unit_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    # The union unit that keeps the record: its organisers (and those above) manage it.
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id", ondelete="RESTRICT"), index=True)
    name: Mapped[str] = mapped_column(String(120))
    contact_name: Mapped[str] = mapped_column(String(80), default="")
    contact_phone: Mapped[str] = mapped_column(String(40), default="")
    sponsor_id: Mapped[int | None] = mapped_column(
        ForeignKey("sponsors.id", ondelete="SET NULL"), unique=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    unit: Mapped[Unit] = relationship()
    sponsor: Mapped[Sponsor | None] = relationship()
    station_links: Mapped[list[StationPartner]] = relationship(
        back_populates="partner", cascade="all, delete-orphan"
    )

    def __repr__(self) -> str:
        return f"<Partner {self.name!r}>"


class StationPartner(db.Model):
    """One partner co-building one station."""

    __tablename__ = "station_partners"

    station_id: Mapped[int] = mapped_column(
        ForeignKey("stations.id", ondelete="CASCADE"), primary_key=True
    )
    partner_id: Mapped[int] = mapped_column(
        ForeignKey("partners.id", ondelete="CASCADE"), primary_key=True, index=True
    )

    station: Mapped[Station] = relationship(back_populates="partner_links")
    partner: Mapped[Partner] = relationship(back_populates="station_links")


class Amenity(LabelledEnum):
    """A service facility a station offers (服务设施)."""

    WATER = "water"
    CHARGING = "charging"
    MICROWAVE = "microwave"
    FRIDGE = "fridge"
    AIR_CONDITIONING = "air_conditioning"
    TOILET = "toilet"
    SEATS = "seats"
    WIFI = "wifi"
    FIRST_AID = "first_aid"
    BOOKS = "books"

    @classmethod
    def _labels(cls) -> dict:
        return {
            cls.WATER: _l("drinking water"),
            cls.CHARGING: _l("phone charging"),
            cls.MICROWAVE: _l("microwave"),
            cls.FRIDGE: _l("fridge"),
            cls.AIR_CONDITIONING: _l("air conditioning"),
            cls.TOILET: _l("toilet"),
            cls.SEATS: _l("seats"),
            cls.WIFI: _l("Wi-Fi"),
            cls.FIRST_AID: _l("first aid"),
            cls.BOOKS: _l("books"),
        }


def _opened_today(context) -> date | None:
    """A station entered as open (or later) without its opening day opened today, locally."""
    status = context.get_current_parameters().get("status")
    return local_today() if StationStatus(status).has_opened else None


class Station(db.Model):
    """A roadside post station run by a unit, where activities take place."""

    __tablename__ = "stations"
    __table_args__ = (
        CheckConstraint("latitude IS NULL OR (latitude BETWEEN -90 AND 90)", name="latitude_range"),
        CheckConstraint(
            "longitude IS NULL OR (longitude BETWEEN -180 AND 180)", name="longitude_range"
        ),
        # Counting stations (and active ones) per unit reads only this index.
        Index("ix_stations_unit_status", "unit_id", "status"),
        # Counting the stations open on a day, per unit, reads only this one.
        Index("ix_stations_unit_opened", "unit_id", "opened_on", "closed_on"),
        CheckConstraint(
            "closed_on IS NULL OR opened_on IS NULL OR closed_on >= opened_on",
            name="closed_after_opened",
        ),
        CheckConstraint(
            "status NOT IN ('active', 'suspended', 'closed') OR opened_on IS NOT NULL",
            name="opened_has_date",
        ),
        CheckConstraint("status <> 'closed' OR closed_on IS NOT NULL", name="closed_has_date"),
        CheckConstraint(
            "checkins_per_minute IS NULL OR checkins_per_minute > 0",
            name="checkins_per_minute_positive",
        ),
        CheckConstraint(
            "status IN ('active', 'suspended', 'closed') OR opened_on IS NULL",
            name="not_opened_has_no_date",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id", ondelete="RESTRICT"), index=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    address: Mapped[str] = mapped_column(String(255), default="")
    # WGS-84 degrees; coordinates taken in GCJ-02 or BD-09 are converted before they are
    # stored, and coord_system remembers which system they were given in.
    latitude: Mapped[float | None]
    longitude: Mapped[float | None]
    coord_system: Mapped[CoordSystem] = mapped_column(
        enum_column(CoordSystem), default=CoordSystem.WGS84
    )
    phone: Mapped[str] = mapped_column(String(32), default="")
    open_24h: Mapped[bool] = mapped_column(default=False)
    opening_hours: Mapped[str] = mapped_column(String(120), default="")
    services: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[StationStatus] = mapped_column(
        enum_column(StationStatus), default=StationStatus.ACTIVE
    )
    # The lifecycle's days, in the unit's zone: open (and built) from opened_on until closed_on.
    opened_on: Mapped[date | None] = mapped_column(Date, default=_opened_today)
    closed_on: Mapped[date | None] = mapped_column(Date)
    closure_reason: Mapped[str] = mapped_column(String(255), default="")
    # Exactly one; a station entered without one is "other" until an organiser says more.
    host_type_id: Mapped[int] = mapped_column(
        ForeignKey("station_host_types.id", ondelete="RESTRICT"),
        index=True,
        default=select(HostType.id).where(HostType.code == OTHER_HOST_TYPE).scalar_subquery(),
    )
    # The most check-ins a minute the station can serve at one activity: its activities' default
    # (unset: the app's CHECKIN_CAPACITY_PER_MINUTE).
    checkins_per_minute: Mapped[int | None]
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    unit: Mapped[Unit] = relationship(back_populates="stations")
    amenity_rows: Mapped[list[StationAmenity]] = relationship(
        back_populates="station", cascade="all, delete-orphan", order_by="StationAmenity.amenity"
    )
    host_type: Mapped[HostType] = relationship()
    label_awards: Mapped[list[LabelAward]] = relationship(
        back_populates="station", cascade="all, delete-orphan", order_by="LabelAward.year"
    )
    partner_links: Mapped[list[StationPartner]] = relationship(
        back_populates="station", cascade="all, delete-orphan"
    )
    partners: Mapped[list[Partner]] = relationship(
        secondary="station_partners", viewonly=True, order_by="Partner.name"
    )

    def __repr__(self) -> str:
        return f"<Station {self.code} {self.name!r}>"

    @property
    def partner_names(self) -> str:
        """The co-building partners' names as one line ("中国石化、中国电信"), "" for none."""
        return "、".join(partner.name for partner in self.partners)

    def set_partners(self, partners: list[Partner]) -> None:
        """Replace the station's co-building partners."""
        wanted = {partner.id: partner for partner in partners}
        self.partner_links = [link for link in self.partner_links if link.partner_id in wanted]
        have = {link.partner_id for link in self.partner_links}
        for partner_id, partner in wanted.items():
            if partner_id not in have:
                self.partner_links.append(StationPartner(partner=partner))

    @classmethod
    def open_on(cls, day: date) -> ColumnElement[bool]:
        """WHERE clause for the stations open (built and not yet closed) on `day`: the one
        spelling of "open as of a date" that every count of stations uses."""
        return and_(cls.opened_on <= day, or_(cls.closed_on.is_(None), cls.closed_on > day))

    @classmethod
    def opened_between(cls, first: date, last: date) -> ColumnElement[bool]:
        """WHERE clause for the stations that opened in [first, last], whole days."""
        return and_(cls.opened_on >= first, cls.opened_on <= last)

    @classmethod
    def under(cls, path: str, *paths: str) -> ColumnElement[bool]:
        """WHERE clause for the stations in the subtrees at these paths: the one spelling of
        "stations under this unit", which callers compose (`select(Station.id).where(...)`)."""
        return cls.unit_id.in_(units_under(path, *paths))

    @property
    def hours(self) -> OpeningHours:
        """The opening hours, read from their stored spelling."""
        if self.open_24h:
            return OpeningHours(open_24h=True)
        return parse_hours(self.opening_hours)

    def set_hours(self, hours: OpeningHours) -> None:
        """Store opening hours in their canonical spelling."""
        self.open_24h = hours.open_24h
        self.opening_hours = hours.text

    @property
    def location(self) -> Point | None:
        """The stored WGS-84 point, when the station has one."""
        if self.latitude is None or self.longitude is None:
            return None
        return Point(self.latitude, self.longitude)

    def set_location(self, point: Point | None, system: CoordSystem = CoordSystem.WGS84) -> None:
        """Store a point taken in `system`, converted to WGS-84."""
        self.coord_system = system
        if point is None:
            self.latitude = self.longitude = None
            return
        stored = to_wgs84(point, system)
        self.latitude, self.longitude = round(stored.latitude, 7), round(stored.longitude, 7)

    def location_in(self, system: CoordSystem) -> Point | None:
        """The station's point in `system`, as the map or spreadsheet that asks needs it."""
        point = self.location
        return None if point is None else from_wgs84(point, system)

    @property
    def amenities(self) -> list[Amenity]:
        """The station's amenities in catalogue order."""
        have = {row.amenity for row in self.amenity_rows}
        return [a for a in Amenity if a in have]

    def set_amenities(self, amenities: list[Amenity]) -> None:
        """Replace the station's amenities."""
        wanted = set(amenities)
        self.amenity_rows = [r for r in self.amenity_rows if r.amenity in wanted]
        have = {r.amenity for r in self.amenity_rows}
        for amenity in Amenity:
            if amenity in wanted and amenity not in have:
                self.amenity_rows.append(StationAmenity(amenity=amenity))


class StationAmenity(db.Model):
    """One amenity of one station (a row per pair, so stations can be searched by amenity)."""

    __tablename__ = "station_amenities"

    station_id: Mapped[int] = mapped_column(
        ForeignKey("stations.id", ondelete="CASCADE"), primary_key=True
    )
    amenity: Mapped[Amenity] = mapped_column(enum_column(Amenity), primary_key=True, index=True)

    station: Mapped[Station] = relationship(back_populates="amenity_rows")


class InspectionResult(LabelledEnum):
    """The outcome of an inspection visit."""

    PASSED = "passed"
    RECTIFY = "rectify"
    FAILED = "failed"

    @classmethod
    def _labels(cls) -> dict:
        return {
            cls.PASSED: _l("passed"),
            cls.RECTIFY: _l("passed after rectification"),
            cls.FAILED: _l("failed"),
        }


class CheckItem(LabelledEnum):
    """A point on the inspection checklist (the usual items of a station standard)."""

    SIGNAGE = "signage"
    OPENING_HOURS = "opening_hours"
    CLEAN = "clean"
    WATER = "water"
    CHARGING = "charging"
    FIRST_AID = "first_aid"
    FIRE_SAFETY = "fire_safety"
    LEDGER = "ledger"

    @classmethod
    def _labels(cls) -> dict:
        return {
            cls.SIGNAGE: _l("Sign and notice board visible from the street"),
            cls.OPENING_HOURS: _l("Open at the posted hours"),
            cls.CLEAN: _l("Clean and tidy"),
            cls.WATER: _l("Drinking water available"),
            cls.CHARGING: _l("Phone charging works"),
            cls.FIRST_AID: _l("First aid kit stocked and in date"),
            cls.FIRE_SAFETY: _l("Fire extinguisher present and in date"),
            cls.LEDGER: _l("Service ledger kept up to date"),
        }


class InspectionCadence(db.Model):
    """How often a unit of one level must inspect each station below it."""

    __tablename__ = "inspection_cadences"
    __table_args__ = (CheckConstraint("months BETWEEN 1 AND 60", name="months_range"),)

    level: Mapped[Level] = mapped_column(enum_column(Level), primary_key=True)
    months: Mapped[int]


class Inspection(db.Model):
    """One inspection of a station by a unit, with its checklist and result."""

    __tablename__ = "inspections"
    __table_args__ = (Index("ix_inspections_station_day", "station_id", "inspected_on"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    station_id: Mapped[int] = mapped_column(ForeignKey("stations.id", ondelete="CASCADE"))
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id", ondelete="RESTRICT"), index=True)
    inspector_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    inspected_on: Mapped[date] = mapped_column(Date)
    result: Mapped[InspectionResult] = mapped_column(enum_column(InspectionResult))
    notes: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    station: Mapped[Station] = relationship()
    unit: Mapped[Unit] = relationship()
    inspector: Mapped[User | None] = relationship()
    checks: Mapped[list[InspectionCheck]] = relationship(
        back_populates="inspection", cascade="all, delete-orphan", order_by="InspectionCheck.item"
    )

    @property
    def failed_items(self) -> list[CheckItem]:
        """The checklist points that were not met, in checklist order."""
        failed = {c.item for c in self.checks if not c.passed}
        return [item for item in CheckItem if item in failed]


class InspectionCheck(db.Model):
    """One checklist point of one inspection, met or not."""

    __tablename__ = "inspection_checks"

    inspection_id: Mapped[int] = mapped_column(
        ForeignKey("inspections.id", ondelete="CASCADE"), primary_key=True
    )
    item: Mapped[CheckItem] = mapped_column(enum_column(CheckItem), primary_key=True)
    passed: Mapped[bool]

    inspection: Mapped[Inspection] = relationship(back_populates="checks")
