"""The construction report as a spreadsheet: the summary, the sub-units' progress and ranks,
coverage, funds and the host type and label breakdowns, each a sheet of one XLSX workbook.

The same data the page and the PDF show, written through inclusive_day.spreadsheets, so text
a spreadsheet would take for a formula is made inert.
"""

from __future__ import annotations

from flask_babel import gettext as _

from inclusive_day.reports.construction import ConstructionReport, Share
from inclusive_day.spreadsheets import Export, Table, export


def _summary(report: ConstructionReport) -> Table:
    funds = report.funds
    rows = [
        (_("Union unit"), report.unit_name),
        (_("As of"), report.on),
        (_("Gain since"), report.since),
        (_("Year"), report.year),
        (_("Construction target"), report.target),
        (_("Due on"), report.due_on),
        (_("Handed down to sub-units"), report.handed_down),
        (_("Built"), report.built),
        (_("Built (%)"), report.percent),
        (_("Gain"), report.gain),
        (_("Still to build"), report.still_to_build),
        (_("Held directly by the unit"), report.direct_built),
        *((_("Coverage: %(level)s (%%)", level=c.level.label), c.percent) for c in report.coverage),
        (_("Allocated (yuan)"), funds.allocated),
        (_("Driven (yuan)"), funds.driven),
        (_("Leveraged (yuan)"), funds.leveraged),
        (_("Paid (yuan)"), funds.paid),
        (_("Generated on"), report.generated_on),
    ]
    return Table(_("Summary"), [_("Figure"), _("Value")], rows, widths=(30, 30))


def _progress(report: ConstructionReport) -> Table:
    headers = [
        _("Rank"),
        _("Sub-unit"),
        _("Level"),
        _("Construction target"),
        _("Due on"),
        _("Built"),
        _("Built (%)"),
        _("Gain"),
        _("Still to build"),
        _("Rank on %(day)s", day=report.since.isoformat()),
        _("Places gained"),
    ]
    rows = [
        [
            r.rank,
            r.name,
            r.level.label,
            r.target,
            r.due_on,
            r.built,
            r.percent,
            r.gain,
            r.still_to_build,
            r.previous_rank,
            r.rank_change,
        ]
        for r in report.ranked()
    ]
    return Table(_("Progress"), headers, rows, widths=(8, 30, 14))


def _coverage(report: ConstructionReport) -> Table:
    headers = [_("Sub-unit")]
    for level in report.levels:
        headers += [
            _("%(level)s: units", level=level.label),
            _("%(level)s: with a station", level=level.label),
            _("%(level)s: coverage (%%)", level=level.label),
        ]
    rows = []
    for r in report.rows:
        row = [r.name]
        for c in r.coverage:
            row += [c.total, c.covered, c.percent]
        rows.append(row)
    total = [_("Total")]
    for c in report.coverage:
        total += [c.total, c.covered, c.percent]
    return Table(_("Coverage"), headers, [*rows, total], widths=(30,))


def _funds(report: ConstructionReport) -> Table:
    headers = [
        _("Sub-unit"),
        _("Allocated (yuan)"),
        _("Driven (yuan)"),
        _("Leveraged (yuan)"),
        _("Paid (yuan)"),
    ]
    rows = [
        [r.name, r.funds.allocated, r.funds.driven, r.funds.leveraged, r.funds.paid]
        for r in report.rows
    ]
    direct = report.direct_funds
    rows.append(
        [
            _("Held directly by the unit"),
            direct.allocated,
            direct.driven,
            direct.leveraged,
            direct.paid,
        ]
    )
    funds = report.funds
    rows.append([_("Total"), funds.allocated, funds.driven, funds.leveraged, funds.paid])
    return Table(_("Funds"), headers, rows, widths=(30, 16, 16, 16, 16))


def _shares(title: str, first: str, shares: tuple[Share, ...]) -> Table:
    rows = [[s.name, s.stations, s.percent] for s in shares]
    return Table(title, [first, _("Stations open"), _("Share (%)")], rows, widths=(30,))


def construction_export(report: ConstructionReport) -> Export:
    """The construction report as one XLSX workbook, a sheet per table."""
    tables = [
        _summary(report),
        _progress(report),
        _coverage(report),
        _funds(report),
        _shares(_("By host type"), _("Host type"), report.host_types),
        _shares(_("By label"), _("Label"), report.labels),
    ]
    name = f"construction-{report.scope.unit_id}-{report.on.isoformat()}"
    return export(tables, "xlsx", name)
