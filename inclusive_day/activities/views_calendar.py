"""Month, week and list calendars of activities for any subtree."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

from babel.dates import format_date, format_interval, format_skeleton, get_day_names
from flask import render_template, request, url_for
from flask_babel import get_locale, ngettext
from flask_babel import gettext as _
from flask_login import current_user, login_required

from inclusive_day.access.rule import Action, get_or_404
from inclusive_day.activities import bp
from inclusive_day.activities.calendar import (
    FilterChoices,
    Filters,
    filter_choices,
    find_station,
    list_page,
    monday_of,
    month_grid,
    units_shown,
    week_days,
)
from inclusive_day.database import utcnow
from inclusive_day.i18n import number
from inclusive_day.periods import Month, local_today
from inclusive_day.units.models import Unit
from inclusive_day.units.queries import top_units
from inclusive_day.web import page_arg

# How many days the list view covers when no dates are given (today included).
LIST_DAYS = 31
EARLIEST, LATEST = date(2000, 1, 1), date(2100, 12, 31)


@dataclass
class Links:
    """URLs of the three calendars that keep the chosen unit and filters."""

    keep: dict

    def month(self, month: Month) -> str:
        """The month view of `month`."""
        return url_for("activities.calendar_month", month=str(month), **self.keep)

    def week(self, day: date) -> str:
        """The week view of the week containing `day`."""
        return url_for("activities.calendar_week", week=monday_of(day).isoformat(), **self.keep)

    def list(self, first: date, last: date, page: int | None = None) -> str:
        """The list view of local days `first`..`last`."""
        dates = {"from": first.isoformat(), "to": last.isoformat()}
        return url_for("activities.calendar_list", **dates, page=page, **self.keep)

    def unfiltered(self) -> Links:
        """The same links with only the unit kept (theme, station and campaign dropped)."""
        return Links({"unit": self.keep.get("unit")})


@dataclass
class Context:
    """What every calendar page shares: the subtree, the filters, the form and the problems."""

    unit: Unit | None
    tops: list[Unit]
    filters: Filters
    choices: FilterChoices
    station: object | None
    links: Links
    problems: list[str] = field(default_factory=list)

    def page_values(self) -> dict:
        """Template values common to the three pages."""
        return {
            "unit": self.unit,
            "tops": self.tops,
            "filters": self.filters,
            "choices": self.choices,
            "station": self.station,
            "links": self.links,
            "problems": self.problems,
            "weekday_names": _weekday_names(),
        }


def _count_label(total: int) -> str:
    return ngettext("%(count)s activity", "%(count)s activities", total, count=number(total))


def _integer(name: str, problems: list[str]) -> int | None:
    raw = request.args.get(name, "").strip()
    if not raw:
        return None
    try:
        value = int(raw)
    except ValueError:
        value = None
    if value is None or value < 1:
        problems.append(_("The filter “%(value)s” was not recognised and was left out.", value=raw))
        return None
    return value


def _day(raw: str) -> date:
    """An ISO date within the years the app schedules; ValueError otherwise."""
    if len(raw) != 10:
        raise ValueError(raw)
    day = date.fromisoformat(raw)
    if not EARLIEST <= day <= LATEST:
        raise ValueError(raw)
    return day


def _context() -> Context:
    """Read the unit and filters every calendar takes; a bad one is reported, not fatal."""
    problems: list[str] = []
    tops = top_units(current_user, Action.VIEW)
    unit = None
    raw_unit = request.args.get("unit", "").strip()
    if raw_unit:
        try:
            unit_id = int(raw_unit)
        except ValueError:
            problems.append(
                _("“%(value)s” is not a union unit; showing all your units.", value=raw_unit)
            )
        else:
            unit = get_or_404(current_user, Action.VIEW, Unit, unit_id)
    paths = units_shown(unit, tops)
    theme_id = _integer("theme", problems)
    campaign_id = _integer("campaign", problems)
    station_id = _integer("station", problems)
    station_code = request.args.get("station_code", "").strip()[:32]
    choices = filter_choices(current_user, unit, tops, paths, campaign_id)
    if theme_id is not None and theme_id not in {c.id for c in choices.themes}:
        problems.append(_("That theme is not in the catalogue; the theme filter was left out."))
        theme_id = None
    if campaign_id is not None and campaign_id not in {c.id for c in choices.campaigns}:
        problems.append(_("That campaign is not one you may see; the filter was left out."))
        campaign_id = None
    station = None
    if station_id is not None or station_code:
        station = find_station(current_user, station_id, station_code, paths)
        if station is None:
            problems.append(
                _(
                    "No station “%(value)s” here; the station filter was left out.",
                    value=station_code or station_id,
                )
            )
    filters = Filters(paths, theme_id, station.id if station else None, campaign_id)
    keep = {
        "unit": unit.id if unit else None,
        "theme": theme_id,
        "station": filters.station_id,
        "campaign": campaign_id,
    }
    return Context(unit, tops, filters, choices, station, Links(keep), problems)


def _locale() -> str:
    locale = get_locale()
    return str(locale) if locale else "zh"


def _weekday_names() -> list[str]:
    names = get_day_names("abbreviated", locale=_locale())
    return [names[i] for i in range(7)]


def _month_title(month: Month) -> str:
    return format_skeleton("yMMMM", month.first_day, locale=_locale())


def _week_title(monday: date) -> str:
    return format_interval(monday, monday + timedelta(days=6), "yMMMd", locale=_locale())


def _day_title(day: date) -> str:
    return format_date(day, "full", locale=_locale())


@bp.get("/calendar")
@login_required
def calendar_month():
    """A month of activities in a Monday-first grid, a few a day and "+N more"."""
    ctx = _context()
    today = local_today()
    this_month = Month.containing(utcnow())
    month = this_month
    raw = request.args.get("month", "").strip()
    if raw:
        try:
            month = Month.parse(raw)
        except ValueError:
            ctx.problems.append(
                _("“%(value)s” is not a month (use YYYY-MM); showing this month.", value=raw)
            )
    grid = month_grid(current_user, month, ctx.filters, today)
    legend = {}
    for week in grid.weeks:
        for day in week:
            for item in day.items:
                legend.setdefault(item.theme_name, item.colour)
    return render_template(
        "activities/calendar_month.html",
        view="month",
        grid=grid,
        title=_month_title(month),
        legend=sorted(legend.items()),
        previous_url=ctx.links.month(month.shift(-1)),
        next_url=ctx.links.month(month.shift(1)),
        today_url=ctx.links.month(this_month),
        is_current=month == this_month,
        switch={
            "month": ctx.links.month(month),
            "week": ctx.links.week(today if month == this_month else month.first_day),
            "list": ctx.links.list(month.first_day, month.shift(1).first_day - timedelta(days=1)),
        },
        hidden={"month": str(month)},
        clear_url=ctx.links.unfiltered().month(month),
        count_label=_count_label(grid.total),
        **ctx.page_values(),
    )


@bp.get("/calendar/week")
@login_required
def calendar_week():
    """One Monday-to-Sunday week of activities, seven columns by local start time."""
    ctx = _context()
    today = local_today()
    monday = monday_of(today)
    raw = request.args.get("week", "").strip()
    if raw:
        try:
            monday = monday_of(_day(raw))
        except ValueError:
            ctx.problems.append(
                _("“%(value)s” is not a date (use YYYY-MM-DD); showing this week.", value=raw)
            )
    days = week_days(current_user, monday, ctx.filters, today)
    sunday = monday + timedelta(days=6)
    return render_template(
        "activities/calendar_week.html",
        view="week",
        days=days,
        title=_week_title(monday),
        previous_url=ctx.links.week(monday - timedelta(days=7)),
        next_url=ctx.links.week(monday + timedelta(days=7)),
        today_url=ctx.links.week(today),
        is_current=monday == monday_of(today),
        switch={
            "month": ctx.links.month(Month(monday.year, monday.month)),
            "week": ctx.links.week(monday),
            "list": ctx.links.list(monday, sunday),
        },
        hidden={"week": monday.isoformat()},
        clear_url=ctx.links.unfiltered().week(monday),
        count_label=_count_label(sum(d.total for d in days)),
        **ctx.page_values(),
    )


@bp.get("/calendar/list")
@login_required
def calendar_list():
    """Activities of a date range as a table, fifty to a page, with the total."""
    ctx = _context()
    today = local_today()
    first, last = today, today + timedelta(days=LIST_DAYS - 1)
    raw_from = request.args.get("from", "").strip()
    raw_to = request.args.get("to", "").strip()
    try:
        given_first = _day(raw_from) if raw_from else first
        given_last = _day(raw_to) if raw_to else given_first + timedelta(days=LIST_DAYS - 1)
    except ValueError:
        ctx.problems.append(
            _("A date could not be read (use YYYY-MM-DD); showing the next 30 days.")
        )
    else:
        if given_last < given_first:
            ctx.problems.append(
                _("The start date is after the end date; showing the next 30 days.")
            )
        else:
            first, last = given_first, given_last
    page_number = page_arg()
    page = list_page(current_user, first, last, ctx.filters, page_number)
    span = last - first + timedelta(days=1)
    return render_template(
        "activities/calendar_list.html",
        view="list",
        page=page,
        first=first,
        last=last,
        title=format_interval(first, last, "yMMMd", locale=_locale())
        if first != last
        else _day_title(first),
        previous_url=ctx.links.list(first - span, last - span),
        next_url=ctx.links.list(first + span, last + span),
        today_url=ctx.links.list(today, today + timedelta(days=LIST_DAYS - 1)),
        is_current=first == today and last == today + timedelta(days=LIST_DAYS - 1),
        switch={
            "month": ctx.links.month(Month(first.year, first.month)),
            "week": ctx.links.week(first),
            "list": ctx.links.list(first, last),
        },
        hidden={},
        clear_url=ctx.links.unfiltered().list(first, last),
        count_label=_count_label(page.total),
        **ctx.page_values(),
    )
