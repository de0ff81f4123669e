"""The live board of a subtree's stations: counts, a table with filters and a map, refreshed
by static/js/live_board.js from live.json; the table is rendered here, so it works without
JavaScript."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, replace
from datetime import date, datetime
from operator import itemgetter

from flask import Response, current_app, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select

from inclusive_day.access.rule import Action, get_or_404, visible
from inclusive_day.database import utcnow
from inclusive_day.directory.views import LEAFLET_VERSION, tile_settings
from inclusive_day.extensions import db
from inclusive_day.json_errors import error_response
from inclusive_day.periods import DEFAULT_ZONE, zone_of
from inclusive_day.stations import bp
from inclusive_day.stations.geo import CoordSystem, Point, from_wgs84
from inclusive_day.stations.live import (
    MAX_SILENT_DAYS,
    MIN_SILENT_DAYS,
    LiveBoard,
    LiveState,
    LiveStation,
    Show,
    StationNow,
    live_board,
    station_details,
)
from inclusive_day.stations.models import Station
from inclusive_day.units.models import Unit

PER_PAGE = 100
REFRESH_SECONDS = 30
COORD_SCALE = 100_000  # markers' coordinates in 1/100,000 degree
# The fields of a board's row that its marker shows.
MARKER_FIELDS = ("id", "name", "latitude", "longitude", "state", "silent")
marker_fields = itemgetter(*(LiveStation._fields.index(f) for f in MARKER_FIELDS))


@dataclass(frozen=True)
class RowsPage:
    """One page of rows already in memory, shaped as the pager macro reads it."""

    items: list
    page: int
    pages: int
    total: int

    @property
    def has_prev(self) -> bool:
        """True when a page comes before this one."""
        return self.page > 1

    @property
    def has_next(self) -> bool:
        """True when a page comes after this one."""
        return self.page < self.pages

    @property
    def prev_num(self) -> int:
        """The previous page's number."""
        return self.page - 1

    @property
    def next_num(self) -> int:
        """The next page's number."""
        return self.page + 1


def rows_page(shown: list[tuple], number: int, per_page: int = PER_PAGE) -> RowsPage:
    """Page `number` of a board's `shown` rows (the last page when `number` is past it), its
    items made LiveStations."""
    pages = max(math.ceil(len(shown) / per_page), 1)
    number = min(max(number, 1), pages)
    start = (number - 1) * per_page
    items = [LiveStation._make(row) for row in shown[start : start + per_page]]
    return RowsPage(items, number, pages, len(shown))


@dataclass(frozen=True)
class Asked:
    """What a request asks of the board, checked: the unit, the silence window, the filter and
    the page, with a message per value that could not be used."""

    unit: Unit | None
    days: int
    show: Show
    page: int
    problems: dict[str, str]

    def args(self, **changes) -> dict:
        """The query arguments that ask for this board again, with `changes` (None leaves an
        argument out), for links and live.json."""
        args = {
            "unit": self.unit.id if self.unit else None,
            "days": self.days,
            "show": self.show.value,
            "page": self.page,
        } | changes
        return {name: value for name, value in args.items() if value is not None}


def _days(problems: dict[str, str]) -> int:
    """The silence window asked for, else SILENT_STATION_DAYS with a message saying why."""
    default = min(max(current_app.config["SILENT_STATION_DAYS"], MIN_SILENT_DAYS), MAX_SILENT_DAYS)
    raw = request.args.get("days", "").strip()
    if not raw:
        return default
    days = int(raw) if raw.isdigit() and len(raw) <= 3 else None
    if days is None or not MIN_SILENT_DAYS <= days <= MAX_SILENT_DAYS:
        problems["days"] = _(
            '"%(value)s" is not a number of days from %(min)d to %(max)d: the board counts '
            "stations as silent after %(days)d days without a door visit.",
            value=raw[:12],
            min=MIN_SILENT_DAYS,
            max=MAX_SILENT_DAYS,
            days=default,
        )
        return default
    return days


def _show(problems: dict[str, str]) -> Show:
    """The filter asked for, else every station with a message saying why."""
    raw = request.args.get("show", "").strip()
    if not raw:
        return Show.ALL
    try:
        return Show(raw)
    except ValueError:
        problems["show"] = _(
            '"%(value)s" is not one of the board\'s filters: every station is shown.',
            value=raw[:20],
        )
        return Show.ALL


def _asked(unit: Unit | None) -> Asked:
    problems: dict[str, str] = {}
    days = _days(problems)
    show = _show(problems)
    return Asked(unit, days, show, request.args.get("page", 1, type=int), problems)


def _zone(unit: Unit | None):
    """The board's zone: its unit's, else China Standard Time."""
    return zone_of(unit.timezone) if unit is not None else DEFAULT_ZONE


def _board(unit: Unit | None, days: int) -> LiveBoard:
    """The board of the stations the user may see: under `unit` when one is given (which the
    user may see, so every station under it too: a unit's grant covers its subtree)."""
    if unit is not None:
        scope = [Station.under(unit.path)]
    else:
        scope = [visible(current_user, Action.VIEW, Station)]
    return live_board(scope, utcnow(), days, _zone(unit))


