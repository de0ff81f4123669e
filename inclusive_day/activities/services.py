"""Workflows on activities: the scheduling rules, conflicts, editing and cancelling.

Every rule an activity must keep is written once here and used by the single-activity form,
the series planner (`activities.series`) and the edits of a series:
the end after the start, the dates within the campaign, the station within the organiser's
subtree and the campaign's, a theme the station's unit may use, and no silent double booking.
"""

from __future__ import annotations

import bisect
import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time

from flask_babel import format_date
from flask_babel import lazy_gettext as _l
from sqlalchemy import ColumnElement, Select, select, update
from sqlalchemy.orm import joinedload

from inclusive_day.access.rule import Action, can, visible
from inclusive_day.activities.models import Activity, ActivityStatus, new_uid
from inclusive_day.activities.queries import not_cancelled
from inclusive_day.attendance.models import BeneficiaryGroup
from inclusive_day.audit.summaries import activities_cancelled
from inclusive_day.campaigns.models import Campaign, Theme
from inclusive_day.campaigns.services import theme_usable
from inclusive_day.database import utcnow
from inclusive_day.enums import LabelledEnum
from inclusive_day.extensions import db
from inclusive_day.periods import DEFAULT_ZONE
from inclusive_day.sponsors.models import Donation
from inclusive_day.stations.models import Station, StationStatus
from inclusive_day.units.models import Unit

UID_PATTERN = re.compile(
    r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}@inclusive-day$"
)


class ScheduleError(ValueError):
    """A plan that breaks a scheduling rule; `message` says why, `field` names the form field."""

    def __init__(self, message, field: str | None = None) -> None:
        super().__init__(str(message))
        self.message = message
        self.field = field


class Occurrences(LabelledEnum):
    """Which occurrences of a series an edit or a cancellation applies to."""

    THIS = "this"
    FOLLOWING = "following"
    ALL = "all"

    @classmethod
    def _labels(cls) -> dict:
        return {
            cls.THIS: _l("this activity only"),
            cls.FOLLOWING: _l("this and all following activities of the series"),
            cls.ALL: _l("every activity of the series that has not started"),
        }


# ---- times ----------------------------------------------------------------------------


def local_moment(day: date, at: time) -> datetime:
    """A local wall-clock time on `day`, as an aware datetime (stored in UTC by the column)."""
    return datetime.combine(day, at, tzinfo=DEFAULT_ZONE)


def local_day(moment: datetime) -> date:
    """The local calendar day of an aware datetime."""
    return moment.astimezone(DEFAULT_ZONE).date()


def check_times(starts: time, ends: time) -> None:
    """The end of an activity comes after its start, on the same day."""
    if ends <= starts:
        raise ScheduleError(_l("The end time must be after the start time."), "ends_time")


def check_within_campaign(campaign: Campaign, first: date, last: date) -> None:
    """Every date lies within the campaign's dates."""
    if first < campaign.starts_on or (campaign.ends_on is not None and last > campaign.ends_on):
        end = format_date(campaign.ends_on, "medium") if campaign.ends_on else _l("open")
        raise ScheduleError(
            _l(
                "The date %(day)s is outside the campaign, which runs from %(start)s to %(end)s.",
                day=format_date(first if first < campaign.starts_on else last, "medium"),
                start=format_date(campaign.starts_on, "medium"),
                end=end,
            ),
            "day",
        )


# ---- who may schedule where -------------------------------------------------------------


def schedulable_stations(user) -> Select:
    """Active stations where `user` may plan activities, as a SELECT of stations."""
    return select(Station).where(
        visible(user, Action.EDIT, Station), Station.status == StationStatus.ACTIVE
    )


def in_campaign(campaign: Campaign) -> ColumnElement[bool]:
    """Stations inside the campaign's owner's subtree."""
    return Station.under(campaign.unit.path)


def schedulable_campaigns(user, today: date) -> list[Campaign]:
    """Campaigns `user` can see that have not ended, newest first."""
    return list(
        db.session.scalars(
            select(Campaign)
            .where(
                visible(user, Action.VIEW, Campaign),
                (Campaign.ends_on.is_(None)) | (Campaign.ends_on >= today),
            )
            .options(joinedload(Campaign.unit))
            .order_by(Campaign.starts_on.desc(), Campaign.id.desc())
        )
    )


