"""Forms for a station's profile, its managers, inspections, and the spreadsheet import."""

import re

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import (
    BooleanField,
    DateField,
    FloatField,
    HiddenField,
    IntegerField,
    SelectField,
    SelectMultipleField,
    StringField,
    SubmitField,
    TextAreaField,
    ValidationError,
)
from wtforms.validators import (
    AnyOf,
    DataRequired,
    InputRequired,
    Length,
    NumberRange,
    Optional,
    Regexp,
)
from wtforms.widgets import CheckboxInput, ListWidget

from inclusive_day.periods import local_today
from inclusive_day.stations.geo import CoordSystem
from inclusive_day.stations.importing import max_import_bytes
from inclusive_day.stations.models import Amenity, CheckItem, InspectionResult, StationStatus
from inclusive_day.stations.services import (
    StationError,
    check_code,
    check_hours,
    check_location,
    check_phone,
)
from inclusive_day.units.models import Level
from inclusive_day.uploads import CSV, XLSX, SniffedFile

# The name of an uploaded spreadsheet waiting to be confirmed: 32 hex digits.
TOKEN = re.compile(r"^[0-9a-f]{32}$")


class MultiCheckboxField(SelectMultipleField):
    """A list of checkboxes."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


def _rule(check):
    """A WTForms validator from one of the station rules in services.py."""

    def validate(form, field):
        try:
            check(field.data)
        except StationError as error:
            raise ValidationError(str(error.message)) from None

    return validate


class StationForm(FlaskForm):
    """Everything on a station's profile."""

    code = StringField(_l("Station code"), validators=[DataRequired(), _rule(check_code)])
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=120)])
    unit = SelectField(_l("Unit"), coerce=int, choices=[])
    address = StringField(_l("Address"), validators=[Optional(), Length(max=255)])
    latitude = FloatField(_l("Latitude"), validators=[Optional()])
    longitude = FloatField(_l("Longitude"), validators=[Optional()])
    coord_system = SelectField(
        _l("Coordinates taken in"),
        choices=CoordSystem.choices,
        default=CoordSystem.WGS84.value,
        description=_l("Stored converted to WGS-84."),
    )
    open_24h = BooleanField(_l("Open 24 hours, unattended"))
    opening_hours = StringField(
        _l("Opening hours"),
        validators=[Optional(), Length(max=120)],
        description=_l('For example "08:00-20:00" or "08:00-12:00, 14:00-18:00".'),
    )
    amenities = MultiCheckboxField(_l("Amenities"), choices=Amenity.choices)
    host_type = SelectField(
        _l("Host type"),
        coerce=int,
        choices=[],
        description=_l("Where the station is housed: one value from the catalogue."),
    )
    partners = StringField(
        _l("Co-building partners"),
        validators=[Optional(), Length(max=500)],
        description=_l(
            'Names of partners kept by the station\'s unit or a unit above it, separated by "、" '
            "(for example 中国石化、中国电信)."
        ),
    )
    services = TextAreaField(_l("Characteristic services"), validators=[Optional()])
    phone = StringField(_l("Contact phone"), validators=[Optional(), _rule(check_phone)])
    checkins_per_minute = IntegerField(
        _l("Check-ins a minute"),
        validators=[Optional(), NumberRange(min=1)],
        description=_l(
            "The most check-ins one of its activities takes in a minute: about what the station "
            "can serve. Empty: the usual figure."
        ),
    )
    status = SelectField(_l("Status"), choices=StationStatus.choices)
    opened_on = DateField(
        _l("Opened on"),
        validators=[Optional()],
        description=_l("For an open, suspended or closed station; not in the future."),
    )
    closed_on = DateField(_l("Closed on"), validators=[Optional()])
    closure_reason = StringField(_l("Reason for closing"), validators=[Optional(), Length(max=255)])
    submit = SubmitField(_l("Save"))

    def validate_opening_hours(self, field):
        """Hours must parse unless the station is open round the clock."""
        try:
            check_hours(field.data, self.open_24h.data)
        except StationError as error:
            raise ValidationError(str(error.message)) from None

    def validate_latitude(self, field):
        """Both coordinates or neither, inside China."""
        try:
            check_location(field.data, self.longitude.data, CoordSystem(self.coord_system.data))
        except StationError as error:
            raise ValidationError(str(error.message)) from None


