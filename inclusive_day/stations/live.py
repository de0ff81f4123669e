"""The live board: every station of a scope as it is now, and the counts over them.

Which stations: those open today by their lifecycle (opened and not closed; suspended ones
too, shown as suspended). Planned stations, stations being built and closed stations are not
on the board: they have no doors to watch.

A station's state now, one of:
duty       open now by its hours, someone on duty
absent     open now, expects someone on duty (it has opening hours, it is not a 24-hour
           station), and no one is: the rule staffing.queries counts duty attendance by
open       open now and expects no one (a 24-hour station, often unattended)
closed     closed now by its opening hours (whoever is still signed on is shown all the same)
suspended  suspended: closed whatever its hours say
unknown    no readable opening hours: neither open nor closed can be said

Beside it: the names of those on duty now, the visitors today, the time of the last door scan
in the silence window, and whether the station is silent (attendance.traffic says when).

One read per figure, each a grouped query over a SELECT of the scope's ids, so the board costs
the same number of statements for 3 stations or 11,000; the per-station work in Python is a
dictionary look-up, and each distinct spelling of opening hours is parsed once.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from flask_babel import lazy_gettext as _l
from sqlalchemy import ColumnElement, select

from inclusive_day.attendance.traffic import (
    NO_TRAFFIC,
    Traffic,
    last_visit_by_station,
    silence_start,
    silent_among,
    traffic_by_station,
    traffic_of,
)
from inclusive_day.enums import LabelledEnum
from inclusive_day.extensions import db
from inclusive_day.periods import DEFAULT_ZONE, zone_of
from inclusive_day.staffing.queries import on_duty_by_station
from inclusive_day.stations.hours import HoursError, OpeningHours, parse_hours
from inclusive_day.stations.models import Station, StationStatus
from inclusive_day.units.models import Unit

MIN_SILENT_DAYS, MAX_SILENT_DAYS = 1, 365


class LiveState(LabelledEnum):
    """What a station is doing now, as the board colours it."""

    DUTY = "duty"
    ABSENT = "absent"
    OPEN = "open"
    CLOSED = "closed"
    SUSPENDED = "suspended"
    UNKNOWN = "unknown"

    @classmethod
    def _labels(cls) -> dict:
        return {
            cls.DUTY: _l("Open, on duty"),
            cls.ABSENT: _l("Open, no one on duty"),
            cls.OPEN: _l("Open, unattended"),
            cls.CLOSED: _l("Closed now"),
            cls.SUSPENDED: _l("Suspended"),
            cls.UNKNOWN: _l("Hours not given"),
        }

    @property
    def is_open(self) -> bool:
        """True for the states in which the station is open now."""
        return self in OPEN_STATES


OPEN_STATES = frozenset({LiveState.DUTY, LiveState.ABSENT, LiveState.OPEN})


class Show(LabelledEnum):
    """The board's filters: every station, or those open now, with someone on duty, open
    without the duty they expect, or silent."""

    ALL = "all"
    OPEN = "open"
    DUTY = "duty"
    ABSENT = "absent"
    SILENT = "silent"

    @classmethod
    def _labels(cls) -> dict:
        return {
            cls.ALL: _l("All"),
            cls.OPEN: _l("Open now"),
            cls.DUTY: _l("On duty"),
            cls.ABSENT: _l("No one on duty"),
            cls.SILENT: _l("Silent"),
        }


@dataclass(frozen=True, slots=True)
class LiveStation:
    """One station on the board, as it is now."""

    id: int
    code: str
    name: str
    unit_name: str
    latitude: float | None
    longitude: float | None
    open_24h: bool
    hours: str
    state: LiveState
    on_duty: tuple[str, ...]
    visitors: int
    last_scan: datetime | None
    silent: bool
    zone: ZoneInfo

    def shown_by(self, show: Show) -> bool:
        """True when the filter `show` keeps this station."""
        if show is Show.OPEN:
            return self.state.is_open
        if show is Show.DUTY:
            return bool(self.on_duty)
        if show is Show.ABSENT:
            return self.state is LiveState.ABSENT
        if show is Show.SILENT:
            return self.silent
        return True


@dataclass(frozen=True)
class LiveCounts:
    """The counts at the top of the board."""

    stations: int = 0
    open_now: int = 0
    on_duty: int = 0
    absent: int = 0
    visits_today: int = 0
    visitors_today: int = 0
    silent: int = 0

    def of(self, show: Show) -> int:
        """How many stations the filter `show` keeps."""
        return {
            Show.ALL: self.stations,
            Show.OPEN: self.open_now,
            Show.DUTY: self.on_duty,
            Show.ABSENT: self.absent,
            Show.SILENT: self.silent,
        }[show]


@dataclass(frozen=True)
class LiveBoard:
    """The board: its day, its silence window, the stations (by code) and their counts."""

    now: datetime
    today: date
    days: int
    silent_since: date
    stations: list[LiveStation]
    counts: LiveCounts

    def shown(self, show: Show) -> list[LiveStation]:
        """The stations that the filter `show` keeps, in the board's order."""
        if show is Show.ALL:
            return self.stations
        return [station for station in self.stations if station.shown_by(show)]


