"""The tree page and unit management: create, rename and move units."""

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select

from inclusive_day.access.rule import Action, can, get_or_404, reach, visible
from inclusive_day.attendance.traffic import RECENT_DAYS
from inclusive_day.extensions import db
from inclusive_day.stations.posters import PosterError, render_posters, stations_for_posters
from inclusive_day.units import bp
from inclusive_day.units.forms import MoveForm, UnitForm
from inclusive_day.units.models import Level, TreeError, Unit, under
from inclusive_day.units.queries import flatten, subtree, top_units
from inclusive_day.units.services import check_unit_code, create_unit, move_unit, update_unit
from inclusive_day.web import pdf_response

MOVE_CHOICES_MAX = 2000


@bp.get("/")
@login_required
def tree():
    """A unit's subtree with station and activity counts rolled up from every unit below."""
    tops = top_units(current_user, Action.VIEW)
    if "unit" in request.args:
        root = get_or_404(current_user, Action.VIEW, Unit, request.args.get("unit", type=int))
    elif tops:
        root = tops[0]
    else:
        abort(404)
    ancestors = db.session.scalars(
        select(Unit)
        .where(Unit.id.in_(root.ancestor_ids[:-1]), visible(current_user, Action.VIEW, Unit))
        .order_by(Unit.path)
    ).all()
    editable = set(
        db.session.scalars(
            select(Unit.id).where(
                under(Unit.path, root.path), visible(current_user, Action.EDIT, Unit)
            )
        )
    )
    return render_template(
        "units/tree.html",
        root=root,
        rows=flatten(subtree(root)),
        ancestors=ancestors,
        tops=tops,
        editable=editable,
        level_labels={level: level.label for level in Level},
        recent_days=RECENT_DAYS,
    )


@bp.route("/new", methods=["GET", "POST"])
@login_required
def new():
    """Add a unit under a parent the user may edit (a root unit: administrators only)."""
    parent = None
    if "parent" in request.args:
        parent = get_or_404(current_user, Action.EDIT, Unit, request.args.get("parent", type=int))
    elif not reach(current_user, Action.EDIT).everything:
        abort(404)
    form = UnitForm()
    start = parent.level.depth + 1 if parent else 0
    form.set_levels(list(Level)[start:])
    if form.validate_on_submit():
        try:
            code = check_unit_code(form.code.data)
            unit = create_unit(form.name.data.strip(), Level(form.level.data), parent, code)
        except TreeError as error:
            db.session.rollback()
            form.code.errors.append(str(error))
        else:
            db.session.commit()
            flash(_("Unit %(name)s added.", name=unit.name), "success")
            return redirect(url_for("units.tree", unit=parent.id if parent else unit.id))
    return render_template("units/form.html", form=form, parent=parent, unit=None)


@bp.route("/<int:unit_id>/edit", methods=["GET", "POST"])
@login_required
def edit(unit_id: int):
    """Rename a unit or set its administrative-division code."""
    unit = get_or_404(current_user, Action.EDIT, Unit, unit_id)
    form = UnitForm(obj=unit)
    del form.level
    if form.validate_on_submit():
        try:
            update_unit(unit, form.name.data, form.code.data)
        except TreeError as error:
            db.session.rollback()
            form.code.errors.append(str(error))
        else:
            db.session.commit()
            flash(_("Unit %(name)s saved.", name=unit.name), "success")
            return redirect(url_for("units.tree", unit=unit.id))
    return render_template("units/form.html", form=form, parent=unit.parent, unit=unit)


def _move_targets(unit: Unit) -> list[Unit]:
    """Units the user may edit that could hold `unit`: higher levels, outside its subtree."""
    higher = [lv for lv in Level if lv.depth < unit.level.depth]
    return list(
        db.session.scalars(
            select(Unit)
            .where(
                visible(current_user, Action.EDIT, Unit),
                Unit.level.in_(higher),
                ~under(Unit.path, unit.path),
            )
            .order_by(Unit.path)
            .limit(MOVE_CHOICES_MAX)
        )
    )


@bp.route("/<int:unit_id>/move", methods=["GET", "POST"])
@login_required
def move(unit_id: int):
    """Move a unit and its subtree; the user must be able to edit both the old and new parent."""
    unit = get_or_404(current_user, Action.EDIT, Unit, unit_id)
    if unit.parent is None or not can(current_user, Action.EDIT, unit.parent):
        abort(404)
    targets = _move_targets(unit)
    form = MoveForm()
    form.parent.choices = [(t.id, f"{t.name} · {t.level.label}") for t in targets]
    if request.method == "GET":
        form.parent.data = unit.parent_id
    if form.validate_on_submit():
        parent = next(t for t in targets if t.id == form.parent.data)
        try:
            moved = move_unit(unit, parent)
        except TreeError as error:
            db.session.rollback()
            form.parent.errors.append(str(error))
        else:
            db.session.commit()
            flash(
                _(
                    "%(name)s moved under %(parent)s (%(n)d units).",
                    name=unit.name,
                    parent=parent.name,
                    n=moved,
                ),
                "success",
            )
            return redirect(url_for("units.tree", unit=parent.id))
    return render_template("units/move.html", form=form, unit=unit)


@bp.get("/<int:unit_id>/posters.pdf")
@login_required
def posters(unit_id: int):
    """One PDF with the QR poster of every open or suspended station under the unit."""
    unit = get_or_404(current_user, Action.VIEW, Unit, unit_id)
    try:
        pdf = render_posters(stations_for_posters(unit))
    except PosterError as error:
        flash(str(error.message), "warning")
        return redirect(url_for("stations.index", unit=unit.id))
    return pdf_response(pdf, f"posters-{unit.code or unit.id}.pdf")
