"""Forms for sponsor sign-up and review, donations, their receipt and their distribution."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    DecimalField,
    HiddenField,
    RadioField,
    SelectField,
    StringField,
    SubmitField,
    TextAreaField,
    ValidationError,
)
from wtforms.validators import DataRequired, InputRequired, Length, Optional

from inclusive_day.auth.forms import new_password_fields, username_field
from inclusive_day.sponsors.models import DonationKind, SponsorKind

NONE = 0  # the value of "no campaign" / "no activity" in a select


class SponsorForm(FlaskForm):
    """Who the sponsor is, whom to contact, and how it wishes to be thanked in public."""

    unit = SelectField(
        _l("Union unit"),
        coerce=int,
        choices=[],
        description=_l("The union you give through; its organisers approve the sign-up."),
    )
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=200)])
    kind = RadioField(
        _l("Sponsor type"),
        choices=lambda: [(k.value, k.label) for k in SponsorKind],
        default=SponsorKind.ENTERPRISE.value,
    )
    contact_name = StringField(_l("Contact person"), validators=[Optional(), Length(max=80)])
    contact_phone = StringField(_l("Contact phone"), validators=[Optional(), Length(max=40)])
    public_name = StringField(
        _l("Name on the honour roll"),
        validators=[Optional(), Length(max=200)],
        description=_l("Leave empty to be thanked under the name above."),
    )
    is_anonymous = BooleanField(_l("Give anonymously: the honour roll shows no name"))
    on_honour_roll = BooleanField(_l("List our gifts on the public honour roll"), default=True)
    submit = SubmitField(_l("Save"))


class SignUpForm(SponsorForm):
    """A sponsor's own sign-up, with the representative's account."""

    username = username_field(_l("User name for signing in"))
    display_name = StringField(_l("Your name"), validators=[Optional(), Length(max=120)])
    password, confirm = new_password_fields(username_field="username")
    submit = SubmitField(_l("Sign up"))


class ReviewForm(FlaskForm):
    """An organiser's decision on a sign-up."""

    note = StringField(_l("Note"), validators=[Optional(), Length(max=200)])
    approve = SubmitField(_l("Approve"))
    reject = SubmitField(_l("Reject"))


class DonationForm(FlaskForm):
    """A pledge: cash, goods with their worth, or a service counted in sessions or hours."""

    uid = HiddenField()
    kind = RadioField(
        _l("Kind of gift"),
        choices=lambda: [(k.value, k.label) for k in DonationKind],
        default=DonationKind.IN_KIND.value,
    )
    description = StringField(
        _l("What is given"),
        validators=[DataRequired(), Length(max=200)],
        description=_l("For example: water tickets, free haircuts, dental implants."),
    )
    quantity = DecimalField(
        _l("How many"),
        places=2,
        validators=[Optional()],
        description=_l("Goods and services: the number of items, sessions or hours."),
    )
    unit_label = StringField(
        _l("Counted in"),
        validators=[Optional(), Length(max=20)],
        description=_l("For example 份, 本, 场, 小时."),
    )
    unit_value = DecimalField(_l("Worth of one, in yuan"), places=2, validators=[Optional()])
    value = DecimalField(
        _l("Total worth in yuan"),
        places=2,
        validators=[Optional()],
        description=_l("Cash: the amount. Goods and services: when no worth per unit is given."),
    )
    campaign = SelectField(_l("Campaign"), coerce=int, choices=[])
    station_code = StringField(
        _l("For one station (its code)"),
        validators=[Optional(), Length(max=32)],
        description=_l("Leave empty when the union decides where the gift goes."),
    )
    pledged_on = DateField(_l("Pledged on"), validators=[InputRequired()])
    note = TextAreaField(_l("Note"), validators=[Optional(), Length(max=2000)])
    submit = SubmitField(_l("Pledge"))


class ReceiveForm(FlaskForm):
    """The date a pledged gift arrived."""

    received_on = DateField(_l("Received on"), validators=[InputRequired()])
    submit = SubmitField(_l("Confirm receipt"))


class DistributionForm(FlaskForm):
    """How much of a received gift went to which activity or station, and when."""

    uid = HiddenField()
    activity = SelectField(_l("Activity"), coerce=int, choices=[])
    station_code = StringField(
        _l("Or a station's code"),
        validators=[Optional(), Length(max=32)],
        description=_l("For a hand-out to a station outside any activity."),
    )
    quantity = DecimalField(_l("How much"), places=2, validators=[InputRequired()])
    distributed_on = DateField(_l("Handed out on"), validators=[InputRequired()])
    note = StringField(_l("Note"), validators=[Optional(), Length(max=200)])
    submit = SubmitField(_l("Record the hand-out"))

    def validate_station_code(self, field):
        """An activity or a station, not both."""
        if field.data and self.activity.data:
            raise ValidationError(_l("Choose an activity or give a station's code, not both."))
