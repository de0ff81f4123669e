"""Activities: read, plan and change them (organisers), record headcounts (staff)."""

from __future__ import annotations

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from inclusive_day.access.rule import Action, reach, visible
from inclusive_day.activities.models import Activity
from inclusive_day.activities.services import (
    UID_PATTERN,
    ActivityFields,
    ScheduleError,
    find_by_uid,
    local_day,
    save_activity,
)
from inclusive_day.api.base import (
    IDEMPOTENCY_PARAMETER,
    ApiBlueprint,
    api_user,
    filter_row,
    idempotency_key,
    key_uuid,
    one,
    paginated,
)
from inclusive_day.api.checkins import refusal_status
from inclusive_day.api.schemas import (
    ActivityArgs,
    ActivityIn,
    ActivityPatch,
    ActivitySchema,
    AttendanceSchema,
    HeadcountIn,
    page_of,
)
from inclusive_day.attendance.models import BeneficiaryGroup
from inclusive_day.attendance.queries import served_by_group, totals
from inclusive_day.attendance.services import AttendanceError, current_headcounts, set_headcounts
from inclusive_day.campaigns.models import Campaign, Theme
from inclusive_day.extensions import db
from inclusive_day.json_errors import ApiError
from inclusive_day.periods import DEFAULT_ZONE, days_utc_range
from inclusive_day.stations.models import Station
from inclusive_day.units.models import Unit

activities = ApiBlueprint(
    "activities", __name__, description="Activities, their planning and their attendance."
)

# The services' names for the inputs at fault, as the API calls them.
FIELDS = {
    "campaign": "campaign_id",
    "station": "station_id",
    "theme": "theme_id",
    "donations": "donation_ids",
    "groups": "groups",
}
LOADED = (selectinload(Activity.donations),)


@activities.route("")
@activities.arguments(ActivityArgs, location="query")
@activities.response(200, page_of(ActivitySchema, "ActivityPage"))
@activities.errors(401, 404)
def list_activities(args: dict):
    """List the activities you may see, soonest first; `from` and `to` are local days."""
    stmt = (
        select(Activity)
        .where(visible(api_user(), Action.VIEW, Activity))
        .options(*LOADED)
        .order_by(Activity.starts_at, Activity.id)
    )
    unit = filter_row(Action.VIEW, Unit, args.get("unit"), "unit")
    if unit is not None:
        stmt = stmt.where(
            Activity.station_id.in_(select(Station.id).where(Station.under(unit.path)))
        )
    if filter_row(Action.VIEW, Campaign, args.get("campaign"), "campaign") is not None:
        stmt = stmt.where(Activity.campaign_id == args["campaign"])
    if filter_row(Action.VIEW, Station, args.get("station"), "station") is not None:
        stmt = stmt.where(Activity.station_id == args["station"])
    start, end = args.get("start"), args.get("end")
    if start is not None or end is not None:
        first, last = days_utc_range(start or end, end or start)
        if start is not None:
            stmt = stmt.where(Activity.starts_at >= first)
        if end is not None:
            stmt = stmt.where(Activity.starts_at < last)
    if args.get("status"):
        stmt = stmt.where(Activity.status == args["status"])
    return paginated(stmt, args)


@activities.route("/<int:activity_id>")
@activities.response(200, ActivitySchema)
@activities.errors(401, 404)
def get_activity(activity_id: int):
    """One activity."""
    return one(Action.VIEW, Activity, activity_id, *LOADED)


def _refer(model, ident: int, field: str):
    """A row the body names, which the user may see; else 422 on that field."""
    row = db.session.scalar(
        select(model).where(model.id == ident, visible(api_user(), Action.VIEW, model))
    )
    if row is None:
        raise ApiError(422, _no_such(field), field=field)
    return row


def _no_such(field: str) -> str:
    """The same answer for a row that does not exist and one the user may not see."""
    return {
        "campaign_id": _("There is no such campaign, or you may not see it."),
        "station_id": _("There is no such station, or you may not see it."),
        "theme_id": _("There is no such theme."),
    }[field]


def _fields(data: dict, activity: Activity | None = None) -> ActivityFields:
    """The service's fields from the body, the activity's own values filling the gaps."""
    if activity is not None:
        local_start = activity.starts_at.astimezone(DEFAULT_ZONE)
        current = {
            "campaign_id": activity.campaign_id,
            "station_id": activity.station_id,
            "theme_id": activity.theme_id,
            "title": activity.title,
            "day": local_day(activity.starts_at),
            "starts_time": local_start.time().replace(tzinfo=None),
            "ends_time": activity.ends_at.astimezone(DEFAULT_ZONE).time().replace(tzinfo=None),
            "capacity": activity.capacity,
            "groups": [g for g in activity.target_groups.split(",") if g],
            "donation_ids": [d.id for d in activity.donations],
            "description": activity.description,
        }
    else:
        current = {"capacity": None, "groups": [], "donation_ids": [], "description": ""}
    values = {name: data.get(name, value) for name, value in current.items()}
    for name in ("campaign_id", "station_id", "theme_id", "title", "day"):
        values.setdefault(name, data.get(name))
    for name in ("starts_time", "ends_time"):
        values[name] = data.get(name, values.get(name))
    if not values["title"].strip():
        raise ApiError(422, _("Enter a title."), field="title")
    campaign = _refer(Campaign, values["campaign_id"], "campaign_id")
    station = _refer(Station, values["station_id"], "station_id")
    theme = db.session.get(Theme, values["theme_id"])
    if theme is None:
        raise ApiError(422, _no_such("theme_id"), field="theme_id")
    return ActivityFields(
        campaign=campaign,
        station=station,
        theme=theme,
        title=values["title"],
        starts_time=values["starts_time"],
        ends_time=values["ends_time"],
        capacity=values["capacity"],
        groups=tuple(values["groups"]),
        donation_ids=tuple(values["donation_ids"]),
        description=values["description"] or "",
        day=values["day"],
    )


