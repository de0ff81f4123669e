"""The funds ledger: a line's rules and refusals, payment, corrections, the operating-subsidy
rule and its idempotency, the rollups against hand sums, the pages, exports and access."""

from __future__ import annotations

import csv
import io
from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select

from inclusive_day.access.rule import Action, visible
from inclusive_day.audit.models import AuditEvent
from inclusive_day.auth.models import Role
from inclusive_day.funds import views as funds_views
from inclusive_day.funds.models import FundKind, FundLine
from inclusive_day.funds.queries import (
    LedgerFilter,
    ledger_totals,
    subtree_totals,
    totals_by_child,
)
from inclusive_day.funds.services import (
    FundError,
    FundFields,
    Refusal,
    correct_fund_line,
    delete_fund_line,
    generate_operating_subsidies,
    mark_paid,
    operating_rule,
    record_fund_line,
)
from inclusive_day.periods import local_today
from inclusive_day.stations.models import Label, LabelAward, Partner, StationStatus
from inclusive_day.units.models import Level
from tests.conftest import count_queries

YEAR = 2024
JAN = date(YEAR, 1, 15)
OPEN = {"status": StationStatus.ACTIVE, "opened_on": date(2020, 5, 1)}


@pytest.fixture
def world(db, make_unit, make_station, make_user):
    """A province with a city and districts A and B, a station in each district, a partner
    kept by the city, and users of each role."""
    province = make_unit("Province", level=Level.PROVINCE)
    city = make_unit("City", province, level=Level.CITY)
    a = make_unit("District A", city, level=Level.DISTRICT)
    b = make_unit("District B", city, level=Level.DISTRICT)
    other = make_unit("Other province", level=Level.PROVINCE)
    station_a = make_station(a, "Station A", code="FA-001", **OPEN)
    station_b = make_station(b, "Station B", code="FB-001", **OPEN)
    partner = Partner(unit=city, name="Sinopec City")
    far_partner = Partner(unit=other, name="Far Bank")
    db.session.add_all([partner, far_partner])
    db.session.commit()

    class W:
        pass

    w = W()
    w.province, w.city, w.a, w.b, w.other = province, city, a, b, other
    w.station_a, w.station_b = station_a, station_b
    w.partner, w.far_partner = partner, far_partner
    w.admin = make_user(Role.ADMIN)
    w.city_organiser = make_user(Role.ORGANISER, city)
    w.organiser_a = make_user(Role.ORGANISER, a)
    w.organiser_b = make_user(Role.ORGANISER, b)
    w.viewer_a = make_user(Role.VIEWER, a)
    w.manager_a = make_user(Role.STATION_MANAGER, station_a)
    return w


def fields(**kw) -> FundFields:
    """A good construction subsidy unless told otherwise."""
    kw.setdefault("kind", FundKind.CONSTRUCTION_SUBSIDY)
    kw.setdefault("amount", Decimal("5000"))
    kw.setdefault("year", YEAR)
    kw.setdefault("allocated_on", JAN)
    return FundFields(**kw)


def line_count(db) -> int:
    return db.session.scalar(select(func.count(FundLine.id)))


# ---- recording a line ----------------------------------------------------------------------


def test_a_station_line_belongs_to_the_station_unit(db, world):
    line = record_fund_line(
        world.city_organiser, fields(station=world.station_a, source_unit=world.province)
    )
    db.session.commit()
    assert (line.unit_id, line.station_id) == (world.a.id, world.station_a.id)
    assert line.source_unit_id == world.province.id
    assert line.amount == Decimal("5000.00") and line.paid_on is None
    assert line.created_by_id == world.city_organiser.id


def test_a_station_named_with_its_unit_or_one_above(db, world):
    line = record_fund_line(
        world.city_organiser,
        fields(unit=world.city, station=world.station_a, source_unit=world.city),
    )
    assert line.unit_id == world.a.id


def test_union_investment_without_a_source_is_the_unit_own_money(db, world):
    line = record_fund_line(world.organiser_a, fields(kind=FundKind.UNION_INVESTMENT, unit=world.a))
    assert (line.unit_id, line.station_id, line.source_unit_id) == (world.a.id, None, world.a.id)


def test_leveraged_money_from_a_partner_or_a_named_body(db, world):
    from_partner = record_fund_line(
        world.organiser_a,
        fields(kind=FundKind.LEVERAGED, station=world.station_a, partner=world.partner),
    )
    from_body = record_fund_line(
        world.organiser_a,
        fields(kind=FundKind.LEVERAGED, unit=world.a, note="District transport bureau"),
    )
    assert from_partner.partner_id == world.partner.id and from_partner.source_unit_id is None
    assert from_body.partner_id is None and from_body.note == "District transport bureau"


