"""Double Top 100: the criteria's raw figures over a small province, the weights and their
refusals, ranking and ties, the confirmed lists kept as they were, the masters' list, access,
and the PDF and spreadsheet."""

from __future__ import annotations

import io
import re
import shutil
import subprocess
import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select

from inclusive_day.attendance.identity import identity_for
from inclusive_day.attendance.models import BeneficiaryGroup, CheckIn, Feedback, Headcount
from inclusive_day.auth.models import Role
from inclusive_day.reports import top100
from inclusive_day.reports.models import Top100List
from inclusive_day.reports.top100 import (
    CODES,
    Top100Error,
    Top100Refusal,
    build_board,
    candidates,
    check_weights,
    competition_ranks,
    ranked,
)
from inclusive_day.staffing.models import AdminRole, DutyShift, Training
from inclusive_day.stations.models import Inspection, InspectionResult
from tests.conftest import count_queries

YEAR = 2025
NOW = datetime(2026, 3, 1, 4, 0, tzinfo=UTC)
HOURS = "08:00-18:00"
ONLY_VISITS = {code: (1.0 if code == "visits" else 0.0) for code in CODES}


def text(response) -> str:
    """The response body as text."""
    return response.get_data(as_text=True)


def shown_digest(html: str) -> str:
    """The digest the confirmation form carries."""
    return re.search(r'name="shown"[^>]*value="([0-9a-f]{64})"', html).group(1)


class World:
    """A small province for one year; the ids and objects the tests read."""


@pytest.fixture
def world(db, make_unit, make_station, make_admin, make_visit, make_activity, make_campaign):
    """Province > city, with stations A (open all year, hours), B (open round the clock), N
    (opened on 1 July), Old (closed in 2024), Future (opens in 2026), and one in another
    province; masters Ann (A until 30 June) and Bo (A from 1 July), Di (B), Ed (N), Fu (Old);
    an assistant Cy at A; a year of visits, activities, inspections, duty, training and
    ratings."""
    w = World()
    w.province = make_unit("山西省总工会")
    w.city = make_unit("太原市总工会", w.province)
    old_day = date(2020, 1, 1)
    w.a = make_station(w.city, "迎泽驿站", code="SX-A", opened_on=old_day, opening_hours=HOURS)
    w.b = make_station(w.city, "小店驿站", code="SX-B", opened_on=old_day, open_24h=True)
    w.n = make_station(w.city, "新站", code="SX-N", opened_on=date(2025, 7, 1), opening_hours=HOURS)
    w.old = make_station(
        w.city, "旧站", code="SX-O", opened_on=old_day, closed_on=date(2024, 6, 1), status="closed"
    )
    w.future = make_station(w.city, "未来站", code="SX-F", opened_on=date(2026, 2, 1))
    w.elsewhere = make_station(make_unit("河北省总工会"), "别省站", code="HB-1", opened_on=old_day)

    w.ann = make_admin(w.a, "Ann", since=old_day, until=date(2025, 6, 30))
    w.bo = make_admin(w.a, "Bo", since=date(2025, 7, 1))
    w.cy = make_admin(w.a, "Cy", since=old_day, role=AdminRole.ASSISTANT)
    w.di = make_admin(w.b, "Di", since=date(2019, 1, 1))
    w.ed = make_admin(w.n, "Ed", since=date(2025, 7, 1))
    w.fu = make_admin(w.old, "Fu", since=old_day, until=date(2024, 5, 31))
    make_admin(w.elsewhere, "Gu", since=old_day)

    for station, day in [
        (w.a, date(2025, 3, 1)),
        (w.a, date(2025, 3, 1)),
        (w.a, date(2025, 8, 1)),
        (w.a, date(2024, 12, 31)),  # the year before
        (w.b, date(2025, 5, 5)),
        (w.n, date(2025, 7, 15)),
        (w.elsewhere, date(2025, 5, 5)),
    ]:
        make_visit(station, day=day)

    campaign = make_campaign(w.province, starts_on=date(2025, 1, 1), ends_on=date(2025, 12, 31))
    spring = make_activity(w.a, campaign, datetime(2025, 3, 10, 2, 0, tzinfo=UTC))
    # 17:00 UTC on 30 June is 01:00 on 1 July in China: Bo's tenure, not Ann's.
    midnight = make_activity(w.a, campaign, datetime(2025, 6, 30, 17, 0, tzinfo=UTC))
    called_off = make_activity(w.a, campaign, datetime(2025, 4, 1, 2, 0, tzinfo=UTC))
    called_off.cancel("rain")
    db.session.add_all(
        [
            Headcount(activity_id=spring.id, group=BeneficiaryGroup.COURIER, count=3),
            *(_checkin(spring, f"1390000000{i}") for i in range(2)),
            _checkin(midnight, "13900000009"),
        ]
    )
    for station, day, result in [
        (w.a, date(2025, 2, 1), InspectionResult.PASSED),
        (w.a, date(2025, 9, 1), InspectionResult.RECTIFY),
        (w.a, date(2024, 5, 1), InspectionResult.PASSED),
        (w.b, date(2025, 10, 10), InspectionResult.PASSED),
        (w.b, date(2025, 11, 10), InspectionResult.PASSED),
    ]:
        db.session.add(
            Inspection(station_id=station.id, unit_id=w.city.id, inspected_on=day, result=result)
        )
    for admin, station, day, hours in [
        (w.ann, w.a, date(2025, 3, 1), 4),
        (w.ann, w.a, date(2025, 3, 2), 2),
        (w.bo, w.a, date(2025, 8, 1), 8),
        (w.cy, w.a, date(2025, 8, 1), 1),
        (w.cy, w.a, date(2025, 8, 2), 3),
        (w.di, w.b, date(2025, 5, 5), 5),
    ]:
        start = datetime(day.year, day.month, day.day, 1, 0, tzinfo=UTC)
        db.session.add(
            DutyShift(
                admin_id=admin.id,
                station_id=station.id,
                day=day,
                started_at=start,
                ended_at=start + timedelta(hours=hours),
            )
        )
    for admin, day, hours in [
        (w.ann, date(2025, 2, 1), "8"),
        (w.ann, date(2024, 1, 1), "10"),  # the year before
        (w.bo, date(2025, 9, 1), "4.5"),
        (w.cy, date(2025, 10, 1), "2"),
    ]:
        db.session.add(
            Training(admin_id=admin.id, course="服务规范", taken_on=day, hours=Decimal(hours))
        )
    for i, rating in enumerate([5, 5, 4, 4, 4]):
        db.session.add(_feedback(w.a, date(2025, 4, 1 + i), rating, i))
    for i, rating in enumerate([1, 2]):
        db.session.add(_feedback(w.b, date(2025, 4, 1 + i), rating, i))
    db.session.commit()
    return w


