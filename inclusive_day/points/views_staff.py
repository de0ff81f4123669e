"""Points pages for staff: spending at a station (from the code a worker shows), a unit's rules,
and the rollup of a subtree's points.

A balance shows only to whoever may record at the station, and only for the code the worker
shows from their card: staff never look a balance up by number.
"""

from __future__ import annotations

import secrets
from datetime import date, timedelta

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from inclusive_day.access.rule import Action, get_or_404
from inclusive_day.database import utcnow
from inclusive_day.extensions import db, limiter
from inclusive_day.periods import zone_of
from inclusive_day.points import bp
from inclusive_day.points.card import CardError, account_from_code
from inclusive_day.points.earning import MAX_RULE_POINTS, rule_at
from inclusive_day.points.forms import GoodsForm, RulesForm, ServiceForm
from inclusive_day.points.models import EarnRule, EntryReason, PointAccount, PointRule
from inclusive_day.points.queries import card_history, points_rollup
from inclusive_day.points.services import Refusal as SpendRefusal
from inclusive_day.points.services import (
    SpendError,
    goods_for_points,
    set_rules,
    spend_on_goods,
    spend_on_service,
)
from inclusive_day.refusals import Refused
from inclusive_day.stations.models import Station
from inclusive_day.units.models import Unit
from inclusive_day.units.queries import top_units

# How many of a worker's entries the station's page lists.
RECENT = 10
# The report's default period: the last 30 days, today included.
DEFAULT_DAYS = 30
MAX_REPORT_DAYS = 366 * 2


def _new_nonce() -> str:
    return secrets.token_urlsafe(16)


# ---- spending at a station --------------------------------------------------------------------


def _staff_key() -> str:
    return f"points-code:{current_user.get_id()}"


@bp.route("/stations/<int:station_id>/points", methods=["GET", "POST"])
@login_required
# A code's signature is short enough to type: refused codes are limited per account, so no one
# can try codes until one names someone else's card.
@limiter.limit(
    lambda: current_app.config["POINTS_CODE_LIMIT"],
    key_func=_staff_key,
    deduct_when=lambda response: response.status_code == 422,
)
def station_points(station_id: int):
    """Take the code a worker shows (typed or scanned), show their balance and recent entries,
    and spend their points on the shelf's goods or on a service."""
    station = get_or_404(current_user, Action.RECORD, Station, station_id, joinedload(Station.unit))
    goods = goods_for_points(station.id)
    goods_form, service_form = GoodsForm(prefix="goods"), ServiceForm(prefix="service")
    goods_form.item.choices = [
        (item.id, _("%(name)s · %(points)d points", name=item.name, points=item.points))
        for item in goods
    ]
    code, message, status, account = request.args.get("code", "").strip(), None, 200, None
    if request.method == "POST":
        form = goods_form if "goods-submit" in request.form else service_form
        code = (form.code.data or "").strip()
        try:
            account = account_from_code(code)
            if not form.validate_on_submit() or not form.nonce.data:
                raise _unsent(form)
            entry = _spend(form, account, station)
        except Refused as error:
            db.session.rollback()
            message, status = str(error.message), 422
            if isinstance(error, CardError):
                account = None
        else:
            spent = -entry.delta
            db.session.commit()
            flash(_("Spent %(n)d points.", n=spent), "success")
            return redirect(url_for("points.station_points", station_id=station.id, code=code))
    elif code:
        try:
            account = account_from_code(code)
        except CardError as error:
            message, status = str(error.message), 422
    if account is not None:
        for form in (goods_form, service_form):
            form.code.data = code
            if request.method == "GET" or not form.nonce.data:
                form.nonce.data = _new_nonce()
    response = current_app.make_response(
        (
            render_template(
                "points/station.html",
                station=station,
                code=code,
                account=account,
                entries=card_history(account.id, RECENT) if account else [],
                goods=goods,
                goods_form=goods_form,
                service_form=service_form,
                message=message,
            ),
            status,
        )
    )
    response.headers["Cache-Control"] = "no-store"
    return response


