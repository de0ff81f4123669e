"""Sponsors: sign-up and approval, pledges, receipt with numbered receipts, distribution within
the balance (also under concurrent writers), access, and the spreadsheets for the accounts."""

from __future__ import annotations

import csv
import io
import threading
from datetime import date
from decimal import Decimal

import pytest
from flask_babel import force_locale
from openpyxl import load_workbook
from sqlalchemy import func, select

from inclusive_day.auth.models import Role, RoleGrant, User
from inclusive_day.sponsors.models import (
    Distribution,
    Donation,
    DonationKind,
    DonationStatus,
    Sponsor,
    SponsorKind,
    SponsorStatus,
)
from inclusive_day.sponsors.services import (
    DonationFields,
    SponsorError,
    SponsorFields,
    distribute,
    new_form_uid,
    pledge_donation,
    receive_donation,
    register_sponsor,
    valuation,
)
from tests.conftest import PASSWORD

PLEDGED_ON = date(2024, 1, 5)
RECEIVED_ON = date(2024, 1, 10)


@pytest.fixture
def city(make_unit):
    return make_unit("昆明市总工会", code="530100")


@pytest.fixture
def organiser(make_user, city):
    return make_user(Role.ORGANISER, on=city)


def gift(**kw) -> DonationFields:
    """Water tickets: 100 books at 100 yuan, unless told otherwise."""
    values = {
        "kind": DonationKind.IN_KIND,
        "description": "送水券",
        "quantity": Decimal(100),
        "unit_label": "本",
        "unit_value": Decimal(100),
        "pledged_on": PLEDGED_ON,
    }
    values.update(kw)
    return DonationFields(**values)


@pytest.fixture
def received(db, make_sponsor, make_campaign, city, organiser):
    """100 books of water tickets from an approved sponsor, received."""
    sponsor = make_sponsor(city, "中国石化")
    campaign = make_campaign(city)
    donation = pledge_donation(sponsor, gift(campaign=campaign), organiser)
    receive_donation(donation, RECEIVED_ON, organiser)
    db.session.commit()
    return donation


@pytest.fixture
def english(app):
    """Messages of services called outside a request, in English."""
    with force_locale("en"):
        yield


@pytest.fixture
def activity(received, make_activity, make_station, city):
    """An activity of the donation's campaign at a station of the city."""
    return make_activity(station=make_station(city), campaign=received.campaign)


# --- What a gift may be -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"kind": DonationKind.CASH, "quantity": None, "value": None}, "value"),
        ({"kind": DonationKind.CASH, "quantity": None, "value": Decimal("-5")}, "value"),
        ({"quantity": Decimal(0)}, "quantity"),
        ({"quantity": Decimal(-3)}, "quantity"),
        ({"quantity": None}, "quantity"),
        ({"unit_value": None, "value": None}, "unit_value"),
        ({"unit_value": Decimal(0)}, "unit_value"),
        ({"unit_value": Decimal(-1)}, "value"),
        ({"unit_label": " "}, "unit_label"),
        ({"kind": DonationKind.SERVICE, "quantity": None}, "quantity"),
        ({"quantity": Decimal("1e12")}, "quantity"),
    ],
)
def test_a_gift_that_cannot_be_accounted_for_is_refused(app, fields, field):
    with pytest.raises(SponsorError) as caught:
        valuation(gift(**fields))
    assert caught.value.field == field


def test_a_gift_is_valued_per_unit_or_in_total_and_a_service_may_be_free(app):
    assert valuation(gift()).value == Decimal("10000.00")
    by_total = valuation(gift(unit_value=None, value=Decimal("3000")))
    assert (by_total.value, by_total.unit_value) == (Decimal("3000.00"), Decimal("30.00"))
    free = valuation(gift(kind=DonationKind.SERVICE, unit_value=None, unit_label="场"))
    assert (free.quantity, free.value) == (Decimal(100), Decimal("0.00"))
    cash = valuation(gift(kind=DonationKind.CASH, quantity=Decimal(5), value=Decimal("5000")))
    assert (cash.quantity, cash.value) == (None, Decimal("5000.00"))


# --- Sign-up and review -----------------------------------------------------------------


