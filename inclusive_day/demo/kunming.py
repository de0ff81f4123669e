"""The Kunming "工会驿站普惠日" campaign (2023-10-19 to 2024-02-26), rebuilt as records.

The figures follow the report of 2024-02-26: 256 activities at trade union post stations
serving 76,800 person-times. Everything is drawn from one seeded random generator, so every
load gives the same data; the stations' running (door traffic, masters, training and duty,
demo.kunming_running) adds the last four weeks up to the moment of the load.
"""

from __future__ import annotations

import random
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import NamedTuple

from sqlalchemy import insert, select

from inclusive_day.activities.models import Activity
from inclusive_day.activities.models import Series as SeriesRow
from inclusive_day.activities.queries import count_activities
from inclusive_day.activities.services import local_day, schedule_activity
from inclusive_day.attendance.identity import app_identity_key, identity_for
from inclusive_day.attendance.models import BeneficiaryGroup, CheckIn, CheckInSource, Headcount
from inclusive_day.attendance.queries import totals
from inclusive_day.auth.models import Role, User
from inclusive_day.auth.services import create_user, grant
from inclusive_day.campaigns.models import Campaign
from inclusive_day.campaigns.services import create_campaign, themes_by_code
from inclusive_day.construction.models import ConstructionTarget, CoverageGoal
from inclusive_day.demo.kunming_running import run_stations
from inclusive_day.demo.points import load_points
from inclusive_day.demo.shares import apportion
from inclusive_day.demo.shelf import load_shelves
from inclusive_day.demo.volunteers import load_volunteers
from inclusive_day.extensions import db
from inclusive_day.funds.models import FundKind, FundLine
from inclusive_day.periods import DEFAULT_ZONE
from inclusive_day.sponsors.models import (
    Donation,
    DonationKind,
    DonationStatus,
    Sponsor,
    SponsorKind,
    SponsorStatus,
)
from inclusive_day.sponsors.services import distribute, next_receipt_number
from inclusive_day.stations.inspections import record_inspection
from inclusive_day.stations.models import (
    Amenity,
    CheckItem,
    HostType,
    InspectionResult,
    Label,
    LabelAward,
    Partner,
    Station,
)
from inclusive_day.stations.services import create_station
from inclusive_day.units.models import Level, Unit
from inclusive_day.units.services import create_unit

SEED = 20231019
DEMO_PASSWORD = "inclusive-day-2023"
ZONE = DEFAULT_ZONE
UID_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_DNS, "kunming.demo.inclusive-day")

PROVINCE = ("云南省总工会", "530000")
CITY = ("昆明市总工会", "530100")
CAMPAIGN_NAME = "工会驿站普惠日"
# The city's construction target for 2023 and its coverage goals (all streets, nine in ten
# communities).
CONSTRUCTION_YEAR = 2023
CITY_TARGET = 50
COVERAGE_GOALS = ((Level.STREET, 100), (Level.COMMUNITY, 90))
CAMPAIGN_START = date(2023, 10, 19)
CAMPAIGN_END = date(2024, 2, 26)
CAMPAIGN_DESCRIPTION = (
    "在云南省总工会指导下，昆明市总工会以户外劳动者实际需求为导向，创新服务内容和举措，"
    "推出“工会驿站普惠日”主题品牌活动。通过品牌共建、资源共享、活动共办的模式，"
    "市、县（区）、街道、社区四级工会联动，把工会驿站、普惠活动与暖心服务深度融合，"
    "让户外劳动者享受到更便捷、更实在的普惠服务。"
)
TOTAL_ACTIVITIES = 256
TOTAL_SERVED = 76_800


# --- The union tree and its stations -------------------------------------------------------


class District(NamedTuple):
    """A district union, its streets (with their communities) and its stations."""

    abbr: str
    name: str
    code: str | None
    place: str
    centre: tuple[float, float]
    streets: tuple[tuple[str, tuple[str, ...]], ...]
    # (street or community it belongs to, or None for the district itself; name; partner; road)
    stations: tuple[tuple[str | None, str, str, str], ...]


SINOPEC, TELECOM, CCB, MEITUAN = "中国石化", "中国电信", "中国建设银行", "美团"

