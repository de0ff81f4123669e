"""Workflows on stations, and the rules a station's fields must meet.

The checks here are the only copy of each rule: the station form and the spreadsheet
import both call them, so a value the form refuses is refused by the import too.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import date
from functools import cache

from flask_babel import force_locale
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from inclusive_day.audit.summaries import manager_removed
from inclusive_day.auth.models import Role, RoleGrant, User
from inclusive_day.auth.services import grant
from inclusive_day.extensions import db
from inclusive_day.periods import local_today, zone_of
from inclusive_day.stations.geo import (
    CHINA_LATITUDE,
    CHINA_LONGITUDE,
    CoordSystem,
    Point,
    in_china,
)
from inclusive_day.stations.hours import HoursError, OpeningHours, parse_hours
from inclusive_day.stations.models import (
    OTHER_HOST_TYPE,
    Amenity,
    HostType,
    Label,
    LabelAward,
    Partner,
    Station,
    StationStatus,
)
from inclusive_day.units.models import Unit

CODE_PATTERN = re.compile(r"^[0-9A-Za-z][0-9A-Za-z._-]{0,31}$")
PHONE_PATTERN = re.compile(r"^[0-9+()\- ]{5,32}$")
AMENITY_SEPARATORS = re.compile(r"[,，;；、/|\s]+")
# Between the names of a station's co-building partners (a name may hold spaces).
NAME_SEPARATORS = re.compile(r"[、,，;；\n]+")
MAX_PARTNER_NAME = 120
MAX_REASON = 255
FIRST_AWARD_YEAR = 2000


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


def unit_today(unit: Unit) -> date:
    """Today in the unit's zone: the day a station's lifecycle days are judged against."""
    return local_today(zone_of(unit.timezone))


@dataclass(frozen=True)
class Lifecycle:
    """Where a station is in its life, with the days that go with it."""

    status: StationStatus = StationStatus.ACTIVE
    opened_on: date | None = None
    closed_on: date | None = None
    closure_reason: str = ""

    @classmethod
    def of(cls, station: Station) -> Lifecycle:
        """A station's stored lifecycle."""
        return cls(station.status, station.opened_on, station.closed_on, station.closure_reason)


def check_lifecycle(life: Lifecycle, today: date, before: Lifecycle | None = None) -> Lifecycle:
    """The lifecycle's rules, the only copy of them (form, import, close action):

    - open, suspended and closed stations have an opening day, not after `today`;
    - planned stations and those under construction have neither an opening nor a closing day;
    - a closed station has a closing day, not before its opening day nor after `today`, and a
      reason (the exit mechanism); only a closed station has a closing day or a reason.

    A lifecycle equal to `before` (what is stored) is taken as it is, so that rows entered
    before these rules keep their other fields editable."""
    reason = (life.closure_reason or "").strip()
    life = replace(life, closure_reason=reason if life.status is StationStatus.CLOSED else "")
    if before is not None and life == before:
        return life
    status = life.status
    if status.has_opened:
        if life.opened_on is None:
            raise StationError(
                "opened_on",
                _l(
                    "Give the day the station opened (a %(status)s station has one).",
                    status=status.label,
                ),
            )
        if life.opened_on > today:
            raise StationError(
                "opened_on",
                _l(
                    "The opening day %(day)s is in the future: a station that has not opened "
                    "yet is planned or under construction.",
                    day=life.opened_on.isoformat(),
                ),
            )
    elif life.opened_on is not None:
        raise StationError(
            "opened_on",
            _l(
                "A station that is %(status)s has not opened yet: leave its opening day blank.",
                status=status.label,
            ),
        )
    if status is not StationStatus.CLOSED:
        if life.closed_on is not None:
            raise StationError(
                "closed_on", _l("Only a closed station has a closing day: leave it blank.")
            )
        return life
    if life.closed_on is None:
        raise StationError("closed_on", _l("Give the day the station closed."))
    if life.closed_on < life.opened_on:
        raise StationError(
            "closed_on",
            _l(
                "The closing day cannot be before the opening day (%(day)s).",
                day=life.opened_on.isoformat(),
            ),
        )
    if life.closed_on > today:
        raise StationError("closed_on", _l("The closing day cannot be in the future."))
    if not reason:
        raise StationError("closure_reason", _l("Say why the station closed."))
    if len(reason) > MAX_REASON:
        raise StationError("closure_reason", _l("At most %(n)d characters.", n=MAX_REASON))
    return life


