"""Forms for teams, members and sessions. The forms only read what was typed; the rules (a
name, a mobile that reads as one, a session that ends after it starts and overlaps none) are
the services', whose errors the views put back under the field they name."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    DateField,
    IntegerField,
    SelectField,
    SelectMultipleField,
    StringField,
    SubmitField,
    TextAreaField,
    TimeField,
)
from wtforms.validators import InputRequired, Length, NumberRange, Optional

from inclusive_day.volunteers.models import Skill
from inclusive_day.volunteers.services import (
    MAX_CONTACT,
    MAX_DESCRIPTION,
    MAX_NAME,
    MAX_NOTE,
    MAX_PHONE,
    MAX_REASON,
    MAX_SERVED,
    MAX_TEAM_NAME,
)


class TeamForm(FlaskForm):
    """A team: its name, who keeps it, who leads it, and the sponsor or partner it is."""

    name = StringField(_l("Team name"), validators=[InputRequired(), Length(max=MAX_TEAM_NAME)])
    unit = SelectField(_l("Kept by"), coerce=int)
    description = TextAreaField(
        _l("What the team does"), validators=[Optional(), Length(max=MAX_DESCRIPTION)]
    )
    leader_name = StringField(_l("Leader"), validators=[Optional(), Length(max=MAX_NAME)])
    leader_phone = StringField(
        _l("Leader's phone (for the union's use)"), validators=[Optional(), Length(max=MAX_PHONE)]
    )
    sponsor = SelectField(_l("The same organisation as the sponsor"), coerce=int, default=0)
    partner = SelectField(_l("The same organisation as the partner"), coerce=int, default=0)
    submit = SubmitField(_l("Save the team"))


class MemberForm(FlaskForm):
    """A member: name, a contact for the team, skills, and an optional mobile for points."""

    name = StringField(_l("Name"), validators=[InputRequired(), Length(max=MAX_NAME)])
    contact = StringField(
        _l("Contact (WeChat or phone, for the team's use)"),
        validators=[Optional(), Length(max=MAX_CONTACT)],
    )
    skills = SelectMultipleField(_l("Skills"), choices=Skill.choices)
    mobile = StringField(
        _l("Mobile number for points (optional)"),
        validators=[Optional(), Length(max=MAX_PHONE)],
        description=_l(
            "Only a keyed code of the number is kept, never the number: with it, confirmed "
            "hours earn points on the same account as check-ins."
        ),
    )
    joined_on = DateField(_l("Joined on"), validators=[Optional()])
    submit = SubmitField(_l("Save the member"))


class LeaveForm(FlaskForm):
    """A member leaves the team on a day."""

    left_on = DateField(_l("Left on"), validators=[InputRequired()])
    submit = SubmitField(_l("Leaves the team"))


class SessionForm(FlaskForm):
    """A session of service: who, where, at which activity, doing what, when, for how many."""

    volunteer = SelectField(_l("Volunteer"), coerce=int)
    station = SelectField(_l("Station"), coerce=int)
    activity = SelectField(_l("Activity (optional)"), coerce=int, default=0)
    skill = SelectField(_l("Service"), choices=Skill.choices, default=Skill.GENERAL.value)
    day = DateField(_l("Day"), validators=[InputRequired()])
    starts = TimeField(_l("From"), validators=[InputRequired()])
    ends = TimeField(_l("To"), validators=[InputRequired()])
    served = IntegerField(
        _l("People served (outside an activity)"),
        validators=[Optional(), NumberRange(min=0, max=MAX_SERVED)],
    )
    note = StringField(_l("Note"), validators=[Optional(), Length(max=MAX_NOTE)])
    submit = SubmitField(_l("Log the session"))


class DecideForm(FlaskForm):
    """Confirm or reject one session; a rejection says why."""

    reason = StringField(_l("Why it is rejected"), validators=[Optional(), Length(max=MAX_REASON)])
    confirm = SubmitField(_l("Confirm"))
    reject = SubmitField(_l("Reject"))