# fmt: off
DISTRICTS = (
    District(
        "WH", "五华区总工会", "530102", "五华区", (25.043, 102.704),
        (("华山", ("翠湖", "五一")), ("护国", ("文明",)), ("大观", ("篆塘", "大观楼"))),
        (
            ("华山街道", "华山街道工会驿站", "", "华山南路45号"),
            ("翠湖社区", "翠湖社区工会驿站", "", "翠湖南路8号"),
            ("护国街道", "中国电信东风西路营业厅爱心翼站", TELECOM, "东风西路123号"),
            ("大观街道", "建设银行大观支行工会驿站", CCB, "大观路220号"),
            ("篆塘社区", "篆塘社区工会驿站", "", "西坝路26号"),
            ("文明社区", "中国石化人民西路加油站工会驿站", SINOPEC, "人民西路301号"),
            ("大观楼社区", "大观楼社区工会驿站", "", "大观街58号"),
            (None, "五华区骑手之家工会驿站", MEITUAN, "三市街6号"),
        ),
    ),
    District(
        "PL", "盘龙区总工会", "530103", "盘龙区", (25.070, 102.720),
        (("拓东", ("拓东", "金马")), ("鼓楼", ("北门",)), ("东华", ("东华", "金实"))),
        (
            ("拓东街道", "拓东街道工会驿站", "", "拓东路71号"),
            ("拓东社区", "拓东社区工会驿站", "", "拓东路18号"),
            ("金马社区", "中国石化东风东路加油站工会驿站", SINOPEC, "东风东路56号"),
            ("鼓楼街道", "鼓楼街道北京路工会驿站", "", "北京路886号"),
            ("北门社区", "建设银行北京路支行工会驿站", CCB, "北京路502号"),
            ("东华街道", "东华街道工会驿站", "", "东华路9号"),
            ("东华社区", "中国电信东华营业厅爱心翼站", TELECOM, "东华路112号"),
            ("金实社区", "金实社区工会驿站", "", "金实路5号"),
            (None, "盘龙区骑手之家工会驿站", MEITUAN, "北京路1079号"),
        ),
    ),
    District(
        "GD", "官渡区总工会", "530111", "官渡区", (25.015, 102.748),
        (("关上", ("关上中心区", "广卫")), ("太和", ("和平村",)), ("吴井", ("吴井", "东站"))),
        (
            ("关上街道", "关上街道工会驿站", "", "关上北路33号"),
            ("关上中心区社区", "关上中心区社区工会驿站", "", "春城路219号"),
            ("广卫社区", "中国石化春城路加油站工会驿站", SINOPEC, "春城路318号"),
            ("太和街道", "太和街道工会驿站", "", "北京路612号"),
            ("和平村社区", "建设银行白塔路支行工会驿站", CCB, "白塔路88号"),
            ("吴井街道", "吴井街道工会驿站", "", "吴井路152号"),
            ("吴井社区", "中国电信吴井营业厅爱心翼站", TELECOM, "吴井路301号"),
            ("东站社区", "东站社区工会驿站", "", "东站南路17号"),
            ("关上街道", "关上环卫工人工会驿站", "", "民航路400号"),
            (None, "官渡区骑手之家工会驿站", MEITUAN, "日新路166号"),
        ),
    ),
    District(
        "XS", "西山区总工会", "530112", "西山区", (25.020, 102.665),
        (("金碧", ("金碧", "书林")), ("永昌", ("永昌",)), ("前卫", ("前卫", "福德"))),
        (
            ("金碧街道", "金碧街道工会驿站", "", "金碧路288号"),
            ("金碧社区", "中国石化金碧路加油站工会驿站", SINOPEC, "金碧路512号"),
            ("书林社区", "书林社区工会驿站", "", "书林街102号"),
            ("永昌街道", "永昌街道工会驿站", "", "永昌路35号"),
            ("永昌社区", "建设银行西园路支行工会驿站", CCB, "西园路210号"),
            ("前卫街道", "前卫街道工会驿站", "", "前卫西路96号"),
            ("福德社区", "中国电信前兴路营业厅爱心翼站", TELECOM, "前兴路688号"),
            (None, "西山区骑手之家工会驿站", MEITUAN, "滇池路569号"),
        ),
    ),
    District(
        "CG", "呈贡区总工会", "530114", "呈贡区", (24.888, 102.821),
        (("龙城", ("龙街",)), ("乌龙", ("乌龙", "雨花"))),
        (
            ("龙城街道", "龙城街道工会驿站", "", "龙城路27号"),
            ("龙街社区", "龙街社区工会驿站", "", "龙街路15号"),
            ("乌龙街道", "乌龙街道工会驿站", "", "春融西路66号"),
            ("雨花社区", "中国石化呈贡大道加油站工会驿站", SINOPEC, "呈贡大道199号"),
            ("乌龙社区", "建设银行呈贡支行工会驿站", CCB, "春融街120号"),
        ),
    ),
    District(
        "KF", "昆明经济技术开发区总工会", None, "昆明经开区", (24.960, 102.800),
        (("洛羊", ("洛羊", "大冲")), ("阿拉", ("阿拉",))),
        (
            ("洛羊街道", "洛羊街道工会驿站", "", "信息产业基地林溪路8号"),
            ("洛羊社区", "洛羊社区工会驿站", "", "洛羊路21号"),
            ("大冲社区", "中国石化经开区加油站工会驿站", SINOPEC, "经开路3号"),
            ("阿拉街道", "阿拉街道工会驿站", "", "阿拉街77号"),
            ("阿拉社区", "经开区骑手之家工会驿站", MEITUAN, "出口加工区顺通大道50号"),
        ),
    ),
)
# fmt: on

# Stations were registered before the campaign opened on 2023-10-19; they opened through 2023.
REGISTERED = datetime(2023, 9, 1, 2, 0, tzinfo=UTC)
FIRST_OPENED = date(2023, 1, 9)
LAST_OPENED = date(2023, 10, 13)


# --- The network: partners, host types, labels, funds ------------------------------------------

# The co-building partners, kept by the city union: (name, contact, phone, sponsor key).
PARTNERS = (
    (SINOPEC, "杨经理", "0871-63101234", "sinopec"),
    (TELECOM, "赵经理", "0871-63102345", "telecom"),
    (CCB, "周经理", "0871-63103456", "ccb"),
    (MEITUAN, "李经理", "0871-63104567", "meituan"),
)
# Where a partner's stations are housed.
PARTNER_HOST = {
    SINOPEC: "gas_station",
    TELECOM: "telecom_hall",
    CCB: "bank",
    MEITUAN: "express_site",
}
# Stations in parks, by a word of their name.
PARK_STATIONS = ("翠湖", "大观楼")
# (label code, year, awarding unit: "province", "city" or "district", station codes)
LABEL_AWARDS = (
    ("national_most_beautiful", 2023, "province", ("KM-WH-002",)),
    (
        "provincial_level",
        2023,
        "province",
        ("KM-WH-002", "KM-PL-001", "KM-GD-001", "KM-GD-003", "KM-XS-001", "KM-CG-001"),
    ),
    ("demonstration", 2023, "city", ("KM-GD-010", "KM-KF-001", "KM-PL-007")),
    ("smart", 2023, "district", ("KM-PL-007", "KM-WH-003")),
)
# Every station that never closes holds the 24-hour label, awarded by its district.
OPEN_24H_LABEL = "open_24h"
# Money, in yuan: each new station's construction subsidy from its district (a community
# station gets less), the city's operating subsidy of every provincial-level station, and
# what partners put into the stations they house.
CONSTRUCTION_SUBSIDY = {"street": Decimal("20000.00"), "community": Decimal("10000.00")}
OPERATING_SUBSIDY = Decimal("3000.00")
OPERATING_LABEL = "provincial_level"
OPERATING_ALLOCATED, OPERATING_PAID = date(2023, 12, 1), date(2023, 12, 20)
LEVERAGED = {SINOPEC: Decimal("15000.00"), TELECOM: Decimal("8000.00"), CCB: Decimal("8000.00")}
# The city's own investment in each riders' home (骑手之家).
RIDERS_HOME_INVESTMENT = Decimal("30000.00")
PAID_AFTER = timedelta(days=30)
OPENING_HOURS = ("08:00-20:00", "08:30-18:00", "09:00-21:00", "07:30-19:30")
BASE_AMENITIES = (Amenity.WATER, Amenity.CHARGING, Amenity.SEATS)
EXTRA_AMENITIES = tuple(a for a in Amenity if a not in BASE_AMENITIES)
AMENITY_ZH = {
    Amenity.WATER: "饮水",
    Amenity.CHARGING: "手机充电",
    Amenity.MICROWAVE: "热饭",
    Amenity.FRIDGE: "冷藏",
    Amenity.AIR_CONDITIONING: "空调",
    Amenity.TOILET: "如厕",
    Amenity.SEATS: "休息",
    Amenity.WIFI: "无线网络",
    Amenity.FIRST_AID: "应急药箱",
    Amenity.BOOKS: "阅读",
}


# --- The activities ----------------------------------------------------------------------

Slot = tuple[time, time]
MORNING: Slot = (time(9), time(11, 30))
LATE_MORNING: Slot = (time(9, 30), time(11, 30))
NOON: Slot = (time(10, 30), time(13))
AFTERNOON: Slot = (time(14), time(17))
SHORT_AFTERNOON: Slot = (time(14, 30), time(16, 30))


