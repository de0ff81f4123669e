"""axe-core on the main pages in Chromium: no serious or critical violation.

Each page is checked as its users meet it: organisers', sponsors' and the public's pages on a
desktop, the check-in and tally pages on a phone, all in Chinese (the interface's own
language). Moderate and minor findings are printed with the test's output but do not fail it.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest

pytest.importorskip("playwright.sync_api", reason="the Python package playwright is missing")

from playwright.sync_api import Page, expect  # noqa: E402
from sqlalchemy import select  # noqa: E402

from inclusive_day.activities.models import Activity, Series  # noqa: E402
from inclusive_day.demo.kunming import find_campaign  # noqa: E402
from inclusive_day.sponsors.models import Donation, DonationStatus, Sponsor  # noqa: E402
from inclusive_day.stations.models import Station  # noqa: E402

from .support import (  # noqa: E402
    AXE_SCRIPT,
    FAILING_IMPACTS,
    axe_violations,
    describe,
    unique_phone,
)


@pytest.fixture(scope="module", autouse=True)
def _axe_installed():
    if not AXE_SCRIPT.exists():
        pytest.skip(f"axe-core is not installed ({AXE_SCRIPT}): run `make setup` (npm ci)")


@dataclass(frozen=True)
class Ids:
    """Records of the demo the pages show."""

    campaign: int
    laba_activity: int
    laba_series: int
    station: int
    station_code: str
    sponsor: int  # the one the demo's `sponsor` user represents, with a gift handed out
    received_donation: int  # its gift, received and partly handed out
    pledged_donation: int  # a gift pledged, not yet received


@pytest.fixture(scope="module")
def ids(live) -> Ids:
    with live.database() as session:
        campaign = find_campaign()
        series = session.scalar(select(Series).order_by(Series.id))
        activity = session.scalar(
            select(Activity).where(Activity.series_id == series.id).order_by(Activity.id)
        )
        station = session.scalar(select(Station).where(Station.code == live.station_user_station))
        sponsor = session.scalar(select(Sponsor).where(Sponsor.name == "中国石化云南石油分公司"))
        received = session.scalar(select(Donation.id).where(Donation.sponsor_id == sponsor.id))
        pledged = session.scalar(
            select(Donation.id)
            .where(Donation.status == DonationStatus.PLEDGED)
            .order_by(Donation.id)
        )
        return Ids(
            campaign.id,
            activity.id,
            series.id,
            station.id,
            station.code,
            sponsor.id,
            received,
            pledged,
        )


def check(page: Page) -> None:
    """Fail on serious or critical violations; print the rest."""
    found = axe_violations(page)
    failing = [v for v in found if v["impact"] in FAILING_IMPACTS]
    others = [v for v in found if v["impact"] not in FAILING_IMPACTS]
    if others:
        print(f"axe, not failing, on {page.url}:\n{describe(others)}")
    assert not failing, f"axe on {page.url}:\n{describe(failing)}"


# (name, who signs in or None, the path from the demo's ids)
DESKTOP_PAGES = [
    ("login", None, lambda ids: "/auth/login"),
    ("directory", None, lambda ids: "/directory/"),
    ("directory station", None, lambda ids: f"/directory/stations/{ids.station_code}"),
    ("dashboard", "kunming", lambda ids: "/?month=2024-01"),
    ("stations", "kunming", lambda ids: "/stations/"),
    ("union tree", "kunming", lambda ids: "/units/"),
    ("campaigns", "kunming", lambda ids: "/campaigns/"),
    ("campaign", "kunming", lambda ids: f"/campaigns/{ids.campaign}"),
    ("calendar month", "kunming", lambda ids: "/activities/calendar?month=2024-01"),
    ("calendar week", "kunming", lambda ids: "/activities/calendar/week?week=2024-01-15"),
    ("activity", "kunming", lambda ids: f"/activities/{ids.laba_activity}"),
    ("series", "kunming", lambda ids: f"/activities/series/{ids.laba_series}"),
    ("series form", "guandu", lambda ids: "/activities/series/new"),
    ("attendance", "station", lambda ids: f"/activities/{ids.laba_activity}/attendance"),
    ("sponsor sign-up", None, lambda ids: "/sponsors/register"),
    ("honour rolls", None, lambda ids: "/sponsors/honour"),
    ("campaign honour roll", None, lambda ids: f"/sponsors/honour/campaign/{ids.campaign}"),
    ("sponsors", "kunming", lambda ids: "/sponsors/"),
    ("sponsor", "kunming", lambda ids: f"/sponsors/{ids.sponsor}"),
    ("donation received", "kunming", lambda ids: f"/sponsors/donations/{ids.received_donation}"),
    ("donation pledged", "kunming", lambda ids: f"/sponsors/donations/{ids.pledged_donation}"),
    ("sponsor's own page", "sponsor", lambda ids: "/sponsors/mine"),
    ("pledge form", "sponsor", lambda ids: f"/sponsors/{ids.sponsor}/donations/new"),
    ("recap", "kunming", lambda ids: f"/reports/recap?campaign={ids.campaign}"),
    ("league table", "kunming", lambda ids: "/reports/league?month=2024-01"),
]


@pytest.mark.parametrize(
    ("who", "path"),
    [pytest.param(who, path, id=name) for name, who, path in DESKTOP_PAGES],
)
def test_a_desktop_page_has_no_serious_accessibility_violation(browse, ids, who, path):
    page = browse.page("desktop", who)
    page.goto(path(ids))
    expect(page.locator("main h1").first).to_be_visible()
    check(page)


def test_the_phone_check_in_pages_have_no_serious_accessibility_violation(phone, live):
    activity = live.activity_now("KM-CG-001", "普惠日·送清凉 绿茶进驿站", "cooling_drinks")
    phone.goto(f"/c/{activity.token}")
    expect(phone.get_by_role("heading", level=1)).to_have_text(activity.title)
    check(phone)
    phone.locator("label.ci-group", has_text="环卫工人").tap()
    phone.get_by_label("手机号码").fill(unique_phone())
    phone.get_by_role("button", name="签到", exact=True).tap()
    expect(phone.locator(".ci-done-title")).to_have_text("签到成功")
    check(phone)


def test_the_phone_check_in_form_with_errors_has_no_serious_accessibility_violation(phone, live):
    activity = live.activity_now("KM-KF-001", "普惠日·法律援助进驿站", "legal_aid")
    phone.goto(f"/c/{activity.token}")
    phone.get_by_role("button", name="签到", exact=True).tap()
    expect(phone.locator(".ci-error").first).to_be_visible()
    check(phone)


def test_the_tally_has_no_serious_accessibility_violation(browse, live):
    activity = live.activity_now(live.station_user_station, "普惠日·爱心礼包发放", "gift_bags")
    phone = browse.page("phone", "station")
    phone.goto(f"/activities/{activity.id}/tally")
    expect(phone.locator("#tally-status")).to_have_attribute("data-state", "synced")
    check(phone)
