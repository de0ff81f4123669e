"""Festival dates: the Chinese festivals, the 24 solar terms and the union's Gregorian days.

Lunar dates and solar terms come from `lunar_python` (the 寿星 algorithm, in Beijing time).
A lunar festival's date "in year Y" is the Gregorian date inside Y, so the festivals of the
12th lunar month (Laba, Little New Year, New Year's Eve) usually fall in January or February and
belong to the lunar year before: "Laba 2024" is lunar 2023-12-08, 2024-01-18.

Laba is the one festival that can miss a Gregorian year or fall in it twice: when a 12th lunar
month starts on 22-24 December, its 8th day falls on 29-31 December, and when the next lunar
year has a leap month its Laba slips to the January after next. Between 1901 and 2100 this
leaves 13 years without a Laba (1909, 1928, 1947, 1966, 1974, 1993, 2004, 2023, 2042, 2061,
2069, 2080, 2099) and the years before them with two (2022: 10 January and 30 December).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import lru_cache

from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel.speaklater import LazyString
from lunar_python import Lunar, LunarYear, Solar
from lunar_python.util import LunarUtil

from inclusive_day.enums import LabelledEnum

# The years the library's dates were checked for: against the Hong Kong Observatory's tables
# (lunar dates; they differ only where a new moon falls within minutes of midnight, Mid-Autumn
# 1978 and Double Ninth 2057, and the library follows the Purple Mountain Observatory there)
# and an ephemeris (solar terms), 1901-2100 being the range those tables are published for.
MIN_YEAR = 1901
MAX_YEAR = 2100

# The JieQi table names next year's December and early-year terms in pinyin capitals.
_TERM_KEYS = {
    "DA_XUE": "大雪",
    "DONG_ZHI": "冬至",
    "XIAO_HAN": "小寒",
    "DA_HAN": "大寒",
    "LI_CHUN": "立春",
    "YU_SHUI": "雨水",
    "JING_ZHE": "惊蛰",
}
LAST_DAY = 0  # `Festival.day` for "the last day of the month" (New Year's Eve)


class FestivalKind(LabelledEnum):
    """Which calendar a festival's date comes from."""

    LUNAR = "lunar"
    SOLAR_TERM = "solar_term"
    GREGORIAN = "gregorian"

    @classmethod
    def _labels(cls) -> dict:
        return {
            cls.LUNAR: _l("Traditional festival"),
            cls.SOLAR_TERM: _l("Solar term"),
            cls.GREGORIAN: _l("Gregorian holiday"),
        }


@dataclass(frozen=True)
class Festival:
    """A day worth an activity: a lunar festival, a solar term or a Gregorian holiday.

    Lunar festivals give a lunar `month` and `day` (`LAST_DAY` for the month's last day),
    Gregorian ones a Gregorian `month` and `day`, solar terms the library's Chinese `term` name.
    """

    code: str
    label: LazyString = field(compare=False)
    kind: FestivalKind
    month: int = 0
    day: int = 0
    term: str = ""

    @property
    def name(self) -> str:
        """The festival's name in the user's language."""
        return str(self.label)


def _lunar(code: str, label, month: int, day: int) -> Festival:
    return Festival(code, label, FestivalKind.LUNAR, month=month, day=day)


def _gregorian(code: str, label, month: int, day: int) -> Festival:
    return Festival(code, label, FestivalKind.GREGORIAN, month=month, day=day)


def _term(code: str, label, term: str) -> Festival:
    return Festival(code, label, FestivalKind.SOLAR_TERM, term=term)


