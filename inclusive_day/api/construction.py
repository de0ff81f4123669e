"""Report figures: the construction progress of a unit's sub-units on a day, as numbers.

An operation of the `reports` resource (/api/v1/reports/construction), kept in its own
module with its schemas; resources.py loads it with the resource.
"""

from __future__ import annotations

from flask_babel import gettext as _
from marshmallow import fields

from inclusive_day.access.rule import Action
from inclusive_day.api.base import api_user, one
from inclusive_day.api.reports import reports
from inclusive_day.api.schemas import Amount, Day, Id, Schema
from inclusive_day.json_errors import ApiError
from inclusive_day.periods import local_today
from inclusive_day.reports.construction import (
    ConstructionScope,
    build_construction,
    check_days,
    default_since,
)
from inclusive_day.reports.recap import ReportError
from inclusive_day.units.models import Level, Unit
from inclusive_day.units.queries import top_units


class ConstructionArgs(Schema):
    unit = Id(metadata={"description": "Default: the highest unit you may see."})
    on = Day(metadata={"description": "The day counted. Default: today (China)."})
    since = Day(metadata={"description": "The gain counts from this day. Default: a month before."})


class ConstructionCoverageSchema(Schema):
    level = fields.Enum(Level, by_value=True, required=True)
    covered = fields.Integer(required=True, metadata={"description": "Units with an open station."})
    total = fields.Integer(required=True, metadata={"description": "Units of the level."})
    percent = fields.Float(allow_none=True, metadata={"description": "None: no unit."})
    goal = fields.Integer(allow_none=True, metadata={"description": "The goal in percent."})


class ConstructionFundsSchema(Schema):
    allocated = Amount(required=True)
    driven = Amount(required=True)
    leveraged = Amount(required=True)
    paid = Amount(required=True)


class ConstructionShareSchema(Schema):
    code = fields.String(required=True)
    name = fields.String(required=True)
    stations = fields.Integer(required=True, metadata={"description": "Stations open."})
    percent = fields.Float(required=True, metadata={"description": "Share of those built."})


class ConstructionLineSchema(Schema):
    unit_id = fields.Integer(required=True)
    name = fields.String(required=True)
    level = fields.Enum(Level, by_value=True, required=True)
    target = fields.Integer(allow_none=True)
    due_on = fields.Date(allow_none=True)
    built = fields.Integer(required=True, metadata={"description": "Stations open on `on`."})
    built_since = fields.Integer(required=True, metadata={"description": "Open on `since`."})
    gain = fields.Integer(required=True)
    percent = fields.Float(allow_none=True, metadata={"description": "Of the target."})
    still_to_build = fields.Integer(allow_none=True)
    rank = fields.Integer(allow_none=True, metadata={"description": "By share of target."})
    previous_rank = fields.Integer(allow_none=True, metadata={"description": "On `since`."})
    rank_change = fields.Integer(required=True, metadata={"description": "Places gained."})
    coverage = fields.List(fields.Nested(ConstructionCoverageSchema), required=True)
    funds = fields.Nested(ConstructionFundsSchema, required=True)


class ConstructionSchema(Schema):
    unit_id = fields.Integer(required=True)
    on = fields.Date(required=True)
    since = fields.Date(required=True)
    year = fields.Integer(required=True)
    target = fields.Integer(allow_none=True, metadata={"description": "The unit's own."})
    due_on = fields.Date(allow_none=True)
    handed_down = fields.Integer(allow_none=True, metadata={"description": "Sub-units' sum."})
    built = fields.Integer(required=True, metadata={"description": "Open on `on`, subtree."})
    built_since = fields.Integer(required=True)
    gain = fields.Integer(required=True)
    percent = fields.Float(allow_none=True)
    still_to_build = fields.Integer(allow_none=True)
    direct_built = fields.Integer(
        required=True, metadata={"description": "Run by the unit itself."}
    )
    coverage = fields.List(fields.Nested(ConstructionCoverageSchema), required=True)
    funds = fields.Nested(ConstructionFundsSchema, required=True)
    sub_units = fields.List(fields.Nested(ConstructionLineSchema), required=True)
    by_host_type = fields.List(fields.Nested(ConstructionShareSchema), required=True)
    by_label = fields.List(fields.Nested(ConstructionShareSchema), required=True)


def _coverage(items) -> list[dict]:
    return [
        {
            "level": c.level,
            "covered": c.covered,
            "total": c.total,
            "percent": c.percent,
            "goal": c.goal,
        }
        for c in items
    ]


def _shares(items) -> list[dict]:
    return [
        {"code": s.code, "name": s.name, "stations": s.stations, "percent": s.percent}
        for s in items
    ]


@reports.route("/construction", operation_id="getConstructionReport")
@reports.arguments(ConstructionArgs, location="query")
@reports.response(200, ConstructionSchema)
@reports.errors(401, 404, 422)
def construction(args: dict):
    """The construction progress notice's figures: each sub-unit's target, stations built on
    the day, share, gain, still to build, coverage, rank and funds; the subtree's totals;
    the stations open by host type and by label."""
    if args.get("unit") is None:
        tops = top_units(api_user(), Action.VIEW)
        if not tops:
            raise ApiError(404, _("Your role covers no union unit."), field="unit")
        unit = tops[0]
    else:
        unit = one(Action.VIEW, Unit, args["unit"])
    on = args.get("on") or local_today()
    since = args.get("since") or default_since(on)
    try:
        check_days(on, since)
    except ReportError as error:
        raise ApiError(422, error.message, field=error.field) from None
    report = build_construction(ConstructionScope(unit.id, on, since))
    return {
        "unit_id": unit.id,
        "on": on,
        "since": since,
        "year": report.year,
        "target": report.target,
        "due_on": report.due_on,
        "handed_down": report.handed_down,
        "built": report.built,
        "built_since": report.built_since,
        "gain": report.gain,
        "percent": report.percent,
        "still_to_build": report.still_to_build,
        "direct_built": report.direct_built,
        "coverage": _coverage(report.coverage),
        "funds": report.funds,
        "sub_units": [
            {
                "unit_id": r.unit_id,
                "name": r.name,
                "level": r.level,
                "target": r.target,
                "due_on": r.due_on,
                "built": r.built,
                "built_since": r.built_since,
                "gain": r.gain,
                "percent": r.percent,
                "still_to_build": r.still_to_build,
                "rank": r.rank,
                "previous_rank": r.previous_rank,
                "rank_change": r.rank_change,
                "coverage": _coverage(r.coverage),
                "funds": r.funds,
            }
            for r in report.ranked()
        ],
        "by_host_type": _shares(report.host_types),
        "by_label": _shares(report.labels),
    }
