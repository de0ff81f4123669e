"""Month, week and list calendars of activities for any subtree, in the local zone.

Each calendar is a constant number of SQL queries whatever the number of activities or
stations: the rows are Core selects of the columns shown (no ORM objects, no lazy loads),
the subtree and the access rule are subqueries, and the month grid asks the database for
at most `PER_DAY` activities a day plus each day's total (window functions), so a busy
month costs the same to draw as a quiet one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from math import ceil
from zoneinfo import ZoneInfo

from flask_babel import get_locale
from sqlalchemy import ColumnElement, Select, case, func, or_, select

from inclusive_day.access.rule import Action, visible
from inclusive_day.activities.models import Activity, ActivityStatus
from inclusive_day.campaigns.models import Campaign, Theme
from inclusive_day.extensions import db
from inclusive_day.periods import DEFAULT_ZONE, Month
from inclusive_day.stations.models import Station
from inclusive_day.units.models import Level, Unit, units_under

# Activities drawn in one day cell of the month grid; the rest are "+N more".
PER_DAY = 4
# Rows on one page of the list view.
PER_PAGE = 50
# A subtree with more stations than this gets a station-code box instead of a select.
STATION_CHOICES_MAX = 150
# Campaigns offered in the filter (the newest; a chosen older one is always offered too).
CAMPAIGN_CHOICES_MAX = 200


@dataclass(frozen=True)
class Filters:
    """What a calendar shows: the subtrees (none: all the user may see) and optional filters."""

    unit_paths: tuple[str, ...] = ()
    theme_id: int | None = None
    station_id: int | None = None
    campaign_id: int | None = None


@dataclass
class Item:
    """One activity as a calendar draws it, its times already in the local zone."""

    id: int
    title: str
    starts_at: datetime
    ends_at: datetime
    cancelled: bool
    theme_name: str
    colour: str
    station_name: str
    campaign_name: str = ""

    @property
    def start_time(self) -> str:
        """The local start time, 24-hour clock."""
        return self.starts_at.strftime("%H:%M")

    @property
    def end_time(self) -> str:
        """The local end time, 24-hour clock."""
        return self.ends_at.strftime("%H:%M")


@dataclass
class Day:
    """One local day: its first activities and how many it has in all."""

    day: date
    items: list[Item] = field(default_factory=list)
    total: int = 0
    in_period: bool = True
    is_today: bool = False

    @property
    def more(self) -> int:
        """Activities of the day that are not drawn."""
        return self.total - len(self.items)


@dataclass
class MonthGrid:
    """A month as Monday-first weeks of days (with the neighbouring months' days to fill)."""

    month: Month
    weeks: list[list[Day]]
    total: int


@dataclass
class ListPage:
    """One page of the list view and the count of everything that matches."""

    items: list[Item]
    total: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        """How many pages the matches fill (at least one)."""
        return max(1, ceil(self.total / self.per_page))

    @property
    def first_number(self) -> int:
        """The position of the page's first row among all matches (1-based)."""
        return (self.page - 1) * self.per_page + 1 if self.total else 0

    @property
    def last_number(self) -> int:
        """The position of the page's last row among all matches."""
        return self.first_number + len(self.items) - 1 if self.items else 0


@dataclass
class Choice:
    """One option of a filter select."""

    id: int
    label: str
    depth: int = 0
    colour: str = ""


@dataclass
class FilterChoices:
    """What the filter form offers for one subtree."""

    units: list[Choice]
    themes: list[Choice]
    campaigns: list[Choice]
    # None when the subtree has too many stations for a select: the form asks for a code.
    stations: list[Choice] | None


# Periods


def monday_of(day: date) -> date:
    """The Monday of the week `day` falls in (weeks run Monday to Sunday)."""
    return day - timedelta(days=day.weekday())


def grid_days(month: Month) -> tuple[date, date]:
    """The first (a Monday) and last (a Sunday) days of the month's grid."""
    first = month.first_day
    last = month.shift(1).first_day - timedelta(days=1)
    return monday_of(first), monday_of(last) + timedelta(days=6)


def utc_bounds(first: date, last: date, zone: ZoneInfo = DEFAULT_ZONE) -> tuple[datetime, datetime]:
    """[start, end) in UTC of the local days `first` to `last`, both included."""
    return _midnight(first, zone), _midnight(last + timedelta(days=1), zone)


def _midnight(day: date, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, time(0), tzinfo=zone).astimezone(UTC)


def _days(first: date, last: date) -> list[date]:
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]


# The rows a calendar may show


def scope(user, filters: Filters) -> list[ColumnElement[bool]]:
    """WHERE clauses: what `user` may see, under the chosen units, narrowed by the filters."""
    clauses = [visible(user, Action.VIEW, Activity)]
    if filters.unit_paths:
        clauses.append(
            Activity.station_id.in_(select(Station.id).where(Station.under(*filters.unit_paths)))
        )
    if filters.theme_id is not None:
        clauses.append(Activity.theme_id == filters.theme_id)
    if filters.station_id is not None:
        clauses.append(Activity.station_id == filters.station_id)
    if filters.campaign_id is not None:
        clauses.append(Activity.campaign_id == filters.campaign_id)
    return clauses


