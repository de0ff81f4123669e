"""The audit log's pages: the events of the subtrees a user organises, and one record's history.

Organisers see the events under the units they may edit; administrators see every event,
those above all units too. Everyone else gets a 404, as for any page they may not see.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from flask import abort, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from sqlalchemy import ColumnElement, and_, func, or_, select

from inclusive_day.access.rule import (
    Action,
    get_or_404,
    may_read_log,
    reach,
    visible,
    visible_events,
)
from inclusive_day.activities.models import ActivityStatus
from inclusive_day.attendance.models import BeneficiaryGroup, CheckIn, Headcount
from inclusive_day.audit import bp
from inclusive_day.audit.models import AuditEvent
from inclusive_day.audit.specs import ACTIONS, OBJECT_TYPES
from inclusive_day.auth.models import Role
from inclusive_day.enums import LabelledEnum
from inclusive_day.extensions import db
from inclusive_day.i18n import when
from inclusive_day.periods import DEFAULT_ZONE
from inclusive_day.sponsors.models import (
    Distribution,
    DonationKind,
    DonationStatus,
    SponsorKind,
    SponsorStatus,
)
from inclusive_day.stations.geo import CoordSystem
from inclusive_day.stations.models import Amenity, StationStatus
from inclusive_day.units.models import Level, Unit, under
from inclusive_day.units.queries import unit_choices

PAGE_SIZE = 50
# How many levels below the user's own units the unit filter lists.
FILTER_DEPTH = 2
# A long text is cut to this many characters in the list.
SHOWN_CHARS = 80

OBJECT_TYPE_LABELS = {
    "unit": _l("Union unit"),
    "station": _l("Station"),
    "campaign": _l("Campaign"),
    "activity": _l("Activity"),
    "series": _l("Series"),
    "headcount": _l("Headcount"),
    "checkin": _l("Check-in"),
    "sponsor": _l("Sponsor"),
    "donation": _l("Donation"),
    "distribution": _l("Hand-out"),
    "role_grant": _l("Role grant"),
    "user": _l("User account"),
}
ACTION_LABELS = {
    "create": _l("created"),
    "update": _l("changed"),
    "delete": _l("deleted"),
    "cancel": _l("cancelled"),
    "annul": _l("annulled"),
    "move": _l("moved"),
    "tally": _l("tallied"),
    "review": _l("reviewed"),
    "receive": _l("received"),
    "distribute": _l("handed out"),
    "import": _l("imported"),
    "password_changed": _l("password changed"),
    "password_reset": _l("password reset"),
}
ACTION_COLOURS = {"create": "success", "delete": "danger", "cancel": "danger", "annul": "danger"}
FIELD_LABELS = {
    "name": _l("Name"),
    "code": _l("Code"),
    "title": _l("Title"),
    "description": _l("Description"),
    "status": _l("Status"),
    "level": _l("Level"),
    "kind": _l("Kind"),
    "role": _l("Role"),
    "note": _l("Note"),
    "value": _l("Value"),
    "address": _l("Address"),
    "latitude": _l("Latitude"),
    "longitude": _l("Longitude"),
    "coord_system": _l("Coordinates taken in"),
    "phone": _l("Contact phone"),
    "contact_phone": _l("Contact phone"),
    "contact_name": _l("Contact person"),
    "open_24h": _l("Open 24 hours, unattended"),
    "opening_hours": _l("Opening hours"),
    "partner": _l("Co-building partner"),
    "services": _l("Characteristic services"),
    "amenities": _l("Amenities"),
    "starts_at": _l("Starts at"),
    "ends_at": _l("Ends at"),
    "starts_on": _l("Starts on"),
    "ends_on": _l("Ends on"),
    "starts_time": _l("Starts at"),
    "ends_time": _l("Ends at"),
    "first_date": _l("Date, or the first date"),
    "rule": _l("Repeats"),
    "capacity": _l("Places or quota"),
    "target_groups": _l("Meant for"),
    "cancel_reason": _l("Why is it cancelled?"),
    "cancelled_at": _l("Cancelled at"),
    "campaign_id": _l("Campaign"),
    "station_id": _l("Station"),
    "theme_id": _l("Theme"),
    "unit_id": _l("Union unit"),
    "parent_id": _l("Parent unit"),
    "parent": _l("Parent unit"),
    "sponsor_id": _l("Sponsor"),
    "user_id": _l("User account"),
    "donation_id": _l("Donation"),
    "activity_id": _l("Activity"),
    "series_id": _l("Series"),
    "donations": _l("Donations handed out"),
    "quantity": _l("How many"),
    "unit_label": _l("Counted in"),
    "unit_value": _l("Worth of one, in yuan"),
    "distributed": _l("Handed out so far"),
    "distributed_on": _l("Handed out on"),
    "pledged_on": _l("Pledged on"),
    "received_on": _l("Received on"),
    "receipt_number": _l("Receipt number"),
    "public_name": _l("Name on the honour roll"),
    "is_anonymous": _l("Anonymous"),
    "on_honour_roll": _l("On the honour roll"),
    "is_public": _l("Public: shown on station pages and calendars"),
    "review_note": _l("Note"),
    "annulled_at": _l("Annulled at"),
    "annul_reason": _l("Reason"),
    "group": _l("Group"),
    "username": _l("User name"),
    "display_name": _l("Display name"),
    "active": _l("Active"),
    "must_change_password": _l("Must change password"),
    "timezone": _l("Time zone"),
    "path": _l("Place in the tree"),
    "activities": _l("Activities"),
    "stations": _l("Stations"),
    "units": _l("Units moved"),
    "created": _l("Created"),
    "updated": _l("Updated"),
    "codes": _l("Station codes"),
}
# Fields whose values are enum members, shown by their labels.
ENUM_FIELDS: dict[tuple[str | None, str], type[LabelledEnum]] = {
    ("activity", "status"): ActivityStatus,
    ("station", "status"): StationStatus,
    ("sponsor", "status"): SponsorStatus,
    ("donation", "status"): DonationStatus,
    ("sponsor", "kind"): SponsorKind,
    ("donation", "kind"): DonationKind,
    (None, "role"): Role,
    (None, "level"): Level,
    (None, "group"): BeneficiaryGroup,
    (None, "amenities"): Amenity,
    (None, "coord_system"): CoordSystem,
}
GROUP_VALUES = {g.value: g for g in BeneficiaryGroup}


# ---- who may read the log -------------------------------------------------------------------


@bp.app_context_processor
def _history_link() -> dict:
    def audit_history_url(object_type: str, object_id: int) -> str | None:
        """The history page of a record, for users who may read the log (else None)."""
        if not current_user.is_authenticated or not may_read_log(current_user):
            return None
        return url_for("audit.history", object_type=object_type, object_id=object_id)

    return {"audit_history_url": audit_history_url}


# ---- showing values -------------------------------------------------------------------------


def _enum_label(cls: type[LabelledEnum], value) -> str:
    try:
        return cls(value).label
    except ValueError:
        return str(value)


def show_value(object_type: str, key: str, value) -> str:
    """A stored before or after value as a person reads it."""
    if value is None or value == "" or value == []:
        return "—"
    cls = ENUM_FIELDS.get((object_type, key)) or ENUM_FIELDS.get((None, key))
    if isinstance(value, list):
        if cls is not None:
            return ", ".join(_enum_label(cls, v) for v in value)
        return ", ".join(str(v) for v in value)
    if cls is not None:
        return _enum_label(cls, value)
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    if isinstance(value, str) and key.endswith("_at"):
        try:
            return when(datetime.fromisoformat(value))
        except ValueError:
            pass
    if isinstance(value, str) and (key.endswith("_on") or key.endswith("_date")):
        try:
            return when(date.fromisoformat(value))
        except ValueError:
            pass
    if key == "target_groups" and isinstance(value, str):
        return ", ".join(_enum_label(BeneficiaryGroup, v) for v in value.split(",") if v)
    text = str(value)
    return text if len(text) <= SHOWN_CHARS else text[: SHOWN_CHARS - 1] + "…"


def field_label(key: str) -> str:
    """A changed field's name; a headcount's changes are keyed by beneficiary group."""
    if key in GROUP_VALUES:
        return GROUP_VALUES[key].label
    label = FIELD_LABELS.get(key)
    return str(label) if label is not None else key


@dataclass
class Row:
    """One event as the list shows it."""

    event: AuditEvent
    action: str
    colour: str
    object_type: str
    link: str | None
    changes: list[tuple[str, str, str]]


def _link(event: AuditEvent) -> str | None:
    """The record's page, for the kinds that have one (it may since have gone: then a 404)."""
    if event.object_id is None or event.action == "delete":
        return None
    endpoints = {
        "activity": ("activities.show", "activity_id"),
        "station": ("stations.show", "station_id"),
        "campaign": ("campaigns.show", "campaign_id"),
        "sponsor": ("sponsors.show", "sponsor_id"),
        "donation": ("sponsors.donation", "donation_id"),
        "series": ("activities.show_series", "series_id"),
    }
    if event.object_type not in endpoints:
        return None
    endpoint, arg = endpoints[event.object_type]
    return url_for(endpoint, **{arg: event.object_id})


