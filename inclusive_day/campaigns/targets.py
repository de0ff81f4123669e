"""Targets handed down the union tree, and progress against them.

A campaign's owner unit gets a target (activities, served, stations); each unit hands its
target down to its sub-units. Progress is counted over a unit's whole subtree: activities held
(not cancelled, already started) and planned (not cancelled, not yet started), served
(person-times, by the counting rules of attendance.queries) and stations that held at least one
activity. Every function here takes a constant number of queries, however many units it is
asked about.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, case, distinct, func, or_, select

from inclusive_day.access.rule import Action, can, reach
from inclusive_day.activities.models import Activity
from inclusive_day.activities.queries import not_cancelled
from inclusive_day.attendance.queries import totals_by
from inclusive_day.campaigns.models import Campaign, CampaignTarget
from inclusive_day.extensions import db
from inclusive_day.stations.models import Station
from inclusive_day.units.models import Unit, under

MEASURES = ("activities", "served", "stations")
# The largest target a form accepts (the columns are 32-bit integers).
TARGET_MAX = 1_000_000_000


@dataclass(frozen=True)
class TargetValues:
    """A unit's target: each figure optional (None: no target for it)."""

    activities: int | None = None
    served: int | None = None
    stations: int | None = None

    @classmethod
    def of(cls, row: CampaignTarget | None) -> TargetValues:
        """The values of a stored target (all None when there is none)."""
        if row is None:
            return cls()
        return cls(row.activities, row.served, row.stations)

    @property
    def is_blank(self) -> bool:
        """True when no figure has a target."""
        return all(getattr(self, m) is None for m in MEASURES)

    def __add__(self, other: TargetValues) -> TargetValues:
        def add(a: int | None, b: int | None) -> int | None:
            return None if a is None and b is None else (a or 0) + (b or 0)

        return TargetValues(*(add(getattr(self, m), getattr(other, m)) for m in MEASURES))


@dataclass(frozen=True)
class Measure:
    """One figure against its target; `planned` (activities only) is what is still to come."""

    actual: int
    target: int | None
    planned: int = 0

    @property
    def percent(self) -> int | None:
        """Share of the target achieved, in whole percent (may pass 100); None without target."""
        if self.target is None:
            return None
        if self.target == 0:
            return 100
        return self.actual * 100 // self.target

    @property
    def bar(self) -> float:
        """Width of the achieved part of a progress bar, 0 to 100."""
        if self.target is None:
            return 0.0
        if self.target == 0:
            return 100.0
        return min(100.0, self.actual * 100 / self.target)

    @property
    def planned_bar(self) -> float:
        """Width of the planned part, after the achieved part, so that both fit in 100."""
        if not self.target:
            return 0.0
        return min(100.0 - self.bar, self.planned * 100 / self.target)

    @property
    def met(self) -> bool:
        """True when there is a target and it has been reached."""
        return self.target is not None and self.actual >= self.target


@dataclass(frozen=True)
class Progress:
    """A unit's (or a user's share of a campaign's) figures against its target."""

    activities: Measure
    served: Measure
    stations: Measure
    target: TargetValues

    @property
    def has_target(self) -> bool:
        """True when any figure has a target."""
        return not self.target.is_blank

    @property
    def measures(self) -> list[tuple[str, Measure]]:
        """(name, measure) in display order."""
        return [(m, getattr(self, m)) for m in MEASURES]


@dataclass
class _Tally:
    held: int = 0
    planned: int = 0
    served: int = 0
    stations: int = 0

    def progress(self, target: TargetValues) -> Progress:
        return Progress(
            Measure(self.held, target.activities, self.planned),
            Measure(self.served, target.served),
            Measure(self.stations, target.stations),
            target,
        )