def _in(start: datetime, end: datetime) -> list[ColumnElement[bool]]:
    return [Activity.starts_at >= start, Activity.starts_at < end]


def _shown(activities) -> Select:
    """The columns a calendar draws, for the activity rows of `activities` (table or subquery)."""
    theme_name = Theme.name_en if _english() else Theme.name_zh
    return (
        select(
            activities.c.id,
            activities.c.title,
            activities.c.starts_at,
            activities.c.ends_at,
            activities.c.status,
            theme_name,
            Theme.colour,
            Station.name,
            Campaign.name,
        )
        .join(Theme, Theme.id == activities.c.theme_id)
        .join(Station, Station.id == activities.c.station_id)
        .join(Campaign, Campaign.id == activities.c.campaign_id)
    )


def _english() -> bool:
    locale = get_locale()
    return locale is not None and locale.language == "en"


def _item(row, zone: ZoneInfo) -> Item:
    return Item(
        id=row[0],
        title=row[1],
        starts_at=row[2].astimezone(zone),
        ends_at=row[3].astimezone(zone),
        cancelled=row[4] == ActivityStatus.CANCELLED,
        theme_name=row[5],
        colour=row[6],
        station_name=row[7],
        campaign_name=row[8],
    )


# The three calendars


def month_grid(
    user, month: Month, filters: Filters, today: date, zone: ZoneInfo = DEFAULT_ZONE
) -> MonthGrid:
    """The month's grid: per local day its first `PER_DAY` activities and its total.

    One query: the day of each activity is a CASE over the UTC bounds of the grid's local
    days, and window functions rank and count the activities of each day.
    """
    first, last = grid_days(month)
    days = _days(first, last)
    bounds = [_midnight(d, zone) for d in [*days, last + timedelta(days=1)]]
    day_index = case(
        *[(Activity.starts_at < bound, i) for i, bound in enumerate(bounds[1:])]
    ).label("day_index")
    matching = (
        select(
            Activity.id,
            Activity.title,
            Activity.starts_at,
            Activity.ends_at,
            Activity.status,
            Activity.theme_id,
            Activity.station_id,
            Activity.campaign_id,
            day_index,
        )
        .where(*scope(user, filters), *_in(bounds[0], bounds[-1]))
        .subquery("matching")
    )
    ranked = select(
        matching,
        func.row_number()
        .over(
            partition_by=matching.c.day_index,
            order_by=(matching.c.starts_at, matching.c.id),
        )
        .label("rank"),
        func.count().over(partition_by=matching.c.day_index).label("day_total"),
    ).subquery("ranked")
    stmt = (
        _shown(ranked)
        .add_columns(ranked.c.day_index, ranked.c.day_total)
        .where(ranked.c.rank <= PER_DAY)
        .order_by(ranked.c.day_index, ranked.c.rank)
    )
    month_first, month_last = month.first_day, month.shift(1).first_day - timedelta(days=1)
    cells = [Day(d, in_period=month_first <= d <= month_last, is_today=d == today) for d in days]
    for row in db.session.execute(stmt):
        cell = cells[row.day_index]
        cell.items.append(_item(row, zone))
        cell.total = row.day_total
    weeks = [cells[i : i + 7] for i in range(0, len(cells), 7)]
    total = sum(c.total for c in cells if c.in_period)
    return MonthGrid(month, weeks, total)


def week_days(
    user, monday: date, filters: Filters, today: date, zone: ZoneInfo = DEFAULT_ZONE
) -> list[Day]:
    """The seven local days from `monday`, each with every activity, by local start time."""
    days = [Day(d, is_today=d == today) for d in _days(monday, monday + timedelta(days=6))]
    start, end = utc_bounds(monday, monday + timedelta(days=6), zone)
    table = Activity.__table__
    stmt = (
        _shown(table)
        .where(*scope(user, filters), *_in(start, end))
        .order_by(Activity.starts_at, Activity.id)
    )
    for row in db.session.execute(stmt):
        item = _item(row, zone)
        cell = days[(item.starts_at.date() - monday).days]
        cell.items.append(item)
        cell.total += 1
    return days


def list_page(
    user,
    first: date,
    last: date,
    filters: Filters,
    page: int = 1,
    per_page: int = PER_PAGE,
    zone: ZoneInfo = DEFAULT_ZONE,
) -> ListPage:
    """The activities of local days `first`..`last`, by start time, one page of them.

    A page past the end shows the last page.
    """
    start, end = utc_bounds(first, last, zone)
    where = [*scope(user, filters), *_in(start, end)]
    total = db.session.scalar(select(func.count(Activity.id)).where(*where)) or 0
    page = max(1, min(page, max(1, ceil(total / per_page))))
    stmt = (
        _shown(Activity.__table__)
        .where(*where)
        .order_by(Activity.starts_at, Activity.id)
        .limit(per_page)
        .offset((page - 1) * per_page)
    )
    items = [_item(row, zone) for row in db.session.execute(stmt)] if total else []
    return ListPage(items, total, page, per_page)


