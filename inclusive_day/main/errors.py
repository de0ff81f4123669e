"""Error pages in the user's language, and JSON errors for the API."""

from flask import Flask, render_template, request
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from inclusive_day.json_errors import error_response, http_error_response


def _messages() -> dict[int, str]:
    return {
        400: _("The request was not understood. Check the address or the form and try again."),
        403: _("You may not do that."),
        404: _("There is nothing here, or you may not see it."),
        405: _("That action is not allowed here."),
        413: _("The upload is larger than allowed."),
        429: _("Too many requests. Please wait a moment and try again."),
        500: _("Something went wrong on our side. It has been logged."),
    }


def register(app: Flask) -> None:
    """Install the handlers on `app`."""

    def render(code: int, message: str | None = None, error: HTTPException | None = None):
        if request.path.startswith("/api/"):  # the one JSON error shape: json_errors.py
            if error is not None:
                return http_error_response(error, message)
            return error_response(code, message)
        text = message or _messages().get(code) or _("Error")
        return render_template("errors/error.html", code=code, message=text), code

    @app.errorhandler(CSRFError)
    def _csrf(error):
        return render(400, _("The form expired or was sent from elsewhere. Please try again."))

    @app.errorhandler(HTTPException)
    def _http(error: HTTPException):
        if error.code is None or error.code < 400:
            return error
        return render(error.code, error=error)
