"""API v1 routes. Every answer is JSON; errors are {"error": message, "field": name}."""

from flask import current_app, jsonify, request
from flask_babel import gettext as _
from werkzeug.exceptions import HTTPException

from inclusive_day.api import bp
from inclusive_day.attendance.models import CheckIn
from inclusive_day.attendance.services import AttendanceError, check_in
from inclusive_day.extensions import csrf, db, limiter

# Scanners post JSON without a browser session, so there is no CSRF token to check.
csrf.exempt(bp)


def checkin_json(checkin: CheckIn) -> dict:
    """A check-in as the API shows it: never the identity hash, never a phone number."""
    return {
        "id": checkin.id,
        "activity_id": checkin.activity_id,
        "group": checkin.group.value,
        "nonce": checkin.nonce,
        "source": checkin.source.value,
        "checked_in_at": checkin.checked_in_at.isoformat(),
        "annulled": checkin.is_annulled,
    }


def error(message, status: int, field: str | None = None):
    body = {"error": str(message)}
    if field:
        body["field"] = field
    return jsonify(body), status


@bp.errorhandler(AttendanceError)
def attendance_error(e: AttendanceError):
    db.session.rollback()
    return error(e.message, e.status, e.field)


@bp.errorhandler(HTTPException)
def http_error(e: HTTPException):
    return error(e.description, e.code or 500)


@bp.post("/checkins")
@limiter.limit(lambda: current_app.config["CHECKIN_RATE_LIMIT"])
def create_checkin():
    """Check a person in: 201 with the new record, 200 with the existing one for a repeat."""
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        return error(_("Send a JSON object."), 400)
    checkin, created = check_in(
        data.get("activity_id"), data.get("phone"), data.get("group"), data.get("nonce")
    )
    db.session.flush()
    answer = checkin_json(checkin)  # before the commit expires it
    db.session.commit()
    return jsonify(answer), 201 if created else 200
