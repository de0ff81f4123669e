"""Writing the audit log: the flush listener and `record` for bulk statements.

Every change made through the ORM unit of work is seen here, once, after each flush: for
the audited models (the table in specs.py, handed over when `Recorder.install` runs from
create_app), the changed columns' values before and after go into `audit_events` in one
INSERT on the flush's own connection (so an event commits or rolls back with its change).
Statements that bypass the unit of work (bulk inserts, guarded UPDATEs) call `record` with
one summary event. Secrets never enter the log: a user's password hash and session version
are not audited fields, a password change is an action without values.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time
from decimal import Decimal
from enum import Enum
from typing import Any

import click
from flask import current_app, has_app_context, has_request_context
from flask_login import current_user
from sqlalchemy import Connection, event, inspect
from sqlalchemy.orm import Session
from sqlalchemy.orm.base import NO_VALUE
from sqlalchemy.sql import ClauseElement

from inclusive_day.audit.models import AuditEvent
from inclusive_day.database import utcnow
from inclusive_day.extensions import db

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


# ---- what the recorder is told about each audited model -------------------------------------


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


@dataclass(frozen=True, eq=False)
class Link:
    """A row that only joins a record to another (a station's co-building partner): its
    creations and deletions are shown as a change of one field of the record it belongs to
    ({"partners": [before, after]}), whichever side the link was made from."""

    parent: type  # the audited model whose event shows the change (Station)
    parent_key: str  # the link's column naming it ("station_id")
    collection: str  # the parent's relationship to its links ("partner_links")
    field: str  # the field the parent's event shows ("partners")
    value_of: Callable[[Any], Any]  # one link as the field lists it (its partner's name)
    # (connection, parent ids) -> {parent id: the field's values now, after the flush}
    current: Callable[[Connection, set[int]], dict[int, list]]


def loaded(obj, key: str) -> Any:
    """The loaded value of an attribute, never loading it (the row may be gone)."""
    value = inspect(obj).attrs[key].loaded_value
    return None if value is NO_VALUE else value


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
        value = plain(loaded(obj, key))
        if not _empty(value):
            changes[key] = [None, value]
    for name, (key, value_of) in spec.collections.items():
        members = loaded(obj, key)
        if members:
            changes[name] = [None, sorted(plain(value_of(m)) for m in members)]
    return changes


def _deleted(spec: Spec, obj) -> dict:
    changes = {}
    for key in spec.fields:
        value = plain(loaded(obj, key))
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
    group = plain(loaded(obj, "group"))
    if action == "create":
        return {group: [None, loaded(obj, "count")]}
    if action == "delete":
        return {group: [loaded(obj, "count"), None]}
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


def _collect(
    session: Session, acting_id: int | None, audited: Mapping[type, Spec | Link]
) -> list[tuple[str, Spec, Any, dict]]:
    """The audited objects of this flush with their action and changes (no-ops left out)."""
    pending: list[tuple[str, Spec, Any, dict]] = []
    for objects, action in (
        (session.new, "create"),
        (session.dirty, "update"),
        (session.deleted, "delete"),
    ):
        for obj in objects:
            spec = audited.get(type(obj))
            if spec is None or isinstance(spec, Link):
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


def _link_changes(
    session: Session,
    audited: Mapping[type, Spec | Link],
    pending: list[tuple[str, Spec, Any, dict]],
) -> None:
    """Add the links this flush made or removed to their parents' events in `pending` (an
    update event for a parent that changed nothing else): the field's values before and after,
    read once per kind of link after the flush."""
    moved: dict[Link, dict[int, tuple[Counter, Counter]]] = defaultdict(dict)
    seen: set[int] = set()

    def count(link: Link, parent_id: int | None, member, side: int) -> None:
        if parent_id is None or id(member) in seen:
            return
        seen.add(id(member))
        counts = moved[link].setdefault(parent_id, (Counter(), Counter()))
        counts[side][plain(link.value_of(member))] += 1

    links = [spec for spec in audited.values() if isinstance(spec, Link)]
    # Links changed through the parent's collection (an orphan removed from it is deleted by
    # the flush without passing through session.deleted), then those made from elsewhere.
    for link in links:
        for parent in (*session.new, *session.dirty):
            if isinstance(parent, link.parent):
                history = inspect(parent).attrs[link.collection].history
                for member in history.added or ():
                    count(link, loaded(parent, "id"), member, 0)
                for member in history.deleted or ():
                    count(link, loaded(parent, "id"), member, 1)
    for objects, side in ((session.new, 0), (session.deleted, 1)):
        for obj in objects:
            link = audited.get(type(obj))
            if isinstance(link, Link):
                count(link, loaded(obj, link.parent_key), obj, side)
    if not moved:
        return
    events = {(type(entry[2]), loaded(entry[2], "id")): entry for entry in pending}
    connection = session.connection()
    for link, parents in moved.items():
        gone = {loaded(obj, "id") for obj in session.deleted if isinstance(obj, link.parent)}
        parents = {pid: c for pid, c in parents.items() if pid not in gone}
        now = link.current(connection, set(parents)) if parents else {}
        for parent_id, (added, removed) in parents.items():
            after = Counter(plain(v) for v in now.get(parent_id, []))
            before = after - added + removed
            if before == after:
                continue
            entry = events.get((link.parent, parent_id))
            if entry is None:
                parent = session.get(link.parent, parent_id)
                spec = audited.get(link.parent)
                if parent is None or not isinstance(spec, Spec):
                    continue
                entry = ("update", spec, parent, {})
                pending.append(entry)
                events[(link.parent, parent_id)] = entry
            verb, _spec, _obj, changes = entry
            values = [sorted(before.elements()), sorted(after.elements())]
            changes[link.field] = [None, values[1]] if verb == "create" else values


# ---- the listener ---------------------------------------------------------------------------

# (connection, {kind: ids}) -> {(kind, id): (unit path, name)}: the owners events cite.
Resolver = Callable[[Connection, dict[str, set[int]]], dict[tuple[str, int], tuple]]


def _keep_before(_target, value, _old, _initiator):
    return value


@dataclass(frozen=True, eq=False)
class Recorder:
    """The flush listener with what it works from: the spec of each audited model, and the
    lookup of the unit path and name of the records events refer to."""

    specs: Callable[[], Mapping[type, Spec | Link]]
    resolve: Resolver

    def after_flush(self, session: Session, _flush_context) -> None:
        """Write one event per changed audited object of the flush that just ran."""
        if not (session.new or session.dirty or session.deleted) or not enabled():
            return
        with session.no_autoflush:
            user_id, name = actor()
        pending = _collect(session, user_id, self.specs())
        with session.no_autoflush:
            _link_changes(session, self.specs(), pending)
        if not pending:
            return
        wanted: dict[str, set[int]] = defaultdict(set)
        for _verb, spec, obj, _changes in pending:
            for kind, ident in spec.owners(obj):
                if ident is not None:
                    wanted[kind].add(ident)
        connection = session.connection()
        with session.no_autoflush:
            found = self.resolve(connection, wanted)
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
                    "object_id": loaded(obj, "id"),
                    "label": (label or "")[:255],
                    "unit_path": path,
                    "changes": changes,
                }
            )
        connection.execute(AuditEvent.__table__.insert(), rows)

    def load_old_values(self) -> None:
        """Make setting an audited field on an expired object load its old value first, so
        that "before" is the value replaced, not unknown (one SELECT, only when that happens)."""
        for model, spec in self.specs().items():
            if isinstance(spec, Link):
                continue
            keys = [*spec.fields, "path"] if spec.object_type == "unit" else spec.fields
            for key in keys:
                attribute = getattr(model, key)
                if not event.contains(attribute, "set", _keep_before):
                    event.listen(attribute, "set", _keep_before, active_history=True, retval=True)

    def install(self) -> None:
        """Listen to every flush of every session: once for the Session class, however many
        apps are made (create_app calls this each time)."""
        if not event.contains(Session, "after_flush", self.after_flush):
            event.listen(Session, "after_flush", self.after_flush)
        self.load_old_values()


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
