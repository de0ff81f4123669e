"""A year of points for the synthetic province (`flask demo province`), written in bulk.

The province turns activity points on at its root (ACTIVITY_POINTS for each activity taken part
in). A sample of its people (those whose identity's first hex digit falls in the first `share`
sixteenths, among check-ins and door visitors alike) earn for each of their QR check-ins, and
now and then, at a door visit or a check-in, spend what they have on a station's service (a
haircut voucher, a charging cable, a bottle of water). No shelf goods: the province has no
shelves here.

Each person's events are replayed in time order, so every entry's `balance_after` is the
running sum of the account's deltas, never below zero, and the account's balance is the last of
them; entry ids rise in that order too, as the ledger's history reads them. Rows go in with
demo.bulk (COPY on PostgreSQL); the caller's transaction is committed at the end.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from inclusive_day.activities.models import Activity
from inclusive_day.attendance.identity import person_key
from inclusive_day.attendance.models import CheckIn, StationVisit
from inclusive_day.demo.bulk import BulkWriter, analyse
from inclusive_day.points.models import EarnRule, EntryReason, PointAccount, PointEntry, PointRule
from inclusive_day.stations.models import Station
from inclusive_day.units.models import Unit, under

ACTIVITY_POINTS = 5
# The services a door visit may spend on, with their prices.
SERVICES = (("免费理发券", 20), ("手机充电线", 15), ("矿泉水一瓶", 5))
# The chance that a visit or check-in spends, when the worker has enough for a service.
SPEND_CHANCE = 0.3
_HEX = "0123456789abcdef"
ACCOUNT_COLUMNS = ("id", "identity", "person_key", "balance", "card_version", "created_at")
ENTRY_COLUMNS = (
    "id",
    "account_id",
    "delta",
    "balance_after",
    "reason",
    "station_id",
    "unit_id",
    "checkin_id",
    "note",
    "created_at",
)
_EARN, _VISIT = 0, 1  # sorted after an instant's earning


@dataclass(frozen=True)
class PointsSummary:
    """What the generator wrote."""

    accounts: int
    earned: int
    spent: int
    points_earned: int
    points_spent: int

    def line(self) -> str:
        """One line for the command's output."""
        return (
            f"Points: {self.accounts:,} accounts, {self.earned:,} awards"
            f" ({self.points_earned:,} points) and {self.spent:,} spends"
            f" ({self.points_spent:,} points)."
        )


def generate_points(
    session: Session,
    root: Unit,
    *,
    seed: int = 1,
    share: int = 4,
    echo: Callable[[str], object] = print,
) -> PointsSummary:
    """Give `root`'s subtree a year of point entries for the sampled people (`share` of 16 by
    identity) of its check-ins and door visits, and commit. Refuses (ValueError) a subtree
    that already has point accounts' entries at its stations, so that it runs once."""
    if not 1 <= share <= 16:
        raise ValueError("share counts sixteenths: 1 to 16")
    rng = random.Random(seed)
    writer = BulkWriter(session)
    tables = (PointAccount.__table__, PointEntry.__table__, PointRule.__table__)
    writer.lock(tables)
    in_subtree = select(Station.id).join(Unit, Unit.id == Station.unit_id)
    in_subtree = in_subtree.where(under(Unit.path, root.path))
    if session.scalar(select(PointEntry.id).where(PointEntry.station_id.in_(in_subtree))):
        raise ValueError("this subtree already has point entries")
    if (
        session.scalar(
            select(PointRule.id).where(
                PointRule.unit_id == root.id, PointRule.rule == EarnRule.ACTIVITY
            )
        )
        is None
    ):
        session.add(PointRule(unit_id=root.id, rule=EarnRule.ACTIVITY, points=ACTIVITY_POINTS))
        session.flush()
    sampled_below = _HEX[share] if share < 16 else "g"
    unit_of = dict(
        session.execute(select(Station.id, Station.unit_id).where(Station.id.in_(in_subtree))).all()
    )
    events = [
        (identity, at.timestamp(), _EARN, station_id, checkin_id)
        for checkin_id, identity, station_id, at in session.execute(
            select(CheckIn.id, CheckIn.identity, Activity.station_id, CheckIn.checked_in_at)
            .join(Activity, Activity.id == CheckIn.activity_id)
            .where(
                Activity.station_id.in_(in_subtree),
                CheckIn.annulled_at.is_(None),
                CheckIn.identity < sampled_below,
            )
        )
    ]
    events += [
        (identity, at.timestamp(), _VISIT, station_id, None)
        for identity, station_id, at in session.execute(
            select(StationVisit.identity, StationVisit.station_id, StationVisit.visited_at).where(
                StationVisit.station_id.in_(in_subtree), StationVisit.identity < sampled_below
            )
        )
    ]
    taken = set(session.scalars(select(PointAccount.identity)))  # e.g. the Kunming demo's
    events = sorted(e for e in events if e[0] not in taken)
    accounts, entries = _replay(events, rng, writer, root.id, unit_of)
    with writer.suspended((PointEntry.__table__,), len(entries)):
        writer.write(PointAccount.__table__, ACCOUNT_COLUMNS, accounts)
        writer.write(PointEntry.__table__, ENTRY_COLUMNS, entries)
    writer.fix_sequences(tables)
    session.commit()
    analyse(session, tables)
    earns = [e for e in entries if e[2] > 0]
    summary = PointsSummary(
        accounts=len(accounts),
        earned=len(earns),
        spent=len(entries) - len(earns),
        points_earned=sum(e[2] for e in earns),
        points_spent=-sum(e[2] for e in entries if e[2] < 0),
    )
    echo(summary.line())
    return summary


def _replay(events, rng, writer, root_id, unit_of) -> tuple[list[tuple], list[tuple]]:
    """Accounts and entries from the sorted events: per person in time order, an award for
    each check-in, and at a door visit now and then a spend the balance covers."""
    stamp = writer.stamp
    account_id = writer.first_id(PointAccount.__table__)
    entry_id = writer.first_id(PointEntry.__table__)
    accounts, entries = [], []
    identity, balance, first_at = None, 0, 0.0

    def close() -> None:
        nonlocal account_id
        if identity is not None and written:
            accounts.append(
                (account_id, identity, person_key(identity), balance, 1, stamp(int(first_at)))
            )
            account_id += 1

    written = 0
    for who, at, kind, station_id, checkin_id in events:
        if who != identity:
            close()
            identity, balance, first_at, written = who, 0, at, 0
        moves = []
        # At a station (a door visit, or before the activity's award) a worker now and then
        # spends what they have saved on one of its services.
        affordable = [s for s in SERVICES if s[1] <= balance]
        if affordable and rng.random() < SPEND_CHANCE:
            note, price = rng.choice(affordable)
            moves.append((-price, EntryReason.SERVICE, unit_of.get(station_id), None, note))
        if kind == _EARN:
            moves.append((ACTIVITY_POINTS, EntryReason.ACTIVITY, root_id, checkin_id, ""))
        for delta, reason, unit_id, source, note in moves:
            if not written:
                first_at = at
            balance += delta
            written += 1
            entries.append(
                (
                    entry_id,
                    account_id,
                    delta,
                    balance,
                    reason.value,
                    station_id,
                    unit_id,
                    source,
                    note,
                    stamp(int(at)),
                )
            )
            entry_id += 1
    close()
    return accounts, entries
