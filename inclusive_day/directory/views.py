"""Public directory pages (no login): search, nearest first, map, station pages, short links."""

from __future__ import annotations

from datetime import datetime
from urllib.parse import urlencode

import xstatic.pkg.leaflet as leaflet
from flask import (
    Response,
    current_app,
    redirect,
    render_template,
    request,
    send_from_directory,
    url_for,
)
from flask_babel import format_decimal
from flask_babel import gettext as _

from inclusive_day.assets import keep_for_a_year
from inclusive_day.attendance.feedback import public_feedback
from inclusive_day.database import utcnow
from inclusive_day.directory import bp
from inclusive_day.directory.forms import DirectorySearchForm
from inclusive_day.directory.mapfiles import (
    CSV_MIMETYPE,
    GEOJSON_MIMETYPE,
    KML_MIMETYPE,
    MapStation,
    placed,
    to_bulk_csv,
    to_geojson,
    to_kml,
)
from inclusive_day.directory.queries import (
    MAP_PER_PAGE,
    PER_PAGE,
    Listing,
    district_choices,
    every_match,
    listed,
    listings,
    public_station,
    search,
)
from inclusive_day.directory.queries import (
    station_page as load_station_page,
)
from inclusive_day.i18n import period_text
from inclusive_day.periods import zone_of
from inclusive_day.shelf.queries import shelf_at
from inclusive_day.spreadsheets import stamp
from inclusive_day.stations.geo import CoordSystem, Point, from_wgs84
from inclusive_day.stations.hours import HoursError
from inclusive_day.stations.models import Amenity, Station, StationStatus
from inclusive_day.stations.queries import host_type_options, label_options
from inclusive_day.web import page_arg

DEFAULT_TILE_URL = "https://tile.openstreetmap.org/{z}/{x}/{y}.png"
DEFAULT_TILE_ATTRIBUTION = "© OpenStreetMap contributors"
DEFAULT_TILE_SUBDOMAINS = "abc"
# After this long without a single tile, the map says that the list is the way to go.
TILE_NOTICE_DELAY_MS = 4000
LEAFLET_VERSION = leaflet.VERSION
DAY_SECONDS = 24 * 3600
# The map files are public and change when a station does: a platform that fetches them
# every few minutes is served from caches in between.
MAP_FILE_MAX_AGE = 600
# The coordinate systems the map files come in, as ?crs= names them.
MAP_FILE_SYSTEMS = (CoordSystem.WGS84, CoordSystem.GCJ02, CoordSystem.BD09)
# Each map file's media type, and whether a browser shows it or saves it.
MAP_FILE_TYPES = {
    "geojson": (GEOJSON_MIMETYPE, "inline"),
    "kml": (f"{KML_MIMETYPE}; charset=utf-8", "attachment"),
    "csv": (CSV_MIMETYPE, "attachment"),
}


@bp.url_defaults
def _leaflet_version(endpoint: str, values: dict) -> None:
    """Leaflet's addresses carry its version, so that phones keep the files for a year."""
    if endpoint == "directory.leaflet_asset":
        values.setdefault("v", LEAFLET_VERSION)


# --- Search, list and map ------------------------------------------------------------------


@bp.get("/directory/", endpoint="search")
def search_page():
    """Search stations by name, district and amenity, nearest first when a location is given."""
    return _results("directory/search.html", PER_PAGE)


@bp.get("/directory/map", endpoint="map")
def map_page():
    """The same search on a map, with the list of every station shown below it."""
    return _results("directory/map.html", MAP_PER_PAGE)


