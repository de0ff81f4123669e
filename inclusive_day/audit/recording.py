"""Writing the audit log: one flush listener for the ORM, and `record` for bulk statements.

Every change made through the ORM unit of work is seen here, once, after each flush: for
the audited models, the changed columns' values before and after go into `audit_events`
in one INSERT on the flush's own connection (so an event commits or rolls back with its
change). Statements that bypass the unit of work (bulk inserts, guarded UPDATEs) call
`record` with one summary event. Secrets never enter the log: a user's password hash and
session version are not audited fields, a password change is an action without values.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time
from decimal import Decimal
from enum import Enum
from functools import cache
from typing import Any

import click
from flask import current_app, has_app_context, has_request_context
from flask_login import current_user
from sqlalchemy import event, func, inspect, null, select
from sqlalchemy.orm import Mapper, Session, aliased
from sqlalchemy.orm.base import NO_VALUE
from sqlalchemy.sql import ClauseElement

from inclusive_day.database import utcnow
from inclusive_day.extensions import db
from inclusive_day.periods import DEFAULT_ZONE

# Columns that say when or by whom a row was touched, or that the system keeps itself:
# their changes are the event's own "when" and "who", not changes worth listing.
BOOKKEEPING = frozenset(
    {
        "id",
        "uid",
        "created_at",
        "updated_at",
        "updated_by_id",
        "created_by_id",
        "sequence",
        "path",  # a unit's path follows its parent; a move is recorded as one summary
    }
)
# Never audited, whatever a model's field list says.
SECRET = frozenset({"password_hash", "session_version"})
# The only user fields the log shows.
USER_FIELDS = ("username", "display_name", "active", "must_change_password")
# What an annulment or a correction of a check-in changes; its identity hash is never shown.
CHECKIN_FIELDS = ("group", "annulled_at", "annul_reason")
# How many ids one IN list carries when owners are looked up.
CHUNK = 500

# The object types and actions the log knows, for the filters (labels live in views.py).
OBJECT_TYPES = (
    "unit",
    "station",
    "campaign",
    "activity",
    "series",
    "headcount",
    "checkin",
    "sponsor",
    "donation",
    "distribution",
    "role_grant",
    "user",
)
ACTIONS = (
    "create",
    "update",
    "delete",
    "cancel",
    "annul",
    "move",
    "tally",
    "review",
    "receive",
    "distribute",
    "import",
    "password_changed",
    "password_reset",
)


# ---- values ---------------------------------------------------------------------------------


def plain(value: Any) -> Any:
    """A value as JSON can hold it: dates ISO, Decimal as a string, enums by value."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, list | tuple | set | frozenset):
        return [plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, ClauseElement):  # a value computed by SQL at flush time
        return None
    return str(value)


def _empty(value: Any) -> bool:
    return value is None or value == "" or value == [] or value == {}


# ---- who --------------------------------------------------------------------------------------


def actor() -> tuple[int | None, str]:
    """Who acts: the signed-in user, else the CLI command ("flask demo load"), else "system"."""
    if has_request_context():
        user = current_user
        if user is not None and getattr(user, "is_authenticated", False):
            return user.id, str(getattr(user, "username", "") or f"#{user.id}")[:120]
    ctx = click.get_current_context(silent=True)
    if ctx is not None and ctx.command_path:
        return None, ctx.command_path[:120]
    return None, "system"


def enabled() -> bool:
    """AUDIT_ENABLED, read at the moment of writing (default on)."""
    return not has_app_context() or bool(current_app.config.get("AUDIT_ENABLED", True))


# ---- owners: the unit path and a readable name of the records an event refers to -------------


def _models():
    from inclusive_day.activities.models import Activity
    from inclusive_day.auth.models import User
    from inclusive_day.campaigns.models import Campaign
    from inclusive_day.sponsors.models import Donation, Sponsor
    from inclusive_day.stations.models import Station
    from inclusive_day.units.models import Unit

    return Unit, Station, Activity, Campaign, Sponsor, Donation, User


