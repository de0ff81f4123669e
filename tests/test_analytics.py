"""The analytics tables: counters kept by triggers in the writing transaction, people bitmaps
kept by the refresh, and figures equal to the raw rows' whatever the refresh has reached."""

from __future__ import annotations

import random
import uuid
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import delete, distinct, event, func, insert, select, update

from inclusive_day.activities.models import Activity
from inclusive_day.analytics.models import (
    ANY_CAMPAIGN,
    AnalyticsChange,
    CheckinTally,
    PeopleBitmap,
    PeopleKind,
    TrafficDay,
)
from inclusive_day.analytics.people import Part, distinct_people, people_of
from inclusive_day.analytics.refresh import AnalyticsError, rebuild, refresh
from inclusive_day.attendance.identity import identity_for
from inclusive_day.attendance.models import BeneficiaryGroup, CheckIn, StationVisit
from inclusive_day.demo.bulk import BulkWriter
from inclusive_day.periods import days_utc_range
from inclusive_day.stations.models import Station
from inclusive_day.units.models import Unit

GROUPS = list(BeneficiaryGroup)


@pytest.fixture
def world(db, make_unit, make_station, make_campaign, make_activity):
    """A province with two cities of two districts each, a station at every unit, two
    campaigns, and door visits and check-ins of 300 people spread over 14 months."""
    rng = random.Random(20)
    province = make_unit("省")
    units = [province]
    for c in range(2):
        city = make_unit(f"市{c}", parent=province)
        units.append(city)
        for d in range(2):
            units.append(make_unit(f"区{c}{d}", parent=city))
    stations = [make_station(u) for u in units for _ in range(2)]
    campaigns = [make_campaign(province), make_campaign(province)]
    phones = [f"139{n:08d}" for n in range(300)]
    identities = {p: identity_for(p) for p in phones}
    start = date(2024, 1, 1)
    visits, seen = [], set()
    for _ in range(1500):
        station = rng.choice(stations)
        day = start + timedelta(days=rng.randrange(425))
        phone = rng.choice(phones)
        if (station.id, phone, day) in seen:
            continue
        seen.add((station.id, phone, day))
        visits.append(
            {
                "station_id": station.id,
                "identity": identities[phone],
                "group": rng.choice(GROUPS),
                "nonce": uuid.uuid4().hex,
                "visit_day": day,
                "visited_at": datetime(day.year, day.month, day.day, 2, tzinfo=UTC),
            }
        )
    db.session.execute(insert(StationVisit), visits)
    checkins = []
    for _ in range(60):
        station = rng.choice(stations)
        day = start + timedelta(days=rng.randrange(425))
        # Some activities start just after midnight in China: the day before in UTC.
        hour = rng.choice([0, 10])
        at = datetime(day.year, day.month, day.day, hour, 30, tzinfo=UTC) - timedelta(hours=8)
        activity = make_activity(station, rng.choice(campaigns), starts_at=at)
        for phone in rng.sample(phones, rng.randrange(1, 25)):
            checkins.append(
                {
                    "activity_id": activity.id,
                    "identity": identities[phone],
                    "group": rng.choice(GROUPS),
                    "nonce": uuid.uuid4().hex,
                }
            )
    db.session.execute(insert(CheckIn), checkins)
    db.session.commit()
    return {"units": units, "campaigns": campaigns, "rng": rng, "start": start}


def raw_visitors(unit: Unit, first: date, last: date, own_only: bool = False) -> int:
    where = Station.unit_id == unit.id if own_only else Station.under(unit.path)
    return (
        select(func.count(distinct(StationVisit.person_key)))
        .join(Station, Station.id == StationVisit.station_id)
        .where(where, StationVisit.visit_day >= first, StationVisit.visit_day <= last)
    )


def raw_served(unit: Unit, first: date, last: date, campaign_id: int):
    start, end = days_utc_range(first, last)
    stmt = (
        select(func.count(distinct(CheckIn.person_key)))
        .join(Activity, Activity.id == CheckIn.activity_id)
        .join(Station, Station.id == Activity.station_id)
        .where(
            Station.under(unit.path),
            Activity.starts_at >= start,
            Activity.starts_at < end,
            CheckIn.annulled_at.is_(None),
        )
    )
    return stmt.where(Activity.campaign_id == campaign_id) if campaign_id else stmt


def random_scopes(world, n: int):
    rng = world["rng"]
    for _ in range(n):
        unit = rng.choice(world["units"])
        first = world["start"] + timedelta(days=rng.randrange(-20, 430))
        if rng.random() < 0.4:
            first = first.replace(day=1)
        last = first + timedelta(days=rng.randrange(0, 400))
        campaign = rng.choice([ANY_CAMPAIGN, *(c.id for c in world["campaigns"])])
        yield unit, first, last, campaign


