"""The recap (活动总结) of a campaign over a unit's subtree and a period.

One service builds the recap's data as plain values (numbers, text, dates, small frozen
dataclasses), counted by the rules of attendance.queries and activities.queries and grouped in
the database; the HTML page, the PDF and the spreadsheets all read that same data.

What the figures mean:
- activities held: not cancelled, starting in the period and no later than now (the rest of
  the period's activities are "planned");
- served (person-times) and unique people: attendance.queries' rules, over every activity of
  the campaign at the subtree's stations that starts in the period;
- stations involved: stations that held at least one of those activities;
- new stations: stations of the subtree that opened in the period (Station.opened_between),
  and open stations those open on its last day (Station.open_on), whenever they were entered;
- by host type and by label: per value of each catalogue, the subtree's stations open on the
  period's last day, and the activities held (and served) at the stations of that type, or
  holding that label; a label counts from the year it was awarded, up to the period's year;
- volunteer hours: the confirmed sessions of volunteers at the subtree's stations starting in
  the period's local days (volunteers.queries.hours_under), whatever the campaign, with the
  distinct volunteers and teams who served them;
- door traffic: the door visits and distinct visitors at the subtree's stations over the
  period's local days (attendance.traffic), whatever the campaign: traffic is the stations'
  measure, not the campaign's, and is never added to served.

A number of queries that does not grow with the tree's stations or the rows: one statement
for every breakdown (activities and served by theme, sub-unit, month, beneficiary group, host
type, label and the top stations, reading the analytics table of check-ins), a few for unique
people and for the distinct visitors of each sub-unit and month (the people bitmaps of
analytics.people, with the raw rows of cut or not yet refreshed months), one for the station
network (opened, open, and open per host type and per label, with the catalogues' names), a
few for the door traffic and a few small ones for names, targets and the sponsors.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

from babel.dates import format_skeleton
from flask import current_app
from flask_babel import get_locale
from flask_babel import gettext as _
from sqlalchemy import (
    String,
    and_,
    case,
    cast,
    distinct,
    func,
    literal,
    select,
    union_all,
)

from inclusive_day.activities.models import Activity
from inclusive_day.activities.queries import in_period, not_cancelled
from inclusive_day.analytics.models import PeopleKind
from inclusive_day.analytics.people import distinct_people
from inclusive_day.attendance.models import BeneficiaryGroup
from inclusive_day.attendance.queries import served_parts
from inclusive_day.attendance.traffic import (
    traffic,
    traffic_by_child,
    traffic_by_group,
    traffic_by_month,
)
from inclusive_day.campaigns.models import Campaign, Theme
from inclusive_day.campaigns.targets import Measure, TargetValues, targets_of
from inclusive_day.database import set_local, utcnow
from inclusive_day.extensions import db
from inclusive_day.periods import (
    DEFAULT_ZONE,
    Month,
    days_utc_range,
    local_today,
    month_index,
    months_between,
)
from inclusive_day.sponsors.honour import GivingScope, HonourLine, giving, honour_roll
from inclusive_day.stations.models import Catalogued, HostType, Label, LabelAward, Station
from inclusive_day.stations.queries import station_child
from inclusive_day.units.models import Unit
from inclusive_day.volunteers.queries import VolunteerHours, hours_under

# The longest period a recap covers (its month chart has a bar per month).
MAX_MONTHS = 60
# How many stations the recap names; every station is in the spreadsheet.
TOP_STATIONS = 10
# How many sponsors the printed honour roll lists; the spreadsheet lists all.
HONOUR_LIMIT = 20


class ReportError(ValueError):
    """A report that cannot be made as asked; the message says why, in the user's language."""

    def __init__(self, message, field: str | None = None):
        super().__init__(str(message))
        self.message = message
        self.field = field


