"""The report pages' choices: a GET form each (no CSRF token: they change nothing)."""

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
)
from wtforms.validators import InputRequired, NumberRange, Optional, ValidationError

from inclusive_day.periods import Month
from inclusive_day.reports.construction import check_day, check_days
from inclusive_day.reports.recap import ReportError, check_period
from inclusive_day.reports.top100 import CRITERIA, FIRST_YEAR, LAST_YEAR, Criterion


def check_month(text: str) -> None:
    """Raise ValidationError unless `text` is a month written YYYY-MM."""
    try:
        Month.parse(text)
    except ValueError:
        raise ValidationError(_l("Give the month as YYYY-MM, for example 2024-01.")) from None


class RecapForm(FlaskForm):
    """Which sub-tree and which days of a campaign the recap covers."""

    class Meta:
        csrf = False

    unit = SelectField(_l("Union unit"), choices=[], coerce=int, validate_choice=False)
    start = DateField(
        _l("From"),
        name="from",
        validators=[Optional()],
        render_kw={"type": "date"},
    )
    end = DateField(
        _l("To"),
        name="to",
        validators=[Optional()],
        render_kw={"type": "date"},
    )

    def validate_end(self, field) -> None:
        """The period must end on or after its start, and not run too long."""
        if self.start.data is None or field.data is None:
            return
        try:
            check_period(self.start.data, field.data)
        except ReportError as error:
            raise ValidationError(error.message) from None


class LeagueForm(FlaskForm):
    """Which unit's sub-units are ranked, for which month."""

    class Meta:
        csrf = False

    unit = SelectField(_l("Union unit"), choices=[], coerce=int, validate_choice=False)
    month = StringField(_l("Month"), render_kw={"type": "month"})

    def validate_month(self, field) -> None:
        """A month written YYYY-MM."""
        if field.data:
            check_month(field.data)


class ConstructionForm(FlaskForm):
    """Which unit's sub-units, on which day, with the gain since which earlier day."""

    class Meta:
        csrf = False

    unit = SelectField(_l("Union unit"), choices=[], coerce=int, validate_choice=False)
    on = DateField(_l("As of"), name="on", validators=[Optional()], render_kw={"type": "date"})
    since = DateField(
        _l("Gain since"), name="since", validators=[Optional()], render_kw={"type": "date"}
    )

    def validate_on(self, field) -> None:
        """A day the report takes."""
        if field.data is not None:
            _check(lambda: check_day(field.data, "on"))

    def validate_since(self, field) -> None:
        """A day the report takes, before the report's day."""
        if field.data is None:
            return
        _check(lambda: check_day(field.data, "since"))
        if self.on.data is not None and not self.on.errors:
            _check(lambda: check_days(self.on.data, field.data))


def _check(rule) -> None:
    """Run a report rule; its ReportError becomes the field's error."""
    try:
        rule()
    except ReportError as error:
        raise ValidationError(error.message) from None


class IssueForm(FlaskForm):
    """Issue a unit's monthly traffic notice to each of its sub-units (a POST, with CSRF)."""

    month = StringField(_l("Month"), validators=[InputRequired()], render_kw={"type": "month"})
    lang = SelectField(_l("Language"), choices={"zh": "中文", "en": "English"}, default="zh")

    def validate_month(self, field) -> None:
        """A month written YYYY-MM."""
        check_month(field.data)


class Top100Form(FlaskForm):
    """Whose Double Top 100, for which year."""

    class Meta:
        csrf = False

    unit = SelectField(_l("Union unit"), choices=[], coerce=int, validate_choice=False)
    year = IntegerField(
        _l("Year"),
        validators=[Optional(), NumberRange(FIRST_YEAR, LAST_YEAR)],
        render_kw={"inputmode": "numeric", "min": FIRST_YEAR, "max": LAST_YEAR},
    )


class Top100WeightsForm(FlaskForm):
    """The weight of each published criterion (0 leaves one out). The rules are the
    service's (reports.top100.check_weights), which says what is wrong with a weight."""

    submit = SubmitField(_l("Save the weights"))

    def fields(self) -> list[tuple[Criterion, StringField]]:
        """(criterion, its weight field), in the criteria's order."""
        return [(c, self[f"weight_{c.code}"]) for c in CRITERIA]

    def fill(self, weights: dict[str, float]) -> None:
        """Show the weights set."""
        for criterion, weight in self.fields():
            weight.data = f"{weights.get(criterion.code, 0):g}"

    def raw(self) -> dict[str, str]:
        """The weights as typed, by criterion code."""
        return {criterion.code: weight.data for criterion, weight in self.fields()}


for _criterion in CRITERIA:
    setattr(
        Top100WeightsForm,
        f"weight_{_criterion.code}",
        StringField(_criterion.label, render_kw={"inputmode": "decimal", "size": 5}),
    )
del _criterion


class Top100ConfirmForm(FlaskForm):
    """Confirm and publish the lists shown: the digest of what the page showed."""

    shown = HiddenField()
    submit = SubmitField(_l("Confirm and publish"))
