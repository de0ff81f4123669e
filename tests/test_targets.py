"""Targets handed down the tree, progress counted over each unit's subtree, and who may set them."""

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from inclusive_day.activities.models import Activity
from inclusive_day.attendance.identity import identity_for
from inclusive_day.attendance.models import BeneficiaryGroup, CheckIn, Headcount
from inclusive_day.attendance.queries import totals
from inclusive_day.auth.models import Role
from inclusive_day.campaigns.models import CampaignTarget
from inclusive_day.campaigns.targets import (
    HandDown,
    Measure,
    TargetValues,
    campaign_progress,
    focus_paths,
    hand_down,
    progress,
    set_targets,
)
from inclusive_day.units.models import Unit
from tests.conftest import count_queries

NOW = datetime(2024, 1, 20, 4, 0, tzinfo=UTC)
PAST = NOW - timedelta(days=5)
FUTURE = NOW + timedelta(days=5)


def _checkin(activity, phone: str, nonce: str, **kw) -> CheckIn:
    return CheckIn(
        activity=activity,
        identity=identity_for(phone),
        group=BeneficiaryGroup.RIDER,
        nonce=nonce,
        **kw,
    )


@pytest.fixture
def tree(db, make_unit, make_station, make_campaign, make_activity, make_user):
    """City > districts A (streets S1, S2) and B; a city campaign with held, planned and
    cancelled activities and attendance, and another campaign at the same stations."""
    province = make_unit("Province")
    city = make_unit("City", province)
    a = make_unit("District A", city)
    s1 = make_unit("Street 1", a)
    s2 = make_unit("Street 2", a)
    b = make_unit("District B", city)
    st1, st2 = make_station(s1), make_station(s1)
    st3, st4 = make_station(s2), make_station(b)
    campaign = make_campaign(city, "City Inclusive Day")
    other = make_campaign(city, "Other campaign")
    held1 = make_activity(st1, campaign, starts_at=PAST)
    held2 = make_activity(st1, campaign, starts_at=PAST - timedelta(days=1))
    make_activity(st2, campaign, starts_at=FUTURE)  # planned
    cancelled = make_activity(st3, campaign, starts_at=PAST)
    cancelled.cancel("rain")
    held4 = make_activity(st4, campaign, starts_at=PAST)
    make_activity(st1, other, starts_at=PAST)  # another campaign: never counted
    db.session.add_all(
        [
            Headcount(activity=held1, group=BeneficiaryGroup.COURIER, count=30),
            Headcount(activity=held2, group=BeneficiaryGroup.ELDERLY, count=5),
            _checkin(held1, "13800000001", "n1"),
            _checkin(held1, "13800000002", "n2", annulled_at=NOW, annul_reason="twice"),
            Headcount(activity=held4, group=BeneficiaryGroup.DRIVER, count=10),
        ]
    )
    db.session.commit()
    return {
        "province": province,
        "city": city,
        "a": a,
        "s1": s1,
        "s2": s2,
        "b": b,
        "campaign": campaign,
        "other": other,
        "users": {
            "admin": make_user(Role.ADMIN),
            "city": make_user(Role.ORGANISER, city),
            "district": make_user(Role.ORGANISER, a),
            "viewer": make_user(Role.VIEWER, a),
        },
    }


def test_progress_counts_held_planned_served_and_stations_over_each_subtree(tree):
    t = tree
    units = [t["city"], t["a"], t["s1"], t["s2"], t["b"]]
    figures = progress(t["campaign"], units, NOW)
    city, a, s1, s2, b = (figures[u.id] for u in units)
    # Held: not cancelled and started; planned: not cancelled, still to come.
    assert (s1.activities.actual, s1.activities.planned) == (2, 1)
    assert (s2.activities.actual, s2.activities.planned) == (0, 0)  # its one is cancelled
    assert (a.activities.actual, a.activities.planned) == (2, 1)
    assert (b.activities.actual, city.activities.actual, city.activities.planned) == (1, 3, 1)
    # Served: headcounts and standing check-ins (30 + 5 + 1 in Street 1, 10 in District B).
    assert (s1.served.actual, a.served.actual, b.served.actual, city.served.actual) == (
        36,
        36,
        10,
        46,
    )
    # Stations that held an activity: the planned-only and cancelled-only stations do not.
    assert (s1.stations.actual, s2.stations.actual, a.stations.actual) == (1, 0, 1)
    assert city.stations.actual == 2