@dataclass(frozen=True)
class RecapScope:
    """What a recap covers: a campaign, a unit's subtree and the local days start to end."""

    campaign_id: int
    unit_id: int
    start: date
    end: date

    def params(self) -> dict[str, str]:
        """The scope as query-string parameters (the report URLs and the CLI speak these)."""
        return {
            "campaign": str(self.campaign_id),
            "unit": str(self.unit_id),
            "from": self.start.isoformat(),
            "to": self.end.isoformat(),
        }

    @classmethod
    def from_params(cls, params: dict[str, str]) -> RecapScope:
        """The scope that `params` wrote (a queued render carries its scope as strings)."""
        return cls(
            int(params["campaign"]),
            int(params["unit"]),
            date.fromisoformat(params["from"]),
            date.fromisoformat(params["to"]),
        )


def default_period(campaign: Campaign, today: date | None = None) -> tuple[date, date]:
    """The campaign's dates; an open campaign runs to today (or its start, if still ahead)."""
    today = today or local_today()
    end = campaign.ends_on or max(today, campaign.starts_on)
    return campaign.starts_on, end


def check_period(start: date, end: date) -> None:
    """Raise ReportError unless start to end is a period a recap can cover."""
    if end < start:
        raise ReportError(
            _("The period ends before it starts: pick an end date on or after the start."), "to"
        )
    if len(months_between(start, end)) > MAX_MONTHS:
        raise ReportError(
            _("A recap covers at most %(n)d months: choose a shorter period.", n=MAX_MONTHS), "to"
        )


# --- The data ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Line:
    """One row of a breakdown: a theme, sub-unit, month, group or station, with its figures."""

    key: str
    name: str
    activities: int = 0
    planned: int = 0
    served: int = 0
    stations: int = 0
    share: float = 0.0  # of the recap's served, in percent
    colour: str = ""
    detail: str = ""  # a station's unit, a sub-unit's level

    @property
    def per_activity(self) -> int:
        """Served per activity held, rounded."""
        return round(self.served / self.activities) if self.activities else 0


@dataclass(frozen=True)
class Headline:
    """The big figures at the top of the recap."""

    activities: int = 0
    planned: int = 0
    served: int = 0
    people: int = 0
    stations: int = 0
    new_stations: int = 0  # opened in the period
    open_stations: int = 0  # open on its last day
    sponsors: int = 0
    donations: int = 0
    value: Decimal = Decimal("0.00")


@dataclass(frozen=True)
class NetworkLine:
    """One host type or label: the subtree's stations of it open at the period's end, and the
    activities held and served at its stations in the period."""

    key: str  # the catalogue code
    name: str
    open_stations: int = 0
    activities: int = 0
    served: int = 0
    share: float = 0.0  # of the recap's served, in percent

    @property
    def per_activity(self) -> int:
        """Served per activity held, rounded."""
        return round(self.served / self.activities) if self.activities else 0


@dataclass(frozen=True)
class TargetLine:
    """A unit's targets for the campaign against the recap's actual figures."""

    unit_id: int
    name: str
    activities: Measure
    served: Measure
    stations: Measure
    is_own: bool = False

    @property
    def has_target(self) -> bool:
        """True when any figure has a target."""
        return any(m.target is not None for m in (self.activities, self.served, self.stations))

    @property
    def measures(self) -> list[tuple[str, Measure]]:
        """(name, measure) in display order."""
        return [
            ("activities", self.activities),
            ("served", self.served),
            ("stations", self.stations),
        ]


@dataclass(frozen=True)
class TrafficLine:
    """One row of the door traffic: a sub-unit, month or group, with its door visits
    (person-times) and distinct visitors."""

    key: str  # a sub-unit's id, a month's "YYYY-MM", a group's code
    name: str
    visits: int = 0
    visitors: int = 0
    share: float = 0.0  # of the recap's door visits, in percent
    detail: str = ""  # a sub-unit's level