def _owner_query(kind: str):
    """SELECT id, unit path, name for one kind of owner record; "name" is what labels quote."""
    Unit, Station, Activity, Campaign, Sponsor, Donation, User = _models()
    if kind == "unit":
        return Unit.id, select(Unit.id, Unit.path, Unit.name)
    if kind == "station":
        stmt = select(Station.id, Unit.path, Station.code).join(Unit, Unit.id == Station.unit_id)
        return Station.id, stmt
    if kind == "activity":
        stmt = (
            select(Activity.id, Unit.path, Activity.title, Activity.starts_at, Station.code)
            .join(Station, Station.id == Activity.station_id)
            .join(Unit, Unit.id == Station.unit_id)
        )
        return Activity.id, stmt
    if kind == "campaign":
        stmt = select(Campaign.id, Unit.path, Campaign.name).join(Unit, Unit.id == Campaign.unit_id)
        return Campaign.id, stmt
    if kind == "sponsor":
        stmt = select(Sponsor.id, Unit.path, Sponsor.name).join(Unit, Unit.id == Sponsor.unit_id)
        return Sponsor.id, stmt
    if kind == "donation":
        campaign_unit, sponsor_unit = aliased(Unit), aliased(Unit)
        stmt = (
            select(
                Donation.id,
                func.coalesce(campaign_unit.path, sponsor_unit.path),
                Donation.description,
            )
            .join(Sponsor, Sponsor.id == Donation.sponsor_id)
            .join(sponsor_unit, sponsor_unit.id == Sponsor.unit_id)
            .outerjoin(Campaign, Campaign.id == Donation.campaign_id)
            .outerjoin(campaign_unit, campaign_unit.id == Campaign.unit_id)
        )
        return Donation.id, stmt
    if kind == "user":
        return User.id, select(User.id, null(), User.username)
    raise ValueError(kind)


def activity_label(title: str, starts_at: datetime | None, station_code: str | None) -> str:
    """ "Haircuts @ KM-0001 2024-02-24": an activity as the log names it."""
    day = starts_at.astimezone(DEFAULT_ZONE).date().isoformat() if starts_at else ""
    where = f" @ {station_code}" if station_code else ""
    return f"{title}{where} {day}".strip()


def resolve(connection, wanted: dict[str, set[int]]) -> dict[tuple[str, int], tuple]:
    """(kind, id) -> (unit path, name) for every owner asked for, one query per kind."""
    found: dict[tuple[str, int], tuple] = {}
    for kind, ids in wanted.items():
        ids = sorted(i for i in ids if i is not None)
        if not ids:
            continue
        column, stmt = _owner_query(kind)
        for start in range(0, len(ids), CHUNK):
            for row in connection.execute(stmt.where(column.in_(ids[start : start + CHUNK]))):
                if kind == "activity":
                    found[(kind, row[0])] = (row[1], activity_label(row[2], row[3], row[4]))
                else:
                    found[(kind, row[0])] = (row[1], row[2])
    return found


def common_path(paths: Iterable[str | None]) -> str | None:
    """The deepest unit path every given path lies under ("/1/7/" for "/1/7/4/" and "/1/7/9/")."""
    parts = [p.strip("/").split("/") for p in paths if p]
    if not parts:
        return None
    shared: list[str] = []
    for segment in zip(*parts, strict=False):
        if len(set(segment)) != 1:
            break
        shared.append(segment[0])
    return f"/{'/'.join(shared)}/" if shared else None


def owner_path(kind: str, ids: Iterable[int]) -> str | None:
    """The common unit path of some records of one kind (the stations a series went to...)."""
    found = resolve(db.session.connection(), {kind: set(ids)})
    return common_path(path for path, _name in found.values())


def owner(kind: str, ident: int) -> tuple[str | None, str]:
    """(unit path, name) of one record, for a summary event about it."""
    return resolve(db.session.connection(), {kind: {ident}}).get((kind, ident), (None, ""))


# ---- what each audited model says about itself ----------------------------------------------


@dataclass
class Spec:
    """How one model is audited: its type name, fields, owners, label and unit path."""

    object_type: str
    fields: tuple[str, ...]
    # The (kind, id) owner records whose path and name the event needs.
    owners: Callable[[Any], list[tuple[str, int | None]]]
    # (obj, owners found) -> (unit path, label)
    describe: Callable[[Any, dict], tuple[str | None, str]]
    record_create: Callable[[Any], bool] = lambda _obj: True
    # Collections shown as one field: name -> (relationship key, value of one member).
    collections: dict[str, tuple[str, Callable[[Any], Any]]] = field(default_factory=dict)


def _columns(model, only: tuple[str, ...] | None = None) -> tuple[str, ...]:
    keys = [a.key for a in inspect(model).column_attrs]
    if only is not None:
        keys = [k for k in keys if k in only]
    else:
        keys = [k for k in keys if k not in BOOKKEEPING]
    return tuple(k for k in keys if k not in SECRET)


