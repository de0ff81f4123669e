"""Journeys through the app in a real browser, as organisers, workers and station staff make
them; each ends with what the page (or the database behind it) shows."""

from __future__ import annotations

import json
import re

import pytest

pytest.importorskip("playwright.sync_api", reason="the Python package playwright is missing")

from playwright.sync_api import expect  # noqa: E402
from sqlalchemy import func, select  # noqa: E402

from inclusive_day.activities.festivals import festival_date  # noqa: E402
from inclusive_day.attendance.models import (  # noqa: E402
    BeneficiaryGroup,
    CheckIn,
    Headcount,
    HeadcountChange,
    HeadcountSource,
)
from inclusive_day.campaigns.models import Campaign, Theme  # noqa: E402
from inclusive_day.demo.kunming import find_campaign  # noqa: E402
from inclusive_day.periods import Month, local_today  # noqa: E402
from inclusive_day.stations.models import Station, StationStatus  # noqa: E402
from inclusive_day.units.models import Unit  # noqa: E402

from .support import (  # noqa: E402
    fits_the_screen,
    pdf_text,
    short_id,
    sign_in,
    unique_phone,
    weekday_on_or_after,
)

SATURDAY = 5


# --- An organiser plans a series ---------------------------------------------------------------


def test_an_organiser_fans_a_series_out_over_stations_and_finds_it_in_the_month_view(page, live):
    """Guandu's organiser plans a haircut day at every station of one street, on two
    Saturdays two months ahead: the preview counts 3 stations × 2 dates, creating makes 6
    activities, and the month view shows three on each of the two Saturdays."""
    with live.database() as session:
        street = session.scalar(select(Unit).where(Unit.name == "吴井街道工会"))
        stations = session.scalars(
            select(Station.name)
            .join(Unit, Station.unit_id == Unit.id)
            .where(Unit.path.startswith(street.path), Station.status == StationStatus.ACTIVE)
        ).all()
        haircut = session.scalar(select(Theme.id).where(Theme.code == "haircut"))
    assert len(stations) == 3
    month = Month(local_today().year, local_today().month).shift(2)
    first = weekday_on_or_after(month.first_day, SATURDAY)
    second = first.replace(day=first.day + 7)
    title = f"普惠日·公益义剪进驿站 {short_id()}"

    sign_in(page, "guandu")
    page.goto("/activities/series/new")
    page.select_option("#campaign", str(live.campaign_id))
    page.select_option("#theme", str(haircut))
    page.fill("#title", title)
    page.fill("#starts_time", "09:00")
    page.fill("#ends_time", "11:30")
    page.get_by_label("某单位下所有运行中的驿站").check()
    page.select_option("#unit", str(street.id))
    # The form shows the fields of a weekly rule only once "every week" is chosen.
    expect(page.locator("#count")).to_be_hidden()
    page.select_option("#repeat", "weekly")
    expect(page.locator("#count")).to_be_visible()
    page.get_by_label("星期六").check()
    page.fill("#first", first.isoformat())
    page.fill("#count", "2")
    page.get_by_role("button", name="预览").click()

    preview = page.locator("#preview-panel")
    expect(preview.locator(".display-6")).to_have_text("6")
    expect(preview).to_contain_text("场活动：3 个驿站 × 2 个日期")
    for name in stations:
        expect(preview).to_contain_text(name)
    expect(preview).to_contain_text("这些时段没有驿站被占用。")
    page.get_by_role("button", name="创建活动").click()
    expect(page.get_by_role("alert").filter(has_text="已创建 6 场活动。")).to_be_visible()

    page.get_by_role("link", name="活动日历", exact=True).click()
    for _ in range(2):
        page.get_by_role("link", name="下个月").click()
    expect(page.locator(".calendar-period h2")).to_have_text(f"{month.year}年{month.month}月")
    for day in (first, second):
        cell = page.locator("td.cal-day:not(.is-outside)").filter(
            has=page.locator(".cal-date a", has_text=re.compile(rf"^{day.day}$"))
        )
        items = cell.locator(".cal-item", has_text=title)
        expect(items).to_have_count(3)
        for name in stations:
            expect(cell.locator(".cal-station", has_text=name)).to_have_count(1)
    expect(page.locator(".cal-item", has_text=title)).to_have_count(6)


