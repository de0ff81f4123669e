"""Workflows on the union tree."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from inclusive_day.audit.summaries import unit_moved
from inclusive_day.extensions import db
from inclusive_day.units.models import Level, TreeError, Unit


def check_unit_code(code: str | None, unit: Unit | None = None) -> str | None:
    """An administrative-division code: 6, 9 or 12 digits, used by no other unit."""
    code = (code or "").strip()
    if not code:
        return None
    if not code.isdigit() or len(code) not in (6, 9, 12):
        raise TreeError(
            _l(
                '"%(value)s" is not an administrative-division code (6, 9 or 12 digits).',
                value=code,
            )
        )
    taken = db.session.scalar(select(Unit.id).where(Unit.code == code))
    if taken is not None and (unit is None or taken != unit.id):
        raise TreeError(_l("Another unit already has the code %(value)s.", value=code))
    return code


def create_unit(
    name: str, level: Level, parent: Unit | None = None, code: str | None = None
) -> Unit:
    """Add a unit under `parent` (or as a root) with its materialised path set."""
    unit = Unit(name=name, level=level, code=code, path="")
    unit.check_parent(parent)
    db.session.add(unit)
    db.session.flush()
    unit.attach(parent)
    db.session.flush()
    return unit


def update_unit(unit: Unit, name: str, code: str | None) -> Unit:
    """Rename a unit and set its administrative-division code."""
    unit.name = name.strip()
    unit.code = check_unit_code(code, unit)
    db.session.flush()
    return unit


def move_unit(unit: Unit, parent: Unit | None) -> int:
    """Move a unit with its subtree under `parent`; return how many units moved."""
    old_parent, old_path = unit.parent, unit.path
    moved = unit.move_to(parent)
    if moved:
        unit_moved(unit, old_parent, old_path, moved)
    db.session.flush()
    return moved
