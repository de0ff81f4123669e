"""Forms for the shelf: opening it, its limit, its items, goods put on and goods taken."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    DateField,
    HiddenField,
    IntegerField,
    SelectField,
    StringField,
    SubmitField,
    TelField,
)
from wtforms.validators import InputRequired, Length, Optional
from wtforms.widgets import NumberInput

from inclusive_day.attendance.models import BeneficiaryGroup
from inclusive_day.shelf.services import LIMIT_MAX, NAME_MAX, NOTE_MAX, UNIT_LABEL_MAX

# The giver select's value for an anonymous citizen; sponsors and teams are "sponsor:<id>"
# and "team:<id>".
CITIZEN = "citizen"
_QUANTITY = {"min": 1, "inputmode": "numeric"}


def _limit_field():
    return IntegerField(
        _l("Items one person may take a day"),
        validators=[Optional()],
        widget=NumberInput(min=1, max=LIMIT_MAX),
        description=_l("Leave empty for no limit: then no mobile number is asked."),
    )


class OpenShelfForm(FlaskForm):
    """Open a shelf at a station."""

    opened_on = DateField(_l("Opened on"), validators=[InputRequired()])
    per_person_day = _limit_field()
    note = StringField(_l("Note"), validators=[Optional(), Length(max=NOTE_MAX)])
    submit = SubmitField(_l("Open the shelf"))


class LimitForm(FlaskForm):
    """Change the shelf's per-person daily limit."""

    per_person_day = _limit_field()
    submit = SubmitField(_l("Save the limit"))


class ItemForm(FlaskForm):
    """A kind of goods the shelf holds."""

    name = StringField(_l("Item"), validators=[InputRequired(), Length(max=NAME_MAX)])
    unit_label = StringField(
        _l("Counted in"),
        validators=[Optional(), Length(max=UNIT_LABEL_MAX)],
        render_kw={"placeholder": _l("bottles, pieces…")},
    )
    points = IntegerField(
        _l("Points price"),
        validators=[Optional()],
        widget=NumberInput(min=1),
        description=_l("Leave empty if it cannot be had for points."),
    )
    submit = SubmitField(_l("Add the item"))


class PutForm(FlaskForm):
    """Goods put on the shelf, and who gave them."""

    nonce = HiddenField()
    item = SelectField(_l("Item"), coerce=int, choices=[], validators=[InputRequired()])
    quantity = IntegerField(
        _l("Quantity"), validators=[InputRequired()], widget=NumberInput(), render_kw=_QUANTITY
    )
    giver = SelectField(_l("Given by"), choices=[], validators=[InputRequired()])
    note = StringField(_l("Note"), validators=[Optional(), Length(max=200)])
    submit = SubmitField(_l("Record the goods put on"))


class TakeForm(FlaskForm):
    """Goods taken off the shelf, by a worker of a group (and their mobile number where the
    shelf limits takings per person: hashed, never kept)."""

    nonce = HiddenField()
    item = SelectField(_l("Item"), coerce=int, choices=[], validators=[InputRequired()])
    quantity = IntegerField(
        _l("Quantity"),
        default=1,
        validators=[InputRequired()],
        widget=NumberInput(),
        render_kw=_QUANTITY,
    )
    group = SelectField(
        _l("Group"),
        choices=BeneficiaryGroup.choices,
        validators=[InputRequired()],
    )
    phone = TelField(
        _l("Mobile number"),
        validators=[Optional(), Length(max=20)],
        render_kw={
            "inputmode": "numeric",
            "autocomplete": "tel",
            "maxlength": 20,
            "placeholder": "138 0000 0000",
        },
        description=_l("Only to count what one person takes a day; the number is not kept."),
    )
    submit = SubmitField(_l("Take"))
