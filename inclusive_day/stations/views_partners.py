"""Co-building partner pages: the list, a partner with its stations, create and edit."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from inclusive_day.access.rule import Action, can, get_or_404, reach, visible
from inclusive_day.database import utcnow
from inclusive_day.extensions import db
from inclusive_day.sponsors.models import Sponsor
from inclusive_day.stations import bp
from inclusive_day.stations.forms import PartnerForm
from inclusive_day.stations.models import Partner, Station
from inclusive_day.stations.partners import (
    PartnerFields,
    partner_station_counts,
    partner_stations,
    save_partner,
)
from inclusive_day.stations.services import StationError
from inclusive_day.units.queries import unit_choices, units_in_reach
from inclusive_day.web import show_error

PER_PAGE = 50
NO_SPONSOR = 0


@bp.get("/partners/")
@login_required
def partners():
    """The partners the user may see: kept by units in their reach, and by the units above
    them (whose partners their stations may name)."""
    query = request.args.get("q", "").strip()[:100]
    stmt = (
        select(Partner)
        .where(visible(current_user, Action.VIEW, Partner))
        .options(joinedload(Partner.unit), joinedload(Partner.sponsor))
        .order_by(Partner.name, Partner.id)
    )
    if query:
        stmt = stmt.where(Partner.name.contains(query, autoescape=True))
    page = db.paginate(stmt, per_page=PER_PAGE, error_out=False)
    return render_template(
        "stations/partners.html",
        page=page,
        query=query,
        counts=partner_station_counts([p.id for p in page.items]),
        may_add=_may_keep(),
    )


def _may_keep() -> bool:
    r = reach(current_user, Action.EDIT)
    return r.everything or bool(r.unit_paths)


@bp.get("/partners/<int:partner_id>")
@login_required
def partner(partner_id: int):
    """A partner: its contact, its sponsor record, and the stations it co-builds with their
    door traffic and the activities held there."""
    found = get_or_404(
        current_user,
        Action.VIEW,
        Partner,
        partner_id,
        joinedload(Partner.unit),
        joinedload(Partner.sponsor),
    )
    rows = partner_stations(found, visible(current_user, Action.VIEW, Station), utcnow())
    return render_template(
        "stations/partner.html",
        partner=found,
        rows=rows,
        may_edit=can(current_user, Action.EDIT, found),
        sponsor_visible=found.sponsor is not None and can(current_user, Action.VIEW, found.sponsor),
    )


def _partner_form(found: Partner | None):
    """Create or edit a partner: the same form, the same rules, one commit."""
    units = units_in_reach(current_user, Action.EDIT)
    if not units:
        abort(404)
    form = PartnerForm(obj=found)
    form.unit.choices = unit_choices(units)
    sponsors = [
        (sponsor_id, name)
        for sponsor_id, name in db.session.execute(
            select(Sponsor.id, Sponsor.name)
            .where(visible(current_user, Action.EDIT, Sponsor))
            .order_by(Sponsor.name, Sponsor.id)
        )
    ]
    form.sponsor.choices = [(NO_SPONSOR, _("(none)")), *sponsors]
    if found is not None and found.sponsor is not None and found.sponsor_id not in dict(sponsors):
        # A sponsor outside the editor's reach stays as it is.
        form.sponsor.choices.append((found.sponsor_id, found.sponsor.name))
    if request.method == "GET":
        form.unit.data = found.unit_id if found else request.args.get("unit", type=int)
        form.sponsor.data = found.sponsor_id if found and found.sponsor_id else NO_SPONSOR
    if form.validate_on_submit():
        unit = next(u for u in units if u.id == form.unit.data)
        sponsor = db.session.get(Sponsor, form.sponsor.data) if form.sponsor.data else None
        fields = PartnerFields(
            name=form.name.data,
            unit=unit,
            contact_name=form.contact_name.data or "",
            contact_phone=form.contact_phone.data or "",
            sponsor=sponsor,
        )
        try:
            found = save_partner(fields, found)
        except StationError as error:
            db.session.rollback()
            show_error(form, error.message, error.field)
        else:
            db.session.commit()
            flash(_("Partner %(name)s saved.", name=found.name), "success")
            return redirect(url_for("stations.partner", partner_id=found.id))
    return render_template("stations/partner_form.html", form=form, partner=found)


@bp.route("/partners/new", methods=["GET", "POST"])
@login_required
def new_partner():
    """Register a partner kept by a unit the user may edit."""
    return _partner_form(None)


@bp.route("/partners/<int:partner_id>/edit", methods=["GET", "POST"])
@login_required
def edit_partner(partner_id: int):
    """Change a partner's name, contact, keeping unit or sponsor record."""
    return _partner_form(get_or_404(current_user, Action.EDIT, Partner, partner_id))
