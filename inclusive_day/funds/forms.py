"""Forms of the funds ledger: a line, its payment, and the operating-subsidy rule."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    DateField,
    DecimalField,
    HiddenField,
    IntegerField,
    SelectField,
    StringField,
    SubmitField,
)
from wtforms.validators import InputRequired, Length, Optional

from inclusive_day.funds.models import FundKind

NONE = 0  # the value of "none" in a select


class FundLineForm(FlaskForm):
    """One line of money: what, how much, for which year, for whom, from where, when.

    The numbers and days are judged by the ledger's rules (inclusive_day/funds/services.py),
    whose messages land under the fields."""

    kind = SelectField(_l("Kind"), choices=lambda: FundKind.choices())
    amount = DecimalField(_l("Amount (yuan)"), places=2, validators=[Optional()])
    year = IntegerField(
        _l("Budget year"),
        validators=[Optional()],
        description=_l("The year the money is for; it may be allocated in the year before."),
    )
    unit = SelectField(_l("For the union unit"), coerce=int, choices=[])
    station = StringField(
        _l("For the station (code)"),
        validators=[Optional(), Length(max=32)],
        description=_l(
            "Leave empty for money for the unit itself. With a code, the line is that "
            "station's: a station of the chosen unit or of a unit below it."
        ),
    )
    source_unit = SelectField(
        _l("Allocated or invested by"),
        coerce=int,
        choices=[],
        description=_l(
            "Subsidies and awards: the unit that allocated them, the line's unit or one above "
            "it. Union investment: the unit whose money it is (empty: the line's own unit)."
        ),
    )
    partner = SelectField(
        _l("Leveraged from the partner"),
        coerce=int,
        choices=[],
        description=_l("Leveraged money only; for another body, name it in the note."),
    )
    note = StringField(_l("Note"), validators=[Optional(), Length(max=255)])
    allocated_on = DateField(_l("Allocated on"), validators=[Optional()])
    paid_on = DateField(_l("Paid on"), validators=[Optional()])
    submit = SubmitField(_l("Save"))


class PaidForm(FlaskForm):
    """The day a line's money was paid."""

    paid_on = DateField(_l("Paid on"), validators=[InputRequired()])
    back = HiddenField()
    submit = SubmitField(_l("Mark paid"))


class DeleteForm(FlaskForm):
    """Deleting an unpaid line entered in error; `confirm` carries the line's id, so that a
    stray POST deletes nothing."""

    confirm = HiddenField(validators=[InputRequired()])
    submit = SubmitField(_l("Delete this line"))


class OperatingRuleForm(FlaskForm):
    """A year's operating subsidy for every station of a subtree that holds a label."""

    unit = SelectField(
        _l("Allocated by"),
        coerce=int,
        choices=[],
        description=_l("Its stations, and those of every unit below it, receive the subsidy."),
    )
    label = SelectField(_l("For the stations holding"), coerce=int, choices=[])
    year = IntegerField(_l("Budget year"), validators=[Optional()])
    amount = DecimalField(_l("Amount per station (yuan)"), places=2, validators=[Optional()])
    allocated_on = DateField(_l("Allocated on"), validators=[Optional()])
    submit = SubmitField(_l("Write the subsidy lines"))
