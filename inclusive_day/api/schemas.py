"""What the API reads and writes, as marshmallow schemas (and so as the OpenAPI document).

Dates are ISO 8601 days; moments are ISO 8601 with their offset, in the units' zone (China
Standard Time, +08:00); money and quantities are decimal strings, never floats.
"""

from __future__ import annotations

import unicodedata
from datetime import date

import marshmallow as ma
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from marshmallow import fields, validate

from inclusive_day.activities.models import ActivityStatus
from inclusive_day.attendance.models import BeneficiaryGroup
from inclusive_day.i18n import PEOPLE_BY_QR_DESCRIPTION
from inclusive_day.periods import local_moment
from inclusive_day.sponsors.models import DonationKind, DonationStatus
from inclusive_day.sponsors.services import AMOUNT_MAX
from inclusive_day.stations.models import Amenity, StationStatus
from inclusive_day.units.models import Level

GROUP_CODES = [g.value for g in BeneficiaryGroup]
PER_PAGE = 50
MAX_PER_PAGE = 200
# Ids are 32-bit integers in the database: larger ones name nothing.
ID_MAX = 2**31 - 1
# Dates the API takes: wide enough for any campaign, narrow enough for date arithmetic.
FIRST_DAY = date(2000, 1, 1)
LAST_DAY = date(2099, 12, 31)


def _readable(text: str) -> bool:
    """No NUL and no lone surrogates: neither database can store them."""
    return "\x00" not in text and not any(unicodedata.category(c) == "Cs" for c in text)


class Text(fields.String):
    """A string a database can store."""

    def _deserialize(self, value, attr, data, **kwargs):
        text = super()._deserialize(value, attr, data, **kwargs)
        if not _readable(text):
            raise ma.ValidationError(_("This text cannot be stored."))
        return text


class Id(fields.Integer):
    """A row id."""

    def __init__(self, **kwargs) -> None:
        kwargs.setdefault("validate", validate.Range(min=1, max=ID_MAX))
        super().__init__(**kwargs)


class Day(fields.Date):
    """A calendar day from 2000 to 2099."""

    def __init__(self, **kwargs) -> None:
        kwargs.setdefault("validate", validate.Range(min=FIRST_DAY, max=LAST_DAY))
        super().__init__(**kwargs)


class LocalTime(fields.Time):
    """A wall-clock time in the units' zone, such as 09:00, without an offset."""

    def _deserialize(self, value, attr, data, **kwargs):
        moment = super()._deserialize(value, attr, data, **kwargs)
        if moment.tzinfo is not None:
            raise ma.ValidationError(_("Send the local time without an offset, such as 09:00."))
        return moment


class LocalDateTime(fields.DateTime):
    """A moment, shown with the units' offset (+08:00)."""

    def _serialize(self, value, attr, obj, **kwargs):
        if value is not None:
            value = local_moment(value)
        return super()._serialize(value, attr, obj, **kwargs)


DECIMAL_DOC = {"type": "string", "format": "decimal", "example": "12.50"}


def _in_money_range(value) -> None:
    if not 0 <= value <= AMOUNT_MAX:
        raise ma.ValidationError(_("Enter a number from 0 to %(max)s.", max=AMOUNT_MAX))


def Money(**kwargs) -> fields.Decimal:  # noqa: N802 - a field factory reads like a field
    """A sum in yuan (or a quantity) as a decimal string ("12.50"), from 0 to the columns'
    maximum; a JSON number is taken too."""
    return fields.Decimal(
        as_string=True,
        allow_nan=False,
        validate=_in_money_range,
        metadata={**DECIMAL_DOC, "pattern": r"^[0-9]{1,10}(\.[0-9]{1,2})?$"},
        **kwargs,
    )


def Amount(**kwargs) -> fields.Decimal:  # noqa: N802
    """A decimal shown as a string, never a float."""
    metadata = {**DECIMAL_DOC, **kwargs.pop("metadata", {})}
    return fields.Decimal(as_string=True, metadata=metadata, **kwargs)


