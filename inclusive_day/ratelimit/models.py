"""The counters of the rate limits, when they are kept in the app's database."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from inclusive_day.database import UTCDateTime
from inclusive_day.extensions import db


class RateCounter(db.Model):
    """One rate limit's count for one key (a limit, its scope and who is counted, such as a
    client address or an account) in its current window, and when that window ends."""

    __tablename__ = "rate_limit_counters"

    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    count: Mapped[int] = mapped_column(default=0)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