@dataclass(frozen=True)
class TrafficSection:
    """The door traffic at the subtree's stations over the recap's period: the stations'
    measure, whatever the campaign, shown beside served and never added to it."""

    visits: int = 0
    visitors: int = 0
    units: list[TrafficLine] = field(default_factory=list)
    months: list[TrafficLine] = field(default_factory=list)
    groups: list[TrafficLine] = field(default_factory=list)


@dataclass(frozen=True)
class Recap:
    """Everything a recap shows, as plain values in one language."""

    scope: RecapScope
    campaign_name: str
    campaign_starts_on: date
    campaign_ends_on: date | None
    whole_campaign: bool
    unit_name: str
    unit_level: str
    unit_code: str
    unit_path: str
    generated_on: date
    headline: Headline
    themes: list[Line] = field(default_factory=list)
    units: list[Line] = field(default_factory=list)
    months: list[Line] = field(default_factory=list)
    groups: list[Line] = field(default_factory=list)
    stations: list[Line] = field(default_factory=list)
    host_types: list[NetworkLine] = field(default_factory=list)
    labels: list[NetworkLine] = field(default_factory=list)
    targets: list[TargetLine] = field(default_factory=list)
    honour: list[HonourLine] = field(default_factory=list)
    traffic: TrafficSection = field(default_factory=TrafficSection)
    # Confirmed volunteer service at the subtree's stations over the period's local days,
    # whatever the campaign, as door traffic is.
    volunteers: VolunteerHours = field(default_factory=VolunteerHours)

    @property
    def has_targets(self) -> bool:
        """True when any unit in the recap has a target."""
        return any(t.has_target for t in self.targets)


def large_recap_threshold() -> int:
    """REPORT_QUEUE_THRESHOLD: a recap of more activities than this is large, so it renders in
    the report worker (when a queue exists)."""
    return int(current_app.config.get("REPORT_QUEUE_THRESHOLD", 5000))


def analytic_transaction() -> None:
    """Tune the current transaction for a report's few large aggregates: on PostgreSQL, no
    JIT compilation, which costs about half a second per statement at province scale and
    saves nothing on queries that run once. Ends with the transaction."""
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(set_local("jit", "off"))


def build_recap(scope: RecapScope, now: datetime | None = None) -> Recap:
    """The recap of `scope`, labelled in the current language (a constant number of queries).

    The caller has checked the user's access to the campaign and unit, and the period.
    """
    now = now or utcnow()
    campaign = db.session.get(Campaign, scope.campaign_id)
    unit = db.session.get(Unit, scope.unit_id)
    if campaign is None or unit is None:
        raise LookupError("unknown campaign or unit")
    months = months_between(scope.start, scope.end)
    activity_scope = recap_activity_scope(scope.campaign_id, unit.path, scope.start, scope.end)
    analytic_transaction()
    children = _children(unit)
    rows = _breakdowns(activity_scope, unit, months, now, scope.end.year)
    total = rows.get(("total", None)) or (0, 0, 0, 0)
    served = total[2]
    network = station_network(unit.path, scope.start, scope.end)
    giving_scope = GivingScope(scope.campaign_id, unit.path, scope.start, scope.end)
    given = giving(giving_scope)
    headline = Headline(
        activities=total[0],
        planned=total[1],
        served=served,
        people=distinct_people(PeopleKind.SERVED, unit, scope.start, scope.end, scope.campaign_id),
        stations=total[3],
        new_stations=network.opened,
        open_stations=network.open,
        sponsors=given.sponsors,
        donations=given.donations,
        value=given.value,
    )
    unit_lines = _unit_lines(unit, children, rows, served)
    return Recap(
        scope=scope,
        campaign_name=campaign.name,
        campaign_starts_on=campaign.starts_on,
        campaign_ends_on=campaign.ends_on,
        whole_campaign=(scope.start, scope.end) == default_period(campaign),
        unit_name=unit.name,
        unit_level=unit.level.label,
        unit_code=unit.code or "",
        unit_path=unit.path,
        generated_on=now.astimezone(DEFAULT_ZONE).date(),
        headline=headline,
        themes=_theme_lines(rows, served),
        units=unit_lines,
        months=[
            _line(str(i), month_name(m), rows.get(("month", str(i))), served)
            for i, m in enumerate(months)
        ],
        groups=_group_lines(rows, served),
        stations=_station_lines(rows, served),
        host_types=_network_lines(network.host_types, rows, "host_type", served),
        labels=_network_lines(network.labels, rows, "label", served),
        targets=_target_lines(campaign, unit, children, headline, unit_lines),
        honour=honour_roll(giving_scope, limit=HONOUR_LIMIT),
        traffic=station_traffic(unit, children, scope.start, scope.end, months),
        volunteers=hours_under(unit.path, *days_utc_range(scope.start, scope.end)),
    )


