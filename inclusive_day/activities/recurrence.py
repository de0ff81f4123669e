"""Dates of a series: a repeating rule (RFC 5545 RRULE), explicit dates and excluded dates.

The rule is kept as an RRULE string so that it reads the same in a calendar feed; dateutil
expands it. A "second Sunday of every month" is `FREQ=MONTHLY;BYDAY=2SU`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from babel.lists import format_list
from dateutil.rrule import DAILY, MONTHLY, WEEKLY, rrule, rrulestr
from flask_babel import format_date, get_locale
from flask_babel import lazy_gettext as _l

from inclusive_day.enums import LabelledEnum

RRULE_DAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")


class Repeat(LabelledEnum):
    """How the dates of a series repeat."""

    NONE = "none"
    DAILY = "daily"
    WEEKLY = "weekly"
    MONTHLY_DAY = "monthly_day"
    MONTHLY_WEEKDAY = "monthly_weekday"

    @classmethod
    def _labels(cls) -> dict:
        return {
            cls.NONE: _l("only the dates listed"),
            cls.DAILY: _l("every day"),
            cls.WEEKLY: _l("every week, on the days ticked"),
            cls.MONTHLY_DAY: _l("every month, on the same day of the month"),
            cls.MONTHLY_WEEKDAY: _l("every month, on a weekday such as the second Sunday"),
        }


WEEKDAY_LABELS = (
    _l("Monday"),
    _l("Tuesday"),
    _l("Wednesday"),
    _l("Thursday"),
    _l("Friday"),
    _l("Saturday"),
    _l("Sunday"),
)
NTH_LABELS = {1: _l("first"), 2: _l("second"), 3: _l("third"), 4: _l("fourth"), -1: _l("last")}


class RuleError(ValueError):
    """A set of dates that cannot be scheduled; `message` says why in the user's language."""

    def __init__(self, message) -> None:
        super().__init__(str(message))
        self.message = message


@dataclass(frozen=True)
class DateRule:
    """Which dates a series falls on."""

    first: date  # the one date, or where a repeating rule starts (a date only if it matches)
    repeat: Repeat = Repeat.NONE
    until: date | None = None
    count: int | None = None
    interval: int = 1
    weekdays: tuple[int, ...] = ()  # 0 = Monday, for WEEKLY
    nth: int | None = None  # 1..4 or -1 (last), for MONTHLY_WEEKDAY
    nth_weekday: int | None = None  # 0 = Monday, for MONTHLY_WEEKDAY
    dates: tuple[date, ...] = field(default=())
    excluded: tuple[date, ...] = field(default=())

    def check(self) -> None:
        """Raise RuleError unless the rule names a finite, sensible set of dates."""
        if self.interval < 1:
            raise RuleError(_l("The interval must be at least 1."))
        if self.repeat is Repeat.NONE:
            return
        if self.until is None and self.count is None:
            raise RuleError(
                _l("Say when a repeating series ends: an end date or a number of dates.")
            )
        if self.until is not None and self.until < self.first:
            raise RuleError(_l("The series cannot end before its first date."))
        if self.count is not None and self.count < 1:
            raise RuleError(_l("The number of dates must be at least 1."))
        if self.repeat is Repeat.WEEKLY and not self.weekdays:
            raise RuleError(_l("Tick at least one day of the week."))
        if self.repeat is Repeat.MONTHLY_WEEKDAY and (
            self.nth not in NTH_LABELS or self.nth_weekday not in range(7)
        ):
            raise RuleError(_l("Choose which weekday of the month, such as the second Sunday."))

    def rrule(self) -> str:
        """The repeating part as an RRULE value (no DTSTART); empty when there is none."""
        if self.repeat is Repeat.NONE:
            return ""
        parts = {
            Repeat.DAILY: ["FREQ=DAILY"],
            Repeat.WEEKLY: [
                "FREQ=WEEKLY",
                "BYDAY=" + ",".join(RRULE_DAYS[d] for d in self.weekdays),
            ],
            Repeat.MONTHLY_DAY: ["FREQ=MONTHLY", f"BYMONTHDAY={self.first.day}"],
            Repeat.MONTHLY_WEEKDAY: [
                "FREQ=MONTHLY",
                f"BYDAY={self.nth}{RRULE_DAYS[self.nth_weekday or 0]}",
            ],
        }[self.repeat]
        if self.interval != 1:
            parts.append(f"INTERVAL={self.interval}")
        if self.until is not None:
            parts.append(f"UNTIL={self.until:%Y%m%d}")
        if self.count is not None:
            parts.append(f"COUNT={self.count}")
        return ";".join(parts)

    def occurrences(self, limit: int) -> list[date]:
        """The dates, sorted, without the excluded ones; at most `limit + 1` of them, so that a
        caller can tell that a rule goes past its limit without expanding all of it."""
        self.check()
        found = set(self.dates)
        if self.repeat is Repeat.NONE:
            found.add(self.first)
        else:
            found.update(expand(self.rrule(), self.first, limit + 1 + len(self.excluded)))
        found.difference_update(self.excluded)
        return sorted(found)[: limit + 1]


def expand(rule: str, first: date, limit: int) -> list[date]:
    """The first `limit` dates of an RRULE value starting on `first`."""
    start = datetime.combine(first, datetime.min.time())
    dates = []
    for moment in rrulestr(rule, dtstart=start):
        if len(dates) >= limit:
            break
        dates.append(moment.date())
    return dates


def describe(rule: str, first: date) -> str:
    """A stored RRULE in words, in the user's language ("every week on Saturday until ...")."""
    if not rule:
        return str(_l("on the dates listed"))
    parsed = rrulestr(rule, dtstart=datetime.combine(first, datetime.min.time()))
    assert isinstance(parsed, rrule)
    # dateutil keeps these on private attributes; they are part of its stable repr too.
    freq, interval = parsed._freq, parsed._interval
    until, count = parsed._until, parsed._count
    if freq == DAILY:
        text = _l("every %(n)s days", n=interval) if interval > 1 else _l("every day")
    elif freq == WEEKLY:
        days = format_list(
            [str(WEEKDAY_LABELS[d]) for d in sorted(parsed._byweekday or ())],
            locale=get_locale() or "zh",
        )
        text = (
            _l("every %(n)s weeks on %(days)s", n=interval, days=days)
            if interval > 1
            else _l("every week on %(days)s", days=days)
        )
    elif freq == MONTHLY and parsed._bynweekday:
        day, nth = parsed._bynweekday[0]
        text = _l(
            "every month on the %(nth)s %(day)s",
            nth=NTH_LABELS.get(nth, str(nth)),
            day=WEEKDAY_LABELS[day],
        )
    elif freq == MONTHLY:
        text = _l("every month on day %(day)s", day=(parsed._bymonthday or (first.day,))[0])
    else:
        text = _l("repeating")
    if until is not None:
        return str(_l("%(rule)s until %(day)s", rule=text, day=format_date(until.date(), "medium")))
    if count is not None:
        return str(_l("%(rule)s (%(n)s times)", rule=text, n=count))
    return str(text)
