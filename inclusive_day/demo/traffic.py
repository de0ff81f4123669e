"""Door traffic for the demos and benches: the scans at the doors of a subtree's stations over
a span of days, written in bulk (demo.bulk: binary COPY on PostgreSQL).

Shanxi's 6,246 stations counted "more than 2.23 million person-times", most of them people
walking in. `generate_door_traffic` writes such a year for the stations already in the
database, shaped as door traffic is:

- only while a station is open: from its opened_on, before its closed_on, and not after the
  day it was suspended (its last change); never in the future;
- through the week and the year: a little quieter at weekends, busier in the summer heat and
  the winter cold, and far quieter around the Spring Festival, when many go home;
- unevenly over stations: a few busy ones (riders' homes, stations high in the tree, open
  round the clock), many quiet ones that still see someone every few days, and about one in
  twenty silent for weeks (for most of those, these very weeks), as the live board's "silent
  stations" flag;
- by the groups a station serves (riders at riders' homes, drivers at petrol stations...);
- by regulars: each station has its own people who come back on many days, and the
  district's others drop in now and then, so distinct visitors are far fewer than visits;
- one visit per person, station and day (the table's unique constraint), at a time of day
  within the station's opening hours, and a few more on days the station holds an activity.

Some visitors leave feedback: a rating of one to five, now and then a comment.

Rows go in station by station and day by day, ids rising with the time of the visit, so that
every index of station_visits takes them at or near its right-hand edge. The same seed, days
and `now` give the same rows; identities are the app's keyed hashes of synthetic numbers.
"""

from __future__ import annotations

import math
import random
from bisect import bisect_left, bisect_right
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import cache
from itertools import accumulate

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from inclusive_day.activities.festivals import FestivalError, festival_date
from inclusive_day.activities.models import Activity, ActivityStatus
from inclusive_day.attendance.identity import app_identity_key
from inclusive_day.attendance.models import BeneficiaryGroup, Feedback, StationVisit
from inclusive_day.demo.bulk import BulkWriter
from inclusive_day.demo.people import Phones, identity_hasher
from inclusive_day.demo.shares import apportion
from inclusive_day.periods import zone_of
from inclusive_day.stations.hours import HoursError, parse_hours
from inclusive_day.stations.models import HostType, Station, StationStatus
from inclusive_day.units.models import Level, Unit, under

G = BeneficiaryGroup
GROUPS = tuple(G)
DAY = 86_400

# Who walks in, in shares, by what a station is (see station_profile).
PROFILES = {
    "riders": {G.RIDER: 62, G.COURIER: 22, G.DRIVER: 6, G.OTHER: 10},
    "couriers": {G.COURIER: 50, G.RIDER: 30, G.DRIVER: 8, G.SANITATION: 4, G.OTHER: 8},
    "sanitation": {G.SANITATION: 70, G.CONSTRUCTION: 10, G.ELDERLY: 6, G.OTHER: 14},
    "drivers": {G.DRIVER: 55, G.RIDER: 14, G.COURIER: 14, G.POLICE: 5, G.OTHER: 12},
    "police": {G.POLICE: 60, G.SANITATION: 10, G.DRIVER: 10, G.OTHER: 20},
    "neighbourhood": {
        G.SANITATION: 26, G.RIDER: 18, G.COURIER: 14, G.CONSTRUCTION: 10, G.DRIVER: 8,
        G.ELDERLY: 12, G.POLICE: 3, G.OTHER: 9,
    },
    "general": {
        G.SANITATION: 24, G.RIDER: 22, G.COURIER: 17, G.DRIVER: 12, G.CONSTRUCTION: 10,
        G.POLICE: 5, G.ELDERLY: 4, G.OTHER: 6,
    },
}  # fmt: skip
# How busy a station is, beside chance: what it is, where in the tree, and what it is in.
PROFILE_TRAFFIC = {
    "riders": 1.7,
    "couriers": 1.3,
    "drivers": 1.25,
    "sanitation": 1.2,
    "police": 1.0,
    "neighbourhood": 0.85,
    "general": 1.0,
}
LEVEL_TRAFFIC = {"province": 1.5, "city": 1.8, "district": 1.5, "street": 1.0, "community": 0.75}
HOST_TRAFFIC = {"bank": 0.6, "telecom_hall": 0.7, "shop": 0.8, "enterprise": 0.8}
OPEN_24H_TRAFFIC = 1.3
POPULARITY_SIGMA = 0.9
# Every station draws at least this share of the average station's pull (passers-by): quiet
# ones see someone every few days, so that the silent ones are those given a silent spell.
POPULARITY_FLOOR = 0.25
CITY_SIGMA = 0.35

