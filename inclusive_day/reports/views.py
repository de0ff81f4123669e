"""Report pages: the recap, the monthly league table, the construction progress notice and the
monthly traffic notice, as HTML, PDF and spreadsheets; and the notices issued to units.

Every report URL carries its choices in the query string (campaign, unit, from, to, month,
on, since, lang), so a report can be bookmarked, sent on, and cached. A unit or campaign the
user may not see answers 404; a period that makes no sense is shown on the form.
"""

from __future__ import annotations

import io

from flask import abort, flash, redirect, render_template, request, send_file, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from inclusive_day.access.rule import Action, can, get_or_404, visible
from inclusive_day.activities.models import Activity
from inclusive_day.attendance.queries import Burst, bursts_under_review
from inclusive_day.campaigns.models import Campaign
from inclusive_day.campaigns.targets import focus_units
from inclusive_day.database import utcnow
from inclusive_day.extensions import db
from inclusive_day.periods import Month, local_today
from inclusive_day.reports import bp, jobs
from inclusive_day.reports.cache import cached, fingerprint
from inclusive_day.reports.construction import (
    ConstructionScope,
    build_construction,
    check_days,
    default_since,
)
from inclusive_day.reports.construction_sheets import construction_export
from inclusive_day.reports.documents import render_traffic, traffic_file_name
from inclusive_day.reports.exports import TABLES, recap_export
from inclusive_day.reports.forms import ConstructionForm, IssueForm, LeagueForm, RecapForm
from inclusive_day.reports.league import DECIMAL_MEASURES, MEASURES, build_league
from inclusive_day.reports.league_sheets import league_export
from inclusive_day.reports.models import Notice
from inclusive_day.reports.notices import issue_to_sub_units, notices_in_reach
from inclusive_day.reports.pdf import LANGUAGES, file_name
from inclusive_day.reports.present import recap_context
from inclusive_day.reports.recap import (
    RecapScope,
    ReportError,
    build_recap,
    default_period,
    month_name,
    recap_activity_scope,
)
from inclusive_day.reports.traffic import build_traffic_notice, silent_stations
from inclusive_day.reports.traffic_sheets import traffic_export
from inclusive_day.units.models import Level, Unit, under
from inclusive_day.units.queries import top_units, unit_choices
from inclusive_day.web import pdf_response, send_export

PDF = "application/pdf"
# The most minutes under review the recap page lists (the oldest first).
REVIEW_SHOWN = 50
# How far below the campaign's owner the unit list of the recap form reaches; deeper units
# are reached from the sub-unit table.
FORM_DEPTH = 2


# --- Shared parsing -------------------------------------------------------------------------


def _int_arg(name: str) -> int | None:
    """An integer query parameter; present but not a number answers 404."""
    raw = request.args.get(name)
    if raw is None or raw == "":
        return None
    try:
        return int(raw)
    except ValueError:
        abort(404)


def _language() -> str:
    """The report language: ?lang=zh|en, else the page's language."""
    lang = request.args.get("lang")
    if lang in LANGUAGES:
        return lang
    locale = get_locale()
    return locale.language if locale is not None and locale.language in LANGUAGES else "zh"


def _send_pdf(path, name: str):
    """A cached PDF, read whole (a few hundred kilobytes) so no file stays open."""
    return send_file(io.BytesIO(path.read_bytes()), mimetype=PDF, download_name=name, max_age=0)


# --- The recap ------------------------------------------------------------------------------


class RecapRequest:
    """A recap request read from the query string: the campaign and unit (both checked
    against the user's reach, else 404), the form, and the scope when the form is valid."""

    def __init__(self) -> None:
        campaign_id = _int_arg("campaign")
        if campaign_id is None:
            abort(404)
        self.campaign = get_or_404(
            current_user, Action.VIEW, Campaign, campaign_id, joinedload(Campaign.unit)
        )
        unit_id = _int_arg("unit")
        if unit_id is None:
            units = focus_units(current_user, self.campaign)
            if not units:
                abort(404)
            self.unit = units[0]
        else:
            self.unit = get_or_404(current_user, Action.VIEW, Unit, unit_id)
            if not self.unit.is_within(self.campaign.unit):
                abort(404)
        self.form = RecapForm(formdata=request.args)
        self.form.unit.choices = self._unit_choices()
        start, end = default_period(self.campaign)
        if not request.args.get("from"):
            self.form.start.data = start
        if not request.args.get("to"):
            self.form.end.data = end
        self.form.unit.data = self.unit.id
        valid = self.form.validate()
        self.scope = (
            RecapScope(self.campaign.id, self.unit.id, self.form.start.data, self.form.end.data)
            if valid
            else None
        )

    def _unit_choices(self) -> list[tuple[int, str]]:
        owner = self.campaign.unit
        deepest = min(owner.level.depth + FORM_DEPTH, Level.COMMUNITY.depth)
        levels = [level for level in Level if owner.level.depth <= level.depth <= deepest]
        units = list(
            db.session.scalars(
                select(Unit)
                .where(
                    under(Unit.path, owner.path),
                    Unit.level.in_(levels),
                    visible(current_user, Action.VIEW, Unit),
                )
                .order_by(Unit.path)
            )
        )
        if self.unit not in units:
            units.append(self.unit)
        return unit_choices(units)

    def params(self, **extra) -> dict:
        """The query string of this recap (for links to its PDF, spreadsheets, sub-units)."""
        return {**self.scope.params(), **extra}