def translate_limits(validator: validate.Validator) -> None:
    """Put a range's or a length's messages in the request's language (marshmallow's own are
    English only); the {min} and {max} in them are marshmallow's, filled when it refuses."""
    if isinstance(validator, validate.Range):
        low = _l("at least {min}") if validator.min_inclusive else _l("more than {min}")
        high = _l("at most {max}") if validator.max_inclusive else _l("less than {max}")
        validator.message_min = _l("Enter a value %(low)s.", low=low)
        validator.message_max = _l("Enter a value %(high)s.", high=high)
        validator.message_all = _l("Enter a value %(low)s and %(high)s.", low=low, high=high)
    elif isinstance(validator, validate.Length):
        validator.message_min = _l("Enter at least {min} characters or items.")
        validator.message_max = _l("Enter at most {max} characters or items.")
        validator.message_all = _l("Enter {min} to {max} characters or items.")
        validator.message_equal = _l("Enter exactly {equal} characters or items.")


class Schema(ma.Schema):
    """Every API schema: messages in the request's language."""

    def on_bind_field(self, field_name: str, field_obj: fields.Field) -> None:
        """Translate the common validation messages, and those of ranges and lengths."""
        common = {
            "required": _l("This field is required."),
            "null": _l("This field may not be empty."),
            "invalid": _l("This value is not valid."),
        }
        for key, message in common.items():
            if key in field_obj.error_messages:
                field_obj.error_messages[key] = message
        for field in (field_obj, getattr(field_obj, "inner", None)):
            for validator in getattr(field, "validators", ()):
                translate_limits(validator)


# ---- pagination ----------------------------------------------------------------------------


class PageArgs(Schema):
    """Which page of a list: `page` from 1, `per_page` up to 200."""

    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=ID_MAX))
    per_page = fields.Integer(
        load_default=PER_PAGE, validate=validate.Range(min=1, max=MAX_PER_PAGE)
    )


def page_of(item: type[Schema], name: str) -> type[Schema]:
    """The envelope of a list: {"items": [...], "page": n, "per_page": n, "total": n}."""
    return Schema.from_dict(
        {
            "items": fields.List(fields.Nested(item), required=True),
            "page": fields.Integer(required=True),
            "per_page": fields.Integer(required=True),
            "total": fields.Integer(
                required=True, metadata={"description": "Items over all pages."}
            ),
        },
        name=name,
    )


# ---- units, stations, campaigns ------------------------------------------------------------


class UnitSchema(Schema):
    id = fields.Integer(required=True)
    parent_id = fields.Integer(allow_none=True)
    name = fields.String(required=True)
    level = fields.Enum(Level, by_value=True, required=True)
    code = fields.String(allow_none=True)
    path = fields.String(
        required=True, metadata={"description": "The ids from the root, e.g. /1/7/42/."}
    )
    timezone = fields.String()


class UnitArgs(PageArgs):
    under = Id(metadata={"description": "Only this unit and the units below it."})
    level = fields.Enum(Level, by_value=True)


class Code(fields.String):
    """A catalogue code, such as gas_station."""

    def __init__(self, **kwargs) -> None:
        kwargs.setdefault("validate", validate.Regexp(r"^[a-z0-9_]{1,40}$"))
        super().__init__(**kwargs)


class HostTypeRef(Schema):
    code = fields.String(required=True)
    name = fields.String(required=True, metadata={"description": "In the request's language."})


class StationLabel(Schema):
    """A label a station holds (read from its award)."""

    code = fields.String(required=True, attribute="label.code")
    name = fields.String(
        required=True,
        attribute="label.name",
        metadata={"description": "In the request's language."},
    )
    year = fields.Integer(required=True, metadata={"description": "The year it was awarded."})
    awarded_by_id = fields.Integer(
        required=True, metadata={"description": "The union unit that awarded it."}
    )


class PartnerRef(Schema):
    id = fields.Integer(required=True)
    name = fields.String(required=True)