def test_money_for_a_year_may_be_allocated_the_december_before(db, world):
    line = record_fund_line(
        world.organiser_a,
        fields(unit=world.a, source_unit=world.province, allocated_on=date(YEAR - 1, 12, 20)),
    )
    assert line.year == YEAR


BAD = [
    ("zero", {"amount": Decimal("0")}, Refusal.AMOUNT_NOT_POSITIVE, "amount"),
    ("negative", {"amount": Decimal("-10")}, Refusal.AMOUNT_NOT_POSITIVE, "amount"),
    ("missing", {"amount": None}, Refusal.AMOUNT_MISSING, "amount"),
    ("too large", {"amount": Decimal("10000000000")}, Refusal.AMOUNT_TOO_LARGE, "amount"),
    ("fractions of fen", {"amount": Decimal("1.005")}, Refusal.AMOUNT_PRECISION, "amount"),
    ("no year", {"year": None}, Refusal.YEAR_MISSING, "year"),
    ("year out of range", {"year": 1999}, Refusal.YEAR_RANGE, "year"),
    (
        "allocated after the year",
        {"allocated_on": date(YEAR + 1, 1, 2)},
        Refusal.ALLOCATED_AFTER_YEAR,
        "allocated_on",
    ),
    (
        "allocated two years early",
        {"allocated_on": date(YEAR - 2, 12, 31)},
        Refusal.ALLOCATED_TOO_EARLY,
        "allocated_on",
    ),
    ("no allocation day", {"allocated_on": None}, Refusal.ALLOCATED_MISSING, "allocated_on"),
    (
        "paid before allocated",
        {"paid_on": JAN - timedelta(days=1)},
        Refusal.PAID_BEFORE_ALLOCATED,
        "paid_on",
    ),
    ("nobody", {"station": None, "unit": None}, Refusal.NO_RECIPIENT, "unit"),
    ("subsidy without source", {"source_unit": None}, Refusal.SOURCE_MISSING, "source_unit"),
    ("note too long", {"note": "x" * 256}, Refusal.NOTE_TOO_LONG, "note"),
]


@pytest.mark.parametrize(("label", "change", "code", "field"), BAD, ids=[b[0] for b in BAD])
def test_bad_lines_are_refused_and_write_nothing(db, world, label, change, code, field):
    good = fields(station=world.station_a, source_unit=world.city)
    with pytest.raises(FundError) as refused:
        record_fund_line(world.city_organiser, replace(good, **change))
    assert (refused.value.code, refused.value.field) == (code, field)
    assert str(refused.value.message)
    db.session.rollback()
    assert line_count(db) == 0


def test_days_in_the_future_are_refused(db, world):
    today = local_today()
    future = fields(
        unit=world.a, source_unit=world.a, year=today.year, allocated_on=today + timedelta(days=1)
    )
    with pytest.raises(FundError) as refused:
        record_fund_line(world.organiser_a, future)
    assert (refused.value.code, refused.value.field) == (Refusal.IN_FUTURE, "allocated_on")
    paid_later = replace(future, allocated_on=today, paid_on=today + timedelta(days=1))
    with pytest.raises(FundError) as refused:
        record_fund_line(world.organiser_a, paid_later)
    assert (refused.value.code, refused.value.field) == (Refusal.IN_FUTURE, "paid_on")


SOURCES = [
    (
        "subsidy from a unit below",
        lambda w: fields(unit=w.city, source_unit=w.a),
        Refusal.SOURCE_BELOW,
        "source_unit",
    ),
    (
        "subsidy from a side branch",
        lambda w: fields(station=w.station_a, source_unit=w.b),
        Refusal.SOURCE_BELOW,
        "source_unit",
    ),
    (
        "union investment from a unit below",
        lambda w: fields(kind=FundKind.UNION_INVESTMENT, unit=w.city, source_unit=w.a),
        Refusal.SOURCE_BELOW,
        "source_unit",
    ),
    (
        "leveraged from a union unit",
        lambda w: fields(kind=FundKind.LEVERAGED, unit=w.a, source_unit=w.city, note="x"),
        Refusal.SOURCE_NOT_UNION,
        "source_unit",
    ),
    (
        "leveraged from nobody",
        lambda w: fields(kind=FundKind.LEVERAGED, unit=w.a),
        Refusal.SOURCE_MISSING,
        "partner",
    ),
    (
        "subsidy from a partner",
        lambda w: fields(unit=w.a, source_unit=w.city, partner=w.partner),
        Refusal.PARTNER_NOT_ALLOWED,
        "partner",
    ),
    (
        "partner of another branch",
        lambda w: fields(kind=FundKind.LEVERAGED, unit=w.a, partner=w.far_partner),
        Refusal.PARTNER_OUTSIDE,
        "partner",
    ),
    (
        "station outside the unit",
        lambda w: fields(unit=w.b, station=w.station_a, source_unit=w.city),
        Refusal.STATION_OUTSIDE_UNIT,
        "station",
    ),
]


