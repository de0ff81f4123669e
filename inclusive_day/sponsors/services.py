"""Sponsor workflows: sign-up and review, pledges, receipt with a numbered receipt, and
distribution to activities and stations.

Every rule about what a donation may be (its value, its campaign, how much of it may still
be handed out) lives here; the forms, the sponsor's dashboard and the organisers' pages all
call these functions, which flush and leave the commit to the view.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from flask_babel import lazy_gettext as _l
from sqlalchemy import case, func, or_, select, update

from inclusive_day.access.grants import forget_grants
from inclusive_day.access.rule import Action, can, visible
from inclusive_day.activities.models import Activity
from inclusive_day.audit.summaries import (
    donation_distributed,
    donation_received,
    sponsor_reviewed,
)
from inclusive_day.auth.models import Role, User
from inclusive_day.auth.names import is_reserved_username, is_valid_username, normalise_username
from inclusive_day.auth.services import create_user, grant, user_by_name
from inclusive_day.campaigns.models import Campaign
from inclusive_day.database import INSERT_OR_NOTHING, ZERO_YUAN, utcnow
from inclusive_day.extensions import db
from inclusive_day.periods import local_today
from inclusive_day.sponsors.models import (
    Distribution,
    Donation,
    DonationKind,
    DonationStatus,
    ReceiptCounter,
    Sponsor,
    SponsorKind,
    SponsorStatus,
)
from inclusive_day.stations.models import Station, StationStatus
from inclusive_day.units.models import Unit, under

# The largest quantity or amount a form takes (the columns are Numeric(12, 2)).
AMOUNT_MAX = Decimal("9999999999.99")
CENT = Decimal("0.01")
UID_PATTERN = re.compile(r"^[0-9a-f]{32}$")
# A sign-up's answer for a name it may not have, whether taken or kept for the staff.
NAME_UNAVAILABLE = _l("This user name is taken or not allowed; choose another.")


class SponsorError(ValueError):
    """A sponsor or donation change that breaks a rule; the message says which, and `field`
    names the form field it belongs to, when one does."""

    def __init__(self, message, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field


def new_form_uid() -> str:
    """A one-time id for a form, so that submitting it twice makes one record."""
    return uuid.uuid4().hex


def form_uid(text: str | None) -> str | None:
    """The form's uid when it looks like one we made, else None (a new record every time)."""
    return text if text and UID_PATTERN.match(text) else None


# --- Sign-up and review ----------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class SponsorFields:
    """What a sponsor tells us about itself."""

    unit: Unit
    name: str
    kind: SponsorKind
    contact_name: str = ""
    contact_phone: str = ""
    public_name: str = ""
    is_anonymous: bool = False
    on_honour_roll: bool = True


@dataclass(frozen=True, kw_only=True)
class Account:
    """The representative's sign-in, made inactive until an organiser approves the sponsor."""

    username: str
    password: str
    display_name: str = ""


def register_sponsor(fields: SponsorFields, account: Account | None = None) -> Sponsor:
    """A new sponsor awaiting approval by an organiser of its unit, with its representative.

    The representative's name follows the one rule for names (auth.names); one that is taken
    and one only an administrator may give get the same answer, which tells nobody which.
    """
    representative = None
    if account is not None:
        username = normalise_username(account.username)
        if not is_valid_username(username):
            raise SponsorError(
                _l("Use letters, digits and . @ + - _ only, without spaces."), "username"
            )
        if is_reserved_username(username) or user_by_name(username) is not None:
            raise SponsorError(NAME_UNAVAILABLE, "username")
        representative = create_user(
            username,
            account.password,
            account.display_name or fields.contact_name,
            active=False,
        )
    sponsor = Sponsor(
        unit=fields.unit,
        name=fields.name.strip(),
        kind=fields.kind,
        contact_name=fields.contact_name.strip(),
        contact_phone=fields.contact_phone.strip(),
        public_name=fields.public_name.strip() or fields.name.strip(),
        is_anonymous=fields.is_anonymous,
        on_honour_roll=fields.on_honour_roll,
        status=SponsorStatus.PENDING,
        representative_id=representative.id if representative else None,
    )
    db.session.add(sponsor)
    db.session.flush()
    return sponsor


