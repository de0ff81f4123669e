"""Audit events: one row per change to a record organisers answer for."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from inclusive_day.database import TreePath, UTCDateTime, utcnow
from inclusive_day.extensions import db


class AuditEvent(db.Model):
    """One change: who, when, what kind of record, and each changed field's before and after."""

    __tablename__ = "audit_events"
    __table_args__ = (Index("ix_audit_events_unit_path_at", "unit_path", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    # The acting user; the name is kept as well, so the log outlives a deleted account.
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    actor: Mapped[str] = mapped_column(String(120), default="")
    # create, update, delete, or a verb of its own ("series", "reset_password", ...)
    action: Mapped[str] = mapped_column(String(32))
    object_type: Mapped[str] = mapped_column(String(40))
    object_id: Mapped[int | None]
    # A readable name of the record at the time ("饺子宴 @ KM-0001 2024-02-24").
    label: Mapped[str] = mapped_column(String(255), default="")
    # The path of the unit the record belongs to, so each subtree reads its own log;
    # None for records above every unit (a user, an administrator's grant).
    unit_path: Mapped[str | None] = mapped_column(TreePath)
    # {field: [before, after]}; a creation has only afters, a deletion only befores.
    changes: Mapped[dict] = mapped_column(JSON, default=dict)

    def __repr__(self) -> str:
        return f"<AuditEvent {self.id} {self.action} {self.object_type}:{self.object_id}>"