FESTIVALS: tuple[Festival, ...] = (
    _lunar("spring_festival", _l("Spring Festival"), 1, 1),
    _lunar("lantern", _l("Lantern Festival"), 1, 15),
    _lunar("dragon_boat", _l("Dragon Boat Festival"), 5, 5),
    _lunar("qixi", _l("Qixi Festival"), 7, 7),
    _lunar("mid_autumn", _l("Mid-Autumn Festival"), 8, 15),
    _lunar("double_ninth", _l("Double Ninth Festival"), 9, 9),
    _lunar("laba", _l("Laba Festival"), 12, 8),
    _lunar("little_new_year", _l("Little New Year"), 12, 23),
    _lunar("new_years_eve", _l("Lunar New Year's Eve"), 12, LAST_DAY),
    _gregorian("new_year", _l("New Year's Day"), 1, 1),
    _gregorian("womens_day", _l("International Women's Day"), 3, 8),
    _gregorian("labour_day", _l("Labour Day"), 5, 1),
    _gregorian("national_day", _l("National Day"), 10, 1),
    _term("lichun", _l("Start of Spring"), "立春"),
    _term("yushui", _l("Rain Water"), "雨水"),
    _term("jingzhe", _l("Awakening of Insects"), "惊蛰"),
    _term("chunfen", _l("Spring Equinox"), "春分"),
    _term("qingming", _l("Pure Brightness (Qingming)"), "清明"),
    _term("guyu", _l("Grain Rain"), "谷雨"),
    _term("lixia", _l("Start of Summer"), "立夏"),
    _term("xiaoman", _l("Grain Buds"), "小满"),
    _term("mangzhong", _l("Grain in Ear"), "芒种"),
    _term("xiazhi", _l("Summer Solstice"), "夏至"),
    _term("xiaoshu", _l("Minor Heat"), "小暑"),
    _term("dashu", _l("Major Heat"), "大暑"),
    _term("liqiu", _l("Start of Autumn"), "立秋"),
    _term("chushu", _l("End of Heat"), "处暑"),
    _term("bailu", _l("White Dew"), "白露"),
    _term("qiufen", _l("Autumn Equinox"), "秋分"),
    _term("hanlu", _l("Cold Dew"), "寒露"),
    _term("shuangjiang", _l("Frost's Descent"), "霜降"),
    _term("lidong", _l("Start of Winter"), "立冬"),
    _term("xiaoxue", _l("Minor Snow"), "小雪"),
    _term("daxue", _l("Major Snow"), "大雪"),
    _term("dongzhi", _l("Winter Solstice"), "冬至"),
    _term("xiaohan", _l("Minor Cold"), "小寒"),
    _term("dahan", _l("Major Cold"), "大寒"),
)
_BY_CODE = {f.code: f for f in FESTIVALS}


class FestivalError(ValueError):
    """A festival date that cannot be given; the message (translatable) says why."""

    def __init__(self, message):
        super().__init__(message)
        self.message = message


class UnknownFestivalError(FestivalError):
    """No festival has that code."""


class YearOutOfRangeError(FestivalError):
    """The year is outside MIN_YEAR..MAX_YEAR, or not a year at all."""


class NotInYearError(FestivalError):
    """The festival does not fall in that Gregorian year (Laba, some years)."""


def get_festival(code: str) -> Festival:
    """The festival with `code`; UnknownFestivalError otherwise."""
    try:
        return _BY_CODE[code]
    except (KeyError, TypeError):
        raise UnknownFestivalError(_l('"%(code)s" is not a known festival.', code=code)) from None


def check_year(year: int) -> int:
    """`year` if festival dates are known for it; YearOutOfRangeError otherwise."""
    if isinstance(year, bool) or not isinstance(year, int) or not MIN_YEAR <= year <= MAX_YEAR:
        raise YearOutOfRangeError(
            _l(
                "Festival dates are known for the years %(first)s to %(last)s, not %(year)s.",
                first=MIN_YEAR,
                last=MAX_YEAR,
                year=year,
            )
        )
    return year


def parse_year(text: str) -> int:
    """A year typed in a form or query string; YearOutOfRangeError when it is not one we know."""
    text = (text or "").strip()[:10]
    if not (text.isascii() and text.isdigit()):
        raise YearOutOfRangeError(_l('"%(value)s" is not a year.', value=text))
    return check_year(int(text))


def festival_date(code: str, year: int) -> date:
    """The Gregorian date of festival `code` within Gregorian `year` (the first, if two)."""
    festival = get_festival(code)
    dates = _dates_in_year(check_year(year))[festival.code]
    if not dates:
        raise NotInYearError(
            _l("%(festival)s does not fall in %(year)s.", festival=festival.label, year=year)
        )
    return dates[0]


def festival_dates(year: int) -> list[tuple[Festival, date]]:
    """Every festival and solar term of Gregorian `year` with its date, in date order.

    A festival that misses the year (Laba, some years) is left out; one that falls twice
    appears once, on its first date, as festival_date gives it.
    """
    table = _dates_in_year(check_year(year))
    pairs = [(f, table[f.code][0]) for f in FESTIVALS if table[f.code]]
    return sorted(pairs, key=lambda pair: pair[1])


def festival_choices() -> list[tuple[str, LazyString]]:
    """(code, label) pairs for a select field, festivals first, then the solar terms.

    The labels are lazy, so the choices may be set once on a form class and still show in
    each user's language.
    """
    return [(f.code, f.label) for f in FESTIVALS]


def lunar_text(day: date) -> str:
    """The lunar month and day of a Gregorian date in the user's language: 腊月初八."""
    month, lunar_day = lunar_month_day(day)
    language = get_locale().language if get_locale() else "zh"
    if language == "zh":
        leap = "闰" if month < 0 else ""
        return f"{leap}{LunarUtil.MONTH[abs(month)]}月{LunarUtil.DAY[lunar_day]}"
    if month < 0:
        return _("leap month %(month)s, day %(day)s", month=-month, day=lunar_day)
    return _("month %(month)s, day %(day)s", month=month, day=lunar_day)