# Filters


def units_shown(unit: Unit | None, tops: list[Unit]) -> tuple[str, ...]:
    """The subtree paths a calendar covers: the chosen unit, else every top unit."""
    if unit is not None:
        return (unit.path,)
    return tuple(u.path for u in tops)


def find_station(user, station_id: int | None, code: str | None, paths: tuple[str, ...]):
    """(id, code, name) of a station the user may see under `paths`, by id or code; or None."""
    stmt = select(Station.id, Station.code, Station.name).where(
        visible(user, Action.VIEW, Station), *_station_under(paths)
    )
    if station_id is not None:
        stmt = stmt.where(Station.id == station_id)
    elif code:
        stmt = stmt.where(func.upper(Station.code) == code.strip().upper())
    else:
        return None
    return db.session.execute(stmt.limit(1)).first()


def _station_under(paths: tuple[str, ...]) -> list[ColumnElement[bool]]:
    if not paths:
        return []
    return [Station.under(*paths)]


def filter_choices(
    user, unit: Unit | None, tops: list[Unit], paths: tuple[str, ...], campaign_id: int | None
) -> FilterChoices:
    """The options of the filter form: units, themes, campaigns and (if few) stations.

    Four queries however large the subtree: stations are offered only when there are at
    most `STATION_CHOICES_MAX` of them.
    """
    return FilterChoices(
        units=_unit_choices(user, unit, tops),
        themes=_theme_choices(unit, tops, paths),
        campaigns=_campaign_choices(user, campaign_id),
        stations=_station_choices(user, paths),
    )


def _unit_choices(user, unit: Unit | None, tops: list[Unit]) -> list[Choice]:
    """The top units, the chosen unit's ancestors the user may see, and its sub-units."""
    wanted = [Unit.id.in_([t.id for t in tops])]
    parents = [unit.id] if unit is not None else [t.id for t in tops]
    wanted.append(Unit.parent_id.in_(parents))
    if unit is not None:
        wanted.append(Unit.id.in_(unit.ancestor_ids))
    rows = db.session.execute(
        select(Unit.id, Unit.name, Unit.path, Unit.level)
        .where(or_(*wanted), visible(user, Action.VIEW, Unit))
        .order_by(Unit.path)
    ).all()
    top_depth = min((r.path.count("/") for r in rows), default=0)
    return [
        Choice(r.id, f"{r.name} · {Level(r.level).label}", r.path.count("/") - top_depth)
        for r in rows
    ]


def _theme_choices(unit: Unit | None, tops: list[Unit], paths: tuple[str, ...]) -> list[Choice]:
    """The shared catalogue and the themes units in or above the subtree added."""
    chosen = [unit] if unit is not None else tops
    above = sorted({i for u in chosen for i in u.ancestor_ids})
    local = [Theme.unit_id.in_(above)]
    if paths:
        local.append(Theme.unit_id.in_(units_under(*paths)))
    name = Theme.name_en if _english() else Theme.name_zh
    rows = db.session.execute(
        select(Theme.id, name, Theme.colour)
        .where(or_(Theme.unit_id.is_(None), *local))
        .order_by(Theme.unit_id.is_not(None), Theme.id)
    ).all()
    return [Choice(r[0], r[1], colour=r[2]) for r in rows]


def _campaign_choices(user, campaign_id: int | None) -> list[Choice]:
    """The newest campaigns the user may see, the chosen one always among them."""
    chosen_first = (Campaign.id == (campaign_id or 0)).desc()
    rows = db.session.execute(
        select(Campaign.id, Campaign.name, Campaign.starts_on)
        .where(visible(user, Action.VIEW, Campaign))
        .order_by(chosen_first, Campaign.starts_on.desc(), Campaign.id.desc())
        .limit(CAMPAIGN_CHOICES_MAX)
    ).all()
    rows.sort(key=lambda r: (r.starts_on, r.id), reverse=True)
    return [Choice(r.id, r.name) for r in rows]


def _station_choices(user, paths: tuple[str, ...]) -> list[Choice] | None:
    """The subtree's stations by code, or None when there are too many for a select."""
    rows = db.session.execute(
        select(Station.id, Station.code, Station.name)
        .where(visible(user, Action.VIEW, Station), *_station_under(paths))
        .order_by(Station.code)
        .limit(STATION_CHOICES_MAX + 1)
    ).all()
    if len(rows) > STATION_CHOICES_MAX:
        return None
    return [Choice(r.id, f"{r.name} ({r.code})") for r in rows]
