"""Feed tokens: make one for a user, list a user's, and find whose a presented token is."""

from __future__ import annotations

import secrets
from datetime import timedelta

from flask import abort
from sqlalchemy import select

from inclusive_day.auth.models import User
from inclusive_day.database import utcnow
from inclusive_day.extensions import db
from inclusive_day.feeds.models import FeedKind, FeedToken, hash_token

# A token's last use is written at most this often, not on every fetch of every calendar app.
TOUCH_EVERY = timedelta(minutes=15)


def new_token(user: User, kind: FeedKind, target_id: int) -> tuple[FeedToken, str]:
    """Create a token opening one feed for `user`; return it and its raw secret (shown once)."""
    raw = secrets.token_urlsafe(32)
    token = FeedToken(user=user, kind=kind, target_id=target_id, secret_hash=hash_token(raw))
    db.session.add(token)
    db.session.flush()
    return token, raw


def user_tokens(user: User, kind: FeedKind, target_id: int) -> list[FeedToken]:
    """The user's tokens for one feed, newest first, revoked ones included."""
    return list(
        db.session.scalars(
            select(FeedToken)
            .where(
                FeedToken.user_id == user.id,
                FeedToken.kind == kind,
                FeedToken.target_id == target_id,
            )
            .order_by(FeedToken.id.desc())
        )
    )


def token_user(kind: FeedKind, target_id: int, raw: str | None) -> User | None:
    """The user whose live token for this very feed is `raw`; None without one; 404 if bad."""
    if raw is None:
        return None
    row = db.session.execute(
        select(FeedToken, User)
        .join(User, User.id == FeedToken.user_id)
        .where(FeedToken.secret_hash == hash_token(raw))
    ).first()
    if row is None:
        abort(404)
    token, user = row
    if (
        token.revoked_at is not None
        or token.kind != kind
        or token.target_id != target_id
        or not user.is_active
    ):
        abort(404)
    now = utcnow()
    if token.last_used_at is None or now - token.last_used_at > TOUCH_EVERY:
        token.last_used_at = now
    return user
