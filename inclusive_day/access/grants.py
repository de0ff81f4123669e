"""A user's grants as the access rule reads them: looked up once per request, forgotten when
a service changes them."""

from __future__ import annotations

from flask import g
from sqlalchemy import select

from inclusive_day.auth.models import Role, RoleGrant, User
from inclusive_day.extensions import db
from inclusive_day.units.models import Unit


def grant_rows(user: User) -> list[tuple[Role, str | None, int | None, int | None]]:
    """The user's grants with their units' paths, read once per request."""
    cache = g.setdefault("_grant_rows", {})
    if user.id not in cache:
        stmt = (
            select(RoleGrant.role, Unit.path, RoleGrant.station_id, RoleGrant.sponsor_id)
            .outerjoin(Unit, Unit.id == RoleGrant.unit_id)
            .where(RoleGrant.user_id == user.id)
            .order_by(RoleGrant.id)
        )
        cache[user.id] = [tuple(row) for row in db.session.execute(stmt)]
    return cache[user.id]


def forget_grants() -> None:
    """Drop the per-request grant cache after grants change."""
    g.pop("_grant_rows", None)