def test_the_series_form_adds_a_festival_date_from_the_lunar_calendar(browse):
    """The button "Add the date" asks the server for the Lantern Festival of a year and adds
    the date to the list of dates, saying which festival and lunar day it is."""
    page = browse.page("desktop", "guandu")
    page.goto("/activities/series/new")
    page.fill("#dates", "2027-01-01")
    page.select_option("#festival", "lantern")
    page.fill("#festival-year", "2027")
    page.get_by_role("button", name="添加日期").click()
    lantern = festival_date("lantern", 2027).isoformat()
    expect(page.locator("#festival-result")).to_have_text(f"元宵节 {lantern} (正月十五)")
    expect(page.locator("#dates")).to_have_value(f"2027-01-01, {lantern}")


# --- A worker checks in on a phone -------------------------------------------------------------


def test_a_worker_checks_in_on_a_phone_and_a_second_scan_is_already_checked_in(phone, live):
    """A rider scans an activity's QR, picks a group, types a number and is checked in;
    scanning again with the same number is "already checked in" and stores nothing new."""
    activity = live.activity_now("KM-WH-001", "普惠日·公益义剪进驿站", "haircut")
    number = unique_phone()

    phone.goto(f"/c/{activity.token}")
    expect(phone.get_by_role("heading", level=1)).to_have_text(activity.title)
    expect(phone.locator(".ci-facts")).to_contain_text(activity.station_name)
    assert fits_the_screen(phone), "the check-in page is wider than the phone"
    phone.locator("label.ci-group", has_text="外卖骑手").tap()
    phone.get_by_label("手机号码").fill(number)
    phone.get_by_role("button", name="签到", exact=True).tap()

    expect(phone.locator(".ci-done-title")).to_have_text("签到成功")
    expect(phone.locator(".ci-done-facts")).to_contain_text("外卖骑手")
    expect(phone.locator(".ci-done-facts")).to_contain_text(activity.station_name)
    assert fits_the_screen(phone), "the confirmation is wider than the phone"

    phone.goto(f"/c/{activity.token}")  # the same person scans the same QR again
    expect(phone.get_by_label("外卖骑手")).to_be_checked()  # the group chosen last time
    phone.get_by_label("手机号码").fill(number)
    phone.get_by_role("button", name="签到", exact=True).tap()

    expect(phone.locator(".ci-done-title")).to_have_text("您已签到过")
    expect(phone.locator(".ci-done-card")).to_contain_text("未重复记录：每人只计一次。")
    with live.database() as session:
        stored = session.scalar(
            select(func.count(CheckIn.id)).where(CheckIn.activity_id == activity.id)
        )
    assert stored == 1


def test_a_door_scan_during_an_activity_counts_the_worker_for_it(phone, live):
    """A courier scans the station's door QR while an activity is on there: the visit is
    recorded and the activity lists them as checked in."""
    activity = live.activity_now("KM-PL-001", "普惠日·健康服务送到驿站", "health_check")

    phone.goto(f"/d/{activity.station_code}")
    expect(phone.get_by_role("heading", level=1)).to_have_text(activity.station_name)
    expect(phone.locator(".ci-on")).to_contain_text(activity.title)
    phone.locator("label.ci-group", has_text="快递员").tap()
    phone.get_by_label("手机号码").fill(unique_phone())
    phone.get_by_role("button", name="签到", exact=True).tap()

    expect(phone.locator(".ci-done-title")).to_have_text("到访已登记")
    counted = phone.locator(".ci-on").filter(has_text="同时计入以下活动")
    expect(counted).to_contain_text(activity.title)
    expect(counted).to_contain_text("签到成功")
    assert fits_the_screen(phone)