def _get(obj, key: str) -> Any:
    """The loaded value of an attribute, never loading it (the row may be gone)."""
    value = inspect(obj).attrs[key].loaded_value
    return None if value is NO_VALUE else value


def _found(found: dict, kind: str, ident) -> tuple[str | None, str]:
    return found.get((kind, ident), (None, ""))


def _grant_target(obj) -> tuple[str, int] | None:
    for kind in ("unit", "station", "sponsor"):
        ident = _get(obj, f"{kind}_id")
        if ident is not None:
            return kind, ident
    return None


def _describe_grant(obj, found: dict) -> tuple[str | None, str]:
    _path, username = _found(found, "user", _get(obj, "user_id"))
    username = username or f"#{_get(obj, 'user_id')}"
    target = _grant_target(obj)
    if target is None:  # an administrator's grant is above every unit
        return None, username
    path, name = _found(found, *target)
    return path, f"{username} → {name}" if name else username


def _describe_unit(obj, found: dict) -> tuple[str | None, str]:
    path = _get(obj, "path")
    if not path:  # a new unit gets its path in a second flush: its parent's path and its id
        parent_path, _name = _found(found, "unit", _get(obj, "parent_id"))
        path = f"{parent_path or '/'}{obj.id}/"
    return path, _get(obj, "name") or ""


def _describe_donation(obj, found: dict) -> tuple[str | None, str]:
    path = None
    if _get(obj, "campaign_id") is not None:
        path = _found(found, "campaign", _get(obj, "campaign_id"))[0]
    if path is None:
        path = _found(found, "sponsor", _get(obj, "sponsor_id"))[0]
    return path, _get(obj, "description") or ""


def _describe_distribution(obj, found: dict) -> tuple[str | None, str]:
    path, name = _found(found, "donation", _get(obj, "donation_id"))
    quantity = _get(obj, "quantity")
    return path, f"{name} × {plain(quantity)}" if quantity is not None else name


def _on_activity(obj, found: dict) -> tuple[str | None, str]:
    return _found(found, "activity", _get(obj, "activity_id"))


@cache
def specs() -> dict[type, Spec]:
    """The audited models, built on first use (the model modules import late)."""
    from inclusive_day.activities.models import Activity
    from inclusive_day.attendance.models import CheckIn, Headcount
    from inclusive_day.auth.models import RoleGrant, User
    from inclusive_day.campaigns.models import Campaign
    from inclusive_day.sponsors.models import Distribution, Donation, Sponsor
    from inclusive_day.stations.models import Station
    from inclusive_day.units.models import Unit

    def own(kind, key):
        return lambda obj: [(kind, _get(obj, key))]

    def named_under_unit(kind: str, model) -> Spec:
        """A record that belongs to a unit (unit_id) and goes by its name."""
        return Spec(
            kind,
            _columns(model),
            own("unit", "unit_id"),
            lambda obj, found: (
                _found(found, "unit", _get(obj, "unit_id"))[0],
                _get(obj, "name") or "",
            ),
        )

    return {
        # A new unit gets its path in a second flush (see create_unit): it is logged then.
        Unit: Spec(
            "unit",
            _columns(Unit),
            lambda obj: [] if _get(obj, "path") else [("unit", _get(obj, "parent_id"))],
            _describe_unit,
            record_create=lambda obj: bool(_get(obj, "path")),
        ),
        Station: Spec(
            "station",
            _columns(Station),
            own("unit", "unit_id"),
            lambda obj, found: (
                _found(found, "unit", _get(obj, "unit_id"))[0],
                f"{_get(obj, 'code') or ''} {_get(obj, 'name') or ''}".strip(),
            ),
            collections={"amenities": ("amenity_rows", lambda row: row.amenity.value)},
        ),
        Campaign: named_under_unit("campaign", Campaign),
        Activity: Spec(
            "activity",
            _columns(Activity),
            own("station", "station_id"),
            lambda obj, found: (
                _found(found, "station", _get(obj, "station_id"))[0],
                activity_label(
                    _get(obj, "title") or "",
                    _get(obj, "starts_at"),
                    _found(found, "station", _get(obj, "station_id"))[1],
                ),
            ),
            collections={"donations": ("donations", lambda d: d.id)},
        ),
        # A headcount is listed as its group's count: {"courier": [3, 5]}.
        Headcount: Spec(
            "headcount",
            ("count",),
            own("activity", "activity_id"),
            _on_activity,
            record_create=lambda obj: bool(_get(obj, "count")),
        ),
        # A beneficiary's own check-in is a record in itself: only changes to it are logged.
        CheckIn: Spec(
            "checkin",
            _columns(CheckIn, CHECKIN_FIELDS),
            own("activity", "activity_id"),
            _on_activity,
            record_create=lambda _obj: False,
        ),
        Sponsor: named_under_unit("sponsor", Sponsor),
        Donation: Spec(
            "donation",
            _columns(Donation),
            lambda obj: [
                ("campaign", _get(obj, "campaign_id")),
                ("sponsor", _get(obj, "sponsor_id")),
            ],
            _describe_donation,
        ),
        Distribution: Spec(
            "distribution",
            _columns(Distribution),
            own("donation", "donation_id"),
            _describe_distribution,
        ),
        RoleGrant: Spec(
            "role_grant",
            _columns(RoleGrant),
            lambda obj: [("user", _get(obj, "user_id")), _grant_target(obj) or ("unit", None)],
            _describe_grant,
        ),
        User: Spec(
            "user",
            _columns(User, USER_FIELDS),
            lambda _obj: [],
            lambda obj, _found: (None, _get(obj, "username") or ""),
        ),
    }


