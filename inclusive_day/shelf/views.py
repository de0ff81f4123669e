"""The shelf's staff pages: a station's shelf (open it, its limit, its items, goods put on and
taken on a worker's behalf, the latest of both) and the rollup of a subtree's shelves.

Whoever may view the station sees its shelf; whoever may record at it manages the shelf. Every
form of the page posts to its own address; a refusal shows the whole page again with the
message (422) and writes nothing; puttings and takings carry a nonce, so a double submit
records one.
"""

from __future__ import annotations

import secrets
from datetime import date

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload

from inclusive_day.access.rule import Action, can, get_or_404, visible
from inclusive_day.attendance.models import BeneficiaryGroup
from inclusive_day.attendance.services import parse_person
from inclusive_day.construction.queries import children_of
from inclusive_day.database import utcnow
from inclusive_day.extensions import db
from inclusive_day.periods import zone_of
from inclusive_day.refusals import Refused
from inclusive_day.shelf import bp
from inclusive_day.shelf.forms import CITIZEN, ItemForm, LimitForm, OpenShelfForm, PutForm, TakeForm
from inclusive_day.shelf.models import GiverKind, Shelf, ShelfGift
from inclusive_day.shelf.queries import (
    items_of,
    last_restocked,
    open_shelf_stations,
    recent_gifts,
    recent_takings,
    shelf_at,
    shelf_rollup,
)
from inclusive_day.shelf.services import (
    add_item,
    close_shelf,
    open_shelf,
    reopen_shelf,
    set_limit,
    station_today,
)
from inclusive_day.shelf.stock import ShelfError, put, take
from inclusive_day.sponsors.models import Sponsor
from inclusive_day.spreadsheets import Table, export
from inclusive_day.stations.models import Station
from inclusive_day.units.models import Unit
from inclusive_day.units.queries import top_units
from inclusive_day.volunteers.models import VolunteerTeam
from inclusive_day.web import send_export, show_error

# How many sponsors and teams the giver list offers.
GIVERS_MAX = 300


def new_nonce() -> str:
    """A fresh idempotency key for one putting or taking form."""
    return secrets.token_urlsafe(16)


def _station(station_id: int, action: Action = Action.VIEW) -> Station:
    return get_or_404(current_user, action, Station, station_id, joinedload(Station.unit))


def _shelf(station: Station) -> Shelf:
    shelf = shelf_at(station.id)
    if shelf is None:
        abort(404)
    return shelf


# ---- the station's shelf ------------------------------------------------------------------


def _givers() -> list[tuple[str, str]]:
    """The giver choices: a citizen, the sponsors and the volunteer teams the user may see."""
    sponsors = db.session.execute(
        select(Sponsor.id, Sponsor.name)
        .where(visible(current_user, Action.VIEW, Sponsor))
        .order_by(Sponsor.name)
        .limit(GIVERS_MAX)
    ).all()
    teams = db.session.execute(
        select(VolunteerTeam.id, VolunteerTeam.name)
        .where(visible(current_user, Action.VIEW, VolunteerTeam))
        .order_by(VolunteerTeam.name)
        .limit(GIVERS_MAX)
    ).all()
    return [
        (CITIZEN, _("A citizen (anonymous)")),
        *[(f"sponsor:{i}", _("Sponsor: %(name)s", name=n)) for i, n in sponsors],
        *[(f"team:{i}", _("Volunteer team: %(name)s", name=n)) for i, n in teams],
    ]


def _item_choices(items) -> list[tuple[int, str]]:
    return [(item.id, f"{item.name} ({item.stock:,}{item.unit_label})") for item in items]


def _forms(station: Station, shelf: Shelf | None, items, given: dict) -> dict:
    """Every form of the page: those given (as posted), the others fresh."""
    forms = {}
    if shelf is None:
        forms["open_form"] = given.get("open_form") or OpenShelfForm(
            formdata=None, opened_on=station_today(station)
        )
        return forms
    forms["limit_form"] = given.get("limit_form") or LimitForm(
        formdata=None, per_person_day=shelf.per_person_day
    )
    forms["item_form"] = given.get("item_form") or ItemForm(formdata=None)
    put_form = given.get("put_form") or PutForm(formdata=None, nonce=new_nonce())
    take_form = given.get("take_form") or TakeForm(formdata=None, nonce=new_nonce())
    put_form.item.choices = take_form.item.choices = _item_choices(items)
    put_form.giver.choices = _givers()
    forms["put_form"], forms["take_form"] = put_form, take_form
    return forms


def _page(station: Station, status: int = 200, **given):
    shelf = shelf_at(station.id)
    items = items_of(shelf) if shelf else []
    may_record = can(current_user, Action.RECORD, station)
    return (
        render_template(
            "shelf/station.html",
            station=station,
            shelf=shelf,
            items=items,
            may_record=may_record,
            restocked=last_restocked(station.id) if shelf else None,
            gifts=recent_gifts(station.id) if shelf else [],
            takings=recent_takings(station.id) if shelf else [],
            zone=zone_of(station.unit.timezone),
            **(_forms(station, shelf, items, given) if may_record else {}),
        ),
        status,
    )