# --- Station staff tally offline ---------------------------------------------------------------


# Run in the tally page before its own script: the moment its service worker is ready
# (installed and active), note whether the page itself and each stylesheet and script it
# loads are in the worker's cache, whatever its version. (This callback on the `ready`
# promise runs before the page's own.)
KEPT_WHEN_READY = """window.keptWhenReady = navigator.serviceWorker.ready.then(async () => {
    const urls = [location.pathname, ...Array.from(
        document.querySelectorAll('link[rel="stylesheet"][href], script[src]'),
        el => el.getAttribute("href") || el.getAttribute("src"))];
    const names = (await caches.keys()).filter(name => name.startsWith("inclusive-day-tally-"));
    const caches_ = await Promise.all(names.map(name => caches.open(name)));
    const kept = {};
    for (const url of urls) {
        kept[url] = (await Promise.all(caches_.map(cache => cache.match(url)))).some(Boolean);
    }
    return kept;
});"""


# Resolves once a service worker controls the page (it is activated and has claimed it).
TAKEN_OVER = """() => navigator.serviceWorker.controller ? true : new Promise(resolve =>
    navigator.serviceWorker.addEventListener("controllerchange", () => resolve(true)))"""


def _tally_state(page, activity_id: int) -> dict:
    return json.loads(page.evaluate(f"localStorage.getItem('inclusive-day:tally:{activity_id}')"))


def _headcounts(live, activity_id: int) -> tuple[dict[str, int], int]:
    with live.database() as session:
        counts = dict(
            session.execute(
                select(Headcount.group, Headcount.count).where(Headcount.activity_id == activity_id)
            ).all()
        )
        changes = session.scalar(
            select(func.count(HeadcountChange.id)).where(
                HeadcountChange.activity_id == activity_id,
                HeadcountChange.source == HeadcountSource.TALLY,
            )
        )
    return {g.value: n for g, n in counts.items() if n}, changes


def test_station_staff_tally_with_the_network_off_and_the_counts_arrive_once(browse, live):
    """The station manager taps +1 on a phone with the network switched off: the taps stay
    on the phone and nothing reaches the server. Back online they sync; an answer lost on
    the way makes the phone send them again, and nothing counts twice."""
    activity = live.activity_now(
        live.station_user_station, "普惠日·爱心姜茶暖心送", "warming_drinks"
    )
    # The service worker is the next test's subject; without it the offline switch is exact.
    context = browse.context("phone", service_workers="block")
    page = context.new_page()
    sign_in(page, "station")
    page.goto(f"/activities/{activity.id}/tally")
    status, status_text = page.locator("#tally-status"), page.locator("#tally-status-text")
    expect(status).to_have_attribute("data-state", "synced")
    expect(status_text).to_have_text("计数已全部同步。")

    context.set_offline(True)
    served_before = len(live.requests)
    for group, taps in (("courier", 3), ("sanitation", 2)):
        for _ in range(taps):
            page.locator(f'.tally-button[data-group="{group}"]').tap()
    expect(status).to_have_attribute("data-state", "offline")
    expect(status_text).to_have_text("离线：5 次计数已保存在本机，网络恢复后自动同步。")
    expect(page.locator('[data-count="courier"]')).to_have_text("3")
    expect(page.locator('[data-count="sanitation"]')).to_have_text("2")
    expect(page.locator("#tally-total")).to_have_text("5")
    assert len(_tally_state(page, activity.id)["queue"]) == 5
    assert live.requests[served_before:] == [], "with the network off, nothing reaches the server"
    assert _headcounts(live, activity.id) == ({}, 0)

    # Back online, the first upload reaches the server but its answer is lost on the way back.
    answers = []

    def lose_the_answer(route):
        answers.append(route.fetch().json())
        route.abort("connectionreset")

    context.route(f"**/activities/{activity.id}/tally", lose_the_answer, times=1)
    context.set_offline(False)
    expect(status).to_have_attribute("data-state", "queued")  # the phone still holds them
    assert [a["accepted"] for a in answers] == [5]
    expected = {BeneficiaryGroup.COURIER.value: 3, BeneficiaryGroup.SANITATION.value: 2}
    assert _headcounts(live, activity.id) == (expected, 5)
    assert len(_tally_state(page, activity.id)["queue"]) == 5

    # The phone sends them again (as it does whenever the network comes back): the server
    # knows their nonces and counts nothing twice.
    context.set_offline(True)
    context.set_offline(False)
    expect(status).to_have_attribute("data-state", "synced")
    expect(status_text).to_have_text("计数已全部同步。")
    expect(page.locator('[data-count="courier"]')).to_have_text("3")
    expect(page.locator('[data-count="sanitation"]')).to_have_text("2")
    assert _tally_state(page, activity.id)["queue"] == []
    assert _headcounts(live, activity.id) == (expected, 5)
    page.reload()
    expect(page.locator('[data-count="courier"]')).to_have_text("3")
    expect(page.locator("#tally-total")).to_have_text("5")


