"""The league table as a spreadsheet: the summary, every sub-unit's figures side by side, and
one ranking per measure (activities and served, and the stations' door traffic), each a sheet
of one XLSX workbook.

The same data the page and the PDF show, written through inclusive_day.spreadsheets, so text
a spreadsheet would take for a formula is made inert.
"""

from __future__ import annotations

from flask_babel import gettext as _

from inclusive_day.reports.league import MEASURES, League
from inclusive_day.spreadsheets import Export, Table, export


def measure_titles() -> dict[str, str]:
    """Each measure's name in the current language, as the sheets and columns say it."""
    return {
        "served": _("Served (person-times)"),
        "activities": _("Activities held"),
        "per_station": _("Served per active station"),
        "visits": _("Door visits (person-times)"),
        "visitors": _("Visitors (distinct people)"),
        "visits_per_station": _("Door visits per open station"),
    }


def _summary(league: League) -> Table:
    rows = [
        (_("Union unit"), league.unit_name),
        (_("Month"), league.month_name),
        (_("Activities held"), league.activities),
        (_("Served (person-times)"), league.served),
        (_("Active stations"), league.stations),
        (_("Served per active station"), league.per_station),
        (_("Door visits (person-times)"), league.visits),
        (_("Visitors (distinct people)"), league.visitors),
        (_("Door visits per open station"), league.visits_per_station),
        (_("Activities held in %(month)s", month=league.previous_name), league.previous_activities),
        (_("Served in %(month)s", month=league.previous_name), league.previous_served),
        (_("Door visits in %(month)s", month=league.previous_name), league.previous_visits),
        (_("Visitors in %(month)s", month=league.previous_name), league.previous_visitors),
        (_("Generated on"), league.generated_on),
    ]
    return Table(_("Summary"), [_("Figure"), _("Value")], rows, widths=(34, 30))


def _figures(league: League) -> Table:
    """Every sub-unit's figures for the month, one column per measure, in unit order."""
    titles = measure_titles()
    headers = [_("Sub-unit"), _("Level"), _("Active stations")]
    headers += [titles[m] for m in MEASURES]
    rows = [
        [row.name, row.level, row.stations, *(row.standing(m).value for m in MEASURES)]
        for row in league.rows
    ]
    return Table(_("Sub-units"), headers, rows, widths=(30, 14))


def _ranking(league: League, measure: str) -> Table:
    """One measure's ranking: this month and last, the change, the ranks and places gained."""
    headers = [
        _("Rank"),
        _("Sub-unit"),
        league.month_name,
        league.previous_name,
        _("Change"),
        _("Change (%)"),
        _("Rank in %(month)s", month=league.previous_name),
        _("Places gained"),
    ]
    rows = [
        [
            s.rank,
            row.name,
            s.value,
            s.previous,
            s.change,
            s.change_percent,
            s.previous_rank,
            s.rank_change,
        ]
        for row in league.ranked(measure)
        for s in [row.standing(measure)]
    ]
    return Table(measure_titles()[measure], headers, rows, widths=(8, 30, 16, 16))


def league_export(league: League) -> Export:
    """The league table as one XLSX workbook: the summary, the sub-units' figures and a sheet
    per ranking."""
    tables = [_summary(league), _figures(league)]
    tables += [_ranking(league, measure) for measure in MEASURES]
    return export(tables, "xlsx", f"league-{league.unit_id}-{league.month}")