@dataclass(frozen=True)
class Series:
    """A run of activities of the report, spread evenly over its dates and its stations."""

    key: str
    items: tuple[tuple[str, str], ...]  # (theme code, title), used in turn
    first: date
    last: date
    count: int
    slots: tuple[Slot, ...]
    profile: str
    description: str
    districts: tuple[str, ...] = ()  # every district when empty
    keyword: str = ""  # only stations whose name holds it


SERIES = (
    Series(
        key="launch",
        items=(("gift_bags", "“工会驿站普惠日”启动仪式暨爱心礼包发放"),),
        first=date(2023, 10, 19),
        last=date(2023, 10, 19),
        count=6,
        slots=(LATE_MORNING,),
        profile="general",
        description="“工会驿站普惠日”主题品牌活动正式启动，各区工会同步在驿站为户外劳动者发放爱心礼包。",
    ),
    Series(
        key="police",
        items=(("health_check", "普惠日·暖警助警 健康体检进基层"),),
        first=date(2023, 11, 1),
        last=date(2023, 12, 20),
        count=12,
        slots=(MORNING, AFTERNOON),
        profile="police",
        description="市总工会联合市公安局工会，为基层派出所、交警中队的民辅警送上健康体检和暖心慰问品。",
    ),
    Series(
        key="riders",
        items=(("health_check", "普惠日·骑手健康服务季 骑手免费体检"),),
        first=date(2023, 11, 10),
        last=date(2024, 1, 12),
        count=20,
        slots=(AFTERNOON, SHORT_AFTERNOON),
        profile="riders",
        description="市总工会与美团联合开展“骑手健康服务季”，为外卖骑手免费体检并送上暖心礼包。",
        keyword="骑手之家",
    ),
    Series(
        key="panlong_spring",
        items=(
            ("performance", "驿站春季服务季·新春游园会"),
            ("festival_food", "驿站春季服务季·提前吃顿年夜饭"),
            ("gift_bags", "驿站春季服务季·新春送温暖慰问"),
            ("spring_couplets", "驿站春季服务季·送春联送祝福"),
            ("knowledge_quiz", "驿站春季服务季·趣味游戏闯关"),
        ),
        first=date(2024, 1, 15),
        last=date(2024, 2, 8),
        count=24,
        slots=(NOON, AFTERNOON),
        profile="general",
        description="盘龙区总工会联动辖区工会驿站开展“驿站春季服务季”系列活动，"
        "用“花式”服务让户外劳动者感受“娘家人”的温暖。",
        districts=("PL",),
    ),
    Series(
        key="laba",
        items=(("festival_food", "普惠日·温暖户外劳动者 腊八粥暖心送"),),
        first=date(2024, 1, 18),
        last=date(2024, 1, 18),
        count=7,
        slots=(MORNING,),
        profile="outdoor",
        description="腊八节当天，市总工会联合官渡区总工会在七个工会驿站为户外劳动者送上腊八粥、春联和福袋。",
        districts=("GD",),
    ),
    Series(
        key="xishan_new_year",
        items=(
            ("spring_couplets", "乐享新年·喜迎新春 翰墨送福写春联"),
            ("gift_bags", "乐享新年·喜迎新春 新春爱心礼包"),
            ("festival_food", "乐享新年·喜迎新春 包饺子迎新春"),
            ("performance", "乐享新年·喜迎新春 新春文艺汇演"),
        ),
        first=date(2024, 1, 29),
        last=date(2024, 2, 8),
        count=10,
        slots=(MORNING, AFTERNOON),
        profile="general",
        description="春节前夕，市总工会与西山区总工会开展“工会驿站普惠日·乐享新年 喜迎新春”活动。",
        districts=("XS",),
    ),
    Series(
        key="lantern",
        items=(
            ("festival_food", "普惠日·元宵节关爱劳动者 送汤圆送祝福"),
            ("knowledge_quiz", "普惠日·元宵节关爱劳动者 猜灯谜"),
            ("health_check", "普惠日·元宵节关爱劳动者 义诊体检"),
            ("haircut", "普惠日·元宵节关爱劳动者 公益义剪"),
        ),
        first=date(2024, 2, 24),
        last=date(2024, 2, 24),
        count=12,
        slots=(MORNING, AFTERNOON),
        profile="outdoor",
        description="元宵节当天，市总工会为户外劳动者送汤圆、送祝福，并开展猜灯谜、健康体检和公益义剪。",
    ),
    Series(
        key="etdz",
        items=(
            ("gift_bags", "工会驿站揭牌暨普惠日送温暖"),
            ("health_check", "普惠日·健康服务送到驿站"),
            ("handicraft", "普惠日·手工DIY体验"),
            ("knowledge_quiz", "普惠日·工会驿站有奖知识问答"),
        ),
        first=date(2023, 10, 26),
        last=date(2024, 1, 31),
        count=14,
        slots=(MORNING, AFTERNOON),
        profile="general",
        description="经开区把工会驿站普惠日与驿站揭牌、送温暖慰问相结合，"
        "开展健康服务、手工DIY体验和工会驿站有奖知识问答。",
        districts=("KF",),
    ),
)

# The weekly round at stations across the city; warm ginger tea once winter has started.
REGULAR_FIRST = date(2023, 10, 20)
WINTER_STARTS = date(2023, 11, 8)
REGULAR_SLOTS = (MORNING, LATE_MORNING, AFTERNOON, SHORT_AFTERNOON)
REGULAR = (
    ("haircut", "工会驿站普惠日·公益义剪", "财贸爱心服务站志愿者定期到驿站为户外劳动者免费理发。"),
    (
        "health_check",
        "工会驿站普惠日·健康义诊",
        "医护志愿者为户外劳动者测血压、测血糖，提供健康咨询。",
    ),
    ("anti_fraud", "工会驿站普惠日·反诈宣讲进驿站", "中国电信志愿者讲解常见电信网络诈骗手法。"),
    (
        "legal_aid",
        "工会驿站普惠日·法律援助咨询",
        "工会律师为户外劳动者解答欠薪、工伤、劳动合同等问题。",
    ),
    ("warming_drinks", "工会驿站普惠日·冬日暖心姜茶", "寒冬时节，驿站为户外劳动者熬煮红糖姜茶。"),
)


# --- Attendance --------------------------------------------------------------------------

# How many people an activity of each theme draws, relative to a health check.
THEME_SIZE = {
    "performance": 3.0,
    "festival_food": 2.6,
    "gift_bags": 2.0,
    "spring_couplets": 1.6,
    "warming_drinks": 1.4,
    "health_check": 1.0,
    "knowledge_quiz": 1.0,
    "anti_fraud": 0.9,
    "handicraft": 0.6,
    "haircut": 0.45,
    "legal_aid": 0.4,
}

