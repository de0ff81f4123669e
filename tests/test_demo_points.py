"""The Kunming demo's points: a district awards its activities, the ledger adds up, some spend."""

from sqlalchemy import func, select

from inclusive_day.attendance.models import CheckIn
from inclusive_day.demo.kunming import load_kunming
from inclusive_day.demo.points import ACTIVITY_POINTS, DISTRICT_CODES, load_points
from inclusive_day.points.models import EarnRule, EntryReason, PointAccount, PointEntry, PointRule
from inclusive_day.stations.models import Station
from inclusive_day.units.models import Unit


def test_the_demo_awards_a_districts_activities_and_spends_some(db):
    lines = []
    load_kunming(echo=lines.append)
    assert any("Turned on activity points in 1 district(s)" in line for line in lines)
    rules = db.session.execute(
        select(Unit.code, PointRule.rule, PointRule.points)
        .join(Unit, Unit.id == PointRule.unit_id)
        .where(PointRule.rule == EarnRule.ACTIVITY)  # the volunteers' demo sets hours' points
    ).all()
    assert sorted(rules) == [(code, EarnRule.ACTIVITY, ACTIVITY_POINTS) for code in DISTRICT_CODES]

    awards = db.session.scalars(
        select(PointEntry).where(PointEntry.reason == EntryReason.ACTIVITY)
    ).all()
    assert len(awards) > 100 and all(e.delta == ACTIVITY_POINTS for e in awards)
    # Each award is dated at its check-in, and at a station of the two districts.
    checkins = {c.id: c for c in db.session.scalars(select(CheckIn))}
    assert all(e.created_at == checkins[e.checkin_id].checked_in_at for e in awards)
    district = db.session.scalar(select(Unit).where(Unit.code == DISTRICT_CODES[0]))
    paths = db.session.scalars(
        select(Unit.path)
        .join(Station, Station.unit_id == Unit.id)
        .join(PointEntry, PointEntry.station_id == Station.id)
        .where(PointEntry.reason == EntryReason.ACTIVITY)
    ).all()
    assert paths and all(path.startswith(district.path) for path in paths)
    unawarded = db.session.scalar(
        select(func.count(CheckIn.id)).where(
            CheckIn.id.not_in(
                select(PointEntry.checkin_id).where(PointEntry.checkin_id.is_not(None))
            )
        )
    )
    assert unawarded > 0  # the other districts award nothing

    spends = db.session.scalars(select(PointEntry).where(PointEntry.delta < 0)).all()
    assert spends and {e.note for e in spends} <= {"免费理发券", "手机充电线"}
    # The ledger adds up: each balance is the sum of its entries, and each entry's balance
    # after is the running sum.
    for account in db.session.scalars(select(PointAccount)):
        entries = db.session.scalars(
            select(PointEntry).where(PointEntry.account_id == account.id).order_by(PointEntry.id)
        ).all()
        running = 0
        for entry in entries:
            running += entry.delta
            assert entry.balance_after == running >= 0
        assert account.balance == running


def test_loading_points_again_awards_nothing_more(db):
    load_kunming(echo=lambda _: None)
    before = db.session.scalar(select(func.count(PointEntry.id)))
    again = load_points(echo=lambda _: None)
    assert again.earned == 0
    assert db.session.scalar(select(func.count(PointEntry.id))) - before == again.spends