def assert_exact(db, world, n: int = 40) -> None:
    for unit, first, last, campaign in random_scopes(world, n):
        scope = (unit.path, first, last, campaign)
        visitors = distinct_people(PeopleKind.VISITORS, unit, first, last)
        assert visitors == db.session.scalar(raw_visitors(unit, first, last)), scope
        served = distinct_people(PeopleKind.SERVED, unit, first, last, campaign)
        assert served == db.session.scalar(raw_served(unit, first, last, campaign)), scope
        own = Part.own(unit)
        counted = people_of(PeopleKind.VISITORS, [own], Part.subtree(unit), first, last)[own]
        assert counted == db.session.scalar(raw_visitors(unit, first, last, own_only=True))


def counters_match_raw(db) -> None:
    visits = db.session.execute(
        select(
            StationVisit.station_id, StationVisit.visit_day, StationVisit.group, func.count()
        ).group_by(StationVisit.station_id, StationVisit.visit_day, StationVisit.group)
    ).all()
    counted = db.session.execute(
        select(TrafficDay.station_id, TrafficDay.day, TrafficDay.group, TrafficDay.visits).where(
            TrafficDay.visits > 0
        )
    ).all()
    assert sorted(map(tuple, visits)) == sorted(map(tuple, counted))
    standing = db.session.execute(
        select(CheckIn.activity_id, CheckIn.group, func.count())
        .where(CheckIn.annulled_at.is_(None))
        .group_by(CheckIn.activity_id, CheckIn.group)
    ).all()
    tallied = db.session.execute(
        select(CheckinTally.activity_id, CheckinTally.group, CheckinTally.checkins).where(
            CheckinTally.checkins > 0
        )
    ).all()
    assert sorted(map(tuple, standing)) == sorted(map(tuple, tallied))


def test_the_triggers_count_every_write_in_its_own_transaction(db, world):
    counters_match_raw(db)
    some = db.session.scalars(select(CheckIn).limit(30)).all()
    for checkin in some[:20]:
        checkin.annulled_at = datetime.now(UTC)
    for checkin in some[20:25]:
        checkin.group = BeneficiaryGroup.POLICE
    db.session.flush()
    db.session.execute(update(CheckIn).where(CheckIn.id == some[0].id).values(annulled_at=None))
    db.session.execute(delete(CheckIn).where(CheckIn.id == some[25].id))
    db.session.execute(delete(StationVisit).where(StationVisit.id < 50))
    db.session.execute(
        update(StationVisit)
        .where(StationVisit.id.between(50, 60))
        .values(group=BeneficiaryGroup.ELDERLY)
    )
    counters_match_raw(db)
    db.session.rollback()
    counters_match_raw(db)


def test_people_are_exact_before_between_and_after_refreshes(db, world):
    """Unrefreshed (all raw), refreshed (bitmaps), then with changes queued on top of the
    bitmaps (annulments, new visits), then refreshed again: always the raw rows' count."""
    assert_exact(db, world, 25)
    done = refresh()
    db.session.commit()
    assert done.changes > 0 and done.bitmaps > 0 and done.people_numbered == 300
    assert db.session.scalar(select(func.count()).select_from(AnalyticsChange)) == 0
    assert_exact(db, world, 40)
    # Annul every check-in of a few people, and bring new people to a refreshed month.
    victims = db.session.scalars(select(CheckIn.person_key).distinct().limit(20)).all()
    db.session.execute(
        update(CheckIn).where(CheckIn.person_key.in_(victims)).values(annulled_at=datetime.now(UTC))
    )
    station = db.session.scalar(select(Station).limit(1))
    db.session.execute(
        insert(StationVisit),
        [
            {
                "station_id": station.id,
                "identity": identity_for(f"137{n:08d}"),
                "group": BeneficiaryGroup.RIDER,
                "nonce": uuid.uuid4().hex,
                "visit_day": date(2024, 3, 9),
                "visited_at": datetime(2024, 3, 9, 2, tzinfo=UTC),
            }
            for n in range(15)
        ],
    )
    db.session.commit()
    assert_exact(db, world, 40)
    refresh()
    db.session.commit()
    assert_exact(db, world, 40)