def _results(template: str, per_page: int):
    form = DirectorySearchForm(formdata=request.args)
    valid = form.validate()
    filters = form.filters()
    page = search(filters, page_arg(), per_page)
    now = utcnow()
    rows = listings(page.items, filters.near, now)
    labels = dict(Amenity.choices())
    args = search_args(form)
    districts = district_choices()
    chosen = form.found_unit
    offered = {d.id for d in districts}
    extra_unit = chosen if chosen is not None and chosen.id not in offered else None
    context = {
        "form": form,
        "filters": filters,
        "page": page,
        "rows": [_row(row, labels) for row in rows],
        "args": args,
        "districts": districts,
        "extra_unit": extra_unit,
        # Every value with how many listed stations hold it: one grouped query per set.
        "type_options": [o for o in host_type_options([listed()]) if o.count],
        "label_options": [o for o in label_options([listed()]) if o.count],
        "errors": form.error_messages,
        "list_url": _url("directory.search", args),
        "map_url": _url("directory.map", args),
        "clear_location_url": _url(
            request.endpoint, {k: v for k, v in args.items() if k not in ("lat", "lon")}
        ),
        "clear_filters_url": _url(
            request.endpoint,
            {k: v for k, v in args.items() if k not in ("unit", "amenity", "type", "label")},
        ),
        "map_files": map_file_links(args),
    }
    if template == "directory/map.html":
        context["map_data"] = map_data(rows, filters.near, first_number=page.first or 1)
    return render_template(template, **context), 200 if valid else 400


def search_args(form: DirectorySearchForm) -> dict:
    """The query arguments that repeat this search (for the pager and the list/map switch)."""
    args: dict = {}
    if form.q.data and not form.q.errors:
        args["q"] = form.q.data
    if form.found_unit is not None:
        args["unit"] = form.found_unit.id
    if form.amenity.data and not form.amenity.errors:
        args["amenity"] = list(form.amenity.data)
    if form.found_type is not None:
        args["type"] = form.found_type.code
    if form.found_label is not None:
        args["label"] = form.found_label.code
    if form.point is not None:
        args["lat"], args["lon"] = form.lat.data.strip(), form.lon.data.strip()
    return args


def _url(endpoint: str, args: dict) -> str:
    base = url_for(endpoint)
    return f"{base}?{urlencode(args, doseq=True)}" if args else base


def _row(row: Listing, labels: dict[str, str]) -> dict:
    """What one result line shows, finished for the template."""
    station = row.station
    return {
        "station": station,
        "url": url_for("directory.station", code=station.code),
        "distance": distance_text(row.distance_km) if row.distance_km is not None else "",
        "open_now": row.open_now,
        "suspended": station.status is StationStatus.SUSPENDED,
        "hours": hours_text(station),
        "amenities": [labels[a.value] for a in station.amenities],
        "host_type": station.host_type.name,
        "labels": [award.label.name for award in station.label_awards],
    }


def distance_text(km: float) -> str:
    """A distance as people say it: metres under a kilometre, then kilometres."""
    if km < 1:
        return _("%(n)s m", n=format_decimal(max(10, round(km * 100) * 10)))
    if km < 10:
        return _("%(n)s km", n=format_decimal(round(km, 1), format="0.0"))
    return _("%(n)s km", n=format_decimal(round(km)))


def hours_text(station: Station) -> str:
    """The opening hours as the station gives them."""
    if station.open_24h:
        return _("open 24 h, unattended")
    try:
        return station.hours.text
    except HoursError:
        return station.opening_hours or ""


# --- The map -------------------------------------------------------------------------------


def tile_settings() -> dict:
    """The tile server from configuration, and the coordinate system its tiles are drawn in."""
    config = current_app.config
    system = CoordSystem.parse(str(config.get("MAP_TILE_COORD_SYSTEM") or "wgs84"))
    subdomains = config.get("MAP_TILE_SUBDOMAINS") or DEFAULT_TILE_SUBDOMAINS
    return {
        "url": config.get("MAP_TILE_URL") or DEFAULT_TILE_URL,
        "attribution": config.get("MAP_TILE_ATTRIBUTION") or DEFAULT_TILE_ATTRIBUTION,
        "subdomains": subdomains if isinstance(subdomains, str) else list(subdomains),
        "system": system or CoordSystem.WGS84,
    }


def _on_tiles(point: Point, system: CoordSystem) -> list[float]:
    shown = from_wgs84(point, system)
    return [round(shown.latitude, 6), round(shown.longitude, 6)]


