"""The funds ledger as a spreadsheet for the accounts: one row per line, in the reader's
language, written by `inclusive_day.spreadsheets` (numbers stay numbers, formula-like text is
made inert)."""

from __future__ import annotations

from flask_babel import gettext as _

from inclusive_day.funds.queries import LedgerFilter, ledger_rows
from inclusive_day.spreadsheets import Export, Table, export


def rollup_label(rollup: str) -> str:
    """The name of a rollup column: allocated, driven or leveraged."""
    return {"allocated": _("allocated"), "driven": _("driven"), "leveraged": _("leveraged")}[rollup]


def ledger_table(user, chosen: LedgerFilter) -> Table:
    """One row per line the filter chooses and the user may see (one query)."""
    headers = [
        _("Line"),
        _("Budget year"),
        _("Union unit"),
        _("Station code"),
        _("Station"),
        _("Kind"),
        _("Counts as"),
        _("Amount (yuan)"),
        _("Allocated on"),
        _("Paid on"),
        _("Source"),
        _("Note"),
        _("Rule"),
    ]
    body = [
        [
            row.id,
            row.year,
            row.unit,
            row.station_code,
            row.station_name,
            row.kind.label,
            rollup_label(row.kind.rollup),
            row.amount,
            row.allocated_on,
            row.paid_on,
            row.source,
            row.note,
            row.rule,
        ]
        for row in ledger_rows(user, chosen)
    ]
    widths = [8, 10, 24, 14, 28, 18, 12, 16, 12, 12, 28, 32, 24]
    return Table(_("Funds"), headers, body, widths)


def export_ledger(user, chosen: LedgerFilter, fmt: str) -> Export:
    """The chosen lines as a CSV or XLSX file."""
    return export([ledger_table(user, chosen)], fmt, "funds")
