"""The synthetic province (`flask demo province`): the data reports are measured on at scale.

One province union over 16 cities, their districts and counties, streets and towns,
communities and villages; stations spread unevenly over them (most at streets and
communities); one province-wide Inclusive Day campaign over twelve months with targets handed
down to the cities and districts; activities at the stations through the year; headcounts
and QR check-ins by people who come back again and again; sponsors with their donations,
receipts and hand-outs at activities; a construction year (demo.network): the stations'
lifecycle days, host types, partners and labels, a construction target handed down to the
cities, coverage goals and a funds ledger, with Anhui's figures at the full size; and the
stations' running (demo.traffic, demo.roster): a year of door traffic (Shanxi's 2.23 million
person-times at the full size) with some workers' feedback, station masters and assistants,
their training (Shanxi's "more than 200 administrators trained") and their duty shifts.

Decisions:
- The province's code is 990000: no real province uses 99, so it never clashes with real
  units such as the Kunming demo's. A database holds at most one synthetic province:
  `build_province` refuses (ProvinceExists) before writing anything if the code is taken.
- The campaign runs over the twelve months that end with the current month, so most
  activities have been held and the last few weeks' are still planned; attendance is
  recorded for held activities only. Pass `today` to pin the dates.
- The same seed (and the same `today`) gives the same data; identities are the app's keyed
  hashes of synthetic phone numbers, so they depend on the app's secret too.
- Rows go in with explicit ids in bulk (see demo.bulk): binary COPY on PostgreSQL, with the
  big tables' foreign keys dropped during the load and added back (checked) at the end, and
  the indexes of the millions of check-ins, door visits and duty shifts built once they are
  in; batched executemany on SQLite. Sequences are moved on, then the tables are vacuumed and
  analysed. On PostgreSQL the load locks the tables it fills, and those their keys point to
  (users, themes, series), until it commits: run it when nobody is using the app.
"""

from __future__ import annotations

import gc
import math
import random
import time as clock
import uuid
from bisect import bisect_left, bisect_right
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from itertools import accumulate, repeat

from sqlalchemy import select

from inclusive_day.activities.festivals import FestivalError, festival_date
from inclusive_day.activities.models import Activity, new_checkin_token
from inclusive_day.attendance.identity import app_identity_key, person_key
from inclusive_day.attendance.models import (
    BeneficiaryGroup,
    CheckIn,
    Feedback,
    Headcount,
    StationVisit,
)
from inclusive_day.campaigns.models import Campaign, CampaignTarget, Theme
from inclusive_day.construction.models import ConstructionTarget, CoverageGoal
from inclusive_day.demo.bulk import BulkWriter, analyse
from inclusive_day.demo.kunming import AMENITY_ZH, PROFILES, THEME_SIZE
from inclusive_day.demo.network import (
    KIND_HOSTS,
    ConstructionFigures,
    Network,
    catalogue_ids,
    construction_figures,
    construction_plan,
    own_host,
    round_target,
)
from inclusive_day.demo.people import MOBILE_PREFIXES, identity_hasher, mobile
from inclusive_day.demo.places import Names
from inclusive_day.demo.roster import RosterSummary, generate_roster
from inclusive_day.demo.shares import apportion
from inclusive_day.demo.traffic import TrafficSummary, generate_door_traffic
from inclusive_day.extensions import db
from inclusive_day.funds.models import FundLine
from inclusive_day.periods import DEFAULT_ZONE, add_months, local_today
from inclusive_day.sponsors.models import Distribution, Donation, ReceiptCounter, Sponsor
from inclusive_day.staffing.models import DutyShift, StationAdmin, Training
from inclusive_day.stations.models import (
    Amenity,
    HostType,
    LabelAward,
    Partner,
    Station,
    StationAmenity,
    StationPartner,
)
from inclusive_day.units.models import Unit

ROOT_CODE = "990000"
ZONE = DEFAULT_ZONE
DAY = 86_400
HOUR = 3_600

# The tree's shape: 16 cities (the capital first and largest), ~8 districts and counties each.
CITIES = 16
# Stations by the level of the unit that runs them.
STATION_LEVELS = {"city": 0.03, "district": 0.14, "street": 0.33, "community": 0.50}
# Where the province lies (WGS-84): latitude and longitude ranges.
BOX = (24.6, 29.4, 108.8, 114.2)

G = BeneficiaryGroup
GROUPS = tuple(G)
PROFILE_NAMES = ("general", "police", "riders", "outdoor", "drivers", "elderly")
PROFILE_WEIGHTS = {
    **PROFILES,
    "elderly": {G.ELDERLY: 60, G.SANITATION: 20, G.OTHER: 20},
}
# Each profile's share of every group, in the order of GROUPS.
PROFILE_SHARES = [[PROFILE_WEIGHTS[name].get(g, 0) for g in GROUPS] for name in PROFILE_NAMES]
PROFILE_GROUPS = {
    "general": "",
    "police": "police",
    "riders": "rider,courier",
    "outdoor": "sanitation,construction,courier,rider",
    "drivers": "driver",
    "elderly": "elderly",
}
# On average each person checks in this many times over the year (regulars more often).
REPEAT_VISITS = 3.0
ANNULLED_SHARE = 0.004
# How check-ins arrive: mostly the QR page, some scanners, a few paper sheets typed in.
SOURCES = ("qr",) * 16 + ("api",) * 3 + ("paper",)
ANNUL_REASONS = ("误扫：非服务对象", "同一人重复登记", "工作人员测试扫码", "扫错活动")
CANCELLED_SHARE = 0.025
CANCEL_REASONS = (
    "天气原因（暴雨预警），活动取消",
    "高温红色预警，活动顺延",
    "场地临时调整",
    "与上级检查时间冲突",
    "志愿者人手不足",
)

# --- Stations ----------------------------------------------------------------------------

OPENING_HOURS = (
    "08:00-20:00",
    "08:30-18:00",
    "09:00-21:00",
    "07:30-19:30",
    "08:00-12:00, 14:00-18:00",
    "09:00-17:30",
)
BASE_AMENITIES = (Amenity.WATER, Amenity.CHARGING, Amenity.SEATS)
EXTRA_AMENITIES = tuple(a for a in Amenity if a not in BASE_AMENITIES)
# Stations run with a partner: (name pattern, partners, kind, weight). {place} is the unit's
# place name, {road} a road near it.
PARTNER_STATIONS = (
    ("中国石化{road}加油站工会驿站", ("中国石化",), "petrol", 8),
    ("中国石油{road}加油站工会驿站", ("中国石油",), "petrol", 5),
    ("{bank}{place}支行工会驿站", ("中国建设银行", "中国工商银行", "中国农业银行"), "bank", 8),
    ("中国电信{place}营业厅爱心翼站", ("中国电信",), "telecom", 5),
    ("中国移动{place}营业厅工会驿站", ("中国移动",), "telecom", 4),
    ("中国邮政{place}支局工会驿站", ("中国邮政",), "courier", 3),
    ("顺丰速运{place}营业部工会驿站", ("顺丰速运",), "courier", 3),
    ("{place}骑手之家工会驿站", ("美团", "饿了么"), "riders", 5),
    ("{place}环卫工人驿站", ("",), "sanitation", 5),
    ("{place}社区卫生服务中心工会驿站", ("",), "clinic", 3),
)
# (name pattern, kind, host type) of the stations districts and cities run themselves.
DISTRICT_STATIONS = (
    ("{place}职工服务中心工会驿站", "own", "party_mass_centre"),
    ("{place}骑手之家工会驿站", "riders", "express_site"),
    ("{place}环卫工人之家", "sanitation", "cabin"),
    ("{place}新就业形态劳动者服务站", "riders", "express_site"),
    ("{place}人民广场工会驿站", "own", "park"),
)
CITY_STATIONS = (
    ("{place}工人文化宫工会驿站", "own", "other"),
    ("{place}火车站工会驿站", "own", "cabin"),
    ("{place}汽车客运站工会驿站", "drivers", "cabin"),
    ("{place}骑手之家工会驿站", "riders", "express_site"),
    ("{place}市民服务中心工会驿站", "own", "party_mass_centre"),
)
LEVEL_ACTIVITY = {"city": 2.5, "district": 1.8, "street": 1.2, "community": 0.8}
KIND_ACTIVITY = {"petrol": 0.7, "bank": 0.6, "telecom": 0.7, "riders": 1.3, "clinic": 0.9}
LEVEL_CROWD = {"city": 1.6, "district": 1.4, "street": 1.1, "community": 0.9}

# --- Activities --------------------------------------------------------------------------

