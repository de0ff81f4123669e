"""The public stations as files for map platforms: GeoJSON, KML and a CSV for bulk import.

- GeoJSON (RFC 7946): a FeatureCollection of Points at [longitude, latitude]. RFC 7946 means
  WGS-84; a file asked for in GCJ-02 (Gaode/AMap, Tencent) or BD-09 (Baidu) says which system
  it holds in a foreign member, "coordinate_system", as every file does.
- KML 2.2: a Placemark per station (name, address, phone, a description and the station's
  data as ExtendedData, a Point at longitude,latitude,0); the Document's description names the
  coordinate system and how many stations were left out.
- CSV: the layout of Tencent's point import (腾讯位置服务企业智图, the longitude/latitude
  template: 名称, 地址, 经度, 纬度, then columns of one's own, here 电话 and 备注), in GCJ-02 as
  Gaode and Tencent draw their maps; written by `inclusive_day.spreadsheets` (UTF-8 with a BOM
  so that Excel and WPS read Chinese, text that would run as a formula made inert).

A point cannot be drawn or imported without coordinates: stations without them are left out
of every file, and the caller is told how many.
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass

from flask_babel import gettext as _
from flask_babel import ngettext

from inclusive_day.spreadsheets import Table, to_csv
from inclusive_day.stations.geo import CoordSystem, Point

KML_NAMESPACE = "http://www.opengis.net/kml/2.2"
GEOJSON_MIMETYPE = "application/geo+json"
KML_MIMETYPE = "application/vnd.google-earth.kml+xml"
CSV_MIMETYPE = "text/csv; charset=utf-8"
# Six decimals of a degree are about 0.1 m: finer than any station's door.
COORDINATE_DIGITS = 6
# The point-import columns, named as the platform's template names them.
BULK_HEADERS = ("名称", "地址", "经度", "纬度", "电话", "备注")
REMARK_SEPARATOR = " · "
# Characters XML 1.0 forbids even escaped: a stray control character pasted into an address
# would make the whole file unreadable.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")

ET.register_namespace("", KML_NAMESPACE)


@dataclass(frozen=True)
class MapStation:
    """One station as the map files give it: finished texts, its point in the file's system."""

    code: str
    name: str
    address: str
    phone: str
    hours: str
    open_24h: bool
    amenities: tuple[str, ...]
    amenity_names: tuple[str, ...]
    unit: str
    url: str
    suspended: bool
    point: Point | None


def placed(stations: Sequence[MapStation]) -> tuple[list[MapStation], int]:
    """The stations that have a point, and how many were left out for want of one."""
    kept = [station for station in stations if station.point is not None]
    return kept, len(stations) - len(kept)


def _lon_lat(point: Point) -> tuple[float, float]:
    return round(point.longitude, COORDINATE_DIGITS), round(point.latitude, COORDINATE_DIGITS)


# --- GeoJSON -------------------------------------------------------------------------------


def to_geojson(stations: Sequence[MapStation], system: CoordSystem, omitted: int = 0) -> bytes:
    """A GeoJSON FeatureCollection of the stations' points, UTF-8."""
    features = []
    for station in stations:
        if station.point is None:
            continue
        features.append(
            {
                "type": "Feature",
                "id": station.code,
                "geometry": {"type": "Point", "coordinates": list(_lon_lat(station.point))},
                "properties": {
                    "code": station.code,
                    "name": station.name,
                    "address": station.address,
                    "phone": station.phone,
                    "opening_hours": station.hours,
                    "open_24h": station.open_24h,
                    "amenities": list(station.amenities),
                    "amenity_names": list(station.amenity_names),
                    "unit": station.unit,
                    "url": station.url,
                    "suspended": station.suspended,
                },
            }
        )
    document = {
        "type": "FeatureCollection",
        "coordinate_system": system.value,
        "omitted_without_coordinates": omitted,
        "features": features,
    }
    return json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


# --- KML -----------------------------------------------------------------------------------


def _xml_text(value: str) -> str:
    return _NOT_XML.sub("", value)


def _element(parent: ET.Element, tag: str, text: str | None = None) -> ET.Element:
    element = ET.SubElement(parent, f"{{{KML_NAMESPACE}}}{tag}")
    if text is not None:
        element.text = _xml_text(text)
    return element


def describe_file(system: CoordSystem, omitted: int) -> str:
    """What a file holds, for its reader: the public stations, the system, who is left out."""
    text = _(
        "Trade union post stations open to the public. Coordinates: %(system)s.",
        system=system.label,
    )
    if omitted:
        text += " " + ngettext(
            "%(num)d station without coordinates is left out.",
            "%(num)d stations without coordinates are left out.",
            omitted,
        )
    return text


def _placemark_description(station: MapStation) -> str:
    lines = [station.address, station.hours]
    if station.phone:
        lines.append(_("Phone: %(phone)s", phone=station.phone))
    if station.amenity_names:
        lines.append(_("Amenities: %(names)s", names="、".join(station.amenity_names)))
    if station.suspended:
        lines.append(_("Suspended for now."))
    lines.append(station.url)
    return "\n".join(line for line in lines if line)


def to_kml(stations: Sequence[MapStation], system: CoordSystem, omitted: int = 0) -> bytes:
    """A KML 2.2 document with a Placemark per station that has a point, UTF-8."""
    root = ET.Element(f"{{{KML_NAMESPACE}}}kml")
    document = _element(root, "Document")
    _element(document, "name", _("Post stations"))
    _element(document, "description", describe_file(system, omitted))
    for station in stations:
        if station.point is None:
            continue
        placemark = _element(document, "Placemark")
        placemark.set("id", _xml_text(f"station-{station.code}"))
        _element(placemark, "name", station.name)
        if station.address:
            _element(placemark, "address", station.address)
        if station.phone:
            _element(placemark, "phoneNumber", station.phone)
        _element(placemark, "description", _placemark_description(station))
        data = _element(placemark, "ExtendedData")
        for name, value in (
            ("code", station.code),
            ("unit", station.unit),
            ("opening_hours", station.hours),
            ("open_24h", "true" if station.open_24h else "false"),
            ("amenities", ",".join(station.amenities)),
            ("url", station.url),
            ("suspended", "true" if station.suspended else "false"),
        ):
            item = _element(data, "Data")
            item.set("name", name)
            _element(item, "value", value)
        lon, lat = _lon_lat(station.point)
        _element(_element(placemark, "Point"), "coordinates", f"{lon},{lat},0")
    ET.indent(root)
    return ET.tostring(root, encoding="utf-8", xml_declaration=True) + b"\n"


# --- The bulk-import CSV -------------------------------------------------------------------


def _remark(station: MapStation) -> str:
    parts = [station.hours, "、".join(station.amenity_names)]
    if station.suspended:
        parts.append(_("Suspended for now."))
    parts.append(station.url)
    return REMARK_SEPARATOR.join(part for part in parts if part)


def to_bulk_csv(stations: Sequence[MapStation]) -> bytes:
    """The stations that have a point as rows of the platforms' point-import template."""
    rows = []
    for station in stations:
        if station.point is None:
            continue
        lon, lat = _lon_lat(station.point)
        rows.append((station.name, station.address, lon, lat, station.phone, _remark(station)))
    return to_csv(Table(_("Post stations"), BULK_HEADERS, rows))
