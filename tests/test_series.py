"""Fan-out series: dates from rules, stations by subtree/amenity/list, conflicts, limits,
editing and cancelling occurrences."""

from datetime import UTC, date, datetime, time, timedelta

import pytest
from sqlalchemy import func, select

from inclusive_day.activities.models import (
    Activity,
    ActivityStatus,
    ConflictPolicy,
    Series,
    activity_donations,
)
from inclusive_day.activities.recurrence import DateRule, Repeat, RuleError, describe
from inclusive_day.activities.series import (
    SeriesTemplate,
    StationChoice,
    StationPick,
    create_series,
    plan_series,
)
from inclusive_day.activities.services import (
    Occurrences,
    ScheduleError,
    SeriesChange,
    cancel_occurrences,
    change_occurrences,
    local_day,
)
from inclusive_day.auth.models import Role
from inclusive_day.sponsors.models import Donation, DonationKind
from inclusive_day.stations.models import Amenity
from inclusive_day.units.models import Level

# ---- dates ----------------------------------------------------------------------------------


def test_second_sunday_of_every_month():
    rule = DateRule(
        date(2026, 1, 1), Repeat.MONTHLY_WEEKDAY, until=date(2026, 4, 30), nth=2, nth_weekday=6
    )
    assert rule.rrule() == "FREQ=MONTHLY;BYDAY=2SU;UNTIL=20260430"
    assert rule.occurrences(100) == [
        date(2026, 1, 11),
        date(2026, 2, 8),
        date(2026, 3, 8),
        date(2026, 4, 12),
    ]


def test_last_friday_and_weekly_with_interval_and_exclusions():
    last_friday = DateRule(date(2026, 1, 1), Repeat.MONTHLY_WEEKDAY, count=2, nth=-1, nth_weekday=4)
    assert last_friday.occurrences(10) == [date(2026, 1, 30), date(2026, 2, 27)]
    fortnightly = DateRule(
        date(2026, 6, 1),
        Repeat.WEEKLY,
        until=date(2026, 6, 30),
        interval=2,
        weekdays=(5,),
        excluded=(date(2026, 6, 20),),
        dates=(date(2026, 6, 25),),
    )
    # Saturdays 6 and 20 (the 20th excluded), plus the explicit 25th.
    assert fortnightly.occurrences(10) == [date(2026, 6, 6), date(2026, 6, 25)]


def test_daily_hundred_days_and_explicit_dates_only():
    summer = DateRule(date(2026, 6, 1), Repeat.DAILY, count=100)
    days = summer.occurrences(1000)
    assert len(days) == 100 and days[-1] == date(2026, 9, 8)
    explicit = DateRule(date(2026, 3, 3), dates=(date(2026, 3, 3), date(2026, 2, 2)))
    assert explicit.rrule() == "" and explicit.occurrences(5) == [
        date(2026, 2, 2),
        date(2026, 3, 3),
    ]


def test_an_unbounded_or_backwards_rule_is_refused():
    with pytest.raises(RuleError):
        DateRule(date(2026, 1, 1), Repeat.DAILY).occurrences(10)
    with pytest.raises(RuleError):
        DateRule(date(2026, 1, 1), Repeat.DAILY, until=date(2025, 12, 1)).occurrences(10)
    with pytest.raises(RuleError):
        DateRule(date(2026, 1, 1), Repeat.WEEKLY, count=3).occurrences(10)


def test_a_rule_is_cut_one_past_the_limit():
    assert len(DateRule(date(2026, 1, 1), Repeat.DAILY, count=5000).occurrences(10)) == 11


def test_rules_read_in_words(app):
    from flask_babel import force_locale

    with force_locale("en"):
        assert describe("FREQ=MONTHLY;BYDAY=2SU", date(2026, 1, 1)) == (
            "every month on the second Sunday"
        )
        assert "Saturday" in describe("FREQ=WEEKLY;BYDAY=SA;COUNT=4", date(2026, 1, 1))
    with force_locale("zh"):
        assert "第二个" in describe("FREQ=MONTHLY;BYDAY=2SU", date(2026, 1, 1))


# ---- fan-out --------------------------------------------------------------------------------


@pytest.fixture
def district(db, make_unit):
    city = make_unit("City", level=Level.PROVINCE)
    return make_unit("Guandu", parent=city)


@pytest.fixture
def organiser(make_user, district):
    return make_user(Role.ORGANISER, on=district)


