"""The funds ledger's pages: a subtree's lines for a year with their totals, a line's form,
payment and deletion, the operating-subsidy rule, and the exports for the accounts."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from inclusive_day.access.rule import Action, can, get_or_404, visible
from inclusive_day.extensions import db
from inclusive_day.funds import bp
from inclusive_day.funds.exports import export_ledger, rollup_label
from inclusive_day.funds.forms import NONE, DeleteForm, FundLineForm, OperatingRuleForm, PaidForm
from inclusive_day.funds.models import FundKind, FundLine
from inclusive_day.funds.queries import LedgerFilter, ledger_lines, ledger_totals, ledger_years
from inclusive_day.funds.services import (
    FundError,
    FundFields,
    Refusal,
    correct_fund_line,
    delete_fund_line,
    generate_operating_subsidies,
    mark_paid,
    record_fund_line,
)
from inclusive_day.periods import local_today
from inclusive_day.spreadsheets import FORMATS
from inclusive_day.stations.models import Label, Partner, Station
from inclusive_day.units.models import Unit
from inclusive_day.units.queries import top_units, unit_choices, units_in_reach
from inclusive_day.web import send_export, show_error

PER_PAGE = 50
ALL_YEARS = "all"


# ---- the ledger ------------------------------------------------------------------------------


def _ledger_unit() -> Unit:
    """?unit=, else the user's highest unit; a unit out of sight (or none at all) is a 404."""
    if "unit" in request.args:
        return get_or_404(current_user, Action.VIEW, Unit, request.args.get("unit", type=int))
    tops = top_units(current_user, Action.VIEW)
    if not tops:
        abort(404)
    return tops[0]


def _chosen() -> LedgerFilter:
    """The ledger's filter from the query string; unknown values fall back to "any"."""
    unit = _ledger_unit()
    year_arg = request.args.get("year", "")
    if year_arg == ALL_YEARS:
        year = None
    else:
        year = request.args.get("year", type=int) or local_today().year
    paid = {"yes": True, "no": False}.get(request.args.get("paid", ""))
    return LedgerFilter(
        unit=unit,
        year=year,
        kind=_kind(request.args.get("kind", "")),
        paid=paid,
        station_code=request.args.get("station", "").strip()[:32],
    )


def _filter_args(chosen: LedgerFilter) -> dict:
    """The filter as query-string values (for links, the pager and the exports)."""
    args = {"unit": chosen.unit.id, "year": chosen.year or ALL_YEARS}
    if chosen.kind is not None:
        args["kind"] = chosen.kind.value
    if chosen.paid is not None:
        args["paid"] = "yes" if chosen.paid else "no"
    if chosen.station_code:
        args["station"] = chosen.station_code
    return args


@bp.get("/")
@login_required
def ledger():
    """The lines of a unit's subtree for a year, filtered, with their totals."""
    chosen = _chosen()
    page = db.paginate(ledger_lines(current_user, chosen), per_page=PER_PAGE, error_out=False)
    shown = [line.id for line in page.items]
    editable = set(
        db.session.scalars(
            select(FundLine.id).where(
                FundLine.id.in_(shown), visible(current_user, Action.EDIT, FundLine)
            )
        )
        if shown
        else ()
    )
    years = sorted({local_today().year, *ledger_years(chosen.unit)}, reverse=True)
    paid_form = PaidForm(formdata=None)
    paid_form.paid_on.data = local_today()
    return render_template(
        "funds/ledger.html",
        chosen=chosen,
        args=_filter_args(chosen),
        page=page,
        totals=ledger_totals(current_user, chosen),
        years=years,
        kinds=list(FundKind),
        rollups={kind: rollup_label(kind.rollup) for kind in FundKind},
        editable=editable,
        may_edit=can(current_user, Action.EDIT, chosen.unit),
        paid_form=paid_form,
        back=request.full_path,
    )


@bp.get("/ledger.<fmt>")
@login_required
def export(fmt: str):
    """The filtered lines (every page) as a CSV or XLSX file for the accounts."""
    if fmt not in FORMATS:
        abort(404)
    return send_export(export_ledger(current_user, _chosen(), fmt))


# ---- one line -------------------------------------------------------------------------------


def _line_or_404(line_id: int) -> FundLine:
    return get_or_404(
        current_user,
        Action.EDIT,
        FundLine,
        line_id,
        joinedload(FundLine.unit),
        joinedload(FundLine.station),
    )