def _schedule_error(error: ScheduleError) -> ApiError:
    db.session.rollback()
    status = 409 if error.field == "conflict" else 422
    return ApiError(status, error.message, field=FIELDS.get(error.field, error.field))


def _resend_uid(data: dict) -> str | None:
    """The uid the new activity takes: one made from the Idempotency-Key header, else the
    body's `uid` as it is when it has the activities' own form, else one made from it."""
    key = idempotency_key()
    uid = data.get("uid")
    if key is None and (not uid or UID_PATTERN.match(uid)):
        return uid
    return f"{key_uuid(key if key is not None else uid)}@inclusive-day"


@activities.route("", methods=["POST"])
@activities.doc(parameters=[IDEMPOTENCY_PARAMETER])
@activities.arguments(ActivityIn)
@activities.response(201, ActivitySchema)
@activities.alt_response(
    200,
    schema=ActivitySchema,
    description="The activity an earlier request with this Idempotency-Key or uid made.",
)
@activities.errors(400, 401, 403, 409)
def create_activity(data: dict):
    """Plan an activity at a station you organise, by the same rules as the planning form.

    A plan the rules refuse answers 422 naming the field (409 when the station is busy then,
    unless `keep_conflicts`); nothing is written. Sending the same `Idempotency-Key` header
    (or the same `uid`) again answers 200 with the activity the first request made.
    """
    user = api_user()
    plans = reach(user, Action.EDIT)
    if not (plans.everything or plans.unit_paths):  # only organisers plan activities
        raise ApiError(403)
    uid = _resend_uid(data)
    if uid and (done := find_by_uid(uid)) is not None:
        return one(Action.VIEW, Activity, done.id, *LOADED), 200
    try:
        activity, _conflicts = save_activity(
            user, _fields(data), keep_conflicts=data["keep_conflicts"], uid=uid
        )
        db.session.commit()
    except ScheduleError as error:
        raise _schedule_error(error) from None
    except IntegrityError:
        db.session.rollback()
        done = find_by_uid(uid) if uid else None
        if done is None:
            raise
        activity = done
    return one(Action.VIEW, Activity, activity.id, *LOADED)


@activities.route("/<int:activity_id>", methods=["PATCH"])
@activities.arguments(ActivityPatch)
@activities.response(200, ActivitySchema)
@activities.errors(401, 403, 404, 409)
def update_activity(data: dict, activity_id: int):
    """Change one activity you organise; fields left out keep their values."""
    activity = one(Action.EDIT, Activity, activity_id, *LOADED)
    try:
        save_activity(api_user(), _fields(data, activity), activity, data["keep_conflicts"])
        db.session.commit()
    except ScheduleError as error:
        raise _schedule_error(error) from None
    return one(Action.VIEW, Activity, activity_id, *LOADED)


def attendance(activity: Activity) -> dict:
    """The activity's attendance figures, counted by attendance.queries' rules."""
    scope = [Activity.id == activity.id]
    figures = totals(scope)
    return {
        "activity_id": activity.id,
        "served": figures.served,
        "headcount": figures.headcount,
        "checkins": figures.checkins,
        "people": figures.people,
        "by_group": {g.value: n for g, n in served_by_group(scope).items()},
        "headcounts": {g.value: n for g, n in current_headcounts(activity).items()},
    }


@activities.route("/<int:activity_id>/attendance")
@activities.response(200, AttendanceSchema)
@activities.errors(401, 404)
def get_attendance(activity_id: int):
    """The activity's served, unique people, headcounts and check-ins."""
    return attendance(one(Action.VIEW, Activity, activity_id))


@activities.route("/<int:activity_id>/headcounts", methods=["POST"])
@activities.arguments(HeadcountIn)
@activities.response(200, AttendanceSchema)
@activities.errors(401, 403, 404, 409)
def record_headcounts(data: dict, activity_id: int):
    """Set the headcount of some groups at an activity where you record attendance.

    Every change is kept in the history. With `expected` (the counts you last saw), a count
    someone changed meanwhile answers 409 and nothing is written.
    """
    activity = one(Action.RECORD, Activity, activity_id)
    counts = {BeneficiaryGroup(code): n for code, n in data["counts"].items()}
    expected = data.get("expected")
    if expected is not None:
        expected = {BeneficiaryGroup(code): n for code, n in expected.items()}
    try:
        set_headcounts(activity, counts, api_user(), expected)
        db.session.commit()
    except AttendanceError as error:
        db.session.rollback()
        raise ApiError(refusal_status(error), error.message, field=error.field) from None
    return attendance(one(Action.VIEW, Activity, activity_id))