# The year's shape: by month (the summer heat and the winter cold bring people in), by
# weekday (Monday first) and around the Spring Festival (days from it: factor).
MONTH_SHAPE = (1.05, 0.95, 0.95, 1.0, 1.05, 1.15, 1.35, 1.35, 1.1, 1.0, 1.0, 1.1)
WEEKDAY_SHAPE = (1.0, 1.0, 1.0, 1.0, 1.02, 0.9, 0.82)
WEATHER = (0.85, 1.15)
SPRING_FESTIVAL = ((-10, -8, 0.8), (-7, -1, 0.55), (0, 6, 0.35), (7, 15, 0.65))
# When people walk in (local hour, 0-23), where the station is open then.
HOURLY = (
    0.15, 0.1, 0.08, 0.08, 0.1, 0.3, 0.7, 1.0, 1.1, 1.0, 1.1, 1.6,
    1.9, 1.5, 1.2, 1.2, 1.3, 1.3, 1.4, 1.0, 0.7, 0.5, 0.35, 0.25,
)  # fmt: skip
# Stations with neither opening hours nor round-the-clock opening keep these.
DEFAULT_HOURS = "08:00-20:00"
CLOCK_SAMPLES = 1024

# Regulars make this share of a station's visits, each coming about REGULAR_VISITS times
# over the span (the first of them far more often: SKEW); the district's others come about
# OCCASIONAL_VISITS times, to any of its stations.
REGULAR_SHARE = 0.8
REGULAR_VISITS = 15
REGULAR_SKEW = 1.6
OCCASIONAL_VISITS = 2.5
MIN_POOL = 8
# Stations silent for weeks: the share, how long, and how many of them are silent now.
SILENT_SHARE = 0.05
SILENT_DAYS = (21, 70)
SILENT_NOW = 0.6
# Visits on the days a station holds an activity, over and above its usual traffic.
ACTIVITY_SHARE = 0.06

# Feedback: the share of visits that leave some, then how it reads.
FEEDBACK_SHARE = 0.005
COMMENT_SHARE = 0.3
COMMENT_ONLY_SHARE = 0.04
COMMENTS = {
    5: (
        "夏天有空调有凉茶，跑单累了进来歇一歇，太贴心了！",
        "管理员大姐人很好，每次都帮我们热饭。",
        "充电、喝水都方便，感谢工会娘家人！",
        "环境干净整洁，休息得很舒服。",
        "冬天有热水有姜茶，心里暖暖的。",
    ),
    4: (
        "挺好的，就是中午人多座位有点紧张。",
        "服务不错，希望能多放几根充电线。",
        "位置好找，就是门口不好停电动车。",
    ),
    3: ("还行，微波炉有时候要排队。", "开放时间再长一点就好了。"),
    2: ("来了两次都没人值守，门锁着。", "饮水机没水了，希望及时补充。"),
    1: ("地图上显示开放，到了却关着门。", "空调坏了很久没人修。"),
}
SUGGESTIONS = (
    "建议增加雨伞借用。",
    "能不能晚上也开放？送夜宵的骑手也需要。",
    "希望增加手机快充接口。",
)

VISIT_COLUMNS = ("id", "station_id", "identity", "group", "nonce", "visit_day", "visited_at")
FEEDBACK_COLUMNS = ("id", "station_id", "identity", "visit_day", "rating", "comment", "created_at")


@dataclass(frozen=True)
class TrafficSummary:
    """What `generate_door_traffic` wrote."""

    visits: int
    visitors: int
    # Stations open on some day of the span, and those given a silent spell of weeks.
    stations: int
    silent: int
    feedback: int
    first_day: date
    last_day: date


@dataclass(slots=True)
class SiteRow:
    """A station as the generators read it: its lifecycle, hours and place in the tree."""

    id: int
    unit_id: int
    level: str
    name: str
    host: str
    open_24h: bool
    opening_hours: str
    opened_on: date
    closed_on: date | None
    # The first day it is no longer running: closed, or suspended (its last change), or None.
    ends_on: date | None
    # The city and the district (or the nearest unit above it) it is in, for the shapes that
    # vary by place.
    city_id: int
    area_id: int