def may_review(user, sponsor: Sponsor) -> bool:
    """Organisers of the sponsor's unit (or above it) approve, reject and manage its gifts."""
    return can(user, Action.EDIT, sponsor.unit)


def review_sponsor(sponsor: Sponsor, reviewer: User, approve: bool, note: str = "") -> None:
    """Approve or reject a sign-up once; approval opens the representative's account."""
    status = SponsorStatus.APPROVED if approve else SponsorStatus.REJECTED
    done = db.session.execute(
        update(Sponsor)
        .where(Sponsor.id == sponsor.id, Sponsor.status == SponsorStatus.PENDING)
        .values(status=status, reviewed_by_id=reviewer.id, reviewed_at=utcnow(), review_note=note)
        .execution_options(synchronize_session=False)
    ).rowcount
    if not done:
        raise SponsorError(_l("This sign-up has already been reviewed."))
    sponsor_reviewed(sponsor, status, note)
    db.session.refresh(sponsor)
    if approve and sponsor.representative_id is not None:
        representative = db.session.get(User, sponsor.representative_id)
        representative.active = True
        grant(representative, Role.SPONSOR_REP, sponsor=sponsor)
        forget_grants()


# --- Donations -------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class DonationFields:
    """A gift as a form or the API describes it; `value` is the total in yuan."""

    kind: DonationKind
    description: str
    quantity: Decimal | None = None
    unit_label: str = ""
    unit_value: Decimal | None = None
    value: Decimal | None = None
    campaign: Campaign | None = None
    station: Station | None = None
    pledged_on: date
    note: str = ""


@dataclass(frozen=True)
class Valuation:
    """A gift's measure and worth after the rules: quantity (None for cash), unit value, total."""

    quantity: Decimal | None
    unit_value: Decimal | None
    value: Decimal


def _positive(amount: Decimal | None, field: str, message) -> Decimal:
    if amount is None or amount <= 0:
        raise SponsorError(message, field)
    if amount > AMOUNT_MAX:
        raise SponsorError(_l("That number is too large."), field)
    return amount


def valuation(fields: DonationFields) -> Valuation:
    """Check a gift's numbers and work out its worth.

    Cash is an amount in yuan. Goods have a quantity, a unit and a worth (per unit or in
    total): a gift in kind without a value cannot be accounted for. A service is counted in
    sessions or hours; its worth is optional.
    """
    if fields.kind is DonationKind.CASH:
        value = _positive(fields.value, "value", _l("Enter the amount of cash, more than zero."))
        return Valuation(None, None, value.quantize(CENT))
    quantity = _positive(
        fields.quantity, "quantity", _l("Enter how many were given, more than zero.")
    )
    if not fields.unit_label.strip():
        raise SponsorError(_l("Say what is counted, for example 份, 本, 场 or 小时."), "unit_label")
    unit_value, total = fields.unit_value, fields.value
    if unit_value is not None and unit_value < 0 or total is not None and total < 0:
        raise SponsorError(_l("A value cannot be negative."), "value")
    if unit_value is not None:
        total = (quantity * unit_value).quantize(CENT)
    elif total is not None:
        unit_value = (total / quantity).quantize(CENT)
    if fields.kind is DonationKind.IN_KIND and not total:
        raise SponsorError(
            _l("Give a gift in kind its worth in yuan, per unit or in total."), "unit_value"
        )
    total = total or ZERO_YUAN
    if total > AMOUNT_MAX:
        raise SponsorError(_l("That number is too large."), "value")
    return Valuation(quantity, unit_value, total)


def donation_campaigns(sponsor: Sponsor, by: User | None = None) -> list[Campaign]:
    """The campaigns a gift of `sponsor`, recorded by `by`, may go to: the public campaigns of
    its unit, the units above and below it; an internal one only when `by` organises it (a
    sponsor's representative never sees the union's internal campaigns)."""
    ancestors = [int(part) for part in sponsor.unit.path.strip("/").split("/") if part]
    return list(
        db.session.scalars(
            select(Campaign)
            .join(Unit, Unit.id == Campaign.unit_id)
            .where(
                or_(Campaign.unit_id.in_(ancestors), under(Unit.path, sponsor.unit.path)),
                or_(Campaign.is_public.is_(True), visible(by, Action.EDIT, Campaign)),
            )
            .order_by(Campaign.starts_on.desc(), Campaign.id.desc())
        )
    )


