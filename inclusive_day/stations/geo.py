"""Coordinates: the three systems Chinese maps use, China's bounds, and distances.

Stations are stored in WGS-84 (GPS). Gaode/AMap and most Chinese apps give GCJ-02, an
offset required by national rules; Baidu gives BD-09, a further offset of GCJ-02. The
forward formulas are the published ones; the inverse of GCJ-02 has no closed form and is
found by a few fixed-point steps (error well under a metre).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from flask_babel import lazy_gettext as _l

from inclusive_day.enums import LabelledEnum

# A box around the mainland, Hainan, Taiwan and the nearer islands: coordinates outside it
# are typing errors (swapped latitude and longitude, a missing digit), not stations.
CHINA_LATITUDE = (3.8, 53.6)
CHINA_LONGITUDE = (73.4, 135.1)
EARTH_RADIUS_KM = 6371.0088

_A = 6378245.0  # Krasovsky 1940 semi-major axis, as the GCJ-02 algorithm uses
_EE = 0.00669342162296594323
_X_PI = math.pi * 3000.0 / 180.0


class CoordSystem(LabelledEnum):
    """The coordinate system a pair of coordinates was taken in."""

    WGS84 = "wgs84"
    GCJ02 = "gcj02"
    BD09 = "bd09"

    @classmethod
    def _labels(cls) -> dict:
        return {
            cls.WGS84: _l("WGS-84 (GPS)"),
            cls.GCJ02: _l("GCJ-02 (Gaode/AMap, Tencent)"),
            cls.BD09: _l("BD-09 (Baidu)"),
        }

    @classmethod
    def parse(cls, text: str) -> CoordSystem | None:
        """Read a system from how people write it ("GCJ-02", "高德", "bd09", "GPS"...)."""
        key = "".join(ch for ch in text.strip().lower() if ch.isalnum())
        return _SYSTEM_NAMES.get(key)


_SYSTEM_NAMES = {
    **dict.fromkeys(("wgs84", "gps", "wgs", "4326", "epsg4326"), CoordSystem.WGS84),
    **dict.fromkeys(
        ("gcj02", "gcj", "高德", "amap", "gaode", "腾讯", "tencent"), CoordSystem.GCJ02
    ),
    **dict.fromkeys(("bd09", "bd09ll", "baidu", "百度"), CoordSystem.BD09),
}


@dataclass(frozen=True)
class Point:
    """A latitude and longitude in degrees."""

    latitude: float
    longitude: float


def in_china(latitude: float, longitude: float) -> bool:
    """True when the point lies in the box around China (where the offsets apply)."""
    return (
        CHINA_LATITUDE[0] <= latitude <= CHINA_LATITUDE[1]
        and CHINA_LONGITUDE[0] <= longitude <= CHINA_LONGITUDE[1]
    )


def _offset(latitude: float, longitude: float) -> tuple[float, float]:
    x, y = longitude - 105.0, latitude - 35.0
    d_lat = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * math.sqrt(abs(x))
    d_lat += (20.0 * math.sin(6.0 * x * math.pi) + 20.0 * math.sin(2.0 * x * math.pi)) * 2 / 3
    d_lat += (20.0 * math.sin(y * math.pi) + 40.0 * math.sin(y / 3.0 * math.pi)) * 2 / 3
    d_lat += (160.0 * math.sin(y / 12.0 * math.pi) + 320 * math.sin(y * math.pi / 30.0)) * 2 / 3
    d_lon = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * math.sqrt(abs(x))
    d_lon += (20.0 * math.sin(6.0 * x * math.pi) + 20.0 * math.sin(2.0 * x * math.pi)) * 2 / 3
    d_lon += (20.0 * math.sin(x * math.pi) + 40.0 * math.sin(x / 3.0 * math.pi)) * 2 / 3
    d_lon += (150.0 * math.sin(x / 12.0 * math.pi) + 300.0 * math.sin(x / 30.0 * math.pi)) * 2 / 3
    rad = latitude / 180.0 * math.pi
    magic = 1 - _EE * math.sin(rad) ** 2
    sqrt_magic = math.sqrt(magic)
    d_lat = (d_lat * 180.0) / ((_A * (1 - _EE)) / (magic * sqrt_magic) * math.pi)
    d_lon = (d_lon * 180.0) / (_A / sqrt_magic * math.cos(rad) * math.pi)
    return d_lat, d_lon


def wgs84_to_gcj02(p: Point) -> Point:
    """Apply the GCJ-02 offset (none outside China)."""
    if not in_china(p.latitude, p.longitude):
        return p
    d_lat, d_lon = _offset(p.latitude, p.longitude)
    return Point(p.latitude + d_lat, p.longitude + d_lon)


def gcj02_to_wgs84(p: Point) -> Point:
    """Remove the GCJ-02 offset by fixed-point iteration."""
    if not in_china(p.latitude, p.longitude):
        return p
    guess = p
    for _ in range(6):
        shifted = wgs84_to_gcj02(guess)
        guess = Point(
            guess.latitude + (p.latitude - shifted.latitude),
            guess.longitude + (p.longitude - shifted.longitude),
        )
    return guess


def gcj02_to_bd09(p: Point) -> Point:
    """Apply Baidu's offset on top of GCJ-02."""
    x, y = p.longitude, p.latitude
    z = math.sqrt(x * x + y * y) + 0.00002 * math.sin(y * _X_PI)
    theta = math.atan2(y, x) + 0.000003 * math.cos(x * _X_PI)
    return Point(z * math.sin(theta) + 0.006, z * math.cos(theta) + 0.0065)


def bd09_to_gcj02(p: Point) -> Point:
    """Remove Baidu's offset, giving GCJ-02."""
    x, y = p.longitude - 0.0065, p.latitude - 0.006
    z = math.sqrt(x * x + y * y) - 0.00002 * math.sin(y * _X_PI)
    theta = math.atan2(y, x) - 0.000003 * math.cos(x * _X_PI)
    return Point(z * math.sin(theta), z * math.cos(theta))


def to_wgs84(p: Point, system: CoordSystem) -> Point:
    """Convert a point taken in `system` to WGS-84, the system stations are stored in."""
    if system is CoordSystem.GCJ02:
        return gcj02_to_wgs84(p)
    if system is CoordSystem.BD09:
        return gcj02_to_wgs84(bd09_to_gcj02(p))
    return p


def from_wgs84(p: Point, system: CoordSystem) -> Point:
    """Convert a stored WGS-84 point to `system` (to draw it on a GCJ-02 map, say)."""
    if system is CoordSystem.GCJ02:
        return wgs84_to_gcj02(p)
    if system is CoordSystem.BD09:
        return gcj02_to_bd09(wgs84_to_gcj02(p))
    return p


def distance_km(a: Point, b: Point) -> float:
    """Great-circle distance between two WGS-84 points."""
    lat1, lat2 = math.radians(a.latitude), math.radians(b.latitude)
    d_lat = lat2 - lat1
    d_lon = math.radians(b.longitude - a.longitude)
    h = math.sin(d_lat / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin(d_lon / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(math.sqrt(h))
