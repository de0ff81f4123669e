"""What a report PDF shows: the recap, the monthly notice, the construction progress notice or
the monthly traffic notice, built from its figures in the language asked for, with its running
header and footer, and handed to pdf.py to draw."""

from __future__ import annotations

from datetime import datetime

from flask_babel import force_locale, format_date
from flask_babel import gettext as _

from inclusive_day.periods import Month
from inclusive_day.reports.construction import ConstructionScope, build_construction
from inclusive_day.reports.league import build_league
from inclusive_day.reports.pdf import file_name, page_margins, render_pdf
from inclusive_day.reports.present import recap_context
from inclusive_day.reports.recap import RecapScope, build_recap
from inclusive_day.reports.top100 import CRITERIA, MIN_RATINGS, Board
from inclusive_day.reports.traffic import TrafficNotice, build_traffic_notice
from inclusive_day.units.models import Unit


def render_recap(scope: RecapScope, lang: str, now: datetime | None = None) -> bytes:
    """The recap of `scope` as an A4 PDF in `lang`."""
    with force_locale(lang):
        recap = build_recap(scope, now)
        context = recap_context(recap)
        page = page_margins(
            recap.unit_name,
            _("%(campaign)s · Recap", campaign=recap.campaign_name),
            _("Generated on %(date)s", date=context["generated"]),
        )
        return render_pdf("pdf/recap.html", lang=lang, page=page, **context)


def render_league(unit: Unit, month: Month, lang: str, now: datetime | None = None) -> bytes:
    """The monthly notice of `unit`'s league table for `month` as an A4 PDF in `lang`."""
    with force_locale(lang):
        league = build_league(unit, month, now)
        generated = format_date(league.generated_on, "long")
        page = page_margins(
            league.unit_name,
            _("Monthly notice · %(month)s", month=league.month_name),
            _("Generated on %(date)s", date=generated),
        )
        return render_pdf(
            "pdf/league.html", lang=lang, page=page, league=league, generated=generated
        )


def render_construction(scope: ConstructionScope, lang: str, now: datetime | None = None) -> bytes:
    """The construction progress notice of `scope` as an A4 PDF in `lang`."""
    with force_locale(lang):
        report = build_construction(scope, now)
        generated = format_date(report.generated_on, "long")
        on = format_date(report.on, "long")
        page = page_margins(
            report.unit_name,
            _("Construction progress notice · %(day)s", day=on),
            _("Generated on %(date)s", date=generated),
        )
        return render_pdf(
            "pdf/construction.html",
            lang=lang,
            page=page,
            report=report,
            generated=generated,
            on=on,
            since=format_date(report.since, "long"),
            due=format_date(report.due_on, "long") if report.due_on else "",
        )


def render_traffic(
    unit: Unit,
    month: Month,
    lang: str,
    now: datetime | None = None,
    parent: TrafficNotice | None = None,
) -> bytes:
    """The monthly traffic notice of `unit`'s sub-units for `month` as an A4 PDF in `lang`
    (`parent`: the parent's notice, when the caller has counted it)."""
    with force_locale(lang):
        notice = build_traffic_notice(unit, month, now, parent)
        generated = format_date(notice.generated_on, "long")
        page = page_margins(
            notice.unit_name,
            _("Monthly traffic notice · %(month)s", month=notice.month_name),
            _("Generated on %(date)s", date=generated),
        )
        return render_pdf(
            "pdf/traffic.html",
            lang=lang,
            page=page,
            notice=notice,
            generated=generated,
            first=format_date(notice.first_day, "long"),
            last=format_date(notice.last_day, "long"),
        )


def traffic_file_name(unit_name: str, month: Month, lang: str) -> str:
    """The file name of a unit's traffic notice for a month in `lang`."""
    return file_name(unit_name, "月度流量通报" if lang == "zh" else "traffic-notice", str(month))


def render_top100(board: Board, lang: str) -> bytes:
    """The Double Top 100 of `board` (confirmed, or marked as a draft) as an A4 landscape PDF
    in `lang`."""
    with force_locale(lang):
        generated = format_date(board.generated_on, "long")
        title = _("Double Top 100 · %(year)s", year=board.year)
        if not board.is_confirmed:
            title = _("%(title)s · draft", title=title)
        page = page_margins(board.unit_name, title, _("Generated on %(date)s", date=generated))
        return render_pdf(
            "pdf/top100.html",
            lang=lang,
            page=page,
            board=board,
            criteria=CRITERIA,
            min_ratings=MIN_RATINGS,
            generated=generated,
            confirmed=format_date(board.confirmed_at, "long") if board.confirmed_at else "",
        )
