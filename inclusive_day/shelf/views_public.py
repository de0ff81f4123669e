"""The shelf's public pages (no sign-in, on the phone): what a station's shelf holds now, and a
worker taking something from it themselves.

The taking form carries a nonce (a double tap records one taking) and is rate-limited per
client address with the check-ins (the same limit and scope). A mobile number, asked only where
the shelf limits takings per person, is hashed at once and never stored or shown.
"""

from __future__ import annotations

from flask import abort, current_app, redirect, render_template, request, session, url_for
from flask_babel import gettext as _

from inclusive_day.api.checkins import CHECKIN_LIMIT_SCOPE, checkin_rate_limit
from inclusive_day.attendance.models import BeneficiaryGroup
from inclusive_day.attendance.services import check_nonce, parse_person
from inclusive_day.directory.queries import public_station
from inclusive_day.extensions import db, limiter
from inclusive_day.periods import zone_of
from inclusive_day.refusals import Refused
from inclusive_day.shelf import bp
from inclusive_day.shelf.forms import TakeForm
from inclusive_day.shelf.models import Shelf, ShelfTaking
from inclusive_day.shelf.queries import items_of, last_restocked, shelf_at
from inclusive_day.shelf.stock import take
from inclusive_day.shelf.views import new_nonce
from inclusive_day.stations.models import Station, StationStatus
from inclusive_day.web import show_error

# The session key of the last taking's confirmation: record ids only, never a number.
TAKEN_KEY = "shelf_taken"


def _public_shelf(code: str) -> tuple[Station, Shelf]:
    """The listed station with this code and its shelf, else 404."""
    station = public_station(code)
    shelf = shelf_at(station.id) if station is not None else None
    if shelf is None:
        abort(404)
    return station, shelf


def _takes_now(station: Station, shelf: Shelf) -> bool:
    return shelf.is_open and station.status is StationStatus.ACTIVE


def _page(template: str, status: int = 200, **context):
    response = current_app.make_response((render_template(template, **context), status))
    # Back after a taking must fetch a new form (and nonce), never replay the old one.
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/directory/stations/<code>/shelf")
def public(code: str):
    """What the station's shelf holds now, item by item, and when it was last restocked."""
    station, shelf = _public_shelf(code)
    return render_template(
        "shelf/public.html",
        station=station,
        shelf=shelf,
        items=items_of(shelf),
        restocked=last_restocked(station.id),
        zone=zone_of(station.unit.timezone),
        takes_now=_takes_now(station, shelf),
    )


def _form(items) -> TakeForm:
    form = TakeForm()
    # Goods with a points price are exchanged at the counter, with the points card.
    form.item.choices = [
        (i.id, i.name)
        for i in items
        if i.points is None and (i.stock > 0 or request.method == "POST")
    ]
    if request.method == "GET":
        form.nonce.data = new_nonce()
        form.item.data = request.args.get("item", type=int)
    return form


@bp.route("/directory/stations/<code>/shelf/take", methods=["GET", "POST"])
@limiter.shared_limit(checkin_rate_limit, CHECKIN_LIMIT_SCOPE, methods=["POST"])
def public_take(code: str):
    """A worker takes something from the shelf on their phone: the item, how many, their
    group, and their mobile number where the shelf limits takings per person."""
    station, shelf = _public_shelf(code)
    items = items_of(shelf)
    form = _form(items)
    message, status = None, 200
    if not _takes_now(station, shelf):
        message = _("This shelf is closed for now.")
        status = 422 if request.method == "POST" else 200
    elif request.method == "POST":
        status = 422
        if form.validate_on_submit():
            try:
                nonce = check_nonce(form.nonce.data)
                # A number is hashed only where the shelf counts per person, and never kept.
                asked = shelf.per_person_day and (form.phone.data or "").strip()
                person = parse_person(form.phone.data) if asked else None
                done = take(
                    form.item.data,
                    form.quantity.data,
                    BeneficiaryGroup(form.group.data),
                    nonce,
                    person=person,
                )
                taking_id = done.taking.id
                db.session.commit()
            except Refused as error:
                db.session.rollback()
                if error.field == "nonce":
                    form.nonce.data = new_nonce()
                show_error(form, error.message, error.field)
            else:
                session[TAKEN_KEY] = {"code": code, "id": taking_id, "created": done.created}
                return redirect(url_for("shelf.public_taken", code=code))
    return _page(
        "shelf/take.html",
        status,
        station=station,
        shelf=shelf,
        form=form,
        message=message,
        takes_now=_takes_now(station, shelf),
        has_stock=any(i.stock > 0 for i in items),
    )


@bp.get("/directory/stations/<code>/shelf/taken")
def public_taken(code: str):
    """The confirmation after a taking on the phone."""
    station, shelf = _public_shelf(code)
    done = session.get(TAKEN_KEY)
    taking = (
        db.session.get(ShelfTaking, done["id"])
        if isinstance(done, dict) and done.get("code") == code
        else None
    )
    if taking is None or taking.station_id != station.id:
        return redirect(url_for("shelf.public_take", code=code))
    return _page(
        "shelf/taken.html",
        station=station,
        shelf=shelf,
        taking=taking,
        item=taking.item,
        created=done["created"],
    )
