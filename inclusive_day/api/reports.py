"""Report figures: a campaign's recap over a unit's subtree and a period, as numbers."""

from __future__ import annotations

from sqlalchemy.orm import joinedload

from inclusive_day.access.rule import Action
from inclusive_day.api.base import ApiBlueprint, api_user, one
from inclusive_day.api.schemas import SummaryArgs, SummarySchema
from inclusive_day.campaigns.models import Campaign
from inclusive_day.campaigns.targets import focus_units
from inclusive_day.json_errors import ApiError
from inclusive_day.reports.recap import (
    RecapScope,
    ReportError,
    build_recap,
    check_period,
    default_period,
)
from inclusive_day.shelf.queries import shelf_rollup
from inclusive_day.units.models import Unit

reports = ApiBlueprint("reports", __name__, description="Report figures.")


def _network(lines) -> list[dict]:
    return [
        {
            "key": line.key,
            "name": line.name,
            "open_stations": line.open_stations,
            "activities": line.activities,
            "served": line.served,
        }
        for line in lines
    ]


def _lines(lines) -> list[dict]:
    return [
        {
            "key": line.key,
            "name": line.name,
            "activities": line.activities,
            "served": line.served,
            "stations": line.stations,
        }
        for line in lines
    ]


def _traffic_lines(lines) -> list[dict]:
    return [
        {"key": line.key, "name": line.name, "visits": line.visits, "visitors": line.visitors}
        for line in lines
    ]


def _traffic(section) -> dict:
    return {
        "visits": section.visits,
        "visitors": section.visitors,
        "by_unit": _traffic_lines(section.units),
        "by_month": _traffic_lines(section.months),
        "by_group": _traffic_lines(section.groups),
    }


def _shelf(rollup) -> dict:
    total = rollup.total
    return {
        "given": total.given,
        "gifts": total.gifts,
        "taken": total.taken,
        "takings": total.takings,
        "open_shelves": rollup.open_shelves,
    }


@reports.route("/summary", operation_id="getRecapSummary")
@reports.arguments(SummaryArgs, location="query")
@reports.response(200, SummarySchema)
@reports.errors(401, 404)
def summary(args: dict):
    """The recap's figures: activities held and planned, served, unique people, stations
    (involved, opened in the period, open at its end), and the same by theme, beneficiary
    group, sub-unit, host type and label (the recap page's numbers); and the stations' door
    traffic over the period (visits and distinct visitors, by sub-unit, month and group); the
    goods given and taken at its shelves; and the volunteer hours the stations confirmed."""
    user = api_user()
    campaign = one(Action.VIEW, Campaign, args["campaign"], joinedload(Campaign.unit))
    if args.get("unit") is None:
        units = focus_units(user, campaign)
        if not units:
            raise ApiError(404, field="unit")
        unit = units[0]
    else:
        unit = one(Action.VIEW, Unit, args["unit"])
        if not unit.is_within(campaign.unit):
            raise ApiError(404, field="unit")
    start, end = default_period(campaign)
    start, end = args.get("start") or start, args.get("end") or end
    try:
        check_period(start, end)
    except ReportError as error:
        raise ApiError(422, error.message, field=error.field) from None
    recap = build_recap(RecapScope(campaign.id, unit.id, start, end))
    head = recap.headline
    return {
        "campaign_id": campaign.id,
        "unit_id": unit.id,
        "start": start,
        "end": end,
        "activities": head.activities,
        "planned": head.planned,
        "served": head.served,
        "people": head.people,
        "stations": head.stations,
        "new_stations": head.new_stations,
        "open_stations": head.open_stations,
        "sponsors": head.sponsors,
        "donations": head.donations,
        "donated_value": head.value,
        "by_theme": _lines(recap.themes),
        "by_group": [
            {"key": line.key, "name": line.name, "served": line.served} for line in recap.groups
        ],
        "by_unit": _lines(recap.units),
        "by_host_type": _network(recap.host_types),
        "by_label": _network(recap.labels),
        "traffic": _traffic(recap.traffic),
        "shelf": _shelf(shelf_rollup(unit, start, end)),
        "volunteers": {
            "hours": recap.volunteers.hours,
            "minutes": recap.volunteers.minutes,
            "sessions": recap.volunteers.sessions,
            "volunteers": recap.volunteers.volunteers,
            "teams": recap.volunteers.teams,
        },
    }