def test_the_tally_reopens_with_no_network_right_after_it_first_opened(browse, live, unpluggable):
    """The tally's service worker keeps the page and everything it loads as it installs: the
    moment it is ready the network may go, and the staff reopen the page whole (its styles,
    its script counting taps), their taps are still there and more can be added, and they
    all arrive once the network is back."""
    activity = live.activity_now("KM-XS-003", "普惠日·送清凉 绿茶进驿站", "cooling_drinks")
    context = browse.context("phone", "admin", base_url=unpluggable.url)
    page = context.new_page()
    page.add_init_script(KEPT_WHEN_READY)
    page.goto(f"/activities/{activity.id}/tally")
    kept = page.evaluate("window.keptWhenReady")
    assert len(kept) >= 4 and all(kept.values()), f"not kept when the worker was ready: {kept}"
    expect(page.locator("#tally-status")).to_have_attribute("data-state", "synced")

    context.set_offline(True)
    unpluggable.unplug()  # and the server is out of reach, for the service worker too
    rider = page.locator('.tally-button[data-group="rider"]')
    rider.tap()
    rider.tap()
    expect(page.locator('[data-count="rider"]')).to_have_text("2")
    reopened = page.reload()
    assert reopened is not None and reopened.from_service_worker
    expect(page.get_by_role("heading", level=1)).to_have_text(activity.title)
    # The kept page says 0; only its script, back from the cache, shows the phone's taps.
    expect(page.locator('[data-count="rider"]')).to_have_text("2")
    expect(page.locator("#tally-total")).to_have_text("2")
    expect(page.locator(".tally-grid")).to_have_css("display", "grid")  # tally.css is there
    rider.tap()
    expect(page.locator('[data-count="rider"]')).to_have_text("3")
    expect(page.locator("#tally-status")).to_have_attribute("data-state", "offline")
    expect(page.locator("#tally-status-text")).to_contain_text("离线：3 次计数已保存在本机")
    assert _headcounts(live, activity.id) == ({}, 0)

    unpluggable.plug()
    context.set_offline(False)
    expect(page.locator("#tally-status")).to_have_attribute("data-state", "synced")
    expect(page.locator('[data-count="rider"]')).to_have_text("3")
    assert _headcounts(live, activity.id) == ({BeneficiaryGroup.RIDER.value: 3}, 3)