@dataclass(frozen=True)
class HandDown:
    """How a unit's own target compares with what its sub-units were given, for one figure."""

    own: int | None
    handed: int | None

    @property
    def state(self) -> str:
        """'none' (nothing to compare), 'short', 'over' or 'exact'."""
        if self.own is None:
            return "none"
        handed = self.handed or 0
        if handed < self.own:
            return "short"
        return "over" if handed > self.own else "exact"

    @property
    def difference(self) -> int:
        """How far the sub-units' sum is from the unit's own target."""
        return abs((self.handed or 0) - (self.own or 0))


def hand_down(own: TargetValues, children: Iterable[TargetValues]) -> dict[str, HandDown]:
    """Each figure of `own` against the sum of the sub-units' targets."""
    handed = sum(children, TargetValues())
    return {m: HandDown(getattr(own, m), getattr(handed, m)) for m in MEASURES}


def _held(now: datetime):
    return and_(not_cancelled(), Activity.starts_at <= now)


def _planned(now: datetime):
    return and_(not_cancelled(), Activity.starts_at > now)


def _outermost(paths: Iterable[str]) -> list[str]:
    """The paths that no other given path contains."""
    paths = sorted(set(paths))
    return [p for p in paths if not any(p != q and p.startswith(q) for q in paths)]


def targets_of(campaign: Campaign, unit_ids: Iterable[int]) -> dict[int, CampaignTarget]:
    """The stored targets of these units in `campaign`, by unit id."""
    ids = sorted(set(unit_ids))
    if not ids:
        return {}
    rows = db.session.scalars(
        select(CampaignTarget).where(
            CampaignTarget.campaign_id == campaign.id, CampaignTarget.unit_id.in_(ids)
        )
    )
    return {row.unit_id: row for row in rows}


def progress(campaign: Campaign, units: Sequence[Unit], now: datetime) -> dict[int, Progress]:
    """Each unit's figures over its whole subtree within `campaign`, against its target.

    Four queries, however many units and stations: activities per station, served per station
    (two, through attendance.queries), targets; the per-station rows roll up over the paths.
    """
    if not units:
        return {}
    paths = _outermost(u.path for u in units)
    wanted = {u.id for u in units}
    per_station = db.session.execute(
        select(
            Activity.station_id,
            Unit.path,
            func.count(Activity.id).filter(_held(now)),
            func.count(Activity.id).filter(_planned(now)),
        )
        .join(Station, Station.id == Activity.station_id)
        .join(Unit, Unit.id == Station.unit_id)
        .where(Activity.campaign_id == campaign.id, or_(*[under(Unit.path, p) for p in paths]))
        .group_by(Activity.station_id, Unit.path)
    ).all()
    served = totals_by(
        Activity.station_id,
        [
            Activity.campaign_id == campaign.id,
            Activity.station_id.in_(select(Station.id).where(Station.under(*paths))),
        ],
    )
    tallies = {unit_id: _Tally() for unit_id in wanted}
    for station_id, path, held, planned in per_station:
        figures = served.get(station_id)
        for part in path.strip("/").split("/"):
            tally = tallies.get(int(part))
            if tally is None:
                continue
            tally.held += held
            tally.planned += planned
            tally.stations += 1 if held else 0
            tally.served += figures.served if figures else 0
    targets = targets_of(campaign, wanted)
    return {
        unit_id: tally.progress(TargetValues.of(targets.get(unit_id)))
        for unit_id, tally in tallies.items()
    }


def focus_paths(user, campaign: Campaign) -> list[str]:
    """The paths of the units from which `user` follows `campaign`: the owner unit when the
    user's reach covers it, else the user's highest units inside the owner's subtree."""
    r = reach(user, Action.VIEW)
    owner = campaign.unit.path
    if r.everything or any(owner.startswith(p) for p in r.unit_paths):
        return [owner]
    return [p for p in r.unit_paths if p.startswith(owner)]


def _unit_id(path: str) -> int:
    return int(path.strip("/").split("/")[-1])


