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

and whether it is silent (attendance.traffic says when). For the rows a page shows, the
details: the names of those on duty, the visitors today and the last door scan in the silence
window.

The board is one statement for every station of the scope (its state's inputs, whether
someone is on duty and whether it is silent, as columns), one for their units and one for
today's traffic; the details are three more for the shown rows only. So a province of 11,000
stations costs the same number of statements as three stations, the per-station work in
Python is a few dictionary look-ups, and each spelling of opening hours is read once per zone.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import NamedTuple
from zoneinfo import ZoneInfo

from flask_babel import lazy_gettext as _l
from sqlalchemy import ColumnElement, String, select, type_coerce

from inclusive_day.attendance.traffic import (
    NO_TRAFFIC,
    Traffic,
    is_silent,
    last_visit_by_station,
    silence_start,
    traffic_by_station,
    traffic_of,
)
from inclusive_day.enums import LabelledEnum
from inclusive_day.extensions import db
from inclusive_day.periods import DEFAULT_ZONE, zone_of
from inclusive_day.staffing.queries import on_duty_by_station, on_duty_now
from inclusive_day.stations.hours import HoursError, parse_hours
from inclusive_day.stations.models import Station, StationStatus
from inclusive_day.units.models import Unit

MIN_SILENT_DAYS, MAX_SILENT_DAYS = 1, 365
# Rows read at a time: few enough that the garbage collector seldom finds a batch alive and
# carries it into its oldest generation, which would bring on full collections (each a tenth
# of a second in a worker) every few renders of a province.
BATCH = 200


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


class LiveStation(NamedTuple):
    """One station on the board, as it is now (the state as its LiveState's value).

    The board keeps its stations as plain tuples of these fields, and pages make LiveStations
    of the rows they show: a province has 11,000 stations, and the garbage collector drops
    plain tuples of plain values from its bookkeeping at once, where it would carry 11,000
    objects per render into its oldest generation (a named tuple, a dataclass) and make the
    next full collection take a tenth of a second."""

    id: int
    code: str
    name: str
    unit_name: str
    latitude: float | None
    longitude: float | None
    open_24h: bool
    hours: str
    state: str
    staffed: bool
    silent: bool
    timezone: str | None

    @property
    def is_open(self) -> bool:
        """True when the station is open now."""
        return self.state in OPEN_STATES

    def shown_by(self, show: Show) -> bool:
        """True when the filter `show` keeps this station."""
        return keeps(show, self)


# Where the fields the filters and counts read sit in a board's plain rows.
STATE, STAFFED, SILENT = (LiveStation._fields.index(f) for f in ("state", "staffed", "silent"))


def keeps(show: Show, row: tuple) -> bool:
    """True when the filter `show` keeps the station of `row` (a LiveStation, or the board's
    plain tuple of its fields)."""
    if show is Show.OPEN:
        return row[STATE] in OPEN_STATES
    if show is Show.DUTY:
        return row[STAFFED]
    if show is Show.ABSENT:
        return row[STATE] == LiveState.ABSENT
    if show is Show.SILENT:
        return row[SILENT]
    return True


@dataclass(frozen=True)
class StationNow:
    """What a shown row adds: who is on duty, the visitors today, the last door scan."""

    on_duty: tuple[str, ...] = ()
    visitors: int = 0
    last_scan: datetime | None = None


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
    """The board: its moment, day and silence window, its stations (by code) as plain tuples
    of LiveStation's fields, and their counts."""

    now: datetime
    today: date
    days: int
    silent_since: date
    rows: list[tuple]
    counts: LiveCounts

    @property
    def stations(self) -> list[LiveStation]:
        """Every station as a LiveStation: for a small board; a page makes its own rows'."""
        return [LiveStation._make(row) for row in self.rows]

    def shown(self, show: Show) -> list[tuple]:
        """The rows that the filter `show` keeps, in the board's order."""
        if show is Show.ALL:
            return self.rows
        return [row for row in self.rows if keeps(show, row)]


def expects_duty(open_24h: bool, opening_hours: str) -> bool:
    """True for a station that expects someone on duty in its hours: with opening hours, not
    open round the clock (the rule of staffing.queries)."""
    return not open_24h and opening_hours != ""


def _reading(open_24h: bool, text: str, now: datetime, zone: ZoneInfo) -> tuple:
    """Opening hours as the board shows them, whether they are open at `now` in `zone` (None
    when they cannot be read), and whether they expect someone on duty."""
    expects = expects_duty(open_24h, text)
    try:
        hours = parse_hours(text, open_24h)
    except HoursError:
        return text, None, expects
    return hours.text, hours.is_open_at(now.astimezone(zone).time()), expects


