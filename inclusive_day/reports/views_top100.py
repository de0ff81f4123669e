"""The Double Top 100 pages: a unit's top sites and top station masters for a year, the weights
form and the confirmation for those who may edit the unit, and the PDF and spreadsheet.

Until organisers confirm them the lists are a draft that only those who may edit the unit see
(everyone else who may see the unit is told they are not yet published); once confirmed, they
are shown to everyone who may see the unit exactly as they were confirmed.
"""

from __future__ import annotations

import io

from flask import abort, flash, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from inclusive_day.access.rule import Action, can
from inclusive_day.database import utcnow
from inclusive_day.extensions import db
from inclusive_day.periods import local_today
from inclusive_day.reports import bp
from inclusive_day.reports.documents import render_top100
from inclusive_day.reports.forms import Top100ConfirmForm, Top100Form, Top100WeightsForm
from inclusive_day.reports.pdf import file_name
from inclusive_day.reports.top100 import (
    CRITERIA,
    FIRST_YEAR,
    LAST_YEAR,
    LIST_SIZE,
    MIN_RATINGS,
    Board,
    Top100Error,
    build_board,
    confirm_board,
    list_of,
    save_weights,
    weights_of,
)
from inclusive_day.reports.top100_sheets import top100_export
from inclusive_day.reports.views import (
    PDF,
    _language,
    _ranking_unit_choices,
    _report_unit,
)
from inclusive_day.units.models import Unit
from inclusive_day.web import send_export, show_error


class Top100Request:
    """A Double Top 100 request: the unit (in reach, else 404) and the year (this year by
    default; not a year, or out of range, answers 404), and whether the user may edit it."""

    def __init__(self) -> None:
        self.unit: Unit = _report_unit()
        raw = request.args.get("year", "")
        if raw:
            try:
                self.year = int(raw)
            except ValueError:
                abort(404)
        else:
            self.year = local_today().year
        if not FIRST_YEAR <= self.year <= LAST_YEAR:
            abort(404)
        self.may_edit = can(current_user, Action.EDIT, self.unit)
        self.record = list_of(self.unit.id, self.year)
        self.form = Top100Form(formdata=None)
        self.form.unit.choices = _ranking_unit_choices(self.unit)
        self.form.unit.data = self.unit.id
        self.form.year.data = self.year

    @property
    def is_confirmed(self) -> bool:
        """True once the lists of this unit and year were confirmed."""
        return self.record is not None and self.record.is_confirmed

    @property
    def may_see_lists(self) -> bool:
        """Confirmed lists are for everyone who may see the unit; a draft for its editors."""
        return self.is_confirmed or self.may_edit

    def params(self, **extra) -> dict:
        """The query string of this page."""
        return {"unit": self.unit.id, "year": self.year, **extra}


def _page(req: Top100Request, board: Board | None, weights_form=None, status: int = 200):
    confirm_form = None
    if board is not None and req.may_edit and not board.is_confirmed:
        confirm_form = Top100ConfirmForm(formdata=None)
        confirm_form.shown.data = board.digest()
    if weights_form is None and req.may_edit and not req.is_confirmed:
        weights_form = Top100WeightsForm(formdata=None)
        weights_form.fill(weights_of(req.record))
    return render_template(
        "reports/top100.html",
        req=req,
        board=board,
        criteria=CRITERIA,
        weights=weights_of(req.record),
        weights_form=weights_form,
        confirm_form=confirm_form,
        list_size=LIST_SIZE,
        min_ratings=MIN_RATINGS,
        year_ended=req.year < local_today().year,
        lang=_language(),
    ), status


@bp.get("/top100")
@login_required
def top100():
    """A unit's Double Top 100 for a year: the published criteria and weights, the top sites
    and top station masters with each criterion's raw figure beside the score."""
    req = Top100Request()
    board = build_board(req.unit, req.year) if req.may_see_lists else None
    return _page(req, board)


@bp.post("/top100/weights")
@login_required
def top100_weights():
    """Organisers set the criteria's weights (while the lists are not confirmed)."""
    req = Top100Request()
    if not req.may_edit:
        abort(404)
    form = Top100WeightsForm()
    if form.validate_on_submit():
        try:
            save_weights(req.unit, req.year, form.raw())
        except Top100Error as error:
            db.session.rollback()
            show_error(form, error.message, f"weight_{error.field}" if error.field else None)
        else:
            db.session.commit()
            flash(_("Weights saved: the lists are ranked by them."), "success")
            return redirect(url_for("reports.top100", **req.params()))
    # Bad input: the form again with what was typed, nothing written.
    req.record = list_of(req.unit.id, req.year)
    return _page(req, build_board(req.unit, req.year), form, 400)


@bp.post("/top100/confirm")
@login_required
def top100_confirm():
    """Organisers confirm and publish both lists exactly as the page showed them."""
    req = Top100Request()
    if not req.may_edit:
        abort(404)
    form = Top100ConfirmForm()
    back = url_for("reports.top100", **req.params())
    if not form.validate_on_submit() or not form.shown.data:
        flash(_("The form has expired; try again."), "error")
        return redirect(back)
    try:
        confirm_board(req.unit, req.year, form.shown.data, current_user, utcnow())
    except Top100Error as error:
        db.session.rollback()
        flash(str(error.message), "error")
        return redirect(back)
    db.session.commit()
    flash(_("The Double Top 100 of %(year)s is confirmed and published.", year=req.year), "success")
    return redirect(back)


def _board_or_404() -> tuple[Top100Request, Board]:
    """The board a download shows: confirmed lists to those who may see the unit, a draft
    to its editors only."""
    req = Top100Request()
    if not req.may_see_lists:
        abort(404)
    return req, build_board(req.unit, req.year)


@bp.get("/top100.pdf")
@login_required
def top100_pdf():
    """The Double Top 100 as an A4 PDF notice (marked as a draft until confirmed)."""
    req, board = _board_or_404()
    lang = _language()
    word = "双百优" if lang == "zh" else "top100"
    name = file_name(req.unit.name, word, str(req.year))
    # send_file spells a Chinese file name as RFC 6266 wants (pdf_response's is ASCII only).
    return send_file(
        io.BytesIO(render_top100(board, lang)), mimetype=PDF, download_name=name, max_age=0
    )


@bp.get("/top100.xlsx")
@login_required
def top100_spreadsheet():
    """Both lists and the criteria as the sheets of one XLSX workbook."""
    _req, board = _board_or_404()
    return send_export(top100_export(board))
