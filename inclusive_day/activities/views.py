"""Activity pages: one activity, planning one or a series, changing and cancelling them."""

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload

from inclusive_day.access.rule import Action, can, get_or_404, visible
from inclusive_day.activities import bp
from inclusive_day.activities.festivals import festival_choices
from inclusive_day.activities.forms import ActivityForm, CancelForm, SeriesForm, parse_dates
from inclusive_day.activities.models import (
    Activity,
    ActivityStatus,
    ConflictPolicy,
    Series,
    new_uid,
)
from inclusive_day.activities.recurrence import DateRule, Repeat, describe
from inclusive_day.activities.series import (
    SeriesTemplate,
    StationChoice,
    StationPick,
    create_series,
    describe_dates,
    plan_series,
)
from inclusive_day.activities.services import (
    ActivityFields,
    Occurrences,
    ScheduleError,
    SeriesChange,
    campaign_donations,
    cancel_occurrences,
    change_occurrences,
    find_by_uid,
    local_day,
    save_activity,
    schedulable_campaigns,
    schedulable_stations,
    split_groups,
)
from inclusive_day.attendance.models import Headcount
from inclusive_day.attendance.queries import served_by_group, totals
from inclusive_day.attendance.views import checkin_link
from inclusive_day.campaigns.models import Campaign, Theme
from inclusive_day.campaigns.services import usable_themes
from inclusive_day.extensions import db
from inclusive_day.periods import DEFAULT_ZONE, local_today
from inclusive_day.sponsors.queries import gifts_at
from inclusive_day.stations.models import Amenity, Station
from inclusive_day.stations.posters import PosterError, qr_image
from inclusive_day.units.models import Unit
from inclusive_day.units.queries import top_units, unit_choices, units_in_reach
from inclusive_day.web import show_error

PREVIEW_CONFLICTS_SHOWN = 200
SERIES_PAGE_SIZE = 100


@bp.get("/<int:activity_id>")
@login_required
def show(activity_id: int):
    """One activity: when and where, who it is for, and who was served, by group."""
    activity = get_or_404(
        current_user,
        Action.VIEW,
        Activity,
        activity_id,
        joinedload(Activity.station),
        joinedload(Activity.theme),
        joinedload(Activity.campaign),
        joinedload(Activity.series),
    )
    scope = [Activity.id == activity.id]
    headcounts = db.session.scalars(
        select(Headcount).where(Headcount.activity_id == activity.id).order_by(Headcount.group)
    ).all()
    checkin = None
    if can(current_user, Action.RECORD, activity) and not activity.is_cancelled:
        try:
            link = checkin_link(activity)
            checkin = {"link": link, "qr": qr_image(link)}
        except PosterError:  # no site address outside a request: cannot happen on a page
            checkin = None
    return render_template(
        "activities/show.html",
        checkin=checkin,
        activity=activity,
        groups_meant=split_groups(activity.target_groups),
        figures=totals(scope),
        groups=served_by_group(scope),
        headcounts=headcounts,
        gifts=gifts_at(activity.id),
        may_edit=can(current_user, Action.EDIT, activity),
    )


# ---- shared form plumbing ------------------------------------------------------------------


def _themes() -> list[Theme]:
    """Themes the user's units may use: the catalogue and their own and their parents'."""
    seen: dict[int, Theme] = {}
    for unit in top_units(current_user, Action.EDIT):
        for theme in usable_themes(unit):
            seen.setdefault(theme.id, theme)
    inside = select(Theme).where(
        Theme.unit_id.in_(select(Unit.id).where(visible(current_user, Action.EDIT, Unit)))
    )
    for theme in db.session.scalars(inside):
        seen.setdefault(theme.id, theme)
    return sorted(seen.values(), key=lambda t: (t.unit_id is not None, t.id))


def _fill_choices(form, campaign: Campaign | None = None) -> dict[int, Campaign]:
    """Campaign, theme and donation choices for the user; the campaigns by id."""
    campaigns = schedulable_campaigns(current_user, local_today())
    if campaign is not None and campaign not in campaigns:
        campaigns.append(campaign)
    form.campaign.choices = [(c.id, f"{c.name} · {c.unit.name}") for c in campaigns]
    form.theme.choices = [(t.id, t.name) for t in _themes()]
    form.donations.choices = [
        (d.id, f"{d.sponsor.public_name or d.sponsor.name} · {d.description}")
        for d in campaign_donations(current_user, [c.id for c in campaigns])
    ]
    return {c.id: c for c in campaigns}


def _show_error(form, error: ScheduleError) -> None:
    """Put a rule's message under its field, or above the form."""
    show_error(form, error.message, error.field)


def _no_plans_possible():
    flash(_("There is no campaign or active station where you may plan activities."), "warning")
    return redirect(url_for("campaigns.index"))


# ---- one activity ------------------------------------------------------------------------------