def split_names(text: str | None) -> list[str]:
    """Names from a list written with "、", commas or semicolons, each once, in order."""
    names: list[str] = []
    for name in NAME_SEPARATORS.split(text or ""):
        name = name.strip()
        if name and name not in names:
            names.append(name)
    return names


def partner_choice(found: Iterable[tuple[int, str, int]], unit_path: str) -> dict[str, int]:
    """Partner ids by name that a station of the unit at `unit_path` may name: those kept by
    that unit or a unit above it, the nearest keeper winning when two share a name.
    `found` holds (partner id, name, keeping unit id) rows."""
    depth = {int(part): i for i, part in enumerate(unit_path.strip("/").split("/")) if part}
    chosen: dict[str, tuple[int, int]] = {}
    for partner_id, name, unit_id in found:
        level = depth.get(unit_id)
        if level is not None and (name not in chosen or level > chosen[name][0]):
            chosen[name] = (level, partner_id)
    return {name: partner_id for name, (_level, partner_id) in chosen.items()}


def unknown_partner(name: str, unit_name: str) -> StationError:
    """The error for a partner name that the station's unit and those above it do not keep."""
    return StationError(
        "partners",
        _l(
            'There is no co-building partner "%(name)s" kept by %(unit)s or a unit above it.',
            name=name,
            unit=unit_name,
        ),
    )


def find_partners(unit: Unit, text: str | None) -> list[Partner]:
    """The partners a station of `unit` names ("中国石化、中国电信"): each must be kept by
    `unit` or a unit above it; an unknown name is a StationError."""
    names = split_names(text)
    if not names:
        return []
    for name in names:
        if len(name) > MAX_PARTNER_NAME:
            raise StationError("partners", _l("At most %(n)d characters.", n=MAX_PARTNER_NAME))
    rows = db.session.execute(
        select(Partner.id, Partner.name, Partner.unit_id).where(
            Partner.unit_id.in_(unit.ancestor_ids), Partner.name.in_(names)
        )
    ).all()
    ids = partner_choice(rows, unit.path)
    for name in names:
        if name not in ids:
            raise unknown_partner(name, unit.name)
    partners = {
        p.id: p for p in db.session.scalars(select(Partner).where(Partner.id.in_(ids.values())))
    }
    return [partners[ids[name]] for name in names]


def spelling(text: str) -> str:
    """How a catalogue value is looked up: case, spaces, dashes and quotes do not matter."""
    return re.sub(r"[\s_\-\"'“”‘’]", "", text or "").lower()


def catalogue_spellings(model) -> dict[str, int]:
    """Ids of a catalogue's values (host types or labels) by every spelling of them: the
    code and the name in either language."""
    names: dict[str, int] = {}
    for value_id, code, name_zh, name_en in db.session.execute(
        select(model.id, model.code, model.name_zh, model.name_en)
    ):
        for text in (code, name_zh, name_en):
            names.setdefault(spelling(text), value_id)
    return names


def unknown_host_type(text: str) -> StationError:
    """The error for a host type that the catalogue does not hold."""
    return StationError(
        "host_type", _l('"%(value)s" is not a host type in the catalogue.', value=text)
    )


def unknown_label(text: str) -> StationError:
    """The error for a label that the catalogue does not hold."""
    return StationError("labels", _l('"%(value)s" is not a label in the catalogue.', value=text))


def check_award_year(year: int | None, today: date) -> int:
    """A label's year: from 2000 to this year."""
    if year is None or not FIRST_AWARD_YEAR <= year <= today.year:
        raise StationError(
            "year",
            _l(
                "The year a label was awarded is from %(first)d to %(last)d.",
                first=FIRST_AWARD_YEAR,
                last=today.year,
            ),
        )
    return year


