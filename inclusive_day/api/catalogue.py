"""Read-only resources: the union tree, the stations, their partners and classification
sets (host types, labels), the campaigns and the activity themes."""

from __future__ import annotations

from sqlalchemy import exists, or_, select
from sqlalchemy.orm import selectinload

from inclusive_day.access.rule import Action, visible
from inclusive_day.api.base import ApiBlueprint, api_user, filter_row, one, paginated
from inclusive_day.api.schemas import (
    CampaignArgs,
    CampaignSchema,
    CatalogueSchema,
    PageArgs,
    PartnerArgs,
    PartnerSchema,
    StationArgs,
    StationSchema,
    ThemeSchema,
    UnitArgs,
    UnitSchema,
    page_of,
)
from inclusive_day.campaigns.models import Campaign, Theme
from inclusive_day.campaigns.services import theme_clause
from inclusive_day.extensions import db
from inclusive_day.json_errors import ApiError
from inclusive_day.stations.models import (
    HostType,
    Label,
    LabelAward,
    Partner,
    Station,
    StationPartner,
)
from inclusive_day.units.models import Unit, under, units_under

units = ApiBlueprint("units", __name__, description="The union tree, as far as you may see it.")
stations = ApiBlueprint("stations", __name__, description="Post stations.")
partners = ApiBlueprint("partners", __name__, description="Co-building partners.")
host_types = ApiBlueprint(
    "host-types", __name__, description="Where stations are housed: the catalogue."
)
labels = ApiBlueprint("labels", __name__, description="The labels stations hold: the catalogue.")
campaigns = ApiBlueprint("campaigns", __name__, description="Campaigns.")
themes = ApiBlueprint("themes", __name__, description="Activity themes: the catalogue.")

# What a station's answer carries besides its own columns, loaded a page at a time.
STATION_LOADS = (
    selectinload(Station.amenity_rows),
    selectinload(Station.host_type),
    selectinload(Station.label_awards).selectinload(LabelAward.label),
    selectinload(Station.partners),
)


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
        .options(*STATION_LOADS)
        .order_by(Station.code)
    )
    unit = filter_row(Action.VIEW, Unit, args.get("unit"), "unit")
    if unit is not None:
        stmt = stmt.where(Station.under(unit.path))
    if args.get("status"):
        stmt = stmt.where(Station.status == args["status"])
    if args.get("host_type"):
        host_type = _by_code(HostType, args["host_type"], "host_type")
        stmt = stmt.where(Station.host_type_id == host_type.id)
    if args.get("label"):
        label = _by_code(Label, args["label"], "label")
        stmt = stmt.where(
            exists().where(LabelAward.station_id == Station.id, LabelAward.label_id == label.id)
        )
    partner = filter_row(Action.VIEW, Partner, args.get("partner"), "partner")
    if partner is not None:
        stmt = stmt.where(
            exists().where(
                StationPartner.station_id == Station.id, StationPartner.partner_id == partner.id
            )
        )
    if args.get("open_on") is not None:
        stmt = stmt.where(Station.open_on(args["open_on"]))
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
    return one(Action.VIEW, Station, station_id, *STATION_LOADS)


def _by_code(model, code: str, field: str):
    """The catalogue value with this code, else 404 naming the filter."""
    value = db.session.scalar(select(model).where(model.code == code))
    if value is None:
        raise ApiError(404, field=field)
    return value


@partners.route("")
@partners.arguments(PartnerArgs, location="query")
@partners.response(200, page_of(PartnerSchema, "PartnerPage"))
@partners.errors(401, 404)
def list_partners(args: dict):
    """List the co-building partners you may see, by name."""
    stmt = (
        select(Partner)
        .where(visible(api_user(), Action.VIEW, Partner))
        .order_by(Partner.name, Partner.id)
    )
    unit = filter_row(Action.VIEW, Unit, args.get("unit"), "unit")
    if unit is not None:
        co_building = select(StationPartner.partner_id).join(
            Station, Station.id == StationPartner.station_id
        )
        stmt = stmt.where(
            or_(
                Partner.unit_id.in_(units_under(unit.path)),
                Partner.id.in_(co_building.where(Station.under(unit.path))),
            )
        )
    if args.get("q"):
        stmt = stmt.where(Partner.name.icontains(args["q"].strip(), autoescape=True))
    return paginated(stmt, args)


@partners.route("/<int:partner_id>")
@partners.response(200, PartnerSchema)
@partners.errors(401, 404)
def get_partner(partner_id: int):
    """One partner (its stations: /stations?partner=<id>)."""
    return one(Action.VIEW, Partner, partner_id)


@host_types.route("")
@host_types.arguments(PageArgs, location="query")
@host_types.response(200, page_of(CatalogueSchema, "HostTypePage"))
@host_types.errors(401)
def list_host_types(args: dict):
    """The host types a station may have (exactly one each), in catalogue order."""
    return paginated(select(HostType).order_by(HostType.position, HostType.id), args)


@labels.route("")
@labels.arguments(PageArgs, location="query")
@labels.response(200, page_of(CatalogueSchema, "LabelPage"))
@labels.errors(401)
def list_labels(args: dict):
    """The labels a station may hold (several, each with its year), in catalogue order."""
    return paginated(select(Label).order_by(Label.position, Label.id), args)


@themes.route("")
@themes.arguments(PageArgs, location="query")
@themes.response(200, page_of(ThemeSchema, "ThemePage"))
@themes.errors(401)
def list_themes(args: dict):
    """The themes you may plan activities with: the shared catalogue first, then those your
    units and the units above them added (a station takes its own unit's and those above)."""
    stmt = (
        select(Theme).where(theme_clause(api_user())).order_by(Theme.unit_id.is_not(None), Theme.id)
    )
    return paginated(stmt, args)


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
