"""Forms to plan one activity, a series, and to change or cancel them."""

import re
from datetime import date

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    HiddenField,
    IntegerField,
    RadioField,
    SelectField,
    StringField,
    SubmitField,
    TextAreaField,
    TimeField,
    ValidationError,
)
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from inclusive_day.activities.models import ConflictPolicy
from inclusive_day.activities.recurrence import NTH_LABELS, WEEKDAY_LABELS, Repeat
from inclusive_day.activities.series import StationPick
from inclusive_day.activities.services import Occurrences
from inclusive_day.attendance.models import BeneficiaryGroup
from inclusive_day.stations.forms import MultiCheckboxField
from inclusive_day.stations.models import Amenity

DATE_SEPARATORS = re.compile(r"[\s,，、;；]+")


def parse_dates(text: str | None) -> list[date]:
    """Dates written as 2026-01-18 or 2026/1/18, separated by commas, spaces or new lines."""
    found, bad = [], []
    for token in DATE_SEPARATORS.split(text or ""):
        if not token:
            continue
        parts = re.split(r"[-/.]", token)
        try:
            found.append(date(*(int(p) for p in parts)))
        except (TypeError, ValueError):
            bad.append(token)
    if bad:
        raise ValueError(", ".join(bad[:5]))
    return found


def _dates_field(form, field) -> None:
    try:
        parse_dates(field.data)
    except ValueError as error:
        raise ValidationError(
            _l("Not a date (write 2026-01-18): %(bad)s", bad=str(error))
        ) from None


class _ActivityFields(FlaskForm):
    """What a single activity and the template of a series share."""

    uid = HiddenField()
    campaign = SelectField(_l("Campaign"), coerce=int, choices=[])
    theme = SelectField(_l("Theme"), coerce=int, choices=[])
    title = StringField(_l("Title"), validators=[DataRequired(), Length(max=200)])
    starts_time = TimeField(_l("Starts at"), validators=[InputRequired()])
    ends_time = TimeField(_l("Ends at"), validators=[InputRequired()])
    capacity = IntegerField(
        _l("Places or quota"),
        validators=[Optional(), NumberRange(min=0, max=100_000)],
        description=_l("Leave empty when there is no limit."),
    )
    groups = MultiCheckboxField(_l("Meant for"), choices=[])
    donations = MultiCheckboxField(_l("Donations handed out"), coerce=int, choices=[])
    description = TextAreaField(_l("Description"), validators=[Length(max=4000)])

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.groups.choices = BeneficiaryGroup.choices()


class ActivityForm(_ActivityFields):
    """One activity at one station on one day."""

    station = SelectField(_l("Station"), coerce=int, choices=[])
    day = DateField(_l("Date"), validators=[InputRequired()])
    which = RadioField(_l("Apply to"), choices=[], default=Occurrences.THIS.value)
    keep_conflicts = BooleanField(_l("Schedule it even if the station is busy at that time"))
    submit = SubmitField(_l("Save"))

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.which.choices = Occurrences.choices()


class SeriesForm(_ActivityFields):
    """One activity fanned out over stations and dates."""

    pick = RadioField(_l("Stations"), choices=[], default=StationPick.SUBTREE.value)
    unit = SelectField(_l("Unit"), coerce=int, choices=[], validate_choice=False)
    amenities = MultiCheckboxField(_l("Amenities"), choices=[])
    codes = TextAreaField(
        _l("Station codes"),
        description=_l("One per line, or separated by commas."),
        validators=[Length(max=20_000)],
    )
    repeat = SelectField(_l("Repeats"), choices=[], default=Repeat.NONE.value)
    first = DateField(
        _l("Date, or the first date"),
        validators=[InputRequired()],
        description=_l("A repeating series starts on this day."),
    )
    until = DateField(_l("Until"), validators=[Optional()])
    count = IntegerField(
        _l("Or a number of dates"), validators=[Optional(), NumberRange(min=1, max=100_000)]
    )
    interval = IntegerField(
        _l("Every"), default=1, validators=[InputRequired(), NumberRange(min=1, max=52)]
    )
    weekdays = MultiCheckboxField(_l("On"), coerce=int, choices=[])
    nth = SelectField(_l("Which"), coerce=int, choices=[])
    nth_weekday = SelectField(_l("Weekday"), coerce=int, choices=[])
    dates = TextAreaField(
        _l("Also on these dates"),
        validators=[_dates_field, Length(max=20_000)],
        description=_l("Such as festival days: 2026-01-26, 2026-02-12."),
    )
    excluded = TextAreaField(
        _l("But not on these dates"), validators=[_dates_field, Length(max=20_000)]
    )
    conflicts = RadioField(_l("Where a station is already busy"), choices=[], default="skip")
    preview = SubmitField(_l("Preview"))
    create = SubmitField(_l("Create the activities"))

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.pick.choices = StationPick.choices()
        self.amenities.choices = Amenity.choices()
        self.repeat.choices = Repeat.choices()
        days = [(i, str(label)) for i, label in enumerate(WEEKDAY_LABELS)]
        self.weekdays.choices = days
        self.nth_weekday.choices = days
        self.nth.choices = [(n, str(label)) for n, label in NTH_LABELS.items()]
        self.conflicts.choices = ConflictPolicy.choices()


class CancelForm(FlaskForm):
    """Call off an activity, or several of its series, with a reason."""

    reason = TextAreaField(_l("Why is it cancelled?"), validators=[DataRequired(), Length(max=255)])
    which = RadioField(_l("Apply to"), choices=[], default=Occurrences.THIS.value)
    submit = SubmitField(_l("Cancel the activity"))

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.which.choices = Occurrences.choices()