def _source_units(units: list[Unit]) -> list[Unit]:
    """The units money may come from for lines of `units`: those and every unit above them."""
    ids = {unit.id for unit in units} | {i for unit in units for i in unit.ancestor_ids}
    return list(db.session.scalars(select(Unit).where(Unit.id.in_(ids)).order_by(Unit.path)))


def _partners(units: list[Unit]) -> list[Partner]:
    """The partners kept by `units` or the units above them."""
    ids = {unit.id for unit in units} | {i for unit in units for i in unit.ancestor_ids}
    return list(
        db.session.scalars(
            select(Partner).where(Partner.unit_id.in_(ids)).order_by(Partner.name, Partner.id)
        )
    )


def _line_form(line: FundLine | None) -> FundLineForm:
    units = units_in_reach(current_user, Action.EDIT)
    if not units:
        abort(404)
    form = FundLineForm()
    form.unit.choices = unit_choices(units)
    form.source_unit.choices = [(NONE, "—"), *unit_choices(_source_units(units))]
    form.partner.choices = [(NONE, "—")] + [(p.id, p.name) for p in _partners(units)]
    if request.method == "GET":
        if line is not None:
            _fill(form, line)
        else:
            _preset(form)
    return form


def _fill(form: FundLineForm, line: FundLine) -> None:
    """The form showing the line as it stands."""
    form.kind.data = line.kind.value
    form.amount.data = line.amount
    form.year.data = line.year
    form.unit.data = line.unit_id
    form.station.data = line.station.code if line.station is not None else ""
    form.source_unit.data = line.source_unit_id or NONE
    form.partner.data = line.partner_id or NONE
    form.note.data = line.note
    form.allocated_on.data = line.allocated_on
    form.paid_on.data = line.paid_on


def _kind(text: str) -> FundKind | None:
    """A kind from its code, or None for an unknown one."""
    try:
        return FundKind(text)
    except ValueError:
        return None


def _preset(form: FundLineForm) -> None:
    """A new line's defaults, and the unit or station it was opened for (?unit=, ?station=)."""
    today = local_today()
    form.year.data = today.year
    form.allocated_on.data = today
    if "station" in request.args:
        station = get_or_404(
            current_user, Action.EDIT, Station, request.args.get("station", type=int)
        )
        form.unit.data, form.station.data = station.unit_id, station.code
    elif "unit" in request.args:
        form.unit.data = get_or_404(
            current_user, Action.EDIT, Unit, request.args.get("unit", type=int)
        ).id
    kind = _kind(request.args.get("kind", ""))
    if kind is not None:
        form.kind.data = kind.value


def _fields(form: FundLineForm) -> FundFields | None:
    """The form's line, or None when its station code names no station the user may edit."""
    station = None
    code = (form.station.data or "").strip()
    if code:
        station = db.session.scalar(
            select(Station).where(Station.code == code, visible(current_user, Action.EDIT, Station))
        )
        if station is None:
            form.station.errors.append(_("No station %(code)s among your units.", code=code))
            return None
    return FundFields(
        kind=FundKind(form.kind.data),
        amount=form.amount.data,
        year=form.year.data,
        allocated_on=form.allocated_on.data,
        paid_on=form.paid_on.data,
        unit=db.session.get(Unit, form.unit.data),
        station=station,
        source_unit=db.session.get(Unit, form.source_unit.data) if form.source_unit.data else None,
        partner=db.session.get(Partner, form.partner.data) if form.partner.data else None,
        note=form.note.data or "",
    )


def _save(form: FundLineForm, line: FundLine | None):
    """Record or correct the line; a refusal re-renders the form and writes nothing."""
    fields = _fields(form)
    if fields is None:
        return None
    try:
        if line is None:
            line = record_fund_line(current_user, fields)
        else:
            correct_fund_line(current_user, line, fields)
        db.session.commit()
    except FundError as error:
        db.session.rollback()
        if error.code is Refusal.OUT_OF_REACH:
            abort(404)
        show_error(form, error.message, error.field)
        return None
    flash(_("The line is saved."), "success")
    return redirect(url_for("funds.ledger", unit=line.unit_id, year=line.year))


@bp.route("/new", methods=["GET", "POST"])
@login_required
def new():
    """Add a line: a sum of money for a station or a unit."""
    form = _line_form(None)
    if form.validate_on_submit():
        done = _save(form, None)
        if done is not None:
            return done
    status = 422 if request.method == "POST" else 200
    return render_template("funds/form.html", form=form, line=None), status


