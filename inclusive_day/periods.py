"""Time on the ground floor: the one zone rule, local days, months and their UTC ranges.

Every domain dates and buckets moments through here, so a unit's day is the same day on every
page, report and query. Stored instants are UTC; days and months are local to a zone.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import ColumnElement, Date, case, literal
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement

DEFAULT_ZONE = ZoneInfo("Asia/Shanghai")  # China Standard Time, where every unit is by default


def zone_of(name: str | None) -> ZoneInfo:
    """The zone a unit's `timezone` names, else China Standard Time: a bad name never breaks."""
    if not name:
        return DEFAULT_ZONE
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):  # OSError: a folder such as "Asia"
        return DEFAULT_ZONE


@dataclass(frozen=True)
class Month:
    """One calendar month in a time zone."""

    year: int
    month: int

    @classmethod
    def parse(cls, text: str) -> Month:
        """Read 'YYYY-MM'; ValueError otherwise."""
        year_text, _, month_text = text.partition("-")
        if len(year_text) != 4 or len(month_text) != 2:
            raise ValueError(text)
        month = cls(int(year_text), int(month_text))
        if not 1 <= month.month <= 12 or not 2000 <= month.year <= 2100:
            raise ValueError(text)
        return month

    @classmethod
    def containing(cls, moment: datetime, zone: ZoneInfo = DEFAULT_ZONE) -> Month:
        """The month that `moment` falls in, in `zone`."""
        local = moment.astimezone(zone)
        return cls(local.year, local.month)

    @property
    def first_day(self) -> date:
        """The month's first day, where its ranges and labels start."""
        return date(self.year, self.month, 1)

    def shift(self, months: int) -> Month:
        """The month `months` later (or earlier, when negative)."""
        index = self.year * 12 + self.month - 1 + months
        return Month(index // 12, index % 12 + 1)

    def utc_range(self, zone: ZoneInfo = DEFAULT_ZONE) -> tuple[datetime, datetime]:
        """[start, end) of the month in `zone`, as UTC instants."""
        nxt = self.shift(1)
        start = datetime(self.year, self.month, 1, tzinfo=zone)
        end = datetime(nxt.year, nxt.month, 1, tzinfo=zone)
        return start.astimezone(UTC), end.astimezone(UTC)

    def __str__(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"


def local_today(zone: ZoneInfo = DEFAULT_ZONE) -> date:
    """Today's date where the units are (China), not where the server's clock is."""
    return datetime.now(zone).date()


def local_moment(moment: datetime, zone: ZoneInfo = DEFAULT_ZONE) -> datetime:
    """A stored (UTC) moment as the units' clocks show it, offset and all (+08:00)."""
    return moment.astimezone(zone)


def add_months(day: date, months: int) -> date:
    """The same day `months` later (or earlier), clamped to the end of a shorter month."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    month += 1
    last = (date(year + month // 12, month % 12 + 1, 1) - date.resolution).day
    return date(year, month, min(day.day, last))


def day_start(day: date, zone: ZoneInfo = DEFAULT_ZONE) -> datetime:
    """Midnight at the start of `day` in `zone`, as a UTC instant."""
    return datetime.combine(day, time(), tzinfo=zone).astimezone(UTC)


def days_utc_range(
    first: date, last: date, zone: ZoneInfo = DEFAULT_ZONE
) -> tuple[datetime, datetime]:
    """[start, end) of the local days `first` to `last` (both included), as UTC instants."""
    return day_start(first, zone), day_start(last + timedelta(days=1), zone)


def months_between(first: date, last: date) -> list[Month]:
    """Every calendar month that the days `first` to `last` touch, in order."""
    start, end = Month(first.year, first.month), Month(last.year, last.month)
    count = (end.year - start.year) * 12 + end.month - start.month + 1
    return [start.shift(i) for i in range(max(count, 0))]


def month_index(column: ColumnElement, months: Sequence[Month], zone: ZoneInfo = DEFAULT_ZONE):
    """SQL: the position in `months` of the local month that the UTC instant `column` falls
    in (-1 before the first). The boundaries are computed here in `zone`, so SQLite and
    PostgreSQL bucket alike, whatever the server's time zone."""
    if not months:
        return literal(-1)
    bounds = [m.utc_range(zone)[0] for m in months[1:]] + [months[-1].utc_range(zone)[1]]
    first = months[0].utc_range(zone)[0]
    whens = [(column < first, -1)]
    whens += [(column < bound, index) for index, bound in enumerate(bounds)]
    return case(*whens, else_=len(months))


class _LocalDay(FunctionElement):
    """SQL: the local calendar day of a UTC instant (see `local_day`)."""

    type = Date()
    name = "local_day"
    inherit_cache = True


@compiles(_LocalDay)
def _local_day_postgresql(element, compiler, **kw) -> str:
    column, zone, _offset = (compiler.process(c, **kw) for c in element.clauses)
    return f"CAST(timezone({zone}, {column}) AS DATE)"


@compiles(_LocalDay, "sqlite")
def _local_day_sqlite(element, compiler, **kw) -> str:
    column, _zone, offset = (compiler.process(c, **kw) for c in element.clauses)
    return f"date({column}, {offset})"


def local_day(column: ColumnElement, zone: ZoneInfo = DEFAULT_ZONE) -> ColumnElement:
    """SQL: the calendar day in `zone` of the UTC instant `column`, as a DATE, for comparing
    stored instants with days that vary row by row (a tenure's first day). PostgreSQL applies
    the zone's rules; SQLite its offset on 1 January, which is right for zones without summer
    time, such as China's."""
    offset = zone.utcoffset(datetime(2000, 1, 1)) or timedelta()
    minutes = int(offset.total_seconds() // 60)
    return _LocalDay(column, literal(zone.key), literal(f"{minutes:+d} minutes"))


class _DayAfter(FunctionElement):
    """SQL: the day after a DATE (see `day_after`)."""

    type = Date()
    name = "day_after"
    inherit_cache = True


@compiles(_DayAfter)
def _day_after_postgresql(element, compiler, **kw) -> str:
    (column,) = (compiler.process(c, **kw) for c in element.clauses)
    return f"({column} + 1)"


@compiles(_DayAfter, "sqlite")
def _day_after_sqlite(element, compiler, **kw) -> str:
    (column,) = (compiler.process(c, **kw) for c in element.clauses)
    return f"date({column}, '+1 day')"


def day_after(column: ColumnElement) -> ColumnElement:
    """SQL: the day after the DATE `column`, on SQLite and PostgreSQL alike (an inclusive last
    day made the first day excluded)."""
    return _DayAfter(column)
