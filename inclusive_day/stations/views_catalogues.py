"""The host-type and label sets: everyone signed in reads them with how many stations hold
each value; administrators add, rename, reorder and delete (the sets are shared)."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from inclusive_day.access.rule import Action, reach
from inclusive_day.extensions import db
from inclusive_day.stations import bp
from inclusive_day.stations.catalogues import (
    CATALOGUES,
    Catalogue,
    delete_value,
    move_value,
    save_value,
    use_counts,
    values,
)
from inclusive_day.stations.forms import CatalogueValueForm, MoveForm
from inclusive_day.stations.services import StationError
from inclusive_day.web import show_error


def _catalogue(kind: str) -> Catalogue:
    catalogue = CATALOGUES.get(kind)
    if catalogue is None:
        abort(404)
    return catalogue


def _may_manage() -> bool:
    return reach(current_user, Action.EDIT).everything


def _require_manager() -> None:
    """The sets are shared by every unit: administrators manage them; others get 404."""
    if not _may_manage():
        abort(404)


def _value_or_404(catalogue: Catalogue, value_id: int):
    value = db.session.get(catalogue.model, value_id)
    if value is None:
        abort(404)
    return value


@bp.get("/catalogues/<kind>/")
@login_required
def catalogue(kind: str):
    """A set's values in order, with how many stations hold each."""
    found = _catalogue(kind)
    return render_template(
        "stations/catalogue.html",
        catalogue=found,
        catalogues=CATALOGUES.values(),
        values=values(found),
        counts=use_counts(found),
        may_manage=_may_manage(),
        move_form=MoveForm(),
    )


def _value_form(found: Catalogue, value):
    form = CatalogueValueForm(obj=value)
    if form.validate_on_submit():
        try:
            value = save_value(found, value, form.code.data, form.name_zh.data, form.name_en.data)
        except StationError as error:
            db.session.rollback()
            show_error(form, error.message, error.field)
        else:
            db.session.commit()
            flash(_("%(name)s saved.", name=value.name), "success")
            return redirect(url_for("stations.catalogue", kind=found.key))
    return render_template("stations/catalogue_form.html", form=form, catalogue=found, value=value)


@bp.route("/catalogues/<kind>/new", methods=["GET", "POST"])
@login_required
def new_catalogue_value(kind: str):
    """Add a value at the end of a set."""
    found = _catalogue(kind)
    _require_manager()
    return _value_form(found, None)


@bp.route("/catalogues/<kind>/<int:value_id>/edit", methods=["GET", "POST"])
@login_required
def edit_catalogue_value(kind: str, value_id: int):
    """Rename a value (or change its code)."""
    found = _catalogue(kind)
    _require_manager()
    return _value_form(found, _value_or_404(found, value_id))


@bp.post("/catalogues/<kind>/<int:value_id>/delete")
@login_required
def delete_catalogue_value(kind: str, value_id: int):
    """Delete a value that no station holds."""
    found = _catalogue(kind)
    _require_manager()
    value = _value_or_404(found, value_id)
    name = value.name
    try:
        delete_value(found, value)
    except StationError as error:
        db.session.rollback()
        flash(str(error.message), "error")
    else:
        db.session.commit()
        flash(_("%(name)s deleted.", name=name), "success")
    return redirect(url_for("stations.catalogue", kind=found.key))


@bp.post("/catalogues/<kind>/<int:value_id>/move")
@login_required
def move_catalogue_value(kind: str, value_id: int):
    """Move a value one place up or down."""
    found = _catalogue(kind)
    _require_manager()
    value = _value_or_404(found, value_id)
    form = MoveForm()
    if form.validate_on_submit():
        move_value(found, value, -1 if form.direction.data == "up" else 1)
        db.session.commit()
    return redirect(url_for("stations.catalogue", kind=found.key))