def expects_duty(open_24h: bool, opening_hours: str) -> bool:
    """True for a station that expects someone on duty in its hours: with opening hours, not
    open round the clock (the rule of staffing.queries)."""
    return not open_24h and opening_hours != ""


def state_now(
    status: StationStatus,
    hours: OpeningHours | None,
    moment: time,
    expects: bool,
    staffed: bool,
) -> LiveState:
    """A station's state at local time `moment`, from its lifecycle status, its hours (None
    when unreadable), whether it expects duty and whether someone is on duty."""
    if status is StationStatus.SUSPENDED:
        return LiveState.SUSPENDED
    if hours is None:
        return LiveState.UNKNOWN
    if not hours.is_open_at(moment):
        return LiveState.CLOSED
    if staffed:
        return LiveState.DUTY
    return LiveState.ABSENT if expects else LiveState.OPEN


def _hours(open_24h: bool, text: str) -> OpeningHours | None:
    try:
        return parse_hours(text, open_24h)
    except HoursError:
        return None


def live_board(
    scope: Sequence[ColumnElement[bool]],
    now: datetime,
    days: int,
    zone: ZoneInfo = DEFAULT_ZONE,
) -> LiveBoard:
    """The board of the stations that the conditions `scope` on Station select, at the UTC
    instant `now`: "today" is `now`'s day in `zone` (the board's unit's), each station's
    hours are read at `now` in its own unit's zone, and a station is silent after `days`
    days without a door visit. A constant number of statements, whatever the stations."""
    today = now.astimezone(zone).date()
    since = silence_start(today, days)
    ids = select(Station.id).where(*scope, Station.open_on(today))
    rows = db.session.execute(
        select(
            Station.id,
            Station.code,
            Station.name,
            Unit.name,
            Unit.timezone,
            Station.latitude,
            Station.longitude,
            Station.open_24h,
            Station.opening_hours,
            Station.status,
        )
        .join(Unit, Unit.id == Station.unit_id)
        .where(*scope, Station.open_on(today))
        .order_by(Station.code)
    ).all()
    today_traffic = traffic_by_station(ids, today, today)
    total_today = traffic_of(ids, today, today)
    last_scans = last_visit_by_station(ids, since)
    on_duty = on_duty_by_station(ids)
    silent = set(db.session.scalars(silent_among(ids, today, days)))

    zones: dict[str | None, tuple[ZoneInfo, time]] = {}
    parsed: dict[tuple[bool, str], OpeningHours | None] = {}
    stations = []
    for sid, code, name, unit_name, tz, lat, lon, open_24h, hours_text, status in rows:
        if tz not in zones:
            local = zone_of(tz)
            zones[tz] = (local, now.astimezone(local).time())
        local, moment = zones[tz]
        key = (open_24h, hours_text)
        if key not in parsed:
            parsed[key] = _hours(open_24h, hours_text)
        hours = parsed[key]
        names = tuple(on_duty.get(sid, ()))
        state = state_now(status, hours, moment, expects_duty(open_24h, hours_text), bool(names))
        stations.append(
            LiveStation(
                sid,
                code,
                name,
                unit_name,
                lat,
                lon,
                open_24h,
                hours.text if hours is not None else hours_text,
                state,
                names,
                today_traffic.get(sid, NO_TRAFFIC).visitors,
                last_scans.get(sid),
                sid in silent,
                local,
            )
        )
    return LiveBoard(now, today, days, since, stations, _counts(stations, total_today))


def _counts(stations: list[LiveStation], today: Traffic) -> LiveCounts:
    """The counts over the board's stations, with today's door traffic across them (visitors
    distinct across stations)."""
    open_now = on_duty = absent = silent = 0
    for station in stations:
        open_now += station.state.is_open
        on_duty += bool(station.on_duty)
        absent += station.state is LiveState.ABSENT
        silent += station.silent
    return LiveCounts(
        stations=len(stations),
        open_now=open_now,
        on_duty=on_duty,
        absent=absent,
        visits_today=today.visits,
        visitors_today=today.visitors,
        silent=silent,
    )