@pytest.fixture
def campaign(make_campaign, district):
    return make_campaign(district, starts_on=date(2026, 1, 1), ends_on=date(2026, 12, 31))


def template(campaign, theme, **kw):
    kw.setdefault("title", "Laba porridge")
    kw.setdefault("starts_time", time(9, 0))
    kw.setdefault("ends_time", time(11, 0))
    return SeriesTemplate(campaign=campaign, theme=theme, **kw)


def test_fan_out_over_a_subtree_writes_one_activity_per_station_and_date(
    db, district, organiser, campaign, theme, make_unit, make_station
):
    street = make_unit("Street", parent=district)
    stations = [make_station(street) for _ in range(7)]
    make_station(make_unit("Elsewhere", level=Level.PROVINCE))
    rule = DateRule(date(2026, 1, 26))
    choice = StationChoice(StationPick.SUBTREE, unit=district)
    plan = plan_series(organiser, template(campaign, theme), choice, rule)
    assert plan.size == 7 and not plan.conflicts

    series, created = create_series(
        organiser, template(campaign, theme), choice, rule, ConflictPolicy.SKIP
    )
    db.session.commit()
    rows = db.session.scalars(select(Activity).where(Activity.series_id == series.id)).all()
    assert created == 7
    assert sorted(a.station_id for a in rows) == sorted(s.id for s in stations)
    # 09:00 in Kunming is 01:00 UTC.
    assert {a.starts_at for a in rows} == {datetime(2026, 1, 26, 1, 0, tzinfo=UTC)}
    assert len({a.uid for a in rows}) == 7
    assert series.stations == {"by": "subtree", "unit": district.id, "amenities": [], "codes": []}


def test_fan_out_by_amenity_takes_stations_with_every_amenity_ticked(
    db, district, organiser, campaign, theme, make_station
):
    both = make_station(district, amenities=[Amenity.MICROWAVE, Amenity.WATER])
    make_station(district, amenities=[Amenity.MICROWAVE])
    choice = StationChoice(
        StationPick.AMENITY, unit=district, amenities=(Amenity.MICROWAVE, Amenity.WATER)
    )
    plan = plan_series(organiser, template(campaign, theme), choice, DateRule(date(2026, 2, 1)))
    assert [sid for sid, _c, _n in plan.stations] == [both.id]


def test_fan_out_by_list_refuses_unknown_codes_and_foreign_stations(
    db, district, organiser, campaign, theme, make_station, make_unit
):
    mine = make_station(district, code="GD-1")
    make_station(make_unit("Other", level=Level.PROVINCE), code="XS-1")
    rule = DateRule(date(2026, 2, 1))
    ok = plan_series(
        organiser,
        template(campaign, theme),
        StationChoice(StationPick.LIST, codes=("gd-1",)),
        rule,
    )
    assert [s[0] for s in ok.stations] == [mine.id]
    with pytest.raises(ScheduleError, match="NOPE"):
        plan_series(
            organiser,
            template(campaign, theme),
            StationChoice(StationPick.LIST, codes=("GD-1", "NOPE")),
            rule,
        )
    with pytest.raises(ScheduleError) as refused:
        plan_series(
            organiser,
            template(campaign, theme),
            StationChoice(StationPick.LIST, codes=("XS-1",)),
            rule,
        )
    assert refused.value.field == "codes"


def test_a_unit_outside_the_organisers_subtree_is_refused(
    db, organiser, campaign, theme, make_unit, make_station
):
    other = make_unit("Xishan", level=Level.PROVINCE)
    make_station(other)
    with pytest.raises(ScheduleError) as error:
        plan_series(
            organiser,
            template(campaign, theme),
            StationChoice(StationPick.SUBTREE, unit=other),
            DateRule(date(2026, 2, 1)),
        )
    assert error.value.field == "unit"


def test_dates_outside_the_campaign_and_bad_times_write_nothing(
    db, district, organiser, campaign, theme, make_station
):
    make_station(district)
    choice = StationChoice(StationPick.SUBTREE, unit=district)
    with pytest.raises(ScheduleError) as outside:
        create_series(
            organiser,
            template(campaign, theme),
            choice,
            DateRule(date(2026, 12, 30), Repeat.DAILY, count=5),
            ConflictPolicy.SKIP,
        )
    assert outside.value.field == "day"
    with pytest.raises(ScheduleError) as backwards:
        plan_series(
            organiser,
            template(campaign, theme, starts_time=time(11), ends_time=time(9)),
            choice,
            DateRule(date(2026, 2, 1)),
        )
    assert backwards.value.field == "ends_time"
    db.session.rollback()
    assert db.session.scalar(select(func.count(Activity.id))) == 0
    assert db.session.scalar(select(func.count(Series.id))) == 0


