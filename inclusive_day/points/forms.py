"""Forms for points: the staff's spends at a station, a unit's rules, and the card's buttons."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import HiddenField, IntegerField, SelectField, StringField, SubmitField, TelField
from wtforms.validators import InputRequired, Optional
from wtforms.widgets import NumberInput

from inclusive_day.attendance.models import BeneficiaryGroup


class ButtonForm(FlaskForm):
    """A form that is only a button (and its CSRF token)."""

    submit = SubmitField(_l("Continue"))


class GoodsForm(FlaskForm):
    """Shelf goods paid for in points."""

    code = HiddenField()
    nonce = HiddenField()
    item = SelectField(_l("Item"), coerce=int, validate_choice=False)
    quantity = IntegerField(
        _l("Quantity"), default=1, validators=[InputRequired()], widget=NumberInput(min=1)
    )
    group = SelectField(_l("The worker is a…"), choices=BeneficiaryGroup.choices)
    submit = SubmitField(_l("Spend points on the goods"))


class ServiceForm(FlaskForm):
    """A station's service paid for in points."""

    code = HiddenField()
    nonce = HiddenField()
    name = StringField(
        _l("Service"),
        validators=[InputRequired()],
        render_kw={"maxlength": 80, "placeholder": _l("e.g. a free haircut")},
    )
    points = IntegerField(_l("Points"), validators=[InputRequired()], widget=NumberInput(min=1))
    submit = SubmitField(_l("Spend points on the service"))


class RulesForm(FlaskForm):
    """A unit's own points per volunteer hour and per activity (blank: leave as it is)."""

    volunteer_hour = IntegerField(
        _l("Points per confirmed volunteer hour"),
        validators=[Optional()],
        widget=NumberInput(min=0),
    )
    activity = IntegerField(
        _l("Points per activity taken part in"),
        validators=[Optional()],
        widget=NumberInput(min=0),
    )
    submit = SubmitField(_l("Save the rules"))


class SendForm(FlaskForm):
    """The number to text a card link to (through the configured SMS gateway)."""

    phone = TelField(
        _l("Mobile number"),
        validators=[InputRequired()],
        render_kw={"inputmode": "numeric", "autocomplete": "tel", "maxlength": 20},
    )
    submit = SubmitField(_l("Send me a link"))