@pytest.mark.parametrize(("label", "make", "code", "field"), SOURCES, ids=[s[0] for s in SOURCES])
def test_sources_follow_the_kind(db, world, label, make, code, field):
    with pytest.raises(FundError) as refused:
        record_fund_line(world.admin, make(world))
    assert (refused.value.code, refused.value.field) == (code, field)
    db.session.rollback()
    assert line_count(db) == 0


@pytest.mark.parametrize("who", ["organiser_b", "viewer_a", "manager_a"])
def test_outside_the_user_reach_is_refused(db, world, who):
    user = getattr(world, who)
    with pytest.raises(FundError) as refused:
        record_fund_line(user, fields(station=world.station_a, source_unit=world.city))
    assert refused.value.code is Refusal.OUT_OF_REACH
    with pytest.raises(FundError) as refused:
        record_fund_line(user, fields(unit=world.a, source_unit=world.city))
    assert refused.value.code is Refusal.OUT_OF_REACH


# ---- paying, correcting, deleting -----------------------------------------------------------


@pytest.fixture
def line(db, world):
    made = record_fund_line(
        world.city_organiser, fields(station=world.station_a, source_unit=world.city)
    )
    db.session.commit()
    return made


def test_mark_paid(db, world, line):
    mark_paid(world.organiser_a, line, date(YEAR, 3, 1))
    db.session.commit()
    assert db.session.get(FundLine, line.id).paid_on == date(YEAR, 3, 1)
    with pytest.raises(FundError) as refused:
        mark_paid(world.organiser_a, line, date(YEAR, 3, 2))
    assert refused.value.code is Refusal.ALREADY_PAID


@pytest.mark.parametrize(
    ("day", "code"),
    [
        (JAN - timedelta(days=1), Refusal.PAID_BEFORE_ALLOCATED),
        (None, Refusal.PAID_MISSING),
        (local_today() + timedelta(days=1), Refusal.IN_FUTURE),
    ],
)
def test_mark_paid_refusals(db, world, line, day, code):
    with pytest.raises(FundError) as refused:
        mark_paid(world.organiser_a, line, day)
    assert refused.value.code is code
    db.session.rollback()
    assert db.session.get(FundLine, line.id).paid_on is None


def test_a_viewer_or_another_district_cannot_pay(db, world, line):
    for user in (world.viewer_a, world.organiser_b, world.manager_a):
        with pytest.raises(FundError) as refused:
            mark_paid(user, line, date(YEAR, 3, 1))
        assert refused.value.code is Refusal.OUT_OF_REACH


def test_correct_an_unpaid_line(db, world, line):
    correct_fund_line(
        world.organiser_a,
        line,
        fields(station=world.station_a, source_unit=world.city, amount=Decimal("4500.50")),
    )
    db.session.commit()
    assert db.session.get(FundLine, line.id).amount == Decimal("4500.50")


def test_a_bad_correction_changes_nothing(db, world, line):
    with pytest.raises(FundError):
        correct_fund_line(
            world.organiser_a,
            line,
            fields(station=world.station_a, source_unit=world.city, amount=Decimal("-1")),
        )
    db.session.rollback()
    assert db.session.get(FundLine, line.id).amount == Decimal("5000.00")


def test_a_paid_line_is_settled(db, world, line):
    mark_paid(world.organiser_a, line, date(YEAR, 2, 1))
    db.session.commit()
    with pytest.raises(FundError) as refused:
        correct_fund_line(
            world.organiser_a, line, fields(station=world.station_a, source_unit=world.city)
        )
    assert refused.value.code is Refusal.ALREADY_PAID
    with pytest.raises(FundError) as refused:
        delete_fund_line(world.organiser_a, line)
    assert refused.value.code is Refusal.ALREADY_PAID
    db.session.rollback()
    assert line_count(db) == 1


