"""The Double Top 100 as a spreadsheet: the published criteria with their weights, the top
sites and the top station masters, each a sheet of one XLSX workbook; the same rows the page
and the PDF show (the confirmed ones once confirmed), written through inclusive_day.spreadsheets."""

from __future__ import annotations

from flask_babel import gettext as _

from inclusive_day.reports.top100 import CRITERIA, Board, Row
from inclusive_day.spreadsheets import Export, Table, export


def _criteria(board: Board) -> Table:
    rows = [[c.label, board.weights.get(c.code, 0), c.site_rule, c.master_rule] for c in CRITERIA]
    rows.append([])
    rows.append([_("Union unit"), board.unit_name])
    rows.append([_("Year"), board.year])
    if board.is_confirmed:
        rows.append([_("Confirmed by"), board.confirmed_by or ""])
        rows.append([_("Confirmed on"), board.generated_on])
    else:
        rows.append([_("Status"), _("Draft: not yet confirmed")])
        rows.append([_("Generated on"), board.generated_on])
    headers = [_("Criterion"), _("Weight"), _("Top sites"), _("Top station masters")]
    return Table(_("Criteria"), headers, rows, widths=(22, 10, 60, 60))


def _headers(masters: bool) -> list[str]:
    who = [_("Station master"), _("Since"), _("Until")] if masters else []
    return [
        _("Rank"),
        *who,
        _("Station"),
        _("Station code"),
        _("Union unit"),
        _("Score"),
        *(
            _("%(criterion)s (%%)", criterion=c.label) if c.code == "duty" else str(c.label)
            for c in CRITERIA
        ),
        _("Ratings given"),
    ]


def _row(row: Row, masters: bool) -> list:
    who = [row.name, row.since, row.until] if masters else []
    return [
        row.rank,
        *who,
        row.station,
        row.code,
        row.unit,
        row.score,
        *(row.figures.get(c.code) for c in CRITERIA),
        row.ratings,
    ]


def top100_export(board: Board) -> Export:
    """Both lists of `board` and their criteria as one XLSX workbook."""
    sheets = [
        _criteria(board),
        Table(
            _("Top sites"),
            _headers(False),
            [_row(r, False) for r in board.sites],
            widths=(6, 30, 14, 24, 8),
        ),
        Table(
            _("Top station masters"),
            _headers(True),
            [_row(r, True) for r in board.masters],
            widths=(6, 14, 11, 11, 30, 14, 24, 8),
        ),
    ]
    name = f"{board.unit_name}-{_('Double Top 100')}-{board.year}"
    return export(sheets, "xlsx", name)
