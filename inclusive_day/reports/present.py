"""What the recap's page and PDF say around the figures: the summary sentences, the period
and the charts, built from the recap's data in the current language (so both read the same)."""

from __future__ import annotations

from datetime import date

from babel.dates import format_skeleton
from flask_babel import format_date, get_locale
from flask_babel import gettext as _
from markupsafe import Markup, escape

from inclusive_day.i18n import number
from inclusive_day.periods import months_between
from inclusive_day.reports.charts import Bar, bar_chart, column_chart
from inclusive_day.reports.recap import Recap, month_name
from inclusive_day.sponsors.words import money_text

# Sub-units and themes drawn in a chart; the tables list them all.
CHART_BARS = 16


def period_text(start: date, end: date) -> str:
    """ "19 October 2023 to 26 February 2024", in the current language."""
    if start == end:
        return format_date(start, "long")
    return _("%(start)s to %(end)s", start=format_date(start, "long"), end=format_date(end, "long"))


def emphasised(template: str, **values) -> Markup:
    """A translated sentence with its figures in bold (figures escaped, sentence escaped)."""
    strong = {k: Markup("<strong>{}</strong>").format(v) for k, v in values.items()}
    return Markup(escape(template)) % strong


def summary(recap: Recap) -> Markup:
    """The sentence organisers quote: who held how many activities where, serving how many."""
    h = recap.headline
    sentence = emphasised(
        _(
            "From %(start)s to %(end)s, %(unit)s held %(activities)s activities at "
            "%(stations)s post stations, serving %(served)s person-times (%(people)s people)."
        ),
        start=format_date(recap.scope.start, "long"),
        end=format_date(recap.scope.end, "long"),
        unit=recap.unit_name,
        activities=number(h.activities),
        stations=number(h.stations),
        served=number(h.served),
        people=number(h.people),
    )
    if h.sponsors:
        sentence += Markup(" ") + emphasised(
            _("%(sponsors)s sponsors gave cash, goods and services worth %(value)s yuan."),
            sponsors=number(h.sponsors),
            value=money_text(h.value),
        )
    if h.planned:
        sentence += Markup(" ") + emphasised(
            _("%(planned)s more activities are planned in the period."),
            planned=number(h.planned),
        )
    return sentence


def traffic_summary(recap: Recap) -> Markup:
    """The sentence on door traffic: the stations' visits and visitors over the same days,
    whatever the campaign (never added to served)."""
    return emphasised(
        _(
            "Over the same days, the post stations of %(unit)s counted %(visits)s door visits "
            "(person-times) by %(visitors)s visitors (distinct people), whatever the campaign."
        ),
        unit=recap.unit_name,
        visits=number(recap.traffic.visits),
        visitors=number(recap.traffic.visitors),
    )


def _month_labels(recap: Recap) -> list[tuple[str, str]]:
    """(label, group) per month of the recap: past six months the columns name the month
    alone, with the year under the first and under each January."""
    months = months_between(recap.scope.start, recap.scope.end)
    short = len(months) > 6
    labels = []
    for i, month in enumerate(months):
        label = month_name(month, "MMM") if short else month_name(month)
        year = format_skeleton("y", month.first_day, locale=get_locale())
        labels.append((label, year if short and (i == 0 or month.month == 1) else ""))
    return labels


def month_bars(recap: Recap) -> list[Bar]:
    """A column per month, served above and activities held below."""
    return [
        Bar(label, line.served, number(line.activities), group=group)
        for (label, group), line in zip(_month_labels(recap), recap.months, strict=True)
    ]


def traffic_bars(recap: Recap) -> list[Bar]:
    """A column per month, door visits above and distinct visitors below."""
    return [
        Bar(label, line.visits, number(line.visitors), colour="#2f6f9f", group=group)
        for (label, group), line in zip(_month_labels(recap), recap.traffic.months, strict=True)
    ]


def charts(recap: Recap, side_width: int = 680) -> dict[str, Markup]:
    """The recap's charts as inline SVG: served by month, by sub-unit, theme and group, and
    door visits by month.
    `side_width` draws the bar charts for a narrower box (larger text once scaled)."""
    result = {}
    if recap.months:
        result["months"] = column_chart(month_bars(recap), _("Served by month"), number)
    units = sorted((u for u in recap.units if u.served), key=lambda u: -u.served)
    if units:
        result["units"] = bar_chart(
            [Bar(u.name, u.served) for u in units[:CHART_BARS]],
            _("Served by sub-unit"),
            number,
            side_width,
        )
    themes = [t for t in recap.themes if t.served][:CHART_BARS]
    if themes:
        result["themes"] = bar_chart(
            [Bar(t.name, t.served, colour=t.colour) for t in themes],
            _("Served by theme"),
            number,
            side_width,
        )
    if recap.traffic.visits:
        result["traffic"] = column_chart(traffic_bars(recap), _("Door visits by month"), number)
    if recap.groups:
        result["groups"] = bar_chart(
            [Bar(g.name, g.served, colour="#d9626f") for g in recap.groups],
            _("Served by group"),
            number,
            side_width,
        )
    return result


def recap_context(recap: Recap, side_width: int = 680) -> dict:
    """Everything the recap templates need besides the data: plain text, markup and SVG."""
    return {
        "r": recap,
        "h": recap.headline,
        "period": period_text(recap.scope.start, recap.scope.end),
        "summary": summary(recap),
        "traffic_summary": traffic_summary(recap),
        "charts": charts(recap, side_width),
        "generated": format_date(recap.generated_on, "long"),
        "end_date": format_date(recap.scope.end, "long"),
        "value_text": money_text(recap.headline.value),
    }
