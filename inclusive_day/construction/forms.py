"""Forms for construction targets handed down to sub-units and a unit's coverage goals.

The forms only read what was typed (a whole number, a day); the rules (not negative, not
absurd, due in the year, a level below the unit) are the services', whose errors the views
put back under the field they name.
"""

from __future__ import annotations

from collections.abc import Sequence

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, IntegerField, SubmitField
from wtforms.validators import Optional

from inclusive_day.construction.services import TargetEntry
from inclusive_day.units.models import Level

WHOLE = _l("Enter a whole number of 0 or more.")
PERCENT = _l("Enter a whole percent from 1 to 100.")


class TargetsForm(FlaskForm):
    """Construction targets for a list of units: stations and a due day per unit."""

    submit = SubmitField(_l("Save targets"))

    def stations_field(self, unit_id: int):
        """The field of one unit's number of stations."""
        return self[f"stations_{unit_id}"]

    def due_field(self, unit_id: int):
        """The field of one unit's due day."""
        return self[f"due_{unit_id}"]

    def entry(self, unit_id: int) -> TargetEntry:
        """One unit's target as entered (no stations: no target; no day: 31 December)."""
        return TargetEntry(self.stations_field(unit_id).data, self.due_field(unit_id).data)


def targets_form(current: dict[int, TargetEntry], fresh: bool = False) -> TargetsForm:
    """A targets form with fields for the units in `current`, filled with their targets (and,
    unless `fresh`, with what the request submitted)."""

    class Form(TargetsForm):
        pass

    for unit_id, entry in current.items():
        setattr(
            Form,
            f"stations_{unit_id}",
            IntegerField(
                _l("Stations to build"),
                validators=[Optional()],
                invalid_value_message=WHOLE,
                default=entry.stations,
            ),
        )
        setattr(
            Form,
            f"due_{unit_id}",
            DateField(
                _l("Due on"),
                validators=[Optional()],
                default=entry.due_on,
                render_kw={"type": "date"},
            ),
        )
    return Form(formdata=None) if fresh else Form()


class GoalsForm(FlaskForm):
    """A unit's coverage goals: a percent per level below it."""

    submit = SubmitField(_l("Save coverage goals"))

    def field_for(self, level: Level):
        """The field of one level's goal."""
        return self[f"percent_{level.value}"]


def goals_form(
    levels: Sequence[Level], current: dict[Level, int], fresh: bool = False
) -> GoalsForm:
    """A goals form with a field per level, filled with the unit's goals (and, unless `fresh`,
    with what the request submitted)."""

    class Form(GoalsForm):
        pass

    for level in levels:
        setattr(
            Form,
            f"percent_{level.value}",
            IntegerField(
                level.label,
                validators=[Optional()],
                invalid_value_message=PERCENT,
                default=current.get(level),
            ),
        )
    return Form(formdata=None) if fresh else Form()
