"""Workflows on stations, and the rules a station's fields must meet.

The checks here are the only copy of each rule: the station form and the spreadsheet
import both call them, so a value the form refuses is refused by the import too.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache

from flask_babel import force_locale
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from inclusive_day.audit.summaries import manager_removed
from inclusive_day.auth.models import Role, RoleGrant, User
from inclusive_day.auth.services import grant
from inclusive_day.extensions import db
from inclusive_day.stations.geo import (
    CHINA_LATITUDE,
    CHINA_LONGITUDE,
    CoordSystem,
    Point,
    in_china,
)
from inclusive_day.stations.hours import HoursError, OpeningHours, parse_hours
from inclusive_day.stations.models import Amenity, Station, StationStatus
from inclusive_day.units.models import Unit

CODE_PATTERN = re.compile(r"^[0-9A-Za-z][0-9A-Za-z._-]{0,31}$")
PHONE_PATTERN = re.compile(r"^[0-9+()\- ]{5,32}$")
AMENITY_SEPARATORS = re.compile(r"[,，;；、/|\s]+")


class StationError(ValueError):
    """A station value that breaks a rule; `field` names the value, the message says why."""

    def __init__(self, field: str, message):
        super().__init__(message)
        self.field = field
        self.message = message


def check_code(code: str) -> str:
    """A station code: letters, digits, dot, dash or underscore, at most 32 characters."""
    code = (code or "").strip()
    if not code:
        raise StationError("code", _l("A station code is required."))
    if not CODE_PATTERN.match(code):
        raise StationError(
            "code",
            _l(
                '"%(value)s" is not a station code: use letters, digits, "-", "_" or ".", '
                "at most 32 characters.",
                value=code,
            ),
        )
    return code


def check_location(
    latitude: float | None, longitude: float | None, system: CoordSystem
) -> Point | None:
    """Coordinates in China in any of the three systems, or none at all; never half a pair."""
    if latitude is None and longitude is None:
        return None
    if latitude is None or longitude is None:
        raise StationError("latitude", _l("Give both latitude and longitude, or neither."))
    if not in_china(latitude, longitude):
        raise StationError(
            "latitude",
            _l(
                "%(lat)s, %(lon)s is outside China (latitude %(lat_min)s to %(lat_max)s, "
                "longitude %(lon_min)s to %(lon_max)s): are latitude and longitude swapped?",
                lat=latitude,
                lon=longitude,
                lat_min=CHINA_LATITUDE[0],
                lat_max=CHINA_LATITUDE[1],
                lon_min=CHINA_LONGITUDE[0],
                lon_max=CHINA_LONGITUDE[1],
            ),
        )
    return Point(latitude, longitude)


def check_hours(text: str | None, open_24h: bool = False) -> OpeningHours:
    """Opening hours that parse (see hours.py)."""
    try:
        return parse_hours(text, open_24h)
    except HoursError as error:
        raise StationError("opening_hours", error.args[0]) from None


def check_phone(phone: str | None) -> str:
    """A contact telephone number as written, or nothing."""
    phone = (phone or "").strip()
    if phone and not PHONE_PATTERN.match(phone):
        raise StationError("phone", _l('"%(value)s" is not a telephone number.', value=phone))
    return phone


def parse_amenities(text: str | None) -> list[Amenity]:
    """Amenities from a list written in either language ("饮水、充电", "water, wifi")."""
    names = _amenity_names()
    found: list[Amenity] = []
    for word in filter(None, AMENITY_SEPARATORS.split((text or "").strip())):
        amenity = names.get(word.lower().replace("-", "").replace("_", ""))
        if amenity is None:
            raise StationError("amenities", _l('"%(value)s" is not a known amenity.', value=word))
        if amenity not in found:
            found.append(amenity)
    return found


# Extra spellings seen in station spreadsheets, beside the catalogue's own labels.
AMENITY_ALIASES = {
    Amenity.WATER: ("饮水", "热水", "饮用水", "开水", "drinkingwater"),
    Amenity.CHARGING: ("充电", "手机充电", "charger", "phonecharging"),
    Amenity.MICROWAVE: ("微波炉", "加热"),
    Amenity.FRIDGE: ("冰箱",),
    Amenity.AIR_CONDITIONING: ("空调", "ac", "aircon", "airconditioning"),
    Amenity.TOILET: ("厕所", "卫生间", "洗手间", "restroom", "toilets"),
    Amenity.SEATS: ("座椅", "休息座椅", "桌椅", "seating"),
    Amenity.WIFI: ("wifi", "无线网络", "无线网"),
    Amenity.FIRST_AID: ("药箱", "急救", "医药箱", "应急药箱", "firstaid", "firstaidkit"),
    Amenity.BOOKS: ("图书", "书籍", "书报", "书架", "book"),
}


@cache
def _amenity_names() -> dict[str, Amenity]:
    names: dict[str, Amenity] = {}
    for amenity in Amenity:
        names[amenity.value.replace("_", "")] = amenity
        for alias in AMENITY_ALIASES.get(amenity, ()):
            names[alias.lower()] = amenity
        for locale in ("zh", "en"):
            with force_locale(locale):
                names[str(amenity.label).lower().replace(" ", "").replace("-", "")] = amenity
    return names


@dataclass
class StationFields:
    """Everything a form or a spreadsheet row says about a station, already checked."""

    code: str
    name: str
    unit: Unit
    address: str = ""
    point: Point | None = None
    coord_system: CoordSystem = CoordSystem.WGS84
    hours: OpeningHours = field(default_factory=lambda: OpeningHours(open_24h=True))
    amenities: list[Amenity] = field(default_factory=list)
    partner: str = ""
    services: str = ""
    phone: str = ""
    status: StationStatus = StationStatus.ACTIVE


def apply_fields(station: Station, fields: StationFields) -> Station:
    """Write checked fields onto a station (new or existing)."""
    station.code = fields.code
    station.name = fields.name
    station.unit = fields.unit
    station.address = fields.address
    station.set_location(fields.point, fields.coord_system)
    station.set_hours(fields.hours)
    station.set_amenities(fields.amenities)
    station.partner = fields.partner
    station.services = fields.services
    station.phone = fields.phone
    station.status = fields.status
    return station


def save_station(fields: StationFields, station: Station | None = None) -> Station:
    """Create a station, or update `station`, from checked fields."""
    station = apply_fields(station or Station(), fields)
    db.session.add(station)
    db.session.flush()
    return station


def create_station(
    unit: Unit, code: str, name: str, amenities: list[Amenity] = (), **fields
) -> Station:
    """Register a station under `unit` (the short form the demo and the tests use)."""
    station = Station(unit=unit, code=code, name=name, **fields)
    station.set_amenities(list(amenities))
    db.session.add(station)
    db.session.flush()
    return station


def station_managers(station: Station) -> list:
    """The accounts that manage `station`."""
    return list(
        db.session.scalars(
            select(User)
            .join(RoleGrant, RoleGrant.user_id == User.id)
            .where(RoleGrant.station_id == station.id, RoleGrant.role == Role.STATION_MANAGER)
            .order_by(User.username)
        )
    )


def add_manager(station: Station, username: str):
    """Make an existing, active account a manager of `station` (once)."""
    user = db.session.scalar(select(User).where(User.username == username.strip()))
    if user is None or not user.active:
        raise StationError("username", _l("There is no active account %(name)s.", name=username))
    if user in station_managers(station):
        raise StationError("username", _l("%(name)s already manages this station.", name=username))
    grant(user, Role.STATION_MANAGER, station=station)
    return user


def remove_manager(station: Station, user_id: int) -> None:
    """Take away one account's management of `station`."""
    removed = db.session.execute(
        RoleGrant.__table__.delete().where(
            RoleGrant.station_id == station.id,
            RoleGrant.user_id == user_id,
            RoleGrant.role == Role.STATION_MANAGER,
        )
    ).rowcount
    if removed:
        manager_removed(station, user_id)
    db.session.flush()