def recap_activity_scope(campaign_id: int, unit_path: str, start: date, end: date) -> list:
    """The activities a recap counts: the campaign's, at the subtree's stations, starting in
    the local days start to end."""
    return [
        Activity.campaign_id == campaign_id,
        Activity.station_id.in_(select(Station.id).where(Station.under(unit_path))),
        *in_period(*days_utc_range(start, end)),
    ]


def activity_rows(scope: list, unit: Unit, months: Sequence[Month], now: datetime):
    """CTEs for reports to group in SQL: `parts`, the served rows of the scope (see
    attendance.queries.served_parts), and `acts`, one row per activity of the scope with its
    station, theme, month (index in `months`), sub-unit of `unit`, whether it was held or is
    planned at `now`, and its served."""
    parts = served_parts(scope).cte("parts")
    per_activity = (
        select(parts.c.activity_id, func.sum(parts.c.n).label("served"))
        .group_by(parts.c.activity_id)
        .subquery("per_activity")
    )
    children = station_child(unit).subquery("station_child")
    held = and_(not_cancelled(), Activity.starts_at <= now)
    planned = and_(not_cancelled(), Activity.starts_at > now)
    acts = (
        select(
            Activity.station_id.label("station_id"),
            Activity.theme_id.label("theme_id"),
            month_index(Activity.starts_at, months).label("month"),
            children.c.child_id.label("child_id"),
            case((held, 1), else_=0).label("held"),
            case((planned, 1), else_=0).label("planned"),
            case((held, Activity.station_id)).label("held_station"),
            func.coalesce(per_activity.c.served, 0).label("served"),
        )
        .select_from(Activity)
        .outerjoin(per_activity, per_activity.c.activity_id == Activity.id)
        .outerjoin(children, children.c.station_id == Activity.station_id)
        .where(*scope)
        .cte("acts")
    )
    return parts, acts


def _breakdowns(
    scope: list, unit: Unit, months: Sequence[Month], now: datetime, label_year: int
) -> dict:
    """{(dimension, key): (held, planned, served, stations)} for the whole scope ("total"),
    by theme, month (index), sub-unit, beneficiary group, the stations' host type and labels
    (awarded by `label_year`) and the top stations, from one statement: the served rows are
    read once, summed per activity, then grouped each way."""
    parts, acts = activity_rows(scope, unit, months, now)
    sums = (
        func.sum(acts.c.held),
        func.sum(acts.c.planned),
        func.sum(acts.c.served),
        func.count(distinct(acts.c.held_station)),
    )

    def by(dimension: str, key, stations: bool = False):
        # Counting distinct stations makes the database sort; only themes and sub-units,
        # few lines each, show them.
        figures = sums if stations else (*sums[:3], literal(0))
        return select(literal(dimension), cast(key, String), *figures).group_by(key)

    top = (
        select(acts.c.station_id, *(s.label(f"s{i}") for i, s in enumerate(sums[:3])))
        .group_by(acts.c.station_id)
        .having(func.sum(acts.c.held) + func.sum(acts.c.served) > 0)
        .order_by(func.sum(acts.c.served).desc(), func.sum(acts.c.held).desc(), acts.c.station_id)
        .limit(TOP_STATIONS)
        .subquery("top")
    )
    zero = literal(0)
    no_stations = (*sums[:3], zero)
    typed = acts.join(Station, Station.id == acts.c.station_id)
    labelled = acts.join(
        LabelAward, and_(LabelAward.station_id == acts.c.station_id, LabelAward.year <= label_year)
    )
    statement = union_all(
        select(literal("total"), cast(literal(None), String), *sums),
        by("theme", acts.c.theme_id, stations=True),
        by("month", acts.c.month),
        by("unit", acts.c.child_id, stations=True),
        select(literal("host_type"), cast(Station.host_type_id, String), *no_stations)
        .select_from(typed)
        .group_by(Station.host_type_id),
        select(literal("label"), cast(LabelAward.label_id, String), *no_stations)
        .select_from(labelled)
        .group_by(LabelAward.label_id),
        select(literal("station"), cast(top.c.station_id, String), *top.c[1:], literal(1)),
        select(
            literal("group"), cast(parts.c.group, String), zero, zero, func.sum(parts.c.n), zero
        ).group_by(parts.c.group),
    )
    return {
        (dimension, key): tuple(int(v or 0) for v in values)
        for dimension, key, *values in db.session.execute(statement)
    }


