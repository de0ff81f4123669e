"""What the public directory reads, in one place: search, nearest first, districts, a station.

Every page runs a fixed number of statements whatever the number of stations: the list is
one LIMITed query (nearest-first ordering is done in SQL by an equirectangular distance that
SQLite and PostgreSQL both compute), plus a count, plus one batch of amenity rows; the exact
great-circle distance is computed in Python for the rows on the page only.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from datetime import datetime

from sqlalchemy import ColumnElement, Select, case, exists, or_, select
from sqlalchemy.orm import aliased, contains_eager, joinedload, selectinload

from inclusive_day.activities.models import Activity, ActivityStatus
from inclusive_day.activities.queries import count_activities, in_public_campaign, upcoming
from inclusive_day.attendance.queries import Scope, Totals, totals
from inclusive_day.extensions import db
from inclusive_day.periods import zone_of
from inclusive_day.stations.geo import Point, distance_km
from inclusive_day.stations.hours import HoursError
from inclusive_day.stations.models import (
    Amenity,
    HostType,
    Label,
    LabelAward,
    Station,
    StationAmenity,
    StationStatus,
)
from inclusive_day.stations.queries import with_host_type, with_label
from inclusive_day.units.models import Level, Unit, under

PER_PAGE = 20
MAP_PER_PAGE = 100
UPCOMING_LIMIT = 10
TEXT_COLUMNS = (Station.name, Station.address, Station.code)


@dataclass(frozen=True)
class Filters:
    """What a directory search asks for; every part is optional."""

    text: str = ""
    unit: Unit | None = None
    amenities: tuple[Amenity, ...] = ()
    near: Point | None = None
    host_type: HostType | None = None
    label: Label | None = None


@dataclass(frozen=True)
class Listing:
    """One station on a result page, with what the page shows beside it."""

    station: Station
    distance_km: float | None = None
    open_now: bool | None = None


@dataclass(frozen=True)
class StationPage:
    """Everything the public station page shows."""

    station: Station
    open_now: bool | None
    coming: list[Activity] = field(default_factory=list)
    held: int = 0
    figures: Totals = field(default_factory=Totals)


# The states in which the public sees a station: open, or suspended for a while; not one that
# is only planned, still being built, or closed.
LISTED_STATUSES = (StationStatus.ACTIVE, StationStatus.SUSPENDED)


def listed() -> ColumnElement[bool]:
    """Stations the public may see: open or suspended ones."""
    return Station.status.in_(LISTED_STATUSES)


def nearest_key(point: Point) -> ColumnElement[float]:
    """Squared equirectangular distance in degrees: orders like the true distance nearby."""
    shrink = math.cos(math.radians(point.latitude))
    d_lat = Station.latitude - point.latitude
    d_lon = (Station.longitude - point.longitude) * shrink
    return d_lat * d_lat + d_lon * d_lon


def _contains(column, text: str) -> ColumnElement[bool]:
    """Substring match ignoring case. Most searches are Chinese, where case means nothing: a
    plain LIKE is three times cheaper than ILIKE or lower(); SQLite's LIKE ignores ASCII case."""
    if text.lower() == text.upper() or db.engine.dialect.name == "sqlite":
        return column.contains(text, autoescape=True)
    return column.icontains(text, autoescape=True)


def search_statement(filters: Filters) -> Select:
    """The SELECT of listed stations matching `filters`, ordered as the page shows them."""
    stmt = (
        select(Station)
        .join(Station.unit)
        .options(
            contains_eager(Station.unit),
            joinedload(Station.host_type),
            selectinload(Station.amenity_rows),
            selectinload(Station.label_awards).joinedload(LabelAward.label),
        )
        .where(listed())
    )
    if filters.text:
        stmt = stmt.where(or_(*(_contains(column, filters.text) for column in TEXT_COLUMNS)))
    if filters.unit is not None:
        stmt = stmt.where(under(Unit.path, filters.unit.path))
    if filters.host_type is not None:
        stmt = stmt.where(with_host_type(filters.host_type))
    if filters.label is not None:
        stmt = stmt.where(with_label(filters.label))
    for amenity in filters.amenities:
        stmt = stmt.where(
            Station.id.in_(
                select(StationAmenity.station_id).where(StationAmenity.amenity == amenity)
            )
        )
    if filters.near is not None:
        # A worker asking for the nearest station needs one that is open to them.
        return stmt.where(
            Station.status == StationStatus.ACTIVE,
            Station.latitude.is_not(None),
            Station.longitude.is_not(None),
        ).order_by(nearest_key(filters.near), Station.id)
    suspended_last = case((Station.status == StationStatus.SUSPENDED, 1), else_=0)
    return stmt.order_by(suspended_last, Station.name, Station.id)