def test_a_sign_up_waits_for_an_organiser_and_approval_opens_the_account(
    db, client, city, organiser, login
):
    page = client.get("/sponsors/register")
    assert page.status_code == 200 and "昆明市总工会" in page.get_data(as_text=True)
    answer = client.post(
        "/sponsors/register",
        data={
            "unit": city.id,
            "name": "昆明德韩口腔医院",
            "kind": "enterprise",
            "contact_name": "刘院长",
            "public_name": "",
            "on_honour_roll": "y",
            "username": "dental",
            "password": "implants-for-police",
            "confirm": "implants-for-police",
        },
    )
    assert answer.status_code == 302 and "/sponsors/register/done" in answer.location
    sponsor = db.session.scalar(select(Sponsor).where(Sponsor.name == "昆明德韩口腔医院"))
    assert sponsor.status is SponsorStatus.PENDING and sponsor.public_name == sponsor.name
    refused = client.post(
        "/auth/login", data={"username": "dental", "password": "implants-for-police"}
    )
    assert refused.status_code == 200  # not active yet: the login form again

    login(organiser)
    html = client.get(f"/sponsors/{sponsor.id}").get_data(as_text=True)
    assert "awaits your review" in html
    client.post(f"/sponsors/{sponsor.id}/review", data={"approve": "Approve", "note": "ok"})
    db.session.expire_all()
    assert db.session.get(Sponsor, sponsor.id).status is SponsorStatus.APPROVED
    representative = db.session.scalar(select(User).where(User.username == "dental"))
    assert representative.active
    roles = db.session.scalars(select(RoleGrant).where(RoleGrant.user_id == representative.id))
    assert [(g.role, g.sponsor_id) for g in roles] == [(Role.SPONSOR_REP, sponsor.id)]
    again = client.post(f"/sponsors/{sponsor.id}/review", data={"reject": "Reject"})
    assert "already been reviewed" in client.get(again.location).get_data(as_text=True)
    assert db.session.get(Sponsor, sponsor.id).status is SponsorStatus.APPROVED


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"password": "short", "confirm": "short"}, "at least 10 characters"),
        ({"confirm": "something-else-entirely"}, "passwords differ"),
        ({"username": "TAKEN"}, "user name is taken"),
        ({"unit": "999999"}, "Not a valid choice"),
        ({"name": ""}, "This field is required"),
    ],
)
def test_a_bad_sign_up_says_why_and_writes_nothing(db, client, city, make_user, change, message):
    make_user(username="taken")
    data = {
        "unit": city.id,
        "name": "大润发",
        "kind": "enterprise",
        "username": "rtmart",
        "password": "tangyuan-lantern",
        "confirm": "tangyuan-lantern",
    }
    data.update(change)
    answer = client.post("/sponsors/register", data=data)
    assert answer.status_code == 200
    assert message in answer.get_data(as_text=True)
    assert db.session.scalar(select(func.count(Sponsor.id))) == 0
    assert db.session.scalar(select(func.count(User.id))) == 1


def test_an_organiser_elsewhere_cannot_review(db, client, city, make_unit, make_user, login):
    sponsor = register_sponsor(SponsorFields(unit=city, name="美团", kind=SponsorKind.ENTERPRISE))
    db.session.commit()
    other = make_user(Role.ORGANISER, on=make_unit("曲靖市总工会"))
    login(other)
    assert client.get(f"/sponsors/{sponsor.id}").status_code == 404
    assert client.post(f"/sponsors/{sponsor.id}/review", data={"approve": "1"}).status_code == 404
    assert db.session.get(Sponsor, sponsor.id).status is SponsorStatus.PENDING


# --- Pledges, receipt, receipts' numbers ------------------------------------------------


def test_a_representative_pledges_once_however_often_the_form_is_sent(
    db, client, city, make_sponsor, make_campaign, make_user, login
):
    sponsor = make_sponsor(city)
    campaign = make_campaign(city)
    login(make_user(Role.SPONSOR_REP, on=sponsor))
    page = client.get(f"/sponsors/{sponsor.id}/donations/new").get_data(as_text=True)
    assert campaign.name in page
    data = {
        "uid": new_form_uid(),
        "kind": "in_kind",
        "description": "种植牙",
        "quantity": "100",
        "unit_label": "颗",
        "unit_value": "3000",
        "campaign": campaign.id,
        "pledged_on": "2024-01-05",
    }
    first = client.post(f"/sponsors/{sponsor.id}/donations/new", data=data)
    second = client.post(f"/sponsors/{sponsor.id}/donations/new", data=data)
    assert first.status_code == second.status_code == 302
    assert first.location == second.location
    donations = list(db.session.scalars(select(Donation)))
    assert len(donations) == 1 and donations[0].value == Decimal("300000.00")
    mine = client.get("/sponsors/mine").get_data(as_text=True)
    assert "种植牙" in mine and "300,000.00" in mine
    # The representative may not confirm its own gift.
    assert client.post(f"/sponsors/donations/{donations[0].id}/receive").status_code == 404