def test_delete_an_unpaid_line(db, world, line):
    delete_fund_line(world.organiser_a, line)
    db.session.commit()
    assert line_count(db) == 0


# ---- the operating-subsidy rule -------------------------------------------------------------


@pytest.fixture
def provincial(db):
    return db.session.scalar(select(Label).where(Label.code == "provincial_level"))


def award(db, station, label, year, by):
    db.session.add(LabelAward(station=station, label=label, year=year, awarded_by=by))
    db.session.commit()


@pytest.fixture
def holders(db, world, make_station, provincial):
    """Stations of the city's subtree in and out of the rule for YEAR."""
    a, b = world.a, world.b

    def make(unit, label_year, **lifecycle):
        station = make_station(unit, **lifecycle)
        if label_year is not None:
            award(db, station, provincial, label_year, world.province)
        return station

    return {
        "open, labelled before": make(a, YEAR - 1, **OPEN),
        "opened in the year, labelled in it": make(
            b, YEAR, status=StationStatus.ACTIVE, opened_on=date(YEAR, 6, 1)
        ),
        "closed in the year": make(
            a,
            YEAR - 2,
            status=StationStatus.CLOSED,
            opened_on=date(2019, 1, 1),
            closed_on=date(YEAR, 5, 1),
        ),
        "suspended": make(a, YEAR, status=StationStatus.SUSPENDED, opened_on=date(2021, 1, 1)),
        "out: labelled the year after": make(a, YEAR + 1, **OPEN),
        "out: no label": make(a, None, **OPEN),
        "out: closed the year before": make(
            a,
            YEAR - 3,
            status=StationStatus.CLOSED,
            opened_on=date(2019, 1, 1),
            closed_on=date(YEAR - 1, 6, 1),
        ),
        "out: planned": make(a, YEAR - 1, status=StationStatus.PLANNED, opened_on=None),
        "out: another province": make(world.other, YEAR - 1, **OPEN),
    }


def test_the_rule_writes_one_line_per_labelled_open_station(db, world, provincial, holders):
    added = generate_operating_subsidies(
        world.city, provincial, YEAR, Decimal("3000"), JAN, world.city_organiser
    )
    db.session.commit()
    expected = {s.id for name, s in holders.items() if not name.startswith("out")}
    assert added == len(expected) == 4
    lines = db.session.scalars(select(FundLine)).all()
    assert {line.station_id for line in lines} == expected
    for line in lines:
        assert line.kind is FundKind.OPERATING_SUBSIDY
        assert line.amount == Decimal("3000.00") and line.year == YEAR
        assert line.unit_id == line.station.unit_id
        assert line.source_unit_id == world.city.id
        assert line.rule == operating_rule(provincial) == "operating:provincial_level"
        assert line.allocated_on == JAN and line.paid_on is None
        assert line.created_by_id == world.city_organiser.id and line.created_at is not None


def test_running_the_rule_again_adds_nothing(db, world, provincial, holders):
    first = generate_operating_subsidies(
        world.city, provincial, YEAR, Decimal("3000"), JAN, world.city_organiser
    )
    db.session.commit()
    # Again, and from the province above: the stations' lines for the year are there.
    again = generate_operating_subsidies(
        world.city, provincial, YEAR, Decimal("3000"), JAN, world.city_organiser
    )
    from_above = generate_operating_subsidies(
        world.province, provincial, YEAR, Decimal("2500"), JAN, world.admin
    )
    db.session.commit()
    assert (first, again, from_above) == (4, 0, 0)
    assert line_count(db) == 4
    # A station that gains the label later gets its line on the next run, alone.
    award(db, holders["out: no label"], provincial, YEAR, world.province)
    assert (
        generate_operating_subsidies(
            world.city, provincial, YEAR, Decimal("3000"), JAN, world.city_organiser
        )
        == 1
    )
    # The next year is a new year.
    db.session.commit()
    assert (
        generate_operating_subsidies(
            world.city, provincial, YEAR + 1, Decimal("3000"), date(YEAR + 1, 1, 10), world.admin
        )
        == 5  # the four of YEAR less the one closed in YEAR, the late one, and the YEAR+1 label
    )


def test_the_rule_is_one_statement_however_many_stations(
    db, world, provincial, holders, make_station
):
    with count_queries(db.engine) as few:
        assert generate_operating_subsidies(world.city, provincial, YEAR, 3000, JAN, None) == 4
    for _ in range(20):
        award(db, make_station(world.b, **OPEN), provincial, YEAR, world.city)
    with count_queries(db.engine) as many:
        assert generate_operating_subsidies(world.city, provincial, YEAR, 3000, JAN, None) == 20
    assert many["n"] == few["n"] <= 3  # the INSERT, and the unit and label reloaded


