"""Co-building partners (共建单位) as records: saving one, and what a partner's page reads.

A partner is kept by a union unit; the stations of that unit's subtree may name it. One that
also gives as a sponsor is the same organisation: it points at its sponsor record.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from inclusive_day.activities.models import Activity
from inclusive_day.activities.queries import count_activities_by
from inclusive_day.attendance.queries import Totals, totals_by
from inclusive_day.attendance.traffic import Traffic, traffic_by_station
from inclusive_day.extensions import db
from inclusive_day.sponsors.models import Sponsor
from inclusive_day.stations.models import Partner, Station, StationPartner, StationStatus
from inclusive_day.stations.services import MAX_PARTNER_NAME, StationError, check_phone
from inclusive_day.units.models import Unit, under


@dataclass(frozen=True)
class PartnerFields:
    """What the partner form says, before its rules are checked."""

    name: str
    unit: Unit
    contact_name: str = ""
    contact_phone: str = ""
    sponsor: Sponsor | None = None


def save_partner(fields: PartnerFields, partner: Partner | None = None) -> Partner:
    """Create a partner, or change `partner`: a name unique in its keeping unit, a sponsor
    record that no other partner is, and a keeping unit above every station it co-builds."""
    name = " ".join(fields.name.split())
    if not name:
        raise StationError("name", _l("A partner's name is required."))
    if len(name) > MAX_PARTNER_NAME or any(ch in name for ch in "、,，;；"):
        raise StationError(
            "name",
            _l(
                'At most %(n)d characters, without "、", commas or semicolons (they separate '
                "names in a station's list of partners).",
                n=MAX_PARTNER_NAME,
            ),
        )
    same = db.session.scalar(
        select(Partner.id).where(Partner.unit_id == fields.unit.id, Partner.name == name)
    )
    if same is not None and (partner is None or same != partner.id):
        raise StationError(
            "name",
            _l(
                '%(unit)s already keeps a partner named "%(name)s".',
                unit=fields.unit.name,
                name=name,
            ),
        )
    if fields.sponsor is not None:
        other = db.session.scalar(select(Partner).where(Partner.sponsor_id == fields.sponsor.id))
        if other is not None and (partner is None or other.id != partner.id):
            raise StationError(
                "sponsor",
                _l(
                    "The sponsor %(sponsor)s is already the partner %(partner)s.",
                    sponsor=fields.sponsor.name,
                    partner=other.name,
                ),
            )
    if partner is not None and partner.unit_id != fields.unit.id:
        outside = db.session.scalar(
            select(func.count())
            .select_from(StationPartner)
            .join(Station, Station.id == StationPartner.station_id)
            .join(Unit, Unit.id == Station.unit_id)
            .where(StationPartner.partner_id == partner.id, ~under(Unit.path, fields.unit.path))
        )
        if outside:
            raise StationError(
                "unit",
                _l(
                    "%(n)d stations it co-builds are not under %(unit)s: a partner is kept by "
                    "the stations' unit or a unit above it.",
                    n=outside,
                    unit=fields.unit.name,
                ),
            )
    partner = partner or Partner()
    partner.name = name
    partner.unit = fields.unit
    partner.contact_name = fields.contact_name.strip()
    partner.contact_phone = check_phone(fields.contact_phone)
    partner.sponsor = fields.sponsor
    db.session.add(partner)
    db.session.flush()
    return partner


@dataclass(frozen=True)
class PartnerStation:
    """A station a partner co-builds, with its door traffic and its activities."""

    id: int
    code: str
    name: str
    unit_name: str
    status: StationStatus
    traffic: Traffic
    activities: int
    figures: Totals


def partner_stations(partner: Partner, visible, now: datetime) -> list[PartnerStation]:
    """The stations `partner` co-builds that the `visible` clause lets through, each with its
    door visits, the activities held there and the person-times served: five queries however
    many stations."""
    ids = select(StationPartner.station_id).where(StationPartner.partner_id == partner.id)
    scope = [Station.id.in_(ids), visible]
    rows = db.session.execute(
        select(Station.id, Station.code, Station.name, Unit.name, Station.status)
        .join(Unit, Unit.id == Station.unit_id)
        .where(*scope)
        .order_by(Station.code)
    ).all()
    if not rows:
        return []
    shown = select(Station.id).where(*scope)
    traffic = traffic_by_station(shown)
    held = [Activity.station_id.in_(shown), Activity.ends_at < now]
    activities = count_activities_by(Activity.station_id, held)
    figures = totals_by(Activity.station_id, held)
    return [
        PartnerStation(
            id=station_id,
            code=code,
            name=name,
            unit_name=unit_name,
            status=status,
            traffic=traffic.get(station_id, Traffic()),
            activities=activities.get(station_id, 0),
            figures=figures.get(station_id, Totals()),
        )
        for station_id, code, name, unit_name, status in rows
    ]


def partner_station_counts(partner_ids: list[int]) -> dict[int, int]:
    """How many stations each partner co-builds (one query)."""
    if not partner_ids:
        return {}
    rows = db.session.execute(
        select(StationPartner.partner_id, func.count())
        .where(StationPartner.partner_id.in_(partner_ids))
        .group_by(StationPartner.partner_id)
    )
    return {partner_id: int(n) for partner_id, n in rows}
