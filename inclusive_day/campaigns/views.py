"""Campaign pages: list, page, create and edit, targets handed down, the theme catalogue."""

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from inclusive_day.access.rule import Action, can, get_or_404, reach, visible
from inclusive_day.activities.models import Activity
from inclusive_day.activities.queries import (
    count_activities_by,
    held_and_planned,
    held_and_planned_by,
    upcoming,
)
from inclusive_day.attendance.queries import served_by_group, totals, totals_by
from inclusive_day.campaigns import bp
from inclusive_day.campaigns.forms import SHARED, CampaignForm, ThemeForm, targets_form
from inclusive_day.campaigns.models import Campaign, Theme
from inclusive_day.campaigns.services import (
    CampaignError,
    create_campaign,
    save_theme,
    theme_clause,
    update_campaign,
)
from inclusive_day.campaigns.targets import (
    campaign_progress,
    focus_units,
    hand_down,
    may_set_target,
    progress,
    set_targets,
)
from inclusive_day.database import utcnow
from inclusive_day.extensions import db
from inclusive_day.periods import local_today
from inclusive_day.units.models import Unit
from inclusive_day.units.queries import unit_choices, units_in_reach


def _may_add() -> bool:
    """True when the user may edit some unit, and so may start a campaign or add a theme."""
    r = reach(current_user, Action.EDIT)
    return r.everything or bool(r.unit_paths)


@bp.get("/")
@login_required
def index():
    """The campaigns the user may see, newest first, with their figures and progress."""
    campaigns = list(
        db.session.scalars(
            select(Campaign)
            .where(visible(current_user, Action.VIEW, Campaign))
            .options(joinedload(Campaign.unit))
            .order_by(Campaign.starts_on.desc(), Campaign.id.desc())
        )
    )
    scope = [
        visible(current_user, Action.VIEW, Activity),
        Activity.campaign_id.in_([c.id for c in campaigns]),
    ]
    return render_template(
        "campaigns/index.html",
        campaigns=campaigns,
        counts=held_and_planned_by(Activity.campaign_id, scope, utcnow()),
        figures=totals_by(Activity.campaign_id, scope),
        progress=campaign_progress(current_user, campaigns, utcnow()),
        may_add=_may_add(),
    )


@bp.get("/<int:campaign_id>")
@login_required
def show(campaign_id: int):
    """A campaign's headline figures, progress against targets, what is coming up, and its
    breakdown by theme and by beneficiary group."""
    campaign = get_or_404(
        current_user, Action.VIEW, Campaign, campaign_id, joinedload(Campaign.unit)
    )
    now = utcnow()
    scope = [visible(current_user, Action.VIEW, Activity), Activity.campaign_id == campaign.id]
    by_theme_counts = count_activities_by(Activity.theme_id, scope)
    by_theme_totals = totals_by(Activity.theme_id, scope)
    themes = db.session.scalars(
        select(Theme).where(Theme.id.in_(list(by_theme_counts))).order_by(Theme.id)
    ).all()
    theme_rows = sorted(
        (
            (theme, by_theme_counts.get(theme.id, 0), by_theme_totals.get(theme.id))
            for theme in themes
        ),
        key=lambda row: -row[1],
    )
    units = focus_units(current_user, campaign)
    figures = progress(campaign, units, now)
    return render_template(
        "campaigns/show.html",
        campaign=campaign,
        activities=held_and_planned(scope, now),
        figures=totals(scope),
        theme_rows=theme_rows,
        groups=served_by_group(scope),
        coming=upcoming(scope, now, limit=10),
        focus=[(unit, figures[unit.id]) for unit in units],
        may_edit=can(current_user, Action.EDIT, campaign),
        may_plan=not reach(current_user, Action.EDIT).is_empty
        and (campaign.ends_on is None or campaign.ends_on >= local_today()),
        calendar_month=(
            campaign.starts_on if campaign.ends_on and campaign.ends_on < local_today() else None
        ),
    )


def _editable_units() -> list[Unit]:
    return units_in_reach(current_user, Action.EDIT)


def _campaign_form(campaign: Campaign | None):
    """Create or edit: the same form and rules; errors write nothing."""
    units = _editable_units()
    if not units:
        abort(404)
    form = CampaignForm(obj=campaign)
    form.unit.choices = unit_choices(units)
    if request.method == "GET" and campaign is not None:
        form.unit.data = campaign.unit_id
        form.audience.data = "public" if campaign.is_public else "internal"
    elif request.method == "GET" and "unit" in request.args:
        form.unit.data = request.args.get("unit", type=int)
    if form.validate_on_submit():
        unit = next(u for u in units if u.id == form.unit.data)
        fields = {
            "description": (form.description.data or "").strip(),
            "is_public": form.audience.data == "public",
        }
        name, starts_on, ends_on = form.name.data.strip(), form.starts_on.data, form.ends_on.data
        try:
            if campaign is None:
                campaign = create_campaign(unit, name, starts_on, ends_on, **fields)
            else:
                update_campaign(campaign, unit, name, starts_on, ends_on, **fields)
        except CampaignError as error:
            db.session.rollback()
            form[error.field].errors.append(str(error.message))
        else:
            db.session.commit()
            flash(_("Campaign %(name)s saved.", name=campaign.name), "success")
            return redirect(url_for("campaigns.show", campaign_id=campaign.id))
    return render_template("campaigns/form.html", form=form, campaign=campaign)


@bp.route("/new", methods=["GET", "POST"])
@login_required
def new():
    """Start a campaign owned by a unit the user may edit."""
    return _campaign_form(None)


@bp.route("/<int:campaign_id>/edit", methods=["GET", "POST"])
@login_required
def edit(campaign_id: int):
    """Change a campaign's owner, name, dates, description or audience."""
    return _campaign_form(get_or_404(current_user, Action.EDIT, Campaign, campaign_id))


