"""Donations and their distributions as spreadsheets, for the union's accounts.

Both exports cover what the user may see (an organiser's subtree, a sponsor's own gifts),
optionally one campaign, and are written in the reader's language by
`inclusive_day.spreadsheets`, formula-like text neutralised.
"""

from __future__ import annotations

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import aliased

from inclusive_day.access.rule import Action, visible
from inclusive_day.activities.models import Activity
from inclusive_day.auth.models import User
from inclusive_day.campaigns.models import Campaign
from inclusive_day.extensions import db
from inclusive_day.periods import DEFAULT_ZONE
from inclusive_day.sponsors.models import Distribution, Donation, Sponsor
from inclusive_day.spreadsheets import Export, Table, export
from inclusive_day.stations.models import Station


def _scope(user, campaign_id: int | None) -> list:
    conditions = [visible(user, Action.VIEW, Donation)]
    if campaign_id is not None:
        conditions.append(Donation.campaign_id == campaign_id)
    return conditions


def donations_table(user, campaign_id: int | None = None) -> Table:
    """One row per donation the user may see, with what is left to hand out (one query)."""
    rows = db.session.execute(
        select(Donation, Sponsor.name, Campaign.name)
        .join(Sponsor, Sponsor.id == Donation.sponsor_id)
        .outerjoin(Campaign, Campaign.id == Donation.campaign_id)
        .where(*_scope(user, campaign_id))
        .order_by(Donation.pledged_on, Donation.id)
    ).all()
    headers = [
        _("Receipt number"),
        _("Sponsor"),
        _("Kind of gift"),
        _("What is given"),
        _("How many"),
        _("Counted in"),
        _("Worth of one, in yuan"),
        _("Total worth in yuan"),
        _("Status"),
        _("Campaign"),
        _("Pledged on"),
        _("Received on"),
        _("Handed out"),
        _("Left to hand out"),
    ]
    body = [
        [
            d.receipt_number or "",
            sponsor,
            str(d.kind.label),
            d.description,
            d.quantity,
            d.unit_label or _("yuan"),
            d.unit_value,
            d.value,
            str(d.status.label),
            campaign or "",
            d.pledged_on,
            d.received_on,
            d.distributed,
            d.balance,
        ]
        for d, sponsor, campaign in rows
    ]
    widths = [20, 28, 10, 32, 10, 8, 14, 14, 10, 28, 12, 12, 12, 12]
    return Table(_("Donations"), headers, body, widths)


def distributions_table(user, campaign_id: int | None = None) -> Table:
    """One row per hand-out of the donations the user may see (one query)."""
    recorder = aliased(User)
    rows = db.session.execute(
        select(
            Distribution,
            Donation.description,
            Donation.unit_label,
            Donation.receipt_number,
            Sponsor.name,
            Station.code,
            Station.name,
            Activity.title,
            Activity.starts_at,
            recorder.display_name,
        )
        .join(Donation, Donation.id == Distribution.donation_id)
        .join(Sponsor, Sponsor.id == Donation.sponsor_id)
        .join(Station, Station.id == Distribution.station_id)
        .outerjoin(Activity, Activity.id == Distribution.activity_id)
        .outerjoin(recorder, recorder.id == Distribution.created_by_id)
        .where(*_scope(user, campaign_id))
        .order_by(Distribution.distributed_on, Distribution.id)
    ).all()
    headers = [
        _("Handed out on"),
        _("Sponsor"),
        _("Receipt number"),
        _("What is given"),
        _("How much"),
        _("Counted in"),
        _("Worth in yuan"),
        _("Station code"),
        _("Station"),
        _("Activity"),
        _("Activity date"),
        _("Note"),
        _("Recorded by"),
    ]
    body = [
        [
            row.distributed_on,
            sponsor,
            receipt or "",
            what,
            row.quantity,
            unit or _("yuan"),
            row.value,
            code,
            station,
            title or "",
            starts_at.astimezone(DEFAULT_ZONE).date() if starts_at else None,
            row.note,
            by or "",
        ]
        for row, what, unit, receipt, sponsor, code, station, title, starts_at, by in rows
    ]
    widths = [12, 28, 20, 32, 10, 8, 12, 16, 28, 36, 12, 24, 16]
    return Table(_("Distributions"), headers, body, widths)


def export_donations(user, fmt: str, campaign_id: int | None = None) -> Export:
    """Donations (and, in XLSX, their distributions on a second sheet) as a file."""
    tables = [donations_table(user, campaign_id)]
    if fmt == "xlsx":
        tables.append(distributions_table(user, campaign_id))
    return export(tables, fmt, "donations")


def export_distributions(user, fmt: str, campaign_id: int | None = None) -> Export:
    """The hand-outs alone as a file."""
    return export([distributions_table(user, campaign_id)], fmt, "distributions")