def focus_units(user, campaign: Campaign) -> list[Unit]:
    """The units from which `user` follows `campaign` (see `focus_paths`), highest first."""
    paths = focus_paths(user, campaign)
    if paths == [campaign.unit.path]:
        return [campaign.unit]
    if not paths:
        return []
    return list(
        db.session.scalars(
            select(Unit).where(Unit.id.in_([_unit_id(p) for p in paths])).order_by(Unit.path)
        )
    )


def campaign_progress(user, campaigns: Sequence[Campaign], now: datetime) -> dict[int, Progress]:
    """Each campaign's progress as `user` follows it: over the user's focus units (see
    `focus_paths`), against the sum of their targets. Four queries for any number of campaigns;
    campaigns the user follows from no unit (a station manager's) are left out."""
    focus = {c.id: focus_paths(user, c) for c in campaigns}
    focus = {cid: paths for cid, paths in focus.items() if paths}
    if not focus:
        return {}
    by_paths: dict[tuple[str, ...], list[int]] = defaultdict(list)
    for cid, paths in focus.items():
        by_paths[tuple(paths)].append(cid)
    scope = [
        or_(
            *[
                and_(
                    Activity.campaign_id.in_(cids),
                    Activity.station_id.in_(select(Station.id).where(Station.under(*p))),
                )
                for p, cids in by_paths.items()
            ]
        )
    ]
    held_station = case((_held(now), Activity.station_id))
    counts = {
        cid: (held, planned, stations)
        for cid, held, planned, stations in db.session.execute(
            select(
                Activity.campaign_id,
                func.count(Activity.id).filter(_held(now)),
                func.count(Activity.id).filter(_planned(now)),
                func.count(distinct(held_station)),
            )
            .where(*scope)
            .group_by(Activity.campaign_id)
        )
    }
    served = totals_by(Activity.campaign_id, scope)
    unit_ids = {_unit_id(p) for paths in focus.values() for p in paths}
    rows = db.session.scalars(
        select(CampaignTarget).where(
            CampaignTarget.campaign_id.in_(list(focus)), CampaignTarget.unit_id.in_(unit_ids)
        )
    )
    wanted = {(cid, _unit_id(p)) for cid, paths in focus.items() for p in paths}
    targets: dict[int, TargetValues] = defaultdict(TargetValues)
    for row in rows:
        if (row.campaign_id, row.unit_id) in wanted:
            targets[row.campaign_id] += TargetValues.of(row)
    result = {}
    for cid in focus:
        held, planned, stations = counts.get(cid, (0, 0, 0))
        figures = served.get(cid)
        tally = _Tally(held, planned, figures.served if figures else 0, stations)
        result[cid] = tally.progress(targets[cid])
    return result


def may_set_target(user, campaign: Campaign, unit: Unit) -> bool:
    """A unit's target is set by those who may edit the unit above it (a unit hands down to its
    sub-units); the owner unit's own target by those who may edit the campaign."""
    if unit.id == campaign.unit_id:
        return can(user, Action.EDIT, campaign)
    if unit.parent is None or not unit.is_within(campaign.unit):
        return False
    return can(user, Action.EDIT, unit.parent)


def set_targets(campaign: Campaign, values: dict[int, TargetValues], user=None) -> int:
    """Store these units' targets (blank values remove a unit's target); return how many
    changed. The caller checks who may set them (`may_set_target`)."""
    existing = targets_of(campaign, values)
    changed = 0
    for unit_id, new in values.items():
        row = existing.get(unit_id)
        if TargetValues.of(row) == new:
            continue
        changed += 1
        if new.is_blank:
            db.session.delete(row)
            continue
        if row is None:
            row = CampaignTarget(campaign_id=campaign.id, unit_id=unit_id)
            db.session.add(row)
        row.activities, row.served, row.stations = new.activities, new.served, new.stations
        row.updated_by_id = user.id if user is not None else None
    db.session.flush()
    return changed