def rows_of(events: list[AuditEvent]) -> list[Row]:
    """Events made ready for the page: labels, colours, links and before → after pairs."""
    rows = []
    for e in events:
        changes = [
            (
                field_label(key),
                show_value(e.object_type, key, pair[0] if pair else None),
                show_value(e.object_type, key, pair[1] if pair and len(pair) > 1 else None),
            )
            for key, pair in (e.changes or {}).items()
        ]
        rows.append(
            Row(
                event=e,
                action=str(ACTION_LABELS.get(e.action, e.action)),
                colour=ACTION_COLOURS.get(e.action, "secondary"),
                object_type=str(OBJECT_TYPE_LABELS.get(e.object_type, e.object_type)),
                link=_link(e),
                changes=changes,
            )
        )
    return rows


# ---- filters --------------------------------------------------------------------------------


@dataclass
class Filters:
    """The list's filters, read from the query string and checked."""

    unit: Unit | None = None
    object_type: str = ""
    action: str = ""
    actor: str = ""
    start: date | None = None
    end: date | None = None

    def clauses(self) -> list[ColumnElement[bool]]:
        """WHERE clauses for the chosen filters."""
        out = []
        if self.unit is not None:
            out.append(under(AuditEvent.unit_path, self.unit.path))
        if self.object_type:
            out.append(AuditEvent.object_type == self.object_type)
        if self.action:
            out.append(AuditEvent.action == self.action)
        if self.actor:
            out.append(func.lower(AuditEvent.actor) == self.actor.lower())
        if self.start is not None:
            out.append(AuditEvent.at >= _utc_midnight(self.start))
        if self.end is not None:
            out.append(AuditEvent.at < _utc_midnight(self.end + timedelta(days=1)))
        return out

    def params(self) -> dict:
        """The query string of these filters (for the pager's links)."""
        values = {
            "unit": self.unit.id if self.unit else None,
            "type": self.object_type,
            "action": self.action,
            "user": self.actor,
            "from": self.start.isoformat() if self.start else None,
            "to": self.end.isoformat() if self.end else None,
        }
        return {k: v for k, v in values.items() if v}


