"""Forms for creating, renaming and moving units."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectField, StringField, SubmitField
from wtforms.validators import DataRequired, Length, Optional

from inclusive_day.units.models import Level


class UnitForm(FlaskForm):
    """A unit's name and administrative-division code (and its level, when new)."""

    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=120)])
    code = StringField(
        _l("Administrative-division code"),
        validators=[Optional(), Length(max=12)],
        description=_l("6 digits for a county, 9 for a street, 12 for a community."),
    )
    level = SelectField(_l("Level"), choices=[])
    submit = SubmitField(_l("Save"))

    def set_levels(self, levels: list[Level]) -> None:
        """Offer only the levels a unit may have under its parent."""
        self.level.choices = [(lv.value, lv.label) for lv in levels]


class MoveForm(FlaskForm):
    """The unit's new parent."""

    parent = SelectField(_l("New parent unit"), coerce=int, choices=[])
    submit = SubmitField(_l("Move"))