def _checkin(activity, phone: str) -> CheckIn:
    return CheckIn(
        activity_id=activity.id,
        identity=identity_for(phone),
        group=BeneficiaryGroup.RIDER,
        nonce=uuid.uuid4().hex,
        checked_in_at=activity.starts_at,
    )


def _feedback(station, day: date, rating: int, n: int) -> Feedback:
    return Feedback(
        station_id=station.id, identity=identity_for(f"1370000000{n}"), visit_day=day, rating=rating
    )


def figures_of(pool, attribute: str) -> dict[str, dict]:
    """{name: figures} of the candidates of one list."""
    return {c.name: c.figures for c in getattr(pool, attribute)}


# --- The raw figures ------------------------------------------------------------------------


def test_the_sites_are_the_stations_open_in_the_year_with_their_figures(world):
    pool = candidates(world.province, YEAR, NOW)
    sites = figures_of(pool, "sites")
    assert set(sites) == {"迎泽驿站", "小店驿站", "新站"}
    assert sites["迎泽驿站"] == {
        "visits": 3,
        "activities": 2,  # the cancelled one is not held
        "served": 6,  # 3 counted + 3 check-ins
        "inspections": 1,  # "after rectification" and last year's do not count
        "duty": 1.1,  # 4 days with someone on duty of 365 expected
        "training": 14.5,  # Ann 8 + Bo 4.5 + the assistant Cy 2, this year only
        "rating": 4.4,
    }
    assert sites["小店驿站"] == {
        "visits": 1,
        "activities": 0,
        "served": 0,
        "inspections": 2,
        "duty": None,  # open round the clock: no one is expected
        "training": 0.0,
        "rating": None,  # two ratings are too few
    }
    assert sites["新站"]["duty"] == 0.0  # 184 days expected from 1 July, none kept
    assert {c.name: c.ratings for c in pool.sites}["小店驿站"] == 2