# The slots of a day (local time): (possible starts in minutes, possible lengths, share).
SLOTS = (
    ((510, 540, 570, 600), (120, 150), 0.54),
    ((840, 870, 900, 930), (120, 150, 180), 0.42),
    ((1140, 1170), (90, 120), 0.04),
)
BRANDS = ("工会驿站普惠日·", "普惠日·", "")
# Themes whose activities often take a limited number of people.
LIMITED_THEMES = ("haircut", "health_check", "legal_aid", "handicraft")
# code: (base weight, titles, descriptions)
THEMES = {
    "haircut": (
        14,
        ("公益义剪", "义剪进驿站", "爱心义剪 情暖劳动者"),
        ("爱心理发师志愿者定期到驿站，为户外劳动者免费理发。",),
    ),
    "health_check": (
        14,
        ("健康义诊", "免费健康体检", "健康服务进驿站"),
        ("医护志愿者为户外劳动者测血压、测血糖，提供健康咨询和中医推拿。",),
    ),
    "anti_fraud": (
        9,
        ("反诈宣讲进驿站", "守护钱袋子 反诈知识讲座"),
        ("民警和通信公司志愿者讲解常见电信网络诈骗手法，发放宣传手册。",),
    ),
    "legal_aid": (
        7,
        ("法律援助咨询", "工会律师进驿站"),
        ("工会律师为户外劳动者解答欠薪、工伤、劳动合同等问题。",),
    ),
    "knowledge_quiz": (
        7,
        ("工会驿站有奖知识问答", "安全生产知识竞答"),
        ("围绕工会知识、交通安全和劳动法规开展有奖问答。",),
    ),
    "handicraft": (5, ("手工DIY体验", "巧手编织 暖心手作"), ("组织户外劳动者动手制作手工作品。",)),
    "performance": (
        3,
        ("文艺演出进驿站", "送文化到基层"),
        ("文艺志愿者走进驿站，为户外劳动者送上文艺节目。",),
    ),
    "gift_bags": (
        10,
        ("爱心礼包发放", "送温暖慰问"),
        ("为户外劳动者发放毛巾、雨衣、保温杯等爱心礼包。",),
    ),
    "festival_food": (
        5,
        ("爱心午餐", "暖心便当"),
        ("驿站为户外劳动者准备热乎的饭菜。",),
    ),
    "spring_couplets": (
        0,
        ("翰墨送福写春联", "送春联送祝福"),
        ("书法志愿者现场书写春联和福字，送给户外劳动者。",),
    ),
    "cooling_drinks": (
        0,
        ("夏送清凉", "高温送清凉 绿茶解暑"),
        ("高温时节，驿站为户外劳动者送上绿豆汤、绿茶和防暑药品。",),
    ),
    "warming_drinks": (
        0,
        ("冬日暖心姜茶", "冬饮姜茶 热饮暖心"),
        ("寒冬时节，驿站为户外劳动者熬煮姜茶，送上热饮。",),
    ),
}
# Festivals that bring their own food and gifts: (name, food title, food description).
FESTIVALS = {
    "spring_festival": (
        "春节",
        "提前吃顿年夜饭",
        "春节前夕，驿站为坚守岗位的户外劳动者准备年夜饭。",
    ),
    "lantern": ("元宵节", "元宵节送汤圆送祝福", "元宵佳节，驿站为户外劳动者送上热腾腾的汤圆。"),
    "dragon_boat": ("端午节", "端午粽香暖人心", "端午节前，驿站为户外劳动者送上粽子和咸鸭蛋。"),
    "mid_autumn": ("中秋节", "中秋月饼送关爱", "中秋佳节，驿站为户外劳动者送上月饼和水果。"),
    "laba": ("腊八节", "腊八粥暖心送", "腊八节当天，驿站熬煮腊八粥，为户外劳动者送上温暖。"),
    "dongzhi": ("冬至", "冬至饺子暖人心", "冬至时节，驿站组织包饺子，请户外劳动者吃上热饺子。"),
    "double_ninth": ("重阳节", "重阳敬老暖心宴", "重阳节，驿站邀请辖区老人和环卫工人共度佳节。"),
    "labour_day": (
        "劳动节",
        "五一劳动节爱心午餐",
        "五一劳动节，驿站为节日坚守岗位的劳动者送上午餐。",
    ),
    "national_day": (
        "国庆节",
        "国庆坚守岗位爱心餐",
        "国庆假期，驿站为坚守岗位的劳动者送上爱心餐。",
    ),
}
FESTIVAL_DAYS_BEFORE = 4

# --- Sponsors ----------------------------------------------------------------------------

# (description, unit label, unit value range in yuan, quantity range)
GOODS = (
    ("爱心礼包", "份", (50, 120), (100, 2000)),
    ("矿泉水", "箱", (30, 45), (50, 800)),
    ("绿茶饮料", "箱", (40, 60), (50, 600)),
    ("防暑降温包", "份", (25, 40), (200, 3000)),
    ("姜茶冲剂", "箱", (60, 90), (30, 300)),
    ("汤圆", "袋", (12, 20), (200, 2000)),
    ("月饼", "盒", (60, 150), (100, 1500)),
    ("粽子", "盒", (40, 80), (100, 1500)),
    ("棉手套", "双", (8, 15), (200, 3000)),
    ("雨衣", "件", (25, 50), (100, 1500)),
    ("反光马甲", "件", (15, 30), (100, 2000)),
    ("保温杯", "个", (30, 60), (100, 1000)),
    ("大米", "袋", (50, 80), (50, 600)),
    ("食用油", "桶", (60, 90), (50, 600)),
    ("春联福字套装", "套", (10, 20), (200, 3000)),
    ("急救药箱", "个", (80, 150), (20, 300)),
    ("送水券（每本面值100元）", "本", (100, 100), (50, 1000)),
)
SERVICES = (
    ("公益义剪", "场", (0, 0), (10, 60)),
    ("免费健康体检", "人次", (100, 300), (50, 500)),
    ("法律咨询进驿站", "场", (500, 1000), (5, 40)),
    ("反诈宣讲进工会驿站", "场", (0, 1000), (5, 40)),
    ("文艺演出", "场", (2000, 8000), (2, 12)),
    ("免费洗车", "次", (30, 30), (100, 1000)),
    ("中医推拿义诊", "场", (0, 800), (5, 30)),
)
ENTERPRISES = (
    "中国石化{city}石油分公司",
    "中国石油{city}销售分公司",
    "中国建设银行{city}分行",
    "中国工商银行{city}分行",
    "中国电信{city}分公司",
    "中国移动{city}分公司",
    "美团{city}配送站",
    "顺丰速运{city}分公司",
    "{place}{brand}超市",
    "{place}{brand}医院",
    "{place}{brand}口腔医院",
    "{place}{brand}建工集团有限公司",
    "{place}{brand}物流有限公司",
    "{place}{brand}餐饮管理有限公司",
    "{place}{brand}医药连锁有限公司",
    "{place}{brand}食品有限公司",
    "{place}{brand}汽车服务有限公司",
)
CHARITIES = ("{city}市慈善总会", "{place}慈善会", "{place}{brand}公益基金会", "{place}红十字会")
VOLUNTEERS = (
    "{place}{brand}义剪志愿服务队",
    "{place}医护志愿服务队",
    "{place}{brand}青年志愿者协会",
    "{place}律师志愿服务团",
)
SPONSOR_KINDS = (("enterprise", 70), ("charity", 8), ("volunteer_team", 12), ("individual", 10))
CONTACT_TITLES = {
    "enterprise": ("经理", "主任", "总监", "店长"),
    "charity": ("秘书长", "会长"),
    "volunteer_team": ("队长",),
    "individual": ("",),
}
GIFT_KINDS = {
    "enterprise": (("in_kind", 55), ("cash", 25), ("service", 20)),
    "charity": (("cash", 80), ("in_kind", 20)),
    "volunteer_team": (("service", 100),),
    "individual": (("cash", 70), ("in_kind", 30)),
}
CENT = Decimal("0.01")


class ProvinceExists(ValueError):
    """The database already holds the synthetic province; nothing was written."""


@dataclass(frozen=True)
class ProvinceSummary:
    """What `build_province` made: the root unit and campaign, the row counts and the time."""

    unit_id: int
    campaign_id: int
    units: int
    stations: int
    activities: int
    cancelled: int
    checkins: int
    annulled: int
    people: int
    served: int
    headcount_rows: int
    targets: int
    sponsors: int
    donations: int
    distributions: int
    partners: int
    label_awards: int
    construction_targets: int
    coverage_goals: int
    fund_lines: int
    # The stations' running: door traffic and feedback; administrators, training and duty.
    traffic: TrafficSummary
    roster: RosterSummary
    # The construction year's figures, counted back from the database after the commit.
    construction: ConstructionFigures
    seconds: float
    # Seconds per step of the build, in order, for benches and profiling.
    phases: tuple[tuple[str, float], ...] = ()

    def line(self) -> str:
        """The summary the command prints: what was written, the stations' running, then the
        construction year."""
        return (
            f"Built the synthetic province (unit {self.unit_id}, code {ROOT_CODE}, campaign"
            f" {self.campaign_id}): {self.units:,} units, {self.stations:,} stations,"
            f" {self.activities:,} activities ({self.cancelled:,} cancelled),"
            f" {self.checkins:,} check-ins ({self.annulled:,} annulled, {self.people:,} people),"
            f" {self.headcount_rows:,} headcount rows, {self.served:,} served,"
            f" {self.targets:,} targets, {self.sponsors:,} sponsors, {self.donations:,} donations,"
            f" {self.distributions:,} distributions, {self.partners:,} partners,"
            f" {self.label_awards:,} label awards, {self.construction_targets:,} construction"
            f" targets, {self.coverage_goals:,} coverage goals, {self.fund_lines:,} fund lines"
            f" in {self.seconds:.1f} s.\n{self.running_line()}\n{self.construction.line()}"
        )

    def running_line(self) -> str:
        """The stations' running: door traffic, feedback, administrators, training, duty."""
        t, r = self.traffic, self.roster
        return (
            f"Running the stations from {t.first_day} to {t.last_day}: {t.visits:,} door visits"
            f" by {t.visitors:,} visitors ({t.silent:,} stations silent for weeks),"
            f" {t.feedback:,} ratings and comments; {r.masters:,} station masters"
            f" ({r.without_master:,} open stations without one), {r.assistants:,} assistants,"
            f" {r.former:,} who left; {r.trainings:,} training records ({r.trained:,}"
            f" administrators trained); {r.shifts:,} duty shifts, {r.on_duty:,} on duty now."
        )