def check_station(user, campaign: Campaign, station: Station) -> None:
    """The station is active, inside the user's subtree, and inside the campaign's."""
    if station.status is not StationStatus.ACTIVE:
        raise ScheduleError(
            _l("%(station)s is %(status)s.", station=station.name, status=station.status.label),
            "station",
        )
    if not can(user, Action.EDIT, station):
        raise ScheduleError(
            _l("%(station)s is outside the units you organise.", station=station.name), "station"
        )
    if not station.unit.is_within(campaign.unit):
        raise ScheduleError(
            _l(
                "%(station)s is outside %(unit)s, whose campaign this is.",
                station=station.name,
                unit=campaign.unit.name,
            ),
            "station",
        )


def check_theme(theme: Theme, unit: Unit) -> None:
    """The theme is the shared catalogue's or added by the unit or a unit above it."""
    if not theme_usable(theme, unit):
        raise ScheduleError(
            _l("The theme %(theme)s belongs to another unit.", theme=theme.name), "theme"
        )


def check_donations(user, campaign: Campaign, donation_ids: Iterable[int]) -> list[Donation]:
    """The donations exist, the user may see them, and they were given to this campaign."""
    ids = sorted(set(donation_ids))
    if not ids:
        return []
    found = list(
        db.session.scalars(
            select(Donation).where(
                Donation.id.in_(ids),
                visible(user, Action.VIEW, Donation),
                Donation.campaign_id == campaign.id,
            )
        )
    )
    if len(found) != len(ids):
        raise ScheduleError(
            _l("Link only donations given to this campaign."),
            "donations",
        )
    return found


def campaign_donations(user, campaign_ids: Sequence[int]) -> list[Donation]:
    """Donations to these campaigns that `user` may see, to link to activities."""
    if not campaign_ids:
        return []
    return list(
        db.session.scalars(
            select(Donation)
            .where(Donation.campaign_id.in_(campaign_ids), visible(user, Action.VIEW, Donation))
            .options(joinedload(Donation.sponsor))
            .order_by(Donation.campaign_id, Donation.id)
        )
    )


# ---- beneficiary groups --------------------------------------------------------------------


def join_groups(values: Iterable[str]) -> str:
    """Group codes as stored, in the list's own order; unknown codes raise ScheduleError."""
    chosen = set(values)
    unknown = chosen - {g.value for g in BeneficiaryGroup}
    if unknown:
        raise ScheduleError(_l("Unknown beneficiary group."), "groups")
    return ",".join(g.value for g in BeneficiaryGroup if g.value in chosen)


def split_groups(stored: str) -> list[BeneficiaryGroup]:
    """The stored group codes as groups."""
    return [BeneficiaryGroup(v) for v in stored.split(",") if v]


# ---- conflicts ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Slot:
    """One planned occurrence: a station and a time."""

    station_id: int
    starts_at: datetime
    ends_at: datetime


@dataclass(frozen=True)
class Conflict:
    """A planned slot that overlaps an activity already on the station's calendar."""

    slot: Slot
    activity_id: int
    title: str
    starts_at: datetime
    ends_at: datetime


def find_conflicts(
    slots: Sequence[Slot],
    stations: ColumnElement[bool] | None = None,
    exclude: ColumnElement[bool] | None = None,
) -> list[Conflict]:
    """Slots whose station already has a planned activity overlapping them.

    One query reads the activities of the stations in the window the slots span (`stations`
    narrows it with a clause on Activity.station_id; by default the slots' own stations);
    overlaps are then found per station by bisection over the sorted starts.
    """
    if not slots:
        return []
    lo = min(s.starts_at for s in slots)
    hi = max(s.ends_at for s in slots)
    if stations is None:
        stations = Activity.station_id.in_(sorted({s.station_id for s in slots}))
    stmt = select(
        Activity.id, Activity.station_id, Activity.starts_at, Activity.ends_at, Activity.title
    ).where(stations, not_cancelled(), Activity.starts_at < hi, Activity.ends_at > lo)
    if exclude is not None:
        stmt = stmt.where(~exclude)
    busy: dict[int, list] = defaultdict(list)
    for row in db.session.execute(stmt.order_by(Activity.station_id, Activity.starts_at)):
        busy[row.station_id].append(row)
    index = {sid: _BusyIndex(rows) for sid, rows in busy.items()}
    conflicts = []
    for slot in slots:
        station_index = index.get(slot.station_id)
        if station_index is None:
            continue
        row = station_index.overlapping(slot.starts_at, slot.ends_at)
        if row is not None:
            conflicts.append(Conflict(slot, row.id, row.title, row.starts_at, row.ends_at))
    return conflicts


