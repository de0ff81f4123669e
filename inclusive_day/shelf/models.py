"""A station's shelf, its items with their stock, and every putting and taking."""

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

from inclusive_day.attendance.models import BeneficiaryGroup
from inclusive_day.auth.models import User
from inclusive_day.database import UTCDateTime, utcnow
from inclusive_day.enums import LabelledEnum, enum_column
from inclusive_day.extensions import db
from inclusive_day.sponsors.models import Sponsor
from inclusive_day.stations.models import Station
from inclusive_day.volunteers.models import VolunteerTeam


class GiverKind(LabelledEnum):
    """Who put goods on a shelf."""

    SPONSOR = "sponsor"
    TEAM = "team"
    CITIZEN = "citizen"

    @classmethod
    def _labels(cls) -> dict:
        return {
            cls.SPONSOR: _l("a caring enterprise or sponsor"),
            cls.TEAM: _l("a volunteer team"),
            cls.CITIZEN: _l("a citizen"),
        }


class Shelf(db.Model):
    """A station's goods-sharing shelf: open or closed, and how many items one person may take
    there in a day (none: no limit, and no phone number asked)."""

    __tablename__ = "shelves"
    __table_args__ = (
        CheckConstraint(
            "per_person_day IS NULL OR per_person_day > 0", name="per_person_day_positive"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    station_id: Mapped[int] = mapped_column(
        ForeignKey("stations.id", ondelete="CASCADE"), unique=True
    )
    is_open: Mapped[bool] = mapped_column(default=True)
    per_person_day: Mapped[int | None] = mapped_column(Integer)
    opened_on: Mapped[date] = mapped_column(Date)
    note: Mapped[str] = mapped_column(String(300), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    station: Mapped[Station] = relationship()
    items: Mapped[list[ShelfItem]] = relationship(
        back_populates="shelf", order_by="ShelfItem.name", lazy="raise_on_sql"
    )


class ShelfItem(db.Model):
    """One kind of goods on a shelf and how many are there now. `stock` only ever changes by
    one guarded UPDATE (shelf.stock), and the database refuses a negative figure besides.
    `points` is its price when a worker pays with points (none: not for points)."""

    __tablename__ = "shelf_items"
    __table_args__ = (
        UniqueConstraint("shelf_id", "name"),
        CheckConstraint("stock >= 0", name="stock_not_negative"),
        CheckConstraint("points IS NULL OR points > 0", name="points_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    shelf_id: Mapped[int] = mapped_column(ForeignKey("shelves.id", ondelete="CASCADE"))
    # Denormalised from the shelf, so rollups over a subtree need one join to stations.
    station_id: Mapped[int] = mapped_column(
        ForeignKey("stations.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(80))
    unit_label: Mapped[str] = mapped_column(String(20), default="")
    stock: Mapped[int] = mapped_column(Integer, default=0)
    points: Mapped[int | None] = mapped_column(Integer)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    shelf: Mapped[Shelf] = relationship(back_populates="items")


class ShelfGift(db.Model):
    """Goods put on a shelf: what, how many, when, by whom (a sponsor, a volunteer team or an
    anonymous citizen)."""

    __tablename__ = "shelf_gifts"
    __table_args__ = (
        CheckConstraint("quantity > 0", name="quantity_positive"),
        Index("ix_shelf_gifts_station_day", "station_id", "given_on"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("shelf_items.id", ondelete="CASCADE"))
    station_id: Mapped[int] = mapped_column(ForeignKey("stations.id", ondelete="CASCADE"))
    quantity: Mapped[int] = mapped_column(Integer)
    giver: Mapped[GiverKind] = mapped_column(enum_column(GiverKind))
    sponsor_id: Mapped[int | None] = mapped_column(ForeignKey("sponsors.id", ondelete="SET NULL"))
    team_id: Mapped[int | None] = mapped_column(
        ForeignKey("volunteer_teams.id", ondelete="SET NULL")
    )
    given_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # The local day (the station's zone): what rollups by period read.
    given_on: Mapped[date] = mapped_column(Date)
    note: Mapped[str] = mapped_column(String(200), default="")
    # The client's idempotency key: a double submit records one gift.
    nonce: Mapped[str | None] = mapped_column(String(64), unique=True)
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    item: Mapped[ShelfItem] = relationship()
    sponsor: Mapped[Sponsor | None] = relationship()
    team: Mapped[VolunteerTeam | None] = relationship()
    recorded_by: Mapped[User | None] = relationship()


class ShelfTaking(db.Model):
    """Goods taken from a shelf: how many, by which group, and (where the station limits takings
    per person) whose keyed identity, never the phone number."""

    __tablename__ = "shelf_takings"
    __table_args__ = (
        CheckConstraint("quantity > 0", name="quantity_positive"),
        CheckConstraint("points IS NULL OR points > 0", name="points_positive"),
        Index("ix_shelf_takings_station_day", "station_id", "taken_on"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("shelf_items.id", ondelete="CASCADE"))
    station_id: Mapped[int] = mapped_column(ForeignKey("stations.id", ondelete="CASCADE"))
    quantity: Mapped[int] = mapped_column(Integer)
    group: Mapped[BeneficiaryGroup] = mapped_column(enum_column(BeneficiaryGroup))
    identity: Mapped[str | None] = mapped_column(String(64))
    person_key: Mapped[int | None] = mapped_column(BigInteger)
    # Points paid for it, when it was bought with points (the ledger holds the entry).
    points: Mapped[int | None] = mapped_column(Integer)
    taken_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    taken_on: Mapped[date] = mapped_column(Date)
    nonce: Mapped[str] = mapped_column(String(64), unique=True)
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    item: Mapped[ShelfItem] = relationship()
    recorded_by: Mapped[User | None] = relationship()


class ShelfPersonDay(db.Model):
    """How many items one person took at one station on one day: the counter the per-person
    limit is held against, raised by one guarded upsert so two takings at once cannot both
    pass the limit."""

    __tablename__ = "shelf_person_days"

    station_id: Mapped[int] = mapped_column(
        ForeignKey("stations.id", ondelete="CASCADE"), primary_key=True
    )
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    person_key: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    taken: Mapped[int] = mapped_column(Integer, default=0)