def _refused(station: Station, form_name: str, form, error: Refused):
    """Roll back whatever the refused verb wrote and show the page with the message."""
    db.session.rollback()
    show_error(form, error.message, error.field)
    return _page(station, 422, **{form_name: form})


@bp.get("/stations/<int:station_id>/shelf")
@login_required
def station(station_id: int):
    """A station's shelf: its items and stock, the latest goods put on and taken, and the
    forms to run it for those who record at the station."""
    return _page(_station(station_id))


@bp.post("/stations/<int:station_id>/shelf/open")
@login_required
def open_(station_id: int):
    """Open a shelf at the station (or a closed one again)."""
    station = _station(station_id, Action.RECORD)
    form = OpenShelfForm()
    if not form.validate_on_submit():
        return _page(station, 422, open_form=form)
    try:
        open_shelf(station, form.opened_on.data, form.per_person_day.data, form.note.data)
    except ShelfError as error:
        return _refused(station, "open_form", form, error)
    db.session.commit()
    flash(_("The shelf is open."), "success")
    return redirect(url_for("shelf.station", station_id=station.id))


@bp.post("/stations/<int:station_id>/shelf/close")
@login_required
def close(station_id: int):
    """Close the shelf for now."""
    station = _station(station_id, Action.RECORD)
    close_shelf(_shelf(station))
    db.session.commit()
    flash(_("The shelf is closed: nothing is put on or taken off until it opens again."), "info")
    return redirect(url_for("shelf.station", station_id=station.id))


@bp.post("/stations/<int:station_id>/shelf/reopen")
@login_required
def reopen(station_id: int):
    """Open the closed shelf again."""
    station = _station(station_id, Action.RECORD)
    reopen_shelf(_shelf(station))
    db.session.commit()
    flash(_("The shelf is open again."), "success")
    return redirect(url_for("shelf.station", station_id=station.id))


@bp.post("/stations/<int:station_id>/shelf/limit")
@login_required
def limit(station_id: int):
    """Change how many items one person may take a day."""
    station = _station(station_id, Action.RECORD)
    shelf = _shelf(station)
    form = LimitForm()
    if not form.validate_on_submit():
        return _page(station, 422, limit_form=form)
    try:
        set_limit(shelf, form.per_person_day.data)
    except ShelfError as error:
        return _refused(station, "limit_form", form, error)
    db.session.commit()
    flash(_("The limit is saved."), "success")
    return redirect(url_for("shelf.station", station_id=station.id))


@bp.post("/stations/<int:station_id>/shelf/items")
@login_required
def new_item(station_id: int):
    """Add a kind of goods to the shelf."""
    station = _station(station_id, Action.RECORD)
    shelf = _shelf(station)
    form = ItemForm()
    if not form.validate_on_submit():
        return _page(station, 422, item_form=form)
    try:
        add_item(shelf, form.name.data, form.unit_label.data, form.points.data)
        db.session.commit()
    except ShelfError as error:
        return _refused(station, "item_form", form, error)
    except IntegrityError:
        db.session.rollback()
        show_error(form, _("This shelf already has an item of that name."), "name")
        return _page(station, 422, item_form=form)
    flash(_("The item is added."), "success")
    return redirect(url_for("shelf.station", station_id=station.id))


def _giver(value: str) -> tuple[GiverKind, int | None, int | None] | None:
    """The giver a choice names, if the user may see it: (kind, sponsor id, team id)."""
    if value == CITIZEN:
        return GiverKind.CITIZEN, None, None
    kind, _sep, raw = (value or "").partition(":")
    if not raw.isdigit() or kind not in ("sponsor", "team"):
        return None
    model = Sponsor if kind == "sponsor" else VolunteerTeam
    row = db.session.get(model, int(raw))
    if row is None or not can(current_user, Action.VIEW, row):
        return None
    if kind == "sponsor":
        return GiverKind.SPONSOR, row.id, None
    return GiverKind.TEAM, None, row.id


def _items_of(station: Station) -> list[tuple[int, str]]:
    shelf = shelf_at(station.id)
    return _item_choices(items_of(shelf)) if shelf else []


@bp.post("/stations/<int:station_id>/shelf/put")
@login_required
def put_on(station_id: int):
    """Record goods put on the shelf, by whom."""
    station = _station(station_id, Action.RECORD)
    form = PutForm()
    form.item.choices = _items_of(station)
    form.giver.choices = _givers()
    if not form.validate_on_submit() or not form.nonce.data:
        return _page(station, 422, put_form=form)
    giver = _giver(form.giver.data)
    if giver is None:
        show_error(form, _("Choose who gave the goods from the list."), "giver")
        return _page(station, 422, put_form=form)
    kind, sponsor_id, team_id = giver
    try:
        _gift, created = put(
            form.item.data,
            form.quantity.data,
            kind,
            sponsor_id=sponsor_id,
            team_id=team_id,
            note=(form.note.data or "").strip(),
            nonce=form.nonce.data[:64],
            user_id=current_user.id,
        )
        db.session.commit()
    except ShelfError as error:
        return _refused(station, "put_form", form, error)
    except IntegrityError:
        # The same form sent twice at once: the other request stored it.
        db.session.rollback()
        created = db.session.scalar(select(ShelfGift.id).where(ShelfGift.nonce == form.nonce.data))
        if created is None:
            raise
        created = False
    if created:
        flash(_("The goods are on the shelf."), "success")
    else:
        flash(_("These goods were already recorded."), "info")
    return redirect(url_for("shelf.station", station_id=station.id))