def test_the_rule_checks_its_input(db, world, provincial, holders):
    with pytest.raises(FundError) as refused:
        generate_operating_subsidies(world.city, provincial, YEAR, 0, JAN, world.city_organiser)
    assert refused.value.code is Refusal.AMOUNT_NOT_POSITIVE
    with pytest.raises(FundError) as refused:
        generate_operating_subsidies(
            world.city, provincial, YEAR, 3000, date(YEAR + 1, 1, 1), world.city_organiser
        )
    assert refused.value.code is Refusal.ALLOCATED_AFTER_YEAR
    with pytest.raises(FundError) as refused:
        generate_operating_subsidies(world.city, provincial, YEAR, 3000, JAN, world.organiser_a)
    assert refused.value.code is Refusal.OUT_OF_REACH
    db.session.rollback()
    assert line_count(db) == 0


def test_a_rule_line_keeps_its_key(db, world, provincial, holders):
    generate_operating_subsidies(world.city, provincial, YEAR, 3000, JAN, world.admin)
    db.session.commit()
    line = db.session.scalars(select(FundLine).order_by(FundLine.id)).first()
    base = fields(
        kind=FundKind.OPERATING_SUBSIDY, station=line.station, source_unit=world.city, amount=2800
    )
    with pytest.raises(FundError) as refused:
        correct_fund_line(world.admin, line, replace(base, year=YEAR + 1))
    assert refused.value.code is Refusal.RULE_LINE_FIXED
    db.session.rollback()
    correct_fund_line(world.admin, line, base)
    db.session.commit()
    assert line.amount == Decimal("2800.00") and line.rule == "operating:provincial_level"


# ---- rollups ------------------------------------------------------------------------------


@pytest.fixture
def ledger(db, world):
    """A year of lines over the city's subtree, and a line of another year and province."""
    w = world
    entries = [
        (w.admin, fields(station=w.station_a, source_unit=w.province, amount=Decimal("10000.10"))),
        (w.admin, fields(station=w.station_b, source_unit=w.city, amount=Decimal("8000"))),
        (
            w.admin,
            fields(kind=FundKind.AWARD, unit=w.city, source_unit=w.province, amount=20000),
        ),
        (w.admin, fields(kind=FundKind.UNION_INVESTMENT, unit=w.a, amount=Decimal("30000.55"))),
        (w.admin, fields(kind=FundKind.UNION_INVESTMENT, station=w.station_b, amount=12000)),
        (
            w.admin,
            fields(kind=FundKind.LEVERAGED, station=w.station_a, partner=w.partner, amount=50000),
        ),
        (
            w.admin,
            fields(kind=FundKind.LEVERAGED, unit=w.b, note="Bank", amount=Decimal("7000.25")),
        ),
        (
            w.admin,
            fields(
                station=w.station_a,
                source_unit=w.city,
                amount=999,
                year=YEAR - 1,
                allocated_on=date(YEAR - 1, 3, 1),
            ),
        ),
        (w.admin, fields(unit=w.other, source_unit=w.other, amount=123456)),
    ]
    lines = [record_fund_line(user, f) for user, f in entries]
    mark_paid(w.admin, lines[0], date(YEAR, 2, 1))
    mark_paid(w.admin, lines[3], date(YEAR, 4, 1))
    mark_paid(w.admin, lines[5], date(YEAR, 6, 1))
    db.session.commit()
    return lines


def test_rollups_match_hand_sums(db, world, ledger):
    end = date(YEAR, 12, 31)
    city = subtree_totals(world.city, YEAR, end)
    assert city.allocated == Decimal("10000.10") + 8000 + 20000
    assert city.driven == Decimal("30000.55") + 12000
    assert city.leveraged == 50000 + Decimal("7000.25")
    assert city.paid == Decimal("10000.10") + Decimal("30000.55") + 50000
    # As they stood on 1 March: everything allocated (15 Jan), only the first line paid.
    assert subtree_totals(world.city, YEAR, date(YEAR, 3, 1)).paid == Decimal("10000.10")
    children = totals_by_child(world.city, YEAR, end)
    assert children[world.a.id].allocated == Decimal("10000.10")
    assert children[world.a.id].driven == Decimal("30000.55")
    assert children[world.a.id].leveraged == 50000
    assert children[world.b.id].total == 8000 + 12000 + Decimal("7000.25")
    assert children[world.city.id].allocated == 20000
    assert sum(children.values(), type(city)()) == city

    every = ledger_totals(world.admin, LedgerFilter(world.city, YEAR))
    assert every == city
    unpaid = ledger_totals(world.admin, LedgerFilter(world.city, YEAR, paid=False))
    assert unpaid.total == city.total - city.paid and unpaid.paid == 0
    station_a = ledger_totals(world.admin, LedgerFilter(world.city, None, station_code="FA-001"))
    assert station_a.allocated == Decimal("10000.10") + 999 and station_a.leveraged == 50000
    grants = ledger_totals(world.admin, LedgerFilter(world.city, YEAR, kind=FundKind.AWARD))
    assert grants.total == 20000