@bp.get("/recap")
@login_required
def recap():
    """The recap page of a campaign over a unit's subtree and a period; without a campaign,
    the campaigns to choose from."""
    if not request.args.get("campaign"):
        campaigns = db.session.scalars(
            select(Campaign)
            .where(visible(current_user, Action.VIEW, Campaign))
            .options(joinedload(Campaign.unit))
            .order_by(Campaign.starts_on.desc(), Campaign.id.desc())
            .limit(50)
        ).all()
        return render_template("reports/choose.html", campaigns=campaigns)
    req = RecapRequest()
    if req.scope is None:
        return render_template("reports/recap.html", req=req, r=None), 400
    context = recap_context(build_recap(req.scope), side_width=420)
    review = _under_review(req)
    return render_template(
        "reports/recap.html",
        req=req,
        tables=TABLES,
        lang=_language(),
        review=review,
        recordable=_recordable({b.activity_id for b in review}),
        **context,
    )


def _under_review(req: RecapRequest) -> list[Burst]:
    """The recap's minutes of check-ins under review that still count: its figures include
    them until an organiser annuls them (on the page, never in the published PDF)."""
    scope = req.scope
    activities = recap_activity_scope(scope.campaign_id, req.unit.path, scope.start, scope.end)
    return bursts_under_review(activities, still_counting=True, limit=REVIEW_SHOWN)


def _recordable(activity_ids: set[int]) -> set[int]:
    """Those of the activities whose attendance the user may record (and so review)."""
    if not activity_ids:
        return set()
    return set(
        db.session.scalars(
            select(Activity.id).where(
                Activity.id.in_(activity_ids), visible(current_user, Action.RECORD, Activity)
            )
        )
    )


class BadRequest(Exception):
    """A report asked for with choices that make no sense; carries the form's first error."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NoUnit(Exception):
    """The user's roles reach no union unit (a station manager's or a sponsor's)."""


@bp.errorhandler(NoUnit)
def _no_unit(_error: NoUnit):
    message = _("League tables rank the sub-units of a union unit; your role covers none.")
    return render_template("errors/error.html", code=404, message=message), 404


@bp.errorhandler(BadRequest)
def _bad_request(error: BadRequest):
    return render_template("errors/error.html", code=400, message=error.message), 400


def _recap_scope_or_400() -> RecapRequest:
    req = RecapRequest()
    if req.scope is None:
        raise BadRequest(_first_error(req.form))
    return req


def _first_error(form) -> str:
    errors = [str(e) for field in form for e in field.errors]
    return errors[0] if errors else _("The request was not understood.")


@bp.get("/recap.pdf")
@login_required
def recap_pdf():
    """The recap as an A4 PDF: from the cache when unchanged; rendered by a worker when the
    scope is large and a queue is configured (the browser waits on a status page); else now."""
    req = _recap_scope_or_400()
    lang = _language()
    params = req.scope.params()
    name = file_name(req.campaign.name, req.unit.name, _recap_word(lang), params["from"])
    pdf = jobs.recap_pdf(req.scope, req.unit, lang)
    if isinstance(pdf, jobs.JobState):
        return redirect(url_for("reports.recap_status", **params, lang=lang))
    return _send_pdf(pdf, name)


def _recap_word(lang: str) -> str:
    return "活动总结" if lang == "zh" else "recap"


@bp.get("/recap/status")
@login_required
def recap_status():
    """Waiting for a recap PDF that a worker renders: refreshes itself until it is ready."""
    req = _recap_scope_or_400()
    lang = _language()
    params = req.scope.params()
    key = fingerprint("recap", params, lang)
    if cached(key) is not None or jobs.report_queue() is None:
        return redirect(url_for("reports.recap_pdf", **params, lang=lang))
    state = jobs.job_state(key)
    if state.status == "missing":  # expired, or the data changed since: queue it afresh
        state = jobs.enqueue("recap", params, lang, key)
    return render_template(
        "reports/status.html",
        req=req,
        state=state,
        pdf_url=url_for("reports.recap_pdf", **params, lang=lang),
        back_url=url_for("reports.recap", **params),
    )