G = BeneficiaryGroup
# Who comes, in shares, by the activity's audience.
PROFILES = {
    "general": {
        G.SANITATION: 30,
        G.RIDER: 20,
        G.COURIER: 15,
        G.DRIVER: 10,
        G.CONSTRUCTION: 10,
        G.POLICE: 5,
        G.ELDERLY: 5,
        G.OTHER: 5,
    },
    "police": {G.POLICE: 80, G.SANITATION: 8, G.OTHER: 7, G.DRIVER: 5},
    "riders": {G.RIDER: 75, G.COURIER: 20, G.OTHER: 5},
    "outdoor": {G.SANITATION: 45, G.CONSTRUCTION: 15, G.COURIER: 15, G.RIDER: 15, G.DRIVER: 10},
    "drivers": {G.DRIVER: 55, G.RIDER: 15, G.COURIER: 15, G.SANITATION: 15},
}
# The synthetic people who check in, by group: the same numbers come back again and again.
POOL_SIZES = {
    G.RIDER: 1500,
    G.COURIER: 900,
    G.SANITATION: 1500,
    G.DRIVER: 800,
    G.POLICE: 700,
    G.CONSTRUCTION: 600,
    G.ELDERLY: 300,
    G.OTHER: 400,
}
MOBILE_PREFIXES = ("13", "15", "18")
CHECKIN_SHARE = (0.15, 0.30)
PAPER_SHARE = 0.05


# --- Sponsors and users ------------------------------------------------------------------


class Gift(NamedTuple):
    """One donation: value is quantity × unit value unless given."""

    kind: DonationKind
    description: str
    quantity: int | None
    unit_label: str
    unit_value: str | None
    value: str | None
    status: DonationStatus
    pledged_on: date
    received_on: date | None


class Giver(NamedTuple):
    """A sponsor, the unit (code or district abbr) it registered with, and its gifts."""

    key: str
    name: str
    kind: SponsorKind
    unit: str
    contact: str
    anonymous: bool
    gifts: tuple[Gift, ...]


ENTERPRISE, RECEIVED = SponsorKind.ENTERPRISE, DonationStatus.RECEIVED
CASH, KIND, SERVICE = DonationKind.CASH, DonationKind.IN_KIND, DonationKind.SERVICE

# Giver(key, name, kind, unit, contact, anonymous, (Gift(kind, description, quantity, unit label,
#       unit value, value, status, pledged on, received on), ...)); money in yuan, as text for
# Decimal. As the reports tell it: Shilin Tianwaitian gave 100,000 yuan of water tickets and the
# "Salute to Outdoor Workers" mineral water; the 100 dental implants went to grass-roots police
# and auxiliary police.
# fmt: off
SPONSORS = (
    Giver("meituan", "美团", ENTERPRISE, "530100", "李经理", False,
          (Gift(KIND, "骑手健康服务季爱心礼包", 2000, "份", "60", None,
                RECEIVED, date(2023, 11, 1), date(2023, 11, 8)),)),
    Giver("telecom", "中国电信云南分公司", ENTERPRISE, "530100", "赵经理", False,
          (Gift(SERVICE, "反诈宣讲进工会驿站", 30, "场", "1000", None,
                RECEIVED, date(2023, 10, 25), date(2023, 11, 1)),)),
    Giver("sinopec", "中国石化云南石油分公司", ENTERPRISE, "530100", "杨经理", False,
          (Gift(KIND, "冬日姜茶（红糖姜茶冲饮）", 1000, "份", "10", None,
                RECEIVED, date(2023, 10, 19), date(2023, 10, 30)),
           Gift(KIND, "夏送清凉绿茶", 2000, "瓶", "4", None,
                DonationStatus.PLEDGED, date(2024, 2, 20), None))),
    Giver("tianwaitian", "石林天外天", ENTERPRISE, "530100", "马总经理", False,
          (Gift(KIND, "送水券（每本面值100元）", 1000, "本", "100", None,
                RECEIVED, date(2023, 10, 19), date(2023, 10, 30)),
           Gift(KIND, "“致敬户外劳动者”文创矿泉水", 20000, "瓶", "2", None,
                RECEIVED, date(2023, 11, 1), date(2023, 11, 10)))),
    Giver("ccb", "中国建设银行昆明分行", ENTERPRISE, "530100", "周经理", False,
          (Gift(KIND, "新春爱心礼包", 1500, "份", "80", None,
                RECEIVED, date(2024, 1, 5), date(2024, 1, 20)),)),
    Giver("dental", "昆明德韩口腔医院", ENTERPRISE, "530100", "刘院长", False,
          (Gift(SERVICE, "为基层民辅警免费种植牙", 100, "颗", "3000", None,
                RECEIVED, date(2023, 11, 1), date(2023, 11, 6)),)),
    Giver("barbers", "财贸爱心服务站义剪志愿服务队", SponsorKind.VOLUNTEER_TEAM, "PL",
          "王队长", False,
          (Gift(SERVICE, "每月定期到工会驿站公益义剪", 20, "场", None, "0",
                RECEIVED, date(2023, 10, 19), date(2023, 10, 19)),)),
    Giver("rt_mart", "大润发昆明店", ENTERPRISE, "530100", "孙店长", False,
          (Gift(KIND, "元宵节汤圆", 1000, "袋", "18", None,
                RECEIVED, date(2024, 2, 15), date(2024, 2, 23)),)),
    Giver("charity", "昆明市慈善总会", SponsorKind.CHARITY, "530100", "钱秘书长", False,
          (Gift(CASH, "工会驿站普惠日公益资金", None, "", None, "50000",
                RECEIVED, date(2023, 11, 15), date(2023, 11, 28)),)),
    Giver("anonymous", "陈女士", SponsorKind.INDIVIDUAL, "GD", "", True,
          (Gift(CASH, "腊八节爱心捐款", None, "", None, "5000",
                RECEIVED, date(2024, 1, 10), date(2024, 1, 12)),)),
)
# fmt: on


class HandOut(NamedTuple):
    """Part of a gift (the sponsor's `gift`-th) handed out: `each` at every activity of a series
    and/or theme (the first `most` of them that came after the gift arrived), or at their
    stations when `to_stations` (cash or goods for a station's supplies)."""

    sponsor: str
    series: str | None
    theme: str | None
    each: str
    most: int
    to_stations: bool = False
    gift: int = 0


# What the organisers handed out, as the reports tell it: all the water tickets (40 books at
# each Laba porridge stop, the rest to the stations of the weekly round) and all the mineral
# water, all 100 implants at the police health checks, the riders' gift bags, part of the New
# Year bags and dumplings.
HAND_OUTS = (
    HandOut("meituan", "riders", None, "100", 20),
    HandOut("telecom", None, "anti_fraud", "1", 30),
    HandOut("tianwaitian", "laba", None, "40", 7),
    HandOut("tianwaitian", "regular", None, "72", 10, to_stations=True),
    HandOut("tianwaitian", "regular", None, "2000", 10, to_stations=True, gift=1),
    HandOut("dental", "police", None, "10", 10),
    HandOut("sinopec", "regular", "warming_drinks", "30", 24),
    HandOut("ccb", None, "gift_bags", "100", 12),
    HandOut("barbers", None, "haircut", "1", 20),
    HandOut("rt_mart", "lantern", "festival_food", "300", 3),
    HandOut("charity", "regular", "warming_drinks", "5000", 6, to_stations=True),
    HandOut("anonymous", "laba", None, "700", 7),
)

