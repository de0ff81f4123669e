"""Workflows on the union tree."""

from inclusive_day.extensions import db
from inclusive_day.units.models import Level, Unit


def create_unit(
    name: str, level: Level, parent: Unit | None = None, code: str | None = None
) -> Unit:
    """Add a unit under `parent` (or as a root) with its materialised path set."""
    unit = Unit(name=name, level=level, code=code, path="")
    db.session.add(unit)
    db.session.flush()
    unit.attach(parent)
    db.session.flush()
    return unit