def _children(unit: Unit) -> list[Unit]:
    return list(
        db.session.scalars(
            select(Unit)
            .where(Unit.parent_id == unit.id)
            .order_by(Unit.code.is_(None), Unit.code, Unit.name, Unit.id)
        )
    )


def _share(part: int, whole: int) -> float:
    return round(part * 100 / whole, 1) if whole else 0.0


def _line(key: str, name: str, figures, whole: int, **extra) -> Line:
    held, planned, served, stations = figures or (0, 0, 0, 0)
    return Line(key, name, held, planned, served, stations, _share(served, whole), **extra)


def month_name(month: Month, width: str = "yMMM") -> str:
    """ "Jan 2024" / "2024年1月" (width "yMMMM": "January 2024") in the current language."""
    return format_skeleton(width, month.first_day, locale=get_locale())


def _theme_lines(rows: dict, whole: int) -> list[Line]:
    keyed = {int(key): figures for (dim, key), figures in rows.items() if dim == "theme"}
    if not keyed:
        return []
    english = (get_locale() is not None) and get_locale().language == "en"
    themes = db.session.execute(
        select(Theme.id, Theme.name_zh, Theme.name_en, Theme.colour).where(
            Theme.id.in_(list(keyed))
        )
    ).all()
    lines = [
        _line(str(tid), en if english else zh, keyed[tid], whole, colour=colour)
        for tid, zh, en, colour in themes
    ]
    return sorted(lines, key=lambda line: (-line.served, -line.activities, line.name))


def _unit_lines(unit: Unit, children: list[Unit], rows: dict, whole: int) -> list[Line]:
    lines = [
        _line(str(c.id), c.name, rows.get(("unit", str(c.id))), whole, detail=c.level.label)
        for c in children
    ]
    own = rows.get(("unit", str(unit.id)))
    if own and any(own):
        lines.append(
            _line(
                str(unit.id),
                _("%(unit)s (its own stations)", unit=unit.name),
                own,
                whole,
                detail=unit.level.label,
            )
        )
    return lines


def _group_lines(rows: dict, whole: int) -> list[Line]:
    lines = [
        _line(g.value, g.label, rows.get(("group", g.value)), whole)
        for g in BeneficiaryGroup
        if rows.get(("group", g.value))
    ]
    return sorted(lines, key=lambda line: -line.served)


def _station_lines(rows: dict, whole: int) -> list[Line]:
    keyed = {int(key): figures for (dim, key), figures in rows.items() if dim == "station"}
    if not keyed:
        return []
    names = {
        sid: (code, name, unit_name)
        for sid, code, name, unit_name in db.session.execute(
            select(Station.id, Station.code, Station.name, Unit.name)
            .join(Unit, Unit.id == Station.unit_id)
            .where(Station.id.in_(list(keyed)))
        )
    }
    lines = [
        _line(names[sid][0], names[sid][1], figures, whole, detail=names[sid][2])
        for sid, figures in keyed.items()
    ]
    return sorted(lines, key=lambda line: (-line.served, -line.activities, line.key))


