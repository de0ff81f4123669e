"""Construction pages: a unit's target for a year, the targets it hands down to its sub-units,
their progress, and the unit's coverage goals."""

from __future__ import annotations

from datetime import date

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select

from inclusive_day.access.rule import Action, get_or_404, visible
from inclusive_day.campaigns.targets import HandDown
from inclusive_day.construction import bp
from inclusive_day.construction.forms import GoalsForm, TargetsForm, goals_form, targets_form
from inclusive_day.construction.queries import (
    children_of,
    coverage_by_child,
    goals_of,
    progress,
    total_coverage,
)
from inclusive_day.construction.services import (
    ConstructionError,
    Refusal,
    TargetEntry,
    check_year,
    levels_below,
    may_set_goals,
    may_set_target,
    set_coverage_goals,
    set_targets,
)
from inclusive_day.extensions import db
from inclusive_day.periods import local_today
from inclusive_day.units.models import Unit
from inclusive_day.units.queries import top_units
from inclusive_day.web import show_error


def _unit() -> Unit:
    """?unit= (in the user's sight, else 404), else the user's highest unit."""
    raw = request.args.get("unit")
    if raw is None or raw == "":
        tops = top_units(current_user, Action.VIEW)
        if not tops:
            abort(404)
        return tops[0]
    try:
        unit_id = int(raw)
    except ValueError:
        abort(404)
    return get_or_404(current_user, Action.VIEW, Unit, unit_id)


def _year() -> int:
    """?year= (2000 to 2100, else 404), else this year."""
    raw = request.args.get("year")
    if raw is None or raw == "":
        return local_today().year
    try:
        return check_year(int(raw))
    except (ValueError, ConstructionError):
        abort(404)


def _counted_on(year: int) -> date:
    """The day progress is counted on: today, or the last day of a year already past."""
    return min(local_today(), date(year, 12, 31))


class TargetsPage:
    """What the targets page shows of `unit` for `year`, and what the user may change."""

    def __init__(self, unit: Unit, year: int) -> None:
        self.unit, self.year = unit, year
        self.children = children_of(unit)
        self.on = _counted_on(year)
        self.figures = progress(unit, self.children, year, self.on)
        self.levels = levels_below(unit)
        self.goals = goals_of(unit, year)
        self.coverage = total_coverage(
            coverage_by_child(unit, self.on, self.levels), self.levels, self.goals
        )
        self.editable = []
        if may_set_target(current_user, unit):
            self.editable.append(unit.id)
        self.goals_editable = may_set_goals(current_user, unit)
        if self.children and self.goals_editable:
            self.editable.extend(c.id for c in self.children)

    def targets_form(self, fresh: bool = False) -> TargetsForm | None:
        """The form for the targets the user may set, or None."""
        if not self.editable:
            return None
        figures = self.figures
        current = {i: TargetEntry(figures[i].target, figures[i].due_on) for i in self.editable}
        return targets_form(current, fresh)

    def goals_form(self, fresh: bool = False) -> GoalsForm | None:
        """The form for the unit's coverage goals, or None when the user may not set them."""
        if not (self.goals_editable and self.levels):
            return None
        return goals_form(self.levels, self.goals, fresh)

    def render(self, form: TargetsForm | None, goals: GoalsForm | None):
        """The page, with these forms (as submitted, with their errors, or fresh)."""
        ancestors = db.session.scalars(
            select(Unit)
            .where(
                Unit.id.in_(self.unit.ancestor_ids[:-1]), visible(current_user, Action.VIEW, Unit)
            )
            .order_by(Unit.path)
        ).all()
        own = self.figures[self.unit.id]
        handed = [self.figures[c.id].target for c in self.children]
        known = [n for n in handed if n is not None]
        return render_template(
            "construction/targets.html",
            unit=self.unit,
            year=self.year,
            on=self.on,
            today=local_today(),
            own=own,
            children=[(child, self.figures[child.id]) for child in self.children],
            handed=HandDown(own.target, sum(known) if known else None),
            coverage=self.coverage,
            ancestors=ancestors,
            form=form,
            goals_form=goals,
            editable=set(self.editable),
        )

    def back(self):
        """Back to the page (POST-redirect-GET)."""
        return redirect(url_for("construction.targets", unit=self.unit.id, year=self.year))


@bp.route("/targets", methods=["GET", "POST"])
@login_required
def targets():
    """A unit's construction target for a year and progress, and the targets it hands down to
    each of its sub-units, with the warning when they fall short of its own."""
    page = TargetsPage(_unit(), _year())
    form = page.targets_form()
    if request.method == "POST":
        if form is None:
            abort(404)
        if form.validate_on_submit():
            # Only the units whose fields came with the form: a missing field changes nothing.
            units = {u.id: u for u in (page.unit, *page.children)}
            entries = {
                units[i]: form.entry(i) for i in page.editable if f"stations_{i}" in request.form
            }
            try:
                changed = set_targets(current_user, page.year, entries)
            except ConstructionError as error:
                db.session.rollback()
                if error.code is Refusal.NOT_ALLOWED:
                    abort(404)
                show_error(form, error.message, error.field)
            else:
                db.session.commit()
                flash(_("Targets saved (%(n)d changed).", n=changed), "success")
                return page.back()
        flash(_("Some targets could not be saved: nothing was saved."), "error")
    return page.render(form, page.goals_form(fresh=True))


@bp.post("/goals")
@login_required
def goals():
    """Save a unit's coverage goals for a year."""
    page = TargetsPage(_unit(), _year())
    form = page.goals_form()
    if form is None:
        abort(404)
    if form.validate_on_submit():
        wanted = {
            level: form.field_for(level).data
            for level in page.levels
            if f"percent_{level.value}" in request.form
        }
        try:
            changed = set_coverage_goals(current_user, page.unit, page.year, wanted)
        except ConstructionError as error:
            db.session.rollback()
            if error.code is Refusal.NOT_ALLOWED:
                abort(404)
            show_error(form, error.message, error.field)
        else:
            db.session.commit()
            flash(_("Coverage goals saved (%(n)d changed).", n=changed), "success")
            return page.back()
    flash(_("Some coverage goals could not be saved: nothing was saved."), "error")
    return page.render(page.targets_form(fresh=True), form)