def test_a_new_version_of_the_tally_worker_replaces_the_older_cache_keeping_its_pages(browse, live):
    """A phone holds the cache of an older version of the tally's worker: the new one keeps
    the tally pages it held, fetches the assets afresh and deletes the older cache."""
    activity = live.activity_now("KM-XS-002", "普惠日·爱心礼包发放", "gift_bags")
    page = browse.context("phone", "admin").new_page()
    page.goto("/activities/calendar")  # the site, before any worker of the tally
    page.evaluate(
        """async () => {
            const old = await caches.open("inclusive-day-tally-v1");
            await old.put("/activities/999999/tally", new Response("<h1>kept offline</h1>"));
            await old.put("/static/js/tally.js", new Response("/* an older tally.js */"));
        }"""
    )
    page.goto(f"/activities/{activity.id}/tally")
    assert page.evaluate(TAKEN_OVER), "the new worker did not take over"
    held = page.evaluate(
        """async () => {
            const held = {};
            for (const name of await caches.keys()) {
                const cache = await caches.open(name);
                held[name] = {};
                for (const request of await cache.keys()) {
                    held[name][new URL(request.url).pathname] =
                        (await (await cache.match(request)).text()).slice(0, 40);
                }
            }
            return held;
        }"""
    )
    assert list(held) == ["inclusive-day-tally-v2"], held
    kept = held["inclusive-day-tally-v2"]
    assert kept["/activities/999999/tally"] == "<h1>kept offline</h1>"
    assert f"/activities/{activity.id}/tally" in kept
    assert "older" not in kept["/static/js/tally.js"]
    assert {"/static/css/tally.css", "/static/css/app.css"} <= set(kept)


# --- A sponsor gives ----------------------------------------------------------------------------


def _honour_roll(page, campaign_name: str):
    """Open the public honour roll of a campaign the way the public finds it; its list."""
    page.goto("/sponsors/honour")
    page.get_by_role("link", name=re.compile(re.escape(campaign_name))).click()
    heading = page.get_by_role("heading", level=1)
    expect(heading).to_contain_text("爱心榜")
    expect(heading).to_contain_text(campaign_name)
    return page.locator("ol.honour-list")