@bp.get("/recap.<any(xlsx, csv):fmt>")
@login_required
def recap_spreadsheet(fmt: str):
    """Every table of the recap as an XLSX workbook, or one (?table=) as CSV."""
    req = _recap_scope_or_400()
    table = request.args.get("table", "summary")
    if fmt == "csv" and table not in TABLES:
        abort(404)
    return send_export(recap_export(build_recap(req.scope), fmt, table))


# --- The league table -----------------------------------------------------------------------


def _report_unit() -> Unit:
    """The unit whose sub-units a report ranks: ?unit= (in reach, else 404), else the user's
    highest unit."""
    unit_id = _int_arg("unit")
    if unit_id is None:
        tops = top_units(current_user, Action.VIEW)
        if not tops:
            raise NoUnit()
        return tops[0]
    return get_or_404(current_user, Action.VIEW, Unit, unit_id)


def _ranking_unit_choices(unit: Unit) -> list[tuple[int, str]]:
    """The units a ranking may be asked for: those in reach that have sub-units to rank."""
    units = list(
        db.session.scalars(
            select(Unit)
            .where(visible(current_user, Action.VIEW, Unit), Unit.level != Level.COMMUNITY)
            .order_by(Unit.path)
            .limit(500)
        )
    )
    if unit not in units:
        units.append(unit)
    return unit_choices(units)


class LeagueRequest:
    """A monthly report request (the league table, the traffic notice): the unit (in reach,
    else 404) and the month (last month by default), from the query string."""

    def __init__(self, unit: Unit | None = None) -> None:
        self.unit = unit or _report_unit()
        self.form = LeagueForm(formdata=request.args)
        self.form.unit.choices = _ranking_unit_choices(self.unit)
        self.form.unit.data = self.unit.id
        if not request.args.get("month"):
            self.form.month.data = str(Month.containing(utcnow()).shift(-1))
        self.month = Month.parse(self.form.month.data) if self.form.validate() else None

    def params(self, **extra) -> dict:
        """The query string of this table."""
        return {"unit": self.unit.id, "month": str(self.month), **extra}


@bp.get("/league")
@login_required
def league():
    """The monthly league table of a unit's sub-units, with the change from last month."""
    req = LeagueRequest()
    if req.month is None:
        return render_template("reports/league.html", req=req, league=None), 400
    return render_template(
        "reports/league.html",
        req=req,
        league=build_league(req.unit, req.month),
        measures=MEASURES,
        decimal_measures=DECIMAL_MEASURES,
        lang=_language(),
        previous=req.month.shift(-1),
        following=req.month.shift(1),
    )


@bp.get("/league.pdf")
@login_required
def league_pdf():
    """The league table as a monthly notice (通报), A4 PDF, to send down the tree."""
    req = LeagueRequest()
    if req.month is None:
        raise BadRequest(_first_error(req.form))
    lang = _language()
    word = "排名通报" if lang == "zh" else "league"
    name = file_name(req.unit.name, word, str(req.month))
    return _send_pdf(jobs.league_pdf(req.unit, req.month, lang), name)


@bp.get("/league.xlsx")
@login_required
def league_spreadsheet():
    """The league table as an XLSX workbook: the summary, the sub-units' figures and a sheet
    per ranking (activities, served and door traffic)."""
    req = LeagueRequest()
    if req.month is None:
        raise BadRequest(_first_error(req.form))
    return send_export(league_export(build_league(req.unit, req.month)))


# --- The construction progress notice ---------------------------------------------------------


class ConstructionRequest:
    """A construction report request: the unit (in reach, else 404), the day (today by
    default) and the earlier day the gain counts from (a month before by default)."""

    def __init__(self) -> None:
        self.unit = _report_unit()
        self.form = ConstructionForm(formdata=request.args)
        self.form.unit.choices = _ranking_unit_choices(self.unit)
        self.form.unit.data = self.unit.id
        if not request.args.get("on"):
            self.form.on.data = local_today()
        self.scope = None
        if self.form.validate():
            on = self.form.on.data
            since = self.form.since.data or default_since(on)
            try:
                check_days(on, since)
            except ReportError as error:
                self.form.since.errors = [*self.form.since.errors, error.message]
                return
            self.form.since.data = since
            self.scope = ConstructionScope(self.unit.id, on, since)

    def params(self, **extra) -> dict:
        """The query string of this report."""
        return {**self.scope.params(), **extra}


def _construction_or_400() -> ConstructionRequest:
    req = ConstructionRequest()
    if req.scope is None:
        raise BadRequest(_first_error(req.form))
    return req


@bp.get("/construction")
@login_required
def construction():
    """The construction progress of a unit's sub-units on a day: targets, built, gain, still
    to build, coverage and rank, the year's funds, and the stations by host type and label."""
    req = ConstructionRequest()
    if req.scope is None:
        return render_template("reports/construction.html", req=req, report=None), 400
    return render_template(
        "reports/construction.html",
        req=req,
        report=build_construction(req.scope),
        lang=_language(),
    )