class _BusyIndex:
    """One station's existing activities, sorted by start, with the running latest end."""

    def __init__(self, rows: list) -> None:
        self.rows = rows
        self.starts = [r.starts_at for r in rows]
        self.latest_end = []
        latest = None
        for r in rows:
            latest = r.ends_at if latest is None or r.ends_at > latest else latest
            self.latest_end.append(latest)

    def overlapping(self, starts_at: datetime, ends_at: datetime):
        """An existing activity overlapping [starts_at, ends_at), or None."""
        j = bisect.bisect_left(self.starts, ends_at) - 1
        while j >= 0 and self.latest_end[j] > starts_at:
            if self.rows[j].ends_at > starts_at:
                return self.rows[j]
            j -= 1
        return None


# ---- one activity --------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class ActivityTemplate:
    """What an organiser fills in for an activity wherever and whenever it is: one activity,
    or every occurrence of a series."""

    campaign: Campaign
    theme: Theme
    title: str
    starts_time: time
    ends_time: time
    capacity: int | None = None
    groups: tuple[str, ...] = ()
    donation_ids: tuple[int, ...] = ()
    description: str = ""


@dataclass(frozen=True, kw_only=True)
class ActivityFields(ActivityTemplate):
    """One activity: the template, at a station on a day."""

    station: Station
    day: date


def check_activity(user, fields: ActivityFields) -> list[Donation]:
    """Raise ScheduleError unless `fields` keep every rule; return the linked donations."""
    check_times(fields.starts_time, fields.ends_time)
    check_within_campaign(fields.campaign, fields.day, fields.day)
    check_station(user, fields.campaign, fields.station)
    check_theme(fields.theme, fields.station.unit)
    join_groups(fields.groups)
    return check_donations(user, fields.campaign, fields.donation_ids)


def save_activity(
    user,
    fields: ActivityFields,
    activity: Activity | None = None,
    keep_conflicts: bool = False,
    uid: str | None = None,
) -> tuple[Activity, list[Conflict]]:
    """Create (`activity` None) or change one activity after checking every rule.

    Returns the activity and the conflicts it was saved over. Unless `keep_conflicts`, a
    conflict raises ScheduleError and nothing is written. A new activity takes `uid` (made by
    the form when it was opened) so that a second submit of the same form finds the first.
    """
    donations = check_activity(user, fields)
    slot = Slot(
        fields.station.id,
        local_moment(fields.day, fields.starts_time),
        local_moment(fields.day, fields.ends_time),
    )
    exclude = Activity.id == activity.id if activity is not None else None
    conflicts = find_conflicts([slot], exclude=exclude)
    if conflicts and not keep_conflicts:
        raise ScheduleError(_conflict_message(conflicts[0]), "conflict")
    if activity is None:
        activity = Activity(uid=uid if uid and UID_PATTERN.match(uid) else new_uid())
        db.session.add(activity)
    elif (slot.starts_at, slot.ends_at, fields.station.id) != (
        activity.starts_at,
        activity.ends_at,
        activity.station_id,
    ) or fields.title != activity.title:
        activity.sequence += 1
    activity.campaign = fields.campaign
    activity.station = fields.station
    activity.theme = fields.theme
    activity.title = fields.title.strip()
    activity.starts_at, activity.ends_at = slot.starts_at, slot.ends_at
    activity.capacity = fields.capacity
    activity.target_groups = join_groups(fields.groups)
    activity.description = fields.description.strip()
    activity.donations = donations
    db.session.flush()
    return activity, conflicts


def find_by_uid(uid: str) -> Activity | None:
    """The activity a form with this uid already created, if any."""
    return db.session.scalar(select(Activity).where(Activity.uid == uid))


def _conflict_message(conflict: Conflict):
    return _l(
        "The station already has “%(title)s” from %(start)s to %(end)s.",
        title=conflict.title,
        start=conflict.starts_at.astimezone(DEFAULT_ZONE).strftime("%Y-%m-%d %H:%M"),
        end=conflict.ends_at.astimezone(DEFAULT_ZONE).strftime("%H:%M"),
    )