def test_served_agrees_with_the_counting_rules(tree):
    t = tree
    figures = progress(t["campaign"], [t["city"]], NOW)
    scope = [Activity.campaign_id == t["campaign"].id]
    assert figures[t["city"].id].served.actual == totals(scope).served


def test_progress_carries_targets_and_percentages(db, tree):
    t = tree
    set_targets(t["campaign"], {t["a"].id: TargetValues(activities=4, served=72, stations=None)})
    db.session.commit()
    p = progress(t["campaign"], [t["a"], t["b"]], NOW)
    a = p[t["a"].id]
    assert a.activities.target == 4 and a.activities.percent == 50
    assert a.activities.bar == 50 and a.activities.planned_bar == 25
    assert a.served.percent == 50 and a.stations.target is None and a.stations.percent is None
    assert not p[t["b"].id].has_target


def test_percentages_pass_100_but_bars_do_not():
    m = Measure(actual=30, target=20, planned=5)
    assert (m.percent, m.bar, m.planned_bar, m.met) == (150, 100.0, 0.0, True)
    assert Measure(0, 0).percent == 100
    assert Measure(5, None).bar == 0.0


def test_progress_takes_the_same_number_of_queries_for_a_small_and_a_large_tree(
    db, tree, make_unit, make_station, make_activity
):
    t = tree

    def queries(units) -> int:
        assert t["campaign"].id and all(u.path for u in units)  # loaded before counting
        with count_queries(db.engine) as n:
            progress(t["campaign"], units, NOW)
        return n["n"]

    small = queries([t["a"], t["s1"]])
    assert small == 4
    for i in range(6):
        street = make_unit(f"Street x{i}", t["a"])
        community = make_unit(f"Community x{i}", street)
        station = make_station(community)
        make_activity(station, t["campaign"], starts_at=PAST)
        make_activity(station, t["campaign"], starts_at=FUTURE)
    children = list(db.session.scalars(select(Unit).where(Unit.parent_id == t["a"].id)))
    large = queries([t["a"], *children])
    assert large == small
    figures = progress(t["campaign"], [t["a"]], NOW)
    assert figures[t["a"].id].activities.actual == 2 + 6


def test_campaign_progress_takes_the_same_number_of_queries_for_many_campaigns(
    db, tree, make_campaign
):
    t = tree
    admin = t["users"]["admin"]
    set_targets(t["campaign"], {t["city"].id: TargetValues(activities=10)})
    db.session.commit()

    def queries(campaigns) -> int:
        campaign_progress(admin, campaigns, NOW)  # loads the campaigns, units and grants
        with count_queries(db.engine) as n:
            campaign_progress(admin, campaigns, NOW)
        return n["n"]

    small = queries([t["campaign"]])
    many = [t["campaign"], t["other"], *(make_campaign(t["a"]) for _ in range(5))]
    assert queries(many) == small
    result = campaign_progress(admin, many, NOW)
    owner = progress(t["campaign"], [t["city"]], NOW)[t["city"].id]
    assert result[t["campaign"].id] == owner
    assert result[t["other"].id].activities.actual == 1


