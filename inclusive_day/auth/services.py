"""Workflows on users and grants."""

from sqlalchemy import func, select

from inclusive_day.auth.models import Role, RoleGrant, User
from inclusive_day.database import utcnow
from inclusive_day.extensions import db

# Hashing a password for an unknown user keeps a failed sign-in as slow as a wrong password.
_DUMMY_HASH_PASSWORD = "not-a-real-password"


def authenticate(username: str, password: str) -> User | None:
    """The active user with these credentials, or None; never says which part was wrong."""
    user = db.session.scalar(
        select(User).where(func.lower(User.username) == username.strip().lower())
    )
    if user is None:
        User(password_hash="").set_password(_DUMMY_HASH_PASSWORD)
        return None
    if not user.check_password(password) or not user.active:
        return None
    user.last_login_at = utcnow()
    return user


def create_user(username: str, password: str, display_name: str = "", **fields) -> User:
    """Add a user with a hashed password."""
    user = User(username=username.strip(), display_name=display_name or username, **fields)
    user.set_password(password)
    db.session.add(user)
    db.session.flush()
    return user


def grant(user: User, role: Role, *, unit=None, station=None, sponsor=None) -> RoleGrant:
    """Give `user` a role over a unit subtree, a station, a sponsor, or (admin) everything."""
    row = RoleGrant(
        user=user,
        role=role,
        unit_id=getattr(unit, "id", None),
        station_id=getattr(station, "id", None),
        sponsor_id=getattr(sponsor, "id", None),
    )
    db.session.add(row)
    db.session.flush()
    return row