def _check_target(sponsor: Sponsor, fields: DonationFields, by: User | None) -> None:
    if fields.campaign is not None and fields.campaign.id not in {
        c.id for c in donation_campaigns(sponsor, by)
    }:
        raise SponsorError(_l("This campaign is not open to this sponsor."), "campaign")
    station = fields.station
    if station is None:
        return
    if station.status is not StationStatus.ACTIVE:
        raise SponsorError(_l("Choose an active station."), "station")
    if fields.campaign is not None:
        inside = db.session.scalar(
            select(Unit.id).where(
                Unit.id == station.unit_id, under(Unit.path, fields.campaign.unit.path)
            )
        )
        if inside is None:
            raise SponsorError(_l("This station is outside the campaign's units."), "station")


def find_donation(uid: str | None) -> Donation | None:
    """The donation a form with this uid already made, if any."""
    uid = form_uid(uid)
    return db.session.scalar(select(Donation).where(Donation.uid == uid)) if uid else None


def pledge_donation(
    sponsor: Sponsor, fields: DonationFields, by: User | None, uid: str | None = None
) -> Donation:
    """Record a pledge from an approved sponsor."""
    if sponsor.status is not SponsorStatus.APPROVED:
        raise SponsorError(_l("A sponsor can pledge once its sign-up is approved."))
    if not fields.description.strip():
        raise SponsorError(_l("Say what is given."), "description")
    if fields.pledged_on > local_today():
        raise SponsorError(_l("A pledge cannot be dated in the future."), "pledged_on")
    worth = valuation(fields)
    _check_target(sponsor, fields, by)
    donation = Donation(
        uid=form_uid(uid),
        sponsor=sponsor,
        campaign=fields.campaign,
        station=fields.station,
        kind=fields.kind,
        description=fields.description.strip(),
        quantity=worth.quantity,
        unit_label=fields.unit_label.strip() if worth.quantity is not None else "",
        unit_value=worth.unit_value,
        value=worth.value,
        note=fields.note.strip(),
        status=DonationStatus.PLEDGED,
        pledged_on=fields.pledged_on,
        pledged_by_id=by.id if by is not None else None,
        distributed=ZERO_YUAN,
    )
    db.session.add(donation)
    db.session.flush()
    return donation


def may_manage(user, donation: Donation) -> bool:
    """Organisers of the sponsor's unit, or of the campaign's, confirm and hand out gifts."""
    if may_review(user, donation.sponsor):
        return True
    return donation.campaign is not None and can(user, Action.EDIT, donation.campaign)


def next_receipt_number(unit: Unit, year: int) -> str:
    """The unit's next receipt number for the year, e.g. 530100-2024-00007.

    One upsert takes the number; a rolled-back receipt gives its number back, so the numbers
    a unit issues have no gaps, and two organisers at once get two numbers.
    """
    insert = INSERT_OR_NOTHING[db.session.get_bind().dialect.name]
    stmt = (
        insert(ReceiptCounter)
        .values(unit_id=unit.id, year=year, last=1)
        .on_conflict_do_update(
            index_elements=["unit_id", "year"], set_={"last": ReceiptCounter.last + 1}
        )
        .returning(ReceiptCounter.last)
    )
    number = db.session.execute(stmt).scalar_one()
    return f"{unit.code or f'U{unit.id}'}-{year}-{number:05d}"


def receive_donation(donation: Donation, on: date, by: User) -> Donation:
    """Confirm that a pledged gift arrived, and number its receipt."""
    if on < donation.pledged_on:
        raise SponsorError(_l("A gift cannot arrive before it was pledged."), "received_on")
    if on > local_today():
        raise SponsorError(_l("The date of receipt cannot be in the future."), "received_on")
    number = next_receipt_number(donation.sponsor.unit, on.year)
    done = db.session.execute(
        update(Donation)
        .where(Donation.id == donation.id, Donation.status == DonationStatus.PLEDGED)
        .values(
            status=DonationStatus.RECEIVED,
            received_on=on,
            received_by_id=by.id,
            receipt_number=number,
        )
        .execution_options(synchronize_session=False)
    ).rowcount
    if not done:
        raise SponsorError(_l("This donation has already been received."))
    db.session.refresh(donation)
    donation_received(donation)
    return donation