def test_the_masters_are_measured_over_their_tenure(world):
    pool = candidates(world.province, YEAR, NOW)
    masters = figures_of(pool, "masters")
    assert set(masters) == {"Ann", "Bo", "Di", "Ed"}  # not the assistant, not Old's Fu
    assert masters["Ann"] == {
        "visits": 2,
        "activities": 1,
        "served": 5,
        "inspections": 1,
        "duty": 1.1,  # 2 days with someone on duty of the 181 to 30 June
        "training": 8.0,
        "rating": 4.4,
    }
    assert masters["Bo"] == {
        "visits": 1,
        "activities": 1,  # 01:00 on 1 July in China
        "served": 1,
        "inspections": 0,
        "duty": 1.1,  # 2 of 184 days: his and his assistant's sign-ons alike
        "training": 4.5,
        "rating": None,
    }
    tenure = {c.name: (c.since, c.until) for c in pool.masters}
    assert tenure["Ann"] == ("2025-01-01", "2025-06-30")
    assert tenure["Bo"] == ("2025-07-01", "2025-12-31")
    assert tenure["Ed"] == ("2025-07-01", "2025-12-31")


def test_a_city_ranks_its_own_subtree_only(world, make_unit, make_station):
    other_city = make_unit("大同市总工会", world.province)
    make_station(other_city, "大同站", code="SX-D", opened_on=date(2020, 1, 1))
    assert {c.name for c in candidates(world.city, YEAR, NOW).sites} == {
        "迎泽驿站",
        "小店驿站",
        "新站",
    }
    assert len(candidates(world.province, YEAR, NOW).sites) == 4


def test_the_queries_do_not_grow_with_the_stations(db, world, make_station, make_admin, make_visit):
    with count_queries(db.engine) as few:
        build_board(world.province, YEAR, NOW)
    for _ in range(6):
        station = make_station(world.city, opened_on=date(2021, 1, 1), opening_hours=HOURS)
        make_admin(station, since=date(2021, 1, 1))
        make_visit(station, day=date(2025, 6, 1))
    db.session.expire_all()
    with count_queries(db.engine) as many:
        board = build_board(world.province, YEAR, NOW)
    assert few["n"] == many["n"] <= 14
    assert board.site_candidates == 9


def test_the_aggregates_alongside_count_the_same(world, monkeypatch):
    """On PostgreSQL a large subtree's big aggregates run on connections of their own."""
    alone = candidates(world.province, YEAR, NOW)
    monkeypatch.setattr(top100, "LARGE_SUBTREE", 0)
    together = candidates(world.province, YEAR, NOW)
    assert together == alone


# --- Scoring and ranking --------------------------------------------------------------------


def test_scores_divide_by_the_best_and_ties_share_a_rank(world):
    pool = candidates(world.province, YEAR, NOW)
    sites = ranked(pool.sites, ONLY_VISITS)
    assert [(r.rank, r.name, r.score) for r in sites] == [
        (1, "迎泽驿站", 100.0),
        (2, "小店驿站", 33.33),  # tied: listed by station code
        (2, "新站", 33.33),
    ]
    masters = ranked(pool.masters, ONLY_VISITS)
    assert [(r.rank, r.name, r.score) for r in masters] == [
        (1, "Ann", 100.0),
        (2, "Bo", 50.0),
        (2, "Di", 50.0),
        (2, "Ed", 50.0),
    ]
    assert ranked(pool.masters, ONLY_VISITS) == masters  # the same every time


def test_weights_mix_the_criteria_and_missing_figures_add_nothing(world):
    pool = candidates(world.province, YEAR, NOW)
    weights = dict.fromkeys(CODES, 0.0) | {"inspections": 1.0, "duty": 1.0}
    sites = {r.name: r for r in ranked(pool.sites, weights)}
    # A: inspections 1/2, duty 1.1/1.1; B: inspections 2/2 and no duty figure; N: nothing.
    assert sites["迎泽驿站"].score == 75.0 and sites["迎泽驿站"].rank == 1
    assert sites["小店驿站"].score == 50.0 and sites["小店驿站"].rank == 2
    assert "新站" not in sites  # a score of zero is not on a list


def test_competition_ranks():
    assert competition_ranks([90, 80, 80, 50]) == [1, 2, 2, 4]
    assert competition_ranks([]) == []