def map_data(rows: list[Listing], near: Point | None, first_number: int = 1) -> dict:
    """The JSON the map script reads: tiles, numbered markers (in the tiles' system), labels."""
    tiles = tile_settings()
    system = tiles.pop("system")
    markers = []
    for number, row in enumerate(rows, start=first_number):
        point = row.station.location
        if point is None:
            continue
        markers.append(
            {
                "n": number,
                "at": _on_tiles(point, system),
                "name": row.station.name,
                "address": row.station.address,
                "url": url_for("directory.station", code=row.station.code),
                "suspended": row.station.status is StationStatus.SUSPENDED,
                "distance": distance_text(row.distance_km) if row.distance_km is not None else "",
            }
        )
    return {
        "tiles": tiles,
        "markers": markers,
        "you": _on_tiles(near, system) if near is not None else None,
        "noticeDelayMs": TILE_NOTICE_DELAY_MS,
        "labels": {"open": _("Station page"), "you": _("You are here")},
    }


# --- Files for map platforms ----------------------------------------------------------------


@bp.get("/directory/stations.geojson", endpoint="stations_geojson")
def stations_geojson():
    """The public stations of a search as GeoJSON: WGS-84, or the system ?crs= names."""
    return _map_file("geojson", CoordSystem.WGS84)


@bp.get("/directory/stations.kml", endpoint="stations_kml")
def stations_kml():
    """The public stations of a search as KML 2.2: WGS-84, or the system ?crs= names."""
    return _map_file("kml", CoordSystem.WGS84)


@bp.get("/directory/stations.csv", endpoint="stations_csv")
def stations_csv():
    """The public stations of a search as a CSV for a map platform's bulk import: GCJ-02, as
    Gaode and Tencent expect, unless ?crs= names another system."""
    return _map_file("csv", CoordSystem.GCJ02)


def map_file_links(args: dict) -> list[dict]:
    """The map files of a search (its filters, not the searcher's location), for the page."""
    kept = {k: v for k, v in args.items() if k not in ("lat", "lon")}
    gcj = kept | {"crs": CoordSystem.GCJ02.value}
    return [
        {"label": "GeoJSON", "url": _url("directory.stations_geojson", kept)},
        {"label": "KML", "url": _url("directory.stations_kml", kept)},
        {"label": _("GeoJSON (GCJ-02)"), "url": _url("directory.stations_geojson", gcj)},
        {"label": _("KML (GCJ-02)"), "url": _url("directory.stations_kml", gcj)},
        {"label": _("CSV for Gaode/Tencent"), "url": _url("directory.stations_csv", kept)},
    ]


def _asked_system(default: CoordSystem) -> CoordSystem | None:
    """The coordinate system ?crs= asks for (`default` when absent), None when unknown."""
    text = request.args.get("crs", "").strip()
    if not text:
        return default
    system = CoordSystem.parse(text)
    return system if system in MAP_FILE_SYSTEMS else None


def _map_file(kind: str, default: CoordSystem) -> Response:
    """One map file of the directory's search; a wrong filter or system answers 400 and says
    why (a file of every station instead would be published as if it were the one asked for)."""
    form = DirectorySearchForm(formdata=request.args)
    errors = [] if form.validate() else form.error_messages
    system = _asked_system(default)
    if system is None:
        errors.append(
            _(
                '"%(value)s" is not a coordinate system here: use wgs84, gcj02 or bd09.',
                value=request.args.get("crs", "")[:40],
            )
        )
    if errors:
        return current_app.response_class(
            "\n".join(errors) + "\n", status=400, content_type="text/plain; charset=utf-8"
        )
    labels = dict(Amenity.choices())
    stations, omitted = placed(
        [map_station(station, system, labels) for station in every_match(form.filters())]
    )
    if kind == "geojson":
        data = to_geojson(stations, system, omitted)
    elif kind == "kml":
        data = to_kml(stations, system, omitted)
    else:
        data = to_bulk_csv(stations)
    content_type, disposition = MAP_FILE_TYPES[kind]
    name = "stations" if system is default else f"stations-{system.value}"
    response = current_app.response_class(data, content_type=content_type)
    response.headers["Content-Disposition"] = f'{disposition}; filename="{name}-{stamp()}.{kind}"'
    response.headers["X-Omitted-Stations"] = str(omitted)
    # Public data that web maps (uMap, geojson.io...) fetch from their own sites.
    response.headers["Access-Control-Allow-Origin"] = "*"
    response.headers["Access-Control-Expose-Headers"] = "X-Omitted-Stations"
    response.cache_control.public = True
    response.cache_control.max_age = MAP_FILE_MAX_AGE
    return response