def test_a_district_follows_a_city_campaign_from_its_own_unit(db, tree, make_station, make_user):
    t = tree
    district = t["users"]["district"]
    assert focus_paths(district, t["campaign"]) == [t["a"].path]
    assert focus_paths(t["users"]["city"], t["campaign"]) == [t["city"].path]
    manager = make_user(Role.STATION_MANAGER, make_station(t["s1"]))
    assert focus_paths(manager, t["campaign"]) == []
    set_targets(
        t["campaign"],
        {t["a"].id: TargetValues(activities=4), t["city"].id: TargetValues(activities=10)},
    )
    db.session.commit()
    mine = campaign_progress(district, [t["campaign"]], NOW)[t["campaign"].id]
    assert (mine.activities.actual, mine.activities.target) == (2, 4)


def test_hand_down_compares_the_sub_units_sum_with_the_own_target():
    own = TargetValues(activities=10, served=100, stations=None)
    states = hand_down(own, [TargetValues(activities=4, served=60), TargetValues(served=50)])
    assert (states["activities"].state, states["activities"].difference) == ("short", 6)
    assert (states["served"].state, states["served"].difference) == ("over", 10)
    assert states["stations"].state == "none"
    assert HandDown(5, 5).state == "exact" and HandDown(5, None).state == "short"


def test_set_targets_writes_only_changes_and_blank_removes(db, tree):
    t = tree
    user = t["users"]["city"]
    c = t["campaign"]
    assert set_targets(c, {t["a"].id: TargetValues(5, 100, 2), t["b"].id: TargetValues()}) == 1
    db.session.commit()
    row = db.session.scalar(select(CampaignTarget).where(CampaignTarget.unit_id == t["a"].id))
    assert (row.activities, row.served, row.stations, row.updated_by_id) == (5, 100, 2, None)
    assert set_targets(c, {t["a"].id: TargetValues(5, 100, 2)}, user) == 0
    assert set_targets(c, {t["a"].id: TargetValues(6, 100, 2)}, user) == 1
    db.session.commit()
    db.session.refresh(row)
    assert (row.activities, row.updated_by_id) == (6, user.id)
    assert set_targets(c, {t["a"].id: TargetValues()}, user) == 1
    db.session.commit()
    assert db.session.scalar(select(func.count(CampaignTarget.id))) == 0


# --- The targets page ------------------------------------------------------------------------


def _url(t, unit=None) -> str:
    url = f"/campaigns/{t['campaign'].id}/targets"
    return f"{url}?unit={unit.id}" if unit is not None else url


def _targets(db) -> dict[int, tuple]:
    db.session.expire_all()
    rows = db.session.scalars(select(CampaignTarget))
    return {r.unit_id: (r.activities, r.served, r.stations) for r in rows}


def _form(*pairs) -> dict:
    """Form data from (unit, activities, served, stations) rows; None is a blank field."""
    data = {}
    for unit, *values in pairs:
        for name, value in zip(("activities", "served", "stations"), values, strict=True):
            data[f"{name}_{unit.id}"] = "" if value is None else str(value)
    return data


def test_the_city_sets_its_own_target_and_hands_down_to_its_districts(db, tree, client, login):
    t = tree
    login(t["users"]["city"])
    page = client.get(_url(t)).get_data(as_text=True)
    assert f'name="activities_{t["city"].id}"' in page
    assert f'name="activities_{t["a"].id}"' in page
    response = client.post(
        _url(t), data=_form((t["city"], 10, 500, 4), (t["a"], 6, 300, None), (t["b"], 2, 100, 1))
    )
    assert response.status_code == 302
    assert _targets(db) == {
        t["city"].id: (10, 500, 4),
        t["a"].id: (6, 300, None),
        t["b"].id: (2, 100, 1),
    }
    page = client.get(_url(t)).get_data(as_text=True)
    assert "Not fully handed down: 2 short" in page  # activities 6 + 2 of 10
    assert "Not fully handed down: 100 short" in page  # served 300 + 100 of 500
    assert f"?unit={t['a'].id}" in page  # rows link down to the district's own page