# (username, display name, role, what the grant is over, which one)
DEMO_USERS = (
    ("admin", "系统管理员", Role.ADMIN, None, None),
    ("kunming", "昆明市总工会组织员", Role.ORGANISER, "unit", "530100"),
    ("guandu", "官渡区总工会组织员", Role.ORGANISER, "unit", "GD"),
    ("viewer", "云南省总工会查看员", Role.VIEWER, "unit", "530000"),
    ("station", "{name}站长", Role.STATION_MANAGER, "station", "laba"),
    ("sponsor", "{name}联络人", Role.SPONSOR_REP, "sponsor", "sinopec"),
)


# --- Results -----------------------------------------------------------------------------


@dataclass(frozen=True)
class DemoLogin:
    """A demo account: who signs in, as what, over what, and the password (if unchanged)."""

    username: str
    role: str
    scope: str
    password: str


@dataclass(frozen=True)
class LoadResult:
    """What a load did: the campaign's id (None if absent) and whether anything was created."""

    campaign_id: int | None
    created: bool


@dataclass(frozen=True)
class Figures:
    """A campaign's figures as the counting rules give them."""

    activities: int
    served: int
    people: int


@dataclass
class Plan:
    """An activity before it is scheduled: what, for whom, then where and when."""

    series: str
    theme: str
    title: str
    description: str
    profile: str
    station: Station
    starts_at: datetime
    ends_at: datetime


# --- Loading -----------------------------------------------------------------------------


def load_kunming(echo: Callable[[str], object] = print) -> LoadResult:
    """Build the Kunming campaign in the session (the caller commits); skip if already there."""
    city = db.session.scalar(select(Unit).where(Unit.code == CITY[1]))
    if city is not None:
        echo("The Kunming demo is already loaded; nothing changed.")
        campaign = find_campaign()
        return LoadResult(campaign.id if campaign else None, created=False)
    rng = random.Random(SEED)
    units = _build_tree()
    partners = _add_partners(units)
    stations = _build_stations(units, partners, rng)
    _build_inspections(
        stations, units, random.Random(SEED + 1)
    )  # its own draws: the rest stays as it was
    campaign = create_campaign(
        units[CITY[1]],
        CAMPAIGN_NAME,
        CAMPAIGN_START,
        CAMPAIGN_END,
        description=CAMPAIGN_DESCRIPTION,
        is_public=True,
    )
    plans = _plan_activities(stations, rng)
    activities = _schedule(campaign, plans)
    _keep_laba_as_series(campaign, activities, plans)
    _record_attendance(activities, plans, rng)
    sponsors = _add_sponsors(units, campaign)
    network = _build_network(units, stations, partners, sponsors)
    laba_station = next(p.station for p in plans if p.series == "laba")
    _add_users({"unit": units, "station": {"laba": laba_station}, "sponsor": sponsors}, echo)
    _hand_out(sponsors, activities, plans)
    running = run_stations(units[CITY[1]], stations, laba_station)
    load_volunteers(units, stations, sponsors, activities, plans)
    load_shelves(stations, sponsors, echo)
    load_points(echo)  # activity points in one district, and some spends (demo.points)
    echo(
        f"Built a union tree of {len(units)} units, {len(stations)} stations,"
        f" {len(activities)} activities and {len(sponsors)} sponsors."
    )
    echo(
        f"Gave them {len(partners)} co-building partners, {network.labels} labels and"
        f" {network.fund_lines} fund lines ({network.money:,} yuan)."
    )
    echo(running.line())
    return LoadResult(campaign.id, created=True)


def find_campaign() -> Campaign | None:
    """The demo campaign owned by the Kunming city union, if it is there."""
    return db.session.scalar(
        select(Campaign)
        .join(Unit, Campaign.unit_id == Unit.id)
        .where(Unit.code == CITY[1], Campaign.name == CAMPAIGN_NAME)
        .order_by(Campaign.id)
    )


def campaign_figures(campaign_id: int) -> Figures:
    """Activities, served and unique people of a campaign, counted from the database."""
    scope = [Activity.campaign_id == campaign_id]
    counted = totals(scope)
    return Figures(count_activities(scope), counted.served, counted.people)


def demo_logins() -> list[DemoLogin]:
    """The demo accounts in the database, with the demo password where it still works."""
    names = [row[0] for row in DEMO_USERS]
    users = {
        u.username: u for u in db.session.scalars(select(User).where(User.username.in_(names)))
    }
    logins = []
    for name in names:
        user = users.get(name)
        if user is None:
            continue
        role, scope = _describe_grant(user)
        password = DEMO_PASSWORD if user.check_password(DEMO_PASSWORD) else "(changed)"
        logins.append(DemoLogin(name, role, scope, password))
    return logins


def _describe_grant(user: User) -> tuple[str, str]:
    """The user's first role and the name of what it covers."""
    if not user.grants:
        return "-", "-"
    row = user.grants[0]
    for model, target_id in (
        (Unit, row.unit_id),
        (Station, row.station_id),
        (Sponsor, row.sponsor_id),
    ):
        if target_id is not None:
            return row.role.value, db.session.get(model, target_id).name
    return row.role.value, "(everything)"


def _build_tree() -> dict[str, Unit]:
    """The union tree, keyed by code (province, city), abbr (district) or "XX街道" / "XX社区"."""
    province = db.session.scalar(select(Unit).where(Unit.code == PROVINCE[1]))
    province = province or create_unit(PROVINCE[0], Level.PROVINCE, code=PROVINCE[1])
    city = create_unit(CITY[0], Level.CITY, province, code=CITY[1])
    units = {PROVINCE[1]: province, CITY[1]: city}
    for district in DISTRICTS:
        parent = create_unit(district.name, Level.DISTRICT, city, code=district.code)
        units[district.abbr] = parent
        for street, communities in district.streets:
            street_unit = create_unit(f"{street}街道工会", Level.STREET, parent)
            units[f"{street}街道"] = street_unit
            for community in communities:
                units[f"{community}社区"] = create_unit(
                    f"{community}社区工会", Level.COMMUNITY, street_unit
                )
    return units


def _add_partners(units: dict[str, Unit]) -> dict[str, Partner]:
    """The co-building partners, kept by the city union (linked to their sponsor records once
    those exist)."""
    partners = {}
    for name, contact, phone, _sponsor in PARTNERS:
        partner = Partner(unit=units[CITY[1]], name=name, contact_name=contact, contact_phone=phone)
        db.session.add(partner)
        partners[name] = partner
    db.session.flush()
    return partners


