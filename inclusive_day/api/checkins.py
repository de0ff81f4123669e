"""The check-in endpoint that scanners post to, and the HTTP statuses that answer the
attendance rules' refusals, here and on the pages.

Anyone may check in, naming the activity by its check-in token (the last part of the link in
its QR code, /c/<token>), never by its id, which is a counter anyone could count through. A
scanner sending an API token (read and write) may name an activity it records attendance at by
id. Every check-in counts against two limits: the client address's check-ins a minute
(CHECKIN_RATE_LIMIT, shared with the QR pages, in the shared limit storage) and the activity's
capacity a minute (attendance.services); a refusal by either is recorded for the organisers.
"""

from __future__ import annotations

from flask import current_app, jsonify, request
from flask_babel import gettext as _

from inclusive_day.access.rule import Action
from inclusive_day.activities.models import Activity
from inclusive_day.api.base import ApiBlueprint, one, optional_token
from inclusive_day.api.schemas import ID_MAX, CheckInIn, CheckInSchema
from inclusive_day.attendance.identity import address_key
from inclusive_day.attendance.models import CheckIn, LimitKind
from inclusive_day.attendance.services import (
    AttendanceError,
    Refusal,
    activity_id_by_checkin_token,
    check_in,
    check_in_by_token,
    refuse_checkins,
)
from inclusive_day.database import utcnow
from inclusive_day.extensions import db, limiter
from inclusive_day.json_errors import ApiError, error_response
from inclusive_day.periods import local_moment
from inclusive_day.points.services import award_new

# The scope of the per-address check-in limit: one count over this endpoint and the pages.
CHECKIN_LIMIT_SCOPE = "checkins"

# The HTTP status of each refusal; its JSON code follows from the status (errors.CODES).
REFUSAL_STATUS = {
    Refusal.NO_ACTIVITY: 404,
    Refusal.STATION_NOT_OPEN: 404,
    Refusal.INVALID_NONCE: 400,
    Refusal.INVALID_TAPS: 400,
    Refusal.INVALID_PHONE: 422,
    Refusal.INVALID_GROUP: 422,
    Refusal.INVALID_COUNT: 422,
    Refusal.NO_REASON: 422,
    Refusal.CANCELLED: 409,
    Refusal.NOT_YET_OPEN: 409,
    Refusal.FINISHED: 409,
    Refusal.NOT_TAKING_CHECKINS: 409,
    Refusal.NONCE_REUSED: 409,
    Refusal.ALREADY_ANNULLED: 409,
    Refusal.CHANGED_MEANWHILE: 409,
    Refusal.NOTHING_TO_ANNUL: 409,
    Refusal.FULL: 429,
}


def refusal_status(error: AttendanceError) -> int:
    """The HTTP status that answers a refusal of the attendance rules."""
    return REFUSAL_STATUS[error.code]


checkins = ApiBlueprint(
    "checkins",
    __name__,
    description="Individual check-ins by QR code: by an activity's check-in token for anyone, "
    "by its id for a scanner's API token; limited per client address and per activity a minute.",
    public=True,
)


def checkin_json(checkin: CheckIn) -> dict:
    """A check-in as the API shows it: never the identity hash, never a phone number."""
    return {
        "id": checkin.id,
        "activity_id": checkin.activity_id,
        "group": checkin.group.value,
        "nonce": checkin.nonce,
        "source": checkin.source.value,
        "checked_in_at": local_moment(checkin.checked_in_at).isoformat(),
        "annulled": checkin.is_annulled,
    }


def checkin_rate_limit() -> str:
    """CHECKIN_RATE_LIMIT: check-ins per client address, over the API and the QR pages."""
    return current_app.config["CHECKIN_RATE_LIMIT"]


def client_address_hash() -> str:
    """The keyed hash of the client's address (behind TRUSTED_PROXIES, the forwarded one) that
    refused check-ins are recorded under."""
    return address_key(request.remote_addr or "")


def record_refusals(activity_ids, kind: LimitKind) -> None:
    """Record check-ins refused by a limit at `activity_ids`, in a transaction of their own
    (whatever the request had written is rolled back first)."""
    db.session.rollback()
    refuse_checkins(activity_ids, kind, client_address_hash(), utcnow())
    db.session.commit()


