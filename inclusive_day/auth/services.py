"""Workflows on users and grants: signing in and out, passwords, accounts and roles.

Every function flushes and returns; the view commits once.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask_babel import gettext as _
from sqlalchemy import func, or_, select, update

from inclusive_day.access.grants import forget_grants
from inclusive_day.api.models import ApiToken
from inclusive_day.auth.models import Role, RoleGrant, User
from inclusive_day.auth.names import is_valid_username, normalise_username, username_key
from inclusive_day.auth.passwords import password_problem, temporary_password
from inclusive_day.database import utcnow
from inclusive_day.extensions import db
from inclusive_day.sponsors.models import Sponsor, SponsorStatus
from inclusive_day.stations.models import Station
from inclusive_day.units.models import Unit

# Hashing a password for an unknown user keeps a failed sign-in as slow as a wrong password.
_DUMMY_HASH_PASSWORD = "not-a-real-password"
USER_LIST_MAX = 200


class UserError(ValueError):
    """A change to an account or a grant that breaks a rule; `field` names the form field."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


def authenticate(username: str, password: str) -> User | None:
    """The active user with these credentials, or None; never says which part was wrong."""
    user = user_by_name(username)
    if user is None:
        User(password_hash="").set_password(_DUMMY_HASH_PASSWORD)
        return None
    if not user.check_password(password) or not user.active:
        return None
    user.last_login_at = utcnow()
    return user


def user_by_name(username: str) -> User | None:
    """The user with this name, read by the one rule for names (NFKC, without regard to case):
    ａｄｍｉｎ finds admin."""
    return db.session.scalar(
        select(User).where(func.lower(User.username) == username_key(username))
    )


def create_user(username: str, password: str, display_name: str = "", **fields) -> User:
    """Add a user with a hashed password; the name is stored normalised (see auth.names)."""
    username = normalise_username(username)
    user = User(username=username, display_name=display_name or username, **fields)
    user.set_password(password)
    db.session.add(user)
    db.session.flush()
    return user


def add_user(
    username: str, password: str, display_name: str = "", *, must_change_password: bool = False
) -> User:
    """An administrator's new account: a free user name and a password that passes the rule."""
    username = normalise_username(username)
    if not is_valid_username(username):
        raise UserError(_("Use letters, digits and . @ + - _ only, without spaces."), "username")
    if user_by_name(username) is not None:
        raise UserError(_("This user name is taken; choose another."), "username")
    problem = password_problem(password, username)
    if problem:
        raise UserError(problem, "password")
    return create_user(
        username, password, display_name.strip(), must_change_password=must_change_password
    )


def end_sessions(user: User) -> None:
    """Sign `user` out everywhere: every session and remember-me cookie carries the old version."""
    user.session_version = (user.session_version or 0) + 1
    db.session.flush()


def revoke_api_tokens(user: User) -> int:
    """Stop every API token of `user` at once; return how many were still working.

    A reset, a disabling (and an own change that asks for it) end them with the sessions:
    whoever took the account over keeps no way in.
    """
    return db.session.execute(
        update(ApiToken)
        .where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
        .values(revoked_at=utcnow()),
        execution_options={"synchronize_session": False},
    ).rowcount


def change_password(user: User, current: str, new: str, *, revoke_tokens: bool = True) -> None:
    """The user's own change: the current password must match and the new one pass the rule.

    Every other session of the user ends, and with `revoke_tokens` every API token; the
    caller signs the current browser in again.
    """
    if not user.check_password(current):
        raise UserError(_("The current password is wrong."), "current")
    problem = password_problem(new, user.username)
    if problem:
        raise UserError(problem, "password")
    _set_password(user, new)
    user.must_change_password = False
    end_sessions(user)
    if revoke_tokens:
        revoke_api_tokens(user)


def _set_password(user: User, password: str) -> None:
    user.set_password(password)
    user.password_changed_at = utcnow()


def reset_password(user: User) -> str:
    """An administrator's reset: a temporary password (returned, to be shown once) that must
    be changed at the next sign-in; the user's sessions and API tokens end."""
    password = temporary_password()
    _set_password(user, password)
    user.must_change_password = True
    end_sessions(user)
    revoke_api_tokens(user)
    return password


def _admin_grants(user: User) -> list[RoleGrant]:
    return [g for g in user.grants if g.role is Role.ADMIN]


