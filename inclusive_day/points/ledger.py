"""The points ledger: every balance change is one entry, made by one guarded UPDATE.

`post` is the only writer of `point_accounts.balance`. A spend is
``UPDATE point_accounts SET balance = balance + :delta WHERE id = :id AND balance + :delta >= 0
RETURNING balance``: on PostgreSQL the row lock makes two spends of the last points run one
after the other, and the second finds the balance short and changes nothing; SQLite holds one
writer at a time. The CHECK on the table refuses a negative balance besides. An earning names
its source (a session, a check-in) and a spend may carry the client's nonce: unique indexes keep
each to one entry, so a repeat earns or spends nothing.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from flask_babel import lazy_gettext as _l
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from inclusive_day.attendance.identity import Person
from inclusive_day.database import INSERT_OR_NOTHING, utcnow
from inclusive_day.extensions import db
from inclusive_day.points.models import EntryReason, PointAccount, PointEntry
from inclusive_day.refusals import Refused


class Refusal(StrEnum):
    """Why the ledger refuses a movement."""

    SHORT = "short"  # the balance is smaller than the spend
    NOT_POSITIVE = "not_positive"  # an amount of zero or less
    NO_ACCOUNT = "no_account"


class PointsError(Refused):
    """A movement of points that cannot be made; nothing was written."""


def account_for(person: Person) -> PointAccount:
    """The person's account, made at a balance of 0 if they have none, in one statement that
    returns it either way (INSERT ... ON CONFLICT (identity) DO UPDATE SET identity =
    excluded.identity RETURNING: the update changes nothing but makes the existing row the
    answer). Safe against two first scans at once: the identity is unique, and the second
    waits for the first's row."""
    table = PointAccount.__table__
    dialect = db.session.get_bind().dialect.name
    stmt = INSERT_OR_NOTHING[dialect](PointAccount).values(
        identity=person.identity,
        person_key=person.key,
        balance=0,
        card_version=1,
        created_at=utcnow(),
    )
    stmt = stmt.on_conflict_do_update(
        index_elements=[table.c.identity], set_={"identity": stmt.excluded.identity}
    )
    return db.session.scalars(
        stmt.returning(PointAccount), execution_options={"populate_existing": True}
    ).one()


def find_account(identity: str) -> PointAccount | None:
    """The account of an identity, if it ever earned anything."""
    return db.session.scalars(select(PointAccount).where(PointAccount.identity == identity)).first()


def post(
    account_id: int,
    delta: int,
    reason: EntryReason,
    *,
    now: datetime | None = None,
    **source,
) -> PointEntry:
    """Move an account's balance by `delta` and write the entry that says why; the caller
    commits (and rolls back on PointsError). `source` holds the entry's other columns:
    station_id, unit_id, session_id, checkin_id, taking_id, note, nonce, created_by_id."""
    if delta == 0:
        raise PointsError(_l("Give a number of points other than 0."), Refusal.NOT_POSITIVE)
    balance = db.session.execute(
        update(PointAccount)
        .where(PointAccount.id == account_id, PointAccount.balance + delta >= 0)
        .values(balance=PointAccount.balance + delta)
        .returning(PointAccount.balance),
        execution_options={"synchronize_session": False},
    ).scalar()
    if balance is None:
        if db.session.get(PointAccount, account_id) is None:
            raise PointsError(_l("There is no such points card."), Refusal.NO_ACCOUNT)
        raise PointsError(
            _l("Not enough points: this needs %(n)d.", n=-delta),
            Refusal.SHORT,
            "points",
        )
    entry = PointEntry(
        account_id=account_id,
        delta=delta,
        balance_after=balance,
        reason=reason,
        created_at=now or utcnow(),
        **source,
    )
    db.session.add(entry)
    db.session.flush()
    return entry


def earn_once(person: Person, points: int, reason: EntryReason, **source) -> PointEntry | None:
    """Award `points` for one source (a session_id or a checkin_id), once: a second award for
    the same source finds the entry there and awards nothing (None). Nothing for 0 points."""
    if points <= 0:
        return None
    key = next(k for k in ("session_id", "checkin_id") if source.get(k) is not None)
    if db.session.scalar(select(PointEntry.id).where(getattr(PointEntry, key) == source[key])):
        return None
    account = account_for(person)
    try:
        with db.session.begin_nested():
            return post(account.id, points, reason, **source)
    except IntegrityError:  # the same source awarded at this moment by another writer
        return None


def spend(
    account_id: int, points: int, reason: EntryReason, *, nonce: str | None = None, **source
) -> tuple[PointEntry, bool]:
    """Take `points` from an account (PointsError if short); a repeat of the same nonce spends
    nothing and returns the first entry. Returns the entry and whether it is new."""
    if points <= 0:
        raise PointsError(_l("Give a number of points above 0."), Refusal.NOT_POSITIVE, "points")
    if nonce is not None:
        done = db.session.scalars(select(PointEntry).where(PointEntry.nonce == nonce)).first()
        if done is not None:
            return done, False
    return post(account_id, -points, reason, nonce=nonce, **source), True


def history(account_id: int, limit: int = 50) -> list[PointEntry]:
    """An account's latest entries, newest first."""
    return list(
        db.session.scalars(
            select(PointEntry)
            .where(PointEntry.account_id == account_id)
            .order_by(PointEntry.id.desc())
            .limit(limit)
        )
    )