# ---- the changes of one object in one flush --------------------------------------------------


def _collection(obj, key: str, value_of) -> tuple[list, list] | None:
    """(before, after) of a collection shown as one field, None when it did not change."""
    history = inspect(obj).attrs[key].history
    if not (history.added or history.deleted):
        return None
    kept = list(history.unchanged or ())
    before = sorted(plain(value_of(m)) for m in kept + list(history.deleted or ()))
    after = sorted(plain(value_of(m)) for m in kept + list(history.added or ()))
    return (before, after) if before != after else None


def _created(spec: Spec, obj) -> dict:
    changes = {}
    for key in spec.fields:
        value = plain(_get(obj, key))
        if not _empty(value):
            changes[key] = [None, value]
    for name, (key, value_of) in spec.collections.items():
        members = _get(obj, key)
        if members:
            changes[name] = [None, sorted(plain(value_of(m)) for m in members)]
    return changes


def _deleted(spec: Spec, obj) -> dict:
    changes = {}
    for key in spec.fields:
        value = plain(_get(obj, key))
        if not _empty(value):
            changes[key] = [value, None]
    return changes


def _updated(spec: Spec, obj) -> dict:
    state = inspect(obj)
    changes = {}
    for key in spec.fields:
        history = state.attrs[key].history
        if not (history.added or history.deleted):
            continue
        before = plain(history.deleted[0]) if history.deleted else None
        after = plain(history.added[0]) if history.added else None
        if before != after:
            changes[key] = [before, after]
    for name, (key, value_of) in spec.collections.items():
        moved = _collection(obj, key, value_of)
        if moved is not None:
            changes[name] = list(moved)
    return changes


def _action(spec: Spec, obj, action: str, changes: dict) -> str:
    """A verb more telling than "update" where one applies."""
    if action != "update":
        return action
    if spec.object_type == "checkin" and changes.get("annulled_at", [1])[0] is None:
        return "annul"
    if spec.object_type == "activity" and changes.get("status", [None, None])[1] == "cancelled":
        return "cancel"
    return action


def _user_password(obj, user_id: int | None) -> str | None:
    """When the hash changed: "password_changed" by its owner, else "password_reset" (by an
    administrator or the CLI). The hash itself never enters the log."""
    history = inspect(obj).attrs["password_hash"].history
    if not history.added:
        return None
    return "password_changed" if user_id is not None and user_id == obj.id else "password_reset"


def _headcount_changes(obj, action: str) -> dict:
    group = plain(_get(obj, "group"))
    if action == "create":
        return {group: [None, _get(obj, "count")]}
    if action == "delete":
        return {group: [_get(obj, "count"), None]}
    history = inspect(obj).attrs["count"].history
    if not history.added:
        return {}
    before = history.deleted[0] if history.deleted else None
    after = plain(history.added[0])
    return {group: [before, after]} if before != after else {}


def _being_attached(unit) -> bool:
    """True for a unit given its first path: the second half of its creation."""
    history = inspect(unit).attrs["path"].history
    return bool(history.added) and list(history.deleted) == [""]