def find_province() -> Unit | None:
    """The synthetic province's root unit, if this database holds one."""
    return db.session.scalar(select(Unit).where(Unit.code == ROOT_CODE))


def build_province(
    *,
    stations: int = 11_000,
    activities: int = 100_000,
    checkins: int = 2_230_000,
    visits: int = 2_230_000,
    seed: int = 1,
    echo: Callable[[str], object] = print,
    today: date | None = None,
) -> ProvinceSummary:
    """Build the synthetic province in bulk and commit; refuse if it is already there."""
    if stations < 1 or activities < 0 or checkins < 0 or visits < 0:
        raise ValueError(
            "stations must be at least 1; activities, check-ins and visits not negative"
        )
    started = clock.perf_counter()
    writer = BulkWriter(db.session)
    writer.lock(LOADED_TABLES)
    existing = find_province()
    if existing is not None:
        db.session.rollback()
        raise ProvinceExists(
            f"The synthetic province (unit {existing.id}, code {ROOT_CODE}) is already in"
            " this database; nothing was written."
        )
    phases = _Phases()
    build = _Build(writer, random.Random(seed), today or local_today(), phases)
    # Millions of short-lived tuples and no reference cycles: the cyclic collector would only
    # walk the growing heap again and again.
    collecting = gc.isenabled()
    gc.disable()
    try:
        with (
            writer.big_cache(),
            writer.foreign_keys_suspended(SUSPENDED_TABLES) as restore,
        ):
            figures = build.run(stations, activities, checkins, visits)
            with phases.timed("foreign keys"):
                restore()
            with phases.timed("commit"):
                writer.fix_sequences(SEQUENCED_TABLES)
                db.session.commit()
    except BaseException:
        db.session.rollback()
        raise
    finally:
        if collecting:
            gc.enable()
    with phases.timed("analyse"):
        analyse(db.session, LOADED_TABLES)
    with phases.timed("count back"):
        root = db.session.get(Unit, figures["unit_id"])
        construction = construction_figures(root, build.network.year)
    summary = ProvinceSummary(
        **figures,
        construction=construction,
        seconds=round(clock.perf_counter() - started, 2),
        phases=tuple(phases.seconds.items()),
    )
    echo(summary.line())
    return summary


LOADED_TABLES = tuple(
    m.__table__
    for m in (
        Unit,
        Station,
        StationAmenity,
        Campaign,
        CampaignTarget,
        Activity,
        CheckIn,
        Headcount,
        Sponsor,
        Donation,
        Distribution,
        ReceiptCounter,
        Partner,
        StationPartner,
        LabelAward,
        ConstructionTarget,
        CoverageGoal,
        FundLine,
        StationVisit,
        Feedback,
        StationAdmin,
        Training,
        DutyShift,
    )
)
# The big tables, whose foreign keys PostgreSQL checks in one join each after the load.
SUSPENDED_TABLES = tuple(
    m.__table__ for m in (Unit, Station, StationAmenity, Activity, CheckIn, Headcount)
)
SEQUENCED_TABLES = tuple(t for t in LOADED_TABLES if "id" in t.c and t.c.id.primary_key)


# --- The build -----------------------------------------------------------------------------