class StationSchema(Schema):
    id = fields.Integer(required=True)
    unit_id = fields.Integer(required=True)
    code = fields.String(required=True)
    name = fields.String(required=True)
    address = fields.String()
    latitude = fields.Float(allow_none=True)
    longitude = fields.Float(allow_none=True)
    phone = fields.String()
    opening_hours = fields.String()
    status = fields.Enum(
        StationStatus,
        by_value=True,
        required=True,
        metadata={"description": "Planned, under construction, active, suspended or closed."},
    )
    opened_on = fields.Date(
        allow_none=True, metadata={"description": "The local day it opened; none before."}
    )
    closed_on = fields.Date(allow_none=True, metadata={"description": "The local day it closed."})
    closure_reason = fields.String()
    host_type = fields.Nested(HostTypeRef, required=True)
    labels = fields.List(fields.Nested(StationLabel), attribute="label_awards")
    partners = fields.List(fields.Nested(PartnerRef))
    amenities = fields.List(fields.Enum(Amenity, by_value=True))


class StationArgs(PageArgs):
    unit = Id(metadata={"description": "Only stations of this unit's subtree."})
    status = fields.Enum(StationStatus, by_value=True)
    host_type = Code(metadata={"description": "Only stations of this host type (its code)."})
    label = Code(metadata={"description": "Only stations holding this label (its code)."})
    partner = Id(metadata={"description": "Only stations this partner co-builds."})
    open_on = Day(
        metadata={"description": "Only stations open on this day: opened, and not yet closed."}
    )
    q = Text(
        validate=validate.Length(max=120),
        metadata={"description": "In name or code, ignoring case."},
    )


class CatalogueSchema(Schema):
    """A value of a classification set (a host type, a label)."""

    id = fields.Integer(required=True)
    code = fields.String(required=True)
    name = fields.String(required=True, metadata={"description": "In the request's language."})
    name_zh = fields.String(required=True)
    name_en = fields.String(required=True)
    position = fields.Integer()


class PartnerSchema(Schema):
    id = fields.Integer(required=True)
    unit_id = fields.Integer(
        required=True, metadata={"description": "The union unit that keeps the record."}
    )
    name = fields.String(required=True)
    contact_name = fields.String()
    contact_phone = fields.String()
    sponsor_id = fields.Integer(
        allow_none=True, metadata={"description": "The same organisation as a sponsor."}
    )


class PartnerArgs(PageArgs):
    unit = Id(
        metadata={
            "description": "Only partners kept by this unit's subtree or co-building its stations."
        }
    )
    q = Text(validate=validate.Length(max=120), metadata={"description": "In the name."})


class ThemeSchema(Schema):
    """An activity theme: what `theme_id` names when an activity is planned."""

    id = fields.Integer(required=True)
    code = fields.String(required=True)
    name = fields.String(required=True, metadata={"description": "In the request's language."})
    name_zh = fields.String(required=True)
    name_en = fields.String(required=True)
    colour = fields.String(required=True, metadata={"description": "#rrggbb, for calendars."})
    unit_id = fields.Integer(
        allow_none=True,
        metadata={
            "description": "The union unit that added it, usable at its subtree's stations; "
            "none for the shared catalogue, usable everywhere."
        },
    )


class CampaignSchema(Schema):
    id = fields.Integer(required=True)
    unit_id = fields.Integer(required=True)
    name = fields.String(required=True)
    starts_on = fields.Date(required=True)
    ends_on = fields.Date(allow_none=True)
    description = fields.String()
    is_public = fields.Boolean()


class CampaignArgs(PageArgs):
    unit = Id(metadata={"description": "Only campaigns owned by this unit or units below it."})
    active_on = Day(metadata={"description": "Only campaigns running on this day."})


# ---- activities ----------------------------------------------------------------------------


class ActivitySchema(Schema):
    id = fields.Integer(required=True)
    uid = fields.String(required=True)
    sequence = fields.Integer()
    campaign_id = fields.Integer(required=True)
    station_id = fields.Integer(required=True)
    theme_id = fields.Integer(required=True)
    series_id = fields.Integer(allow_none=True)
    title = fields.String(required=True)
    starts_at = LocalDateTime(required=True)
    ends_at = LocalDateTime(required=True)
    status = fields.Enum(ActivityStatus, by_value=True, required=True)
    capacity = fields.Integer(allow_none=True)
    groups = fields.Function(
        lambda a: [g for g in a.target_groups.split(",") if g],
        metadata={"type": "array", "items": {"type": "string", "enum": GROUP_CODES}},
    )
    donation_ids = fields.Function(
        lambda a: [d.id for d in a.donations],
        metadata={"type": "array", "items": {"type": "integer"}},
    )
    description = fields.String()
    cancel_reason = fields.String(allow_none=True)