def test_the_page_says_when_more_was_handed_down_than_the_own_target(db, tree, client, login):
    t = tree
    set_targets(t["campaign"], {t["city"].id: TargetValues(activities=5)})
    set_targets(t["campaign"], {t["a"].id: TargetValues(4), t["b"].id: TargetValues(3)})
    db.session.commit()
    login(t["users"]["city"])
    page = client.get(_url(t)).get_data(as_text=True)
    assert "Handed down 2 more than the own target" in page


def test_a_district_hands_down_to_its_streets_but_cannot_touch_the_city(db, tree, client, login):
    t = tree
    set_targets(t["campaign"], {t["city"].id: TargetValues(10), t["a"].id: TargetValues(6)})
    db.session.commit()
    login(t["users"]["district"])
    # The default page is the district's own: its own target is not its to set.
    page = client.get(_url(t)).get_data(as_text=True)
    assert "Target of District A" in page
    assert f'name="activities_{t["a"].id}"' not in page
    assert f'name="activities_{t["s1"].id}"' in page
    response = client.post(
        _url(t),
        data={
            **_form((t["s1"], 4, None, None), (t["s2"], 2, None, None)),
            f"activities_{t['a'].id}": "99",
        },
    )
    assert response.status_code == 302
    assert _targets(db) == {
        t["city"].id: (10, None, None),
        t["a"].id: (6, None, None),
        t["s1"].id: (4, None, None),
        t["s2"].id: (2, None, None),
    }
    # The city's page, and so the city's own target, are out of its reach.
    assert client.get(_url(t, t["city"])).status_code == 404
    assert client.post(_url(t, t["city"]), data=_form((t["city"], 1, 1, 1))).status_code == 404
    assert _targets(db)[t["city"].id] == (10, None, None)


def test_a_viewer_sees_progress_but_cannot_set_anything(db, tree, client, login):
    t = tree
    login(t["users"]["viewer"])
    response = client.get(_url(t, t["a"]))
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "Street 1" in page
    assert 'name="activities_' not in page and "Save targets" not in page
    assert client.post(_url(t, t["a"]), data=_form((t["s1"], 1, 1, 1))).status_code == 404
    assert _targets(db) == {}


def test_a_unit_outside_the_campaign_answers_404(db, tree, client, login, make_campaign):
    t = tree
    district_campaign = make_campaign(t["a"])
    login(t["users"]["admin"])
    url = f"/campaigns/{district_campaign.id}/targets"
    assert client.get(f"{url}?unit={t['city'].id}").status_code == 404
    assert client.get(f"{url}?unit={t['b'].id}").status_code == 404
    assert client.get(f"{url}?unit={t['s1'].id}").status_code == 200


@pytest.mark.parametrize("bad", ["-1", "2.5", "ten", "99999999999"])
def test_bad_numbers_are_refused_and_nothing_is_written(db, tree, client, login, bad):
    t = tree
    set_targets(t["campaign"], {t["a"].id: TargetValues(6)})
    db.session.commit()
    login(t["users"]["city"])
    data = _form((t["a"], 8, None, None), (t["b"], 3, None, None))
    data[f"served_{t['b'].id}"] = bad
    response = client.post(_url(t), data=data)
    assert response.status_code == 200
    assert "Enter a whole number of 0 or more." in response.get_data(as_text=True)
    assert _targets(db) == {t["a"].id: (6, None, None)}


def test_a_blank_field_means_no_target(db, tree, client, login):
    t = tree
    set_targets(t["campaign"], {t["a"].id: TargetValues(6, 300, 2)})
    db.session.commit()
    login(t["users"]["city"])
    client.post(_url(t), data=_form((t["a"], None, 300, None), (t["b"], None, None, None)))
    assert _targets(db) == {t["a"].id: (None, 300, None)}
    client.post(_url(t), data=_form((t["a"], None, None, None)))
    assert _targets(db) == {}