def set_active(user: User, active: bool, *, by: User) -> None:
    """Enable or disable an account; disabling ends its sessions and revokes its API tokens
    (enabling it again does not bring them back). Nobody disables themselves."""
    if user.active == active:
        return
    if not active:
        if user.id == by.id:
            raise UserError(_("You cannot disable your own account."))
        end_sessions(user)
        revoke_api_tokens(user)
    user.active = active
    db.session.flush()


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
    forget_grants()
    return row


def grant_role(
    user: User,
    role: Role,
    *,
    unit_id: int | None = None,
    station_code: str | None = None,
    sponsor_id: int | None = None,
) -> RoleGrant:
    """An administrator's grant from a form: find the target the role needs, refuse a grant the
    user already holds."""
    target: dict = {}
    if role in (Role.ORGANISER, Role.VIEWER):
        unit = db.session.get(Unit, unit_id) if unit_id else None
        if unit is None:
            raise UserError(_("Choose the union unit for this role."), "unit")
        target = {"unit": unit}
    elif role is Role.STATION_MANAGER:
        code = (station_code or "").strip()
        station = (
            db.session.scalar(select(Station).where(func.upper(Station.code) == code.upper()))
            if code
            else None
        )
        if station is None:
            raise UserError(_("No station has this code."), "station_code")
        target = {"station": station}
    elif role is Role.SPONSOR_REP:
        sponsor = db.session.get(Sponsor, sponsor_id) if sponsor_id else None
        if sponsor is None or sponsor.status is not SponsorStatus.APPROVED:
            raise UserError(_("Choose an approved sponsor."), "sponsor")
        target = {"sponsor": sponsor}
    ids = {f"{k}_id": v.id for k, v in target.items()}
    for held in user.grants:
        if held.role is role and all(getattr(held, k) == v for k, v in ids.items()):
            raise UserError(_("The user already holds this role."))
    return grant(user, role, **target)


def revoke_grant(row: RoleGrant, *, by: User) -> None:
    """Take a grant back. An administrator keeps their own last administrator grant."""
    if row.role is Role.ADMIN and row.user_id == by.id and len(_admin_grants(by)) <= 1:
        raise UserError(_("You cannot take away your own administrator role."))
    user = row.user
    user.grants.remove(row)
    db.session.flush()
    forget_grants()


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def search_users(query: str = "", limit: int = USER_LIST_MAX) -> list[User]:
    """Users whose user name or display name contains `query`, by user name."""
    stmt = select(User).order_by(func.lower(User.username)).limit(limit)
    query = query.strip().lower()
    if query:
        like = "%" + _escape_like(query) + "%"
        stmt = stmt.where(
            or_(
                func.lower(User.username).like(like, escape="\\"),
                func.lower(User.display_name).like(like, escape="\\"),
            )
        )
    return list(db.session.scalars(stmt))


@dataclass(frozen=True)
class GrantRow:
    """One grant as a page shows it: the role's label and what it is held over."""

    id: int
    user_id: int
    role: Role
    target: str

    @property
    def role_label(self) -> str:
        """The role's name in the user's language."""
        return self.role.label


def grants_by_user(user_ids: list[int]) -> dict[int, list[GrantRow]]:
    """The grants of these users with their targets' names, in one query."""
    stmt = (
        select(
            RoleGrant.id,
            RoleGrant.user_id,
            RoleGrant.role,
            Unit.name,
            Station.code,
            Station.name,
            Sponsor.name,
        )
        .outerjoin(Unit, Unit.id == RoleGrant.unit_id)
        .outerjoin(Station, Station.id == RoleGrant.station_id)
        .outerjoin(Sponsor, Sponsor.id == RoleGrant.sponsor_id)
        .where(RoleGrant.user_id.in_(user_ids))
        .order_by(RoleGrant.user_id, RoleGrant.id)
    )
    out: dict[int, list[GrantRow]] = {uid: [] for uid in user_ids}
    for gid, uid, role, unit, code, station, sponsor in db.session.execute(stmt):
        if role is Role.ADMIN:
            target = _("everything")
        elif station is not None:
            target = f"{station} ({code})"
        else:
            target = unit or sponsor or ""
        out[uid].append(GrantRow(gid, uid, role, target))
    return out