class ActivityArgs(PageArgs):
    unit = Id(metadata={"description": "Only activities at stations of this unit's subtree."})
    campaign = Id()
    station = Id()
    start = Day(data_key="from", metadata={"description": "Starting on or after this local day."})
    end = Day(data_key="to", metadata={"description": "Starting on or before this local day."})
    status = fields.Enum(ActivityStatus, by_value=True)

    @ma.validates_schema
    def _period(self, data: dict, **_kwargs) -> None:
        if data.get("start") and data.get("end") and data["end"] < data["start"]:
            raise ma.ValidationError(_("The period ends before it starts."), "to")


class ActivityPatch(Schema):
    """The fields of an activity an organiser sets; times are local (+08:00) on `day`."""

    campaign_id = Id()
    station_id = Id()
    theme_id = Id()
    title = Text(validate=validate.Length(min=1, max=200))
    day = Day()
    starts_time = LocalTime(metadata={"description": "Local time (+08:00), e.g. 09:00."})
    ends_time = LocalTime(metadata={"description": "Local time, after starts_time."})
    capacity = fields.Integer(allow_none=True, validate=validate.Range(min=0, max=100_000))
    groups = fields.List(fields.String(validate=validate.OneOf(GROUP_CODES)))
    donation_ids = fields.List(Id())
    description = Text(validate=validate.Length(max=4000))
    keep_conflicts = fields.Boolean(
        load_default=False,
        metadata={"description": "Save even if the station is busy at that time."},
    )


class ActivityIn(ActivityPatch):
    """A new activity."""

    campaign_id = Id(required=True)
    station_id = Id(required=True)
    theme_id = Id(required=True)
    title = Text(required=True, validate=validate.Length(min=1, max=200))
    day = Day(required=True)
    starts_time = LocalTime(required=True)
    ends_time = LocalTime(required=True)
    uid = fields.String(
        validate=validate.Length(max=80),
        metadata={
            "description": "The client's id for this plan, any text: sending it again makes "
            "nothing new and answers the activity the first request made. One of the form "
            "<uuid4>@inclusive-day becomes the activity's calendar uid as it is; any other is "
            "a resend key, like the Idempotency-Key header (which wins when both are sent)."
        },
    )


# ---- attendance ---------------------------------------------------------------------------

GroupCounts = Schema.from_dict(
    {g.value: fields.Integer(validate=validate.Range(min=0)) for g in BeneficiaryGroup},
    name="GroupCounts",
)


class HeadcountIn(Schema):
    counts = fields.Nested(
        GroupCounts,
        required=True,
        metadata={"description": "The new headcount per beneficiary group."},
    )
    expected = fields.Nested(
        GroupCounts,
        metadata={"description": "The counts the client last saw; if they moved, 409."},
    )


class AttendanceSchema(Schema):
    activity_id = fields.Integer(required=True)
    served = fields.Integer(required=True, metadata={"description": "Person-times."})
    headcount = fields.Integer(required=True)
    checkins = fields.Integer(required=True)
    people = fields.Integer(required=True, metadata={"description": PEOPLE_BY_QR_DESCRIPTION})
    by_group = fields.Nested(GroupCounts, required=True)
    headcounts = fields.Nested(GroupCounts, required=True)


class CheckInIn(Schema):
    token = fields.String(
        metadata={
            "description": "The activity's check-in token: the last part of the link in its "
            "QR code (/c/<token>). Anyone may check in with it."
        }
    )
    activity_id = fields.Integer(
        metadata={
            "description": "Instead of `token`, with an API token (read and write) that "
            "records attendance at the activity: its id."
        }
    )
    phone = fields.String(required=True, metadata={"description": "11-digit mobile number."})
    group = fields.String(required=True, validate=validate.OneOf(GROUP_CODES))
    nonce = fields.String(
        required=True, metadata={"description": "8 to 64 of A-Z a-z 0-9 - _; sent again on retry."}
    )