def _by_token(data: dict) -> bool:
    """Whether a check-in names its activity by check-in token (else by id, which needs an API
    token that may record attendance there: 401 without one)."""
    if data.get("token") is not None or optional_token() is None:
        if data.get("token") is None and data.get("activity_id") is not None:
            raise ApiError(
                401,
                _(
                    "Name the activity by its check-in token, from its QR code; ids need an "
                    "API token."
                ),
                field="token",
            )
        return True
    return False


def _named_activity(data: dict) -> int:
    """The id of the activity a check-in names: by its check-in token, or by `activity_id` when
    the request carries an API token that may record attendance there (else 401/403/404)."""
    if not _by_token(data):
        return _activity_by_id(data.get("activity_id"))
    activity_id = activity_id_by_checkin_token(data.get("token"))
    if activity_id is None:
        raise ApiError(404, _("This check-in code is not known."), field="token")
    return activity_id


def _activity_by_id(value) -> int:
    """The id of the activity a scanner names by `activity_id`, if its user records there."""
    try:
        activity_id = int(value)
    except (TypeError, ValueError, OverflowError):
        activity_id = 0
    if not 0 < activity_id <= ID_MAX:
        raise ApiError(404, _("There is no such activity."), field="activity_id")
    try:
        return one(Action.RECORD, Activity, activity_id).id
    except ApiError as error:
        raise ApiError(404, _("There is no such activity."), field="activity_id") from error


def _over_address_limit(_limit) -> None:
    """The client address is over CHECKIN_RATE_LIMIT: record the refusal at the activity the
    request names, when it names one it may."""
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        return
    try:
        activity_id = _named_activity(data)
    except ApiError:
        db.session.rollback()
        return
    record_refusals([activity_id], LimitKind.ADDRESS)


@checkins.errorhandler(AttendanceError)
def attendance_error(e: AttendanceError):
    """The check-in rules' refusals, in the API's error shape."""
    db.session.rollback()
    return error_response(refusal_status(e), e.message, field=e.field)


@checkins.route("", methods=["POST"])
@limiter.shared_limit(checkin_rate_limit, CHECKIN_LIMIT_SCOPE, on_breach=_over_address_limit)
@checkins.doc(
    security=[{}, {"bearer": []}],
    requestBody={
        "required": True,
        "content": {"application/json": {"schema": CheckInIn}},
    },
)
@checkins.alt_response(201, schema=CheckInSchema, description="A new check-in.", success=True)
@checkins.alt_response(
    200, schema=CheckInSchema, description="Already checked in: the earlier record."
)
@checkins.errors(400, 401, 403, 404, 409, 422, 429)
def create_checkin():
    """Check a person in: 201 with the new record, 200 with the existing one for a repeat.

    Name the activity by `token`, its check-in token (the last part of its QR link
    /c/<token>); with an API token (read and write) a scanner may send `activity_id` instead,
    for an activity it records attendance at. Each person counts once per activity, and a
    retried upload (same nonce) adds nothing. 429 when the client address has sent
    CHECKIN_RATE_LIMIT check-ins this minute, or when the activity has taken as many
    check-ins this minute as its station can serve; both are recorded for the organisers.
    """
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        raise ApiError(400, _("Send a JSON object."))
    by_token = _by_token(data)
    activity = data.get("token") if by_token else _activity_by_id(data.get("activity_id"))
    # By token, one statement finds the activity and stores the check-in.
    record = check_in_by_token if by_token else check_in
    try:
        checkin, created = record(
            activity, data.get("phone"), data.get("group"), data.get("nonce"), now=utcnow()
        )
    except AttendanceError as error:
        if error.code is Refusal.FULL:
            activity_id = activity_id_by_checkin_token(activity) if by_token else activity
            record_refusals([activity_id], LimitKind.CAPACITY)
        raise
    db.session.flush()
    award_new([(checkin, created)])  # activity points, in the same transaction
    answer = checkin_json(checkin)  # before the commit expires it
    db.session.commit()
    return jsonify(answer), 201 if created else 200
