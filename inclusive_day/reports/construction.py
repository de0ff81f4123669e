"""The construction progress notice (建设进度通报): a unit's sub-units against their targets.

For a unit and a day `on` (and an earlier day `since`, a month before by default): each
immediate sub-unit with its construction target for the year of `on`, the stations built in
its subtree (open on `on`, by Station.open_on), the share of the target, the gain since
`since` (built on `on` less built on `since`: openings less closures), what is still to
build, its coverage at the levels below it, and its rank by share of target with the change
of rank since `since` (the labour competition's table); the subtree's totals against the
unit's own target; the year's funds (allocated, driven, leveraged, paid) as they stood on
`on`, per sub-unit and in all; and the stations open on `on` by host type and by label.

A constant number of queries, however many units and stations: the sub-units, the targets,
the coverage goals, the open counts on both days, the coverage, the funds (two), the host
types and the labels. The page, the PDF, the spreadsheet and the API all read this data.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from flask_babel import get_locale
from flask_babel import gettext as _
from sqlalchemy import and_, func, select

from inclusive_day.construction.queries import (
    Coverage,
    Progress,
    children_of,
    coverage_by_child,
    goals_of,
    open_by_child,
    targets_of,
    total_coverage,
)
from inclusive_day.database import utcnow
from inclusive_day.extensions import db
from inclusive_day.funds.queries import FundTotals, subtree_totals, totals_by_child
from inclusive_day.periods import DEFAULT_ZONE, add_months
from inclusive_day.reports.league import known_ranks, places_gained
from inclusive_day.reports.recap import ReportError, analytic_transaction
from inclusive_day.stations.models import HostType, Label, LabelAward, Station
from inclusive_day.units.models import Level, Unit

# The days a report may be asked about (the API's and the tables' range).
FIRST_DAY = date(2000, 1, 1)
LAST_DAY = date(2099, 12, 31)


@dataclass(frozen=True)
class ConstructionScope:
    """What a construction report covers: a unit's subtree, on a day, with the gain since an
    earlier day."""

    unit_id: int
    on: date
    since: date

    @property
    def year(self) -> int:
        """The year whose targets and funds the report counts against."""
        return self.on.year

    def params(self) -> dict[str, str]:
        """The scope as query-string parameters (the report URLs and the CLI speak these)."""
        return {
            "unit": str(self.unit_id),
            "on": self.on.isoformat(),
            "since": self.since.isoformat(),
        }

    @classmethod
    def from_params(cls, params: dict[str, str]) -> ConstructionScope:
        """The scope that `params` wrote (a queued render carries its scope as strings)."""
        return cls(
            int(params["unit"]),
            date.fromisoformat(params["on"]),
            date.fromisoformat(params["since"]),
        )


def default_since(on: date) -> date:
    """The day the gain is counted from unless asked: one month before `on`."""
    return add_months(on, -1)


def check_day(day: date, field: str = "on") -> None:
    """Raise ReportError unless `day` is one the report takes (2000 to 2099)."""
    if not FIRST_DAY <= day <= LAST_DAY:
        raise ReportError(
            _(
                "Choose a day from %(first)s to %(last)s.",
                first=FIRST_DAY.isoformat(),
                last=LAST_DAY.isoformat(),
            ),
            field,
        )


def check_days(on: date, since: date) -> None:
    """Raise ReportError unless both days are ones the report takes and `since` comes first."""
    check_day(on, "on")
    check_day(since, "since")
    if since >= on:
        raise ReportError(
            _("The gain is counted from an earlier day: pick a day before the report's day."),
            "since",
        )


@dataclass(frozen=True)
class ConstructionRow:
    """One sub-unit: its target and progress, gain, coverage, rank and funds."""

    unit_id: int
    name: str
    level: Level
    target: int | None
    due_on: date | None
    built: int
    built_since: int
    rank: int | None
    previous_rank: int | None
    coverage: tuple[Coverage, ...] = ()
    funds: FundTotals = field(default_factory=FundTotals)

    @property
    def progress(self) -> Progress:
        """Built on the report's day against the target."""
        return Progress(self.built, self.target, self.due_on)

    @property
    def percent(self) -> float | None:
        """Share of the target built on the report's day (None without a target)."""
        return self.progress.percent

    @property
    def previous_percent(self) -> float | None:
        """Share of the target built on the earlier day."""
        return Progress(self.built_since, self.target).percent

    @property
    def still_to_build(self) -> int | None:
        """Stations still to open to reach the target."""
        return self.progress.still_to_build

    @property
    def gain(self) -> int:
        """Stations gained since the earlier day (openings less closures)."""
        return self.built - self.built_since

    @property
    def rank_change(self) -> int:
        """Places gained since the earlier day (negative: places lost; 0 without a rank)."""
        return places_gained(self.rank, self.previous_rank)