@dataclass(frozen=True)
class CatalogueCount:
    """A catalogue value (host type or label) with the subtree's stations of it open."""

    id: int
    code: str
    name: str
    open_stations: int


@dataclass(frozen=True)
class StationNetwork:
    """The subtree's stations: opened in a period, open on its last day, and those open by
    host type and by label (every value of both catalogues, in catalogue order)."""

    opened: int
    open: int
    host_types: list[CatalogueCount]
    labels: list[CatalogueCount]


def station_network(path: str, start: date, end: date) -> StationNetwork:
    """The stations of the subtree at `path` that opened from `start` to `end`, those open on
    `end`, and those open per host type and per label held by `end`'s year, with the
    catalogues' names: one statement, whatever the size of the tree or the catalogues."""
    english = (get_locale() is not None) and get_locale().language == "en"
    in_scope = and_(Station.under(path), Station.open_on(end))
    empty = cast(literal(None), String)

    def values(dimension: str, model: type[Catalogued], counted, joined):
        name = model.name_en if english else model.name_zh
        return (
            select(
                literal(dimension),
                model.id,
                model.code,
                name,
                model.position,
                literal(0),
                func.count(counted),
            )
            .select_from(model)
            .outerjoin(*joined)
            .group_by(model.id, model.code, name, model.position)
        )

    open_here = select(Station.id).where(in_scope)
    statement = union_all(
        select(
            literal("total"),
            literal(0),
            empty,
            empty,
            literal(0),
            func.count(Station.id).filter(Station.opened_between(start, end)),
            func.count(Station.id).filter(Station.open_on(end)),
        ).where(Station.under(path)),
        values(
            "host_type",
            HostType,
            Station.id,
            (Station, and_(Station.host_type_id == HostType.id, in_scope)),
        ),
        values(
            "label",
            Label,
            LabelAward.id,
            (
                LabelAward,
                and_(
                    LabelAward.label_id == Label.id,
                    LabelAward.year <= end.year,
                    LabelAward.station_id.in_(open_here),
                ),
            ),
        ),
    )
    opened = open_ = 0
    found: dict[str, list[tuple]] = {"host_type": [], "label": []}
    for dimension, ident, code, name, position, first, second in db.session.execute(statement):
        if dimension == "total":
            opened, open_ = int(first or 0), int(second or 0)
        else:
            found[dimension].append((position, ident, code, name, int(second or 0)))

    def counts(dimension: str) -> list[CatalogueCount]:
        return [
            CatalogueCount(ident, code, name, n)
            for _position, ident, code, name, n in sorted(found[dimension])
        ]

    return StationNetwork(opened, open_, counts("host_type"), counts("label"))


def station_traffic(
    unit: Unit, children: list[Unit], start: date, end: date, months: Sequence[Month]
) -> TrafficSection:
    """The door traffic of `unit`'s subtree over the local days start to end: in all, per
    sub-unit (its own stations last, when they had visits), per month of `months` and per
    group with visits (four queries, whatever the size of the tree)."""
    total = traffic(unit.path, start, end)

    def line(key: str, name: str, figures, **extra) -> TrafficLine:
        return TrafficLine(
            key,
            name,
            figures.visits,
            figures.visitors,
            _share(figures.visits, total.visits),
            **extra,
        )

    by_child = traffic_by_child(unit, start, end)
    units = [
        line(str(c.id), c.name, by_child[c.id], detail=c.level.label)
        if c.id in by_child
        else TrafficLine(str(c.id), c.name, detail=c.level.label)
        for c in children
    ]
    if unit.id in by_child:
        units.append(
            line(
                str(unit.id),
                _("%(unit)s (its own stations)", unit=unit.name),
                by_child[unit.id],
                detail=unit.level.label,
            )
        )
    # The first and last month count the period's days only, so the months add up to it.
    by_month = traffic_by_month(unit.path, months, start, end)
    month_lines = [line(str(m), month_name(m), by_month[m]) for m in months]
    groups = [
        line(group.value, group.label, figures)
        for group, figures in traffic_by_group(unit.path, start, end).items()
        if figures.visits
    ]
    return TrafficSection(
        total.visits,
        total.visitors,
        units,
        month_lines,
        sorted(groups, key=lambda g: -g.visits),
    )


