"""Forms for attendance: the public QR check-in; for staff, headcounts, annulling, paper sheets."""

import secrets

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import (
    HiddenField,
    IntegerField,
    RadioField,
    SelectChoice,
    StringField,
    SubmitField,
    TelField,
    TextAreaField,
    ValidationError,
)
from wtforms.validators import DataRequired, Length, NumberRange, Optional
from wtforms.widgets import NumberInput

from inclusive_day.attendance import paper
from inclusive_day.attendance.feedback import parse_comment, parse_rating
from inclusive_day.attendance.models import FEEDBACK_COMMENT_MAX, BeneficiaryGroup
from inclusive_day.attendance.services import (
    AttendanceError,
    check_count,
    check_nonce,
    parse_group,
    parse_person,
)
from inclusive_day.refusals import Refused
from inclusive_day.uploads import CSV, SniffedFile


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
        except Refused as error:
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


# What each rating says, for the star buttons' accessible names.
RATING_WORDS = [
    SelectChoice("1", _l("1 star: very poor")),
    SelectChoice("2", _l("2 stars: poor")),
    SelectChoice("3", _l("3 stars: fair")),
    SelectChoice("4", _l("4 stars: good")),
    SelectChoice("5", _l("5 stars: very good")),
]


class FeedbackForm(FlaskForm):
    """A worker's word on the station after a scan: a rating, a comment, or both."""

    rating = RadioField(
        _l("How was this station?"),
        choices=RATING_WORDS,
        validate_choice=False,  # parse_rating says what is wrong
        validators=[_rule(parse_rating)],
    )
    comment = TextAreaField(
        _l("A short comment (optional)"),
        validators=[_rule(parse_comment)],
        render_kw={"maxlength": FEEDBACK_COMMENT_MAX, "rows": 3},
    )
    submit = SubmitField(_l("Send"))


def _count_rule(group: BeneficiaryGroup):
    """A WTForms validator from the headcount rule in services.py; a blank field means 0."""

    def validate(form, field):
        try:
            check_count(field.data if str(field.data or "").strip() else 0, group)
        except AttendanceError as error:
            raise ValidationError(str(error.message)) from None

    return validate


class HeadcountForm(FlaskForm):
    """One count per beneficiary group, and (hidden) the counts the form showed.

    The hidden counts let the service notice that someone else changed a count meanwhile.
    """

    submit = SubmitField(_l("Save counts"))

    def rows(self) -> list[tuple[BeneficiaryGroup, StringField, HiddenField]]:
        """(group, its count field, its hidden "count shown" field), in the groups' order."""
        return [(g, self[f"count_{g.value}"], self[f"shown_{g.value}"]) for g in BeneficiaryGroup]

    def fill(self, current: dict[BeneficiaryGroup, int]) -> None:
        """Show the stored counts, and remember them as the counts shown."""
        for group, count, shown in self.rows():
            count.data = str(current[group])
            shown.data = str(current[group])

    def show_again(self, current: dict[BeneficiaryGroup, int]) -> None:
        """Keep what was typed, but take the stored counts as the ones shown from now on."""
        for group, _count, shown in self.rows():
            shown.data = str(current[group])

    def shown(self) -> dict[BeneficiaryGroup, int | None]:
        """The counts the form showed (None where the hidden value was tampered with)."""
        result = {}
        for group, _count, shown in self.rows():
            try:
                result[group] = int(shown.data)
            except (TypeError, ValueError):
                result[group] = None
        return result

    def changes(self) -> tuple[dict[BeneficiaryGroup, int], dict[BeneficiaryGroup, int]]:
        """The counts typed that differ from the ones shown, and the shown ones for those.

        A group left as shown is not sent, so two people correcting different groups at
        the same time do not stop each other.
        """
        shown = self.shown()
        counts, expected = {}, {}
        for group, count, _shown in self.rows():
            text = str(count.data or "").strip()
            new = int(text) if text else 0
            if new != shown[group]:
                counts[group] = new
                # A tampered "shown" value can never match the stored count: a conflict.
                expected[group] = shown[group] if shown[group] is not None else -1
        return counts, expected


for _group in BeneficiaryGroup:
    setattr(
        HeadcountForm,
        f"count_{_group.value}",
        StringField(
            BeneficiaryGroup._labels()[_group],
            validators=[_count_rule(_group)],
            widget=NumberInput(min=0),
            render_kw={"inputmode": "numeric"},
        ),
    )
    setattr(HeadcountForm, f"shown_{_group.value}", HiddenField())
del _group


class AnnulForm(FlaskForm):
    """Why a check-in is annulled."""

    reason = StringField(
        _l("Reason"),
        validators=[DataRequired(_l("Say why the check-in is annulled.")), Length(max=255)],
    )
    submit = SubmitField(_l("Annul"))


class CapacityForm(FlaskForm):
    """How many check-ins a minute an activity takes (empty: its station's figure)."""

    checkins_per_minute = IntegerField(
        _l("Check-ins a minute"),
        validators=[Optional(), NumberRange(min=1)],
        description=_l(
            "At most this many check-ins a minute; more are refused and put under review. "
            "Empty: the station's figure."
        ),
    )
    submit = SubmitField(_l("Save"))


class PaperForm(FlaskForm):
    """The sign-in sheet to import."""

    file = FileField(
        _l("Sign-in sheet (CSV)"),
        validators=[
            FileRequired(_l("Choose a CSV file.")),
            SniffedFile((CSV,), max_bytes=lambda: paper.MAX_BYTES),
        ],
    )
    submit = SubmitField(_l("Import the sheet"))
