"""Users, their role grants, and password hashing."""

from __future__ import annotations

from datetime import datetime

from flask import current_app
from flask_babel import lazy_gettext as _l
from flask_login import UserMixin
from sqlalchemy import CheckConstraint, ForeignKey, String, false
from sqlalchemy.orm import Mapped, mapped_column, relationship
from werkzeug.security import check_password_hash, generate_password_hash

from inclusive_day.database import UTCDateTime, utcnow
from inclusive_day.enums import LabelledEnum, enum_column
from inclusive_day.extensions import db


class Role(LabelledEnum):
    """What a grant lets its holder do, and over which object."""

    ADMIN = "admin"
    ORGANISER = "organiser"
    VIEWER = "viewer"
    STATION_MANAGER = "station_manager"
    SPONSOR_REP = "sponsor_rep"

    @classmethod
    def _labels(cls) -> dict:
        return {
            cls.ADMIN: _l("administrator"),
            cls.ORGANISER: _l("organiser"),
            cls.VIEWER: _l("viewer"),
            cls.STATION_MANAGER: _l("station manager"),
            cls.SPONSOR_REP: _l("sponsor representative"),
        }


class User(UserMixin, db.Model):
    """A person who signs in: organiser, viewer, station manager, sponsor or administrator."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(80), unique=True)
    display_name: Mapped[str] = mapped_column(String(120), default="")
    password_hash: Mapped[str] = mapped_column(String(255))
    active: Mapped[bool] = mapped_column(default=True)
    locale: Mapped[str | None] = mapped_column(String(8))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Part of the session's user id (see get_id): raising it signs the user out everywhere,
    # remember-me cookies included, on sign-out, password change, reset and disabling.
    session_version: Mapped[int] = mapped_column(default=0, server_default="0")
    # Set by an administrator's reset: the temporary password must be replaced at sign-in.
    must_change_password: Mapped[bool] = mapped_column(default=False, server_default=false())
    password_changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    grants: Mapped[list[RoleGrant]] = relationship(
        back_populates="user", cascade="all, delete-orphan", order_by="RoleGrant.id"
    )

    def __repr__(self) -> str:
        return f"<User {self.username}>"

    @property
    def is_active(self) -> bool:  # Flask-Login asks this before it logs anyone in
        return self.active

    def get_id(self) -> str:
        """The id Flask-Login stores in the session: "<user id>-<session version>"."""
        return f"{self.id}-{self.session_version}"

    def set_password(self, password: str) -> None:
        """Store a salted hash of `password`."""
        method = current_app.config.get("PASSWORD_HASH_METHOD", "scrypt")
        self.password_hash = generate_password_hash(password, method=method)

    def check_password(self, password: str) -> bool:
        """True when `password` matches the stored hash."""
        return check_password_hash(self.password_hash, password)


class RoleGrant(db.Model):
    """A role held by a user over a unit subtree, one station, one sponsor, or everything."""

    __tablename__ = "role_grants"
    __table_args__ = (
        CheckConstraint(
            "(role = 'admin' AND unit_id IS NULL AND station_id IS NULL AND sponsor_id IS NULL)"
            " OR (role IN ('organiser', 'viewer') AND unit_id IS NOT NULL"
            " AND station_id IS NULL AND sponsor_id IS NULL)"
            " OR (role = 'station_manager' AND station_id IS NOT NULL"
            " AND unit_id IS NULL AND sponsor_id IS NULL)"
            " OR (role = 'sponsor_rep' AND sponsor_id IS NOT NULL"
            " AND unit_id IS NULL AND station_id IS NULL)",
            name="target_matches_role",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    role: Mapped[Role] = mapped_column(enum_column(Role))
    unit_id: Mapped[int | None] = mapped_column(
        ForeignKey("units.id", ondelete="CASCADE"), index=True
    )
    station_id: Mapped[int | None] = mapped_column(
        ForeignKey("stations.id", ondelete="CASCADE"), index=True
    )
    sponsor_id: Mapped[int | None] = mapped_column(
        ForeignKey("sponsors.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    user: Mapped[User] = relationship(back_populates="grants")