def _network_lines(
    values: list[CatalogueCount], rows: dict, dimension: str, whole: int
) -> list[NetworkLine]:
    """A line per catalogue value that has open stations or activities in the recap."""
    lines = []
    for value in values:
        held, _planned, served, _stations = rows.get((dimension, str(value.id))) or (0, 0, 0, 0)
        if value.open_stations or held or served:
            lines.append(
                NetworkLine(
                    value.code,
                    value.name,
                    value.open_stations,
                    held,
                    served,
                    _share(served, whole),
                )
            )
    return lines


def _target_lines(
    campaign: Campaign,
    unit: Unit,
    children: list[Unit],
    headline: Headline,
    unit_lines: list[Line],
) -> list[TargetLine]:
    """The unit's and each sub-unit's targets against the recap's figures (one query)."""
    stored = targets_of(campaign, [unit.id, *(c.id for c in children)])
    by_id = {line.key: line for line in unit_lines}

    def target_line(unit_id: int, name: str, figures: Line, is_own: bool) -> TargetLine:
        t = TargetValues.of(stored.get(unit_id))
        return TargetLine(
            unit_id,
            name,
            Measure(figures.activities, t.activities, figures.planned),
            Measure(figures.served, t.served),
            Measure(figures.stations, t.stations),
            is_own,
        )

    own = Line(
        str(unit.id),
        unit.name,
        headline.activities,
        headline.planned,
        headline.served,
        headline.stations,
    )
    lines = [target_line(unit.id, unit.name, own, True)]
    lines += [
        target_line(c.id, c.name, by_id.get(str(c.id)) or Line(str(c.id), c.name), False)
        for c in children
    ]
    return lines


def station_lines(scope: RecapScope, now: datetime | None = None) -> list[Line]:
    """Every station of the recap that held or planned an activity, with its figures, most
    served first (one query; for the spreadsheet, where long lists belong)."""
    now = now or utcnow()
    unit = db.session.get(Unit, scope.unit_id)
    activity_scope = recap_activity_scope(scope.campaign_id, unit.path, scope.start, scope.end)
    months = months_between(scope.start, scope.end)
    analytic_transaction()
    _parts, acts = activity_rows(activity_scope, unit, months, now)
    per_station = (
        select(
            acts.c.station_id,
            func.sum(acts.c.held).label("held"),
            func.sum(acts.c.planned).label("planned"),
            func.sum(acts.c.served).label("served"),
        )
        .group_by(acts.c.station_id)
        .subquery("per_station")
    )
    rows = db.session.execute(
        select(
            Station.code,
            Station.name,
            Unit.name,
            per_station.c.held,
            per_station.c.planned,
            per_station.c.served,
        )
        .join(Station, Station.id == per_station.c.station_id)
        .join(Unit, Unit.id == Station.unit_id)
        .order_by(per_station.c.served.desc(), per_station.c.held.desc(), Station.code)
    ).all()
    whole = sum(int(served or 0) for *_rest, served in rows)
    return [
        Line(
            code,
            name,
            int(held or 0),
            int(planned or 0),
            int(served or 0),
            1 if held else 0,
            _share(int(served or 0), whole),
            detail=unit_name,
        )
        for code, name, unit_name, held, planned, served in rows
    ]