def state_now(status: str, open_now: bool | None, expects: bool, staffed: bool) -> LiveState:
    """A station's state from its lifecycle status, whether its hours are open now (None when
    unreadable), whether it expects duty and whether someone is on duty."""
    if status == StationStatus.SUSPENDED:
        return LiveState.SUSPENDED
    if open_now is None:
        return LiveState.UNKNOWN
    if not open_now:
        return LiveState.CLOSED
    if staffed:
        return LiveState.DUTY
    return LiveState.ABSENT if expects else LiveState.OPEN


def live_board(
    scope: Sequence[ColumnElement[bool]],
    now: datetime,
    days: int,
    zone: ZoneInfo = DEFAULT_ZONE,
) -> LiveBoard:
    """The board of the stations that the conditions `scope` on Station select, at the UTC
    instant `now`: "today" is `now`'s day in `zone` (the board's unit's), each station's
    hours are read at `now` in its own unit's zone, and a station is silent after `days`
    days without a door visit. Three statements, whatever the number of stations."""
    today = now.astimezone(zone).date()
    on_board = [*scope, Station.open_on(today)]
    ids = select(Station.id).where(*on_board)
    # The units are read apart, not joined to each of a province's 11,000 rows.
    units = {
        unit_id: (name, tz, zone_of(tz))
        for unit_id, name, tz in db.session.execute(
            select(Unit.id, Unit.name, Unit.timezone).where(
                Unit.id.in_(select(Station.unit_id).where(*on_board))
            )
        )
    }
    result = db.session.connection().execute(
        select(
            Station.id,
            Station.code,
            Station.name,
            Station.unit_id,
            Station.latitude,
            Station.longitude,
            Station.open_24h,
            Station.opening_hours,
            type_coerce(Station.status, String),
            on_duty_now(),
            is_silent(today, days),
        )
        .where(*on_board)
        .order_by(Station.code)
    )
    readings: dict[tuple, tuple] = {}
    states: dict[tuple, str] = {}
    rows: list[tuple] = []
    # Core rows a batch at a time (see BATCH), the status as its stored text: a province's
    # rows skip the ORM's row handling and the enum's conversion.
    for batch in result.partitions(BATCH):
        for sid, code, name, unit_id, lat, lon, open_24h, text, status, staffed, silent in batch:
            # A unit made between the two reads is not in `units`: its station shows no unit name.
            unit_name, tz, local = units.get(unit_id) or ("", None, DEFAULT_ZONE)
            key = (open_24h, text, tz)
            reading = readings.get(key)
            if reading is None:
                reading = readings[key] = _reading(open_24h, text, now, local)
            hours, open_now, expects = reading
            staffed, silent = bool(staffed), bool(silent)
            inputs = (status, open_now, expects, staffed)
            state = states.get(inputs)
            if state is None:
                state = states[inputs] = state_now(*inputs).value
            # LiveStation's fields, as a plain tuple.
            rows.append(
                (sid, code, name, unit_name, lat, lon, open_24h, hours, state, staffed, silent, tz)
            )
    counts = _counts(rows, traffic_of(ids, today, today))
    return LiveBoard(now, today, days, silence_start(today, days), rows, counts)


def _counts(rows: list[tuple], today: Traffic) -> LiveCounts:
    """The counts over the board's rows, with today's door traffic across them (visitors
    distinct across stations)."""
    open_now = on_duty = absent = silent = 0
    for row in rows:
        state = row[STATE]
        open_now += state in OPEN_STATES
        on_duty += row[STAFFED]
        absent += state == LiveState.ABSENT
        silent += row[SILENT]
    return LiveCounts(
        stations=len(rows),
        open_now=open_now,
        on_duty=on_duty,
        absent=absent,
        visits_today=today.visits,
        visitors_today=today.visitors,
        silent=silent,
    )


def station_details(board: LiveBoard, station_ids: list[int]) -> dict[int, StationNow]:
    """For the shown rows' stations: who is on duty now, the visitors today and the last door
    scan since the silence window began. Three statements, whatever the rows."""
    ids = list(station_ids)
    traffic = traffic_by_station(ids, board.today, board.today)
    last_scans = last_visit_by_station(ids, board.silent_since)
    on_duty = on_duty_by_station(ids)
    return {
        sid: StationNow(
            tuple(on_duty.get(sid, ())),
            traffic.get(sid, NO_TRAFFIC).visitors,
            last_scans.get(sid),
        )
        for sid in ids
    }
