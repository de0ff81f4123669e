"""The province's year of points, written in bulk: balances add up, and the rollup reads them."""

from datetime import date

import pytest
from sqlalchemy import func, select

from inclusive_day.demo.province import build_province
from inclusive_day.demo.province_points import ACTIVITY_POINTS, generate_points
from inclusive_day.points.models import EntryReason, PointAccount, PointEntry
from inclusive_day.points.queries import points_rollup
from inclusive_day.units.models import Unit

SMALL = {"stations": 60, "activities": 300, "checkins": 3_000, "visits": 4_000}
TODAY = date(2026, 6, 30)


@pytest.fixture
def province(db):
    """A small province with its points."""
    build_province(**SMALL, seed=7, today=TODAY, echo=lambda _line: None)
    root = db.session.scalar(select(Unit).where(Unit.code == "990000"))
    summary = generate_points(db.session, root, seed=7, share=8, echo=lambda _line: None)
    return root, summary


def test_balances_are_the_running_sums_of_the_entries(db, province):
    _root, summary = province
    assert summary.accounts > 50 and summary.earned > 500 and summary.spent > 20
    entries = db.session.execute(
        select(PointEntry.account_id, PointEntry.delta, PointEntry.balance_after).order_by(
            PointEntry.account_id, PointEntry.id
        )
    ).all()
    running: dict[int, int] = {}
    for account_id, delta, after in entries:
        running[account_id] = running.get(account_id, 0) + delta
        assert after == running[account_id] >= 0
    balances = dict(db.session.execute(select(PointAccount.id, PointAccount.balance)).all())
    assert balances == running
    assert summary.points_earned == summary.earned * ACTIVITY_POINTS
    assert sum(balances.values()) == summary.points_earned - summary.points_spent


def test_each_award_names_its_checkin_once_and_spends_are_on_services(db, province):
    awards = db.session.scalars(
        select(PointEntry.checkin_id).where(PointEntry.reason == EntryReason.ACTIVITY)
    ).all()
    assert None not in awards and len(set(awards)) == len(awards)
    spends = db.session.scalars(select(PointEntry).where(PointEntry.delta < 0)).all()
    assert all(e.reason is EntryReason.SERVICE and e.note and e.station_id for e in spends)


def test_the_rollup_adds_up_to_the_summary_and_runs_once(db, province):
    root, summary = province
    rollup = points_rollup(root, date(2025, 6, 1), TODAY)
    assert rollup.total.total_earned == summary.points_earned
    assert rollup.total.total_spent == summary.points_spent
    assert sum(f.total_earned for _u, f in rollup.rows) == summary.points_earned
    active = db.session.scalar(select(func.count(PointAccount.id)))
    assert rollup.total.active == active


def test_a_second_run_is_refused(db, province):
    root, _summary = province
    with pytest.raises(ValueError, match="already"):
        generate_points(db.session, root, seed=8, echo=lambda _line: None)