def scan_text(at: datetime | None, station: LiveStation, today: date) -> str:
    """When the station's last door scan was: the time today, else the day and time."""
    if at is None:
        return ""
    local = at.astimezone(zone_of(station.timezone))
    return f"{local:%H:%M}" if local.date() == today else f"{local:%m-%d %H:%M}"


def texts() -> dict:
    """The words the rows repeat, translated once per request."""
    return {
        "states": {state: state.label for state in LiveState},
        "all_day": _("open 24 h, unattended"),
    }


def rows(board: LiveBoard, stations: list[LiveStation]) -> list[dict]:
    """The table's rows for `stations` (a page of the board), as the template and live.json
    give them, with their details (three statements whatever the rows)."""
    words = texts()
    details = station_details(board, [station.id for station in stations])
    return [row(station, details[station.id], board.today, words) for station in stations]


def row(station: LiveStation, now: StationNow, today: date, words: dict) -> dict:
    """A station's row of the table."""
    return {
        "id": station.id,
        "code": station.code,
        "name": station.name,
        "unit": station.unit_name,
        "state": station.state,
        "state_label": words["states"][station.state],
        "hours": words["all_day"] if station.open_24h else station.hours,
        "on_duty": list(now.on_duty),
        "visitors": now.visitors,
        "last_scan": scan_text(now.last_scan, station, today),
        "silent": station.silent,
    }


def markers(board: LiveBoard, system: CoordSystem) -> list[tuple]:
    """Every located station as (id, latitude, longitude, state, silent (0/1), name), the
    point in the tile server's system and in units of 1/COORD_SCALE degree (about a metre):
    whole numbers are written several times faster than floats, for a province's 11,000."""
    found = []
    for row in board.rows:
        sid, name, lat, lon, state, silent = marker_fields(row)
        if lat is None or lon is None:
            continue
        if system is not CoordSystem.WGS84:
            shown = from_wgs84(Point(lat, lon), system)
            lat, lon = shown.latitude, shown.longitude
        found.append(
            (sid, round(lat * COORD_SCALE), round(lon * COORD_SCALE), state, int(silent), name)
        )
    return found


def counts(board: LiveBoard) -> dict:
    """The counts at the top of the board, by the filter each one is (and today's traffic)."""
    c = board.counts
    return {
        Show.ALL.value: c.stations,
        Show.OPEN.value: c.open_now,
        Show.DUTY.value: c.on_duty,
        Show.ABSENT.value: c.absent,
        Show.SILENT.value: c.silent,
        "visits_today": c.visits_today,
        "visitors_today": c.visitors_today,
    }


@bp.get("/live")
@login_required
def live():
    """The live board of a subtree (or of every station the user may see): counts, a filtered
    table and a map coloured by each station's state now."""
    unit = None
    if "unit" in request.args:
        unit = get_or_404(current_user, Action.VIEW, Unit, request.args.get("unit", type=int))
    asked = _asked(unit)
    board = _board(unit, asked.days)
    page = rows_page(board.shown(asked.show), asked.page)
    asked = replace(asked, page=page.page)
    tiles = tile_settings()
    tiles.pop("system")
    config = {
        "url": url_for("stations.live_json", **asked.args()),
        "every": REFRESH_SECONDS * 1000,
        "stationUrl": url_for("stations.show", station_id=0).removesuffix("0"),
        "tiles": tiles,
    }
    return render_template(
        "stations/live.html",
        unit=unit,
        board=board,
        asked=asked,
        page=page,
        rows=rows(board, page.items),
        counts=counts(board),
        filters=[(show, board.counts.of(show)) for show in Show],
        states=list(LiveState),
        config=config,
        leaflet_version=LEAFLET_VERSION,
        updated=board.now.astimezone(_zone(unit)),
    ), 400 if asked.problems else 200


@bp.get("/live.json")
def live_json():
    """The board as JSON for its refreshing script: the counts, the rows of the page asked
    for, and every located station as a marker."""
    if not current_user.is_authenticated:
        return error_response(401, _("Please sign in again."))
    unit = None
    if "unit" in request.args:
        unit = db.session.scalar(
            select(Unit).where(
                Unit.id == request.args.get("unit", type=int),
                visible(current_user, Action.VIEW, Unit),
            )
        )
        if unit is None:
            return error_response(404)
    asked = _asked(unit)
    if asked.problems:
        field, message = next(iter(asked.problems.items()))
        return error_response(400, message, field=field)
    board = _board(unit, asked.days)
    page = rows_page(board.shown(asked.show), asked.page)
    updated = board.now.astimezone(_zone(unit))
    body = {
        "unit": {"id": unit.id, "name": unit.name} if unit else None,
        "updated": updated.isoformat(timespec="seconds"),
        "updated_text": f"{updated:%H:%M:%S}",
        "today": board.today.isoformat(),
        "days": board.days,
        "show": asked.show.value,
        "counts": counts(board),
        "page": page.page,
        "pages": page.pages,
        "matching": page.total,
        "rows": rows(board, page.items),
        "coord_scale": COORD_SCALE,
        "markers": markers(board, tile_settings()["system"]),
    }
    # ensure_ascii off: a province's Chinese names would otherwise take six bytes a character.
    return Response(
        json.dumps(body, ensure_ascii=False, separators=(",", ":")),
        mimetype="application/json",
        headers={"Cache-Control": "no-store"},
    )