def test_a_bad_pledge_re_renders_with_the_error(db, client, city, make_sponsor, make_user, login):
    sponsor = make_sponsor(city)
    login(make_user(Role.SPONSOR_REP, on=sponsor))
    answer = client.post(
        f"/sponsors/{sponsor.id}/donations/new",
        data={
            "uid": new_form_uid(),
            "kind": "in_kind",
            "description": "送水券",
            "quantity": "100",
            "unit_label": "本",
            "campaign": 0,
            "pledged_on": "2024-01-05",
        },
    )
    assert answer.status_code == 200
    assert "worth in yuan" in answer.get_data(as_text=True)
    assert db.session.scalar(select(func.count(Donation.id))) == 0


def test_a_pledge_for_one_station_names_a_station_of_the_campaign(
    db, client, city, make_unit, make_sponsor, make_campaign, make_station, make_user, login
):
    sponsor = make_sponsor(city)
    campaign = make_campaign(city)
    ours = make_station(city, code="KM-GD-001")
    make_station(make_unit("曲靖市总工会"), code="QJ-001")
    login(make_user(Role.SPONSOR_REP, on=sponsor))
    data = {
        "kind": "service",
        "description": "公益义剪",
        "quantity": "12",
        "unit_label": "场",
        "campaign": campaign.id,
        "pledged_on": "2024-01-05",
    }
    for code, message in (("NOPE", "No station has this code"), ("QJ-001", "outside")):
        answer = client.post(
            f"/sponsors/{sponsor.id}/donations/new",
            data={**data, "uid": new_form_uid(), "station_code": code},
        )
        assert answer.status_code == 200 and message in answer.get_data(as_text=True)
    assert db.session.scalar(select(func.count(Donation.id))) == 0
    answer = client.post(
        f"/sponsors/{sponsor.id}/donations/new",
        data={**data, "uid": new_form_uid(), "station_code": "KM-GD-001"},
    )
    assert answer.status_code == 302
    assert db.session.scalar(select(Donation.station_id)) == ours.id


def test_a_pending_sponsor_cannot_pledge(db, city, organiser, english):
    sponsor = register_sponsor(SponsorFields(unit=city, name="新企业", kind=SponsorKind.ENTERPRISE))
    with pytest.raises(SponsorError, match="approved"):
        pledge_donation(sponsor, gift(), organiser)


def test_receipts_are_numbered_per_unit_and_year_without_gaps(
    db, city, make_unit, make_sponsor, organiser
):
    district = make_unit("官渡区总工会", parent=city, code="530111")
    numbers = []
    for unit, on in ((city, RECEIVED_ON), (city, RECEIVED_ON), (district, RECEIVED_ON)):
        donation = pledge_donation(make_sponsor(unit), gift(), organiser)
        numbers.append(receive_donation(donation, on, organiser).receipt_number)
    failed = pledge_donation(make_sponsor(city), gift(), organiser)
    db.session.commit()
    with pytest.raises(SponsorError):
        receive_donation(failed, date(2023, 12, 1), organiser)  # before the pledge
    db.session.rollback()
    later = pledge_donation(make_sponsor(city), gift(), organiser)
    numbers.append(receive_donation(later, RECEIVED_ON, organiser).receipt_number)
    assert numbers == [
        "530100-2024-00001",
        "530100-2024-00002",
        "530111-2024-00001",
        "530100-2024-00003",
    ]


def test_a_gift_is_received_once(db, received, organiser, english):
    with pytest.raises(SponsorError, match="already been received"):
        receive_donation(received, RECEIVED_ON, organiser)


def test_receiving_through_the_page_numbers_the_receipt(
    db, client, city, make_sponsor, organiser, login
):
    donation = pledge_donation(make_sponsor(city), gift(), organiser)
    db.session.commit()
    login(organiser)
    bad = client.post(
        f"/sponsors/donations/{donation.id}/receive", data={"received_on": "2023-01-01"}
    )
    assert bad.status_code == 422 and "before it was pledged" in bad.get_data(as_text=True)
    assert client.get(f"/sponsors/donations/{donation.id}/receipt.pdf").status_code == 404
    ok = client.post(
        f"/sponsors/donations/{donation.id}/receive", data={"received_on": "2024-01-10"}
    )
    assert ok.status_code == 302
    db.session.expire_all()
    assert db.session.get(Donation, donation.id).receipt_number == "530100-2024-00001"
    pdf = client.get(f"/sponsors/donations/{donation.id}/receipt.pdf")
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")