def test_ledger_totals_follow_the_user_reach(db, world, ledger):
    # District A's organiser asking about the city sees only district A's lines.
    mine = ledger_totals(world.organiser_a, LedgerFilter(world.city, YEAR))
    assert mine == subtree_totals(world.a, YEAR, date(YEAR, 12, 31))


# ---- access -------------------------------------------------------------------------------


def test_who_sees_and_changes_lines(db, world, ledger, make_sponsor, make_user):
    sponsor_rep = make_user(Role.SPONSOR_REP, make_sponsor(world.a))

    def seen(user, action):
        return set(db.session.scalars(select(FundLine.id).where(visible(user, action, FundLine))))

    in_a = {line.id for line in ledger if line.unit_id == world.a.id}
    assert in_a and seen(world.organiser_a, Action.EDIT) == in_a
    assert seen(world.viewer_a, Action.VIEW) == in_a
    assert seen(world.viewer_a, Action.EDIT) == set()
    assert seen(world.manager_a, Action.VIEW) == set()
    assert seen(sponsor_rep, Action.VIEW) == set()
    assert seen(world.admin, Action.EDIT) == {line.id for line in ledger}


# ---- pages --------------------------------------------------------------------------------


def test_the_ledger_page_lists_filters_and_totals(client, login, world, ledger):
    login(world.city_organiser)
    page = client.get(f"/funds/?unit={world.city.id}&year={YEAR}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "Station A" in html and "Station B" in html and "Sinopec City" in html
    assert "38,000.10" in html  # allocated: 10,000.10 + 8,000 + 20,000
    only_paid = client.get(f"/funds/?unit={world.city.id}&year={YEAR}&paid=yes").get_data(
        as_text=True
    )
    assert "Sinopec City" in only_paid and "Bank" not in only_paid
    by_station = client.get(f"/funds/?unit={world.city.id}&year=all&station=FB-001").get_data(
        as_text=True
    )
    assert "Station B" in by_station and "FA-001" not in by_station


def test_the_ledger_page_is_a_constant_number_of_queries(db, client, login, world, make_station):
    login(world.city_organiser)

    def add(n):
        for _ in range(n):
            station = make_station(world.a, **OPEN)
            record_fund_line(world.admin, fields(station=station, source_unit=world.city))
        db.session.commit()

    add(2)
    url = f"/funds/?unit={world.city.id}&year={YEAR}"
    client.get(url)
    with count_queries(db.engine) as few:
        assert client.get(url).status_code == 200
    add(25)
    with count_queries(db.engine) as many:
        assert client.get(url).status_code == 200
    assert many["n"] == few["n"]


def test_the_ledger_pages(db, client, login, world, monkeypatch):
    monkeypatch.setattr(funds_views, "PER_PAGE", 2)
    for amount in (1, 2, 3):
        record_fund_line(world.admin, fields(unit=world.a, source_unit=world.a, amount=amount))
    db.session.commit()
    login(world.organiser_a)
    first = client.get(f"/funds/?unit={world.a.id}&year={YEAR}").get_data(as_text=True)
    assert "Page 1 of 2" in first
    second = client.get(f"/funds/?unit={world.a.id}&year={YEAR}&page=2").get_data(as_text=True)
    assert "Page 2 of 2" in second and "1.00" in second


def test_add_a_line_through_the_form(db, client, login, world):
    login(world.organiser_a)
    assert client.get(f"/funds/new?station={world.station_a.id}").status_code == 200
    form = {
        "kind": "construction_subsidy",
        "amount": "5000",
        "year": str(YEAR),
        "unit": str(world.a.id),
        "station": "FA-001",
        "source_unit": str(world.city.id),
        "partner": "0",
        "allocated_on": JAN.isoformat(),
    }
    answer = client.post("/funds/new", data=form)
    assert answer.status_code == 302
    line = db.session.scalar(select(FundLine))
    assert (line.station_id, line.source_unit_id) == (world.station_a.id, world.city.id)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"amount": "0"}, "more than zero"),
        ({"amount": "-3"}, "more than zero"),
        ({"amount": "12345678901"}, "too large"),
        ({"paid_on": (JAN - timedelta(days=3)).isoformat()}, "paid before it was allocated"),
        ({"allocated_on": date(YEAR + 1, 2, 1).isoformat()}, "after the end of"),
        ({"source_unit": "0"}, "Choose the union unit"),
        ({"station": "FB-001"}, "No station FB-001 among your units"),
        ({"station": "NOPE-1"}, "No station NOPE-1 among your units"),
    ],
)
def test_a_bad_form_re_renders_and_writes_nothing(db, client, login, world, change, message):
    login(world.organiser_a)
    form = {
        "kind": "construction_subsidy",
        "amount": "5000",
        "year": str(YEAR),
        "unit": str(world.a.id),
        "station": "FA-001",
        "source_unit": str(world.city.id),
        "partner": "0",
        "allocated_on": JAN.isoformat(),
        **change,
    }
    answer = client.post("/funds/new", data=form)
    assert answer.status_code == 422
    assert message in answer.get_data(as_text=True)
    assert line_count(db) == 0


