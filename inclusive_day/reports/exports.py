"""The recap's tables as spreadsheets: every table as a sheet of one XLSX, or one as CSV.

The same recap data that the page and the PDF show, plus what the PDF leaves out: every
station (not just the top ten) and every sponsor; the door traffic sheets count the stations'
visits over the period, whatever the campaign. Written through inclusive_day.spreadsheets,
so text that a spreadsheet would take for a formula is made inert.
"""

from __future__ import annotations

from collections.abc import Callable

from flask_babel import gettext as _

from inclusive_day.i18n import PEOPLE_BY_QR
from inclusive_day.reports.present import period_text
from inclusive_day.reports.recap import Line, NetworkLine, Recap, TrafficLine, station_lines
from inclusive_day.sponsors.honour import GivingScope, honour_roll
from inclusive_day.spreadsheets import Export, Table, export

# The tables a CSV may be asked for, in workbook order.
TABLES = (
    "summary",
    "themes",
    "units",
    "months",
    "groups",
    "host_types",
    "labels",
    "stations",
    "targets",
    "honour",
    "traffic_units",
    "traffic_months",
    "traffic_groups",
)


def _summary(recap: Recap) -> Table:
    h = recap.headline
    rows = [
        (_("Campaign"), recap.campaign_name),
        (_("Union unit"), recap.unit_name),
        (_("Period"), period_text(recap.scope.start, recap.scope.end)),
        (_("From"), recap.scope.start),
        (_("To"), recap.scope.end),
        (_("Activities held"), h.activities),
        (_("Activities planned"), h.planned),
        (_("Served (person-times)"), h.served),
        (str(PEOPLE_BY_QR), h.people),
        (_("Stations involved"), h.stations),
        (_("Stations opened in the period"), h.new_stations),
        (_("Stations open at the end of the period"), h.open_stations),
        (_("Sponsors"), h.sponsors),
        (_("Gifts received"), h.donations),
        (_("Value given (yuan)"), h.value),
        (_("Door visits at the stations (person-times)"), recap.traffic.visits),
        (_("Visitors at the stations (distinct people)"), recap.traffic.visitors),
        (_("Generated on"), recap.generated_on),
    ]
    return Table(_("Summary"), [_("Figure"), _("Value")], rows, widths=(28, 40))


def _lines(title: str, first: str, lines: list[Line], detail: str | None = None) -> Table:
    """A breakdown; sub-units (with a `detail` column, their level) count stations too."""
    headers = [first, *([detail, _("Stations involved")] if detail else [])]
    headers += [_("Activities held"), _("Planned"), _("Served"), _("Share of served (%)")]
    rows = [
        [
            line.name,
            *([line.detail, line.stations] if detail else []),
            line.activities,
            line.planned,
            line.served,
            line.share,
        ]
        for line in lines
    ]
    return Table(title, headers, rows, widths=(30, *([18] if detail else [])))


def _network(title: str, first: str, lines: list[NetworkLine]) -> Table:
    """Host types or labels: the stations open at the period's end, activities and served."""
    headers = [first, _("Code"), _("Open stations at the end of the period")]
    headers += [_("Activities held"), _("Served"), _("Share of served (%)")]
    rows = [
        [line.name, line.key, line.open_stations, line.activities, line.served, line.share]
        for line in lines
    ]
    return Table(title, headers, rows, widths=(30, 24, 18))


def _groups(recap: Recap) -> Table:
    rows = [[g.name, g.served, g.share] for g in recap.groups]
    return Table(_("By group"), [_("Group"), _("Served"), _("Share of served (%)")], rows)


def _stations(recap: Recap) -> Table:
    lines = station_lines(recap.scope)
    headers = [_("Station code"), _("Station"), _("Union unit"), _("Activities held")]
    headers += [_("Planned"), _("Served"), _("Share of served (%)")]
    rows = [[s.key, s.name, s.detail, s.activities, s.planned, s.served, s.share] for s in lines]
    return Table(_("Stations"), headers, rows, widths=(14, 34, 24))


def _targets(recap: Recap) -> Table:
    headers = [_("Union unit")]
    for label in (_("Activities held"), _("Served"), _("Stations with activities")):
        headers += [
            label,
            _("%(figure)s: target", figure=label),
            _("%(figure)s: achieved (%%)", figure=label),
        ]
    rows = []
    for t in recap.targets:
        row = [t.name]
        for _name, m in t.measures:
            row += [m.actual, m.target, m.percent]
        rows.append(row)
    return Table(_("Targets"), headers, rows, widths=(28,))


def _honour(recap: Recap) -> Table:
    scope = recap.scope
    lines = honour_roll(GivingScope(scope.campaign_id, recap.unit_path, scope.start, scope.end))
    headers = [_("Sponsor"), _("Kind"), _("Gave"), _("Value (yuan)"), _("Stations")]
    headers += [_("Activities"), _("Served")]
    rows = [
        [s.name, s.kind_label, "; ".join(s.gifts), s.value, s.stations, s.activities, s.served]
        for s in lines
    ]
    return Table(_("Honour roll"), headers, rows, widths=(30, 12, 50))


def _traffic(title: str, first: str, lines: list[TrafficLine], detail: str | None = None) -> Table:
    """A breakdown of the door traffic at the subtree's stations (the stations' measure over
    the period, whatever the campaign); sub-units have a `detail` column, their level."""
    headers = [first, *([detail] if detail else [])]
    headers += [
        _("Door visits (person-times)"),
        _("Visitors (distinct people)"),
        _("Share of door visits (%)"),
    ]
    rows = [
        [line.name, *([line.detail] if detail else []), line.visits, line.visitors, line.share]
        for line in lines
    ]
    return Table(title, headers, rows, widths=(30, *([18] if detail else [])))


def _builders(recap: Recap) -> dict[str, Callable[[], Table]]:
    return {
        "summary": lambda: _summary(recap),
        "themes": lambda: _lines(_("By theme"), _("Theme"), recap.themes),
        "units": lambda: _lines(_("By sub-unit"), _("Sub-unit"), recap.units, _("Level")),
        "months": lambda: _lines(_("By month"), _("Month"), recap.months),
        "groups": lambda: _groups(recap),
        "host_types": lambda: _network(_("By host type"), _("Host type"), recap.host_types),
        "labels": lambda: _network(_("By label"), _("Label"), recap.labels),
        "stations": lambda: _stations(recap),
        "targets": lambda: _targets(recap),
        "honour": lambda: _honour(recap),
        "traffic_units": lambda: _traffic(
            _("Door traffic by sub-unit"), _("Sub-unit"), recap.traffic.units, _("Level")
        ),
        "traffic_months": lambda: _traffic(
            _("Door traffic by month"), _("Month"), recap.traffic.months
        ),
        "traffic_groups": lambda: _traffic(
            _("Door traffic by group"), _("Group"), recap.traffic.groups
        ),
    }


def recap_export(recap: Recap, fmt: str, table: str | None = None) -> Export:
    """The recap as XLSX (every table a sheet) or one table as CSV (`table`, one of TABLES)."""
    builders = _builders(recap)
    names = [table] if fmt == "csv" else list(TABLES)
    name = f"recap-{recap.scope.campaign_id}-{recap.scope.unit_id}"
    if fmt == "csv":
        name += f"-{table}"
    return export([builders[n]() for n in names], fmt, name)
