"""Forms for the roster (appointing, ending an appointment), training records and duty.

The forms only read what was typed; the rules (a phone that reads as one, a day not in the
future, hours from 0 to 200, one master at a time) are the services', whose errors the views
put back under the field they name.
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    DecimalField,
    HiddenField,
    IntegerField,
    SelectField,
    StringField,
    SubmitField,
)
from wtforms.validators import InputRequired, Length, Optional
from wtforms.widgets import HiddenInput

from inclusive_day.staffing.models import AdminRole
from inclusive_day.staffing.services import MAX_CERTIFICATE, MAX_COURSE, MAX_NAME


class AppointForm(FlaskForm):
    """Appoint someone to run a station: who, how to reach them, as what, since when."""

    name = StringField(_l("Name"), validators=[InputRequired(), Length(max=MAX_NAME)])
    phone = StringField(_l("Contact phone"), validators=[Optional(), Length(max=32)])
    role = SelectField(_l("Role"), choices=AdminRole.choices, default=AdminRole.MASTER.value)
    since = DateField(_l("Runs the station since"), validators=[Optional()])
    username = StringField(
        _l("Their account (user name, optional)"),
        validators=[Optional(), Length(max=80)],
        description=_l("Linked to an account, they sign on and off duty from their phone."),
    )
    replace = BooleanField(_l("Replaces the current station master"))
    submit = SubmitField(_l("Appoint"))


class EndForm(FlaskForm):
    """End an appointment on its last day."""

    until = DateField(_l("Last day"), validators=[Optional()])
    submit = SubmitField(_l("End the appointment"))


class TrainingForm(FlaskForm):
    """One course an administrator took."""

    course = StringField(_l("Course"), validators=[InputRequired(), Length(max=MAX_COURSE)])
    taken_on = DateField(_l("Date"), validators=[Optional()])
    hours = DecimalField(
        _l("Hours"),
        places=1,
        validators=[Optional()],
        render_kw={"step": "0.5", "min": "0.5", "inputmode": "decimal"},
    )
    certificate = StringField(
        _l("Certificate number"), validators=[Optional(), Length(max=MAX_CERTIFICATE)]
    )
    submit = SubmitField(_l("Add training"))


class DutyForm(FlaskForm):
    """A sign-on or sign-off button: the station, and the shift a sign-off ends."""

    station = IntegerField(widget=HiddenInput(), validators=[InputRequired()])
    shift = IntegerField(widget=HiddenInput(), validators=[Optional()])
    action = HiddenField(validators=[InputRequired()])