def _collect(session: Session, acting_id: int | None) -> list[tuple[str, Spec, Any, dict]]:
    """The audited objects of this flush with their action and changes (no-ops left out)."""
    audited = specs()
    pending: list[tuple[str, Spec, Any, dict]] = []
    for objects, action in (
        (session.new, "create"),
        (session.dirty, "update"),
        (session.deleted, "delete"),
    ):
        for obj in objects:
            spec = audited.get(type(obj))
            if spec is None:
                continue
            if action == "create" and not spec.record_create(obj):
                continue
            if spec.object_type == "unit" and action == "update" and _being_attached(obj):
                action = "create"
            if spec.object_type == "headcount":
                changes = _headcount_changes(obj, action)
            elif action == "create":
                changes = _created(spec, obj)
            elif action == "delete":
                changes = _deleted(spec, obj)
            else:
                changes = _updated(spec, obj)
            verb = _action(spec, obj, action, changes)
            if spec.object_type == "user" and action == "update":
                verb = _user_password(obj, acting_id) or verb
                if verb == "update" and not changes:
                    continue
            elif action == "update" and not changes:
                continue
            pending.append((verb, spec, obj, changes))
    return pending


def _after_flush(session: Session, _flush_context) -> None:
    """Write one event per changed audited object of the flush that just ran."""
    if not (session.new or session.dirty or session.deleted) or not enabled():
        return
    with session.no_autoflush:
        user_id, name = actor()
    pending = _collect(session, user_id)
    if not pending:
        return
    wanted: dict[str, set[int]] = defaultdict(set)
    for _verb, spec, obj, _changes in pending:
        for kind, ident in spec.owners(obj):
            if ident is not None:
                wanted[kind].add(ident)
    from inclusive_day.audit.models import AuditEvent

    connection = session.connection()
    with session.no_autoflush:
        found = resolve(connection, wanted)
    now = utcnow()
    rows = []
    for verb, spec, obj, changes in pending:
        path, label = spec.describe(obj, found)
        rows.append(
            {
                "at": now,
                "user_id": user_id,
                "actor": name,
                "action": verb,
                "object_type": spec.object_type,
                "object_id": _get(obj, "id"),
                "label": (label or "")[:255],
                "unit_path": path,
                "changes": changes,
            }
        )
    connection.execute(AuditEvent.__table__.insert(), rows)


def _keep_before(_target, value, _old, _initiator):
    return value


def _load_old_values() -> None:
    """Make setting an audited field on an expired object load its old value first, so that
    "before" is the value replaced, not unknown (one SELECT, only when that happens)."""
    for model, spec in specs().items():
        keys = [*spec.fields, "path"] if spec.object_type == "unit" else spec.fields
        for key in keys:
            attribute = getattr(model, key)
            if not event.contains(attribute, "set", _keep_before):
                event.listen(attribute, "set", _keep_before, active_history=True, retval=True)


def install() -> None:
    """Listen to every flush of the app's sessions (once, however many apps are made)."""
    if not event.contains(Session, "after_flush", _after_flush):
        event.listen(Session, "after_flush", _after_flush)
    if not event.contains(Mapper, "after_configured", _load_old_values):
        event.listen(Mapper, "after_configured", _load_old_values)


# ---- summaries of bulk statements -----------------------------------------------------------


def record(
    action: str,
    object_type: str,
    object_id: int | None = None,
    label: str = "",
    unit_path: str | None = None,
    changes: dict | None = None,
) -> None:
    """Log one change made outside the ORM unit of work (a bulk insert or a guarded UPDATE)."""
    if not enabled():
        return
    from inclusive_day.audit.models import AuditEvent

    user_id, name = actor()
    db.session.add(
        AuditEvent(
            at=utcnow(),
            user_id=user_id,
            actor=name,
            action=action,
            object_type=object_type,
            object_id=object_id,
            label=(label or "")[:255],
            unit_path=unit_path,
            changes={str(k): [plain(b), plain(a)] for k, (b, a) in (changes or {}).items()},
        )
    )


def record_about(
    action: str, object_type: str, kind: str, ident: int, changes: dict, object_id=None
) -> None:
    """`record` for a change to a record whose path and name are looked up by (kind, id)."""
    path, label = owner(kind, ident)
    record(action, object_type, ident if object_id is None else object_id, label, path, changes)