def _targets_unit(campaign: Campaign) -> Unit:
    """The unit a targets page is about: ?unit=, else the unit the user follows the campaign
    from. Units outside the campaign's subtree, or out of the user's sight, answer 404."""
    if "unit" in request.args:
        unit = get_or_404(current_user, Action.VIEW, Unit, request.args.get("unit", type=int))
        if not unit.is_within(campaign.unit):
            abort(404)
        return unit
    units = focus_units(current_user, campaign)
    if not units:
        abort(404)
    return units[0]


@bp.route("/<int:campaign_id>/targets", methods=["GET", "POST"])
@login_required
def targets(campaign_id: int):
    """A unit's target and progress, and the targets it hands down to each of its sub-units."""
    campaign = get_or_404(
        current_user, Action.VIEW, Campaign, campaign_id, joinedload(Campaign.unit)
    )
    unit = _targets_unit(campaign)
    children = list(
        db.session.scalars(
            select(Unit)
            .where(Unit.parent_id == unit.id)
            .order_by(Unit.code.is_(None), Unit.code, Unit.name)
        )
    )
    figures = progress(campaign, [unit, *children], utcnow())
    editable = []
    if may_set_target(current_user, campaign, unit):
        editable.append(unit.id)
    if children and can(current_user, Action.EDIT, unit):
        editable.extend(c.id for c in children)
    form = targets_form({i: figures[i].target for i in editable}) if editable else None
    if request.method == "POST":
        if form is None:
            abort(404)
        if form.validate_on_submit():
            changed = set_targets(
                campaign, {i: form.values(i) for i in editable}, user=current_user
            )
            db.session.commit()
            flash(_("Targets saved (%(n)d changed).", n=changed), "success")
            return redirect(url_for("campaigns.targets", campaign_id=campaign.id, unit=unit.id))
        flash(_("Some targets are not whole numbers of 0 or more: nothing was saved."), "error")
    ancestors = db.session.scalars(
        select(Unit)
        .where(
            Unit.id.in_(unit.ancestor_ids[:-1]),
            Unit.path.startswith(campaign.unit.path),
            visible(current_user, Action.VIEW, Unit),
        )
        .order_by(Unit.path)
    ).all()
    own = figures[unit.id]
    return render_template(
        "campaigns/targets.html",
        campaign=campaign,
        unit=unit,
        own=own,
        children=[(child, figures[child.id]) for child in children],
        handed=hand_down(own.target, [figures[c.id].target for c in children]),
        ancestors=ancestors,
        form=form,
        editable=set(editable),
    )


# --- The theme catalogue ---------------------------------------------------------------------


@bp.get("/themes")
@login_required
def themes():
    """The shared theme catalogue and the themes added by units in or above the user's reach."""
    rows = db.session.execute(
        select(Theme, Unit)
        .outerjoin(Unit, Unit.id == Theme.unit_id)
        .where(theme_clause(current_user))
        .order_by(Theme.unit_id.is_not(None), Unit.path, Theme.id)
    ).all()
    unit_ids = {theme.unit_id for theme, _unit in rows if theme.unit_id is not None}
    editable = set(
        db.session.scalars(
            select(Unit.id).where(Unit.id.in_(unit_ids), visible(current_user, Action.EDIT, Unit))
        )
    )
    is_admin = reach(current_user, Action.EDIT).everything
    return render_template(
        "campaigns/themes.html",
        rows=rows,
        uses=count_activities_by(Activity.theme_id, [visible(current_user, Action.VIEW, Activity)]),
        editable=editable,
        is_admin=is_admin,
        may_add=_may_add(),
    )


def _theme_or_404(theme_id: int) -> Theme:
    """A theme the user may change: a unit's, for those who may edit the unit; a shared one,
    for administrators."""
    theme = db.session.get(Theme, theme_id)
    if theme is None:
        abort(404)
    if theme.unit_id is None:
        allowed = reach(current_user, Action.EDIT).everything
    else:
        allowed = can(current_user, Action.EDIT, db.session.get(Unit, theme.unit_id))
    if not allowed:
        abort(404)
    return theme


def _theme_form(theme: Theme | None):
    """Add or change a theme; its code is made once and never changes."""
    is_admin = reach(current_user, Action.EDIT).everything
    units = _editable_units()
    if not units and not is_admin:
        abort(404)
    form = ThemeForm(obj=theme)
    form.unit.choices = ([(SHARED, _("Shared catalogue"))] if is_admin else []) + unit_choices(
        units
    )
    if request.method == "GET" and theme is not None:
        form.unit.data = theme.unit_id or SHARED
    elif request.method == "GET" and "unit" in request.args:
        form.unit.data = request.args.get("unit", type=int)
    if form.validate_on_submit():
        unit = next((u for u in units if u.id == form.unit.data), None)
        try:
            theme = save_theme(theme, unit, form.name_zh.data, form.name_en.data, form.colour.data)
        except CampaignError as error:
            db.session.rollback()
            form[error.field].errors.append(str(error.message))
        else:
            db.session.commit()
            flash(_("Theme %(name)s saved.", name=theme.name), "success")
            return redirect(url_for("campaigns.themes"))
    return render_template("campaigns/theme_form.html", form=form, theme=theme)


@bp.route("/themes/new", methods=["GET", "POST"])
@login_required
def new_theme():
    """Add a theme for a unit the user may edit (to the shared catalogue: administrators)."""
    return _theme_form(None)


@bp.route("/themes/<int:theme_id>/edit", methods=["GET", "POST"])
@login_required
def edit_theme(theme_id: int):
    """Rename or recolour a theme, or move it to another unit."""
    return _theme_form(_theme_or_404(theme_id))
