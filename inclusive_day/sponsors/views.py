"""Sponsor pages: sign-up and review, donations with receipt and distribution, the sponsor's
own dashboard, exports, and the public honour roll."""

from __future__ import annotations

import io

from flask import (
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from flask_babel import gettext as _
from flask_limiter import RateLimitExceeded
from flask_login import current_user, login_required
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload

from inclusive_day.access.rule import Action, get_or_404, is_sponsor_only, reach, visible
from inclusive_day.activities.models import Activity
from inclusive_day.activities.queries import not_cancelled
from inclusive_day.campaigns.models import Campaign
from inclusive_day.extensions import db, limiter
from inclusive_day.periods import DEFAULT_ZONE, local_today
from inclusive_day.sponsors import bp
from inclusive_day.sponsors.exports import export_distributions, export_donations
from inclusive_day.sponsors.forms import (
    NONE,
    DistributionForm,
    DonationForm,
    ReceiveForm,
    ReviewForm,
    SignUpForm,
    SponsorForm,
)
from inclusive_day.sponsors.honour import GivingScope, giving, honour_roll
from inclusive_day.sponsors.models import (
    Donation,
    DonationKind,
    DonationStatus,
    Sponsor,
    SponsorKind,
    SponsorStatus,
)
from inclusive_day.sponsors.queries import donation_lines, sponsor_lines, sponsor_page
from inclusive_day.sponsors.receipts import ReceiptError, receipt_pdf
from inclusive_day.sponsors.services import (
    NAME_UNAVAILABLE,
    Account,
    DonationFields,
    SponsorError,
    SponsorFields,
    distribute,
    donation_campaigns,
    find_distribution,
    find_donation,
    may_manage,
    may_review,
    new_form_uid,
    pledge_donation,
    receive_donation,
    register_sponsor,
    review_sponsor,
)
from inclusive_day.spreadsheets import FORMATS
from inclusive_day.stations.models import Station
from inclusive_day.units.models import Level, Unit
from inclusive_day.units.queries import unit_choices, units_in_reach
from inclusive_day.web import client_key, send_export, show_error

# Units a sponsor may sign up with: the levels that take gifts (province, city, district).
SIGN_UP_LEVELS = (Level.PROVINCE, Level.CITY, Level.DISTRICT)
ACTIVITY_CHOICES_MAX = 300


# --- Organisers: the sponsors of their subtree -----------------------------------------------


@bp.get("/")
@login_required
def index():
    """The sponsors the user may see, sign-ups awaiting approval first."""
    if is_sponsor_only(current_user):
        return redirect(url_for("sponsors.mine"))
    may_add = (
        bool(reach(current_user, Action.EDIT).unit_paths)
        or reach(current_user, Action.EDIT).everything
    )
    return render_template(
        "sponsors/index.html",
        lines=sponsor_lines(current_user),
        may_add=may_add,
        formats=FORMATS,
    )


def _sponsor_fields(form: SponsorForm, unit: Unit) -> SponsorFields:
    return SponsorFields(
        unit=unit,
        name=form.name.data,
        kind=SponsorKind(form.kind.data),
        contact_name=form.contact_name.data or "",
        contact_phone=form.contact_phone.data or "",
        public_name=form.public_name.data or "",
        is_anonymous=form.is_anonymous.data,
        on_honour_roll=form.on_honour_roll.data,
    )


def _chosen_unit(form: SponsorForm, units: list[Unit]) -> Unit | None:
    chosen = next((u for u in units if u.id == form.unit.data), None)
    if chosen is None:
        form.unit.errors = [*form.unit.errors, _("Choose a union unit from the list.")]
    return chosen


@bp.route("/new", methods=["GET", "POST"])
@login_required
def new():
    """An organiser adds a sponsor they already know: approved at once, no account."""
    units = units_in_reach(current_user, Action.EDIT)
    if not units:
        abort(404)
    form = SponsorForm()
    form.unit.choices = unit_choices(units)
    if form.validate_on_submit() and (unit := _chosen_unit(form, units)) is not None:
        sponsor = register_sponsor(_sponsor_fields(form, unit))
        review_sponsor(sponsor, current_user, approve=True)
        db.session.commit()
        flash(_("%(name)s is registered.", name=sponsor.name), "success")
        return redirect(url_for("sponsors.show", sponsor_id=sponsor.id))
    return render_template("sponsors/form.html", form=form, sign_up=False)


@bp.get("/<int:sponsor_id>")
@login_required
def show(sponsor_id: int):
    """A sponsor: who it is, its sign-up's review, its gifts and their impact."""
    sponsor = get_or_404(current_user, Action.VIEW, Sponsor, sponsor_id, joinedload(Sponsor.unit))
    reviewing = sponsor.status is SponsorStatus.PENDING and may_review(current_user, sponsor)
    return render_template(
        "sponsors/show.html",
        page=sponsor_page(sponsor),
        sponsor=sponsor,
        review_form=ReviewForm() if reviewing else None,
        may_pledge=_may_pledge(sponsor),
    )


@bp.post("/<int:sponsor_id>/review")
@login_required
def review(sponsor_id: int):
    """Approve or reject a sign-up."""
    sponsor = get_or_404(current_user, Action.VIEW, Sponsor, sponsor_id)
    if not may_review(current_user, sponsor):
        abort(404)
    form = ReviewForm()
    if not form.validate_on_submit():
        flash(_("The note is too long."), "error")
        return redirect(url_for("sponsors.show", sponsor_id=sponsor.id))
    approve = bool(form.approve.data)
    try:
        review_sponsor(sponsor, current_user, approve, form.note.data or "")
        db.session.commit()
    except SponsorError as error:
        db.session.rollback()
        flash(str(error.message), "warning")
    else:
        if approve:
            flash(_("%(name)s is approved and may sign in.", name=sponsor.name), "success")
        else:
            flash(_("The sign-up of %(name)s was rejected.", name=sponsor.name), "info")
    return redirect(url_for("sponsors.show", sponsor_id=sponsor.id))


# --- Sign-up (public) -------------------------------------------------------------------------


def _sign_up_units() -> list[Unit]:
    return list(
        db.session.scalars(select(Unit).where(Unit.level.in_(SIGN_UP_LEVELS)).order_by(Unit.path))
    )


@bp.errorhandler(RateLimitExceeded)
def _too_many_sign_ups(_error):
    """Too many sign-ups from one address: the form again, saying why, and nothing written."""
    form = SignUpForm()
    form.unit.choices = unit_choices(_sign_up_units())
    show_error(form, _("Too many sign-ups from this address. Wait a while and try again."))
    return render_template("sponsors/form.html", form=form, sign_up=True), 429


@bp.route("/register", methods=["GET", "POST"])
@limiter.limit(
    lambda: current_app.config["SIGNUP_LIMIT_ADDRESS"],
    key_func=client_key("signup-address"),
    methods=["POST"],
)
def register():
    """A caring enterprise, charity, volunteer team or person signs up to give."""
    units = _sign_up_units()
    form = SignUpForm()
    form.unit.choices = unit_choices(units)
    if form.validate_on_submit() and (unit := _chosen_unit(form, units)) is not None:
        account = Account(
            username=form.username.data,
            password=form.password.data,
            display_name=form.display_name.data or "",
        )
        try:
            register_sponsor(_sponsor_fields(form, unit), account)
            db.session.commit()
        except SponsorError as error:
            db.session.rollback()
            show_error(form, error.message, error.field)
        except IntegrityError:
            # The same user name, taken at the same moment by another sign-up.
            db.session.rollback()
            show_error(form, NAME_UNAVAILABLE, "username")
        else:
            return redirect(url_for("sponsors.registered", unit=unit.name))
    return render_template("sponsors/form.html", form=form, sign_up=True)


@bp.get("/register/done")
def registered():
    """Thanks for signing up; an organiser will review it."""
    return render_template("sponsors/registered.html", unit=request.args.get("unit", ""))


# --- Donations --------------------------------------------------------------------------------


def _may_pledge(sponsor: Sponsor) -> bool:
    """The sponsor's representative or its organisers pledge for an approved sponsor."""
    if sponsor.status is not SponsorStatus.APPROVED:
        return False
    return sponsor.id in reach(current_user, Action.EDIT).sponsor_ids or may_review(
        current_user, sponsor
    )


@bp.route("/<int:sponsor_id>/donations/new", methods=["GET", "POST"])
@login_required
def pledge(sponsor_id: int):
    """Pledge a gift: cash, goods with their worth, or a service."""
    sponsor = get_or_404(current_user, Action.VIEW, Sponsor, sponsor_id, joinedload(Sponsor.unit))
    if not _may_pledge(sponsor):
        abort(404)
    form = DonationForm()
    campaigns = donation_campaigns(sponsor, current_user)
    form.campaign.choices = [(NONE, _("No particular campaign"))] + [
        (c.id, c.name) for c in campaigns
    ]
    if request.method == "GET":
        form.uid.data = new_form_uid()
        form.pledged_on.data = local_today()
        form.campaign.data = campaigns[0].id if campaigns else NONE
    if form.validate_on_submit():
        done = find_donation(form.uid.data)
        if done is not None:
            return redirect(url_for("sponsors.donation", donation_id=done.id))
        station = _station_by_code(form)
        if not form.errors:
            fields = DonationFields(
                kind=DonationKind(form.kind.data),
                description=form.description.data,
                quantity=form.quantity.data,
                unit_label=form.unit_label.data or "",
                unit_value=form.unit_value.data,
                value=form.value.data,
                campaign=next((c for c in campaigns if c.id == form.campaign.data), None),
                station=station,
                pledged_on=form.pledged_on.data,
                note=form.note.data or "",
            )
            try:
                donation = pledge_donation(sponsor, fields, current_user, form.uid.data)
                db.session.commit()
            except SponsorError as error:
                db.session.rollback()
                show_error(form, error.message, _form_field(error.field))
            except IntegrityError:
                db.session.rollback()
                done = find_donation(form.uid.data)
                if done is None:
                    raise
                return redirect(url_for("sponsors.donation", donation_id=done.id))
            else:
                flash(_("Thank you: the pledge is recorded."), "success")
                return redirect(url_for("sponsors.donation", donation_id=donation.id))
    return render_template("sponsors/pledge.html", form=form, sponsor=sponsor)


def _station_by_code(form) -> Station | None:
    """The station a form's code names; an unknown code is an error on that field."""
    code = (form.station_code.data or "").strip()
    if not code:
        return None
    station = db.session.scalar(select(Station).where(Station.code == code))
    if station is None:
        show_error(form, _("No station has this code."), "station_code")
    return station


def _form_field(field: str | None) -> str | None:
    """The form field for a service's field name: stations are entered by code."""
    return "station_code" if field == "station" else field


def _donation_or_404(donation_id: int) -> Donation:
    return get_or_404(
        current_user,
        Action.VIEW,
        Donation,
        donation_id,
        joinedload(Donation.sponsor).joinedload(Sponsor.unit),
        joinedload(Donation.campaign),
    )


def _distribution_form(donation: Donation, form: DistributionForm | None = None):
    """The hand-out form with the activities it may name: the campaign's, recent first."""
    form = form or DistributionForm()
    scope = [visible(current_user, Action.EDIT, Activity), not_cancelled()]
    if donation.campaign_id is not None:
        scope.append(Activity.campaign_id == donation.campaign_id)
    activities = db.session.execute(
        select(Activity.id, Activity.title, Activity.starts_at, Station.name)
        .join(Station, Station.id == Activity.station_id)
        .where(*scope)
        .order_by(Activity.starts_at.desc())
        .limit(ACTIVITY_CHOICES_MAX)
    ).all()
    form.activity.choices = [(NONE, _("(none: a station, below)"))] + [
        (a.id, f"{a.starts_at.astimezone(DEFAULT_ZONE).date()} · {a.name} · {a.title}")
        for a in activities
    ]
    if request.method == "GET" or not form.uid.data:
        form.uid.data = new_form_uid()
        form.distributed_on.data = min(local_today(), max(donation.received_on, local_today()))
    return form


@bp.get("/donations/<int:donation_id>")
@login_required
def donation(donation_id: int):
    """A donation: what, its status with dates and who, where it went, and what is left."""
    donation = _donation_or_404(donation_id)
    return _donation_page(donation)


def _donation_page(donation: Donation, receive_form=None, distribution_form=None, status=200):
    manage = may_manage(current_user, donation)
    if manage and donation.status is DonationStatus.PLEDGED and receive_form is None:
        receive_form = ReceiveForm(received_on=local_today())
    if manage and donation.status is not DonationStatus.PLEDGED and donation.balance > 0:
        distribution_form = _distribution_form(donation, distribution_form)
    return (
        render_template(
            "sponsors/donation.html",
            line=donation_lines([donation])[0],
            donation=donation,
            receive_form=receive_form if manage else None,
            distribution_form=distribution_form,
        ),
        status,
    )


@bp.post("/donations/<int:donation_id>/receive")
@login_required
def receive(donation_id: int):
    """Confirm a pledged gift arrived; its receipt is numbered."""
    donation = _donation_or_404(donation_id)
    if not may_manage(current_user, donation):
        abort(404)
    form = ReceiveForm()
    if form.validate_on_submit():
        try:
            receive_donation(donation, form.received_on.data, current_user)
            db.session.commit()
        except SponsorError as error:
            db.session.rollback()
            show_error(form, error.message, error.field)
        else:
            flash(
                _("Received. Receipt %(number)s is ready.", number=donation.receipt_number),
                "success",
            )
            return redirect(url_for("sponsors.donation", donation_id=donation.id))
    db.session.refresh(donation)
    return _donation_page(donation, receive_form=form, status=422)


@bp.post("/donations/<int:donation_id>/distribute")
@login_required
def hand_out(donation_id: int):
    """Record part of a received gift handed out at an activity or a station."""
    donation = _donation_or_404(donation_id)
    if not may_manage(current_user, donation) or donation.status is DonationStatus.PLEDGED:
        abort(404)
    form = _distribution_form(donation)
    if form.validate_on_submit():
        if find_distribution(form.uid.data) is not None:
            return redirect(url_for("sponsors.donation", donation_id=donation.id))
        activity = db.session.get(Activity, form.activity.data) if form.activity.data else None
        station = _station_by_code(form)
        if not form.errors:
            try:
                distribute(
                    current_user,
                    donation,
                    quantity=form.quantity.data,
                    on=form.distributed_on.data,
                    station=station,
                    activity=activity,
                    note=form.note.data or "",
                    uid=form.uid.data,
                )
                db.session.commit()
            except SponsorError as error:
                db.session.rollback()
                show_error(form, error.message, _form_field(error.field))
            except IntegrityError:
                db.session.rollback()
                if find_distribution(form.uid.data) is None:
                    raise
                return redirect(url_for("sponsors.donation", donation_id=donation.id))
            else:
                flash(_("The hand-out is recorded."), "success")
                return redirect(url_for("sponsors.donation", donation_id=donation.id))
    donation = _donation_or_404(donation_id)
    return _donation_page(donation, distribution_form=form, status=422)


@bp.get("/donations/<int:donation_id>/receipt.pdf")
@login_required
def receipt(donation_id: int):
    """The numbered, bilingual receipt and certificate of thanks for a received gift."""
    donation = _donation_or_404(donation_id)
    try:
        data = receipt_pdf(donation)
    except ReceiptError:
        abort(404)
    return send_file(
        io.BytesIO(data),
        mimetype="application/pdf",
        download_name=f"receipt-{donation.receipt_number}.pdf",
        max_age=0,
    )


# --- Exports ----------------------------------------------------------------------------------


def _campaign_filter() -> int | None:
    campaign_id = request.args.get("campaign", type=int)
    if campaign_id is not None:
        get_or_404(current_user, Action.VIEW, Campaign, campaign_id)
    return campaign_id


@bp.get("/donations.<fmt>")
@login_required
def export_donation_list(fmt: str):
    """The donations the user may see (and their hand-outs, in XLSX) as a spreadsheet."""
    if fmt not in FORMATS:
        abort(404)
    return send_export(export_donations(current_user, fmt, _campaign_filter()))


@bp.get("/distributions.<fmt>")
@login_required
def export_distribution_list(fmt: str):
    """The hand-outs of the donations the user may see, as a spreadsheet."""
    if fmt not in FORMATS:
        abort(404)
    return send_export(export_distributions(current_user, fmt, _campaign_filter()))


# --- The sponsor's own dashboard --------------------------------------------------------------


@bp.get("/mine")
@login_required
def mine():
    """A representative's sponsor: its gifts, where they went, and the people they served."""
    sponsor_ids = reach(current_user, Action.VIEW).sponsor_ids
    if not sponsor_ids:
        return redirect(url_for("sponsors.index"))
    sponsors = list(
        db.session.scalars(
            select(Sponsor)
            .where(Sponsor.id.in_(sponsor_ids))
            .options(joinedload(Sponsor.unit))
            .order_by(Sponsor.id)
        )
    )
    pages = [sponsor_page(s) for s in sponsors]
    return render_template(
        "sponsors/mine.html",
        pages=pages,
        may_pledge={s.id: _may_pledge(s) for s in sponsors},
    )


# --- The public honour roll -------------------------------------------------------------------


@bp.get("/honour")
def honour_index():
    """The public campaigns whose honour rolls can be read."""
    campaigns = list(
        db.session.scalars(
            select(Campaign)
            .where(Campaign.is_public)
            .options(joinedload(Campaign.unit))
            .order_by(Campaign.starts_on.desc(), Campaign.id.desc())
            .limit(50)
        )
    )
    return render_template("sponsors/honour_index.html", campaigns=campaigns)


def _roll_unit() -> Unit | None:
    unit_id = request.args.get("unit", type=int)
    if unit_id is None:
        return None
    return db.session.get(Unit, unit_id) or abort(404)


@bp.get("/honour/campaign/<int:campaign_id>")
def honour_campaign(campaign_id: int):
    """A public campaign's honour roll, for its whole area or one unit's subtree."""
    campaign = db.session.get(Campaign, campaign_id)
    if campaign is None or not campaign.is_public:
        abort(404)
    unit = _roll_unit()
    if unit is not None and not unit.path.startswith(campaign.unit.path):
        abort(404)
    scope = GivingScope(campaign_id=campaign.id, unit_path=unit.path if unit else None)
    return _honour_page(scope, campaign=campaign, unit=unit or campaign.unit, root=campaign.unit)


@bp.get("/honour/unit/<int:unit_id>")
def honour_unit(unit_id: int):
    """A unit's honour roll across its public campaigns."""
    unit = db.session.get(Unit, unit_id) or abort(404)
    scope = GivingScope(unit_path=unit.path, public_campaigns_only=True)
    return _honour_page(scope, campaign=None, unit=unit, root=unit)


def _honour_page(scope: GivingScope, *, campaign, unit: Unit, root: Unit):
    children = list(
        db.session.scalars(
            select(Unit).where(Unit.parent_id == unit.id).order_by(Unit.code, Unit.id)
        )
    )
    return render_template(
        "sponsors/honour.html",
        lines=honour_roll(scope),
        total=giving(scope),
        campaign=campaign,
        unit=unit,
        root=root,
        children=children,
        is_root=unit.id == root.id,
    )