def test_a_refreshed_month_is_read_from_its_bitmap(db, world):
    """After a refresh, a whole year of the province reads twelve stored bitmaps and no raw
    row; with no bitmap the same figure comes from the raw rows."""
    province = world["units"][0]
    refresh()
    db.session.commit()
    year = (date(2024, 1, 1), date(2024, 12, 31))
    expected = db.session.scalar(raw_visitors(province, *year))
    queries = []

    def seen(_conn, _cursor, statement, *_args):
        queries.append(statement)

    event.listen(db.engine, "before_cursor_execute", seen)
    try:
        assert distinct_people(PeopleKind.VISITORS, province, *year) == expected
    finally:
        event.remove(db.engine, "before_cursor_execute", seen)
    assert queries and not any("station_visits" in q for q in queries), queries
    assert (
        db.session.scalar(
            select(func.count()).where(
                PeopleBitmap.unit_id == province.id, PeopleBitmap.kind == PeopleKind.VISITORS
            )
        )
        == 14
    )


def bitmap_rows(db) -> list[tuple]:
    """Every stored bitmap's key and number of people, sorted."""
    columns = (PeopleBitmap.unit_id, PeopleBitmap.kind, PeopleBitmap.campaign_id)
    rows = db.session.execute(select(*columns, PeopleBitmap.month, PeopleBitmap.people))
    return sorted(map(tuple, rows))


def test_a_rebuild_makes_the_same_tables_again_from_the_raw_rows(db, world, runner):
    refresh()
    db.session.commit()
    before = bitmap_rows(db)
    # Lose the tables, then rebuild them.
    db.session.execute(delete(TrafficDay))
    db.session.execute(delete(CheckinTally))
    db.session.execute(delete(PeopleBitmap))
    db.session.commit()
    result = runner.invoke(args=["analytics", "rebuild"])
    assert result.exit_code == 0, result.output
    assert "Rebuilt" in result.output
    counters_match_raw(db)
    after = bitmap_rows(db)
    assert after == before
    assert_exact(db, world, 20)


def test_a_rebuild_of_a_period_leaves_the_other_months_alone(db, world):
    refresh()
    db.session.commit()
    db.session.execute(delete(TrafficDay).where(TrafficDay.day < date(2024, 2, 1)))
    march = db.session.scalar(
        select(func.sum(TrafficDay.visits)).where(TrafficDay.day >= date(2024, 3, 1))
    )
    rebuild(date(2024, 1, 10), date(2024, 1, 20))
    db.session.commit()
    counters_match_raw(db)
    assert march == db.session.scalar(
        select(func.sum(TrafficDay.visits)).where(TrafficDay.day >= date(2024, 3, 1))
    )


def test_a_rebuild_that_ends_before_it_starts_is_refused(db, world, runner):
    result = runner.invoke(
        args=["analytics", "rebuild", "--from", "2024-05-01", "--to", "2024-04-01"]
    )
    assert result.exit_code == 2
    assert "ends (2024-04-01) before it starts (2024-05-01)" in result.output
    assert db.session.scalar(select(func.count()).select_from(PeopleBitmap)) == 0
    with pytest.raises(AnalyticsError):
        rebuild(date(2024, 5, 1), date(2024, 4, 1))
    assert runner.invoke(args=["analytics", "rebuild", "--from", "May"]).exit_code == 2


def test_the_refresh_command_says_what_it_did(db, world, runner):
    result = runner.invoke(args=["analytics", "refresh"])
    assert result.exit_code == 0, result.output
    assert "people newly numbered; 0 waiting." in result.output
    again = runner.invoke(args=["analytics", "refresh"])
    assert "Refreshed 0 changes" in again.output


def test_a_bulk_load_is_counted_as_the_triggers_would(db, world):
    """The bulk writer turns the triggers off on PostgreSQL and counts the load set by set
    (on SQLite the triggers count it): the counters and the queue come out the same."""
    refresh()
    db.session.commit()
    writer = BulkWriter(db.session)
    first = writer.first_id(StationVisit.__table__)
    station = db.session.scalar(select(Station).limit(1))
    columns = ("id", "station_id", "identity", "group", "nonce", "visit_day", "visited_at")
    day = date(2024, 4, 2)
    writer.write(
        StationVisit.__table__,
        columns,
        [
            (
                first + n,
                station.id,
                identity_for(f"136{n:08d}"),
                "courier",
                uuid.uuid4().hex,
                writer.day(day),
                writer.stamp(int(datetime(2024, 4, 2, 2, tzinfo=UTC).timestamp())),
            )
            for n in range(40)
        ],
    )
    writer.fix_sequences([StationVisit.__table__])
    db.session.commit()
    counters_match_raw(db)
    assert db.session.scalar(select(func.count()).select_from(AnalyticsChange)) > 0
    assert_exact(db, world, 15)
    refresh()
    db.session.commit()
    assert_exact(db, world, 15)