class CheckInSchema(Schema):
    id = fields.Integer(required=True)
    activity_id = fields.Integer(required=True)
    group = fields.String(required=True)
    nonce = fields.String(required=True)
    source = fields.String(required=True)
    checked_in_at = fields.String(
        required=True,
        metadata={"format": "date-time", "description": "With the units' offset (+08:00)."},
    )
    annulled = fields.Boolean(required=True)


# ---- donations -----------------------------------------------------------------------------


class DonationSchema(Schema):
    id = fields.Integer(required=True)
    sponsor_id = fields.Integer(required=True)
    campaign_id = fields.Integer(allow_none=True)
    station_id = fields.Integer(allow_none=True)
    kind = fields.Enum(DonationKind, by_value=True, required=True)
    description = fields.String(required=True)
    quantity = Amount(allow_none=True)
    unit_label = fields.String()
    unit_value = Amount(allow_none=True)
    value = Amount(required=True)
    status = fields.Enum(DonationStatus, by_value=True, required=True)
    pledged_on = fields.Date(required=True)
    received_on = fields.Date(allow_none=True)
    distributed = Amount()
    receipt_number = fields.String(allow_none=True)


class DonationArgs(PageArgs):
    campaign = Id()
    status = fields.Enum(DonationStatus, by_value=True)


class DonationIn(Schema):
    """A pledge: cash (`value`), goods (`quantity`, `unit_label`, a worth) or a service."""

    sponsor_id = Id(required=True)
    kind = fields.Enum(DonationKind, by_value=True, required=True)
    description = Text(required=True, validate=validate.Length(min=1, max=200))
    quantity = Money(allow_none=True)
    unit_label = Text(validate=validate.Length(max=20))
    unit_value = Money(allow_none=True)
    value = Money(allow_none=True)
    campaign_id = Id(allow_none=True)
    station_id = Id(allow_none=True)
    pledged_on = Day(metadata={"description": "Default: today."})
    note = Text(validate=validate.Length(max=2000))
    uid = fields.String(
        validate=validate.Length(max=32),
        metadata={
            "description": "The client's id for this pledge, any text up to 32 characters: "
            "sending it again makes nothing new and answers the donation the first request "
            "made. The Idempotency-Key header does the same, and wins when both are sent."
        },
    )


# ---- reports -------------------------------------------------------------------------------


class SummaryArgs(Schema):
    campaign = Id(required=True)
    unit = Id(metadata={"description": "Default: the highest unit you follow it from."})
    start = Day(data_key="from", metadata={"description": "Default: the campaign's start."})
    end = Day(data_key="to", metadata={"description": "Default: its end, or today."})


class SummaryLine(Schema):
    key = fields.String(required=True)
    name = fields.String(required=True)
    activities = fields.Integer(required=True, metadata={"description": "Held so far."})
    served = fields.Integer(required=True, metadata={"description": "Person-times."})
    stations = fields.Integer(
        required=True, metadata={"description": "Stations that held at least one of them."}
    )


class GroupSummaryLine(Schema):
    """A beneficiary group's person-times: its people come to activities held for anyone, so
    no activities or stations are counted per group."""

    key = fields.String(required=True, metadata={"description": "The group's code."})
    name = fields.String(required=True)
    served = fields.Integer(required=True, metadata={"description": "Person-times."})


class NetworkSummaryLine(Schema):
    key = fields.String(required=True, metadata={"description": "The catalogue code."})
    name = fields.String(required=True)
    open_stations = fields.Integer(
        required=True, metadata={"description": "Stations of the subtree open on the last day."}
    )
    activities = fields.Integer(required=True, metadata={"description": "Held at them."})
    served = fields.Integer(required=True, metadata={"description": "Person-times."})


class TrafficSummaryLine(Schema):
    key = fields.String(
        required=True,
        metadata={"description": "A sub-unit's id, a month as YYYY-MM or a group's code."},
    )
    name = fields.String(required=True)
    visits = fields.Integer(
        required=True, metadata={"description": "Door visits: person-times at station doors."}
    )
    visitors = fields.Integer(
        required=True,
        metadata={"description": "Distinct people among those visits, within this line."},
    )


