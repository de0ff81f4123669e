"""Reading construction: targets and goals, stations open on a day, progress and coverage.

"Built" is the stations of a subtree open on a day (Station.open_on: opened on or before it,
not closed by it), so a report for 15 August counts what stood on 15 August, and the gain
since an earlier day is what was built less what closed in between. Coverage at a level is
the share of a unit's units of that level with at least one station open in their own
subtree. Every function here is one query (or two), however many units and stations.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date

from sqlalchemy import and_, case, exists, func, or_, select
from sqlalchemy.orm import aliased

from inclusive_day.construction.models import ConstructionTarget, CoverageGoal
from inclusive_day.extensions import db
from inclusive_day.stations.models import Station
from inclusive_day.units.models import Level, Unit, under, unit_child


@dataclass(frozen=True)
class Progress:
    """Stations built (open on a day) against a target; the target may be missing."""

    built: int
    target: int | None = None
    due_on: date | None = None

    @property
    def percent(self) -> float | None:
        """Share of the target built, to one decimal (may pass 100); None without a target."""
        if self.target is None:
            return None
        if self.target == 0:
            return 100.0
        return round(self.built * 100 / self.target, 1)

    @property
    def still_to_build(self) -> int | None:
        """Stations still to open to reach the target (0 once reached); None without one."""
        return None if self.target is None else max(self.target - self.built, 0)

    @property
    def met(self) -> bool:
        """True when there is a target and it has been reached."""
        return self.target is not None and self.built >= self.target

    @property
    def bar(self) -> float:
        """Width of a progress bar's filled part, 0 to 100."""
        percent = self.percent
        return 0.0 if percent is None else min(100.0, percent)


@dataclass(frozen=True)
class Coverage:
    """Units of one level, and how many of them have an open station in their subtree."""

    level: Level
    covered: int = 0
    total: int = 0
    goal: int | None = None

    @property
    def percent(self) -> float | None:
        """The covered share to one decimal; None when there is no unit of the level."""
        return round(self.covered * 100 / self.total, 1) if self.total else None

    @property
    def met(self) -> bool:
        """True when a goal is set and the share reaches it."""
        return self.goal is not None and (self.percent or 0) >= self.goal

    def __add__(self, other: Coverage) -> Coverage:
        return Coverage(
            self.level, self.covered + other.covered, self.total + other.total, self.goal
        )


def targets_of(year: int, unit_ids: Iterable[int]) -> dict[int, ConstructionTarget]:
    """The stored targets of these units for `year`, by unit id."""
    ids = sorted(set(unit_ids))
    if not ids:
        return {}
    rows = db.session.scalars(
        select(ConstructionTarget).where(
            ConstructionTarget.year == year, ConstructionTarget.unit_id.in_(ids)
        )
    )
    return {row.unit_id: row for row in rows}


def goals_of(unit: Unit, year: int, rows: bool = False) -> dict:
    """`unit`'s coverage goals for `year` by level: the percent (or, with `rows`, the row)."""
    found = db.session.scalars(
        select(CoverageGoal).where(CoverageGoal.unit_id == unit.id, CoverageGoal.year == year)
    )
    return {goal.level: (goal if rows else goal.percent) for goal in found}


def children_of(unit: Unit) -> list[Unit]:
    """`unit`'s immediate sub-units in code, then name order."""
    return list(
        db.session.scalars(
            select(Unit)
            .where(Unit.parent_id == unit.id)
            .order_by(Unit.code.is_(None), Unit.code, Unit.name, Unit.id)
        )
    )


def open_by_child(unit: Unit, *days: date) -> dict[int, tuple[int, ...]]:
    """Stations open on each of `days` in each immediate sub-unit's subtree, and under
    `unit`'s own id those the unit runs itself; sub-units with none on any day are absent.
    One query, however many sub-units and stations."""
    mapping = unit_child(unit).subquery("unit_child")
    counts = [func.count(Station.id).filter(Station.open_on(day)) for day in days]
    rows = db.session.execute(
        select(mapping.c.child_id, *counts)
        .join(Station, Station.unit_id == mapping.c.unit_id)
        .where(or_(*(Station.open_on(day) for day in days)))
        .group_by(mapping.c.child_id)
    )
    return {child_id: tuple(int(n) for n in figures) for child_id, *figures in rows}


