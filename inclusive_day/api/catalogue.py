"""Read-only resources: the union tree, the stations and the campaigns."""

from __future__ import annotations

from sqlalchemy import or_, select
from sqlalchemy.orm import selectinload

from inclusive_day.access.rule import Action, visible
from inclusive_day.api.base import ApiBlueprint, api_user, filter_row, one, paginated
from inclusive_day.api.schemas import (
    CampaignArgs,
    CampaignSchema,
    StationArgs,
    StationSchema,
    UnitArgs,
    UnitSchema,
    page_of,
)
from inclusive_day.campaigns.models import Campaign
from inclusive_day.stations.models import Station
from inclusive_day.units.models import Unit, under, units_under

units = ApiBlueprint("units", __name__, description="The union tree, as far as you may see it.")
stations = ApiBlueprint("stations", __name__, description="Post stations.")
campaigns = ApiBlueprint("campaigns", __name__, description="Campaigns.")


@units.route("")
@units.arguments(UnitArgs, location="query")
@units.response(200, page_of(UnitSchema, "UnitPage"))
@units.errors(401, 404)
def list_units(args: dict):
    """List the units you may see, in tree order."""
    stmt = select(Unit).where(visible(api_user(), Action.VIEW, Unit)).order_by(Unit.path)
    top = filter_row(Action.VIEW, Unit, args.get("under"), "under")
    if top is not None:
        stmt = stmt.where(under(Unit.path, top.path))
    if args.get("level"):
        stmt = stmt.where(Unit.level == args["level"])
    return paginated(stmt, args)


@units.route("/<int:unit_id>")
@units.response(200, UnitSchema)
@units.errors(401, 404)
def get_unit(unit_id: int):
    """One unit."""
    return one(Action.VIEW, Unit, unit_id)


@stations.route("")
@stations.arguments(StationArgs, location="query")
@stations.response(200, page_of(StationSchema, "StationPage"))
@stations.errors(401, 404)
def list_stations(args: dict):
    """List the stations you may see, by code."""
    stmt = (
        select(Station)
        .where(visible(api_user(), Action.VIEW, Station))
        .options(selectinload(Station.amenity_rows))
        .order_by(Station.code)
    )
    unit = filter_row(Action.VIEW, Unit, args.get("unit"), "unit")
    if unit is not None:
        stmt = stmt.where(Station.under(unit.path))
    if args.get("status"):
        stmt = stmt.where(Station.status == args["status"])
    if args.get("q"):
        text = args["q"].strip()
        stmt = stmt.where(
            or_(
                Station.name.icontains(text, autoescape=True),
                Station.code.icontains(text, autoescape=True),
            )
        )
    return paginated(stmt, args)


@stations.route("/<int:station_id>")
@stations.response(200, StationSchema)
@stations.errors(401, 404)
def get_station(station_id: int):
    """One station."""
    return one(Action.VIEW, Station, station_id, selectinload(Station.amenity_rows))


@campaigns.route("")
@campaigns.arguments(CampaignArgs, location="query")
@campaigns.response(200, page_of(CampaignSchema, "CampaignPage"))
@campaigns.errors(401, 404)
def list_campaigns(args: dict):
    """List the campaigns you may see, newest first."""
    stmt = (
        select(Campaign)
        .where(visible(api_user(), Action.VIEW, Campaign))
        .order_by(Campaign.starts_on.desc(), Campaign.id.desc())
    )
    unit = filter_row(Action.VIEW, Unit, args.get("unit"), "unit")
    if unit is not None:
        stmt = stmt.where(Campaign.unit_id.in_(units_under(unit.path)))
    day = args.get("active_on")
    if day is not None:
        stmt = stmt.where(
            Campaign.starts_on <= day, or_(Campaign.ends_on.is_(None), Campaign.ends_on >= day)
        )
    return paginated(stmt, args)


@campaigns.route("/<int:campaign_id>")
@campaigns.response(200, CampaignSchema)
@campaigns.errors(401, 404)
def get_campaign(campaign_id: int):
    """One campaign."""
    return one(Action.VIEW, Campaign, campaign_id)