def test_a_list_stops_at_100_but_keeps_those_tied_for_the_last_place(world):
    pool = candidates(world.province, YEAR, NOW)
    template = pool.sites[0]
    many = [
        type(template)(
            f"S{i:03d}",
            f"C{i:03d}",
            "",
            "",
            {**template.figures, "visits": 200 - i // 2},
            0,
            (f"C{i:03d}",),
        )
        for i in range(104)
    ]
    rows = ranked(many, ONLY_VISITS)
    assert [r.rank for r in rows][-3:] == [97, 99, 99]  # 152, then 151 twice (the 99th place)
    assert len(rows) == 100
    many.append(
        type(template)("tie", "C999", "", "", {**template.figures, "visits": 151}, 0, ("C999",))
    )
    assert len(ranked(many, ONLY_VISITS)) == 101


@pytest.mark.parametrize(
    ("raw", "code", "field"),
    [
        ({"visits": "-1"}, Top100Refusal.NEGATIVE, "visits"),
        ({"served": "abc"}, Top100Refusal.NOT_A_NUMBER, "served"),
        ({"duty": ""}, Top100Refusal.NOT_A_NUMBER, "duty"),
        ({"rating": "NaN"}, Top100Refusal.NOT_A_NUMBER, "rating"),
        ({"rating": "Infinity"}, Top100Refusal.NOT_A_NUMBER, "rating"),
        ({"training": "1e9"}, Top100Refusal.TOO_LARGE, "training"),
        (dict.fromkeys(CODES, "0"), Top100Refusal.ALL_ZERO, "visits"),
    ],
    ids=["negative", "words", "blank", "nan", "infinite", "huge", "all-zero"],
)
def test_check_weights_refuses(raw, code, field):
    with pytest.raises(Top100Error) as refused:
        check_weights(dict.fromkeys(CODES, "1") | raw)
    assert (refused.value.code, refused.value.field) == (code, field)


def test_check_weights_takes_decimals():
    assert check_weights(dict.fromkeys(CODES, "0") | {"visits": "2.5", "rating": " 1 "}) == (
        dict.fromkeys(CODES, 0.0) | {"visits": 2.5, "rating": 1.0}
    )


# --- The page: weights, confirmation, access ------------------------------------------------


@pytest.fixture
def organiser(world, make_user, login):
    """An organiser of the province, signed in."""
    return login(make_user(Role.ORGANISER, world.province))


def page_url(world, **extra) -> str:
    query = "&".join(
        f"{k}={v}" for k, v in {"unit": world.province.id, "year": YEAR, **extra}.items()
    )
    return f"/reports/top100?{query}"


def post_weights(client, world, **weights):
    data = {f"weight_{code}": "1" for code in CODES} | {
        f"weight_{k}": v for k, v in weights.items()
    }
    return client.post(f"/reports/top100/weights?unit={world.province.id}&year={YEAR}", data=data)


def test_an_organiser_sees_the_draft_with_figures_and_the_weights_form(client, world, organiser):
    html = text(client.get(page_url(world)))
    assert "Draft" in html and "迎泽驿站" in html and "Ann" in html
    assert 'name="weight_visits"' in html and 'name="shown"' in html
    assert "14.5" in html and "4.40" in html  # raw figures beside the score


@pytest.mark.parametrize(
    ("weights", "message"),
    [
        ({"visits": "-2"}, "cannot be negative"),
        ({"served": "lots"}, "a number"),
        (dict.fromkeys(CODES, "0"), "at least one criterion a weight above zero"),
    ],
    ids=["negative", "not-a-number", "all-zero"],
)
def test_bad_weights_are_refused_and_nothing_is_written(
    client, db, world, organiser, weights, message
):
    response = post_weights(client, world, **weights)
    assert response.status_code == 400
    assert message in text(response)
    assert db.session.scalar(select(func.count()).select_from(Top100List)) == 0


def test_weights_are_saved_and_rank_the_lists(client, db, world, organiser):
    response = post_weights(client, world, **(dict.fromkeys(CODES, "0") | {"inspections": "3"}))
    assert response.status_code == 302
    record = db.session.scalars(select(Top100List)).one()
    assert record.weights["inspections"] == 3.0 and record.weights["visits"] == 0.0
    board = build_board(world.province, YEAR, NOW)
    assert [r.name for r in board.sites] == ["小店驿站", "迎泽驿站"]


def test_confirming_keeps_the_lists_as_they_were(client, db, world, organiser, make_visit):
    html = text(client.get(page_url(world)))
    response = client.post(
        f"/reports/top100/confirm?unit={world.province.id}&year={YEAR}",
        data={"shown": shown_digest(html)},
    )
    assert response.status_code == 302
    record = db.session.scalars(select(Top100List)).one()
    assert record.is_confirmed and record.confirmed_by_id == organiser.id
    kept = (record.confirmed_sites, record.confirmed_masters)
    assert kept[0][0]["name"] == "迎泽驿站" and kept[0][0]["figures"]["visits"] == 3
    # New figures after the confirmation change nothing that was published.
    for _ in range(5):
        make_visit(world.n, day=date(2025, 9, 1))
    html = text(client.get(page_url(world)))
    assert "Published" in html and organiser.username in html
    assert 'name="weight_visits"' not in html and 'name="shown"' not in html
    board = build_board(world.province, YEAR, NOW)
    assert board.is_confirmed and board.sites[0].name == "迎泽驿站"
    assert board.sites[0].figures["visits"] == 3
    # The weights are locked and a second confirmation is refused.
    refused = post_weights(client, world, visits="9")
    assert refused.status_code == 400 and "confirmed and published" in text(refused)
    again = client.post(
        f"/reports/top100/confirm?unit={world.province.id}&year={YEAR}",
        data={"shown": "0" * 64},
    )
    assert "confirmed and published" in text(client.get(again.headers["Location"]))
    db.session.expire_all()
    record = db.session.scalars(select(Top100List)).one()
    assert (record.confirmed_sites, record.confirmed_masters) == kept
    assert record.weights == dict.fromkeys(CODES, 1.0)


def test_a_confirmation_of_lists_that_moved_since_they_were_shown_is_refused(
    client, db, world, organiser, make_visit
):
    html = text(client.get(page_url(world)))
    make_visit(world.b, day=date(2025, 6, 6))  # the figures move before the click
    response = client.post(
        f"/reports/top100/confirm?unit={world.province.id}&year={YEAR}",
        data={"shown": shown_digest(html)},
    )
    assert response.status_code == 302
    assert "changed since the page was shown" in text(client.get(response.headers["Location"]))
    record = db.session.scalar(select(Top100List))
    assert record is None or not record.is_confirmed


def test_a_viewer_sees_no_draft_but_the_published_lists(
    client, db, world, make_user, login, organiser
):
    html = text(client.get(page_url(world)))
    client.post(
        f"/reports/top100/confirm?unit={world.province.id}&year={YEAR}",
        data={"shown": shown_digest(html)},
    )
    client.post("/auth/logout")
    viewer = make_user(Role.VIEWER, world.province)
    login(viewer)
    assert "迎泽驿站" in text(client.get(page_url(world)))
    assert client.get(page_url(world, year=2024)).status_code == 200
    assert "not yet published" in text(client.get(page_url(world, year=2024)))
    assert client.get(f"/reports/top100.pdf?unit={world.province.id}&year=2024").status_code == 404
    assert (
        client.post(
            f"/reports/top100/weights?unit={world.province.id}&year=2024", data={}
        ).status_code
        == 404
    )


def test_outside_ones_reach_it_is_404(client, world, make_user, make_unit, login):
    login(make_user(Role.ORGANISER, make_unit("河南省总工会")))
    assert client.get(page_url(world)).status_code == 404
    assert (
        client.get(f"/reports/top100.xlsx?unit={world.province.id}&year={YEAR}").status_code == 404
    )
    assert client.get(f"/reports/top100?unit={world.province.id}&year=abc").status_code == 404


# --- The downloads --------------------------------------------------------------------------


def test_the_spreadsheet_holds_the_criteria_and_both_lists(client, world, organiser):
    response = client.get(f"/reports/top100.xlsx?unit={world.province.id}&year={YEAR}")
    assert response.status_code == 200
    book = load_workbook(io.BytesIO(response.data))
    assert book.sheetnames == ["Criteria", "Top sites", "Top station masters"]
    sites = list(book["Top sites"].values)
    assert sites[1][:4] == (1, "迎泽驿站", "SX-A", "太原市总工会")
    masters = list(book["Top station masters"].values)
    assert {row[1] for row in masters[1:]} == {"Ann", "Bo", "Di", "Ed"}


@pytest.mark.skipif(shutil.which("pdftotext") is None, reason="needs pdftotext")
def test_the_pdf_is_a_notice_marked_as_a_draft(client, world, organiser, tmp_path):
    response = client.get(f"/reports/top100.pdf?unit={world.province.id}&year={YEAR}&lang=en")
    assert response.status_code == 200 and response.data.startswith(b"%PDF")
    assert "filename*=UTF-8''" in response.headers["Content-Disposition"]  # a Chinese name
    path = tmp_path / "top100.pdf"
    path.write_bytes(response.data)
    words = subprocess.run(
        ["pdftotext", "-layout", str(path), "-"], capture_output=True, check=True, text=True
    ).stdout
    assert "山西省总工会" in words and "迎泽驿站" in words and "Ann" in words
    assert "Draft: not yet confirmed" in words
