"""Forms for signing in, changing a password and administering users."""

from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    PasswordField,
    SelectField,
    StringField,
    SubmitField,
    ValidationError,
)
from wtforms.validators import DataRequired, EqualTo, Length, Optional, Regexp

from inclusive_day.auth.models import Role
from inclusive_day.auth.names import (
    USERNAME_MAX,
    USERNAME_MIN,
    USERNAME_PATTERN,
    normalise_username,
)
from inclusive_day.auth.passwords import PASSWORD_HINT, PASSWORD_MAX, StrongPassword

NONE = 0  # the value of "none chosen" in a select
GRANTABLE_ON_TARGET = (Role.ORGANISER, Role.VIEWER, Role.STATION_MANAGER, Role.SPONSOR_REP)


def new_password_fields(label=None, again=None, **rule) -> tuple[PasswordField, PasswordField]:
    """A new password under the password rule (`rule`: how to find the user name, see
    StrongPassword), and the same typed again: `password, confirm = new_password_fields(...)`."""
    password = PasswordField(
        label or _l("Password"),
        validators=[DataRequired(), StrongPassword(**rule)],
        description=PASSWORD_HINT,
    )
    confirm = PasswordField(
        again or _l("Password again"),
        validators=[DataRequired(), EqualTo("password", message=_l("The passwords differ."))],
    )
    return password, confirm


def username_field(label=None) -> StringField:
    """A new user name under the one rule for names (auth.names): NFKC-normalised as it is
    read, then 3 to 80 letters, digits and . @ + - _, with no space or invisible character."""
    return StringField(
        label or _l("User name"),
        filters=[normalise_username],
        validators=[
            DataRequired(),
            Length(min=USERNAME_MIN, max=USERNAME_MAX),
            Regexp(
                USERNAME_PATTERN,
                message=_l("Use letters, digits and . @ + - _ only, without spaces."),
            ),
        ],
    )


class LoginForm(FlaskForm):
    """User name and password."""

    username = StringField(_l("User name"), validators=[DataRequired(), Length(max=80)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=200)])
    remember = BooleanField(_l("Keep me signed in"))
    submit = SubmitField(_l("Sign in"))


class PasswordChangeForm(FlaskForm):
    """The signed-in user's current password and the new one, twice."""

    current = PasswordField(
        _l("Current password"), validators=[DataRequired(), Length(max=PASSWORD_MAX)]
    )
    password, confirm = new_password_fields(
        _l("New password"), _l("New password again"), username=lambda: current_user.username
    )
    revoke_tokens = BooleanField(
        _l("Sign out my API tokens too"),
        default=True,
        description=_l(
            "Scanners and scripts that use them stop working until you make them new tokens."
        ),
    )
    submit = SubmitField(_l("Change password"))

    def validate_password(self, field) -> None:
        """The new password must differ from the current one."""
        if field.data and field.data == self.current.data:
            raise ValidationError(_l("Choose a password different from the current one."))


class UserCreateForm(FlaskForm):
    """An administrator adds an account."""

    username = username_field()
    display_name = StringField(_l("Display name"), validators=[Optional(), Length(max=120)])
    password, confirm = new_password_fields(username_field="username")
    must_change = BooleanField(_l("Ask for a new password at the first sign-in"), default=True)
    submit = SubmitField(_l("Create user"))


class GrantForm(FlaskForm):
    """A role to give, and what it is given over (by role: a unit, a station or a sponsor)."""

    # The widest role last, and not preselected.
    role = SelectField(
        _l("Role"),
        choices=lambda: [(r.value, r.label) for r in (*GRANTABLE_ON_TARGET, Role.ADMIN)],
        default=Role.ORGANISER.value,
    )
    unit = SelectField(
        _l("Union unit"),
        coerce=int,
        choices=[],
        default=NONE,
        description=_l("For organisers and viewers: the role covers the unit's whole subtree."),
    )
    station_code = StringField(
        _l("Station code"),
        validators=[Optional(), Length(max=40)],
        description=_l("For station managers."),
    )
    sponsor = SelectField(
        _l("Sponsor"),
        coerce=int,
        choices=[],
        default=NONE,
        description=_l("For sponsor representatives: an approved sponsor."),
    )
    submit = SubmitField(_l("Grant role"))


class ActionForm(FlaskForm):
    """A button that changes something: only the CSRF token and the button."""

    submit = SubmitField(_l("Confirm"))