def test_a_sponsor_signs_up_pledges_a_gift_and_is_thanked_once_it_arrives(browse, live):
    """A water company signs up with the city union; Kunming's organiser approves it; its
    representative signs in, pledges 200 cases of water and sees the pledge on their own
    dashboard, while the public honour roll does not name them yet. The organiser confirms
    the gift arrived: the receipt PDF carries the number the page shows, and the honour roll
    now thanks the company for "爱心矿泉水 200箱"."""
    tag = short_id()
    name, username, password = (
        f"滇池爱心饮品有限公司{tag}",
        f"water-{tag}",
        f"dianchi lake spring {tag}",
    )
    gift = "爱心矿泉水 200箱"
    with live.database() as session:
        city_id = session.scalar(select(Unit.id).where(Unit.code == "530100"))
        campaign_name = session.get(Campaign, live.campaign_id).name

    # The company signs itself up on the public form.
    public = browse.page("desktop")
    public.goto("/sponsors/register")
    public.fill("#name", name)
    public.select_option("#unit", str(city_id))
    public.get_by_label("企业", exact=True).check()
    public.fill("#contact_name", "李经理")
    public.fill("#contact_phone", "0871-6300 0000")
    expect(public.get_by_label("在公开的爱心榜上展示我们的捐赠")).to_be_checked()
    public.fill("#username", username)
    public.fill("#password", password)
    public.fill("#confirm", password)
    public.get_by_role("button", name="报名").click()
    expect(public).to_have_url(re.compile(r"/sponsors/register/done"))
    expect(public.get_by_role("heading", level=1)).to_have_text("感谢您的报名")
    expect(public.locator("main")).to_contain_text("昆明市总工会")

    # The city's organiser finds the sign-up among the sponsors and approves it.
    organiser = browse.page("desktop", "kunming")
    organiser.goto("/sponsors/")
    organiser.get_by_role("link", name=name, exact=True).click()
    expect(organiser.get_by_role("heading", level=1)).to_contain_text("待审核")
    organiser.get_by_role("button", name="通过", exact=True).click()
    expect(organiser.get_by_role("alert")).to_contain_text(f"{name} 已审核通过，可以登录了。")
    expect(organiser.get_by_role("heading", level=1)).to_have_text(name)

    # The representative signs in, lands on their own page and pledges the water.
    sponsor = browse.page("desktop")
    sign_in(sponsor, username, password)
    expect(sponsor).to_have_url(re.compile(r"/sponsors/mine$"))
    expect(sponsor.get_by_role("heading", level=1)).to_have_text(name)
    sponsor.get_by_role("link", name="认捐", exact=True).click()
    expect(sponsor.get_by_role("heading", level=1)).to_have_text("认捐")
    sponsor.get_by_label("实物", exact=True).check()
    sponsor.fill("#description", "爱心矿泉水")
    sponsor.fill("#quantity", "200")
    sponsor.fill("#unit_label", "箱")
    sponsor.fill("#unit_value", "30")
    sponsor.select_option("#campaign", str(live.campaign_id))
    sponsor.fill("#pledged_on", local_today().isoformat())
    sponsor.get_by_role("button", name="认捐", exact=True).click()
    expect(sponsor.get_by_role("alert")).to_contain_text("感谢您的爱心，认捐已登记。")
    expect(sponsor).to_have_url(re.compile(r"/sponsors/donations/\d+$"))
    donation_url = sponsor.url
    expect(sponsor.get_by_role("heading", level=1)).to_have_text(f"{gift} 认捐")

    # Their dashboard (where / leads a sponsor) lists it as pledged.
    sponsor.goto("/")
    expect(sponsor).to_have_url(re.compile(r"/sponsors/mine$"))
    row = sponsor.locator("tbody tr").filter(has_text=gift)
    expect(row).to_have_count(1)
    expect(row.locator(".badge")).to_have_text("认捐")
    expect(row).to_contain_text(campaign_name)
    expect(row).to_contain_text("6,000")

    # A pledge is not thanked in public yet.
    _honour_roll(public, campaign_name)
    expect(public.locator("main")).not_to_contain_text(name)

    # The organiser confirms the water arrived; the receipt is numbered and downloadable.
    organiser.goto(donation_url)
    organiser.fill("#received_on", local_today().isoformat())
    organiser.get_by_role("button", name="确认接收").click()
    expect(organiser.get_by_role("alert")).to_contain_text("已确认接收，收据")
    number = organiser.locator("dt", has_text="收据编号").locator("+ dd")
    expect(number).not_to_be_empty()
    receipt_number = number.inner_text().strip()
    expect(organiser.get_by_role("alert")).to_contain_text(receipt_number)
    expect(organiser.get_by_role("heading", level=1)).to_have_text(f"{gift} 已接收")
    link = organiser.get_by_role("link", name="收据（PDF）")
    expect(link).to_be_visible()
    response = organiser.request.get(link.get_attribute("href"))
    assert response.ok and response.headers["content-type"] == "application/pdf"
    receipt = pdf_text(response.body())
    assert receipt_number in receipt, receipt
    assert name in receipt and "爱心矿泉水" in receipt

    # Now the public honour roll names the company and what it gave.
    roll = _honour_roll(public, campaign_name)
    thanked = roll.locator("li.card").filter(has=public.get_by_role("heading", name=name))
    expect(thanked).to_have_count(1)
    expect(thanked.locator("ul li")).to_have_text([gift])
    expect(thanked).to_contain_text("¥6,000")


# --- An organiser reports -----------------------------------------------------------------------