def _utc_midnight(day: date) -> datetime:
    return datetime.combine(day, time(), DEFAULT_ZONE)


def _date_arg(name: str) -> date | None:
    raw = (request.args.get(name) or "").strip()
    if not raw:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        return None


def _int_arg(name: str) -> int | None:
    raw = (request.args.get(name) or "").strip()
    return int(raw) if raw.isdigit() else None


def read_filters() -> Filters:
    """The filters in the query string; a unit outside the user's reach answers 404."""
    unit_id = _int_arg("unit")
    object_type = request.args.get("type", "")
    action = request.args.get("action", "")
    return Filters(
        unit=get_or_404(current_user, Action.EDIT, Unit, unit_id) if unit_id else None,
        object_type=object_type if object_type in OBJECT_TYPES else "",
        action=action if action in ACTIONS else "",
        actor=(request.args.get("user") or "").strip()[:120],
        start=_date_arg("from"),
        end=_date_arg("to"),
    )


def _unit_options(chosen: Unit | None) -> list[tuple[int, str]]:
    """The units the filter offers: the user's own and a couple of levels below them."""
    r = reach(current_user, Action.EDIT)
    if r.everything:
        top = 0
    else:
        tops = db.session.scalars(select(Unit.level).where(Unit.path.in_(r.unit_paths))).all()
        top = min((level.depth for level in tops), default=0)
    levels = [level for level in Level if level.depth <= top + FILTER_DEPTH]
    units = list(
        db.session.scalars(
            select(Unit)
            .where(visible(current_user, Action.EDIT, Unit), Unit.level.in_(levels))
            .order_by(Unit.path)
            .limit(500)
        )
    )
    if chosen is not None and chosen not in units:
        units.append(chosen)
    return unit_choices(units)