def _template(form, campaigns: dict) -> dict:
    """The fields one activity and a series template share, from either form."""
    return {
        "campaign": campaigns[form.campaign.data],
        "theme": db.session.get(Theme, form.theme.data),
        "title": form.title.data,
        "starts_time": form.starts_time.data,
        "ends_time": form.ends_time.data,
        "capacity": form.capacity.data,
        "groups": tuple(form.groups.data or ()),
        "donation_ids": tuple(form.donations.data or ()),
        "description": form.description.data or "",
    }


def _activity_fields(form: ActivityForm, campaigns: dict, stations: dict) -> ActivityFields:
    return ActivityFields(
        **_template(form, campaigns), station=stations[form.station.data], day=form.day.data
    )


def _station_choices(form: ActivityForm, activity: Activity | None) -> dict[int, Station]:
    stations = {
        s.id: s
        for s in db.session.scalars(
            schedulable_stations(current_user)
            .options(joinedload(Station.unit))
            .order_by(Station.code)
        )
    }
    if activity is not None:
        stations.setdefault(activity.station_id, activity.station)
    form.station.choices = [(s.id, f"{s.name} · {s.code}") for s in stations.values()]
    return stations


@bp.route("/new", methods=["GET", "POST"])
@login_required
def new():
    """Plan one activity at one station."""
    form = ActivityForm()
    campaigns = _fill_choices(form)
    stations = _station_choices(form, None)
    if not campaigns or not stations:
        return _no_plans_possible()
    if request.method == "GET":
        form.uid.data = new_uid()
        form.station.data = request.args.get("station", type=int)
        form.campaign.data = request.args.get("campaign", type=int)
        if request.args.get("day"):
            form.day.data = next(iter(parse_dates(request.args["day"])), None)
    if form.validate_on_submit():
        done = find_by_uid(form.uid.data)
        if done is not None:
            return redirect(url_for("activities.show", activity_id=done.id))
        try:
            activity, conflicts = save_activity(
                current_user,
                _activity_fields(form, campaigns, stations),
                keep_conflicts=form.keep_conflicts.data,
                uid=form.uid.data,
            )
            db.session.commit()
        except ScheduleError as error:
            db.session.rollback()
            _show_error(form, error)
        except IntegrityError:
            # The same form, submitted twice at once: the other request saved it.
            db.session.rollback()
            done = find_by_uid(form.uid.data)
            if done is None:
                raise
            return redirect(url_for("activities.show", activity_id=done.id))
        else:
            flash(_("%(title)s is on the calendar.", title=activity.title), "success")
            if conflicts:
                flash(_("The station has another activity at the same time."), "warning")
            return redirect(url_for("activities.show", activity_id=activity.id))
    return render_template("activities/form.html", form=form, activity=None)


@bp.route("/<int:activity_id>/edit", methods=["GET", "POST"])
@login_required
def edit(activity_id: int):
    """Change an activity, or it and others of its series."""
    activity = get_or_404(current_user, Action.EDIT, Activity, activity_id)
    form = ActivityForm(obj=activity if request.method == "GET" else None)
    campaigns = _fill_choices(form, activity.campaign)
    stations = _station_choices(form, activity)
    if request.method == "GET":
        local_start = activity.starts_at.astimezone(DEFAULT_ZONE)
        form.campaign.data, form.station.data = activity.campaign_id, activity.station_id
        form.theme.data = activity.theme_id
        form.day.data, form.starts_time.data = local_start.date(), local_start.time()
        form.ends_time.data = activity.ends_at.astimezone(DEFAULT_ZONE).time()
        form.groups.data = [g.value for g in split_groups(activity.target_groups)]
        form.donations.data = [d.id for d in activity.donations]
    if form.validate_on_submit():
        which = Occurrences(form.which.data) if activity.series_id else Occurrences.THIS
        fields = _activity_fields(form, campaigns, stations)
        try:
            if which is Occurrences.THIS:
                save_activity(current_user, fields, activity, form.keep_conflicts.data)
                count = 1
            else:
                _same_place(activity, fields)
                count = change_occurrences(
                    current_user,
                    activity,
                    which,
                    SeriesChange(
                        theme=fields.theme,
                        title=fields.title,
                        starts_time=fields.starts_time,
                        ends_time=fields.ends_time,
                        capacity=fields.capacity,
                        groups=fields.groups,
                        description=fields.description,
                    ),
                    form.keep_conflicts.data,
                )
            db.session.commit()
        except ScheduleError as error:
            db.session.rollback()
            _show_error(form, error)
        else:
            flash(_("%(n)s activities changed.", n=count), "success")
            return redirect(url_for("activities.show", activity_id=activity.id))
    return render_template("activities/form.html", form=form, activity=activity)


def _same_place(activity: Activity, fields: ActivityFields) -> None:
    """Station, date, campaign and donations change for one occurrence at a time."""
    if (
        fields.station.id != activity.station_id
        or fields.day != local_day(activity.starts_at)
        or fields.campaign.id != activity.campaign_id
        or set(fields.donation_ids) != {d.id for d in activity.donations}
    ):
        raise ScheduleError(
            _(
                "The station, date, campaign and donations can be changed for one activity "
                "at a time; choose “this activity only”."
            ),
            "which",
        )