def _opening_days() -> dict[tuple[str, int], date]:
    """The day each station opened, spread evenly over 2023, taking the districts in turn."""
    widest = max(len(district.stations) for district in DISTRICTS)
    order = [
        (district.abbr, i + 1)
        for i in range(widest)
        for district in DISTRICTS
        if i < len(district.stations)
    ]
    days = _spread(FIRST_OPENED, LAST_OPENED, len(order))
    return dict(zip(order, days, strict=True))


def _host_type(name: str, partner: str) -> str:
    """Where a station is housed: with its partner, in a park, a party-mass service centre
    (communities) or a cabin of its own."""
    if partner:
        return PARTNER_HOST[partner]
    if any(word in name for word in PARK_STATIONS):
        return "park"
    return "party_mass_centre" if "社区" in name else "cabin"


def _build_stations(
    units: dict[str, Unit], partners: dict[str, Partner], rng: random.Random
) -> list[Station]:
    """The post stations, ordered round-robin over the districts so that runs spread out."""
    opened = _opening_days()
    host_types = {h.code: h for h in db.session.scalars(select(HostType))}
    by_district = [
        [
            _build_station(
                units[owner or district.abbr],
                district,
                number,
                spec,
                rng,
                opened[(district.abbr, number)],
                host_types,
                partners,
            )
            for number, (owner, *spec) in enumerate(district.stations, start=1)
        ]
        for district in DISTRICTS
    ]
    widest = max(len(stations) for stations in by_district)
    return [s for i in range(widest) for stations in by_district for s in stations[i : i + 1]]


def _build_station(
    unit: Unit,
    district: District,
    number: int,
    spec: list[str],
    rng: random.Random,
    opened_on: date,
    host_types: dict[str, HostType],
    partners: dict[str, Partner],
) -> Station:
    """One station with a jittered position near its district's centre and some amenities."""
    name, partner, road = spec
    amenities = [*BASE_AMENITIES, *rng.sample(EXTRA_AMENITIES, rng.randint(2, 5))]
    offers = "、".join(AMENITY_ZH[a] for a in Amenity if a in amenities)
    open_24h = partner == SINOPEC  # petrol stations never close
    latitude, longitude = (round(c + rng.uniform(-0.018, 0.018), 6) for c in district.centre)
    return create_station(
        unit,
        f"KM-{district.abbr}-{number:03d}",
        name,
        amenities,
        address=f"云南省昆明市{district.place}{road}",
        latitude=latitude,
        longitude=longitude,
        open_24h=open_24h,
        opening_hours="" if open_24h else rng.choice(OPENING_HOURS),
        partners=[partners[partner]] if partner else [],
        host_type=host_types[_host_type(name, partner)],
        opened_on=opened_on,
        services=f"为户外劳动者提供{offers}等服务。",
        created_at=REGISTERED,
    )


def _build_inspections(stations: list[Station], units: dict[str, Unit], rng: random.Random):
    """The city's winter inspection of every station and each district's quarterly rounds."""
    everything = set(CheckItem)
    city = units[CITY[1]]
    for station in stations:
        district = next(
            u for u in units.values() if u.level is Level.DISTRICT and station.unit.is_within(u)
        )
        for day in (date(2023, 12, 5), date(2024, 2, 28)):
            record_inspection(
                station,
                district,
                day + timedelta(days=rng.randrange(10)),
                everything,
                InspectionResult.PASSED,
            )
        missed = set(rng.sample(list(CheckItem), 1)) if rng.random() < 0.2 else set()
        record_inspection(
            station,
            city,
            date(2024, 1, 8) + timedelta(days=rng.randrange(14)),
            everything - missed,
            InspectionResult.RECTIFY if missed else InspectionResult.PASSED,
            "现场整改完毕。" if missed else "",
        )


class _Bookings:
    """The time windows each station is already booked for, so that none overlap."""

    def __init__(self) -> None:
        self._busy: dict[str, list[tuple[datetime, datetime]]] = defaultdict(list)

    def book(self, station: Station, starts_at: datetime, ends_at: datetime) -> bool:
        """Book the window if the station is free then; say whether it was."""
        busy = self._busy[station.code]
        if any(s < ends_at and starts_at < e for s, e in busy):
            return False
        busy.append((starts_at, ends_at))
        return True


def _plan_activities(stations: list[Station], rng: random.Random) -> list[Plan]:
    """Every activity of the campaign, the report's series first, in time order."""
    bookings = _Bookings()
    plans = [plan for series in SERIES for plan in _series_plans(series, stations, bookings)]
    plans += _regular_plans(TOTAL_ACTIVITIES - len(plans), stations, bookings, rng)
    return sorted(plans, key=lambda p: (p.starts_at, p.station.code))


def _series_plans(series: Series, stations: list[Station], bookings: _Bookings) -> list[Plan]:
    """One series, its items taken in turn and its stations in rotation."""
    pool = [s for s in stations if _takes_part(series, s)]
    plans = []
    for i, day in enumerate(_spread(series.first, series.last, series.count)):
        theme, title = series.items[i % len(series.items)]
        placed = _place(bookings, pool, day, series.slots, i)
        plans.append(Plan(series.key, theme, title, series.description, series.profile, *placed))
    return plans


def _takes_part(series: Series, station: Station) -> bool:
    """Whether a station is in a series' districts and has its keyword in its name."""
    district = station.code.split("-")[1]  # KM-GD-001
    in_district = not series.districts or district in series.districts
    return in_district and series.keyword in station.name


def _regular_plans(
    count: int, stations: list[Station], bookings: _Bookings, rng: random.Random
) -> list[Plan]:
    """The weekly round that brings the campaign to its total."""
    plans = []
    for i, day in enumerate(_spread(REGULAR_FIRST, CAMPAIGN_END, count)):
        in_season = REGULAR if day >= WINTER_STARTS else REGULAR[:-1]
        theme, title, description = in_season[i % len(in_season)]
        slots = rng.sample(REGULAR_SLOTS, len(REGULAR_SLOTS))
        placed = _place(bookings, stations, day, slots, rng.randrange(len(stations)))
        profile = _station_profile(placed[0])
        plans.append(Plan("regular", theme, title, description, profile, *placed))
    return plans


def _station_profile(station: Station) -> str:
    """Who usually comes to a station: drivers at petrol stations, riders at riders' homes."""
    if station.host_type.code == PARTNER_HOST[SINOPEC]:
        return "drivers"
    return "riders" if "骑手之家" in station.name else "general"


