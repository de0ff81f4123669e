"""The honour roll (爱心榜) and the giving figures of any campaign, subtree and period.

What a scope counts of a gift:
- with no unit, or when the sponsor registered with a unit inside the subtree: the whole
  received donation, on the day it was received;
- otherwise, the shares of it handed out at the subtree's stations, on the days they were
  handed out. A city's sponsor who sent water tickets to a district is thanked there for
  what the district received, not for the whole gift.

Only received gifts of approved sponsors count; pledges wait until they arrive. The roll
lists the sponsors who opted in, anonymous ones without their name, ordered by value. People
served are those at the activities a sponsor's gifts were linked to or handed out at, each
activity counted once per sponsor. Every function takes a constant number of queries.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from flask_babel import gettext as _
from sqlalchemy import func as f
from sqlalchemy import or_, select, true, union, union_all

from inclusive_day.activities.models import Activity, activity_donations
from inclusive_day.activities.queries import not_cancelled
from inclusive_day.attendance.queries import totals_by
from inclusive_day.campaigns.models import Campaign
from inclusive_day.database import ZERO_YUAN
from inclusive_day.extensions import db
from inclusive_day.periods import day_start
from inclusive_day.sponsors.models import (
    Distribution,
    Donation,
    DonationKind,
    DonationStatus,
    Sponsor,
    SponsorKind,
    SponsorStatus,
)
from inclusive_day.sponsors.words import gift_in_words
from inclusive_day.stations.models import Station
from inclusive_day.units.models import units_under


@dataclass(frozen=True)
class GivingScope:
    """Which gifts count: of one campaign, in one unit's subtree, received in a period."""

    campaign_id: int | None = None
    unit_path: str | None = None
    start: date | None = None
    end: date | None = None
    sponsor_id: int | None = None
    # The public roll of a unit across campaigns leaves out gifts to internal campaigns.
    public_campaigns_only: bool = False


@dataclass(frozen=True)
class HonourLine:
    """One sponsor on the roll: its name as it wishes, what it gave in words, and the impact."""

    sponsor_id: int
    name: str
    kind_label: str
    value: Decimal
    gifts: tuple[str, ...]
    activities: int
    served: int
    stations: int = 0  # where its gifts were handed out or its activities held


@dataclass(frozen=True)
class Giving:
    """How many sponsors gave, how many gifts, and their worth in yuan."""

    sponsors: int = 0
    donations: int = 0
    value: Decimal = ZERO_YUAN


RECEIVED = (DonationStatus.RECEIVED, DonationStatus.DISTRIBUTED)


def _within(column, scope: GivingScope) -> list:
    conditions = []
    if scope.start is not None:
        conditions.append(column >= scope.start)
    if scope.end is not None:
        conditions.append(column <= scope.end)
    return conditions


def _base(scope: GivingScope) -> list:
    conditions = [Donation.status.in_(RECEIVED), Sponsor.status == SponsorStatus.APPROVED]
    if scope.campaign_id is not None:
        conditions.append(Donation.campaign_id == scope.campaign_id)
    if scope.sponsor_id is not None:
        conditions.append(Donation.sponsor_id == scope.sponsor_id)
    if scope.public_campaigns_only:
        conditions.append(
            or_(
                Donation.campaign_id.is_(None),
                Donation.campaign_id.in_(select(Campaign.id).where(Campaign.is_public)),
            )
        )
    return conditions


def _gifts(scope: GivingScope):
    """(sponsor_id, donation_id, measure, value) rows that the scope counts, as a subquery."""
    whole = (
        select(
            Donation.sponsor_id,
            Donation.id.label("donation_id"),
            f.coalesce(Donation.quantity, Donation.value).label("measure"),
            Donation.value.label("value"),
        )
        .join(Sponsor, Sponsor.id == Donation.sponsor_id)
        .where(*_base(scope), *_within(Donation.received_on, scope))
    )
    if scope.unit_path is None:
        return whole.subquery("gifts")
    inside = units_under(scope.unit_path)
    shares = (
        select(
            Donation.sponsor_id,
            Donation.id.label("donation_id"),
            Distribution.quantity.label("measure"),
            Distribution.value.label("value"),
        )
        .join(Sponsor, Sponsor.id == Donation.sponsor_id)
        .join(Distribution, Distribution.donation_id == Donation.id)
        .join(Station, Station.id == Distribution.station_id)
        .where(
            *_base(scope),
            Sponsor.unit_id.not_in(inside),
            Station.under(scope.unit_path),
            *_within(Distribution.distributed_on, scope),
        )
    )
    return union_all(whole.where(Sponsor.unit_id.in_(inside)), shares).subquery("gifts")


def giving(scope: GivingScope) -> Giving:
    """Sponsors, gifts and yuan given in the scope (one query)."""
    gifts = _gifts(scope)
    row = db.session.execute(
        select(
            f.count(gifts.c.sponsor_id.distinct()),
            f.count(gifts.c.donation_id.distinct()),
            f.coalesce(f.sum(gifts.c.value), 0),
        )
    ).one()
    return Giving(int(row[0]), int(row[1]), Decimal(row[2]).quantize(Decimal("0.01")))