@bp.route("/<int:activity_id>/cancel", methods=["GET", "POST"])
@login_required
def cancel(activity_id: int):
    """Call off an activity, or it and others of its series; the records stay."""
    activity = get_or_404(current_user, Action.EDIT, Activity, activity_id)
    form = CancelForm()
    if form.validate_on_submit():
        which = Occurrences(form.which.data) if activity.series_id else Occurrences.THIS
        try:
            count = cancel_occurrences(current_user, activity, which, form.reason.data)
            db.session.commit()
        except ScheduleError as error:
            db.session.rollback()
            _show_error(form, error)
        else:
            flash(_("%(n)s activities cancelled.", n=count), "success")
            return redirect(url_for("activities.show", activity_id=activity.id))
    return render_template("activities/cancel.html", form=form, activity=activity)


# ---- series -------------------------------------------------------------------------------------


def _series_parts(form: SeriesForm, campaigns: dict, units: dict):
    """The template, station choice and date rule a series form describes."""
    template = SeriesTemplate(**_template(form, campaigns))
    pick = StationPick(form.pick.data)
    choice = StationChoice(
        pick,
        unit=units.get(form.unit.data) if pick is not StationPick.LIST else None,
        amenities=tuple(Amenity(a) for a in form.amenities.data or ()),
        codes=tuple(parse_codes(form.codes.data)),
    )
    repeat = Repeat(form.repeat.data)
    rule = DateRule(
        first=form.first.data,
        repeat=repeat,
        until=form.until.data,
        count=form.count.data,
        interval=form.interval.data or 1,
        weekdays=tuple(form.weekdays.data or ()),
        nth=form.nth.data,
        nth_weekday=form.nth_weekday.data,
        dates=tuple(parse_dates(form.dates.data)),
        excluded=tuple(parse_dates(form.excluded.data)),
    )
    return template, choice, rule


def parse_codes(text: str | None) -> list[str]:
    """Station codes separated by new lines, commas or spaces."""
    return [c for c in (text or "").replace("，", ",").replace(",", " ").split() if c]


@bp.route("/series/new", methods=["GET", "POST"])
@login_required
def new_series():
    """Fan one activity out over stations and dates: preview first, then create."""
    form = SeriesForm()
    campaigns = _fill_choices(form)
    units = {u.id: u for u in units_in_reach(current_user, Action.EDIT)}
    if not campaigns or not units:
        return _no_plans_possible()
    form.unit.choices = unit_choices(units.values())
    if request.method == "GET":
        form.uid.data = new_uid()
        form.campaign.data = request.args.get("campaign", type=int)
        form.unit.data = request.args.get("unit", type=int)
        if request.args.get("dates"):
            form.dates.data = request.args["dates"]
    plan = None
    if form.validate_on_submit():
        template, choice, rule = _series_parts(form, campaigns, units)
        try:
            if form.create.data:
                series, created = create_series(
                    current_user,
                    template,
                    choice,
                    rule,
                    ConflictPolicy(form.conflicts.data),
                    uid=form.uid.data,
                )
                db.session.commit()
                flash(_("%(n)s activities created.", n=created), "success")
                return redirect(url_for("activities.show_series", series_id=series.id))
            plan = plan_series(current_user, template, choice, rule)
        except ScheduleError as error:
            db.session.rollback()
            _show_error(form, error)
    return render_template(
        "activities/series_form.html",
        form=form,
        plan=plan,
        conflicts_shown=PREVIEW_CONFLICTS_SHOWN,
        describe_dates=describe_dates,
        festivals=festival_choices(),
        this_year=local_today().year,
    )


@bp.get("/series/<int:series_id>")
@login_required
def show_series(series_id: int):
    """A series: its rule, its stations, and its occurrences."""
    series = db.session.get(Series, series_id)
    if series is None or not can(current_user, Action.VIEW, series.campaign):
        abort(404)
    mine = [Activity.series_id == series.id, visible(current_user, Action.VIEW, Activity)]
    counts = dict(
        db.session.execute(
            select(Activity.status, func.count(Activity.id)).where(*mine).group_by(Activity.status)
        ).all()
    )
    page = db.paginate(
        select(Activity)
        .where(*mine)
        .options(joinedload(Activity.station))
        .order_by(Activity.starts_at, Activity.id),
        per_page=SERIES_PAGE_SIZE,
        error_out=False,
    )
    unit = (
        db.session.get(Unit, series.stations.get("unit")) if series.stations.get("unit") else None
    )
    return render_template(
        "activities/series.html",
        series=series,
        rule_text=describe(series.rule, series.first_date),
        pick=StationPick(series.stations.get("by", "list")),
        unit=unit,
        amenities=[Amenity(a) for a in series.stations.get("amenities", [])],
        codes=series.stations.get("codes", []),
        scheduled=counts.get(ActivityStatus.SCHEDULED, 0),
        cancelled=counts.get(ActivityStatus.CANCELLED, 0),
        page=page,
    )
