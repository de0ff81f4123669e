"""The README's screenshots, made by the browser tests' own server and browser.

Run only when asked:

    E2E_SCREENSHOTS=1 .venv/bin/pytest tests/e2e/test_screenshots.py

writes docs/screenshots/dashboard.png, month.png, recap.png and honour.png (desktop,
1280 × 800) and phone-checkin.png (a phone, 390 × 844), as PNGs reduced to a 256-colour
palette.
"""

from __future__ import annotations

import os
from datetime import datetime, time, timedelta
from pathlib import Path

import pytest

pytest.importorskip("playwright.sync_api", reason="the Python package playwright is missing")

from PIL import Image  # noqa: E402
from playwright.sync_api import Page, expect  # noqa: E402

from inclusive_day.demo.kunming import find_campaign  # noqa: E402
from inclusive_day.periods import DEFAULT_ZONE, local_today  # noqa: E402

from .support import ROOT  # noqa: E402

SCREENSHOTS = ROOT / "docs" / "screenshots"

pytestmark = pytest.mark.skipif(
    not os.environ.get("E2E_SCREENSHOTS"),
    reason="screenshots are made only when asked: E2E_SCREENSHOTS=1",
)


def save(page: Page, name: str) -> Path:
    """A screenshot of the window, palette-reduced (a UI has few colours) and optimised."""
    path = SCREENSHOTS / name
    path.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=path, animations="disabled", caret="hide")
    with Image.open(path) as shot:
        reduced = shot.convert("RGB").quantize(colors=256, method=Image.Quantize.MEDIANCUT)
    reduced.save(path, optimize=True)
    return path


def test_the_dashboard(browse, live):
    """Kunming's organiser in January 2024, the month of the Laba porridge day, with what is
    coming up in the current campaign."""
    for days, code, title, theme in (
        (2, "KM-GD-002", "普惠日·公益义剪进驿站", "haircut"),
        (3, "KM-WH-002", "普惠日·健康服务送到驿站", "health_check"),
        (5, "KM-PL-003", "普惠日·反诈宣讲进驿站", "anti_fraud"),
        (6, "KM-XS-002", "普惠日·爱心姜茶暖心送", "warming_drinks"),
    ):
        day = local_today() + timedelta(days=days)
        live.schedule(code, title, theme, datetime.combine(day, time(9, 30), DEFAULT_ZONE))
    page = browse.page("desktop", "kunming")
    page.goto("/?month=2024-01")
    expect(page.locator(".figure-value").first).to_be_visible()
    save(page, "dashboard.png")


def test_the_month_view(browse):
    """The calendar of January 2024 across Kunming."""
    page = browse.page("desktop", "kunming")
    page.goto("/activities/calendar?month=2024-01")
    expect(page.locator(".cal-item").first).to_be_visible()
    # Below the menu: the heading, the filters, the month and its first weeks.
    page.evaluate("window.scrollTo(0, document.querySelector('main').offsetTop)")
    save(page, "month.png")


def test_the_phone_check_in(browse, live):
    """A rider about to check in at a haircut day, on a phone."""
    on_the_hour = datetime.now(DEFAULT_ZONE).replace(minute=0, second=0, microsecond=0)
    activity = live.schedule("KM-GD-003", "普惠日·公益义剪进驿站", "haircut", on_the_hour)
    phone = browse.page("phone")
    phone.goto(f"/c/{activity.token}")
    phone.locator("label.ci-group", has_text="外卖骑手").tap()
    phone.get_by_label("手机号码").fill("138 7101 2024")
    phone.evaluate("document.activeElement.blur()")
    save(phone, "phone-checkin.png")


def _demo_campaign(live) -> int:
    with live.database():
        return find_campaign().id


def test_the_recap(browse, live):
    """The recap of the demo campaign across Kunming: its figures and the months' chart."""
    page = browse.page("desktop", "kunming")
    page.goto(f"/reports/recap?campaign={_demo_campaign(live)}")
    expect(page.locator(".figure-value").first).to_be_visible()
    page.evaluate("window.scrollTo(0, document.querySelector('main').offsetTop)")
    save(page, "recap.png")


def test_the_honour_roll(browse, live):
    """The public honour roll of the demo campaign, as anyone reads it."""
    page = browse.page("desktop")
    page.goto(f"/sponsors/honour/campaign/{_demo_campaign(live)}")
    expect(page.locator(".honour-list li").first).to_be_visible()
    save(page, "honour.png")
