"""Post stations (工会驿站) and their amenities."""

from __future__ import annotations

from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import CheckConstraint, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from inclusive_day.database import UTCDateTime, utcnow
from inclusive_day.enums import LabelledEnum, enum_column
from inclusive_day.extensions import db
from inclusive_day.units.models import Unit


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
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id", ondelete="RESTRICT"), index=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    address: Mapped[str] = mapped_column(String(255), default="")
    # WGS-84 degrees; imports in GCJ-02 or BD-09 are converted before they are stored.
    latitude: Mapped[float | None]
    longitude: Mapped[float | None]
    open_24h: Mapped[bool] = mapped_column(default=False)
    opening_hours: Mapped[str] = mapped_column(String(120), default="")
    partner: Mapped[str] = mapped_column(String(120), default="")
    services: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[StationStatus] = mapped_column(
        enum_column(StationStatus), default=StationStatus.ACTIVE
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    unit: Mapped[Unit] = relationship(back_populates="stations")
    amenity_rows: Mapped[list[StationAmenity]] = relationship(
        back_populates="station", cascade="all, delete-orphan", order_by="StationAmenity.amenity"
    )

    def __repr__(self) -> str:
        return f"<Station {self.code} {self.name!r}>"

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