def running_stations(session: Session, unit: Unit, first: date, last: date) -> list[SiteRow]:
    """The stations of `unit`'s subtree that were running on some day of [first, last], in
    id order, each with its city and district."""
    zone = zone_of(unit.timezone)
    levels = dict(
        session.execute(
            select(Unit.id, Unit.level).where(
                under(Unit.path, unit.path), Unit.level.in_((Level.CITY, Level.DISTRICT))
            )
        ).all()
    )
    rows = session.execute(
        select(
            Station.id,
            Station.unit_id,
            Unit.path,
            Unit.level,
            Station.name,
            HostType.code,
            Station.open_24h,
            Station.opening_hours,
            Station.opened_on,
            Station.closed_on,
            Station.status,
            Station.updated_at,
        )
        .join(Unit, Unit.id == Station.unit_id)
        .join(HostType, HostType.id == Station.host_type_id)
        .where(
            under(Unit.path, unit.path),
            Station.opened_on <= last,
            or_(Station.closed_on.is_(None), Station.closed_on > first),
        )
        .order_by(Station.id)
    )
    sites = []
    for row in rows:
        ends = row.closed_on
        if row.status is StationStatus.SUSPENDED and row.updated_at is not None:
            ends = max(row.opened_on, row.updated_at.astimezone(zone).date())
        ids = [int(part) for part in row.path.strip("/").split("/")]
        city = next((i for i in ids if levels.get(i) is Level.CITY), unit.id)
        area = next((i for i in ids if levels.get(i) is Level.DISTRICT), row.unit_id)
        sites.append(
            SiteRow(
                row.id, row.unit_id, row.level.value, row.name, row.code, row.open_24h,
                row.opening_hours, row.opened_on, row.closed_on, ends, city, area,
            )
        )  # fmt: skip
    return sites


def station_profile(name: str, host: str) -> str:
    """Who a station mostly serves, read from its name and host type: a key of PROFILES."""
    if any(word in name for word in ("骑手", "新就业形态", "外卖")):
        return "riders"
    if "环卫" in name:
        return "sanitation"
    if host == "gas_station" or any(w in name for w in ("加油站", "客运站", "火车站")):
        return "drivers"
    if host == "express_site" or any(w in name for w in ("快递", "邮政", "顺丰")):
        return "couriers"
    if "警" in name:
        return "police"
    if host in ("party_mass_centre", "park") or "社区" in name or "村" in name:
        return "neighbourhood"
    return "general"