def _supported_activities(scope: GivingScope, sponsor_ids: list[int]):
    """(sponsor_id, activity_id) pairs: activities in scope that a sponsor's gifts went to."""
    conditions = [not_cancelled()]
    if scope.campaign_id is not None:
        conditions.append(Activity.campaign_id == scope.campaign_id)
    if scope.unit_path is not None:
        conditions.append(
            Activity.station_id.in_(select(Station.id).where(Station.under(scope.unit_path)))
        )
    if scope.start is not None:
        conditions.append(Activity.starts_at >= day_start(scope.start))
    if scope.end is not None:
        conditions.append(Activity.starts_at < day_start(scope.end + timedelta(days=1)))
    gifted = [Donation.status.in_(RECEIVED), Donation.sponsor_id.in_(sponsor_ids)]
    linked = (
        select(Donation.sponsor_id, Activity.id.label("activity_id"))
        .join(activity_donations, activity_donations.c.donation_id == Donation.id)
        .join(Activity, Activity.id == activity_donations.c.activity_id)
        .where(*gifted, *conditions)
    )
    handed = (
        select(Donation.sponsor_id, Activity.id.label("activity_id"))
        .join(Distribution, Distribution.donation_id == Donation.id)
        .join(Activity, Activity.id == Distribution.activity_id)
        .where(*gifted, *conditions)
    )
    return union(linked, handed).subquery("supported")


def honour_roll(
    scope: GivingScope, limit: int | None = None, *, listed_only: bool = True
) -> list[HonourLine]:
    """The sponsors who opted in (all, for `listed_only=False`), by value given in the scope,
    with their gifts in words, the people served where their gifts went and the stations they
    reached (five queries)."""
    gifts = _gifts(scope)
    per_gift = (
        select(
            gifts.c.sponsor_id,
            gifts.c.donation_id,
            f.sum(gifts.c.measure).label("measure"),
            f.sum(gifts.c.value).label("value"),
        )
        .group_by(gifts.c.sponsor_id, gifts.c.donation_id)
        .subquery("per_gift")
    )
    rows = db.session.execute(
        select(
            Sponsor.id,
            Sponsor.public_name,
            Sponsor.name,
            Sponsor.is_anonymous,
            Sponsor.kind,
            Donation.kind,
            Donation.description,
            Donation.unit_label,
            per_gift.c.measure,
            per_gift.c.value,
        )
        .select_from(per_gift)
        .join(Donation, Donation.id == per_gift.c.donation_id)
        .join(Sponsor, Sponsor.id == per_gift.c.sponsor_id)
        .where(Sponsor.on_honour_roll if listed_only else true())
        .order_by(per_gift.c.value.desc(), Donation.id)
    ).all()
    if not rows:
        return []
    totals: dict[int, Decimal] = defaultdict(Decimal)
    words: dict[int, list[str]] = defaultdict(list)
    names: dict[int, tuple[str, SponsorKind]] = {}
    for sponsor_id, public, name, anonymous, kind, gift_kind, what, unit, measure, value in rows:
        totals[sponsor_id] += Decimal(value)
        quantity = None if gift_kind is DonationKind.CASH else Decimal(measure)
        amount = Decimal(value) if gift_kind is DonationKind.CASH else Decimal(measure)
        words[sponsor_id].append(gift_in_words(gift_kind, what, quantity, unit, amount))
        shown = _("Anonymous donor") if anonymous and listed_only else (public or name)
        names[sponsor_id] = (shown, kind)
    order = sorted(totals, key=lambda s: (-totals[s], names[s][0], s))
    if limit is not None:
        order = order[:limit]
    served, activities = _impact(scope, order)
    stations = _stations_reached(scope, order)
    return [
        HonourLine(
            sponsor_id=s,
            name=names[s][0],
            kind_label=str(names[s][1].label),
            value=totals[s].quantize(Decimal("0.01")),
            gifts=tuple(words[s]),
            activities=activities.get(s, 0),
            served=served.get(s, 0),
            stations=stations.get(s, 0),
        )
        for s in order
    ]


def _stations_reached(scope: GivingScope, sponsor_ids: list[int]) -> dict[int, int]:
    """Distinct stations per sponsor where its gifts were handed out in the scope or where the
    activities they supported were held: cash sent to stations counts there (one query)."""
    if not sponsor_ids:
        return {}
    conditions = [Donation.status.in_(RECEIVED), Donation.sponsor_id.in_(sponsor_ids)]
    if scope.campaign_id is not None:
        conditions.append(Donation.campaign_id == scope.campaign_id)
    if scope.unit_path is not None:
        conditions.append(Station.under(scope.unit_path))
    handed_out = (
        select(Donation.sponsor_id, Distribution.station_id)
        .join(Distribution, Distribution.donation_id == Donation.id)
        .join(Station, Station.id == Distribution.station_id)
        .where(*conditions, *_within(Distribution.distributed_on, scope))
    )
    supported = _supported_activities(scope, sponsor_ids)
    held_at = select(supported.c.sponsor_id, Activity.station_id).join(
        Activity, Activity.id == supported.c.activity_id
    )
    pairs = union(handed_out, held_at).subquery("reached")
    rows = db.session.execute(select(pairs.c.sponsor_id, f.count()).group_by(pairs.c.sponsor_id))
    return {sponsor_id: int(n) for sponsor_id, n in rows}


def _impact(scope: GivingScope, sponsor_ids: list[int]) -> tuple[dict[int, int], dict[int, int]]:
    """People served and activities supported, per sponsor (one query for the pairs, two for
    the attendance of the activities they name)."""
    if not sponsor_ids:
        return {}, {}
    supported = _supported_activities(scope, sponsor_ids)
    pairs = db.session.execute(select(supported.c.sponsor_id, supported.c.activity_id)).all()
    if not pairs:
        return {}, {}
    ids = select(supported.c.activity_id)
    per_activity = totals_by(Activity.id, [Activity.id.in_(ids)])
    served: dict[int, int] = defaultdict(int)
    activities: dict[int, int] = defaultdict(int)
    for sponsor_id, activity_id in pairs:
        activities[sponsor_id] += 1
        totals = per_activity.get(activity_id)
        if totals is not None:
            served[sponsor_id] += totals.served
    return dict(served), dict(activities)
