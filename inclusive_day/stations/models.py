"""Post stations (工会驿站) and their amenities."""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING

from flask_babel import lazy_gettext as _l
from sqlalchemy import CheckConstraint, ColumnElement, Date, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from inclusive_day.database import UTCDateTime, utcnow
from inclusive_day.enums import LabelledEnum, enum_column
from inclusive_day.extensions import db
from inclusive_day.stations.geo import CoordSystem, Point, from_wgs84, to_wgs84
from inclusive_day.stations.hours import OpeningHours, parse_hours
from inclusive_day.units.models import Level, Unit, units_under

if TYPE_CHECKING:
    from inclusive_day.auth.models import User


class StationStatus(LabelledEnum):
    """Whether a station is open to workers."""

    ACTIVE = "active"
    SUSPENDED = "suspended"
    CLOSED = "closed"

    @classmethod
    def _labels(cls) -> dict:
        return {cls.ACTIVE: _l("active"), cls.SUSPENDED: _l("suspended"), cls.CLOSED: _l("closed")}


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
    partner: Mapped[str] = mapped_column(String(120), default="")
    services: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[StationStatus] = mapped_column(
        enum_column(StationStatus), default=StationStatus.ACTIVE
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    unit: Mapped[Unit] = relationship(back_populates="stations")
    amenity_rows: Mapped[list[StationAmenity]] = relationship(
        back_populates="station", cascade="all, delete-orphan", order_by="StationAmenity.amenity"
    )

    def __repr__(self) -> str:
        return f"<Station {self.code} {self.name!r}>"

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
