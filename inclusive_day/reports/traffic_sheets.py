"""The monthly traffic notice as a spreadsheet: the summary, the sub-units' figures and ranks,
and every silent station (which the PDF only counts), each a sheet of one XLSX workbook.

The same data the page and the PDF show, written through inclusive_day.spreadsheets, so text
a spreadsheet would take for a formula is made inert.
"""

from __future__ import annotations

from flask_babel import gettext as _

from inclusive_day.periods import DEFAULT_ZONE
from inclusive_day.reports.traffic import SilentStation, TrafficNotice, TrafficRow
from inclusive_day.spreadsheets import Export, Table, export


def _percent(value: float | None) -> float | None:
    return round(value * 100, 1) if value is not None else None


def _summary(notice: TrafficNotice) -> Table:
    t = notice.total
    rows = [
        (_("Union unit"), notice.unit_name),
        (_("Month"), str(notice.month)),
        (_("Open stations"), t.stations),
        (_("Door visits"), t.visits),
        (_("Visitors"), t.visitors),
        (_("Door visits in %(month)s", month=notice.previous_name), t.previous.visits),
        (_("Visitors in %(month)s", month=notice.previous_name), t.previous.visitors),
        (_("Change in door visits"), t.change),
        (_("Change in door visits (%)"), t.change_percent),
        (_("Visits per open station"), t.per_station),
        (_("Silent stations"), t.silent),
        (_("Duty days expected"), t.duty.expected),
        (_("Days on duty"), t.duty.attended),
        (_("Duty attendance (%)"), _percent(t.duty.rate)),
        (_("Hours on duty"), t.duty.hours),
        (_("Ranked by"), _("door visits per open station")),
        (_("Generated on"), notice.generated_on),
    ]
    place = notice.place
    if place is not None:
        rows.append((_("Rank among the sub-units of %(unit)s", unit=place.parent_name), place.rank))
    return Table(_("Summary"), [_("Figure"), _("Value")], rows, widths=(36, 30))


def _figures(r: TrafficRow) -> list:
    return [
        r.stations,
        r.visits,
        r.visitors,
        r.previous.visits,
        r.previous.visitors,
        r.change,
        r.change_percent,
        r.per_station,
        r.previous_per_station,
        r.silent,
        r.duty.expected,
        r.duty.attended,
        r.duty.absent,
        _percent(r.duty.rate),
        r.duty.hours,
    ]


def _sub_units(notice: TrafficNotice) -> Table:
    previous = notice.previous_name
    headers = [
        _("Rank"),
        _("Sub-unit"),
        _("Level"),
        _("Open stations"),
        _("Door visits"),
        _("Visitors"),
        _("Door visits in %(month)s", month=previous),
        _("Visitors in %(month)s", month=previous),
        _("Change in door visits"),
        _("Change in door visits (%)"),
        _("Visits per open station"),
        _("Visits per open station in %(month)s", month=previous),
        _("Silent stations"),
        _("Duty days expected"),
        _("Days on duty"),
        _("Days absent"),
        _("Duty attendance (%)"),
        _("Hours on duty"),
        _("Rank in %(month)s", month=previous),
        _("Places gained"),
    ]
    rows = [
        [r.rank, r.name, r.level, *_figures(r), r.previous_rank, r.rank_change]
        for r in notice.ranked()
    ]
    if notice.direct is not None:
        rows.append(
            [None, _("Held directly by the unit"), notice.unit_level, *_figures(notice.direct)]
        )
    rows.append([None, _("Total"), notice.unit_level, *_figures(notice.total)])
    return Table(_("Sub-units"), headers, rows, widths=(8, 30, 12))


def _silent(stations: list[SilentStation]) -> Table:
    headers = [
        _("Station code"),
        _("Station"),
        _("Union unit"),
        _("Sub-unit"),
        _("Opened on"),
        _("Last door visit"),
    ]
    rows = [
        [
            s.code,
            s.name,
            s.unit_name,
            s.sub_unit,
            s.opened_on,
            s.last_visit.astimezone(DEFAULT_ZONE).replace(tzinfo=None) if s.last_visit else None,
        ]
        for s in stations
    ]
    return Table(_("Silent stations"), headers, rows, widths=(14, 34, 24, 24, 12, 18))


def traffic_export(notice: TrafficNotice, silent: list[SilentStation]) -> Export:
    """The traffic notice as one XLSX workbook: summary, sub-units, silent stations."""
    tables = [_summary(notice), _sub_units(notice), _silent(silent)]
    return export(tables, "xlsx", f"traffic-{notice.unit_id}-{notice.month}")
