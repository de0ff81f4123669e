"""Setting construction targets and coverage goals: the rules they keep and who may set them.

A unit's construction target (stations open in its subtree by a day of a year) is handed down
by the unit above it, as campaign targets are: those who may edit the parent set it, and a
root unit's own target is set by those who may edit the root. A unit's coverage goals (the
share of its units of a lower level that should have an open station) are the unit's own,
set by those who may edit it. Each verb checks every value before it writes any, flushes and
returns; the caller commits. A refusal raises ConstructionError with a code for code to read
and a message for people; NOT_ALLOWED means the unit is outside the user's reach, which views
answer with 404 so that its existence does not leak.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from flask_babel import lazy_gettext as _l

from inclusive_day.access.rule import Action, Reach, reach
from inclusive_day.construction.models import ConstructionTarget, CoverageGoal
from inclusive_day.construction.queries import goals_of, targets_of
from inclusive_day.extensions import db
from inclusive_day.refusals import Refused
from inclusive_day.units.models import Level, Unit

# The most stations a target may ask for: far above any province (Anhui: 11,000), far below
# what a 32-bit column holds, so a typing slip ("110000000") is refused rather than stored.
STATIONS_MAX = 1_000_000
FIRST_YEAR, LAST_YEAR = 2000, 2100


class Refusal(StrEnum):
    """Why a target or goal was refused."""

    NOT_ALLOWED = "not_allowed"
    BAD_YEAR = "bad_year"
    NEGATIVE_TARGET = "negative_target"
    TARGET_TOO_LARGE = "target_too_large"
    DUE_OUTSIDE_YEAR = "due_outside_year"
    LEVEL_NOT_BELOW = "level_not_below"
    BAD_PERCENT = "bad_percent"


class ConstructionError(Refused):
    """A target or goal that cannot be stored; its code is a Refusal of this module."""


@dataclass(frozen=True)
class TargetEntry:
    """A target as entered: stations (None: no target) and the day it is due (None: the
    year's last day)."""

    stations: int | None
    due_on: date | None = None

    @classmethod
    def of(cls, row: ConstructionTarget | None) -> TargetEntry:
        """The entry a stored target reads as (no target when there is none)."""
        return cls(None) if row is None else cls(row.stations, row.due_on)


def year_end(year: int) -> date:
    """The day a target is due unless the unit says otherwise: 31 December."""
    return date(year, 12, 31)


def check_year(year: int) -> int:
    """A year the tables take (2000 to 2100)."""
    if not FIRST_YEAR <= year <= LAST_YEAR:
        raise ConstructionError(
            _l("Choose a year from %(first)d to %(last)d.", first=FIRST_YEAR, last=LAST_YEAR),
            Refusal.BAD_YEAR,
            "year",
        )
    return year


def check_target(year: int, entry: TargetEntry, unit_id: int | None = None) -> TargetEntry:
    """The entry with its due day filled in, or ConstructionError: a number of stations from 0
    to STATIONS_MAX, due on a day of `year`. A blank entry (no stations) stays blank. With
    `unit_id`, the error names the field of that unit on the targets form."""
    field, due_field = (
        ("stations", "due_on") if unit_id is None else (f"stations_{unit_id}", f"due_{unit_id}")
    )
    if entry.stations is None:
        return TargetEntry(None)
    if entry.stations < 0:
        raise ConstructionError(_l("A target cannot be negative."), Refusal.NEGATIVE_TARGET, field)
    if entry.stations > STATIONS_MAX:
        raise ConstructionError(
            _l("A target of more than %(max)s stations is not plausible.", max=f"{STATIONS_MAX:,}"),
            Refusal.TARGET_TOO_LARGE,
            field,
        )
    due_on = entry.due_on or year_end(year)
    if due_on.year != year:
        raise ConstructionError(
            _l("The due day must fall in %(year)d.", year=year),
            Refusal.DUE_OUTSIDE_YEAR,
            due_field,
        )
    return TargetEntry(entry.stations, due_on)


def _covers(r: Reach, path: str) -> bool:
    return r.everything or any(path.startswith(p) for p in r.unit_paths)


def _parent_path(unit: Unit) -> str:
    """The path of the unit above (its own path for a root)."""
    parts = unit.path.strip("/").split("/")
    return f"/{'/'.join(parts[:-1])}/" if len(parts) > 1 else unit.path


def may_set_target(user, unit: Unit) -> bool:
    """A unit's target is handed down by the unit above: set by those who may edit the parent;
    a root's by those who may edit the root. (One query, for the user's grants.)"""
    return _covers(reach(user, Action.EDIT), _parent_path(unit))


def may_set_goals(user, unit: Unit) -> bool:
    """A unit's coverage goals are its own: set by those who may edit the unit."""
    return _covers(reach(user, Action.EDIT), unit.path)


def set_targets(user, year: int, entries: Mapping[Unit, TargetEntry]) -> int:
    """Store these units' targets for `year` (a blank entry removes a unit's target); return
    how many changed. Nothing is written unless every entry is allowed and valid."""
    check_year(year)
    r = reach(user, Action.EDIT)
    checked = {}
    for unit, entry in entries.items():
        if not _covers(r, _parent_path(unit)):
            raise ConstructionError(
                _l("There is nothing here, or you may not see it."), Refusal.NOT_ALLOWED, "unit"
            )
        checked[unit.id] = check_target(year, entry, unit.id)
    existing = targets_of(year, checked)
    changed = 0
    for unit_id, entry in checked.items():
        row = existing.get(unit_id)
        if TargetEntry.of(row) == entry:
            continue
        changed += 1
        if entry.stations is None:
            db.session.delete(row)
            continue
        if row is None:
            row = ConstructionTarget(unit_id=unit_id, year=year)
            db.session.add(row)
        row.stations, row.due_on = entry.stations, entry.due_on
        row.updated_by_id = getattr(user, "id", None)
    db.session.flush()
    return changed


def levels_below(unit: Unit) -> list[Level]:
    """The levels a unit's coverage may be counted at: every level below its own."""
    return [level for level in Level if level.depth > unit.level.depth]


def check_goal(unit: Unit, level: Level, percent: int | None) -> int | None:
    """A coverage goal: a level below the unit's, a whole percent from 1 to 100 (None: none)."""
    if level.depth <= unit.level.depth:
        raise ConstructionError(
            _l(
                "Coverage is counted over the levels below a %(level)s.",
                level=unit.level.label,
            ),
            Refusal.LEVEL_NOT_BELOW,
            f"percent_{level.value}",
        )
    if percent is not None and not 1 <= percent <= 100:
        raise ConstructionError(
            _l("A coverage goal is a whole percent from 1 to 100."),
            Refusal.BAD_PERCENT,
            f"percent_{level.value}",
        )
    return percent


def set_coverage_goals(user, unit: Unit, year: int, goals: Mapping[Level, int | None]) -> int:
    """Store `unit`'s coverage goals for `year` per level (None removes one); return how many
    changed. Nothing is written unless every goal is allowed and valid."""
    check_year(year)
    if not may_set_goals(user, unit):
        raise ConstructionError(
            _l("There is nothing here, or you may not see it."), Refusal.NOT_ALLOWED, "unit"
        )
    checked = {level: check_goal(unit, level, percent) for level, percent in goals.items()}
    existing = goals_of(unit, year, rows=True)
    changed = 0
    for level, percent in checked.items():
        row = existing.get(level)
        if (row.percent if row else None) == percent:
            continue
        changed += 1
        if percent is None:
            db.session.delete(row)
            continue
        if row is None:
            row = CoverageGoal(unit_id=unit.id, year=year, level=level)
            db.session.add(row)
        row.percent = percent
        row.updated_by_id = getattr(user, "id", None)
    db.session.flush()
    return changed
