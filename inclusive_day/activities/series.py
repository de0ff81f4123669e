"""Fan-out: one activity over many stations and dates, planned, previewed, then written at once.

`plan_series` checks every rule and finds every conflict without writing anything; the preview
shows its Plan. `create_series` plans again inside the writing transaction (the calendar may
have changed since the preview) and inserts the series and all its occurrences in bulk.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from babel.lists import format_list
from flask import current_app
from flask_babel import format_date, get_locale
from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, func, insert, literal, select
from sqlalchemy.exc import IntegrityError

from inclusive_day.access.rule import Action, can
from inclusive_day.activities.models import (
    Activity,
    ConflictPolicy,
    Series,
    activity_donations,
    new_uid,
)
from inclusive_day.activities.recurrence import DateRule, RuleError
from inclusive_day.activities.services import (
    UID_PATTERN,
    ActivityTemplate,
    Conflict,
    ScheduleError,
    Slot,
    check_donations,
    check_times,
    check_within_campaign,
    find_conflicts,
    in_campaign,
    join_groups,
    local_moment,
    schedulable_stations,
)
from inclusive_day.audit.summaries import series_created
from inclusive_day.campaigns.models import Campaign
from inclusive_day.enums import LabelledEnum
from inclusive_day.extensions import db
from inclusive_day.stations.models import Amenity, Station, StationAmenity
from inclusive_day.units.models import Unit


class StationPick(LabelledEnum):
    """How the stations of a series are chosen."""

    SUBTREE = "subtree"
    AMENITY = "amenity"
    LIST = "list"

    @classmethod
    def _labels(cls) -> dict:
        return {
            cls.SUBTREE: _l("every active station of a unit"),
            cls.AMENITY: _l("the stations of a unit that have the amenities ticked"),
            cls.LIST: _l("the stations whose codes are listed"),
        }


@dataclass(frozen=True)
class StationChoice:
    """Which stations a series covers, as the organiser chose them (kept on the series)."""

    by: StationPick
    unit: Unit | None = None
    amenities: tuple[Amenity, ...] = ()
    codes: tuple[str, ...] = ()

    def as_json(self) -> dict:
        return {
            "by": self.by.value,
            "unit": self.unit.id if self.unit else None,
            "amenities": [a.value for a in self.amenities],
            "codes": list(self.codes),
        }


# What every occurrence of a series shares.
SeriesTemplate = ActivityTemplate


@dataclass
class Plan:
    """A checked series: its stations, its dates, and the conflicts among its slots."""

    template: SeriesTemplate
    choice: StationChoice
    rule: DateRule
    stations: list[tuple[int, str, str]]  # id, code, name
    dates: list[date]
    conflicts: list[Conflict] = field(default_factory=list)

    @property
    def size(self) -> int:
        return len(self.stations) * len(self.dates)

    def slots(self) -> list[Slot]:
        """Every (station, date) of the plan, date by date."""
        t = self.template
        return [
            Slot(sid, local_moment(day, t.starts_time), local_moment(day, t.ends_time))
            for day in self.dates
            for sid, _code, _name in self.stations
        ]

    def to_create(self, policy: ConflictPolicy) -> list[Slot]:
        """The slots to write: all of them, or all but the conflicting ones."""
        if policy is ConflictPolicy.KEEP:
            return self.slots()
        busy = {c.slot for c in self.conflicts}
        return [s for s in self.slots() if s not in busy]

    def station_name(self, station_id: int) -> str:
        return next((name for sid, _c, name in self.stations if sid == station_id), "")


def _station_clause(user, campaign: Campaign, choice: StationChoice):
    """A WHERE clause for the stations chosen, checked against the user and the campaign."""
    if choice.by is StationPick.LIST:
        codes = sorted({c.strip().upper() for c in choice.codes if c.strip()})
        if not codes:
            raise ScheduleError(_l("List the codes of the stations."), "codes")
        return Station.code.in_(codes), codes
    if choice.unit is None:
        raise ScheduleError(_l("Choose a unit."), "unit")
    if not can(user, Action.EDIT, choice.unit):
        raise ScheduleError(
            _l("%(unit)s is outside the units you organise.", unit=choice.unit.name), "unit"
        )
    if not choice.unit.is_within(campaign.unit):
        raise ScheduleError(
            _l(
                "%(unit)s is outside %(owner)s, whose campaign this is.",
                unit=choice.unit.name,
                owner=campaign.unit.name,
            ),
            "unit",
        )
    clause = Station.under(choice.unit.path)
    if choice.by is StationPick.AMENITY:
        if not choice.amenities:
            raise ScheduleError(_l("Tick at least one amenity."), "amenities")
        having_all = (
            select(StationAmenity.station_id)
            .where(StationAmenity.amenity.in_(choice.amenities))
            .group_by(StationAmenity.station_id)
            .having(func.count() == len(set(choice.amenities)))
        )
        clause = and_(clause, Station.id.in_(having_all))
    return clause, None


def choose_stations(user, campaign: Campaign, choice: StationChoice) -> list[tuple[int, str, str]]:
    """The (id, code, name) of the stations chosen, each one the user may plan at."""
    clause, codes = _station_clause(user, campaign, choice)
    allowed = schedulable_stations(user).where(in_campaign(campaign)).subquery()
    rows = db.session.execute(
        select(Station.id, Station.code, Station.name, allowed.c.id.is_not(None))
        .outerjoin(allowed, allowed.c.id == Station.id)
        .where(clause)
        .order_by(Station.code)
    ).all()
    if codes is not None:
        found = {code for _id, code, _name, _ok in rows}
        unknown = [c for c in codes if c not in found]
        if unknown:
            raise ScheduleError(
                _l("No station has the code %(codes)s.", codes=", ".join(unknown[:10])), "codes"
            )
        refused = [name for _id, _code, name, ok in rows if not ok]
        if refused:
            raise ScheduleError(
                _l(
                    "Outside the campaign or the units you organise, or not active: %(names)s.",
                    names=format_list(refused[:10], locale=get_locale() or "zh"),
                ),
                "codes",
            )
    stations = [(sid, code, name) for sid, code, name, ok in rows if ok]
    if not stations:
        raise ScheduleError(_l("No active station matches this choice."), "unit")
    return stations


def plan_series(user, template: SeriesTemplate, choice: StationChoice, rule: DateRule) -> Plan:
    """Check a series and find its conflicts; write nothing. Raises ScheduleError."""
    if not template.title.strip():
        raise ScheduleError(_l("Give the activity a title."), "title")
    check_times(template.starts_time, template.ends_time)
    join_groups(template.groups)
    check_donations(user, template.campaign, template.donation_ids)
    if template.theme.unit_id is not None and not (
        choice.unit is not None and template.theme.unit_id in choice.unit.ancestor_ids
    ):
        raise ScheduleError(
            _l("The theme %(theme)s belongs to another unit.", theme=template.theme.name), "theme"
        )
    limit = current_app.config["SERIES_MAX_ACTIVITIES"]
    try:
        dates = rule.occurrences(limit)
    except RuleError as error:
        raise ScheduleError(error.message, "repeat") from None
    if not dates:
        raise ScheduleError(_l("These choices leave no dates."), "repeat")
    check_within_campaign(template.campaign, dates[0], dates[-1])
    stations = choose_stations(user, template.campaign, choice)
    if len(dates) * len(stations) > limit:
        raise ScheduleError(
            _l(
                "This series would create more than %(limit)s activities "
                "(%(stations)s stations × %(dates)s dates); split it up.",
                limit=limit,
                stations=len(stations),
                dates=f"{len(dates)}+" if len(dates) > limit else len(dates),
            ),
            "repeat",
        )
    plan = Plan(template, choice, rule, stations, dates)
    clause, _codes = _station_clause(user, template.campaign, choice)
    plan.conflicts = find_conflicts(
        plan.slots(), stations=Activity.station_id.in_(select(Station.id).where(clause))
    )
    return plan


def create_series(
    user,
    template: SeriesTemplate,
    choice: StationChoice,
    rule: DateRule,
    policy: ConflictPolicy,
    uid: str | None = None,
) -> tuple[Series, int]:
    """Plan the series again and write it with its occurrences; return it and how many.

    A `uid` the same form already used returns that series and writes nothing, so a double
    submit creates one series. The caller commits.
    """
    if uid and UID_PATTERN.match(uid):
        existing = db.session.scalar(select(Series).where(Series.uid == uid))
        if existing is not None:
            return existing, 0
    plan = plan_series(user, template, choice, rule)
    slots = plan.to_create(policy)
    if not slots:
        raise ScheduleError(_l("Every slot of this series is busy; nothing to create."), "conflict")
    series = Series(
        uid=uid if uid and UID_PATTERN.match(uid) else new_uid(),
        campaign_id=template.campaign.id,
        theme_id=template.theme.id,
        title=template.title.strip(),
        description=template.description.strip(),
        capacity=template.capacity,
        target_groups=join_groups(template.groups),
        starts_time=template.starts_time,
        ends_time=template.ends_time,
        first_date=plan.dates[0],
        rule=rule.rrule(),
        dates=[d.isoformat() for d in rule.dates],
        excluded=[d.isoformat() for d in rule.excluded],
        stations=choice.as_json(),
        conflicts=policy,
        created_by_id=getattr(user, "id", None),
    )
    db.session.add(series)
    try:
        db.session.flush()
    except IntegrityError:
        # The same form, submitted twice at once: the other request wrote it.
        db.session.rollback()
        return db.session.scalar(select(Series).where(Series.uid == uid)), 0
    common = {
        "series_id": series.id,
        "campaign_id": series.campaign_id,
        "theme_id": series.theme_id,
        "title": series.title,
        "description": series.description,
        "capacity": series.capacity,
        "target_groups": series.target_groups,
    }
    db.session.execute(
        insert(Activity),
        [
            {
                **common,
                "uid": new_uid(),
                "station_id": s.station_id,
                "starts_at": s.starts_at,
                "ends_at": s.ends_at,
            }
            for s in slots
        ],
    )
    for donation_id in sorted(set(template.donation_ids)):
        db.session.execute(
            insert(activity_donations).from_select(
                ["activity_id", "donation_id"],
                select(Activity.id, literal(donation_id)).where(Activity.series_id == series.id),
            )
        )
    series_created(series, [s.station_id for s in slots])
    return series, len(slots)


def describe_dates(plan: Plan, shown: int = 12) -> str:
    """The first dates of a plan, in words, for the preview."""
    days = [format_date(d, "medium") for d in plan.dates[:shown]]
    more = len(plan.dates) - shown
    text = format_list(days, locale=get_locale() or "zh")
    if more > 0:
        text += " " + str(_l("and %(n)s more", n=more))
    return text
