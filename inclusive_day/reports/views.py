"""Report pages: the recap, the monthly league table and the construction progress notice, as
HTML, PDF and spreadsheets.

Every report URL carries its choices in the query string (campaign, unit, from, to, month,
on, since, lang), so a report can be bookmarked, sent on, and cached. A unit or campaign the
user may not see answers 404; a period that makes no sense is shown on the form.
"""

from __future__ import annotations

import io

from flask import abort, redirect, render_template, request, send_file, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from inclusive_day.access.rule import Action, get_or_404, visible
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
from inclusive_day.reports.exports import TABLES, recap_export
from inclusive_day.reports.forms import ConstructionForm, LeagueForm, RecapForm
from inclusive_day.reports.league import DECIMAL_MEASURES, MEASURES, build_league
from inclusive_day.reports.league_sheets import league_export
from inclusive_day.reports.pdf import LANGUAGES
from inclusive_day.reports.present import recap_context
from inclusive_day.reports.recap import RecapScope, ReportError, build_recap, default_period
from inclusive_day.units.models import Level, Unit, under
from inclusive_day.units.queries import top_units, unit_choices
from inclusive_day.web import send_export

PDF = "application/pdf"
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


def _file_name(*parts: str) -> str:
    safe = ["".join(c for c in str(p) if c not in '/\\:*?"<>|').strip() for p in parts]
    return "-".join(p for p in safe if p) + ".pdf"


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
    return render_template(
        "reports/recap.html", req=req, tables=TABLES, lang=_language(), **context
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
    name = _file_name(req.campaign.name, req.unit.name, _recap_word(lang), params["from"])
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
    """A league table request: the unit (in reach, else 404) and the month (last month by
    default), from the query string."""

    def __init__(self) -> None:
        self.unit = _report_unit()
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
    name = _file_name(req.unit.name, word, str(req.month))
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
    name = _file_name(req.unit.name, word, req.scope.on.isoformat())
    return _send_pdf(jobs.construction_pdf(req.scope, lang), name)


@bp.get("/construction.xlsx")
@login_required
def construction_spreadsheet():
    """The construction report's tables as the sheets of one XLSX workbook."""
    req = _construction_or_400()
    return send_export(construction_export(build_construction(req.scope)))
