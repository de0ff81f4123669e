"""Reading sponsors and donations for their pages: lists with totals, a donation with where
it went, a sponsor with its impact. Each function takes a constant number of queries."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from flask_babel import gettext as _
from sqlalchemy import case, func, select

from inclusive_day.access.rule import Action, visible
from inclusive_day.activities.models import Activity, activity_donations
from inclusive_day.auth.models import User
from inclusive_day.database import ZERO_YUAN
from inclusive_day.extensions import db
from inclusive_day.sponsors.honour import Giving, GivingScope, HonourLine, giving, honour_roll
from inclusive_day.sponsors.models import (
    Distribution,
    Donation,
    DonationKind,
    DonationStatus,
    Sponsor,
    SponsorStatus,
)
from inclusive_day.sponsors.words import gift_in_words, quantity_text
from inclusive_day.stations.models import Station
from inclusive_day.units.models import Unit

RECEIVED = (DonationStatus.RECEIVED, DonationStatus.DISTRIBUTED)


@dataclass(frozen=True)
class SponsorLine:
    """A sponsor in a list, with its gifts counted."""

    id: int
    name: str
    kind_label: str
    unit_name: str
    status: SponsorStatus
    donations: int
    pledged: Decimal
    received: Decimal


def sponsor_lines(user) -> list[SponsorLine]:
    """The sponsors `user` may see with their gifts' worth, sign-ups awaiting review first."""
    received = case((Donation.status.in_(RECEIVED), Donation.value), else_=0)
    rows = db.session.execute(
        select(
            Sponsor.id,
            Sponsor.name,
            Sponsor.kind,
            Unit.name,
            Sponsor.status,
            func.count(Donation.id),
            func.coalesce(func.sum(Donation.value), 0),
            func.coalesce(func.sum(received), 0),
        )
        .join(Unit, Unit.id == Sponsor.unit_id)
        .outerjoin(Donation, Donation.sponsor_id == Sponsor.id)
        .where(visible(user, Action.VIEW, Sponsor))
        .group_by(Sponsor.id, Sponsor.name, Sponsor.kind, Unit.name, Sponsor.status)
        .order_by(
            case((Sponsor.status == SponsorStatus.PENDING, 0), else_=1),
            func.coalesce(func.sum(received), 0).desc(),
            Sponsor.name,
        )
    ).all()
    return [
        SponsorLine(i, name, str(kind.label), unit, status, int(n), Decimal(p), Decimal(r))
        for i, name, kind, unit, status, n, p, r in rows
    ]


@dataclass(frozen=True)
class HandOutLine:
    """One hand-out of a donation: when, how much, where."""

    on: date
    quantity: str  # with its unit: "40 本"
    value: Decimal
    station_name: str
    station_code: str
    activity_id: int | None
    activity_title: str
    note: str


@dataclass
class DonationLine:
    """A donation with its words, who confirmed it, and its hand-outs."""

    donation: Donation
    words: str
    pledged_by: str = ""
    received_by: str = ""
    hand_outs: list[HandOutLine] = field(default_factory=list)

    @property
    def balance_text(self) -> str:
        """What is left, in the donation's measure."""
        d = self.donation
        return quantity_text(d.balance) if d.quantity is not None else f"¥{d.balance:,.2f}"


def words_of(donation: Donation) -> str:
    """The donation in words, in the current language."""
    amount = donation.value if donation.kind is DonationKind.CASH else donation.quantity
    return gift_in_words(
        donation.kind, donation.description, donation.quantity, donation.unit_label, amount
    )


def donation_lines(donations: list[Donation]) -> list[DonationLine]:
    """Lines for donations, with names and hand-outs read in two queries for all of them."""
    lines = [DonationLine(d, words_of(d)) for d in donations]
    if not donations:
        return lines
    user_ids = {i for d in donations for i in (d.pledged_by_id, d.received_by_id) if i is not None}
    names = (
        dict(
            db.session.execute(
                select(User.id, User.display_name).where(User.id.in_(user_ids))
            ).all()
        )
        if user_ids
        else {}
    )
    by_id = {d.id: d for d in donations}
    by_donation: dict[int, list[HandOutLine]] = {}
    rows = db.session.execute(
        select(Distribution, Station.name, Station.code, Activity.title)
        .join(Station, Station.id == Distribution.station_id)
        .outerjoin(Activity, Activity.id == Distribution.activity_id)
        .where(Distribution.donation_id.in_([d.id for d in donations]))
        .order_by(Distribution.distributed_on, Distribution.id)
    )
    for row, station, code, title in rows:
        by_donation.setdefault(row.donation_id, []).append(
            HandOutLine(
                row.distributed_on,
                f"{quantity_text(row.quantity)} {by_id[row.donation_id].unit_label or _('yuan')}",
                row.value,
                station,
                code,
                row.activity_id,
                title or "",
                row.note,
            )
        )
    for line in lines:
        d = line.donation
        line.pledged_by = names.get(d.pledged_by_id, "")
        line.received_by = names.get(d.received_by_id, "")
        line.hand_outs = by_donation.get(d.id, [])
    return lines


@dataclass
class SponsorPage:
    """A sponsor, its gifts and the impact they had."""

    sponsor: Sponsor
    donations: list[DonationLine]
    given: Giving
    impact: HonourLine | None
    pledged: Decimal = ZERO_YUAN


def sponsor_page(sponsor: Sponsor) -> SponsorPage:
    """Everything a sponsor's page shows, whether or not it is listed on the honour roll."""
    donations = list(
        db.session.scalars(
            select(Donation)
            .where(Donation.sponsor_id == sponsor.id)
            .order_by(Donation.pledged_on.desc(), Donation.id.desc())
        )
    )
    scope = GivingScope(sponsor_id=sponsor.id)
    impact = next(iter(honour_roll(scope, listed_only=False)), None)
    pledged = sum(
        (d.value for d in donations if d.status is DonationStatus.PLEDGED), start=ZERO_YUAN
    )
    return SponsorPage(sponsor, donation_lines(donations), giving(scope), impact, pledged)


def gifts_at(activity_id: int) -> list[tuple[str, str]]:
    """(sponsor, gift in words) for one activity: what was handed out there, with how much, and
    the gifts linked to it that have no hand-out there yet (two queries)."""
    handed = db.session.execute(
        select(
            Sponsor.name,
            Donation.id,
            Donation.kind,
            Donation.description,
            Donation.unit_label,
            func.sum(Distribution.quantity),
        )
        .join(Donation, Donation.id == Distribution.donation_id)
        .join(Sponsor, Sponsor.id == Donation.sponsor_id)
        .where(Distribution.activity_id == activity_id)
        .group_by(
            Sponsor.name, Donation.id, Donation.kind, Donation.description, Donation.unit_label
        )
        .order_by(Donation.id)
    ).all()
    lines = [
        (sponsor, gift_in_words(kind, what, None if kind is DonationKind.CASH else n, unit, n))
        for sponsor, _id, kind, what, unit, n in handed
    ]
    done = {row[1] for row in handed}
    linked = db.session.execute(
        select(Sponsor.name, Donation.id, Donation.description)
        .join(activity_donations, activity_donations.c.donation_id == Donation.id)
        .join(Sponsor, Sponsor.id == Donation.sponsor_id)
        .where(activity_donations.c.activity_id == activity_id)
        .order_by(Donation.id)
    ).all()
    return lines + [(sponsor, what) for sponsor, i, what in linked if i not in done]