def test_a_series_past_the_configured_maximum_is_refused(
    app, db, district, organiser, campaign, theme, make_station
):
    app.config["SERIES_MAX_ACTIVITIES"] = 20
    for _ in range(3):
        make_station(district)
    with pytest.raises(ScheduleError, match="20"):
        plan_series(
            organiser,
            template(campaign, theme),
            StationChoice(StationPick.SUBTREE, unit=district),
            DateRule(date(2026, 3, 1), Repeat.DAILY, count=7),
        )


def test_conflicts_are_previewed_then_skipped_or_kept_never_silently_doubled(
    db, district, organiser, campaign, theme, make_station, make_activity
):
    busy = make_station(district)
    free = make_station(district)
    existing = make_activity(
        busy,
        campaign,
        starts_at=datetime(2026, 2, 2, 2, 0, tzinfo=UTC),  # 10:00-12:00 local
        title="Health check",
    )
    choice = StationChoice(StationPick.SUBTREE, unit=district)
    rule = DateRule(date(2026, 2, 1), Repeat.DAILY, count=3)
    plan = plan_series(organiser, template(campaign, theme), choice, rule)
    assert plan.size == 6
    assert [(c.slot.station_id, c.activity_id) for c in plan.conflicts] == [(busy.id, existing.id)]

    _series, skipped = create_series(
        organiser, template(campaign, theme), choice, rule, ConflictPolicy.SKIP
    )
    assert skipped == 5
    db.session.rollback()
    _series, kept = create_series(
        organiser, template(campaign, theme), choice, rule, ConflictPolicy.KEEP
    )
    assert kept == 6
    assert free.id in {s[0] for s in plan.stations}


def test_the_same_form_submitted_twice_creates_one_series(
    db, district, organiser, campaign, theme, make_station
):
    make_station(district)
    uid = "1b4e28ba-2fa1-41d2-883f-0016d3cca427@inclusive-day"
    args = (
        organiser,
        template(campaign, theme),
        StationChoice(StationPick.SUBTREE, unit=district),
        DateRule(date(2026, 2, 1), Repeat.DAILY, count=3),
        ConflictPolicy.SKIP,
    )
    first, n = create_series(*args, uid=uid)
    db.session.commit()
    again, m = create_series(*args, uid=uid)
    db.session.commit()
    assert (n, m) == (3, 0) and again.id == first.id
    assert db.session.scalar(select(func.count(Activity.id))) == 3


def test_donations_link_to_every_occurrence(
    db, district, organiser, campaign, theme, make_station, make_sponsor
):
    make_station(district)
    make_station(district)
    sponsor = make_sponsor(district)
    gift = Donation(
        sponsor=sponsor,
        campaign=campaign,
        kind=DonationKind.CASH,
        description="Porridge",
        value=1000,
        pledged_on=date(2026, 1, 1),
    )
    db.session.add(gift)
    db.session.commit()
    series, n = create_series(
        organiser,
        template(campaign, theme, donation_ids=(gift.id,)),
        StationChoice(StationPick.SUBTREE, unit=district),
        DateRule(date(2026, 2, 1), Repeat.DAILY, count=2),
        ConflictPolicy.SKIP,
    )
    db.session.commit()
    linked = db.session.scalar(
        select(func.count())
        .select_from(activity_donations)
        .where(activity_donations.c.donation_id == gift.id)
    )
    assert n == 4 and linked == 4


# ---- editing a series --------------------------------------------------------------------


@pytest.fixture
def weekly(db, district, organiser, campaign, theme, make_station):
    make_station(district)
    series, _n = create_series(
        organiser,
        template(campaign, theme),
        StationChoice(StationPick.SUBTREE, unit=district),
        DateRule(date(2026, 3, 7), Repeat.WEEKLY, count=4, weekdays=(5,)),
        ConflictPolicy.SKIP,
    )
    db.session.commit()
    return list(
        db.session.scalars(
            select(Activity).where(Activity.series_id == series.id).order_by(Activity.starts_at)
        )
    )