# --- Distribution ----------------------------------------------------------------------------


def find_distribution(uid: str | None) -> Distribution | None:
    """The distribution a form with this uid already recorded, if any."""
    uid = form_uid(uid)
    return db.session.scalar(select(Distribution).where(Distribution.uid == uid)) if uid else None


def _share_value(donation: Donation, quantity: Decimal) -> Decimal:
    """The yuan worth of `quantity` of the donation; the last share takes what is left, so the
    shares always add up to the donation's value."""
    if quantity == donation.amount - donation.distributed:
        given = db.session.scalar(
            select(func.coalesce(func.sum(Distribution.value), 0)).where(
                Distribution.donation_id == donation.id
            )
        )
        return max(donation.value - Decimal(given), ZERO_YUAN)
    return (donation.value * quantity / donation.amount).quantize(CENT)


def _check_recipient(
    user, donation: Donation, station: Station | None, activity: Activity | None
) -> Station:
    if activity is not None:
        if not can(user, Action.EDIT, activity):
            raise SponsorError(_l("Choose an activity you organise."), "activity")
        if activity.is_cancelled:
            raise SponsorError(_l("That activity was cancelled."), "activity")
        if donation.campaign_id is not None and activity.campaign_id != donation.campaign_id:
            raise SponsorError(_l("Choose an activity of the donation's campaign."), "activity")
        return activity.station
    if station is None:
        raise SponsorError(_l("Choose the activity or the station that received it."), "station")
    if not can(user, Action.EDIT, station):
        raise SponsorError(_l("Choose a station you organise."), "station")
    return station


def distribute(
    user: User,
    donation: Donation,
    *,
    quantity: Decimal | None,
    on: date,
    station: Station | None = None,
    activity: Activity | None = None,
    note: str = "",
    uid: str | None = None,
) -> Distribution:
    """Hand out part of a received donation at an activity or a station.

    The running total moves with a guarded UPDATE first: of two organisers handing out the
    last books at once, one succeeds and the other is told the balance is too small.
    """
    if donation.status is DonationStatus.PLEDGED:
        raise SponsorError(_l("Confirm that the gift arrived before handing it out."))
    quantity = _positive(quantity, "quantity", _l("Enter how much was handed out, more than zero."))
    if on < donation.received_on:
        raise SponsorError(_l("A gift cannot be handed out before it arrived."), "distributed_on")
    if on > local_today():
        raise SponsorError(_l("The date cannot be in the future."), "distributed_on")
    recipient = _check_recipient(user, donation, station, activity)
    value = _share_value(donation, quantity)
    amount = func.coalesce(Donation.quantity, Donation.value)
    before = donation.distributed, donation.status
    moved = db.session.execute(
        update(Donation)
        .where(
            Donation.id == donation.id,
            Donation.status != DonationStatus.PLEDGED,
            Donation.distributed + quantity <= amount,
        )
        .values(
            distributed=Donation.distributed + quantity,
            status=case(
                (Donation.distributed + quantity >= amount, DonationStatus.DISTRIBUTED.value),
                else_=DonationStatus.RECEIVED.value,
            ),
        )
        .execution_options(synchronize_session=False)
    ).rowcount
    if not moved:
        db.session.refresh(donation)
        raise SponsorError(
            _l(
                "Only %(balance)s %(unit)s are left to hand out.",
                balance=_plain(donation.balance),
                unit=donation.unit_label or _l("yuan"),
            ),
            "quantity",
        )
    row = Distribution(
        uid=form_uid(uid) or new_form_uid(),
        donation_id=donation.id,
        station_id=recipient.id,
        activity_id=activity.id if activity is not None else None,
        quantity=quantity,
        value=value,
        distributed_on=on,
        note=note.strip(),
        created_by_id=user.id,
    )
    db.session.add(row)
    db.session.flush()
    db.session.refresh(donation)
    donation_distributed(donation, *before)
    return row


def _plain(amount: Decimal) -> str:
    """An amount without trailing zeros, for messages: 60, 2.5."""
    return format(amount.normalize(), "f") if amount else "0"
