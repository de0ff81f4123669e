"""The form that makes an API token."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import RadioField, StringField, SubmitField
from wtforms.validators import DataRequired, Length

from inclusive_day.api.models import TokenScope


class TokenForm(FlaskForm):
    """A name to recognise the token by, and what it may do."""

    name = StringField(
        _l("Name"),
        validators=[DataRequired(), Length(max=80)],
        description=_l("Where it is used, e.g. “scanner at Wuhua station”."),
    )
    scope = RadioField(
        _l("Access"),
        choices=[],
        default=TokenScope.READ.value,
        validators=[DataRequired()],
    )
    submit = SubmitField(_l("Make a token"))

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.scope.choices = TokenScope.choices()
