"""One summary event for each change a service makes with a bulk statement, not the ORM.

Each function is called from the one place that runs the statement, right after it.
"""

from __future__ import annotations

from collections.abc import Iterable

from inclusive_day.audit.recorder import record
from inclusive_day.audit.specs import owner, owner_path


def record_about(
    action: str, object_type: str, kind: str, ident: int, changes: dict, object_id=None
) -> None:
    """`record` for a change to a record whose path and name are looked up by (kind, id)."""
    path, label = owner(kind, ident)
    record(action, object_type, ident if object_id is None else object_id, label, path, changes)


def series_created(series, station_ids: Iterable[int]) -> None:
    """A series was fanned out into activities in one INSERT."""
    station_ids = list(station_ids)
    record(
        "create",
        "series",
        series.id,
        series.title,
        owner_path("station", station_ids),
        {
            "activities": [None, len(station_ids)],
            "stations": [None, len(set(station_ids))],
            "campaign_id": [None, series.campaign_id],
            "first_date": [None, series.first_date],
            "rule": [None, series.rule or None],
            "starts_time": [None, series.starts_time],
            "ends_time": [None, series.ends_time],
        },
    )


def unit_moved(unit, old_parent, old_path: str, moved: int) -> None:
    """A unit and its subtree moved under another parent (one UPDATE of every path).

    Logged under the old path, so the organisers of the subtree it left see it go; the
    parent change itself is logged by the flush under the new path.
    """
    parent = unit.parent
    record(
        "move",
        "unit",
        unit.id,
        unit.name,
        old_path,
        {
            "parent": [old_parent.name if old_parent else None, parent.name if parent else None],
            "path": [old_path, unit.path],
            "units": [None, moved],
        },
    )


def headcount_set(activity, row_id: int, group, old: int, new: int) -> None:
    """Staff changed one group's headcount with a guarded UPDATE."""
    record_about("update", "headcount", "activity", activity.id, {group: [old, new]}, row_id)


def tally_counted(activity, counted: dict) -> None:
    """A tally upload moved headcounts: {group: [row id, before, after]}, one event per group."""
    for group, (row_id, before, after) in counted.items():
        if before != after:
            record_about(
                "tally", "headcount", "activity", activity.id, {group: [before, after]}, row_id
            )


def activities_cancelled(activity, reason: str, count: int) -> None:
    """Occurrences of an activity were called off in one UPDATE."""
    changes = {"status": ["scheduled", "cancelled"], "cancel_reason": [None, reason]}
    if count != 1:
        changes["activities"] = [None, count]
    if count:
        record_about("cancel", "activity", "activity", activity.id, changes)


def sponsor_reviewed(sponsor, status, note: str) -> None:
    """An organiser approved or rejected a sponsor's sign-up."""
    changes = {"status": ["pending", status]}
    if note:
        changes["review_note"] = [None, note]
    record_about("review", "sponsor", "sponsor", sponsor.id, changes)


def donation_received(donation) -> None:
    """A pledged donation was confirmed as received and given its receipt number."""
    record_about(
        "receive",
        "donation",
        "donation",
        donation.id,
        {
            "status": ["pledged", donation.status],
            "received_on": [None, donation.received_on],
            "receipt_number": [None, donation.receipt_number],
        },
    )


def donation_distributed(donation, before, before_status) -> None:
    """Part of a donation was handed out: its running total moved with a guarded UPDATE."""
    changes = {"distributed": [before, donation.distributed]}
    if before_status != donation.status:
        changes["status"] = [before_status, donation.status]
    record_about("distribute", "donation", "donation", donation.id, changes)


def manager_removed(station, user_id: int) -> None:
    """A station manager's grant was deleted."""
    username = owner("user", user_id)[1] or f"#{user_id}"
    record(
        "delete",
        "role_grant",
        None,
        f"{username} → {station.code}",
        owner("station", station.id)[0],
        {"role": ["station_manager", None], "user_id": [user_id, None]},
    )


def stations_imported(filename: str, creates, updates) -> None:
    """A station spreadsheet was written in bulk: one event for the file."""
    unit_ids = {c.values.get("unit_id") for c in [*creates, *updates]}
    unit_ids |= {getattr(c.existing, "unit_id", None) for c in updates}
    record(
        "import",
        "station",
        None,
        filename,
        owner_path("unit", [i for i in unit_ids if i is not None]),
        {
            "created": [None, len(creates)],
            "updated": [None, len(updates)],
            "codes": [None, [c.code for c in [*creates, *updates]][:50]],
        },
    )


def operating_subsidies_generated(unit, label, rule: str, year: int, amount, added: int) -> None:
    """The yearly operating subsidy of a label was written for a subtree in one INSERT."""
    record(
        "generate",
        "fund_line",
        None,
        f"{label.name_zh} {year}",
        unit.path,
        {
            "lines": [None, added],
            "rule": [None, rule],
            "year": [None, year],
            "amount": [None, amount],
        },
    )