def check_awarding_unit(station_unit: Unit, awarded_by: Unit) -> Unit:
    """A label is awarded by the station's own unit or one above it, never one below."""
    if awarded_by.id not in station_unit.ancestor_ids:
        raise StationError(
            "awarded_by",
            _l(
                "%(unit)s cannot award a label to a station of %(own)s: a label is awarded by "
                "the station's own unit or a unit above it.",
                unit=awarded_by.name,
                own=station_unit.name,
            ),
        )
    return awarded_by


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
    partners: list[Partner] = field(default_factory=list)
    host_type: HostType | None = None  # None: "other" for a new station, kept for one stored
    services: str = ""
    phone: str = ""
    lifecycle: Lifecycle = field(default_factory=Lifecycle)


def apply_fields(station: Station, fields: StationFields) -> Station:
    """Write checked fields onto a station (new or existing)."""
    station.code = fields.code
    station.name = fields.name
    station.unit = fields.unit
    station.address = fields.address
    station.set_location(fields.point, fields.coord_system)
    station.set_hours(fields.hours)
    station.set_amenities(fields.amenities)
    station.set_partners(fields.partners)
    if fields.host_type is not None:
        station.host_type = fields.host_type
    station.services = fields.services
    station.phone = fields.phone
    _set_lifecycle(station, fields.lifecycle)
    return station


def _set_lifecycle(station: Station, life: Lifecycle) -> None:
    station.status = life.status
    station.opened_on = life.opened_on
    station.closed_on = life.closed_on
    station.closure_reason = life.closure_reason


def save_station(fields: StationFields, station: Station | None = None) -> Station:
    """Create a station, or update `station`, from checked fields; the lifecycle's rules are
    checked here (StationError), in the unit's zone."""
    before = Lifecycle.of(station) if station is not None else None
    fields.lifecycle = check_lifecycle(fields.lifecycle, unit_today(fields.unit), before)
    if station is None and fields.host_type is None:
        fields.host_type = db.session.scalar(
            select(HostType).where(HostType.code == OTHER_HOST_TYPE)
        )
    station = apply_fields(station or Station(), fields)
    db.session.add(station)
    db.session.flush()
    return station


def close_station(station: Station, day: date | None, reason: str) -> Station:
    """Close a station on `day` for `reason` (the exit mechanism), by the lifecycle's rules."""
    life = Lifecycle(StationStatus.CLOSED, station.opened_on, day, reason)
    _set_lifecycle(station, check_lifecycle(life, unit_today(station.unit), Lifecycle.of(station)))
    db.session.flush()
    return station


def create_station(
    unit: Unit,
    code: str,
    name: str,
    amenities: list[Amenity] = (),
    partners: list[Partner] = (),
    **fields,
) -> Station:
    """Register a station under `unit` (the short form the demo and the tests use). A closed
    one given no closing day closed on its opening day."""
    if fields.get("status") is StationStatus.CLOSED and fields.get("closed_on") is None:
        fields["opened_on"] = fields.get("opened_on") or unit_today(unit)
        fields["closed_on"] = fields["opened_on"]
    station = Station(unit=unit, code=code, name=name, **fields)
    db.session.add(station)
    station.set_amenities(list(amenities))
    station.set_partners(list(partners))
    db.session.flush()
    return station


def award_label(station: Station, label: Label, year: int | None, awarded_by: Unit) -> LabelAward:
    """Award `label` to `station` in `year` by `awarded_by` (its unit or a unit above it)."""
    check_awarding_unit(station.unit, awarded_by)
    check_award_year(year, unit_today(station.unit))
    if any(award.label_id == label.id for award in station.label_awards):
        raise StationError(
            "label",
            _l("The station already holds %(label)s: withdraw it first.", label=label.name),
        )
    award = LabelAward(label=label, year=year, awarded_by=awarded_by)
    station.label_awards.append(award)
    db.session.flush()
    return award


def withdraw_label(station: Station, award_id: int) -> LabelAward | None:
    """Take one label away from `station`; None when it does not hold that award (any more)."""
    award = next((a for a in station.label_awards if a.id == award_id), None)
    if award is not None:
        station.label_awards.remove(award)
        db.session.flush()
    return award


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
