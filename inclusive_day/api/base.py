"""What every API resource shares: bearer authentication, scopes, lookups, pagination.

Every resource but the public check-in asks for `Authorization: Bearer <token>`. A token
reads with any method; changes (POST, PATCH) need a write token. The token's user then goes
through the one access rule (access.rule): lists show only what the user may see, and a row
the user may not see answers 404, like a row that does not exist.
"""

from __future__ import annotations

import hashlib
import hmac
import uuid
from http import HTTPStatus

from flask import current_app, g, request
from flask_babel import gettext as _
from flask_smorest import Blueprint
from sqlalchemy import select

from inclusive_day.access.rule import Action, visible
from inclusive_day.api.models import ApiToken, TokenScope
from inclusive_day.api.schemas import ID_MAX
from inclusive_day.api.tokens import authenticate
from inclusive_day.auth.models import User
from inclusive_day.extensions import db
from inclusive_day.json_errors import ApiError

READING = frozenset({"GET", "HEAD", "OPTIONS"})
IDEMPOTENCY_HEADER = "Idempotency-Key"
KEY_MAX = 255
# The header as the OpenAPI document shows it on the operations that create.
IDEMPOTENCY_PARAMETER = {
    "in": "header",
    "name": IDEMPOTENCY_HEADER,
    "required": False,
    "schema": {"type": "string", "minLength": 1, "maxLength": KEY_MAX},
    "description": "Any key of the client's choosing (1 to 255 printable ASCII characters, "
    "such as a UUID). Sending the same key again, from the same user, makes nothing new and "
    "answers 200 with what the first request made, however long after.",
}


class ApiBlueprint(Blueprint):
    """A smorest blueprint whose operations are tagged `tag` in the OpenAPI document."""

    def __init__(self, tag: str, import_name: str, *, description: str = "", public=False):
        super().__init__(f"api_{tag}", import_name, description=description)
        self.tag = tag
        if not public:
            self.before_request(require_token)

    def route(self, rule, *, parameters=None, tags=None, operation_id=None, **options):
        """Like smorest's, tagging the operation with the blueprint's tag and naming it:
        `operation_id`, else the view's name in camel case (list_units: listUnits), which
        generated clients take for their functions' names."""
        register = super().route(rule, parameters=parameters, tags=tags or [self.tag], **options)

        def decorate(func):
            name = operation_id or camel_case(func.__name__)
            return register(self.doc(operationId=name)(func))

        return decorate

    def errors(self, *codes: int):
        """Document the error responses an operation may give, each in the Error shape."""

        def decorate(func):
            for code in codes:
                func = self.alt_response(code, response=HTTPStatus(code).name)(func)
            return func

        return decorate


def camel_case(name: str) -> str:
    """A Python name as an OpenAPI operationId: list_host_types gives listHostTypes."""
    first, *rest = name.split("_")
    return first + "".join(word.capitalize() for word in rest)


def require_token() -> None:
    """Authenticate the request's bearer token (401), and its scope for a change (403)."""
    if optional_token() is None:
        raise ApiError(401, _("Send a valid API token: Authorization: Bearer <token>."))


def optional_token() -> ApiToken | None:
    """The request's API token when it sends one (None when it sends no Authorization at all),
    checked as require_token checks it: unknown or revoked answers 401, a read-only token
    asked to change something 403."""
    if "Authorization" not in request.headers:
        return None
    scheme, _sep, raw = request.headers.get("Authorization", "").partition(" ")
    token = authenticate(raw.strip()) if scheme.lower() == "bearer" else None
    if token is None:
        db.session.rollback()
        raise ApiError(401, _("Send a valid API token: Authorization: Bearer <token>."))
    db.session.commit()  # keeps last_used_at
    if request.method not in READING and token.scope is not TokenScope.WRITE:
        raise ApiError(403, _("This token may only read. Make a read and write token."))
    g.api_token = token
    # The token's user is the request's user (the audit log's actor, the language), without a
    # session: Flask-Login reads g._login_user before it would look at any cookie.
    g._login_user = token.user
    return token


def api_user() -> User:
    """The user the request's token acts for."""
    token: ApiToken = g.api_token
    return token.user


def one(action: Action, model, ident: int, *options):
    """The row of `model` with id `ident` that the token's user may `action`, else 404."""
    if not 0 < ident <= ID_MAX:
        raise ApiError(404)
    stmt = select(model).where(model.id == ident, visible(api_user(), action, model))
    if options:
        stmt = stmt.options(*options)
    row = db.session.scalar(stmt)
    if row is None:
        raise ApiError(404)
    return row


def filter_row(action: Action, model, ident: int | None, field: str):
    """The row a list is filtered by (None when no filter): one the user may see, else 404."""
    if ident is None:
        return None
    try:
        return one(action, model, ident)
    except ApiError as error:
        error.field = field
        raise


def idempotency_key() -> str | None:
    """The request's Idempotency-Key header: None when absent, 400 when it is no key."""
    key = request.headers.get(IDEMPOTENCY_HEADER)
    if key is None:
        return None
    if not 0 < len(key) <= KEY_MAX or not all(" " <= c <= "~" for c in key):
        raise ApiError(
            400,
            _("Send an Idempotency-Key of 1 to 255 printable ASCII characters."),
            field=IDEMPOTENCY_HEADER,
        )
    return key


def key_uuid(key: str) -> uuid.UUID:
    """A stable UUID for the user's resend key: the same key from the same user always gives
    it, any other user's never. Shaped as version 4, the form the uid columns take.

    Keyed with SECRET_KEY: an activity's uid is also its check-in token, which nobody may
    work out from a client's (perhaps guessable) key and a user id."""
    secret = current_app.config["SECRET_KEY"].encode()
    digest = hmac.new(secret, f"{api_user().id}\n{key}".encode(), hashlib.sha256).digest()
    return uuid.UUID(bytes=digest[:16], version=4)


def paginated(stmt, args: dict) -> dict:
    """One page of `stmt` in the list envelope."""
    page = db.paginate(stmt, page=args["page"], per_page=args["per_page"], error_out=False)
    return {
        "items": list(page.items),
        "page": args["page"],
        "per_page": args["per_page"],
        "total": page.total or 0,
    }
