"""Forms for campaigns, the targets handed down to sub-units, and the theme catalogue."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    ColorField,
    DateField,
    IntegerField,
    RadioField,
    SelectField,
    StringField,
    SubmitField,
    TextAreaField,
    ValidationError,
)
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from inclusive_day.campaigns.services import CampaignError, check_colour
from inclusive_day.campaigns.targets import MEASURES, TARGET_MAX, TargetValues

# The value the theme form's unit list gives the shared catalogue.
SHARED = 0
WHOLE = _l("Enter a whole number of 0 or more.")


class CampaignForm(FlaskForm):
    """A campaign's owner unit, name, dates, description and audience."""

    unit = SelectField(_l("Owner unit"), coerce=int, choices=[])
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=200)])
    starts_on = DateField(_l("Starts on"), validators=[InputRequired()])
    ends_on = DateField(
        _l("Ends on"),
        validators=[Optional()],
        description=_l("Leave empty for a campaign without an end date."),
    )
    description = TextAreaField(_l("Description"), validators=[Optional(), Length(max=5000)])
    audience = RadioField(
        _l("Who sees it"),
        choices=lambda: [
            ("public", _l("Public: shown on station pages and calendars")),
            ("internal", _l("Internal: union staff only")),
        ],
        default="public",
    )
    submit = SubmitField(_l("Save"))

    def validate_ends_on(self, field):
        """A campaign cannot end before it starts."""
        if field.data and self.starts_on.data and field.data < self.starts_on.data:
            raise ValidationError(_l("The campaign cannot end before it starts."))


class ThemeForm(FlaskForm):
    """A theme's unit (or the shared catalogue), its names in both languages and its colour."""

    unit = SelectField(_l("Added by"), coerce=int, choices=[])
    name_zh = StringField(_l("Chinese name"), validators=[DataRequired(), Length(max=80)])
    name_en = StringField(_l("English name"), validators=[DataRequired(), Length(max=80)])
    colour = ColorField(_l("Colour"), default="#c0392b", validators=[DataRequired()])
    submit = SubmitField(_l("Save"))

    def validate_colour(self, field):
        """A colour written #rrggbb."""
        try:
            field.data = check_colour(field.data)
        except CampaignError as error:
            raise ValidationError(str(error.message)) from None


class TargetsForm(FlaskForm):
    """Targets for a list of units: one activities, served and stations field per unit."""

    submit = SubmitField(_l("Save targets"))

    def field_for(self, unit_id: int, measure: str):
        """The field of one unit's figure."""
        return self[f"{measure}_{unit_id}"]

    def values(self, unit_id: int) -> TargetValues:
        """One unit's target as entered (blank fields: no target)."""
        return TargetValues(*(self.field_for(unit_id, m).data for m in MEASURES))


def targets_form(current: dict[int, TargetValues]) -> TargetsForm:
    """A targets form with fields for the units in `current`, filled with their targets."""

    class Form(TargetsForm):
        pass

    for unit_id, values in current.items():
        for measure in MEASURES:
            setattr(
                Form,
                f"{measure}_{unit_id}",
                IntegerField(
                    _target_labels()[measure],
                    validators=[Optional(), NumberRange(min=0, max=TARGET_MAX, message=WHOLE)],
                    invalid_value_message=WHOLE,
                    default=getattr(values, measure),
                ),
            )
    return Form()


def _target_labels() -> dict:
    return {
        "activities": _l("Activities target"),
        "served": _l("Served target"),
        "stations": _l("Stations target"),
    }