def _unsent(form) -> Refused:
    """The refusal of a spend form that came incomplete (its fields' complaints) or stale."""
    errors = [str(e) for errors in form.errors.values() for e in errors]
    return SpendError(
        "; ".join(errors) or _("This form has expired. Look the code up again."),
        SpendRefusal.STALE_FORM,
    )


def _spend(form, account: PointAccount, station: Station):
    if isinstance(form, GoodsForm):
        return spend_on_goods(
            account,
            station,
            form.item.data,
            form.quantity.data,
            form.group.data,
            form.nonce.data,
            current_user.id,
        )
    return spend_on_service(
        account, station, form.name.data, form.points.data, form.nonce.data, current_user.id
    )


# ---- a unit's rules -------------------------------------------------------------------------


def _unit(action: Action) -> Unit:
    """?unit= if the user may `action` it, else the user's highest such unit; 404 if none."""
    raw = request.args.get("unit")
    if not raw:
        tops = top_units(current_user, action)
        if not tops:
            abort(404)
        return tops[0]
    try:
        unit_id = int(raw)
    except ValueError:
        abort(404)
    return get_or_404(current_user, action, Unit, unit_id)


@bp.route("/points/rules", methods=["GET", "POST"])
@login_required
def rules():
    """A unit's points rules: its own points per volunteer hour and per activity, and what is
    in force from the units above."""
    unit = _unit(Action.EDIT)
    form = RulesForm()
    status = 200
    if form.validate_on_submit():
        try:
            set_rules(
                unit,
                {
                    EarnRule.VOLUNTEER_HOUR: form.volunteer_hour.data,
                    EarnRule.ACTIVITY: form.activity.data,
                },
            )
        except Refused as error:
            db.session.rollback()
            form.form_errors.append(str(error.message))
            status = 422
        else:
            db.session.commit()
            flash(_("The points rules of %(unit)s are saved.", unit=unit.name), "success")
            return redirect(url_for("points.rules", unit=unit.id))
    elif form.is_submitted():
        status = 422
    own = {
        row.rule: row.points
        for row in db.session.scalars(select(PointRule).where(PointRule.unit_id == unit.id))
    }
    rows = []
    for rule in EarnRule:
        above = rule_at(unit.parent, rule) if unit.parent is not None else None
        rows.append(
            {
                "rule": rule,
                "field": form.volunteer_hour if rule is EarnRule.VOLUNTEER_HOUR else form.activity,
                "own": own.get(rule),
                "above": above,
                "in_force": rule_at(unit, rule),
            }
        )
    if request.method == "GET":
        form.volunteer_hour.data = own.get(EarnRule.VOLUNTEER_HOUR)
        form.activity.data = own.get(EarnRule.ACTIVITY)
    return render_template(
        "points/rules.html", unit=unit, form=form, rows=rows, max_points=MAX_RULE_POINTS
    ), status


# ---- the rollup -------------------------------------------------------------------------------


def _day(name: str, default: date) -> date:
    raw = request.args.get(name)
    if not raw:
        return default
    try:
        return date.fromisoformat(raw)
    except ValueError:
        abort(400)


@bp.get("/points/report")
@login_required
def report():
    """Points earned and spent per sub-unit and reason over a period, with active accounts."""
    unit = _unit(Action.VIEW)
    today = utcnow().astimezone(zone_of(unit.timezone)).date()
    last = _day("to", today)
    first = _day("from", last - timedelta(days=DEFAULT_DAYS - 1))
    message = None
    if last < first or (last - first).days >= MAX_REPORT_DAYS:
        message = _("Pick a period of up to two years that ends on or after it starts.")
        first, last = last - timedelta(days=DEFAULT_DAYS - 1), last
    rollup = points_rollup(unit, first, last)
    return render_template(
        "points/report.html",
        rollup=rollup,
        reasons=list(EntryReason),
        message=message,
    ), (422 if message else 200)