# --- Distribution -----------------------------------------------------------------------


def test_hand_outs_keep_within_the_balance_and_add_up_to_the_value(
    db, received, organiser, activity, english
):
    first = distribute(organiser, received, quantity=Decimal(40), on=RECEIVED_ON, activity=activity)
    db.session.commit()
    assert (first.value, received.balance) == (Decimal("4000.00"), Decimal(60))
    with pytest.raises(SponsorError, match="Only 60 本 are left"):
        distribute(organiser, received, quantity=Decimal(61), on=RECEIVED_ON, activity=activity)
    db.session.rollback()
    distribute(organiser, received, quantity=Decimal(60), on=RECEIVED_ON, station=activity.station)
    db.session.commit()
    assert received.status is DonationStatus.DISTRIBUTED and received.balance == 0
    values = db.session.scalars(select(Distribution.value)).all()
    assert sum(values) == received.value


def test_a_cash_gift_is_handed_out_in_yuan_and_the_last_share_takes_the_remainder(
    db, make_sponsor, city, organiser, make_station
):
    cash = pledge_donation(
        make_sponsor(city), gift(kind=DonationKind.CASH, value=Decimal("100")), organiser
    )
    receive_donation(cash, RECEIVED_ON, organiser)
    station = make_station(city)
    for amount in ("33.33", "33.33", "33.34"):
        distribute(organiser, cash, quantity=Decimal(amount), on=RECEIVED_ON, station=station)
    db.session.commit()
    assert cash.status is DonationStatus.DISTRIBUTED
    assert sum(db.session.scalars(select(Distribution.value))) == Decimal("100.00")


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"quantity": "0"}, "quantity", "more than zero"),
        ({"quantity": "-5"}, "quantity", "more than zero"),
        ({"quantity": "101"}, "quantity", "Only 100 本 are left"),
        ({"distributed_on": "2024-01-01"}, "distributed_on", "before it arrived"),
        ({"activity": "0", "station_code": "NOPE"}, "station_code", "No station has this code"),
        ({"activity": "0"}, "station_code", "activity or the station"),
    ],
)
def test_a_bad_hand_out_re_renders_with_the_error_and_writes_nothing(
    db, client, received, organiser, activity, login, change, field, message
):
    login(organiser)
    data = {
        "uid": new_form_uid(),
        "activity": activity.id,
        "quantity": "40",
        "distributed_on": "2024-01-18",
    }
    data.update(change)
    answer = client.post(f"/sponsors/donations/{received.id}/distribute", data=data)
    assert answer.status_code == 422
    assert message in answer.get_data(as_text=True)
    assert db.session.scalar(select(func.count(Distribution.id))) == 0
    db.session.expire_all()
    assert db.session.get(Donation, received.id).distributed == 0


def test_an_activity_of_another_campaign_is_refused(
    db, received, organiser, make_activity, make_station, make_campaign, city, english
):
    elsewhere = make_activity(station=make_station(city), campaign=make_campaign(city))
    with pytest.raises(SponsorError, match="donation's campaign"):
        distribute(organiser, received, quantity=Decimal(1), on=RECEIVED_ON, activity=elsewhere)


def _clients(app, user, n):
    clients = []
    for _ in range(n):
        c = app.test_client()
        c.post("/auth/login", data={"username": user.username, "password": PASSWORD})
        clients.append(c)
    return clients