class _Phases:
    """Seconds spent in each named step."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}

    @contextmanager
    def timed(self, name: str) -> Iterator[None]:
        started = clock.perf_counter()
        yield
        self.seconds[name] = round(clock.perf_counter() - started, 2)


@dataclass(slots=True)
class _Node:
    """A unit as the build knows it."""

    id: int
    path: str
    level: str
    place: str
    code: str | None
    city: int
    district: int
    urban: bool
    weight: float
    abbr: str = ""


@dataclass(slots=True)
class _Station:
    """A station as the build knows it: where it is and what draws people to it."""

    id: int
    unit: _Node
    district: int
    kind: str
    activity_weight: float
    crowd: float
    host: str
    # The short name of its co-building partner ("中国石化"), "" for none.
    partner: str
    open_24h: bool
    # Its lifecycle (demo.network): the day it opened, the day it is due to open while it is
    # planned or being built, the day it closed and why; its status; active ones hold
    # activities.
    opened: date | None = None
    planned: date | None = None
    closed: date | None = None
    reason: str = ""
    status: str = "active"
    active: bool = True


@dataclass(slots=True)
class _Plan:
    """An activity before it is written."""

    starts: int
    ends: int
    station: _Station
    theme: str
    title: str
    description: str
    profile: int
    cancelled: bool
    id: int = 0


@dataclass
class _Tally:
    """Actual figures of one district (or a city's own stations), for the targets."""

    activities: int = 0
    served: int = 0
    stations: set = field(default_factory=set)


class _Build:
    """One run of the generator: draws everything from one random generator, in order."""

    def __init__(
        self, writer: BulkWriter, rng: random.Random, today: date, phases: _Phases
    ) -> None:
        self.writer = writer
        self.phases = phases
        self.rng = rng
        self.names = Names(rng)
        self.stamp = writer.stamp
        self.now = int(datetime.now(UTC).timestamp())
        first = add_months(today.replace(day=1), -11)
        self.starts_on = first
        self.ends_on = add_months(first, 12) - timedelta(days=1)
        self.today = today
        self.start_epoch = _local_epoch(first, time())
        self.nodes: list[_Node] = []
        self.cities: list[_Node] = []
        self.districts: list[_Node] = []
        self.stations: list[_Station] = []
        self.plans: list[_Plan] = []
        self.unit_created_epoch = self.start_epoch - 400 * DAY + 2 * HOUR
        self.network: Network | None = None

    # -- orchestration --

    def run(self, stations: int, activities: int, checkins: int, visits: int) -> dict:
        """Write everything; return the figures for the summary (all but the time and the
        construction year's figures, which are counted after the commit)."""
        w, timed = self.writer, self.phases.timed
        self.ids = {t.name: w.first_id(t) for t in SEQUENCED_TABLES}
        self.network = Network(self, construction_plan(stations, self.today))
        with timed("tree"):
            units = self._tree()
        with timed("stations"):
            self._stations(stations)
            campaign_id = self._campaign()
        with timed("activities"):
            self._activities(activities)
        figures = self._attendance(checkins)
        with timed("targets and sponsors"):
            targets = self._targets(campaign_id)
            giving = self._sponsors(campaign_id, stations)
        with timed("construction year"):
            network = self.network.write(self.province_name)
        running = self._running(visits)
        return {
            "unit_id": self.nodes[0].id,
            "campaign_id": campaign_id,
            "units": units,
            "stations": stations,
            "activities": len(self.plans),
            "cancelled": sum(p.cancelled for p in self.plans),
            **figures,
            "targets": targets,
            **giving,
            **network,
            **running,
        }

    def _next_ids(self, table, count: int) -> int:
        first = self.ids[table.name]
        self.ids[table.name] = first + count
        return first

    # -- the union tree --

    def _tree(self) -> int:
        """Province > cities > districts and counties > streets and towns > communities."""
        rng, names = self.rng, self.names
        self.unit_rows: list[tuple] = []
        self.unit_created = self.stamp(self.unit_created_epoch)
        place, abbr = names.place()
        self.province_name, self.province_abbr = f"{place}省", abbr
        province = self._add(None, "province", f"{place}省总工会", self.province_name, ROOT_CODE)
        city_abbrs: set[str] = set()
        for c in range(CITIES):
            place, abbr = names.place(city_abbrs)
            size = 2.5 if c == 0 else rng.lognormvariate(0, 0.35)
            city = self._add(
                province, "city", f"{place}市总工会", f"{place}市", f"99{c + 1:02d}00",
                city=c, weight=size, abbr=abbr,
            )  # fmt: skip
            self.cities.append(city)
            self._city_subtree(city, size)
        self.writer.write(Unit.__table__, UNIT_COLUMNS, self.unit_rows)
        self.ids["units"] += len(self.unit_rows)
        return len(self.unit_rows)

    def _add(
        self,
        parent: _Node | None,
        level: str,
        name: str,
        place: str,
        code: str | None,
        *,
        city: int = -1,
        district: int = -1,
        urban: bool = True,
        weight: float = 0.0,
        abbr: str = "",
    ) -> _Node:
        """A unit under `parent`: its row for the load, and what the build remembers of it."""
        unit_id = self.ids["units"] + len(self.unit_rows)
        path = f"{parent.path if parent else '/'}{unit_id}/"
        parent_id = parent.id if parent else None
        row = (unit_id, parent_id, path, level, name, code, ZONE.key, self.unit_created)
        self.unit_rows.append(row)
        node = _Node(unit_id, path, level, place, code, city, district, urban, weight, abbr)
        self.nodes.append(node)
        return node

    def _city_subtree(self, city: _Node, size: float) -> None:
        """A city's districts (urban), counties and perhaps a development zone."""
        rng, names = self.rng, self.names
        capital = city.city == 0
        count = 11 if capital else rng.randint(6, 10)
        urban = 7 if capital else rng.randint(2, 4)
        zone = capital or rng.random() < 0.3
        taken = {"SZ", "JK"}  # 市直 (the city's own stations) and the development zone
        kinds = ["区"] * urban + ["县"] * (count - urban) + (["开发区"] if zone else [])
        county_number = 21
        for d, kind in enumerate(kinds):
            if kind == "开发区":
                place, abbr, code = f"{city.place.removesuffix('市')}经济技术开发区", "JK", None
            else:
                local, abbr = names.place(taken)
                place = f"{local}{kind}"
                number = d + 2 if kind == "区" else county_number
                county_number += kind == "县"
                code = f"{city.code[:4]}{number:02d}"
            district = self._add(
                city, "district", f"{place}总工会", place, code,
                city=city.city, district=len(self.districts), urban=kind != "县",
                weight=size * {"区": 1.6, "开发区": 1.2, "县": 1.0}[kind], abbr=abbr,
            )  # fmt: skip
            self.districts.append(district)
            self._district_subtree(district, size)

    def _district_subtree(self, district: _Node, size: float) -> None:
        """A district's streets (a county's towns and townships) and their communities
        (villages), coded the way the statistics bureau numbers them."""
        rng, names = self.rng, self.names
        streets: set[str] = set()
        if district.urban:
            kinds = ["街道"] * rng.randint(6, 12)
        else:
            kinds = ["街道"] * rng.randint(1, 2)
            kinds += ["镇" if rng.random() < 0.7 else "乡" for _ in range(rng.randint(6, 12))]
        numbers = {"街道": 1, "镇": 101, "乡": 201}
        street_weight = {"街道": 1.3 if district.urban else 1.0, "镇": 0.8, "乡": 0.5}
        for kind in kinds:
            local = names.local(streets)
            code = _child_code(district.code, numbers, kind)
            street = self._add(
                district, "street", f"{local}{kind}工会", f"{local}{kind}", code,
                city=district.city, district=district.district, urban=kind == "街道",
                weight=size * street_weight[kind],
            )  # fmt: skip
            communities: set[str] = set()
            if kind == "街道":
                parts = ["社区"] * rng.randint(4, 9)
            else:
                parts = ["社区"] * rng.randint(1, 2) + ["村"] * rng.randint(3, 8)
            numbers_c = {"社区": 1, "村": 201}
            for part in parts:
                local = names.local(communities, third=0.15)
                weight = (1.3 if district.urban else 0.9) if part == "社区" else 0.35
                self._add(
                    street, "community", f"{local}{part}工会", f"{local}{part}",
                    _child_code(code, numbers_c, part),
                    city=district.city, district=district.district, urban=part == "社区",
                    weight=size * weight,
                )  # fmt: skip

    # -- stations --

    def _stations(self, count: int) -> None:
        """`count` stations, most at streets and communities, bigger cities holding more; each
        with its host type and partner, and a lifecycle drawn once all of them are known."""
        rng = self.rng
        by_level: dict[str, list[_Node]] = {level: [] for level in STATION_LEVELS}
        for node in self.nodes:
            if node.level in by_level:
                by_level[node.level].append(node)
        per_level = apportion(count, list(STATION_LEVELS.values()))
        owners: list[_Node] = []
        for (level, _share), n in zip(STATION_LEVELS.items(), per_level, strict=True):
            nodes = by_level[level]
            owners += rng.choices(nodes, weights=[x.weight for x in nodes], k=n)
        rng.shuffle(owners)
        host_ids = catalogue_ids(HostType)
        self.centres = self._centres()
        self.station_numbers: Counter = Counter()
        first = self.ids["stations"]
        rows, amenity_rows = [], []
        for i, unit in enumerate(owners):
            row, amenities = self._station(first + i, unit)
            rows.append(row)
            amenity_rows += [(first + i, a.value) for a in Amenity if a in amenities]
        self.network.lifecycle(self.stations)
        self.writer.write(
            Station.__table__,
            STATION_COLUMNS,
            (
                (*row, host_ids[s.host], *self._lifecycle_columns(s))
                for row, s in zip(rows, self.stations, strict=True)
            ),
        )
        self.writer.write(StationAmenity.__table__, ("station_id", "amenity"), amenity_rows)
        self.ids["stations"] = first + len(owners)

    def _station(self, station_id: int, unit: _Node) -> tuple[tuple, set[Amenity]]:
        """A station run by `unit`: its row but for the host type and lifecycle columns, and
        its amenities; the build remembers the rest."""
        rng = self.rng
        district = self.districts[
            unit.district if unit.district >= 0 else self._capital_district(unit)
        ]
        kind, name, partner, road, host = self._station_name(unit)
        city = self.cities[unit.city]
        part = self.districts[unit.district].abbr if unit.district >= 0 else "SZ"
        self.station_numbers[(unit.city, part)] += 1
        number = self.station_numbers[(unit.city, part)]
        code = f"{self.province_abbr}-{city.abbr}-{part}-{number:03d}"
        open_24h = kind == "petrol" or rng.random() < 0.06
        amenities = set(BASE_AMENITIES) | set(rng.sample(EXTRA_AMENITIES, rng.randint(2, 5)))
        if kind == "petrol":
            amenities.add(Amenity.TOILET)
        offers = "、".join(AMENITY_ZH[a] for a in Amenity if a in amenities)
        services = f"为户外劳动者提供{offers}等服务。"
        if open_24h and kind != "petrol":
            services += "24小时开放，扫码开门。"
        lat, lon = self.centres[district.district]
        spread = 0.015 if district.urban else 0.06
        lat = _clamp(lat + rng.gauss(0, spread), BOX[0], BOX[1])
        lon = _clamp(lon + rng.gauss(0, spread), BOX[2], BOX[3])
        phone = ""
        if rng.random() < 0.8:
            phone = f"07{31 + unit.city:02d}-{rng.randrange(2 * 10**7, 9 * 10**7)}"
        address = f"{self.province_name}{city.place}{district.place}{road}{rng.randint(1, 999)}号"
        row = (
            station_id,
            unit.id,
            code,
            name,
            address,
            round(lat, 6),
            round(lon, 6),
            "gcj02" if rng.random() < 0.3 else "wgs84",
            phone,
            open_24h,
            "" if open_24h else rng.choice(OPENING_HOURS),
            services,
        )
        weight = rng.lognormvariate(0, 0.7) * LEVEL_ACTIVITY[unit.level]
        weight *= KIND_ACTIVITY.get(kind, 1.0)
        crowd = LEVEL_CROWD[unit.level] * (1.2 if kind == "riders" else 1.0)
        self.stations.append(
            _Station(
                station_id, unit, district.district, kind, weight, crowd, host, partner, open_24h
            )
        )
        return row, amenities

    def _lifecycle_columns(self, station: _Station) -> tuple:
        """(status, opened_on, closed_on, closure_reason, created_at, updated_at): entered
        when it was planned (or when the system started, for older stations), last changed
        when it opened, was suspended or closed."""
        rng, day = self.rng, self.writer.day
        today = _local_epoch(self.today, time(18))
        started = self.unit_created_epoch + rng.randrange(DAY, 30 * DAY)
        if station.opened is not None:
            opened = _local_epoch(station.opened, time(9))
            created = max(opened - rng.randrange(15 * DAY, 90 * DAY), started)
            updated = max(created, opened) + rng.randrange(0, 20 * DAY)
        else:
            created = max(today - rng.randrange(10 * DAY, 200 * DAY), started)
            updated = created + rng.randrange(0, 20 * DAY)
        if station.closed is not None:
            updated = max(updated, _local_epoch(station.closed, time(11)))
        elif station.status == "suspended":
            updated = max(updated, today - rng.randrange(5 * DAY, 120 * DAY))
        created = min(created, today, self.now - HOUR)
        updated = min(max(updated, created), today, self.now)
        return (
            station.status,
            day(station.opened),
            day(station.closed),
            station.reason,
            self.stamp(created),
            self.stamp(updated),
        )

    def _capital_district(self, city: _Node) -> int:
        """The first district of a city: where its own stations draw their people from."""
        return next(d.district for d in self.districts if d.city == city.city)

    def _centres(self) -> list[tuple[float, float]]:
        """A centre for every district: urban ones close to their city's centre."""
        rng = self.rng
        lat0, lat1, lon0, lon1 = BOX
        city_centres = [
            (rng.uniform(lat0 + 0.4, lat1 - 0.4), rng.uniform(lon0 + 0.4, lon1 - 0.4))
            for _ in self.cities
        ]
        centres = []
        for district in self.districts:
            lat, lon = city_centres[district.city]
            if district.urban:
                centres.append((lat + rng.gauss(0, 0.05), lon + rng.gauss(0, 0.05)))
            else:
                angle, reach = rng.uniform(0, 2 * math.pi), rng.uniform(0.2, 0.55)
                centres.append((lat + reach * math.sin(angle), lon + reach * math.cos(angle)))
        return centres

    def _station_name(self, unit: _Node) -> tuple[str, str, str, str, str]:
        """(kind, name, partner, road, host type) of a new station run by `unit`."""
        rng = self.rng
        road = self.names.road()
        if unit.level == "city":
            pattern, kind, host = rng.choice(CITY_STATIONS)
            return kind, pattern.format(place=unit.place), "", road, host
        if unit.level == "district":
            pattern, kind, host = rng.choice(DISTRICT_STATIONS)
            partner = rng.choice(("美团", "饿了么")) if kind == "riders" else ""
            return kind, pattern.format(place=unit.place), partner, road, host
        own = 0.7 if unit.level == "community" else 0.45
        place = unit.place.removesuffix("社区").removesuffix("村").removesuffix("街道")
        if rng.random() < own:
            host, pattern = own_host(rng)
            brand = self.names.local(set()) if "{brand}" in pattern else ""
            name = pattern.format(place=unit.place, short=place, brand=f"{place}{brand}")
            return "own", name, "", road, host
        pattern, partners, kind, _w = rng.choices(
            PARTNER_STATIONS, weights=[p[3] for p in PARTNER_STATIONS]
        )[0]
        partner = rng.choice(partners)
        name = pattern.format(place=place, road=road.removesuffix("路"), bank=partner)
        return kind, name, partner, road, KIND_HOSTS.get(kind, "other")

    # -- the campaign --

    def _campaign(self) -> int:
        """One province-wide campaign over the twelve months."""
        years = f"{self.starts_on.year}—{self.ends_on.year}年度"
        if self.starts_on.year == self.ends_on.year:
            years = f"{self.starts_on.year}年"
        campaign_id = self._next_ids(Campaign.__table__, 1)
        province = self.nodes[0]
        description = (
            f"{self.province_name}总工会在全省工会驿站开展“工会驿站普惠日”主题活动，"
            "省、市、县（区）、街道（乡镇）、社区（村）五级工会联动，"
            "每月固定开展义剪、义诊、送清凉、送温暖、法律援助等普惠服务，"
            "让户外劳动者在家门口享受到工会“娘家人”的关爱。"
        )
        self.writer.write(
            Campaign.__table__,
            (
                "id",
                "unit_id",
                "name",
                "starts_on",
                "ends_on",
                "description",
                "is_public",
                "created_at",
            ),
            [
                (
                    campaign_id,
                    province.id,
                    f"{years}全省“工会驿站普惠日”主题活动",
                    self.writer.day(self.starts_on),
                    self.writer.day(self.ends_on),
                    description,
                    True,
                    self.stamp(self.start_epoch - 20 * DAY + 2 * HOUR),
                )
            ],
        )
        self.campaign_id = campaign_id
        return campaign_id

    # -- activities --

    def _activities(self, count: int) -> None:
        """`count` activities at active stations from the day each opened, in time order, none
        overlapping at a station; a station open for part of the campaign holds fewer."""
        if count == 0:
            return
        rng = self.rng
        hosts = [s for s in self.stations if s.active] or self.stations
        days = (self.ends_on - self.starts_on).days + 1
        calendar = _Calendar(self.starts_on, days)
        themes = self._themes()
        firsts = [
            min(days - 1, max(0, (s.opened - self.starts_on).days)) if s.opened else 0
            for s in hosts
        ]
        weights = [
            s.activity_weight * (days - d) / days for s, d in zip(hosts, firsts, strict=True)
        ]
        caps = [len(SLOTS) * (days - d) for d in firsts]
        per_station = _capped(apportion(count, weights), caps)
        slot_cum = calendar.slot_weights()
        plans = []
        for station, n, first in zip(hosts, per_station, firsts, strict=True):
            for slot_index in _distinct(rng, slot_cum, n, first * len(SLOTS)):
                day, slot = divmod(slot_index, len(SLOTS))
                plans.append(self._plan(station, calendar, day, slot, themes))
        plans.sort(key=lambda p: (p.starts, p.station.id))
        first = self._next_ids(Activity.__table__, len(plans))
        for i, plan in enumerate(plans):
            plan.id = first + i
        self.plans = plans
        self.writer.write(Activity.__table__, ACTIVITY_COLUMNS, self._activity_rows(themes))

    def _themes(self) -> dict[str, int]:
        """The shared catalogue's theme ids by code."""
        ids = dict(
            db.session.execute(
                select(Theme.code, Theme.id).where(Theme.unit_id.is_(None), Theme.code.in_(THEMES))
            ).all()
        )
        if not ids:
            raise ValueError("the theme catalogue is empty; run the migrations first")
        return ids

    def _plan(self, station: _Station, calendar: _Calendar, day: int, slot: int, themes) -> _Plan:
        """One activity at `station` in a slot of a day: a theme the season suggests, its title
        (the festival's own near one), who it is for, and whether it was called off."""
        rng = self.rng
        starts_choices, lengths, _share = SLOTS[slot]
        starts = calendar.midnight[day] + rng.choice(starts_choices) * 60
        ends = starts + rng.choice(lengths) * 60
        festival = calendar.festival[day]
        theme = calendar.theme(rng, day, slot, themes)
        _weight, titles, descriptions = THEMES[theme]
        title, description = rng.choice(titles), rng.choice(descriptions)
        if festival and theme == "festival_food":
            _name, title, description = FESTIVALS[festival]
        elif festival and theme == "gift_bags":
            title = f"{FESTIVALS[festival][0]}送温暖慰问"
        title = rng.choice(BRANDS) + title
        profile = _profile(rng, station.kind, theme, festival)
        cancelled = rng.random() < CANCELLED_SHARE
        return _Plan(starts, ends, station, theme, title, description, profile, cancelled)

    def _activity_rows(self, themes: dict[str, int]) -> Iterator[tuple]:
        """The planned activities' rows: made a few weeks ahead, some edited, some cancelled."""
        rng, stamp, now = self.rng, self.stamp, self.now
        campaign_id = self.campaign_id
        for plan in self.plans:
            created = min(plan.starts - rng.randrange(2 * DAY, 30 * DAY), now - HOUR)
            created = max(created, self.start_epoch - 20 * DAY)
            sequence, updated = 0, created
            reason = cancelled_at = None
            if plan.cancelled:
                cancelled = rng.randrange(created, max(created + 1, min(plan.starts, now)))
                reason, cancelled_at, updated = (
                    rng.choice(CANCEL_REASONS),
                    stamp(cancelled),
                    cancelled,
                )
                sequence = 1
            elif rng.random() < 0.08:
                sequence = 1
                updated = rng.randrange(created, max(created + 1, min(plan.starts, now)))
            capacity = None
            if plan.theme in LIMITED_THEMES and rng.random() < 0.4:
                capacity = rng.choice((20, 30, 40, 50, 60, 80, 100))
            yield (
                plan.id,
                f"{uuid.UUID(int=rng.getrandbits(128), version=4)}@inclusive-day",
                new_checkin_token(),  # random, not from the seed: it must stay unguessable
                sequence,
                campaign_id,
                plan.station.id,
                themes[plan.theme],
                None,
                plan.title,
                stamp(plan.starts),
                stamp(plan.ends),
                "cancelled" if plan.cancelled else "scheduled",
                capacity,
                PROFILE_GROUPS[PROFILE_NAMES[plan.profile]],
                plan.description,
                reason,
                cancelled_at,
                stamp(created),
                stamp(updated),
            )

    # -- attendance --

    def _attendance(self, checkins: int) -> dict:
        """Check-ins (exactly `checkins` rows) and headcounts for the held activities."""
        rng = self.rng
        held = [p for p in self.plans if not p.cancelled and p.starts <= self.now]
        if checkins and not held:
            raise ValueError("check-ins need activities that have been held; ask for more")
        # Some activities take no QR check-ins at all: staff only count heads there.
        weights = [
            0.0
            if rng.random() < 0.08
            else THEME_SIZE.get(p.theme, 1.0) * p.station.crowd * rng.uniform(0.5, 1.5)
            for p in held
        ]
        if checkins and not any(weights):
            weights = [1.0] * len(held)
        counts = apportion(checkins, weights) if checkins else [0] * len(held)
        splits: list[tuple[_Plan, list[int]]] = []
        demand: dict[tuple[int, int], list[int]] = {}
        for plan, k in zip(held, counts, strict=True):
            if not k:
                continue
            split = _split(rng.random, k, PROFILE_SHARES[plan.profile])
            for g, t in enumerate(split):
                if t:
                    need = demand.setdefault((plan.station.district, g), [0, 0])
                    need[0] = max(need[0], t)
                    need[1] += t
            splits.append((plan, split))
        timed = self.phases.timed
        pools = _People(demand, app_identity_key(), random.Random(rng.getrandbits(64)))
        served_by_plan: dict[int, int] = {}
        # Two million check-ins: their indexes are built once at the end, not row by row.
        with timed("check-ins"), self.writer.suspended((CheckIn.__table__,), checkins):
            checkin_figures = self._write_checkins(splits, pools, served_by_plan)
        with timed("headcounts"):
            heads = self._write_headcounts(held, counts, served_by_plan)
        tallies: dict[int, _Tally] = {}
        for plan in self.plans:
            if plan.cancelled:
                continue
            tally = tallies.setdefault(self._tally_key(plan.station), _Tally())
            tally.activities += 1
            if plan.starts <= self.now:
                tally.served += served_by_plan.get(plan.id, 0)
                tally.stations.add(plan.station.id)
        self.tallies = tallies
        return {**checkin_figures, **heads}

    def _tally_key(self, station: _Station) -> int:
        """Districts by index; a city's own stations under -1 - city index."""
        return station.unit.district if station.unit.district >= 0 else -1 - station.unit.city

    def _write_checkins(self, splits, pools, served_by_plan: dict[int, int]) -> dict:
        """One row per person and activity: half of them regulars of the district, arriving
        mostly early in the activity; a few annulled by staff afterwards.

        Each activity's rows go in ordered by identity (with ids, nonces and arrival times
        rising alongside), so that every index takes them at its right-hand edge.
        """
        rng, visitors = self.rng, pools.visitors
        random, stamp, now = rng.random, self.stamp, self.now
        group_values = [g.value for g in GROUPS]
        # Nonces are unique by their first eight digits (the row's id); the rest only looks
        # like the random part a phone adds.
        tails = [f"{rng.getrandbits(56):014x}" for _ in range(4096)]
        people: set[str] = set()
        checkin_id = first = self._next_ids(CheckIn.__table__, 0)
        annulled = 0
        with self.writer.sink(CheckIn.__table__, CHECKIN_COLUMNS) as put:
            for plan, split in splits:
                activity_id, starts = plan.id, plan.starts
                window = max(1, min(plan.ends, now) - starts)
                district = plan.station.district
                came: list[tuple[str, str]] = []
                for g, t in enumerate(split):
                    if t:
                        group = group_values[g]
                        came += [(i, group) for i in visitors(district, g, t)]
                came.sort()
                # About one check-in in 250 is annulled by staff: it goes in last.
                wrong = None
                if random() < len(came) * ANNULLED_SHARE:
                    wrong = came.pop(int(random() * len(came)))
                count = len(came)
                if count:
                    identities, groups = zip(*came, strict=True)
                    people.update(identities)
                    keys = [person_key(i) for i in identities]
                    ids = range(checkin_id, checkin_id + count)
                    arrivals = [stamp(starts + int(window * random() ** 1.5)) for _ in ids]
                    arrivals.sort()
                    for row in zip(
                        ids,
                        repeat(activity_id, count),
                        identities,
                        keys,
                        groups,
                        [f"{i:08x}{tails[i & 4095]}" for i in ids],
                        [SOURCES[int(random() * len(SOURCES))] for _ in ids],
                        arrivals,
                        repeat(None, count),
                        repeat(None, count),
                        strict=True,
                    ):
                        put(row)
                    checkin_id += count
                if wrong is not None:
                    at = starts + int(window * random() ** 1.5)
                    put(
                        (
                            checkin_id,
                            activity_id,
                            wrong[0],
                            person_key(wrong[0]),
                            wrong[1],
                            f"{checkin_id:08x}{tails[checkin_id & 4095]}",
                            rng.choice(SOURCES),
                            stamp(at),
                            stamp(min(at + 60 + int(random() * 2 * HOUR), now)),
                            rng.choice(ANNUL_REASONS),
                        )
                    )
                    checkin_id += 1
                    annulled += 1
                served_by_plan[activity_id] = count
        self.ids["checkins"] = checkin_id
        return {"checkins": checkin_id - first, "annulled": annulled, "people": len(people)}

    def _write_headcounts(self, held, counts, served_by_plan) -> dict:
        """Staff headcounts by group at most held activities: the people who came but did not
        scan, two or three times as many as did. (Like the Kunming demo, the load writes no
        headcount history: the figures were not typed in on the form.)"""
        rng, stamp, now = self.rng, self.stamp, self.now
        # Groups in the order of their codes, as the (activity, group) index sorts them.
        groups = sorted((g.value, i) for i, g in enumerate(GROUPS))
        headcount_id = first = self._next_ids(Headcount.__table__, 0)
        with self.writer.sink(Headcount.__table__, HEADCOUNT_COLUMNS) as put:
            for plan, k in zip(held, counts, strict=True):
                if k and rng.random() >= 0.8:
                    continue
                if k:
                    total = round(k * rng.uniform(0.8, 3.0))
                else:
                    total = round(THEME_SIZE.get(plan.theme, 1.0) * rng.uniform(15, 60))
                if not total:
                    continue
                when = stamp(min(plan.ends + rng.randrange(600, 2 * HOUR), now))
                served_by_plan[plan.id] = served_by_plan.get(plan.id, 0) + total
                split = _split(rng.random, total, PROFILE_SHARES[plan.profile])
                for group, g in groups:
                    if split[g]:
                        put((headcount_id, plan.id, group, split[g], when, None))
                        headcount_id += 1
        self.ids["headcounts"] = headcount_id
        return {"headcount_rows": headcount_id - first, "served": sum(served_by_plan.values())}

    # -- targets --

    def _targets(self, campaign_id: int) -> int:
        """Targets for every district, each city (its districts' plus its own stations') and
        the province (its cities'), set a little above or below what was then achieved."""
        rng = self.rng
        rows = []
        first = self.ids["campaign_targets"]
        when = self.stamp(self.start_epoch - 5 * DAY + 3 * HOUR)

        def target(tally: _Tally) -> tuple[int, int, int]:
            return (
                round_target(tally.activities * rng.uniform(0.85, 1.2)),
                round_target(tally.served * rng.uniform(0.85, 1.2)),
                round_target(len(tally.stations) * rng.uniform(0.85, 1.15)),
            )

        def add(unit: _Node, values: tuple[int, int, int]) -> None:
            rows.append((first + len(rows), campaign_id, unit.id, *values, when, None))

        province_total = (0, 0, 0)
        for city in self.cities:
            own = self.tallies.get(-1 - city.city)
            total = target(own) if own else (0, 0, 0)
            for district in self.districts:
                if district.city != city.city:
                    continue
                values = target(self.tallies.get(district.district, _Tally()))
                add(district, values)
                total = tuple(a + b for a, b in zip(total, values, strict=True))
            add(city, total)
            province_total = tuple(a + b for a, b in zip(province_total, total, strict=True))
        add(self.nodes[0], province_total)
        self.writer.write(CampaignTarget.__table__, TARGET_COLUMNS, rows)
        self.ids["campaign_targets"] = first + len(rows)
        return len(rows)

    # -- sponsors --

    def _sponsors(self, campaign_id: int, stations: int) -> dict:
        """A few hundred sponsors at city and district unions, their gifts, the receipts for
        what arrived and its hand-outs at activities."""
        giving = _Giving(self, campaign_id)
        return giving.run(max(12, round(stations / 40)))

    # -- running the stations --

    def _running(self, visits: int) -> dict:
        """The campaign year's door traffic at the stations, their administrators, training
        and duty (demo.traffic, demo.roster), read from the stations already written."""
        timed, rng = self.phases.timed, self.rng
        root = db.session.get(Unit, self.nodes[0].id)
        now = datetime.fromtimestamp(self.now, UTC)
        span = {"first_day": self.starts_on, "last_day": self.ends_on, "now": now}
        with timed("door traffic"):
            traffic = generate_door_traffic(
                db.session, root, visits=visits, seed=rng.getrandbits(32), writer=self.writer,
                **span,
            )  # fmt: skip
        with timed("administrators and duty"):
            roster = generate_roster(
                db.session, root, seed=rng.getrandbits(32), writer=self.writer, **span
            )
        return {"traffic": traffic, "roster": roster}


class _People:
    """Each district's people by group, sized so that a person comes REPEAT_VISITS times on
    average and every activity finds enough; the first quarter of each are regulars, who
    make up about half of the people at any activity.

    An identity is the app's keyed hash of a synthetic mobile number, as a real scan of that
    number would store it. A district's people are made when its first check-in is written,
    so that the hashing overlaps with the database taking the rows.
    """

    def __init__(self, demand: dict[tuple[int, int], list[int]], key: bytes, rng) -> None:
        self.demand = demand
        self.identity = identity_hasher(key)
        self.rng = rng
        self.offset = rng.randrange(10**8)
        self.serial = 0
        self.prefixes = [p.encode() for p in MOBILE_PREFIXES]
        self.pools: dict[tuple[int, int], list[str]] = {}

    def visitors(self, district: int, group: int, count: int) -> list[str]:
        """`count` different people of one group of a district."""
        pool = self.pools.get((district, group)) or self._make(district, group)
        size = len(pool)
        if count * 2 > size:
            return self.rng.sample(pool, count)
        random, regulars, half = self.rng.random, size // 4, count // 2
        chosen = {int(random() * regulars) for _ in range(half)}
        while len(chosen) < half:
            chosen.add(int(random() * regulars))
        chosen.update([int(random() * size) for _ in range(count - half)])
        while len(chosen) < count:
            chosen.add(int(random() * size))
        return [pool[i] for i in chosen]

    def _make(self, district: int, group: int) -> list[str]:
        largest, total = self.demand[(district, group)]
        identity, random, prefixes = self.identity, self.rng.random, self.prefixes
        size = max(largest, math.ceil(total / REPEAT_VISITS))
        pool = []
        for serial in range(self.serial, self.serial + size):
            # Distinct 8-digit tails: 3**16 is coprime with 10**8, so no number repeats.
            tail = b"%08d" % ((self.offset + serial * 43_046_721) % 10**8)
            pool.append(identity(prefixes[int(random() * len(prefixes))] + tail))
        self.serial += size
        self.pools[(district, group)] = pool
        return pool


class _Calendar:
    """The campaign's days: local midnights, festivals near each day, theme weights."""

    def __init__(self, first: date, days: int) -> None:
        self.days = [first + timedelta(days=d) for d in range(days)]
        self.midnight = [_local_epoch(day, time()) for day in self.days]
        on = {}
        for year in sorted({d.year for d in self.days}):
            for code in FESTIVALS:
                try:
                    on.setdefault(festival_date(code, year), code)
                except FestivalError:
                    continue
        self.festival: list[str | None] = []
        for day in self.days:
            near = [on.get(day + timedelta(days=k)) for k in range(FESTIVAL_DAYS_BEFORE + 1)]
            self.festival.append(next((f for f in near if f), None))
        spring = sorted(d for d, code in on.items() if code == "spring_festival")
        self.couplets = [any(0 < (s - day).days <= 25 for s in spring) for day in self.days]
        self._theme_cum: list[tuple[list[str], list[float]]] = []

    def slot_weights(self) -> list[float]:
        """Cumulative weights of (day, slot) pairs: weekends, festivals and the launch draw more."""
        weights = []
        for d, day in enumerate(self.days):
            w = 1.4 if day.weekday() >= 5 else 1.0
            if self.festival[d]:
                w *= 2.5
            if d == 0:
                w *= 6  # the launch day
            weights += [w * share for _s, _l, share in SLOTS]
        return list(accumulate(weights))

    def theme(self, rng: random.Random, day: int, slot: int, themes: dict[str, int]) -> str:
        """A theme for an activity on `day`, as the season and the festivals suggest."""
        if not self._theme_cum:
            self._theme_cum = [self._weights(d, themes) for d in range(len(self.days))]
        if slot == 2 and {"performance", "knowledge_quiz"} <= themes.keys():
            return "performance" if rng.random() < 0.6 else "knowledge_quiz"
        codes, cum = self._theme_cum[day]
        return rng.choices(codes, cum_weights=cum)[0]

    def _weights(self, d: int, themes: dict[str, int]) -> tuple[list[str], list[float]]:
        month = self.days[d].month
        weights = {code: float(spec[0]) for code, spec in THEMES.items()}
        weights["cooling_drinks"] = 18 if 6 <= month <= 9 else 5 if month in (5, 10) else 0
        weights["warming_drinks"] = 16 if month in (12, 1, 2) else 6 if month in (11, 3) else 0
        if self.couplets[d]:
            weights["spring_couplets"] = 25
        if self.festival[d]:
            weights["festival_food"] += 30
            weights["gift_bags"] += 15
            weights["performance"] += 6
        codes = [c for c in THEMES if c in themes and weights[c] > 0]
        return codes, list(accumulate(weights[c] for c in codes))


class _Giving:
    """Sponsors, donations, receipts and distributions: a few thousand rows at most."""

    def __init__(self, build: _Build, campaign_id: int) -> None:
        self.build = build
        self.rng = build.rng
        self.campaign_id = campaign_id
        self.stamp = build.stamp
        self.today = min(build.today, build.ends_on)
        # Held activities by where they are, in time order, for the hand-outs.
        self.by_district: dict[int, list[_Plan]] = {}
        self.by_city: dict[int, list[_Plan]] = {}
        self.by_station: dict[int, list[_Plan]] = {}
        for plan in build.plans:
            if plan.cancelled or plan.starts > build.now:
                continue
            unit = plan.station.unit
            if unit.district >= 0:
                self.by_district.setdefault(unit.district, []).append(plan)
            self.by_city.setdefault(unit.city, []).append(plan)
            self.by_station.setdefault(plan.station.id, []).append(plan)

    def run(self, count: int) -> dict:
        """`count` sponsors and everything they gave; their row counts."""
        rng, build = self.rng, self.build
        amount, day = build.writer.amount, build.writer.day
        units = [(c, c.weight * 2) for c in build.cities] + [(d, d.weight) for d in build.districts]
        owners = rng.choices([u for u, _ in units], weights=[w for _, w in units], k=count)
        stations_by_unit: dict[tuple[str, int], list[_Station]] = {}
        for station in build.stations:
            if station.active:
                unit = station.unit
                for key in (("d", unit.district), ("c", unit.city)):
                    stations_by_unit.setdefault(key, []).append(station)
        sponsor_rows, donation_rows, distribution_rows = [], [], []
        arrivals: list[tuple[date, int, _Node, list]] = []
        sponsor_first = build.ids["sponsors"]
        donation_id = build.ids["donations"]
        distribution_id = build.ids["donation_distributions"]
        names_taken: set[str] = set()
        for i, unit in enumerate(owners):
            sponsor_id = sponsor_first + i
            kind = _pick_weighted(rng, SPONSOR_KINDS)
            name = self._name(kind, unit, names_taken)
            anonymous = kind == "individual" and rng.random() < 0.7
            status = _pick_share(rng, (("approved", 0.88), ("pending", 0.08), ("rejected", 0.04)))
            created = build.start_epoch + rng.randrange(-60 * DAY, 200 * DAY)
            created = min(created, build.now - 10 * DAY)
            reviewed = None if status == "pending" else created + rng.randrange(DAY, 4 * DAY)
            sponsor_rows.append(
                (
                    sponsor_id,
                    unit.id,
                    name,
                    kind,
                    build.names.person(rng.choice(CONTACT_TITLES[kind]))
                    if kind != "individual"
                    else "",
                    mobile(rng) if rng.random() < 0.8 else "",
                    "" if anonymous else name,
                    anonymous,
                    rng.random() >= 0.05,
                    status,
                    None,
                    None,
                    self.stamp(reviewed) if reviewed else None,
                    "资质材料不全，请补充营业执照。" if status == "rejected" else "",
                    self.stamp(created),
                )
            )
            if status != "approved":
                continue
            key = ("d", unit.district) if unit.level == "district" else ("c", unit.city)
            local_stations = stations_by_unit.get(key, [])
            for _ in range(_pick_weighted(rng, ((1, 35), (2, 30), (3, 18), (4, 10), (5, 7)))):
                gift = self._gift(kind, unit, local_stations, max(created, build.start_epoch))
                handed = self._hand_out(gift, unit, distribution_id)
                distribution_id += len(handed)
                distribution_rows += handed
                distributed = sum((row[4] for row in handed), Decimal(0))
                status_d = gift["status"]
                if status_d != "pledged" and distributed == gift["amount"]:
                    status_d = "distributed"
                donation_rows.append(
                    [
                        donation_id,
                        None,
                        sponsor_id,
                        self.campaign_id,
                        gift["station_id"],
                        gift["kind"],
                        gift["description"],
                        amount(gift["quantity"]),
                        gift["unit_label"],
                        amount(gift["unit_value"]),
                        amount(gift["value"]),
                        status_d,
                        "",
                        day(gift["pledged_on"]),
                        None,
                        day(gift["received_on"]),
                        None,
                        amount(distributed),
                        None,  # the receipt's number, once all gifts are known
                        self.stamp(_local_epoch(gift["pledged_on"], time(10))),
                    ]
                )
                if gift["received_on"] is not None:
                    arrivals.append((gift["received_on"], donation_id, unit, donation_rows[-1]))
                for row in handed:
                    row[1] = donation_id
                donation_id += 1
        receipts = _number_receipts(arrivals)
        w = build.writer
        w.write(Sponsor.__table__, SPONSOR_COLUMNS, sponsor_rows)
        w.write(Donation.__table__, DONATION_COLUMNS, donation_rows)
        w.write(
            Distribution.__table__,
            DISTRIBUTION_COLUMNS,
            [(*row[:4], amount(row[4]), amount(row[5]), *row[6:]) for row in distribution_rows],
        )
        w.write(
            ReceiptCounter.__table__,
            ("unit_id", "year", "last"),
            [(unit_id, year, last) for (unit_id, year), last in sorted(receipts.items())],
        )
        return {
            "sponsors": len(sponsor_rows),
            "donations": len(donation_rows),
            "distributions": len(distribution_rows),
        }

    def _name(self, kind: str, unit: _Node, taken: set[str]) -> str:
        """A sponsor's name: a company branch, a charity, a volunteer team or a person."""
        rng, names = self.rng, self.build.names
        city = self.build.cities[unit.city].place.removesuffix("市")
        place = unit.place
        patterns = {"enterprise": ENTERPRISES, "charity": CHARITIES, "volunteer_team": VOLUNTEERS}
        for _attempt in range(50):
            if kind == "individual":
                name = names.person(rng.choice(("先生", "女士")))
            else:
                pattern = rng.choice(patterns[kind])
                brand = names.local(set())
                name = pattern.format(city=city, place=place, brand=brand)
            if name not in taken or kind == "individual":
                taken.add(name)
                return name
        return name

    def _gift(self, kind: str, unit: _Node, stations: list[_Station], earliest: int) -> dict:
        rng = self.rng
        gift_kind = _pick_weighted(rng, GIFT_KINDS[kind])
        small = kind == "individual"
        quantity = unit_value = None
        unit_label = ""
        if gift_kind == "cash":
            value = Decimal(rng.choice((1, 2, 5)) * 10 ** rng.randint(2, 3 if small else 5))
            description = rng.choice(("工会驿站普惠日公益资金", "爱心捐款", "户外劳动者关爱基金"))
        else:
            catalogue = GOODS if gift_kind == "in_kind" else SERVICES
            description, unit_label, (low, high), (q_low, q_high) = rng.choice(catalogue)
            quantity = Decimal(rng.randint(q_low, max(q_low, q_high // (10 if small else 1))))
            unit_value = Decimal(rng.randint(low, high))
            if gift_kind == "service" and rng.random() < 0.3:
                unit_value = Decimal(0)
            value = (quantity * unit_value).quantize(CENT)
            if gift_kind == "in_kind" and value == 0:
                unit_value, value = Decimal(1), quantity.quantize(CENT)
        earliest_day = datetime.fromtimestamp(earliest, ZONE).date()
        span = max(0, (self.today - earliest_day).days - 1)
        pledged = earliest_day + timedelta(days=rng.randint(0, span))
        received = pledged + timedelta(days=rng.randint(0, 20))
        status = "received"
        if received > self.today or rng.random() < 0.12:
            received, status = None, "pledged"
        station_id = None
        if stations and rng.random() < 0.1:
            station_id = rng.choice(stations).id
        return {
            "kind": gift_kind,
            "description": description,
            "quantity": quantity,
            "unit_label": unit_label,
            "unit_value": unit_value.quantize(CENT) if unit_value is not None else None,
            "value": value.quantize(CENT),
            "amount": quantity if quantity is not None else value.quantize(CENT),
            "status": status,
            "pledged_on": pledged,
            "received_on": received,
            "station_id": station_id,
        }

    def _hand_out(self, gift: dict, unit: _Node, first_id: int) -> list[list]:
        """Rows handing out some or all of a received gift at held activities after it came."""
        rng = self.rng
        if gift["status"] == "pledged" or rng.random() < 0.15:
            return []
        if gift["station_id"] is not None:
            candidates = self.by_station.get(gift["station_id"], [])
        elif unit.level == "district":
            candidates = self.by_district.get(unit.district, [])
        else:
            candidates = self.by_city.get(unit.city, [])
        after = _local_epoch(gift["received_on"], time())
        candidates = candidates[bisect_left([p.starts for p in candidates], after) :]
        amount = gift["amount"]
        whole = int(amount)
        if not candidates or whole < 1:
            return []
        share = 1.0 if rng.random() < 0.3 else rng.uniform(0.2, 0.9)
        total = max(1, int(whole * share))
        parts = min(rng.randint(1, 6), total, len(candidates))
        chosen = sorted(rng.sample(candidates, parts), key=lambda p: p.starts)
        # Every share at least one: the rest in proportion to random weights.
        weights = [rng.uniform(0.5, 1.5) for _ in chosen]
        quantities = [1 + q for q in apportion(total - parts, weights)]
        if share == 1.0:
            quantities[-1] += amount - whole  # any fraction goes with the last share
        rows = []
        given = Decimal(0)
        for i, (plan, q) in enumerate(zip(chosen, quantities, strict=True)):
            quantity = Decimal(q).quantize(CENT)
            if quantity <= 0:
                continue
            if share == 1.0 and i == len(chosen) - 1:
                value = gift["value"] - given
            else:
                value = (gift["value"] * quantity / amount).quantize(CENT)
            given += value
            day = datetime.fromtimestamp(plan.starts, ZONE).date()
            rows.append(
                [
                    first_id + len(rows),
                    None,  # the donation's id, filled in by the caller
                    plan.station.id,
                    plan.id,
                    quantity,
                    value,
                    uuid.UUID(int=rng.getrandbits(128)).hex,
                    self.build.writer.day(day),
                    rng.choice(("", "", "活动现场发放", "驿站现场发放")),
                    None,
                    self.stamp(min(plan.ends + HOUR, self.build.now)),
                ]
            )
        return rows


# --- Columns, in the order the rows give them ---------------------------------------------

UNIT_COLUMNS = ("id", "parent_id", "path", "level", "name", "code", "timezone", "created_at")
STATION_COLUMNS = (
    "id",
    "unit_id",
    "code",
    "name",
    "address",
    "latitude",
    "longitude",
    "coord_system",
    "phone",
    "open_24h",
    "opening_hours",
    "services",
    "host_type_id",
    "status",
    "opened_on",
    "closed_on",
    "closure_reason",
    "created_at",
    "updated_at",
)
ACTIVITY_COLUMNS = (
    "id",
    "uid",
    "checkin_token",
    "sequence",
    "campaign_id",
    "station_id",
    "theme_id",
    "series_id",
    "title",
    "starts_at",
    "ends_at",
    "status",
    "capacity",
    "target_groups",
    "description",
    "cancel_reason",
    "cancelled_at",
    "created_at",
    "updated_at",
)
CHECKIN_COLUMNS = (
    "id",
    "activity_id",
    "identity",
    "person_key",
    "group",
    "nonce",
    "source",
    "checked_in_at",
    "annulled_at",
    "annul_reason",
)
HEADCOUNT_COLUMNS = ("id", "activity_id", "group", "count", "updated_at", "updated_by_id")
TARGET_COLUMNS = (
    "id",
    "campaign_id",
    "unit_id",
    "activities",
    "served",
    "stations",
    "updated_at",
    "updated_by_id",
)
SPONSOR_COLUMNS = (
    "id",
    "unit_id",
    "name",
    "kind",
    "contact_name",
    "contact_phone",
    "public_name",
    "is_anonymous",
    "on_honour_roll",
    "status",
    "representative_id",
    "reviewed_by_id",
    "reviewed_at",
    "review_note",
    "created_at",
)
DONATION_COLUMNS = (
    "id",
    "uid",
    "sponsor_id",
    "campaign_id",
    "station_id",
    "kind",
    "description",
    "quantity",
    "unit_label",
    "unit_value",
    "value",
    "status",
    "note",
    "pledged_on",
    "pledged_by_id",
    "received_on",
    "received_by_id",
    "distributed",
    "receipt_number",
    "created_at",
)
DISTRIBUTION_COLUMNS = (
    "id",
    "donation_id",
    "station_id",
    "activity_id",
    "quantity",
    "value",
    "uid",
    "distributed_on",
    "note",
    "created_by_id",
    "created_at",
)


# --- Small helpers -------------------------------------------------------------------------


def _local_epoch(day: date, at: time) -> int:
    """Epoch seconds of a wall-clock time in the province's zone."""
    return int(datetime.combine(day, at, tzinfo=ZONE).timestamp())


def _child_code(parent: str | None, numbers: dict[str, int], kind: str) -> str | None:
    """The next code of a `kind` of sub-unit (3 more digits), or None under an uncoded unit."""
    if parent is None:
        return None
    code = f"{parent}{numbers[kind]:03d}"
    numbers[kind] += 1
    return code


def _clamp(value: float, low: float, high: float) -> float:
    return min(high, max(low, value))


def _pick_share(rng: random.Random, shares) -> str:
    """One value of (value, share) pairs whose shares add up to 1."""
    r = rng.random()
    for value, share in shares:
        r -= share
        if r < 0:
            return value
    return shares[-1][0]


def _pick_weighted(rng: random.Random, pairs):
    """One value of (value, weight) pairs."""
    return rng.choices([v for v, _ in pairs], weights=[w for _, w in pairs])[0]


def _profile(rng: random.Random, kind: str, theme: str, festival: str | None) -> int:
    """Who an activity is for, by the station and the theme: an index into PROFILE_NAMES."""
    if kind == "riders":
        name = "riders"
    elif kind in ("petrol", "drivers"):
        name = "drivers"
    elif kind == "sanitation" or theme in ("cooling_drinks", "warming_drinks", "festival_food"):
        name = "outdoor"
    elif festival == "double_ninth" and theme in ("health_check", "performance"):
        name = "elderly"
    elif theme == "health_check" and rng.random() < 0.1:
        name = "police"
    else:
        name = "general"
    return PROFILE_NAMES.index(name)


def _capped(counts: list[int], caps: list[int]) -> list[int]:
    """`counts` with none above its cap, the excess moved to those below theirs (same total)."""
    if sum(counts) > sum(caps):
        raise ValueError("more activities than the stations have free slots in the year")
    excess = sum(max(0, n - cap) for n, cap in zip(counts, caps, strict=True))
    counts = [min(n, cap) for n, cap in zip(counts, caps, strict=True)]
    i = 0
    while excess:
        if counts[i] < caps[i]:
            counts[i] += 1
            excess -= 1
        i = (i + 1) % len(counts)
    return counts


def _distinct(rng: random.Random, cum_weights: list[float], n: int, first: int = 0) -> list[int]:
    """`n` distinct indexes from `first` on, drawn by cumulative weights."""
    chosen: dict[int, None] = {}
    end = len(cum_weights)
    base = cum_weights[first - 1] if first else 0.0
    span = cum_weights[-1] - base
    random = rng.random
    while len(chosen) < n:
        index = bisect_right(cum_weights, base + random() * span, first, end)
        if index < end:
            chosen[index] = None
    return list(chosen)


def _split(random: Callable[[], float], total: int, weights: list[float]) -> list[int]:
    """`total` people over groups in proportion to `weights`, give or take (a cheap stand-in
    for a multinomial draw: each group in turn takes a noisy share of what is left)."""
    parts = [0] * len(weights)
    last = max(i for i, w in enumerate(weights) if w > 0)
    left, weight_left = total, sum(weights)
    for i, w in enumerate(weights):
        if not left:
            break
        if i == last:
            parts[i] = left
            break
        if w <= 0:
            continue
        n = min(left, round(left * w / weight_left * (0.6 + 0.8 * random())))
        parts[i] = n
        left -= n
        weight_left -= w
    return parts


def _number_receipts(arrivals: list[tuple[date, int, _Node, list]]) -> Counter:
    """Number the receipts of received gifts per unit and year in the order they arrived, as
    sponsors.services.next_receipt_number does (530100-2024-00007), writing each number into
    its donation's row; return the last number per (unit id, year)."""
    last: Counter = Counter()
    for received_on, _id, unit, row in sorted(arrivals, key=lambda a: (a[0], a[1])):
        key = (unit.id, received_on.year)
        last[key] += 1
        row[DONATION_COLUMNS.index("receipt_number")] = (
            f"{unit.code or f'U{unit.id}'}-{received_on.year}-{last[key]:05d}"
        )
    return last