def open_per_unit(root: Unit, day: date) -> dict[int, int]:
    """Every unit of `root`'s subtree (root included) with the stations open on `day` in its
    own subtree, 0 for none. One query: each unit is joined to the units of its subtree by a
    range of the path index, and those to their stations' count."""
    ancestor, own = aliased(Unit), aliased(Unit)
    upper = func.substr(ancestor.path, 1, func.length(ancestor.path) - 1).concat("0")
    per_unit = (
        select(Station.unit_id.label("unit_id"), func.count(Station.id).label("n"))
        .where(Station.under(root.path), Station.open_on(day))
        .group_by(Station.unit_id)
        .subquery("per_unit")
    )
    rows = db.session.execute(
        select(ancestor.id, func.coalesce(func.sum(per_unit.c.n), 0))
        .select_from(ancestor)
        .join(own, and_(own.path >= ancestor.path, own.path < upper))
        .outerjoin(per_unit, per_unit.c.unit_id == own.id)
        .where(under(ancestor.path, root.path))
        .group_by(ancestor.id)
    )
    return {unit_id: int(n) for unit_id, n in rows}


def coverage_by_child(
    unit: Unit, day: date, levels: Sequence[Level]
) -> dict[int, dict[Level, Coverage]]:
    """For each immediate sub-unit and each of `levels`: how many units of that level its
    subtree holds (itself included) and how many have a station open on `day` in their own
    subtree. One query; sub-units with no unit of those levels are absent."""
    if not levels:
        return {}
    mapping = unit_child(unit).subquery("unit_child")
    counted, inner = aliased(Unit), aliased(Unit)
    upper = func.substr(counted.path, 1, func.length(counted.path) - 1).concat("0")
    has_open = exists(
        select(Station.id)
        .join(inner, inner.id == Station.unit_id)
        .where(inner.path >= counted.path, inner.path < upper, Station.open_on(day))
    )
    rows = db.session.execute(
        select(
            mapping.c.child_id,
            counted.level,
            func.count(counted.id),
            func.sum(case((has_open, 1), else_=0)),
        )
        .join(counted, counted.id == mapping.c.unit_id)
        .where(counted.level.in_(list(levels)))
        .group_by(mapping.c.child_id, counted.level)
    )
    result: dict[int, dict[Level, Coverage]] = defaultdict(dict)
    for child_id, level, total, covered in rows:
        level = Level(level)
        result[child_id][level] = Coverage(level, int(covered or 0), int(total))
    return dict(result)


def total_coverage(
    by_child: dict[int, dict[Level, Coverage]], levels: Sequence[Level], goals: dict | None = None
) -> list[Coverage]:
    """The whole unit's coverage per level, summed from `coverage_by_child`'s answer, with
    the unit's goals (no query)."""
    goals = goals or {}
    totals = []
    for level in levels:
        total = Coverage(level, goal=goals.get(level))
        for found in by_child.values():
            total += found.get(level, Coverage(level))
        totals.append(total)
    return totals


def progress(unit: Unit, children: Sequence[Unit], year: int, on: date) -> dict[int, Progress]:
    """`unit`'s and each sub-unit's stations open on `on` against their targets for `year`
    (two queries: the targets, the counts)."""
    targets = targets_of(year, [unit.id, *(c.id for c in children)])
    counts = open_by_child(unit, on)
    built = {child.id: counts.get(child.id, (0,))[0] for child in children}
    built[unit.id] = sum(n for (n,) in counts.values())

    def of(unit_id: int) -> Progress:
        row = targets.get(unit_id)
        return Progress(built[unit_id], row.stations if row else None, row.due_on if row else None)

    return {unit_id: of(unit_id) for unit_id in built}