def schedule_activity(
    campaign: Campaign,
    station: Station,
    theme: Theme,
    title: str,
    starts_at: datetime,
    ends_at: datetime,
    **fields,
) -> Activity:
    """Put one activity on a station's calendar as given (the demo and tests use this)."""
    if ends_at <= starts_at:
        raise ValueError("an activity must end after it starts")
    activity = Activity(
        campaign=campaign,
        station=station,
        theme=theme,
        title=title,
        starts_at=starts_at,
        ends_at=ends_at,
        **fields,
    )
    db.session.add(activity)
    db.session.flush()
    return activity


# ---- editing and cancelling occurrences of a series --------------------------------------------


def occurrences(user, activity: Activity, which: Occurrences) -> Select:
    """The activities an edit of `activity` with `which` applies to, as a SELECT.

    Beyond the activity itself, only occurrences that have not started and are not cancelled,
    at stations the user may change; occurrences already held stay as they were.
    """
    if which is Occurrences.THIS or activity.series_id is None:
        return select(Activity).where(Activity.id == activity.id)
    stmt = select(Activity).where(
        Activity.series_id == activity.series_id,
        Activity.status == ActivityStatus.SCHEDULED,
        Activity.starts_at > utcnow(),
        visible(user, Action.EDIT, Activity),
    )
    if which is Occurrences.FOLLOWING:
        stmt = stmt.where(Activity.starts_at >= activity.starts_at)
    return stmt


@dataclass
class SeriesChange:
    """What an edit of several occurrences may change: everything but station and date."""

    theme: Theme
    title: str
    starts_time: time
    ends_time: time
    capacity: int | None
    groups: tuple[str, ...]
    description: str


def change_occurrences(
    user, activity: Activity, which: Occurrences, change: SeriesChange, keep_conflicts: bool
) -> int:
    """Apply `change` to the chosen occurrences; return how many changed.

    Each keeps its own date and station and takes the new times. Conflicts with other
    activities raise ScheduleError unless `keep_conflicts`; nothing is written then.
    """
    check_times(change.starts_time, change.ends_time)
    groups = join_groups(change.groups)
    targets = list(
        db.session.scalars(
            occurrences(user, activity, which).options(
                joinedload(Activity.station).joinedload(Station.unit)
            )
        )
    )
    for target in targets:
        check_theme(change.theme, target.station.unit)
    slots = [
        Slot(
            t.station_id,
            local_moment(local_day(t.starts_at), change.starts_time),
            local_moment(local_day(t.starts_at), change.ends_time),
        )
        for t in targets
    ]
    ids = [t.id for t in targets]
    moved = [
        s
        for s, t in zip(slots, targets, strict=True)
        if s.starts_at != t.starts_at or s.ends_at != t.ends_at
    ]
    conflicts = find_conflicts(moved, exclude=Activity.id.in_(ids)) if moved else []
    if conflicts and not keep_conflicts:
        raise ScheduleError(
            _l(
                "%(n)s of these activities would overlap others at their stations; "
                "the first: %(first)s",
                n=len(conflicts),
                first=_conflict_message(conflicts[0]),
            ),
            "conflict",
        )
    for target, slot in zip(targets, slots, strict=True):
        target.theme = change.theme
        target.title = change.title.strip()
        target.starts_at, target.ends_at = slot.starts_at, slot.ends_at
        target.capacity = change.capacity
        target.target_groups = groups
        target.description = change.description.strip()
        target.sequence += 1
    if which is not Occurrences.THIS and activity.series is not None:
        series = activity.series
        series.theme, series.title = change.theme, change.title.strip()
        series.starts_time, series.ends_time = change.starts_time, change.ends_time
        series.capacity, series.target_groups = change.capacity, groups
        series.description = change.description.strip()
    db.session.flush()
    return len(targets)


def cancel_occurrences(user, activity: Activity, which: Occurrences, reason: str) -> int:
    """Call off the chosen occurrences with `reason`; return how many were cancelled."""
    reason = reason.strip()
    if not reason:
        raise ScheduleError(_l("Say why the activity is cancelled."), "reason")
    ids = select(occurrences(user, activity, which).subquery().c.id)
    result = db.session.execute(
        update(Activity)
        .where(Activity.id.in_(ids), Activity.status == ActivityStatus.SCHEDULED)
        .values(
            status=ActivityStatus.CANCELLED,
            cancel_reason=reason[:255],
            cancelled_at=utcnow(),
            sequence=Activity.sequence + 1,
            updated_at=utcnow(),
        ),
        execution_options={"synchronize_session": False},
    )
    activities_cancelled(activity, reason[:255], result.rowcount)
    db.session.expire_all()
    return result.rowcount