def map_station(station: Station, system: CoordSystem, labels: dict[str, str]) -> MapStation:
    """A listed station as the map files give it, its point in `system`."""
    return MapStation(
        code=station.code,
        name=station.name,
        address=station.address,
        phone=station.phone,
        hours=hours_text(station),
        open_24h=station.open_24h,
        amenities=tuple(a.value for a in station.amenities),
        amenity_names=tuple(str(labels[a.value]) for a in station.amenities),
        unit=station.unit.name,
        url=public_url("directory.station", code=station.code),
        suspended=station.status is StationStatus.SUSPENDED,
        point=station.location_in(system),
    )


def public_url(endpoint: str, **values) -> str:
    """The absolute address of a public page (on PUBLIC_BASE_URL when it is set)."""
    base = current_app.config.get("PUBLIC_BASE_URL")
    if base:
        return base.rstrip("/") + url_for(endpoint, **values)
    return url_for(endpoint, **values, _external=True)


# --- One station ---------------------------------------------------------------------------


@bp.get("/directory/stations/<code>", endpoint="station")
def station_page(code: str):
    """A station's public page: where, when open, what it offers, and what is on next."""
    station = public_station(code)
    if station is None:
        return _not_found(code)
    now = utcnow()
    page = station_page_data(station, now)
    return render_template("directory/station.html", **page)


# How many of the workers' latest comments a station's public page shows.
PUBLIC_COMMENTS = 3


def station_page_data(station: Station, now: datetime) -> dict:
    """The finished values of a station page."""
    page = load_station_page(station, now)
    zone = zone_of(station.unit.timezone)
    point = station.location
    context = {
        "station": station,
        "row": _row(Listing(station, None, page.open_now), dict(Amenity.choices())),
        "coming": [
            {
                "title": a.title,
                "theme": a.theme,
                "when": period_text(a.starts_at, a.ends_at, zone, now),
                "now": a.starts_at <= now,
                "description": a.description,
            }
            for a in page.coming
        ],
        "held": page.held,
        "figures": page.figures,
        # Workers' word: the average rating, and the latest comments nobody hid.
        "feedback": public_feedback(station.id, PUBLIC_COMMENTS),
        "phone_href": "tel:" + "".join(ch for ch in station.phone if ch.isdigit() or ch == "+"),
        "map_data": None,
        "amap_url": None,
        "shelf_url": url_for("shelf.public", code=station.code)
        if shelf_at(station.id) is not None
        else None,
    }
    if point is not None:
        context["map_data"] = map_data([Listing(station)], None) | {"zoom": 16}
        gcj = from_wgs84(point, CoordSystem.GCJ02)
        context["amap_url"] = "https://uri.amap.com/marker?" + urlencode(
            {
                "position": f"{gcj.longitude:.6f},{gcj.latitude:.6f}",
                "name": station.name,
                "coordinate": "gaode",
                "callnative": 1,
            }
        )
    return context


def _not_found(code: str):
    return render_template("directory/not_found.html", code=code), 404


@bp.get("/s/<code>")
def station_link(code: str):
    """The permanent short link printed on a station's QR poster: its door check-in page."""
    if public_station(code) is None:
        return _not_found(code)
    return redirect(url_for("attendance.station_checkin", code=code), code=302)


# --- Leaflet, served from the installed XStatic package --------------------------------------


@bp.get("/directory/vendor/leaflet/<path:filename>")
def leaflet_asset(filename: str) -> Response:
    """Leaflet's files from the XStatic-Leaflet package (never copied into static/)."""
    versioned = request.args.get("v") == LEAFLET_VERSION
    response = send_from_directory(leaflet.BASE_DIR, filename, max_age=DAY_SECONDS)
    response.cache_control.public = True
    return keep_for_a_year(response) if versioned else response
