"""Feed tokens: per-user, revocable keys that open one private calendar feed."""

from __future__ import annotations

import hashlib
from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import CheckConstraint, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from inclusive_day.auth.models import User
from inclusive_day.database import UTCDateTime, utcnow
from inclusive_day.enums import LabelledEnum, enum_column
from inclusive_day.extensions import db


class FeedKind(LabelledEnum):
    """Which kind of object a calendar feed follows."""

    CAMPAIGN = "campaign"
    UNIT = "unit"
    STATION = "station"

    @classmethod
    def _labels(cls) -> dict:
        return {cls.CAMPAIGN: _l("campaign"), cls.UNIT: _l("unit"), cls.STATION: _l("station")}


def hash_token(raw: str) -> str:
    """The stored form of a raw feed token (hex SHA-256): a leaked table opens no feed."""
    return hashlib.sha256(raw.encode()).hexdigest()


class FeedToken(db.Model):
    """A secret that lets one user's calendar app read one feed, until it is revoked."""

    __tablename__ = "feed_tokens"
    __table_args__ = (
        CheckConstraint("target_id > 0", name="target_positive"),
        Index("ix_feed_tokens_user_feed", "user_id", "kind", "target_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    kind: Mapped[FeedKind] = mapped_column(enum_column(FeedKind))
    target_id: Mapped[int]
    # SHA-256 of the raw token; the raw token is shown once and never stored.
    secret_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship()

    def __repr__(self) -> str:
        return f"<FeedToken {self.id} {self.kind.value}:{self.target_id}>"

    @property
    def is_revoked(self) -> bool:
        """True once the token no longer opens its feed."""
        return self.revoked_at is not None

    def revoke(self) -> None:
        """Stop the token from opening its feed, from the next request on."""
        if self.revoked_at is None:
            self.revoked_at = utcnow()