class Clock:
    """A station's day as its hours make it: the seconds after local midnight at which people
    walk in (CLOCK_SAMPLES of them, sorted, weighted by HOURLY where it is open), and when
    its first period opens and its last one closes (past midnight when it runs on)."""

    def __init__(self, open_24h: bool, text: str) -> None:
        try:
            hours = parse_hours(text, open_24h)
        except HoursError:
            hours = parse_hours(DEFAULT_HOURS)
        self.open_24h = hours.open_24h
        if hours.open_24h:
            minutes = [True] * 1440
            self.opens, self.closes = 0, DAY
        else:
            minutes = [False] * 1440
            for start, end in hours.periods:
                a, b = start.hour * 60 + start.minute, end.hour * 60 + end.minute
                for m in range(a, b if b > a else b + 1440):
                    minutes[m % 1440] = True
            first, last = hours.periods[0], hours.periods[-1]
            self.opens = (first[0].hour * 60 + first[0].minute) * 60
            closes = (last[1].hour * 60 + last[1].minute) * 60
            self.closes = closes if closes > self.opens else closes + DAY
        weights = [HOURLY[m // 60] if m_open else 0.0 for m, m_open in enumerate(minutes)]
        cum = list(accumulate(weights))
        total = cum[-1]
        # A stratified sample: the same table every time, the shape exact.
        self.seconds = [
            60 * min(1439, bisect_right(cum, total * (j + 0.5) / CLOCK_SAMPLES))
            for j in range(CLOCK_SAMPLES)
        ]

    def before(self, second: int) -> int:
        """How many of the samples end before `second` after midnight (a visit's minute,
        seconds and all, must be over by then)."""
        return bisect_left(self.seconds, second - 59)


class _Clocks(dict):
    """One Clock per spelling of opening hours."""

    def of(self, open_24h: bool, text: str) -> Clock:
        key = (open_24h, text)
        clock = self.get(key)
        if clock is None:
            clock = self[key] = Clock(open_24h, text)
        return clock


def day_shape(first: date, days: int, rng: random.Random) -> list[float]:
    """The weight of each day from `first`: month, weekday, the weather, the Spring Festival."""
    weights = []
    for d in range(days):
        day = first + timedelta(days=d)
        w = MONTH_SHAPE[day.month - 1] * WEEKDAY_SHAPE[day.weekday()] * rng.uniform(*WEATHER)
        weights.append(w * spring_festival_factor(day))
    return weights


def spring_festival_factor(day: date) -> float:
    """How much of the usual traffic (or duty) a day near the Spring Festival keeps."""
    for year in (day.year, day.year + 1):
        festival = _spring_festival(year)
        if festival is None:
            continue
        offset = (day - festival).days
        for low, high, factor in SPRING_FESTIVAL:
            if low <= offset <= high:
                return factor
    return 1.0


@cache
def _spring_festival(year: int) -> date | None:
    """The day of the Spring Festival in `year`, if the calendar knows it."""
    try:
        return festival_date("spring_festival", year)
    except FestivalError:
        return None


class _Pools:
    """Each district's people by group: every station's regulars (a window of the pool that
    is theirs), then the others. Hashed when the district's first visit of the group is
    written; a pool grows by one when a busy day has used up the people it can draw."""

    def __init__(self, sizes: dict[tuple[int, int], int], phones: Phones, key: bytes) -> None:
        self.sizes = sizes
        self.phones = phones
        self.hash = identity_hasher(key)
        self.pools: dict[tuple[int, int], list[str]] = {}

    def pool(self, area: int, group: int) -> list[str]:
        """The people of one group of a district."""
        key = (area, group)
        pool = self.pools.get(key)
        if pool is None:
            identity = self.hash
            pool = self.pools[key] = [identity(p) for p in self.phones.take(self.sizes[key])]
        return pool

    def newcomer(self, pool: list[str]) -> str:
        """Someone new to the district, added to its pool."""
        person = self.hash(self.phones.take(1)[0])
        pool.append(person)
        return person


@dataclass(slots=True)
class _Plan:
    """One station's traffic before it is drawn."""

    site: SiteRow
    clock: Clock
    # (first day index, day after the last) of the spans it is open in, and their weight.
    spans: list[tuple[int, int]]
    weight: float
    popularity: float
    shares: list[float]
    quality: float
    silent: bool = False
    visits: int = 0
    # Per group: (offset, size) of its regulars in the district's pool.
    windows: list[tuple[int, int]] = field(default_factory=list)


def generate_door_traffic(
    session: Session,
    province_unit: Unit,
    *,
    visits: int,
    first_day: date,
    last_day: date,
    seed: int,
    now: datetime | None = None,
    feedback: float = FEEDBACK_SHARE,
    writer: BulkWriter | None = None,
) -> TrafficSummary:
    """Write exactly `visits` door visits (and some feedback) at the stations of
    `province_unit`'s subtree over the local days first_day to last_day, none after `now`,
    in the session's transaction (the caller commits). ValueError if there are visits to
    write and no station was open then. A big load (demo.bulk.SUSPEND_FROM rows) rebuilds
    the table's indexes and keys on PostgreSQL, which locks it until the commit."""
    if visits < 0:
        raise ValueError("visits must not be negative")
    now = now or datetime.now(UTC)
    zone = zone_of(province_unit.timezone)
    today = now.astimezone(zone).date()
    last_day = min(last_day, today)
    writer = writer or BulkWriter(session)
    tables = (StationVisit.__table__, Feedback.__table__)
    writer.lock(tables)
    rng = random.Random(seed)
    sites = running_stations(session, province_unit, first_day, last_day) if (
        last_day >= first_day
    ) else []  # fmt: skip
    days = (last_day - first_day).days + 1 if sites else 0
    midnights = [
        int(datetime.combine(first_day + timedelta(days=d), time(), zone).timestamp())
        for d in range(days)
    ]
    cum = list(accumulate(day_shape(first_day, days, rng)))
    now_epoch = int(now.timestamp())
    # When the span ends today, only the part of the day before now counts.
    today_index = days - 1 if days and last_day == today else None
    now_second = now_epoch - midnights[today_index] if today_index is not None else 0
    plans = _plans(sites, first_day, days, cum, today_index, now_second, rng)
    weights = [p.popularity * p.weight for p in plans]
    if visits and not any(weights):
        raise ValueError("no station of the subtree was open in those days")
    for plan, n in zip(plans, apportion(visits, weights) if visits else [], strict=True):
        plan.visits = n
    pools = _Pools(_pool_sizes(plans), Phones(rng), app_identity_key())
    activity_days = _activity_days(session, province_unit, first_day, days, zone, now)
    run = _Run(writer, rng, pools, cum, midnights, today_index, now_second, now_epoch, feedback)
    first_id = writer.first_id(StationVisit.__table__)
    with (
        writer.big_cache(),
        writer.suspended((StationVisit.__table__,), visits),
        writer.sink(StationVisit.__table__, VISIT_COLUMNS) as put,
    ):
        run.write(plans, first_day, activity_days, put, first_id)
    feedback_rows = run.feedback_rows(writer.first_id(Feedback.__table__))
    writer.write(Feedback.__table__, FEEDBACK_COLUMNS, feedback_rows)
    writer.fix_sequences(tables)
    return TrafficSummary(
        visits=run.written,
        visitors=len(run.seen),
        stations=len(plans),
        silent=sum(p.silent for p in plans),
        feedback=len(feedback_rows),
        first_day=first_day,
        last_day=last_day,
    )


def _plans(
    sites: list[SiteRow],
    first: date,
    days: int,
    cum: list[float],
    today_index: int | None,
    now_second: int,
    rng: random.Random,
) -> list[_Plan]:
    """Each station's open spans, their weight, its popularity and who comes."""
    clocks = _Clocks()
    cities: dict[int, float] = {}
    plans = []
    for site in sites:
        clock = clocks.of(site.open_24h, site.opening_hours)
        start = max(0, (site.opened_on - first).days)
        end = days if site.ends_on is None else min(days, (site.ends_on - first).days)
        spans = [(start, end)] if start < end else []
        silent = False
        if spans and rng.random() < SILENT_SHARE and end - start >= SILENT_DAYS[0] + 14:
            length = rng.randint(SILENT_DAYS[0], min(SILENT_DAYS[1], end - start - 14))
            if rng.random() < SILENT_NOW:
                gap = end - length
            else:
                gap = rng.randint(start + 7, end - length)
            spans = [(a, b) for a, b in ((start, gap), (gap + length, end)) if a < b]
            silent = True
        if today_index is not None and spans and spans[-1][1] == days:
            # Today counts as much of itself as has gone by (by the station's own hours).
            a, _b = spans.pop()
            spans += [(a, days - 1)] if a < days - 1 else []
            spans.append((days - 1, days))
        weight = 0.0
        for a, b in spans:
            part = cum[b - 1] - (cum[a - 1] if a else 0.0)
            if a == today_index:
                part *= clock.before(now_second) / CLOCK_SAMPLES
            weight += part
        profile = station_profile(site.name, site.host)
        city = cities.setdefault(site.city_id, rng.lognormvariate(0, CITY_SIGMA))
        popularity = (
            rng.lognormvariate(0, POPULARITY_SIGMA)
            * city
            * PROFILE_TRAFFIC[profile]
            * LEVEL_TRAFFIC.get(site.level, 1.0)
            * HOST_TRAFFIC.get(site.host, 1.0)
            * (OPEN_24H_TRAFFIC if clock.open_24h else 1.0)
        )
        shares = [PROFILES[profile].get(g, 0) for g in GROUPS]
        plans.append(_Plan(site, clock, spans, weight, popularity, shares, rng.gauss(0, 1), silent))
    if plans:
        floor = POPULARITY_FLOOR * sum(p.popularity for p in plans) / len(plans)
        for plan in plans:
            plan.popularity += floor
    return plans


def _pool_sizes(plans: list[_Plan]) -> dict[tuple[int, int], int]:
    """How many people each district has of each group, and each station's window of its
    regulars (set on the plan)."""
    sizes: dict[tuple[int, int], int] = {}
    occasional: dict[tuple[int, int], float] = {}
    for plan in plans:
        total = sum(plan.shares)
        windows = []
        for g, share in enumerate(plan.shares):
            expected = plan.visits * share / total
            key = (plan.site.area_id, g)
            regulars = math.ceil(expected * REGULAR_SHARE / REGULAR_VISITS) if expected else 0
            windows.append((sizes.get(key, 0), regulars))
            sizes[key] = sizes.get(key, 0) + regulars
            occasional[key] = occasional.get(key, 0.0) + expected * (1 - REGULAR_SHARE)
        plan.windows = windows
    for key, expected in occasional.items():
        sizes[key] += MIN_POOL + math.ceil(expected / OCCASIONAL_VISITS)
    return sizes


def _activity_days(
    session: Session, unit: Unit, first: date, days: int, zone, now: datetime
) -> dict[int, set[int]]:
    """The day indexes on which each station of the subtree held an activity by `now`."""
    if not days:
        return {}
    starts = datetime.combine(first, time(), zone)
    ends = datetime.combine(first + timedelta(days=days), time(), zone)
    rows = session.execute(
        select(Activity.station_id, Activity.starts_at).where(
            Activity.station_id.in_(
                select(Station.id)
                .join(Unit, Unit.id == Station.unit_id)
                .where(under(Unit.path, unit.path))
            ),
            Activity.status == ActivityStatus.SCHEDULED,
            Activity.starts_at >= starts,
            Activity.starts_at < min(ends, now),
        )
    )
    found: dict[int, set[int]] = {}
    for station_id, starts_at in rows:
        index = (starts_at.astimezone(zone).date() - first).days
        found.setdefault(station_id, set()).add(index)
    return found


class _Run:
    """The drawing and writing of the visits, station by station."""

    def __init__(
        self,
        writer: BulkWriter,
        rng: random.Random,
        pools: _Pools,
        cum: list[float],
        midnights: list[int],
        today_index: int | None,
        now_second: int,
        now_epoch: int,
        feedback: float,
    ) -> None:
        self.writer = writer
        self.rng = rng
        self.pools = pools
        self.cum = cum
        self.midnights = midnights
        self.today_index = today_index
        self.now_second = now_second
        self.now_epoch = now_epoch
        self.feedback = feedback
        self.seen: set[str] = set()
        self.written = 0
        self._feedback: list[tuple] = []
        # Nonces are unique by their leading id; the rest only looks like a phone's random part.
        self.tails = [f"{rng.getrandbits(56):014x}" for _ in range(4096)]

    def _gap(self) -> int:
        """How many visits go by before the next one that leaves feedback (geometric)."""
        if self.feedback <= 0:
            return 1 << 62
        if self.feedback >= 1:
            return 0
        return int(math.log(1.0 - self.rng.random()) / math.log(1.0 - self.feedback))

    def write(
        self,
        plans: list[_Plan],
        first: date,
        activity_days: dict[int, set[int]],
        put,
        first_id: int,
    ) -> None:
        """Every plan's visits, through `put`, with ids from `first_id` on.

        The hot loop of the module: one random number draws a visit's group, one its person
        (a regular or not, and which), one its time."""
        day_values = [self.writer.day(first + timedelta(days=d)) for d in range(len(self.cum))]
        stamp, seen, tails, midnights = self.writer.stamp, self.seen, self.tails, self.midnights
        random = self.rng.random
        newcomer = self.pools.newcomer
        share, to_regular, to_other = REGULAR_SHARE, 1 / REGULAR_SHARE, 1 / (1 - REGULAR_SHARE)
        skew = REGULAR_SKEW
        visit_id = first_id
        next_feedback = first_id + self._gap()
        for plan in plans:
            if not plan.visits:
                continue
            site, clock = plan.site, plan.clock
            station_id, area = site.id, site.area_id
            seconds = clock.seconds
            today_limit = clock.before(self.now_second) if self.today_index is not None else 0
            # Per group: (value, pool, offset of the station's regulars, how many), and a table
            # that turns one random number into a group in the station's shares.
            people = [
                (g.value, self.pools.pool(area, i), *plan.windows[i]) if plan.shares[i] else None
                for i, g in enumerate(GROUPS)
            ]
            table = [people[i] for i in _share_table(plan.shares)]
            width = len(table)
            for day, count in self._days(plan, activity_days.get(station_id), today_limit):
                midnight, day_value = midnights[day], day_values[day]
                limit = today_limit if day == self.today_index else CLOCK_SAMPLES
                chosen: set[str] = set()
                picks = []
                for _ in range(count):
                    group, pool, offset, regulars = table[int(random() * width)]
                    for _attempt in range(6):
                        u = random()
                        if u >= share:
                            person = pool[int(len(pool) * (u - share) * to_other)]
                        elif regulars:
                            person = pool[offset + int(regulars * (u * to_regular) ** skew)]
                        else:
                            person = pool[int(len(pool) * u * to_regular)]
                        if count == 1 or person not in chosen:
                            break
                    else:
                        person = newcomer(pool)
                    chosen.add(person)
                    r = random() * limit
                    whole = int(r)
                    picks.append((midnight + seconds[whole] + int((r - whole) * 60), person, group))
                if count > 1:
                    picks.sort()
                for at, person, group in picks:
                    put(
                        (
                            visit_id,
                            station_id,
                            person,
                            group,
                            f"{visit_id:08x}{tails[visit_id & 4095]}",
                            day_value,
                            stamp(at),
                        )
                    )
                    if visit_id == next_feedback:
                        self._feedback.append((station_id, person, day_value, at, plan.quality))
                        next_feedback = visit_id + 1 + self._gap()
                    visit_id += 1
                seen.update(chosen)
        self.written = visit_id - first_id

    def _days(self, plan: _Plan, activity_days: set[int] | None, today_limit: int):
        """(day index, visits) for the days the station had visits, in order."""
        rng, cum = self.rng, self.cum
        random = rng.random
        spans = []
        total = 0.0
        for a, b in plan.spans:
            weight = cum[b - 1] - (cum[a - 1] if a else 0.0)
            if a == self.today_index:
                weight *= today_limit / CLOCK_SAMPLES
            if weight > 0:
                spans.append((a, b, cum[a - 1] if a else 0.0, weight))
                total += weight
        extra = []
        if activity_days:
            open_days = sorted(
                d
                for d in activity_days
                if any(a <= d < b for a, b, _base, _w in spans)
                and (d != self.today_index or today_limit)
            )
            if open_days:
                n = min(plan.visits, round(plan.visits * ACTIVITY_SHARE * rng.uniform(0.5, 1.5)))
                extra = [open_days[int(random() * len(open_days))] for _ in range(n)]
        usual = plan.visits - len(extra)
        # bisect within [a, b - 1]: the last day takes what rounding leaves at the top.
        if len(spans) == 1:
            a, b, base, weight = spans[0]
            drawn = Counter(
                bisect_right(cum, base + random() * weight, a, b - 1) for _ in range(usual)
            )
        else:
            drawn = Counter()
            for _ in range(usual):
                u = random() * total
                for a, b, base, weight in spans:  # noqa: B007 (the span the loop stops at)
                    if u < weight:
                        break
                    u -= weight
                drawn[bisect_right(cum, base + u, a, b - 1)] += 1
        drawn.update(extra)
        return sorted(drawn.items())

    def feedback_rows(self, first_id: int) -> list[tuple]:
        """The feedback some visitors left: a rating that follows the station's quality, now
        and then a comment, a few comments alone."""
        rng, stamp = self.rng, self.writer.stamp
        rows = []
        for station_id, person, day_value, at, quality in self._feedback:
            rating = min(5, max(1, round(4.2 + 0.5 * quality + rng.gauss(0, 0.8))))
            comment = ""
            if rng.random() < COMMENT_ONLY_SHARE:
                rating, comment = None, rng.choice(SUGGESTIONS)
            elif rng.random() < COMMENT_SHARE:
                comment = rng.choice(COMMENTS[rating])
            created = min(at + rng.randint(60, 1800), self.now_epoch)
            rows.append(
                (first_id + len(rows), station_id, person, day_value, rating, comment,
                 stamp(created))
            )  # fmt: skip
        return rows


def _share_table(shares: list[float], size: int = 100) -> list[int]:
    """Group indexes, each about as often as its share, `size` in all (largest remainder):
    indexing it with one random number draws a group."""
    return [g for g, n in enumerate(apportion(size, shares)) for _ in range(n)]