@dataclass(frozen=True)
class Share:
    """One value of a breakdown (a host type, a label) with the stations open that hold it."""

    code: str
    name: str
    stations: int
    percent: float


@dataclass(frozen=True)
class ConstructionReport:
    """The construction progress of `unit`'s subtree on a day, as plain values."""

    scope: ConstructionScope
    unit_name: str
    unit_level: str
    generated_on: date
    target: int | None
    due_on: date | None
    handed_down: int | None
    built: int
    built_since: int
    direct_built: int
    direct_built_since: int
    levels: tuple[Level, ...]
    coverage: tuple[Coverage, ...]
    rows: tuple[ConstructionRow, ...]
    funds: FundTotals
    direct_funds: FundTotals
    host_types: tuple[Share, ...]
    labels: tuple[Share, ...]

    @property
    def on(self) -> date:
        return self.scope.on

    @property
    def since(self) -> date:
        return self.scope.since

    @property
    def year(self) -> int:
        return self.scope.year

    @property
    def progress(self) -> Progress:
        """The subtree's stations open on the day against the unit's own target."""
        return Progress(self.built, self.target, self.due_on)

    @property
    def percent(self) -> float | None:
        return self.progress.percent

    @property
    def still_to_build(self) -> int | None:
        return self.progress.still_to_build

    @property
    def gain(self) -> int:
        """Stations gained in the whole subtree since the earlier day."""
        return self.built - self.built_since

    @property
    def direct_gain(self) -> int:
        return self.direct_built - self.direct_built_since

    def ranked(self) -> list[ConstructionRow]:
        """The sub-units in rank order (share of target, best first); those without a target
        last, by name."""
        return sorted(
            self.rows, key=lambda r: (r.rank is None, r.rank or 0, -(r.built), r.name, r.unit_id)
        )

    @property
    def leader(self) -> ConstructionRow | None:
        """The first sub-unit by share of target, when any has a target."""
        ranked = self.ranked()
        return ranked[0] if ranked and ranked[0].rank is not None else None

    @property
    def met(self) -> list[ConstructionRow]:
        """The sub-units that have reached their target, in rank order."""
        return [r for r in self.ranked() if r.progress.met]

    @property
    def funds_rows(self) -> list[ConstructionRow]:
        """The sub-units with any funds, in the table's order."""
        return [r for r in self.rows if r.funds.total or r.funds.paid]


def _catalogue_name(name_zh: str, name_en: str) -> str:
    locale = get_locale()
    return name_en if locale is not None and locale.language == "en" else name_zh


def _share(part: int, whole: int) -> float:
    return round(part * 100 / whole, 1) if whole else 0.0


def host_type_breakdown(unit: Unit, on: date) -> list[tuple[str, str, str, int]]:
    """(code, name_zh, name_en, stations open on `on` in the subtree) per host type, in the
    catalogue's order, zeros included. One query."""
    rows = db.session.execute(
        select(HostType.code, HostType.name_zh, HostType.name_en, func.count(Station.id))
        .outerjoin(
            Station,
            and_(
                Station.host_type_id == HostType.id,
                Station.open_on(on),
                Station.under(unit.path),
            ),
        )
        .group_by(HostType.id, HostType.code, HostType.name_zh, HostType.name_en)
        .order_by(HostType.position, HostType.id)
    )
    return [(code, zh, en, int(n)) for code, zh, en, n in rows]