def _page(where: list[ColumnElement[bool]]) -> tuple[list[AuditEvent], int | None, int | None]:
    """One page, newest first, by keyset on the id: (events, older cursor, newer cursor)."""
    before, after = _int_arg("before"), _int_arg("after")
    stmt = select(AuditEvent).where(visible_events(current_user), *where)
    if after is not None:
        found = list(
            db.session.scalars(
                stmt.where(AuditEvent.id > after).order_by(AuditEvent.id).limit(PAGE_SIZE + 1)
            )
        )
        more_newer = len(found) > PAGE_SIZE
        events = list(reversed(found[:PAGE_SIZE]))
        older = events[-1].id if events else None
        return events, older, events[0].id if events and more_newer else None
    if before is not None:
        stmt = stmt.where(AuditEvent.id < before)
    found = list(db.session.scalars(stmt.order_by(AuditEvent.id.desc()).limit(PAGE_SIZE + 1)))
    events = found[:PAGE_SIZE]
    older = events[-1].id if len(found) > PAGE_SIZE else None
    newer = events[0].id if before is not None and events else None
    return events, older, newer


def _pager(older: int | None, newer: int | None, params: dict) -> dict:
    """Links to the older and newer pages of the same list."""
    here = {**request.view_args, **params}
    return {
        "older_url": url_for(request.endpoint, before=older, **here) if older else None,
        "newer_url": url_for(request.endpoint, after=newer, **here) if newer else None,
    }


def _require_reader() -> None:
    if not may_read_log(current_user):
        abort(404)


@bp.get("/")
@login_required
def index():
    """The audit log of the subtrees the user organises, newest first, with filters."""
    _require_reader()
    filters = read_filters()
    events, older, newer = _page(filters.clauses())
    return render_template(
        "audit/index.html",
        rows=rows_of(events),
        filters=filters,
        **_pager(older, newer, filters.params()),
        unit_options=_unit_options(filters.unit),
        type_options=[(t, str(OBJECT_TYPE_LABELS[t])) for t in OBJECT_TYPES],
        action_options=[(a, str(ACTION_LABELS[a])) for a in ACTIONS],
        subject=None,
    )


# The records that belong to another and have no history page of their own: (their object
# type, their id column, the column naming the record they belong to), by that record's type.
CHILD_RECORDS = {
    "activity": (
        ("headcount", Headcount.id, Headcount.activity_id),
        ("checkin", CheckIn.id, CheckIn.activity_id),
    ),
    "donation": (("distribution", Distribution.id, Distribution.donation_id),),
}


def _children(object_type: str, object_id: int) -> list[ColumnElement[bool]]:
    """Events of records that belong to this one: an activity's headcounts and check-ins,
    a donation's hand-outs."""
    return [
        and_(
            AuditEvent.object_type == child_type,
            AuditEvent.object_id.in_(select(id_column).where(parent_column == object_id)),
        )
        for child_type, id_column, parent_column in CHILD_RECORDS.get(object_type, ())
    ]


@bp.get("/<object_type>/<int:object_id>")
@login_required
def history(object_type: str, object_id: int):
    """One record's history (with its headcounts, check-ins or hand-outs), newest first."""
    _require_reader()
    if object_type not in OBJECT_TYPES:
        abort(404)
    own = and_(AuditEvent.object_type == object_type, AuditEvent.object_id == object_id)
    events, older, newer = _page([or_(own, *_children(object_type, object_id))])
    if not events and _int_arg("before") is None and _int_arg("after") is None:
        abort(404)  # nothing the user may read about it, or no such record
    latest = next((e for e in events if e.object_type == object_type), events[0])
    return render_template(
        "audit/index.html",
        rows=rows_of(events),
        filters=Filters(),
        **_pager(older, newer, {}),
        subject={
            "type": str(OBJECT_TYPE_LABELS[object_type]),
            "label": latest.label,
            "link": _link(latest) if latest.object_type == object_type else None,
            "object_type": object_type,
            "object_id": object_id,
        },
    )
