"""Forms for attendance: the public QR check-in form."""

import secrets

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import HiddenField, RadioField, SubmitField, TelField, ValidationError

from inclusive_day.attendance.models import BeneficiaryGroup
from inclusive_day.attendance.services import (
    AttendanceError,
    check_nonce,
    parse_group,
    parse_person,
)


def new_nonce() -> str:
    """A fresh idempotency key for one check-in form: a double submit lands once."""
    return secrets.token_urlsafe(16)


def _rule(check):
    """A WTForms validator from one of the attendance input rules in services.py; what the
    rule made of the input is left on the field as `field.parsed`, so that it is not worked
    out again (the phone's Person, hashed once per scan)."""

    def validate(form, field):
        try:
            field.parsed = check(field.data)
        except AttendanceError as error:
            raise ValidationError(str(error.message)) from None

    return validate


class CheckInForm(FlaskForm):
    """A person checks in by QR: who they are (group) and their phone number."""

    group = RadioField(
        _l("I am a…"),
        choices=BeneficiaryGroup.choices,
        validate_choice=False,  # parse_group says what is wrong, in the words of the API
        validators=[_rule(parse_group)],
    )
    phone = TelField(
        _l("Mobile number"),
        validators=[_rule(parse_person)],
        render_kw={
            "inputmode": "numeric",
            "autocomplete": "tel",
            "maxlength": 20,
            "placeholder": "138 0000 0000",
            "enterkeyhint": "done",
        },
    )
    nonce = HiddenField(validators=[_rule(check_nonce)])
    submit = SubmitField(_l("Check in"))
