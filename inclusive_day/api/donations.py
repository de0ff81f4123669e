"""Donations: read the ones you may see; sponsors' representatives pledge their own."""

from __future__ import annotations

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from inclusive_day.access.rule import Action, reach, visible
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
from inclusive_day.api.schemas import DonationArgs, DonationIn, DonationSchema, page_of
from inclusive_day.campaigns.models import Campaign
from inclusive_day.extensions import db
from inclusive_day.json_errors import ApiError
from inclusive_day.periods import local_today
from inclusive_day.sponsors.models import Donation, Sponsor, SponsorStatus
from inclusive_day.sponsors.services import (
    DonationFields,
    SponsorError,
    find_donation,
    form_uid,
    may_review,
    pledge_donation,
)
from inclusive_day.stations.models import Station

donations = ApiBlueprint("donations", __name__, description="Sponsors' donations.")

FIELDS = {"campaign": "campaign_id", "station": "station_id"}


@donations.route("")
@donations.arguments(DonationArgs, location="query")
@donations.response(200, page_of(DonationSchema, "DonationPage"))
@donations.errors(401, 404)
def list_donations(args: dict):
    """List the donations you may see, newest first."""
    stmt = (
        select(Donation)
        .where(visible(api_user(), Action.VIEW, Donation))
        .order_by(Donation.pledged_on.desc(), Donation.id.desc())
    )
    if filter_row(Action.VIEW, Campaign, args.get("campaign"), "campaign") is not None:
        stmt = stmt.where(Donation.campaign_id == args["campaign"])
    if args.get("status"):
        stmt = stmt.where(Donation.status == args["status"])
    return paginated(stmt, args)


@donations.route("/<int:donation_id>")
@donations.response(200, DonationSchema)
@donations.errors(401, 404)
def get_donation(donation_id: int):
    """One donation."""
    return one(Action.VIEW, Donation, donation_id)


def _may_pledge(user, sponsor: Sponsor) -> bool:
    """The sponsor's representative, or its organisers, pledge for an approved sponsor (the
    rule of the pledge page)."""
    if sponsor.status is not SponsorStatus.APPROVED:
        return False
    return sponsor.id in reach(user, Action.EDIT).sponsor_ids or may_review(user, sponsor)


def _pledger_sponsor(user, sponsor_id: int) -> Sponsor:
    sponsor = db.session.scalar(
        select(Sponsor).where(Sponsor.id == sponsor_id, visible(user, Action.VIEW, Sponsor))
    )
    if sponsor is None or not _may_pledge(user, sponsor):
        raise ApiError(
            422, _("You may not pledge for this sponsor."), field="sponsor_id"
        )  # the same answer whether it exists or not
    return sponsor


def _optional(model, ident: int | None, field: str, message: str):
    """The campaign or station the pledge names; an unknown one gets the same answer as one
    the sponsor may not give to, so that ids do not tell what exists."""
    if ident is None:
        return None
    row = db.session.get(model, ident)
    if row is None:
        raise ApiError(422, message, field=field)
    return row


def _resend_uid(data: dict) -> str | None:
    """The uid the new donation takes: one made from the Idempotency-Key header, else the
    body's `uid` as it is when it has the donations' own form, else one made from it."""
    key = idempotency_key()
    uid = data.get("uid")
    if key is None and (not uid or form_uid(uid)):
        return uid
    return key_uuid(key if key is not None else uid).hex


@donations.route("", methods=["POST"], operation_id="createDonation")
@donations.doc(parameters=[IDEMPOTENCY_PARAMETER])
@donations.arguments(DonationIn)
@donations.response(201, DonationSchema)
@donations.alt_response(
    200,
    schema=DonationSchema,
    description="The donation an earlier request with this Idempotency-Key or uid made.",
)
@donations.errors(400, 401, 403)
def pledge(data: dict):
    """Pledge a gift for a sponsor you represent: cash, goods with their worth, or a service.

    The campaign must be open to the sponsor and the station inside it (422 naming the field
    otherwise); sending the same `Idempotency-Key` header (or the same `uid`) again answers 200
    with the donation the first request made.
    """
    user = api_user()
    if reach(user, Action.EDIT).is_empty:
        raise ApiError(403)
    sponsor = _pledger_sponsor(user, data["sponsor_id"])
    uid = _resend_uid(data)
    if (done := find_donation(uid)) is not None:
        return one(Action.VIEW, Donation, done.id), 200
    fields = DonationFields(
        kind=data["kind"],
        description=data["description"],
        quantity=data.get("quantity"),
        unit_label=data.get("unit_label", ""),
        unit_value=data.get("unit_value"),
        value=data.get("value"),
        campaign=_optional(
            Campaign,
            data.get("campaign_id"),
            "campaign_id",
            _("This campaign is not open to this sponsor."),
        ),
        station=_optional(
            Station, data.get("station_id"), "station_id", _("Choose an active station.")
        ),
        pledged_on=data.get("pledged_on") or local_today(),
        note=data.get("note", ""),
    )
    try:
        donation = pledge_donation(sponsor, fields, user, uid)
        db.session.commit()
    except SponsorError as error:
        db.session.rollback()
        raise ApiError(422, error.message, field=FIELDS.get(error.field, error.field)) from None
    except IntegrityError:
        db.session.rollback()
        donation = find_donation(uid)
        if donation is None:
            raise
        return one(Action.VIEW, Donation, donation.id), 200
    return one(Action.VIEW, Donation, donation.id)