def _change(theme, **kw):
    kw.setdefault("title", "Haircut day")
    kw.setdefault("starts_time", time(14, 0))
    kw.setdefault("ends_time", time(16, 0))
    return SeriesChange(
        theme=theme,
        capacity=kw.pop("capacity", 30),
        groups=("courier",),
        description="",
        **kw,
    )


@pytest.fixture
def frozen_before_march(monkeypatch):
    """Make "now" 2026-03-01, so that every occurrence lies in the future."""
    import inclusive_day.activities.services as services

    monkeypatch.setattr(services, "utcnow", lambda: datetime(2026, 3, 1, tzinfo=UTC))


def test_change_this_and_following_keeps_each_date_and_moves_the_time(
    db, organiser, weekly, theme, frozen_before_march
):
    n = change_occurrences(organiser, weekly[1], Occurrences.FOLLOWING, _change(theme), False)
    db.session.commit()
    assert n == 3
    for a in weekly:
        db.session.refresh(a)
    assert weekly[0].title == "Laba porridge"
    assert [a.title for a in weekly[1:]] == ["Haircut day"] * 3
    assert [local_day(a.starts_at) for a in weekly] == [
        date(2026, 3, 7),
        date(2026, 3, 14),
        date(2026, 3, 21),
        date(2026, 3, 28),
    ]
    assert weekly[3].starts_at == datetime(2026, 3, 28, 6, 0, tzinfo=UTC)
    assert weekly[3].sequence == 1 and weekly[0].sequence == 0
    assert weekly[3].target_groups == "courier"


def test_change_all_updates_the_series_template(db, organiser, weekly, theme, frozen_before_march):
    n = change_occurrences(organiser, weekly[2], Occurrences.ALL, _change(theme), False)
    db.session.commit()
    assert n == 4
    series = db.session.get(Series, weekly[0].series_id)
    assert series.title == "Haircut day" and series.starts_time == time(14, 0)


def test_a_change_that_would_overlap_another_activity_writes_nothing(
    db, organiser, weekly, theme, make_activity, frozen_before_march
):
    make_activity(
        weekly[3].station,
        weekly[3].campaign,
        starts_at=datetime(2026, 3, 28, 6, 30, tzinfo=UTC),
        title="Legal aid",
    )
    with pytest.raises(ScheduleError, match="Legal aid"):
        change_occurrences(organiser, weekly[0], Occurrences.ALL, _change(theme), False)
    db.session.rollback()
    assert {
        a.title for a in db.session.scalars(select(Activity).where(Activity.series_id.is_not(None)))
    } == {"Laba porridge"}


def test_cancel_following_keeps_the_records_with_the_reason(
    db, organiser, weekly, frozen_before_march
):
    n = cancel_occurrences(organiser, weekly[2], Occurrences.FOLLOWING, "Heavy snow")
    db.session.commit()
    assert n == 2
    statuses = [db.session.get(Activity, a.id).status for a in weekly]
    assert statuses == [ActivityStatus.SCHEDULED] * 2 + [ActivityStatus.CANCELLED] * 2
    cancelled = db.session.get(Activity, weekly[3].id)
    assert cancelled.cancel_reason == "Heavy snow" and cancelled.cancelled_at is not None
    assert db.session.scalar(select(func.count(Activity.id))) == 4


def test_cancel_needs_a_reason_and_all_skips_what_has_started(db, organiser, weekly, monkeypatch):
    with pytest.raises(ScheduleError):
        cancel_occurrences(organiser, weekly[0], Occurrences.ALL, "  ")
    import inclusive_day.activities.services as services

    # Now is between the second and third Saturdays.
    monkeypatch.setattr(services, "utcnow", lambda: weekly[1].starts_at + timedelta(days=1))
    assert cancel_occurrences(organiser, weekly[0], Occurrences.ALL, "Budget cut") == 2
    assert cancel_occurrences(organiser, weekly[0], Occurrences.THIS, "Rain") == 1


def test_another_districts_organiser_changes_nothing(
    db, weekly, theme, make_user, make_unit, frozen_before_march
):
    stranger = make_user(Role.ORGANISER, on=make_unit("Xishan", level=Level.PROVINCE))
    assert cancel_occurrences(stranger, weekly[0], Occurrences.ALL, "No") == 0
    assert change_occurrences(stranger, weekly[0], Occurrences.ALL, _change(theme), False) == 0