@bp.post("/stations/<int:station_id>/shelf/take")
@login_required
def take_off(station_id: int):
    """Record goods taken on a worker's behalf (their mobile number, where the shelf limits
    takings per person, is hashed and dropped)."""
    station = _station(station_id, Action.RECORD)
    form = TakeForm()
    form.item.choices = _items_of(station)
    if not form.validate_on_submit() or not form.nonce.data:
        return _page(station, 422, take_form=form)
    try:
        # A number is hashed only where the shelf counts per person, and never kept.
        shelf = shelf_at(station.id)
        limited = shelf is not None and shelf.per_person_day is not None
        asked = limited and (form.phone.data or "").strip()
        person = parse_person(form.phone.data) if asked else None
        done = take(
            form.item.data,
            form.quantity.data,
            BeneficiaryGroup(form.group.data),
            form.nonce.data[:64],
            person=person,
            user_id=current_user.id,
        )
        db.session.commit()
    except Refused as error:
        return _refused(station, "take_form", form, error)
    if done.created:
        flash(_("Taken: %(left)s left on the shelf.", left=f"{done.stock:,}"), "success")
    else:
        flash(_("This taking was already recorded."), "info")
    return redirect(url_for("shelf.station", station_id=station.id))


# ---- the rollup ---------------------------------------------------------------------------


def _report_unit() -> Unit:
    raw = request.args.get("unit")
    if not raw:
        tops = top_units(current_user, Action.VIEW)
        if not tops:
            abort(404)
        return tops[0]
    if not raw.isdigit():
        abort(404)
    return get_or_404(current_user, Action.VIEW, Unit, int(raw))


def _period(unit: Unit) -> tuple[date, date]:
    """?from= and ?to= (YYYY-MM-DD); by default this year up to today in the unit's zone."""
    today = _today(unit)
    try:
        first = date.fromisoformat(request.args.get("from") or f"{today.year}-01-01")
        last = date.fromisoformat(request.args.get("to") or today.isoformat())
    except ValueError:
        abort(400)
    if first > last or (last - first).days > 3660:
        abort(400)
    return first, last


def _today(unit: Unit) -> date:
    """Today in the unit's zone."""
    return utcnow().astimezone(zone_of(unit.timezone)).date()


def _rollup_context(unit: Unit) -> dict:
    first, last = _period(unit)
    rollup = shelf_rollup(unit, first, last)
    children = children_of(unit)
    rows = [(child, rollup.by_child.get(child.id)) for child in children]
    return {
        "unit": unit,
        "first": first,
        "last": last,
        "rollup": rollup,
        "rows": rows,
        "own": rollup.by_child.get(unit.id),
        "total": rollup.total,
    }


@bp.get("/shelf/report")
@login_required
def report():
    """Goods given and taken at the shelves of a subtree over a period: the headline, a line
    per sub-unit, by giver kind and by group, and the stations with an open shelf."""
    unit = _report_unit()
    context = _rollup_context(unit)
    context["stations"] = open_shelf_stations(unit)
    return render_template("shelf/report.html", **context)


@bp.get("/shelf/report.xlsx")
@login_required
def report_xlsx():
    """The rollup as a spreadsheet: one row per sub-unit."""
    unit = _report_unit()
    context = _rollup_context(unit)
    rollup = context["rollup"]
    headers = [
        _("Sub-unit"),
        _("Open shelves"),
        _("Items given"),
        _("Puttings"),
        _("Items taken"),
        _("Takings"),
    ]
    body = []
    named = [(child.id, child.name) for child, _flow in context["rows"]]
    if context["own"]:
        named.append((unit.id, _("%(unit)s's own stations", unit=unit.name)))
    for unit_id, name in named:
        flow = rollup.by_child.get(unit_id)
        body.append(
            [
                name,
                rollup.open_by_child.get(unit_id, 0),
                flow.given if flow else 0,
                flow.gifts if flow else 0,
                flow.taken if flow else 0,
                flow.takings if flow else 0,
            ]
        )
    total = rollup.total
    body.append(
        [_("Total"), rollup.open_shelves, total.given, total.gifts, total.taken, total.takings]
    )
    table = Table(_("Shelves"), headers, body, [28, 12, 12, 12, 12, 12])
    return send_export(export([table], "xlsx", "shelves"))