def _all_at_once(clients, url, bodies):
    barrier = threading.Barrier(len(clients))
    answers, errors = [], []

    def send(c, body):
        try:
            barrier.wait()
            answers.append(c.post(url, data=body))
        except Exception as error:  # noqa: BLE001 - reported below
            errors.append(error)

    threads = [
        threading.Thread(target=send, args=pair) for pair in zip(clients, bodies, strict=True)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    return answers


def test_organisers_handing_out_the_last_books_at_once_cannot_exceed_the_balance(
    app, db, received, organiser, activity
):
    url = f"/sponsors/donations/{received.id}/distribute"
    bodies = [
        {
            "uid": new_form_uid(),
            "activity": activity.id,
            "quantity": "60",
            "distributed_on": "2024-01-18",
        }
        for _ in range(6)
    ]
    answers = _all_at_once(_clients(app, organiser, 6), url, bodies)
    assert sorted(a.status_code for a in answers) == [302] + [422] * 5
    db.session.expire_all()
    assert db.session.get(Donation, received.id).distributed == Decimal(60)
    assert db.session.scalar(select(func.count(Distribution.id))) == 1


def test_the_same_hand_out_sent_twice_at_once_is_recorded_once(
    app, db, received, organiser, activity
):
    url = f"/sponsors/donations/{received.id}/distribute"
    body = {
        "uid": new_form_uid(),
        "activity": activity.id,
        "quantity": "10",
        "distributed_on": "2024-01-18",
    }
    answers = _all_at_once(_clients(app, organiser, 4), url, [body] * 4)
    assert [a.status_code for a in answers] == [302] * 4
    db.session.expire_all()
    assert db.session.scalar(select(func.count(Distribution.id))) == 1
    assert db.session.get(Donation, received.id).distributed == Decimal(10)


# --- Access -----------------------------------------------------------------------------


def test_a_representative_sees_only_its_own_sponsor(
    db, client, received, make_sponsor, make_user, city, login
):
    other = make_sponsor(city, "美团")
    login(make_user(Role.SPONSOR_REP, on=other))
    assert client.get("/").location.endswith("/sponsors/mine")
    assert client.get(f"/sponsors/donations/{received.id}").status_code == 404
    assert client.get(f"/sponsors/donations/{received.id}/receipt.pdf").status_code == 404
    assert client.get(f"/sponsors/{received.sponsor_id}").status_code == 404
    assert client.get(f"/sponsors/{received.sponsor_id}/donations/new").status_code == 404
    exported = client.get("/sponsors/donations.csv").get_data(as_text=True)
    assert "送水券" not in exported


def test_an_organiser_of_another_city_gets_404_everywhere(
    db, client, received, make_unit, make_user, login
):
    login(make_user(Role.ORGANISER, on=make_unit("曲靖市总工会")))
    for url in (
        f"/sponsors/donations/{received.id}",
        f"/sponsors/{received.sponsor_id}",
        f"/sponsors/donations/{received.id}/receipt.pdf",
    ):
        assert client.get(url).status_code == 404, url
    body = {
        "uid": new_form_uid(),
        "station_code": "X",
        "quantity": "1",
        "distributed_on": "2024-01-18",
    }
    assert (
        client.post(f"/sponsors/donations/{received.id}/distribute", data=body).status_code == 404
    )


# --- Exports ----------------------------------------------------------------------------


def test_the_accounts_get_donations_and_hand_outs_with_formulas_neutralised(
    db, client, make_sponsor, city, organiser, make_station, login
):
    donation = pledge_donation(
        make_sponsor(city, '=HYPERLINK("x")'), gift(description="=1+1"), organiser
    )
    receive_donation(donation, RECEIVED_ON, organiser)
    distribute(
        organiser, donation, quantity=Decimal(40), on=RECEIVED_ON, station=make_station(city)
    )
    db.session.commit()
    login(organiser)
    response = client.get("/sponsors/donations.csv")
    assert response.status_code == 200
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))
    assert rows[0][:3] == ["Receipt number", "Sponsor", "Kind of gift"]
    assert rows[1][:4] == ["530100-2024-00001", '\'=HYPERLINK("x")', "in kind", "'=1+1"]
    assert rows[1][-2:] == ["40.00", "60.00"]
    book = load_workbook(io.BytesIO(client.get("/sponsors/donations.xlsx").data))
    assert book.sheetnames == ["Donations", "Distributions"]
    assert book["Distributions"]["E2"].value == 40
    hand_outs = client.get("/sponsors/distributions.csv").get_data(as_text=True)
    assert "'=1+1" in hand_outs and "4000.00" in hand_outs
    assert client.get("/sponsors/donations.pdf").status_code == 404


def test_the_exports_are_in_the_readers_language(db, client, received, organiser, login):
    login(organiser)
    chinese = client.get("/sponsors/donations.csv", headers={"Accept-Language": "zh"})
    rows = list(csv.reader(io.StringIO(chinese.get_data(as_text=True).lstrip("\ufeff"))))
    assert rows[0][:2] == ["收据编号", "爱心单位"]
    assert rows[1][8] == "已接收"