class TrafficSummary(Schema):
    visits = fields.Integer(
        required=True,
        metadata={
            "description": "Door visits (one per person, station and day) at the subtree's "
            "stations over the period's days."
        },
    )
    visitors = fields.Integer(
        required=True, metadata={"description": "Distinct people among those visits."}
    )
    by_unit = fields.List(fields.Nested(TrafficSummaryLine), required=True)
    by_month = fields.List(fields.Nested(TrafficSummaryLine), required=True)
    by_group = fields.List(
        fields.Nested(TrafficSummaryLine),
        required=True,
        metadata={"description": "The groups with at least one visit, most visits first."},
    )


class ShelfSummary(Schema):
    given = fields.Integer(required=True, metadata={"description": "Items put on the shelves."})
    gifts = fields.Integer(required=True, metadata={"description": "Puttings recorded."})
    taken = fields.Integer(required=True, metadata={"description": "Items taken off them."})
    takings = fields.Integer(required=True, metadata={"description": "Takings recorded."})
    open_shelves = fields.Integer(
        required=True, metadata={"description": "Stations of the subtree with an open shelf now."}
    )


class VolunteerSummary(Schema):
    hours = fields.Float(
        required=True,
        metadata={"description": "Confirmed volunteer hours, to one decimal place."},
    )
    minutes = fields.Integer(required=True, metadata={"description": "The same, in minutes."})
    sessions = fields.Integer(required=True, metadata={"description": "Confirmed sessions."})
    volunteers = fields.Integer(
        required=True, metadata={"description": "Distinct volunteers who served them."}
    )
    teams = fields.Integer(required=True, metadata={"description": "Distinct teams."})


class SummarySchema(Schema):
    campaign_id = fields.Integer(required=True)
    unit_id = fields.Integer(required=True)
    start = fields.Date(required=True, data_key="from")
    end = fields.Date(required=True, data_key="to")
    activities = fields.Integer(required=True, metadata={"description": "Held so far."})
    planned = fields.Integer(required=True, metadata={"description": "Still to come."})
    served = fields.Integer(required=True, metadata={"description": "Person-times."})
    people = fields.Integer(required=True, metadata={"description": PEOPLE_BY_QR_DESCRIPTION})
    stations = fields.Integer(required=True, metadata={"description": "Stations involved."})
    new_stations = fields.Integer(
        required=True, metadata={"description": "Stations of the subtree opened in the period."}
    )
    open_stations = fields.Integer(
        required=True, metadata={"description": "Stations of the subtree open on its last day."}
    )
    by_theme = fields.List(fields.Nested(SummaryLine), required=True)
    sponsors = fields.Integer(
        required=True,
        metadata={"description": "Sponsors whose gifts to the campaign were received."},
    )
    donations = fields.Integer(required=True, metadata={"description": "Gifts received."})
    donated_value = Amount(
        required=True, metadata={"description": "Their worth in yuan (cash and in kind)."}
    )
    by_group = fields.List(fields.Nested(GroupSummaryLine), required=True)
    by_unit = fields.List(fields.Nested(SummaryLine), required=True)
    by_host_type = fields.List(fields.Nested(NetworkSummaryLine), required=True)
    by_label = fields.List(
        fields.Nested(NetworkSummaryLine),
        required=True,
        metadata={"description": "A station counts under every label it holds."},
    )
    traffic = fields.Nested(
        TrafficSummary,
        required=True,
        metadata={
            "description": "The stations' door traffic over the period, whatever the campaign: "
            "a door scan during an activity counts once here and once in served; never add "
            "the two."
        },
    )
    shelf = fields.Nested(
        ShelfSummary,
        required=True,
        metadata={
            "description": "The goods-sharing shelves (爱心互献) of the subtree over the period's "
            "days, whatever the campaign."
        },
    )
    volunteers = fields.Nested(
        VolunteerSummary,
        required=True,
        metadata={
            "description": "Volunteer sessions confirmed by the stations, at the subtree's "
            "stations over the period's days, whatever the campaign."
        },
    )
