"""The public check-in endpoint that scanners and the offline pages post to (no token), and
the HTTP statuses that answer the attendance rules' refusals, here and on the pages."""

from __future__ import annotations

from flask import current_app, jsonify, request
from flask_babel import gettext as _

from inclusive_day.api.base import ApiBlueprint
from inclusive_day.api.schemas import ID_MAX, CheckInIn, CheckInSchema
from inclusive_day.attendance.models import CheckIn
from inclusive_day.attendance.services import AttendanceError, Refusal, check_in
from inclusive_day.extensions import db, limiter
from inclusive_day.json_errors import ApiError, error_response
from inclusive_day.periods import local_moment

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
}


def refusal_status(error: AttendanceError) -> int:
    """The HTTP status that answers a refusal of the attendance rules."""
    return REFUSAL_STATUS[error.code]


checkins = ApiBlueprint(
    "checkins",
    __name__,
    description="Individual check-ins by QR code, for scanners (public, rate-limited).",
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


@checkins.errorhandler(AttendanceError)
def attendance_error(e: AttendanceError):
    """The check-in rules' refusals, in the API's error shape."""
    db.session.rollback()
    return error_response(refusal_status(e), e.message, field=e.field)


@checkins.route("", methods=["POST"])
@limiter.limit(lambda: current_app.config["CHECKIN_RATE_LIMIT"])
@checkins.doc(
    security=[],
    requestBody={
        "required": True,
        "content": {"application/json": {"schema": CheckInIn}},
    },
)
@checkins.alt_response(201, schema=CheckInSchema, description="A new check-in.", success=True)
@checkins.alt_response(
    200, schema=CheckInSchema, description="Already checked in: the earlier record."
)
@checkins.errors(400, 404, 409, 422, 429)
def create_checkin():
    """Check a person in: 201 with the new record, 200 with the existing one for a repeat.

    Each person counts once per activity, and a retried upload (same nonce) adds nothing.
    """
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        raise ApiError(400, _("Send a JSON object."))
    try:
        activity_id = int(data.get("activity_id"))
    except (TypeError, ValueError, OverflowError):
        activity_id = None
    if activity_id is not None and not 0 < activity_id <= ID_MAX:
        raise ApiError(404, _("There is no such activity."), field="activity_id")
    checkin, created = check_in(
        data.get("activity_id"), data.get("phone"), data.get("group"), data.get("nonce")
    )
    db.session.flush()
    answer = checkin_json(checkin)  # before the commit expires it
    db.session.commit()
    return jsonify(answer), 201 if created else 200