def lunar_month_day(day: date) -> tuple[int, int]:
    """The lunar (month, day) of a Gregorian date; the month is negative in a leap month."""
    for lunar_year in (day.year, day.year - 1):
        for month, first, length in _lunar_months(lunar_year):
            if first <= day < first + timedelta(days=length):
                return month, (day - first).days + 1
    raise AssertionError(f"no lunar month holds {day}")  # lunar years y-1 and y cover year y


@dataclass(frozen=True)
class FestivalDay:
    """One row of the festival page: a festival on a date, with its lunar date."""

    festival: Festival
    date: date
    lunar: str
    also: tuple[date, ...] = ()  # further dates in the same year (Laba, some years)


@dataclass(frozen=True)
class MissedFestival:
    """A festival that skips a Gregorian year, with its dates either side of it."""

    festival: Festival
    before: date  # its last date in the year before
    after: date  # its first date in the year after


@dataclass(frozen=True)
class FestivalYear:
    """A Gregorian year's festivals and solar terms, as the festival page shows them."""

    year: int
    festivals: list[FestivalDay]  # lunar festivals and Gregorian holidays, in date order
    terms: list[FestivalDay]  # the 24 solar terms, in date order
    missing: list[MissedFestival]  # festivals that skip this year (Laba, some years)
    next_up: FestivalDay | None  # this year's first festival or term from today on
    days_to_next: int | None  # days from today to `next_up`


def festival_year(year: int, today: date) -> FestivalYear:
    """The festival page's figures for Gregorian `year`, `today` marking what comes next."""
    table = _dates_in_year(check_year(year))
    rows = [
        FestivalDay(f, table[f.code][0], lunar_text(table[f.code][0]), table[f.code][1:])
        for f in FESTIVALS
        if table[f.code]
    ]
    rows.sort(key=lambda row: row.date)
    missing = [
        MissedFestival(f, _dates_in_year(year - 1)[f.code][-1], _dates_in_year(year + 1)[f.code][0])
        for f in FESTIVALS
        if not table[f.code]
    ]
    coming = (r for r in rows if r.date >= today and today.year == year)
    next_up = next(coming, None)
    return FestivalYear(
        year=year,
        festivals=[r for r in rows if r.festival.kind != FestivalKind.SOLAR_TERM],
        terms=[r for r in rows if r.festival.kind == FestivalKind.SOLAR_TERM],
        missing=missing,
        next_up=next_up,
        days_to_next=(next_up.date - today).days if next_up else None,
    )


def _date_of(solar: Solar) -> date:
    return date(solar.getYear(), solar.getMonth(), solar.getDay())


@lru_cache(maxsize=512)
def _lunar_months(lunar_year: int) -> tuple[tuple[int, date, int], ...]:
    """(month, first day, length) of each month of a lunar year; leap months negative."""
    return tuple(
        (m.getMonth(), _date_of(Solar.fromJulianDay(m.getFirstJulianDay())), m.getDayCount())
        for m in LunarYear.fromYear(lunar_year).getMonthsInYear()
    )


def _lunar_day(lunar_year: int, month: int, day: int) -> date:
    """The Gregorian date of a lunar date (the ordinary, not the leap, month `month`)."""
    months = _lunar_months(lunar_year)
    if day == LAST_DAY:  # New Year's Eve: the year's last day, whatever its last month
        _month, first, length = months[-1]
        return first + timedelta(days=length - 1)
    _month, first, _length = next(m for m in months if m[0] == month)
    return first + timedelta(days=day - 1)


@lru_cache(maxsize=512)
def _dates_in_year(year: int) -> dict[str, tuple[date, ...]]:
    """Every festival's dates inside Gregorian `year` (none, one, or for Laba maybe two)."""
    terms: dict[str, date] = {}
    for key, solar in Lunar.fromYmd(year, 1, 1).getJieQiTable().items():
        if solar.getYear() == year:
            terms[_TERM_KEYS.get(key, key)] = date(
                solar.getYear(), solar.getMonth(), solar.getDay()
            )
    table: dict[str, tuple[date, ...]] = {}
    for f in FESTIVALS:
        if f.kind == FestivalKind.SOLAR_TERM:
            table[f.code] = (terms[f.term],)
        elif f.kind == FestivalKind.GREGORIAN:
            table[f.code] = (date(year, f.month, f.day),)
        else:
            candidates = (_lunar_day(ly, f.month, f.day) for ly in (year - 1, year))
            table[f.code] = tuple(d for d in candidates if d.year == year)
    return table