@bp.route("/<int:line_id>/edit", methods=["GET", "POST"])
@login_required
def edit(line_id: int):
    """Correct an unpaid line (a paid one is shown, settled)."""
    line = _line_or_404(line_id)
    form = _line_form(line)
    if request.method == "POST" and line.paid_on is not None:
        flash(_("This line was paid on %(day)s: it is settled.", day=line.paid_on), "error")
        return redirect(url_for("funds.edit", line_id=line.id))
    if form.validate_on_submit():
        done = _save(form, line)
        if done is not None:
            return done
    status = 422 if request.method == "POST" else 200
    return render_template(
        "funds/form.html",
        form=form,
        line=line,
        delete_form=DeleteForm(formdata=None, confirm=line.id),
    ), status


def _back(fallback: str) -> str:
    """The ledger page a form came from (its own filters), or `fallback`."""
    target = request.form.get("back", "")
    ledger_path = url_for("funds.ledger")
    parts = urlsplit(target)
    if target and not parts.netloc and not parts.scheme and parts.path == ledger_path:
        return target
    return fallback


@bp.post("/<int:line_id>/paid")
@login_required
def paid(line_id: int):
    """Mark a line paid on a day."""
    line = _line_or_404(line_id)
    form = PaidForm()
    back = _back(url_for("funds.ledger", unit=line.unit_id, year=line.year))
    if not form.validate_on_submit():
        flash(_("Enter the day it was paid."), "error")
        return redirect(back)
    try:
        mark_paid(current_user, line, form.paid_on.data)
        db.session.commit()
    except FundError as error:
        db.session.rollback()
        flash(str(error.message), "error")
    else:
        flash(_("Marked paid on %(day)s.", day=line.paid_on), "success")
    return redirect(back)


@bp.post("/<int:line_id>/delete")
@login_required
def delete(line_id: int):
    """Delete an unpaid line entered in error."""
    line = _line_or_404(line_id)
    unit_id, year = line.unit_id, line.year
    form = DeleteForm()
    if not form.validate_on_submit() or form.confirm.data != str(line.id):
        return redirect(url_for("funds.edit", line_id=line.id))
    try:
        delete_fund_line(current_user, line)
        db.session.commit()
    except FundError as error:
        db.session.rollback()
        flash(str(error.message), "error")
        return redirect(url_for("funds.edit", line_id=line_id))
    flash(_("The line is deleted."), "success")
    return redirect(url_for("funds.ledger", unit=unit_id, year=year))


# ---- the operating-subsidy rule --------------------------------------------------------------


@bp.route("/operating-subsidies", methods=["GET", "POST"])
@login_required
def operating_rule():
    """Write a year's operating subsidy for every station of a subtree holding a label."""
    units = units_in_reach(current_user, Action.EDIT)
    if not units:
        abort(404)
    labels = list(db.session.scalars(select(Label).order_by(Label.position, Label.id)))
    form = OperatingRuleForm()
    form.unit.choices = unit_choices(units)
    form.label.choices = [(label.id, label.name) for label in labels]
    if request.method == "GET":
        today = local_today()
        form.year.data, form.allocated_on.data = today.year, today
        if "unit" in request.args:
            form.unit.data = get_or_404(
                current_user, Action.EDIT, Unit, request.args.get("unit", type=int)
            ).id
    if form.validate_on_submit():
        unit = next(u for u in units if u.id == form.unit.data)
        label = next(label for label in labels if label.id == form.label.data)
        try:
            added = generate_operating_subsidies(
                unit,
                label,
                form.year.data,
                form.amount.data,
                form.allocated_on.data,
                current_user,
            )
            db.session.commit()
        except FundError as error:
            db.session.rollback()
            if error.code is Refusal.OUT_OF_REACH:
                abort(404)
            show_error(form, error.message, error.field)
        else:
            if added:
                message = _(
                    "Operating subsidy lines added: %(n)s, for the stations holding %(label)s.",
                    n=added,
                    label=label.name,
                )
            else:
                message = _(
                    "0 added: every station holding %(label)s already has its line for %(year)s.",
                    label=label.name,
                    year=form.year.data,
                )
            flash(message, "success")
            return redirect(
                url_for(
                    "funds.ledger",
                    unit=unit.id,
                    year=form.year.data,
                    kind=FundKind.OPERATING_SUBSIDY.value,
                )
            )
    status = 422 if request.method == "POST" else 200
    return render_template("funds/rule.html", form=form), status
