"""API tokens: issued once in the clear, kept as a hash, scoped, revocable."""

from __future__ import annotations

import secrets
from datetime import timedelta

from sqlalchemy import or_, select, update
from sqlalchemy.orm import joinedload

from inclusive_day.api.models import ApiToken, TokenScope
from inclusive_day.auth.models import User
from inclusive_day.database import utcnow
from inclusive_day.extensions import db
from inclusive_day.feeds.models import hash_token

# Every raw token starts with this, so that a leaked one is easy to recognise in logs and code.
TOKEN_PREFIX = "idk_"
# How many characters of the raw token are kept to tell a user's tokens apart.
SHOWN_PREFIX = 12
# last_used_at moves at most this often, so that a busy scanner does not write on every call.
TOUCH_EVERY = timedelta(minutes=1)
RAW_MAX = 100


def issue_token(user: User, name: str, scope: TokenScope) -> tuple[ApiToken, str]:
    """A new token for `user`: the row (holding only a hash) and the raw token, shown once."""
    raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(
        user_id=user.id,
        name=name.strip(),
        prefix=raw[:SHOWN_PREFIX],
        token_hash=hash_token(raw),
        scope=scope,
    )
    db.session.add(token)
    db.session.flush()
    return token, raw


def revoke_token(token: ApiToken) -> None:
    """Stop `token` from working, at once; its row stays so its owner sees what it was."""
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        db.session.flush()


def user_tokens(user: User) -> list[ApiToken]:
    """The user's tokens, newest first."""
    return list(
        db.session.scalars(
            select(ApiToken)
            .where(ApiToken.user_id == user.id)
            .order_by(ApiToken.created_at.desc(), ApiToken.id.desc())
        )
    )


def authenticate(raw: str | None) -> ApiToken | None:
    """The live token `raw` stands for, or None (unknown, revoked, or its user disabled).

    Marks it used, at most once a minute, with one conditional UPDATE; the caller commits.
    """
    if not raw or not raw.startswith(TOKEN_PREFIX) or len(raw) > RAW_MAX:
        return None
    token = db.session.scalar(
        select(ApiToken)
        .where(ApiToken.token_hash == hash_token(raw))
        .options(joinedload(ApiToken.user))
    )
    if token is None or token.is_revoked or not token.user.active:
        return None
    now = utcnow()
    db.session.execute(
        update(ApiToken)
        .where(
            ApiToken.id == token.id,
            or_(ApiToken.last_used_at.is_(None), ApiToken.last_used_at < now - TOUCH_EVERY),
        )
        .values(last_used_at=now),
        execution_options={"synchronize_session": False},
    )
    return token
