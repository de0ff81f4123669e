"""API tokens: per-user keys for scanners and mini-programs, shown once and stored hashed."""

from __future__ import annotations

from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from inclusive_day.auth.models import User
from inclusive_day.database import UTCDateTime, utcnow
from inclusive_day.enums import LabelledEnum, enum_column
from inclusive_day.extensions import db


class TokenScope(LabelledEnum):
    """What a token may do: read only, or read and write."""

    READ = "read"
    WRITE = "write"

    @classmethod
    def _labels(cls) -> dict:
        return {cls.READ: _l("read only"), cls.WRITE: _l("read and write")}


class ApiToken(db.Model):
    """A bearer token acting for its user, within the user's own access and its scope."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(80))
    # The first characters of the raw token, so that its owner can tell tokens apart.
    prefix: Mapped[str] = mapped_column(String(16))
    # SHA-256 (hex) of the raw token; the raw token is shown once and never stored.
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    scope: Mapped[TokenScope] = mapped_column(enum_column(TokenScope))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship()

    def __repr__(self) -> str:
        return f"<ApiToken {self.id} {self.prefix}… {self.scope.value}>"

    @property
    def is_revoked(self) -> bool:
        return self.revoked_at is not None
