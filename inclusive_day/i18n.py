"""Language and time zone choice, and the formatting helpers templates use."""

from datetime import date, datetime, timedelta

from babel.dates import format_skeleton
from flask import Flask, current_app, has_request_context, request, session
from flask_babel import format_date, format_datetime, format_decimal, format_time, get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

LANGUAGE_NAMES = {"zh": "中文", "en": "English"}
LOGIN_MESSAGE = _l("Please sign in to see this page.")
# The one name of the distinct-people figure, on every page, PDF, sheet and in the API: it
# counts people who checked in by QR code, never everyone served (staff headcounts carry no
# identity), so it must not read as "people" beside the person-times.
PEOPLE_BY_QR = _l("People checked in by QR")
PEOPLE_BY_QR_NOTE = _l("distinct people; staff headcounts not included")
PEOPLE_BY_QR_DESCRIPTION = (
    "People checked in by QR: distinct people among the check-ins. Staff headcounts carry no "
    "identity and are not in it, so it is never everyone served."
)


def select_locale() -> str:
    """The language of this request: the user's choice, else the browser's, else Chinese."""
    languages = current_app.config["LANGUAGES"]
    if not has_request_context():  # the CLI and background jobs speak the default language
        return current_app.config["BABEL_DEFAULT_LOCALE"]
    chosen = session.get("lang")
    if chosen in languages:
        return chosen
    if current_user and current_user.is_authenticated and current_user.locale in languages:
        return current_user.locale
    return (
        request.accept_languages.best_match(languages) or current_app.config["BABEL_DEFAULT_LOCALE"]
    )


def select_timezone() -> str:
    """Times are shown in China Standard Time, the zone every unit schedules in by default."""
    return current_app.config["BABEL_DEFAULT_TIMEZONE"]


def number(value) -> str:
    """A count or amount with the locale's digit grouping."""
    if isinstance(value, int) or value is None:
        # Both catalogue languages group by threes; only the separator is the locale's.
        return f"{value or 0:,}".replace(",", get_locale().number_symbols["latn"]["group"])
    return format_decimal(value)


def money(value) -> str:
    """Yuan with two decimals and grouping."""
    return format_decimal(value or 0, format="#,##0.00")


def when(value: datetime | date | None, style: str = "medium") -> str:
    """A date or time in the user's language and China's time zone."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        if style == "medium":  # the date in full, the time to the minute
            return f"{format_date(value, 'medium')} {format_time(value, 'short')}"
        return format_datetime(value, style)
    return format_date(value, style)


def register_template_helpers(app: Flask) -> None:
    """Expose the formatting helpers and the language list to templates."""
    app.add_template_filter(number)
    app.add_template_filter(money)
    app.add_template_filter(when)

    @app.context_processor
    def _language_context() -> dict:
        locale = get_locale()
        return {
            "current_language": locale.language if locale else "zh",
            "language_names": LANGUAGE_NAMES,
            "people_label": PEOPLE_BY_QR,
            "people_note": PEOPLE_BY_QR_NOTE,
        }


def period_text(start: datetime, end: datetime, zone, now: datetime) -> str:
    """When an activity runs, in the station's zone: "Today 09:00–11:00", "Sat 18 Jan 09:00"."""
    locale = get_locale()
    s, e = start.astimezone(zone), end.astimezone(zone)
    today = now.astimezone(zone).date()

    def day(moment: datetime) -> str:
        if moment.date() == today:
            return _("Today")
        if moment.date() == today + timedelta(days=1):
            return _("Tomorrow")
        return format_skeleton("MMMEd", moment, tzinfo=zone, locale=locale)

    if s.date() == e.date():
        return f"{day(s)} {s:%H:%M}–{e:%H:%M}"
    return f"{day(s)} {s:%H:%M} – {day(e)} {e:%H:%M}"