def test_pages_out_of_reach_answer_404(client, login, world, line):
    login(world.organiser_b)
    assert client.get(f"/funds/?unit={world.a.id}").status_code == 404
    assert client.get(f"/funds/new?station={world.station_a.id}").status_code == 404
    assert client.get(f"/funds/{line.id}/edit").status_code == 404
    assert client.post(f"/funds/{line.id}/paid", data={"paid_on": "2024-02-01"}).status_code == 404


def test_a_viewer_reads_but_does_not_change(client, login, world, line):
    login(world.viewer_a)
    html = client.get(f"/funds/?unit={world.a.id}&year={YEAR}").get_data(as_text=True)
    assert "5,000.00" in html and "Add a line" not in html and "Mark paid" not in html
    assert client.get("/funds/new").status_code == 404
    assert client.get(f"/funds/{line.id}/edit").status_code == 404


def test_mark_paid_and_its_refusal_on_the_page(db, client, login, world, line):
    login(world.organiser_a)
    back = f"/funds/?unit={world.a.id}&year={YEAR}&paid=no"
    early = client.post(
        f"/funds/{line.id}/paid",
        data={"paid_on": (JAN - timedelta(days=1)).isoformat(), "back": back},
        follow_redirects=True,
    )
    assert "paid before it was allocated" in early.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(FundLine, line.id).paid_on is None
    done = client.post(f"/funds/{line.id}/paid", data={"paid_on": "2024-02-01", "back": back})
    assert done.status_code == 302 and done.headers["Location"].endswith(back)
    db.session.expire_all()
    assert db.session.get(FundLine, line.id).paid_on == date(2024, 2, 1)
    # Somewhere else than the ledger is not followed.
    again = client.post(
        f"/funds/{line.id}/paid", data={"paid_on": "2024-02-02", "back": "https://evil.example/"}
    )
    assert "evil" not in again.headers["Location"]


def test_correct_and_delete_through_the_pages(db, client, login, world, line):
    login(world.organiser_a)
    page = client.get(f"/funds/{line.id}/edit")
    assert page.status_code == 200 and "FA-001" in page.get_data(as_text=True)
    form = {
        "kind": "construction_subsidy",
        "amount": "4200.50",
        "year": str(YEAR),
        "unit": str(world.a.id),
        "station": "FA-001",
        "source_unit": str(world.city.id),
        "partner": "0",
        "allocated_on": JAN.isoformat(),
    }
    assert client.post(f"/funds/{line.id}/edit", data=form).status_code == 302
    db.session.expire_all()
    assert db.session.get(FundLine, line.id).amount == Decimal("4200.50")
    # A stray POST (without the line's id to confirm) deletes nothing.
    assert client.post(f"/funds/{line.id}/delete").status_code == 302
    assert line_count(db) == 1
    assert "Delete this line" in client.get(f"/funds/{line.id}/edit").get_data(as_text=True)
    answer = client.post(f"/funds/{line.id}/delete", data={"confirm": str(line.id)})
    assert answer.status_code == 302
    assert line_count(db) == 0