def search(filters: Filters, page: int = 1, per_page: int = PER_PAGE):
    """One page of matching stations (a Flask-SQLAlchemy Pagination of Station)."""
    return db.paginate(
        search_statement(filters),
        page=max(page, 1),
        per_page=per_page,
        max_per_page=MAP_PER_PAGE,
        error_out=False,
    )


def every_match(filters: Filters) -> list[Station]:
    """Every listed station matching `filters`, unpaged, in the list's order: what the files for
    map platforms hold. A location given with the search is left out: it orders a list."""
    return list(db.session.scalars(search_statement(replace(filters, near=None))))


def open_now(station: Station, now: datetime) -> bool | None:
    """Whether the station is open at `now` in its unit's zone; None when its hours are unknown."""
    if station.status is not StationStatus.ACTIVE:
        return False
    try:
        hours = station.hours
    except HoursError:
        return None
    return hours.is_open_at(now.astimezone(zone_of(station.unit.timezone)).time())


def listings(stations: list[Station], near: Point | None, now: datetime) -> list[Listing]:
    """Result rows with the exact distance from `near` and whether each is open now."""
    rows = []
    for station in stations:
        point = station.location
        distance = distance_km(near, point) if near is not None and point is not None else None
        rows.append(Listing(station, distance, open_now(station, now)))
    return rows


@dataclass(frozen=True)
class DistrictChoice:
    """A district (county) offered in the search form, with the city it belongs to."""

    id: int
    name: str
    city_id: int
    city_name: str


def district_choices() -> list[DistrictChoice]:
    """Districts (counties) with at least one active station, grouped by city, in tree order."""
    # Probing each unit's stations by index beats scanning every station for distinct units.
    paths = db.session.scalars(
        select(Unit.path).where(
            exists().where(Station.unit_id == Unit.id, Station.status == StationStatus.ACTIVE)
        )
    )
    with_stations = {int(part) for path in paths for part in path.strip("/").split("/") if part}
    city = aliased(Unit)
    rows = db.session.execute(
        select(Unit.id, Unit.name, Unit.parent_id, city.name)
        .outerjoin(city, Unit.parent_id == city.id)
        .where(Unit.level == Level.DISTRICT)
        .order_by(Unit.parent_id, Unit.id)
    )
    return [
        DistrictChoice(id_, name, city_id or 0, city_name or "")
        for id_, name, city_id, city_name in rows
        if id_ in with_stations
    ]


def find_unit(unit_id: int) -> Unit | None:
    """The unit with this id, if there is one."""
    return db.session.get(Unit, unit_id)


def public_station(code: str) -> Station | None:
    """The listed station with this code, with its unit and amenities loaded."""
    return db.session.scalar(
        select(Station)
        .where(Station.code == code, listed())
        .options(
            joinedload(Station.unit),
            joinedload(Station.host_type),
            selectinload(Station.amenity_rows),
            selectinload(Station.partners),
            selectinload(Station.label_awards).joinedload(LabelAward.label),
        )
    )


def public_scope(station: Station) -> Scope:
    """Activities at the station that the public may see: scheduled, in a public campaign."""
    return [
        Activity.station_id == station.id,
        Activity.status == ActivityStatus.SCHEDULED,
        in_public_campaign(),
    ]


def station_page(station: Station, now: datetime) -> StationPage:
    """The station's public page: open now, the next public activities, what it has held."""
    scope = public_scope(station)
    past = [*scope, Activity.ends_at < now]
    return StationPage(
        station=station,
        open_now=open_now(station, now),
        coming=upcoming(scope, now, limit=UPCOMING_LIMIT),
        held=count_activities(past),
        figures=totals(past),
    )