@bp.get("/construction.pdf")
@login_required
def construction_pdf():
    """The construction progress notice (建设进度通报), A4 PDF, to send down the tree."""
    req = _construction_or_400()
    lang = _language()
    word = "建设进度通报" if lang == "zh" else "construction"
    name = file_name(req.unit.name, word, req.scope.on.isoformat())
    return _send_pdf(jobs.construction_pdf(req.scope, lang), name)


@bp.get("/construction.xlsx")
@login_required
def construction_spreadsheet():
    """The construction report's tables as the sheets of one XLSX workbook."""
    req = _construction_or_400()
    return send_export(construction_export(build_construction(req.scope)))


# --- The monthly traffic notice and the notices issued ----------------------------------------


def _month_or_400() -> LeagueRequest:
    req = LeagueRequest()
    if req.month is None:
        raise BadRequest(_first_error(req.form))
    return req


def _traffic_page(req: LeagueRequest, issue: IssueForm | None = None, status: int = 200):
    """The traffic notice page of `req` (its month valid), with the form that issues it to the
    sub-units when the user may change the unit's records."""
    may_issue = can(current_user, Action.EDIT, req.unit)
    if issue is None and may_issue:
        issue = IssueForm(formdata=None, month=str(req.month), lang=_language())
    return render_template(
        "reports/traffic.html",
        req=req,
        notice=build_traffic_notice(req.unit, req.month),
        issue=issue if may_issue else None,
        lang=_language(),
        previous=req.month.shift(-1),
        following=req.month.shift(1),
    ), status


@bp.get("/traffic")
@login_required
def traffic():
    """The monthly traffic notice of a unit's sub-units: door visits and visitors this month
    and last, per open station, silent stations, duty attendance, rank and change of rank."""
    req = LeagueRequest()
    if req.month is None:
        return render_template("reports/traffic.html", req=req, notice=None, issue=None), 400
    return _traffic_page(req)


@bp.get("/traffic.pdf")
@login_required
def traffic_pdf():
    """The monthly traffic notice (月度流量通报), A4 PDF, as the unit would send it down."""
    req = _month_or_400()
    lang = _language()
    return pdf_response(
        render_traffic(req.unit, req.month, lang),
        traffic_file_name(req.unit.name, req.month, lang),
    )


@bp.get("/traffic.xlsx")
@login_required
def traffic_spreadsheet():
    """The traffic notice's figures, and every silent station, as one XLSX workbook."""
    req = _month_or_400()
    notice = build_traffic_notice(req.unit, req.month)
    return send_export(traffic_export(notice, silent_stations(req.unit, req.month)))


@bp.post("/traffic/issue")
@login_required
def traffic_issue():
    """Issue the month's traffic notice to each sub-unit of a unit: one PDF per sub-unit,
    kept as sent and listed on the notices page."""
    unit_id = _int_arg("unit")
    if unit_id is None:
        abort(404)
    unit = get_or_404(current_user, Action.EDIT, Unit, unit_id)
    form = IssueForm()
    if not form.validate():
        return _traffic_page(LeagueRequest(unit), form, 400)
    month = Month.parse(form.month.data)
    issued = issue_to_sub_units(unit, month, form.lang.data, current_user)
    db.session.commit()
    if not issued:
        flash(_("%(unit)s has no sub-units to issue the notice to.", unit=unit.name), "warning")
        return redirect(url_for("reports.traffic", unit=unit.id, month=str(month)))
    flash(
        _(
            "The traffic notice for %(month)s was issued to %(n)s sub-units.",
            month=month_name(month, "yMMMM"),
            n=len(issued),
        ),
        "success",
    )
    return redirect(url_for("reports.notices", unit=unit.id))


NOTICES_PER_PAGE = 30


@bp.get("/notices")
@login_required
def notices():
    """The notices issued to the units in the user's reach (under ?unit=, when given), newest
    first."""
    unit_id = _int_arg("unit")
    unit = get_or_404(current_user, Action.VIEW, Unit, unit_id) if unit_id is not None else None
    page = db.paginate(
        notices_in_reach(current_user, unit), per_page=NOTICES_PER_PAGE, error_out=False
    )
    return render_template("reports/notices.html", unit=unit, page=page)


@bp.get("/notices/<int:notice_id>.pdf")
@login_required
def notice_pdf(notice_id: int):
    """A notice's PDF exactly as it was issued."""
    notice = get_or_404(current_user, Action.VIEW, Notice, notice_id, joinedload(Notice.unit))
    month = Month(notice.month.year, notice.month.month)
    return pdf_response(notice.pdf, traffic_file_name(notice.unit.name, month, notice.lang))
