"""The one shape of every JSON error, the API's and the web's under /api, and its handlers.

    {"error": "<message in the request's language>", "code": "<machine code>",
     "field": "<the input at fault, when one is>", "errors": {field: [messages]}}

Web pages' errors under /api (404, 405, 429, 500...) come here through main.errors, the
API's own refusals are ApiError, and flask-smorest's validation errors (422) carry "errors".
"""

from __future__ import annotations

import marshmallow as ma
from flask import Flask, jsonify
from flask_babel import gettext as _
from werkzeug.exceptions import HTTPException

CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "too_large",
    415: "unsupported_media_type",
    422: "validation",
    429: "rate_limited",
    500: "server_error",
}


class ErrorSchema(ma.Schema):
    """An API error, the same for every status."""

    error = ma.fields.String(
        required=True, metadata={"description": "What went wrong, in the request's language."}
    )
    code = ma.fields.String(
        required=True,
        metadata={
            "description": "A stable machine code: " + ", ".join(sorted(set(CODES.values())))
        },
    )
    field = ma.fields.String(metadata={"description": "The input at fault, when there is one."})
    errors = ma.fields.Dict(
        keys=ma.fields.String(),
        values=ma.fields.List(ma.fields.String()),
        metadata={"description": "Validation messages by input name."},
    )


class ApiError(Exception):
    """An API refusal: raise it anywhere in an API view and the client gets the error shape."""

    def __init__(
        self,
        status: int,
        message=None,
        field: str | None = None,
        errors: dict | None = None,
        headers: dict | None = None,
    ) -> None:
        super().__init__(str(message or status))
        self.status = status
        self.message = message
        self.field = field
        self.errors = errors
        self.headers = headers or {}


def default_message(status: int) -> str:
    """The message for a status when nothing more precise is known."""
    messages = {
        400: _("The request was not understood."),
        401: _("Send a valid API token: Authorization: Bearer <token>."),
        403: _("This token may not do that."),
        404: _("There is nothing here, or you may not see it."),
        405: _("That action is not allowed here."),
        409: _("That conflicts with the current state."),
        413: _("The upload is larger than allowed."),
        415: _("Send JSON (Content-Type: application/json)."),
        422: _("Some fields are not valid."),
        429: _("Too many requests. Please wait a moment and try again."),
        500: _("Something went wrong on our side. It has been logged."),
    }
    return messages.get(status, _("Error"))


def error_response(
    status: int,
    message=None,
    *,
    field: str | None = None,
    errors: dict | None = None,
    headers: dict | None = None,
):
    """A JSON error response in the API's one shape."""
    body = {"error": str(message or default_message(status)), "code": CODES.get(status, "error")}
    if field:
        body["field"] = field
    if errors:
        body["errors"] = errors
    response = jsonify(body)
    response.status_code = status
    response.headers["Cache-Control"] = "no-store"
    if status == 401:
        response.headers["WWW-Authenticate"] = "Bearer"
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def _flatten(messages) -> dict[str, list[str]]:
    """webargs' {"json": {"title": ["..."]}} (or nested deeper) as {"title": ["..."]}."""
    flat: dict[str, list[str]] = {}

    def walk(value, path: str) -> None:
        if isinstance(value, dict):
            for key, inner in value.items():
                walk(inner, f"{path}.{key}" if path else str(key))
        elif isinstance(value, list | tuple):
            for item in value:
                walk(item, path)
        else:
            flat.setdefault(path or "_schema", []).append(str(value))

    if isinstance(messages, dict):
        for location in messages.values():  # json, query, path
            walk(location, "")
    else:
        walk(messages, "")
    return flat


def http_error_response(error: HTTPException, message=None):
    """An HTTPException raised under /api, in the API's shape (with validation details)."""
    status = error.code or 500
    data = getattr(error, "data", None) or {}
    errors = _flatten(data["messages"]) if "messages" in data else None
    # The input at fault: the top-level name ("groups" for an error in "groups.0").
    field = next(iter(errors)).split(".")[0] if errors else None
    headers = dict(data.get("headers") or {})
    headers.update((k, v) for k, v in error.get_headers() if k.lower() == "allow")
    return error_response(status, message, field=field, errors=errors, headers=headers)


def register(app: Flask) -> None:
    """Answer ApiError anywhere with the error shape."""

    @app.errorhandler(ApiError)
    def _api_error(error: ApiError):
        return error_response(
            error.status,
            error.message,
            field=error.field,
            errors=error.errors,
            headers=error.headers,
        )