class CloseStationForm(FlaskForm):
    """Close a station (the exit mechanism): the day and the reason."""

    closed_on = DateField(_l("Closed on"), validators=[InputRequired()])
    closure_reason = StringField(
        _l("Reason for closing"), validators=[DataRequired(), Length(max=255)]
    )
    submit = SubmitField(_l("Close the station"))


class LabelAwardForm(FlaskForm):
    """Award a label to a station: which, in what year, by which unit."""

    label = SelectField(_l("Label"), coerce=int, choices=[])
    year = IntegerField(_l("Year awarded"), validators=[InputRequired()])
    # Checked by the service (the station's unit or one above it), not against the choices,
    # so that a unit below gets the rule's own message.
    awarded_by = SelectField(_l("Awarded by"), coerce=int, choices=[], validate_choice=False)
    submit = SubmitField(_l("Award label"))


class PartnerForm(FlaskForm):
    """A co-building partner: its name, contact, keeping unit and sponsor record."""

    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=120)])
    unit = SelectField(
        _l("Kept by"),
        coerce=int,
        choices=[],
        description=_l("The stations of this unit and the units below it may name the partner."),
    )
    contact_name = StringField(_l("Contact person"), validators=[Optional(), Length(max=80)])
    contact_phone = StringField(
        _l("Contact phone"), validators=[Optional(), Length(max=40), _rule(check_phone)]
    )
    sponsor = SelectField(
        _l("Also a sponsor"),
        coerce=int,
        choices=[],
        description=_l("The sponsor record of the same organisation, when it also gives."),
    )
    submit = SubmitField(_l("Save"))


class CatalogueValueForm(FlaskForm):
    """One value of a classification set: its code and its names."""

    code = StringField(_l("Code"), validators=[DataRequired(), Length(max=40)])
    name_zh = StringField(_l("Name in Chinese"), validators=[DataRequired(), Length(max=80)])
    name_en = StringField(_l("Name in English"), validators=[DataRequired(), Length(max=80)])
    submit = SubmitField(_l("Save"))


class MoveForm(FlaskForm):
    """Move a value up or down its set."""

    direction = HiddenField(validators=[AnyOf(("up", "down"))])


class ManagerForm(FlaskForm):
    """Make an existing account a manager of this station."""

    username = StringField(_l("User name"), validators=[DataRequired(), Length(max=80)])
    submit = SubmitField(_l("Add manager"))


class InspectionForm(FlaskForm):
    """One inspection visit: who, when, the checklist and the result."""

    unit = SelectField(_l("Inspecting unit"), coerce=int, choices=[])
    inspected_on = DateField(_l("Date"), validators=[InputRequired()])
    met = MultiCheckboxField(
        _l("Checklist: points met"), choices=CheckItem.choices, default=[c.value for c in CheckItem]
    )
    result = SelectField(_l("Result"), choices=InspectionResult.choices)
    notes = TextAreaField(_l("Notes"), validators=[Optional(), Length(max=2000)])
    submit = SubmitField(_l("Record inspection"))

    def validate_inspected_on(self, field):
        """An inspection cannot be recorded ahead of time."""
        if field.data and field.data > local_today():
            raise ValidationError(_l("The date cannot be in the future."))

    def validate_result(self, field):
        """A visit with unmet points did not simply pass."""
        if field.data == InspectionResult.PASSED.value and set(self.met.data or []) != {
            c.value for c in CheckItem
        }:
            raise ValidationError(
                _l('Some points were not met: choose "passed after rectification" or "failed".')
            )


class CadenceForm(FlaskForm):
    """How often each level inspects the stations below it (blank: that level does not)."""


def cadence_form(current: dict[Level, int]) -> CadenceForm:
    """A cadence form with one months field per level, filled with the current cadences."""

    class Form(CadenceForm):
        pass

    for level in Level:
        setattr(
            Form,
            level.value,
            IntegerField(
                level.label,
                validators=[Optional(), NumberRange(min=1, max=60)],
                default=current.get(level),
                description=_l("months"),
            ),
        )
    Form.submit = SubmitField(_l("Save"))
    return Form()


class ImportForm(FlaskForm):
    """The spreadsheet to check."""

    file = FileField(
        _l("Spreadsheet (CSV or XLSX)"),
        validators=[
            FileRequired(_l("Choose a CSV or XLSX file.")),
            SniffedFile((CSV, XLSX), max_bytes=max_import_bytes),
        ],
    )
    submit = SubmitField(_l("Check the file"))


class ConfirmImportForm(FlaskForm):
    """Import a file already checked, named by its upload token."""

    token = HiddenField(validators=[DataRequired(), Regexp(TOKEN)])
