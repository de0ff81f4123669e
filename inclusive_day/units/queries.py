"""Reading the tree: a subtree with figures that roll up from every unit below."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import ColumnElement, func, select

from inclusive_day.access.rule import reach, visible
from inclusive_day.activities.models import Activity
from inclusive_day.activities.queries import not_cancelled
from inclusive_day.attendance.traffic import recent_days, visits_by_unit
from inclusive_day.extensions import db
from inclusive_day.periods import local_today
from inclusive_day.staffing.queries import open_without_master
from inclusive_day.stations.models import Station
from inclusive_day.units.models import Level, Unit, under

# How many levels below the chosen unit the tree page lists; deeper units open on their own.
SHOWN_DEPTH = 2


def being_built() -> ColumnElement[bool]:
    """WHERE clause for the stations planned or under construction: those without an opening
    day, which the lifecycle's constraints give exactly to the stations that have opened; so a
    count of them reads the (unit, opened, closed) index alone, like Station.open_on."""
    return Station.opened_on.is_(None)


@dataclass
class TreeRow:
    """One unit on the tree page with its own and rolled-up counts: stations open today
    (Station.open_on), stations planned or being built, activities not cancelled, door visits
    over the last 30 days (traffic.recent_days) and open stations with no current master."""

    id: int
    name: str
    code: str | None
    level: Level
    path: str
    depth: int
    has_children: bool = False
    open_stations: int = 0
    building_stations: int = 0
    activities: int = 0
    visits: int = 0
    without_master: int = 0
    children: list[TreeRow] = field(default_factory=list)


def subtree(root: Unit, shown_depth: int = SHOWN_DEPTH, today: date | None = None) -> TreeRow:
    """The tree under `root` to `shown_depth` levels, every count rolled up from the whole
    subtree; stations count as open on `today` (default: today, China's day), and door visits
    over the 30 days up to it.

    Four queries whatever the size: the units, stations per unit (open, being built, open
    without a master), activities per unit, door visits per unit.
    """
    today = today or local_today()
    units = db.session.execute(
        select(Unit.id, Unit.name, Unit.code, Unit.level, Unit.path)
        .where(under(Unit.path, root.path))
        .order_by(Unit.path)
    ).all()
    station_counts = db.session.execute(
        select(
            Station.unit_id,
            func.count(Station.id).filter(Station.open_on(today)),
            func.count(Station.id).filter(being_built()),
            func.count(Station.id).filter(open_without_master(today)),
        )
        .where(Station.under(root.path))
        .group_by(Station.unit_id)
    ).all()
    activity_counts = db.session.execute(
        select(Station.unit_id, func.count(Activity.id))
        .join(Station, Station.id == Activity.station_id)
        .where(Station.under(root.path), not_cancelled())
        .group_by(Station.unit_id)
    ).all()
    visits = visits_by_unit(root.path, *recent_days(today))

    base_depth = root.path.count("/") - 1
    rows: dict[int, TreeRow] = {}
    for unit_id, name, code, level, path in units:
        depth = path.count("/") - 1 - base_depth
        if depth <= shown_depth:
            rows[unit_id] = TreeRow(unit_id, name, code, level, path, depth)
    shown_ancestors = {
        unit_id: [int(p) for p in path.strip("/").split("/") if int(p) in rows]
        for unit_id, _name, _code, _level, path in units
    }
    for unit_id, _name, _code, _level, path in units:
        parent_id = _parent_id(path)
        if parent_id in rows and unit_id != root.id:
            rows[parent_id].has_children = True
            if unit_id in rows:
                rows[parent_id].children.append(rows[unit_id])
    for row in rows.values():
        row.children.sort(key=lambda r: (r.code is None, r.code or "", r.name))
    for unit_id, open_, building, masterless in station_counts:
        for ancestor in shown_ancestors[unit_id]:
            rows[ancestor].open_stations += open_
            rows[ancestor].building_stations += building
            rows[ancestor].without_master += masterless
    for unit_id, total in visits.items():
        for ancestor in shown_ancestors[unit_id]:
            rows[ancestor].visits += total
    for unit_id, total in activity_counts:
        for ancestor in shown_ancestors[unit_id]:
            rows[ancestor].activities += total
    return rows[root.id]


def _parent_id(path: str) -> int | None:
    parts = path.strip("/").split("/")
    return int(parts[-2]) if len(parts) > 1 else None


def flatten(row: TreeRow) -> list[TreeRow]:
    """The tree in display order (each unit followed by its children)."""
    out = [row]
    for child in row.children:
        out.extend(flatten(child))
    return out


def top_units(user, action) -> list[Unit]:
    """The highest units `user`'s grants reach for `action` (the roots, for an administrator)."""
    r = reach(user, action)
    if r.everything:
        stmt = select(Unit).where(Unit.parent_id.is_(None))
    else:
        stmt = select(Unit).where(Unit.path.in_(r.unit_paths))
    return list(db.session.scalars(stmt.order_by(Unit.path)))


def units_in_reach(user, action) -> list[Unit]:
    """Every unit `user` may `action`, in tree order (for a unit field on a form)."""
    return list(
        db.session.scalars(select(Unit).where(visible(user, action, Unit)).order_by(Unit.path))
    )


# Indents a unit under its parent in a drop-down: browsers drop ordinary leading spaces.
INDENT = "\u00a0\u00a0\u00a0"


def unit_choices(units) -> list[tuple[int, str]]:
    """(id, "name · level") pairs for a select field, in tree order (each unit under its
    parent, siblings in the order they were made), indented by depth below the shallowest."""
    ordered = sorted(units, key=lambda u: u.ancestor_ids)
    top = min((len(u.ancestor_ids) for u in ordered), default=0)
    return [
        (u.id, f"{INDENT * (len(u.ancestor_ids) - top)}{u.name} · {u.level.label}") for u in ordered
    ]
