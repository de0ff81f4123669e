"""Workflows on stations."""

from inclusive_day.extensions import db
from inclusive_day.stations.models import Amenity, Station
from inclusive_day.units.models import Unit


def create_station(
    unit: Unit, code: str, name: str, amenities: list[Amenity] = (), **fields
) -> Station:
    """Register a station under `unit`."""
    station = Station(unit=unit, code=code, name=name, **fields)
    station.set_amenities(list(amenities))
    db.session.add(station)
    db.session.flush()
    return station