def test_an_organiser_downloads_the_recap_pdf_and_it_holds_the_figures_the_dashboard_shows(
    browse, live
):
    """Kunming's organiser reads the demo campaign's line on the dashboard (activities held,
    served, people), opens its recap, which shows the same figures, and downloads the recap
    as a PDF in Chinese: its text holds them too, as the dashboard writes them."""
    with live.database():
        demo = find_campaign()
        demo_id, demo_name = demo.id, demo.name
    page = browse.page("desktop", "kunming")
    page.goto("/")
    row = page.locator("tbody tr").filter(has=page.get_by_role("link", name=demo_name, exact=True))
    expect(row).to_have_count(1)
    figures = [text.strip() for text in row.locator("td.text-end").all_inner_texts()]
    # The demo as it is loaded (the journeys plan in a campaign of their own): held, planned,
    # served, people checked in by QR.
    assert figures == ["256", "0", "76,800", "6,145"]
    activities, _planned, served, people = figures

    row.locator(f'a[href$="/reports/recap?campaign={demo_id}"]').click()
    expect(page).to_have_url(re.compile(rf"/reports/recap\?campaign={demo_id}$"))
    expect(page.get_by_role("heading", level=1)).to_contain_text("昆明市总工会")
    expect(page.locator(".figure-value").nth(0)).to_have_text(activities)
    expect(page.locator(".figure-value").nth(1)).to_have_text(served)
    expect(page.locator(".figure-value").nth(2)).to_have_text(people)

    link = page.locator('a[href*="/reports/recap.pdf"][href*="lang=zh"]')
    expect(link).to_have_count(1)
    response = page.request.get(link.get_attribute("href"))
    assert response.ok and response.headers["content-type"] == "application/pdf"
    text = pdf_text(response.body())
    assert demo_name in text and "昆明市总工会" in text
    for figure in (activities, served, people):
        assert re.search(rf"(?<![\d,]){re.escape(figure)}(?![\d,])", text), figure
    # The headline figures, or the totals of a table, hold activities and served on one line.
    assert re.search(rf"(?m)^.*\b{activities}\b.*\b{re.escape(served)}\b", text), text[:2000]


# --- Switching language ------------------------------------------------------------------------


def test_switching_language_turns_the_same_pages_from_chinese_to_english(page, live):
    """A browser asking for Chinese gets Chinese; "English" turns the same page English and
    the choice stays for the next pages, until "中文" turns them back."""
    page.goto("/auth/login")
    expect(page.locator("html")).to_have_attribute("lang", "zh-CN")
    expect(page.get_by_role("heading", level=1)).to_have_text("登录")
    page.get_by_role("button", name="English").click()
    expect(page).to_have_url(re.compile(r"/auth/login$"))
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.get_by_role("heading", level=1)).to_have_text("Sign in")

    sign_in(page, "viewer")  # whose choice of language (kept with the user) no other test minds
    expect(page.get_by_role("heading", level=1)).to_have_text("Dashboard")
    page.get_by_role("link", name="Calendar", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Activity calendar")
    calendar_url = page.url

    page.get_by_role("button", name="中文").click()
    expect(page).to_have_url(calendar_url)
    expect(page.locator("html")).to_have_attribute("lang", "zh-CN")
    expect(page.get_by_role("heading", level=1)).to_have_text("活动日历")
    page.get_by_role("link", name="工作台", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("工作台")


def test_a_worker_switches_the_check_in_page_to_english_on_a_phone(phone, live):
    """The check-in page carries its own language switch (the menu is folded on a phone)."""
    activity = live.activity_now("KM-XS-001", "普惠日·反诈宣讲进驿站", "anti_fraud")
    phone.goto(f"/c/{activity.token}")
    expect(phone.locator(".ci-kicker")).to_have_text("签到")
    expect(phone.locator(".ci-form legend")).to_contain_text("我是……")
    phone.get_by_role("button", name="English").tap()
    expect(phone).to_have_url(re.compile(rf"/c/{activity.token}$"))
    expect(phone.locator(".ci-kicker")).to_have_text("Check in")
    expect(phone.locator(".ci-form legend")).to_contain_text("I am a…")
    expect(phone.locator("label.ci-group", has_text="delivery rider")).to_be_visible()
    expect(phone.get_by_role("heading", level=1)).to_have_text(activity.title)