def _spread(first: date, last: date, count: int) -> list[date]:
    """`count` days spread evenly from `first` to `last`."""
    span = (last - first).days
    return [first + timedelta(days=span * i // max(count - 1, 1)) for i in range(count)]


def _place(
    bookings: _Bookings, pool: list[Station], day: date, slots: Sequence[Slot], offset: int
) -> tuple[Station, datetime, datetime]:
    """The first free (station, slot) on `day`, trying stations in turn from `offset`."""
    for k in range(len(pool)):
        station = pool[(offset + k) % len(pool)]
        for slot in slots:
            starts_at, ends_at = (_utc(day, t) for t in slot)
            if bookings.book(station, starts_at, ends_at):
                return station, starts_at, ends_at
    raise ValueError(f"no station free on {day}")


def _utc(day: date, at: time) -> datetime:
    """A Kunming wall-clock time as an aware UTC datetime."""
    return datetime.combine(day, at, tzinfo=ZONE).astimezone(UTC)


def _schedule(campaign: Campaign, plans: list[Plan]) -> list[Activity]:
    """Put the planned activities on the calendar, with stable calendar UIDs."""
    themes = themes_by_code()
    return [
        schedule_activity(
            campaign,
            plan.station,
            themes[plan.theme],
            plan.title,
            plan.starts_at,
            plan.ends_at,
            description=plan.description,
            uid=f"{uuid.uuid5(UID_NAMESPACE, f'activity-{number}')}@inclusive-day",
        )
        for number, plan in enumerate(plans, start=1)
    ]


def _keep_laba_as_series(campaign: Campaign, activities: list[Activity], plans: list[Plan]) -> None:
    """The Laba porridge day was one activity fanned out to seven stations: keep it as a series."""
    laba = [(a, p) for a, p in zip(activities, plans, strict=True) if p.series == "laba"]
    first = laba[0][1]
    series = SeriesRow(
        uid=f"{uuid.uuid5(UID_NAMESPACE, 'series-laba')}@inclusive-day",
        campaign=campaign,
        theme=laba[0][0].theme,
        title=first.title,
        description=first.description,
        starts_time=first.starts_at.astimezone(ZONE).time(),
        ends_time=first.ends_at.astimezone(ZONE).time(),
        first_date=first.starts_at.astimezone(ZONE).date(),
        stations={
            "by": "list",
            "unit": None,
            "amenities": [],
            "codes": [p.station.code for _a, p in laba],
        },
    )
    db.session.add(series)
    db.session.flush()
    for activity, _plan in laba:
        activity.series_id = series.id


def _record_attendance(activities: list[Activity], plans: list[Plan], rng: random.Random) -> None:
    """Headcounts and check-ins that add up to exactly TOTAL_SERVED, inserted in bulk."""
    pool = _phone_pool(rng)
    weights = [THEME_SIZE[p.theme] * rng.uniform(0.75, 1.25) for p in plans]
    checkins: list[dict] = []
    headcounts: list[dict] = []
    for number, (activity, plan, size) in enumerate(
        zip(activities, plans, apportion(TOTAL_SERVED, weights), strict=True), start=1
    ):
        scanned = _checkin_rows(number, activity.id, plan, size, pool, rng)
        headcounts += _headcount_rows(activity.id, plan.profile, size - len(scanned))
        checkins += scanned
    db.session.execute(insert(Headcount), headcounts)
    db.session.execute(insert(CheckIn), checkins)


def _phone_pool(rng: random.Random) -> dict[BeneficiaryGroup, list[str]]:
    """Identities of distinct synthetic mobile numbers, a fixed set per group."""
    key = app_identity_key()
    seen: set[str] = set()
    pool = {}
    for group, size in POOL_SIZES.items():
        identities = []
        while len(identities) < size:
            phone = rng.choice(MOBILE_PREFIXES) + f"{rng.randrange(10**9):09d}"
            if phone not in seen:
                seen.add(phone)
                identities.append(identity_for(phone, key))
        pool[group] = identities
    return pool


def _checkin_rows(
    number: int,
    activity_id: int,
    plan: Plan,
    size: int,
    pool: dict[BeneficiaryGroup, list[str]],
    rng: random.Random,
) -> list[dict]:
    """Between 15 and 30 % of an activity's people, checked in by scanning, each at most once."""
    profile = PROFILES[plan.profile]
    wanted = apportion(round(size * rng.uniform(*CHECKIN_SHARE)), list(profile.values()))
    window = int((plan.ends_at - plan.starts_at).total_seconds())
    rows = []
    for group, count in zip(profile, wanted, strict=True):
        for identity in rng.sample(pool[group], min(count, len(pool[group]))):
            rows.append(
                {
                    "activity_id": activity_id,
                    "identity": identity,
                    "group": group,
                    "nonce": f"demo-{number}-{len(rows) + 1}",
                    "source": _source(rng),
                    "checked_in_at": plan.starts_at + timedelta(seconds=rng.randrange(window)),
                }
            )
    return rows


def _source(rng: random.Random) -> CheckInSource:
    """Most people scan the QR code; a few sign a paper sheet typed in later."""
    return CheckInSource.PAPER if rng.random() < PAPER_SHARE else CheckInSource.QR


def _headcount_rows(activity_id: int, profile: str, people: int) -> list[dict]:
    """The people staff counted rather than scanned, one row per group that came."""
    groups = PROFILES[profile]
    return [
        {"activity_id": activity_id, "group": group, "count": count}
        for group, count in zip(groups, apportion(people, list(groups.values())), strict=True)
        if count
    ]


def _add_sponsors(units: dict[str, Unit], campaign: Campaign) -> dict[str, Sponsor]:
    """The caring enterprises, charity, volunteers and one anonymous giver, with their gifts."""
    sponsors = {}
    for giver in SPONSORS:
        sponsor = Sponsor(
            unit=units[giver.unit],
            name=giver.name,
            kind=giver.kind,
            contact_name=giver.contact,
            public_name="" if giver.anonymous else giver.name,
            is_anonymous=giver.anonymous,
            status=SponsorStatus.APPROVED,
        )
        db.session.add(sponsor)
        db.session.add_all(_donation(sponsor, campaign, gift) for gift in giver.gifts)
        sponsors[giver.key] = sponsor
    db.session.flush()
    return sponsors


def _donation(sponsor: Sponsor, campaign: Campaign, gift: Gift) -> Donation:
    """A donation row for a gift; value is quantity × unit value unless the gift names one.
    A received gift has its receipt number, as the organisers' confirmation gives it."""
    quantity = Decimal(gift.quantity) if gift.quantity is not None else None
    unit_value = Decimal(gift.unit_value) if gift.unit_value is not None else None
    value = Decimal(gift.value) if gift.value is not None else quantity * unit_value
    received = gift.received_on is not None
    return Donation(
        receipt_number=next_receipt_number(sponsor.unit, gift.received_on.year)
        if received
        else None,
        sponsor=sponsor,
        campaign=campaign,
        kind=gift.kind,
        description=gift.description,
        quantity=quantity,
        unit_label=gift.unit_label,
        unit_value=unit_value,
        value=value,
        status=gift.status,
        pledged_on=gift.pledged_on,
        received_on=gift.received_on,
    )


def _hand_out(sponsors: dict[str, Sponsor], activities: list[Activity], plans: list[Plan]):
    """Record HAND_OUTS through the distribution service, as the city's organiser."""
    organiser = db.session.scalar(select(User).where(User.username == "kunming"))
    if organiser is None:
        return
    donations = {
        key: db.session.scalars(
            select(Donation).where(Donation.sponsor_id == sponsor.id).order_by(Donation.id)
        ).all()
        for key, sponsor in sponsors.items()
    }
    for hand_out in HAND_OUTS:
        donation = donations[hand_out.sponsor][hand_out.gift]
        chosen = [
            activity
            for activity, plan in zip(activities, plans, strict=True)
            if hand_out.series in (None, plan.series)
            and hand_out.theme in (None, plan.theme)
            and local_day(activity.starts_at) >= donation.received_on
        ][: hand_out.most]
        for activity in chosen:
            distribute(
                organiser,
                donation,
                quantity=Decimal(hand_out.each),
                on=local_day(activity.starts_at),
                station=activity.station if hand_out.to_stations else None,
                activity=None if hand_out.to_stations else activity,
            )


@dataclass(frozen=True)
class Network:
    """What the network part of the demo added: labels awarded and fund lines, with their sum."""

    labels: int
    fund_lines: int
    money: Decimal


def _build_network(
    units: dict[str, Unit],
    stations: list[Station],
    partners: dict[str, Partner],
    sponsors: dict[str, Sponsor],
) -> Network:
    """Partners linked to their sponsor records, the stations' labels, and the funds: each new
    station's construction subsidy, the operating subsidy of the provincial-level stations, the
    city's investment in riders' homes and the money partners put in."""
    for name, _contact, _phone, sponsor in PARTNERS:
        partners[name].sponsor = sponsors[sponsor]
    by_code = {s.code: s for s in stations}
    district_of = {s.code: units[s.code.split("-")[1]] for s in stations}
    labels = {label.code: label for label in db.session.scalars(select(Label))}
    awards = []
    for code, year, by, station_codes in LABEL_AWARDS:
        for station_code in station_codes:
            awarding = {
                "province": units[PROVINCE[1]],
                "city": units[CITY[1]],
                "district": district_of[station_code],
            }[by]
            awards.append((by_code[station_code], labels[code], year, awarding))
    for station in stations:
        if station.open_24h:
            awards.append((station, labels[OPEN_24H_LABEL], 2023, district_of[station.code]))
    for station, label, year, awarding in awards:
        db.session.add(LabelAward(station=station, label=label, year=year, awarded_by=awarding))

    lines = []
    for station in stations:
        district = district_of[station.code]
        kind = "community" if station.unit.level is Level.COMMUNITY else "street"
        lines.append(
            _fund_line(
                FundKind.CONSTRUCTION_SUBSIDY,
                CONSTRUCTION_SUBSIDY[kind],
                station,
                station.opened_on,
                source_unit=district,
                note="新建工会驿站建设补助",
            )
        )
        partner = station.partners[0].name if station.partners else ""
        if partner in LEVERAGED:
            lines.append(
                _fund_line(
                    FundKind.LEVERAGED,
                    LEVERAGED[partner],
                    station,
                    station.opened_on,
                    partner=partners[partner],
                    note=f"{partner}共建投入（场地、水电、设施）",
                )
            )
        if "骑手之家" in station.name:
            lines.append(
                _fund_line(
                    FundKind.UNION_INVESTMENT,
                    RIDERS_HOME_INVESTMENT,
                    station,
                    station.opened_on,
                    source_unit=units[CITY[1]],
                    note="骑手之家建设投入",
                )
            )
    for station, label, year, _awarding in awards:
        if label.code == OPERATING_LABEL:
            lines.append(
                _fund_line(
                    FundKind.OPERATING_SUBSIDY,
                    OPERATING_SUBSIDY,
                    station,
                    OPERATING_ALLOCATED,
                    source_unit=units[CITY[1]],
                    paid_on=OPERATING_PAID,
                    rule=f"operating:{OPERATING_LABEL}",
                    note="省级工会驿站年度运营补贴",
                    year=year,
                )
            )
    db.session.add_all(lines)
    db.session.add_all(_construction_targets(units, stations))
    db.session.flush()
    return Network(len(awards), len(lines), sum((line.amount for line in lines), Decimal(0)))


def _construction_targets(units: dict[str, Unit], stations: list[Station]) -> list:
    """The city's construction target for 2023, handed down to its districts (each asked for
    one station more than it has, the city for a round 50), and its coverage goals."""
    per_district = Counter(s.code.split("-")[1] for s in stations)
    due = date(CONSTRUCTION_YEAR, 12, 31)
    targets = [
        ConstructionTarget(unit=units[code], year=CONSTRUCTION_YEAR, stations=n + 1, due_on=due)
        for code, n in sorted(per_district.items())
    ]
    city = units[CITY[1]]
    targets.append(
        ConstructionTarget(unit=city, year=CONSTRUCTION_YEAR, stations=CITY_TARGET, due_on=due)
    )
    targets += [
        CoverageGoal(unit=city, year=CONSTRUCTION_YEAR, level=level, percent=percent)
        for level, percent in COVERAGE_GOALS
    ]
    return targets


def _fund_line(
    kind: FundKind,
    amount: Decimal,
    station: Station,
    allocated_on: date,
    source_unit: Unit | None = None,
    partner: Partner | None = None,
    paid_on: date | None = None,
    rule: str | None = None,
    note: str = "",
    year: int | None = None,
) -> FundLine:
    """A ledger line for one station, paid a month after it was allocated unless told."""
    return FundLine(
        kind=kind,
        amount=amount,
        year=year or allocated_on.year,
        unit=station.unit,
        station=station,
        source_unit=source_unit,
        partner=partner,
        allocated_on=allocated_on,
        paid_on=paid_on or allocated_on + PAID_AFTER,
        rule=rule,
        note=note,
    )


def _add_users(targets: dict[str, dict], echo: Callable[[str], object]) -> None:
    """One demo account per role, all with the demo password; existing names are left alone."""
    names = [row[0] for row in DEMO_USERS]
    taken = set(db.session.scalars(select(User.username).where(User.username.in_(names))))
    for username, display_name, role, kind, key in DEMO_USERS:
        if username in taken:
            echo(f"User {username} already exists; left alone.")
            continue
        target = targets[kind][key] if kind else None
        user = create_user(
            username, DEMO_PASSWORD, display_name.format(name=target and target.name)
        )
        grant(user, role, **({kind: target} if kind else {}))