def label_breakdown(unit: Unit, on: date) -> list[tuple[str, str, str, int]]:
    """(code, name_zh, name_en, stations open on `on` in the subtree holding it by then) per
    label, in the catalogue's order, zeros included. One query."""
    open_here = select(Station.id).where(Station.under(unit.path), Station.open_on(on))
    rows = db.session.execute(
        select(Label.code, Label.name_zh, Label.name_en, func.count(LabelAward.id))
        .outerjoin(
            LabelAward,
            and_(
                LabelAward.label_id == Label.id,
                LabelAward.year <= on.year,
                LabelAward.station_id.in_(open_here),
            ),
        )
        .group_by(Label.id, Label.code, Label.name_zh, Label.name_en)
        .order_by(Label.position, Label.id)
    )
    return [(code, zh, en, int(n)) for code, zh, en, n in rows]


def coverage_levels(unit: Unit, goals: dict[Level, int]) -> tuple[Level, ...]:
    """The levels the report counts coverage at: those the unit set goals for this year, else
    every level below its sub-units' (the sub-units' own level would say only yes or no)."""
    if goals:
        return tuple(level for level in Level if level in goals)
    return tuple(level for level in Level if level.depth > unit.level.depth + 1)


def build_construction(scope: ConstructionScope, now: datetime | None = None) -> ConstructionReport:
    """The construction report of `scope`, labelled in the current language (a constant
    number of queries). The caller has checked the user's access to the unit, and the days."""
    now = now or utcnow()
    unit = db.session.get(Unit, scope.unit_id)
    if unit is None:
        raise LookupError("unknown unit")
    on, since, year = scope.on, scope.since, scope.year
    analytic_transaction()
    children = children_of(unit)
    targets = targets_of(year, [unit.id, *(c.id for c in children)])
    goals = goals_of(unit, year)
    levels = coverage_levels(unit, goals)
    counts = open_by_child(unit, on, since)
    covered = coverage_by_child(unit, on, levels)
    funds_by_child = totals_by_child(unit, year, on)

    def target(unit_id: int) -> tuple[int | None, date | None]:
        row = targets.get(unit_id)
        return (row.stations, row.due_on) if row else (None, None)

    now_share, then_share = {}, {}
    for child in children:
        stations, _due = target(child.id)
        built, built_since = counts.get(child.id, (0, 0))
        now_share[child.id] = Progress(built, stations).percent
        then_share[child.id] = Progress(built_since, stations).percent
    now_rank, then_rank = known_ranks(now_share), known_ranks(then_share)

    def coverage_of(child_id: int) -> tuple[Coverage, ...]:
        found = covered.get(child_id, {})
        return tuple(
            Coverage(level, goal=goals.get(level)) + found.get(level, Coverage(level))
            for level in levels
        )

    rows = []
    for child in children:
        stations, due_on = target(child.id)
        built, built_since = counts.get(child.id, (0, 0))
        rows.append(
            ConstructionRow(
                unit_id=child.id,
                name=child.name,
                level=child.level,
                target=stations,
                due_on=due_on,
                built=built,
                built_since=built_since,
                rank=now_rank[child.id],
                previous_rank=then_rank[child.id],
                coverage=coverage_of(child.id),
                funds=funds_by_child.get(child.id, FundTotals()),
            )
        )
    handed = [target(c.id)[0] for c in children]
    handed_known = [n for n in handed if n is not None]
    own_target, own_due = target(unit.id)
    direct = counts.get(unit.id, (0, 0))
    open_total = sum(figures[0] for figures in counts.values())
    return ConstructionReport(
        scope=scope,
        unit_name=unit.name,
        unit_level=unit.level.label,
        generated_on=now.astimezone(DEFAULT_ZONE).date(),
        target=own_target,
        due_on=own_due,
        handed_down=sum(handed_known) if handed_known else None,
        built=open_total,
        built_since=sum(figures[1] for figures in counts.values()),
        direct_built=direct[0],
        direct_built_since=direct[1],
        levels=levels,
        coverage=tuple(total_coverage(covered, levels, goals)),
        rows=tuple(rows),
        funds=subtree_totals(unit, year, on),
        direct_funds=funds_by_child.get(unit.id, FundTotals()),
        host_types=tuple(
            Share(code, _catalogue_name(zh, en), n, _share(n, open_total))
            for code, zh, en, n in host_type_breakdown(unit, on)
        ),
        labels=tuple(
            Share(code, _catalogue_name(zh, en), n, _share(n, open_total))
            for code, zh, en, n in label_breakdown(unit, on)
        ),
    )