def test_a_paid_line_cannot_be_corrected_on_the_page(db, client, login, world, line):
    mark_paid(world.admin, line, date(YEAR, 2, 1))
    db.session.commit()
    login(world.organiser_a)
    answer = client.post(f"/funds/{line.id}/edit", data={"amount": "1"}, follow_redirects=True)
    assert "it is settled" in answer.get_data(as_text=True)
    client.post(f"/funds/{line.id}/delete", data={"confirm": str(line.id)})
    db.session.expire_all()
    assert db.session.get(FundLine, line.id).amount == Decimal("5000.00")


def test_the_rule_form_says_how_many_it_added(db, client, login, world, provincial, holders):
    login(world.city_organiser)
    assert client.get(f"/funds/operating-subsidies?unit={world.city.id}").status_code == 200
    form = {
        "unit": str(world.city.id),
        "label": str(provincial.id),
        "year": str(YEAR),
        "amount": "3000",
        "allocated_on": JAN.isoformat(),
    }
    first = client.post("/funds/operating-subsidies", data=form, follow_redirects=True)
    assert "Operating subsidy lines added: 4," in first.get_data(as_text=True)
    again = client.post("/funds/operating-subsidies", data=form, follow_redirects=True)
    assert "0 added" in again.get_data(as_text=True)
    assert line_count(db) == 4
    bad = client.post("/funds/operating-subsidies", data={**form, "amount": "-1"})
    assert bad.status_code == 422 and "more than zero" in bad.get_data(as_text=True)


def test_the_csv_export_reads_back(client, login, world, ledger):
    login(world.city_organiser)
    answer = client.get(f"/funds/ledger.csv?unit={world.city.id}&year={YEAR}")
    assert answer.status_code == 200 and answer.mimetype == "text/csv"
    text = answer.get_data().decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    header, body = rows[0], rows[1:]
    assert header[:6] == ["Line", "Budget year", "Union unit", "Station code", "Station", "Kind"]
    assert len(body) == 7  # the city's lines of the year, not the other year's or province's
    first = body[0]
    assert first[3:5] == ["FA-001", "Station A"]
    assert first[5:8] == ["construction subsidy", "allocated", "10000.10"]
    assert first[8:11] == [JAN.isoformat(), "2024-02-01", "Province"]
    leveraged = next(r for r in body if r[10] == "Sinopec City")
    assert leveraged[6] == "leveraged"
    assert (
        sum(Decimal(r[7]) for r in body)
        == subtree_totals(world.city, YEAR, date(YEAR, 12, 31)).total
    )


def test_the_xlsx_export_reads_back(client, login, world, ledger):
    login(world.organiser_a)
    answer = client.get(f"/funds/ledger.xlsx?unit={world.a.id}&year=all&kind=leveraged")
    assert answer.status_code == 200
    sheet = load_workbook(io.BytesIO(answer.get_data())).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][7] == "Amount (yuan)"
    assert len(rows) == 2
    row = rows[1]
    assert row[3] == "FA-001" and row[5] == "leveraged funds" and row[10] == "Sinopec City"
    assert Decimal(str(row[7])) == 50000


def test_links_to_the_ledger(client, login, world):
    login(world.organiser_a)
    station_page = client.get(f"/stations/{world.station_a.id}").get_data(as_text=True)
    assert "/funds/?unit=" in station_page and "station=FA-001" in station_page
    assert "/funds/?unit=" in client.get(f"/units/?unit={world.a.id}").get_data(as_text=True)


def test_no_ledger_link_for_a_station_manager(client, login, world):
    login(world.manager_a)
    assert "/funds/" not in client.get(f"/stations/{world.station_a.id}").get_data(as_text=True)
    assert client.get("/funds/").status_code == 404


def test_a_rule_run_is_one_event_in_the_units_log(db, world, provincial, holders):
    """The rule writes its lines in one INSERT, past the flush listener: the log gets one
    summary of the run, under the unit it ran for, and a second run that adds nothing none."""
    for _ in range(2):
        generate_operating_subsidies(
            world.city, provincial, YEAR, Decimal("3000"), JAN, world.city_organiser
        )
        db.session.commit()
    runs = db.session.scalars(
        select(AuditEvent).where(
            AuditEvent.action == "generate", AuditEvent.object_type == "fund_line"
        )
    ).all()
    assert len(runs) == 1
    assert runs[0].unit_path == world.city.path
    assert runs[0].changes["lines"] == [None, 4]
    assert runs[0].changes["rule"] == [None, "operating:provincial_level"]
