"""The synthetic province's construction year: Anhui's story, told by records.

Anhui reported "9,220 stations built by 15 August, 83.8 % of the annual target of 11,000",
"15.42 million yuan of award and subsidy funds allocated, driving 86 million of union
investment and leveraging 164 million from other units"; Shanxi, 1,100 provincial-level
stations that each receive a 3,000-yuan operating subsidy a year, 170 of the nation's "most
beautiful" and 500 practical-project stations. At its full size (11,000 stations) the
synthetic province has exactly those figures, and proportionally fewer when it is smaller
(`construction_plan`):

- the construction year is the last year whose 15 August has passed; the province's target
  is handed down to its cities (theirs add up to it, or a little more);
- every station gets a lifecycle: most opened in earlier years or before 15 August, the rest
  opening through the autumn (planned or under construction while their day is ahead), a few
  slipping into the next year, and a few closed with a day and a reason (the exit
  mechanism), so that exactly the planned number is open on 15 August, counting closures;
- a host type (the seeded catalogue, by code) and co-building partners as records: the big
  companies' provincial branches kept by the province, the sanitation departments by cities;
- labels awarded in plausible years (provincial-level, "most beautiful", practical-project by
  the province; demonstration, smart and 24-hour stations by the cities);
- a funds ledger for the year whose rollups are exactly the allocated, driven and leveraged
  figures (funds.queries), the operating subsidies written as the funds rule writes them.

`construction_figures` counts all of it back from the database; the command prints that.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from itertools import accumulate
from typing import TYPE_CHECKING

from sqlalchemy import func, select

from inclusive_day.construction.models import ConstructionTarget, CoverageGoal
from inclusive_day.demo.shares import apportion
from inclusive_day.extensions import db
from inclusive_day.funds.models import FundKind, FundLine
from inclusive_day.funds.queries import FundTotals, subtree_totals
from inclusive_day.periods import DEFAULT_ZONE
from inclusive_day.stations.models import (
    Label,
    LabelAward,
    Partner,
    Station,
    StationPartner,
)
from inclusive_day.units.models import Unit

if TYPE_CHECKING:
    from inclusive_day.demo.province import _Build, _Station

DAY = 86_400

# Anhui's (and Shanxi's) figures at the full size of 11,000 stations.
FULL_TARGET = 11_000
FULL_OPEN = 9_220  # open on the report day, 83.8 % of the target
FULL_PROVINCIAL = 1_100
FULL_MOST_BEAUTIFUL = 170
FULL_PRACTICAL = 500
FULL_ALLOCATED = 15_420_000
FULL_DRIVEN = 86_000_000
FULL_LEVERAGED = 164_000_000
REPORT_DAY = (8, 15)
OPERATING_SUBSIDY = 3_000
# The funds rule's name for the yearly operating subsidy of the provincial-level label.
OPERATING_RULE = "operating:provincial_level"

CLOSED_SHARE = 0.015
CLOSED_BEFORE_REPORT = 0.6
LATE_SHARE = 0.012  # stations due this year that slip into the next
SUSPENDED_SHARE = 0.04
# Share of the stations open on the report day that opened in earlier years, and how those
# spread over the six years before (the network grew faster every year).
EARLIER_SHARE = 0.62
EARLIER_YEARS = (1, 2, 4, 6, 8, 10)
# Older stations sit higher in the tree: the key that orders openings, by level.
LEVEL_AGE = {"city": 0.55, "district": 0.7, "street": 0.95, "community": 1.05}
CLOSURE_REASONS = (
    "依托单位场地拆迁，驿站撤并",
    "连续两次巡查不合格，按退出机制摘牌",
    "服务人次长期偏低，与邻近驿站合并",
    "依托门店停业，驿站退出",
    "道路改造，驿站迁址后另行建设",
)

# Host types (codes of the seeded catalogue) of the stations run by a unit without a partner,
# with their weights, and the name each gives the station.
OWN_HOSTS = (
    ("party_mass_centre", 42, "{place}党群服务中心工会驿站"),
    ("cabin", 30, "{place}工会驿站"),
    ("park", 10, "{short}公园工会驿站"),
    ("shop", 10, "{place}爱心商铺工会驿站"),
    ("enterprise", 8, "{brand}公司职工驿站"),
)
# The host type of each kind of station the province builds.
KIND_HOSTS = {
    "petrol": "gas_station",
    "bank": "bank",
    "telecom": "telecom_hall",
    "courier": "express_site",
    "riders": "express_site",
    "sanitation": "cabin",
    "clinic": "other",
    "drivers": "cabin",
}
# Co-building partners kept by the province: the short name stations go by, and the
# provincial branch's name ({p} is the province's name without 省).
PROVINCE_PARTNERS = {
    "中国石化": "中国石化销售股份有限公司{p}石油分公司",
    "中国石油": "中国石油天然气股份有限公司{p}销售分公司",
    "中国建设银行": "中国建设银行{p}省分行",
    "中国工商银行": "中国工商银行{p}省分行",
    "中国农业银行": "中国农业银行{p}省分行",
    "中国电信": "中国电信{p}分公司",
    "中国移动": "中国移动通信集团{p}有限公司",
    "中国邮政": "中国邮政集团有限公司{p}省分公司",
    "顺丰速运": "顺丰速运{p}区",
    "美团": "美团{p}运营中心",
    "饿了么": "饿了么{p}运营中心",
}
# Sanitation stations are co-built with the city's urban management bureau, kept by the city.
CITY_PARTNER = "城市管理局"
SANITATION = "sanitation"
# Money leveraged from bodies that are not partners (named in the line's note).
OTHER_BODIES = (
    "{place}{brand}置业有限公司捐建",
    "{place}{brand}物业服务有限公司共建",
    "{place}{brand}建设集团捐资",
    "{place}{brand}商会募集",
)
HOST_COST = {"cabin": 4.0, "park": 2.5, "party_mass_centre": 1.8, "enterprise": 1.2}
PARTNER_COST = {"gas_station": 3.0, "bank": 2.2, "telecom_hall": 2.0}


@dataclass(frozen=True)
class ConstructionPlan:
    """The construction year's figures for a province of some size: what the build writes."""

    year: int
    target: int
    open_on_report_day: int
    provincial_level: int
    most_beautiful: int
    practical_project: int
    allocated: Decimal
    driven: Decimal
    leveraged: Decimal

    @property
    def report_day(self) -> date:
        """The day of the figures: 15 August of the construction year."""
        return date(self.year, *REPORT_DAY)

    @property
    def due_on(self) -> date:
        """The day the target is due: the year's last."""
        return date(self.year, 12, 31)


def construction_year(today: date) -> int:
    """The last year whose report day (15 August) is already past on `today`."""
    return today.year if today > date(today.year, *REPORT_DAY) else today.year - 1


def round_target(value: float) -> int:
    """A target as unions write them: whole tens, hundreds or thousands once it is large."""
    for limit, step in ((100, 1), (1_000, 10), (100_000, 100)):
        if value < limit:
            return round(value / step) * step
    return round(value / 1_000) * 1_000


def construction_plan(stations: int, today: date) -> ConstructionPlan:
    """Anhui's figures scaled to a province of `stations` stations (exact at 11,000)."""
    target = max(1, round_target(stations))

    def scaled(full: int) -> int:
        return (2 * full * target + FULL_TARGET) // (2 * FULL_TARGET)

    return ConstructionPlan(
        year=construction_year(today),
        target=target,
        open_on_report_day=min(stations, scaled(FULL_OPEN)),
        provincial_level=scaled(FULL_PROVINCIAL),
        most_beautiful=scaled(FULL_MOST_BEAUTIFUL),
        practical_project=scaled(FULL_PRACTICAL),
        allocated=Decimal(scaled(FULL_ALLOCATED)),
        driven=Decimal(scaled(FULL_DRIVEN)),
        leveraged=Decimal(scaled(FULL_LEVERAGED)),
    )


@dataclass(frozen=True)
class ConstructionFigures:
    """The construction year as the database holds it, counted from the records."""

    year: int
    target: int
    due_on: date | None
    cities: int
    city_targets: int
    report_day: date
    open_on_report_day: int
    provincial_level: int
    funds: FundTotals

    @property
    def percent(self) -> Decimal:
        """Open on the report day as a percentage of the target, to one decimal."""
        if not self.target:
            return Decimal("0.0")
        share = Decimal(self.open_on_report_day * 100) / Decimal(self.target)
        return share.quantize(Decimal("0.1"))

    def line(self) -> str:
        """The line the command prints after the build's."""
        f = self.funds
        return (
            f"Construction year {self.year}: target {self.target:,} stations by"
            f" {self.due_on} (its {self.cities} cities' targets add up to"
            f" {self.city_targets:,}); {self.open_on_report_day:,} open on {self.report_day}"
            f" ({self.percent} %); {self.provincial_level:,} provincial-level stations;"
            f" funds of the year: {f.allocated:,} yuan allocated, {f.driven:,} driven,"
            f" {f.leveraged:,} leveraged, {f.paid:,} paid."
        )


def construction_figures(root: Unit, year: int) -> ConstructionFigures:
    """Count the construction year of `root`'s subtree back from the database."""
    target = db.session.execute(
        select(ConstructionTarget.stations, ConstructionTarget.due_on).where(
            ConstructionTarget.unit_id == root.id, ConstructionTarget.year == year
        )
    ).first()
    cities, city_targets = db.session.execute(
        select(func.count(), func.coalesce(func.sum(ConstructionTarget.stations), 0))
        .join(Unit, Unit.id == ConstructionTarget.unit_id)
        .where(Unit.parent_id == root.id, ConstructionTarget.year == year)
    ).one()
    day = date(year, *REPORT_DAY)
    open_count = db.session.scalar(
        select(func.count(Station.id)).where(Station.under(root.path), Station.open_on(day))
    )
    provincial = db.session.scalar(
        select(func.count(LabelAward.id))
        .join(Label, Label.id == LabelAward.label_id)
        .join(Station, Station.id == LabelAward.station_id)
        .where(Label.code == "provincial_level", Station.under(root.path))
    )
    return ConstructionFigures(
        year=year,
        target=target.stations if target else 0,
        due_on=target.due_on if target else None,
        cities=cities,
        city_targets=int(city_targets),
        report_day=day,
        open_on_report_day=open_count,
        provincial_level=provincial,
        funds=subtree_totals(root, year, date(year, 12, 31)),
    )


def catalogue_ids(model) -> dict[str, int]:
    """A seeded catalogue's ids by code (host types, labels)."""
    ids = dict(db.session.execute(select(model.code, model.id)).all())
    if not ids:
        raise ValueError(f"the {model.__tablename__} catalogue is empty; run the migrations first")
    return ids


def own_host(rng: random.Random) -> tuple[str, str]:
    """(host type code, name pattern) of a station a unit runs without a partner."""
    host, _weight, pattern = rng.choices(OWN_HOSTS, weights=[h[1] for h in OWN_HOSTS])[0]
    return host, pattern


class Network:
    """The construction year of one build: lifecycles first (before the stations' rows are
    written), then partners, labels, targets, coverage goals and funds."""

    def __init__(self, build: _Build, plan: ConstructionPlan) -> None:
        self.build = build
        self.plan = plan
        self.rng = build.rng
        self.today = build.today
        self.year = plan.year
        self.first = date(plan.year, 1, 1)
        self.last = date(plan.year, 12, 31)
        # Money of the year is allocated by the year's end, and not after today.
        self.latest = min(self.today, self.last)

    # -- lifecycles --

    def lifecycle(self, stations: Sequence[_Station]) -> None:
        """Opening (and closing) days and a status for every station, so that exactly the
        plan's number is open on the report day. Stations open in an order drawn from their
        level and their city's pace, so that cities stand at different percentages."""
        rng, plan = self.rng, self.plan
        report = plan.report_day
        n = len(stations)
        closed = round(n * CLOSED_SHARE)
        # Those closed by the report day opened before it too, but no longer count on it.
        closed_before = min(round(closed * CLOSED_BEFORE_REPORT), n - plan.open_on_report_day)
        early = plan.open_on_report_day + closed_before
        closed = min(closed, early)
        late = min(round(n * LATE_SHARE), n - early)
        autumn = n - early - late
        pace = [rng.uniform(0.8, 1.25) for _ in self.build.cities]
        keys = [
            rng.random() * pace[s.unit.city] * LEVEL_AGE.get(s.unit.level, 1.0) for s in stations
        ]
        order = sorted(range(n), key=keys.__getitem__)
        for i, day in zip(order[:early], sorted(self._days_until_report(early)), strict=True):
            stations[i].opened = day
        autumn_days = self._days_in(report + timedelta(days=1), self.last, autumn, 2.0)
        for i, day in zip(order[early : early + autumn], sorted(autumn_days), strict=True):
            stations[i].planned = day
        start = max(self.today, self.last) + timedelta(days=1)
        late_days = self._days_in(start, start + timedelta(days=150), late, 0.0)
        for i, day in zip(order[early + autumn :], late_days, strict=True):
            stations[i].planned = day
        # The exit mechanism takes older stations: some before the report day, some after.
        oldest = order[: max(closed, int(early * 0.7))]
        for k, i in enumerate(rng.sample(oldest, closed)):
            station = stations[i]
            if k < closed_before:
                span = (report - station.opened).days
                gone = station.opened + timedelta(days=rng.randint(min(180, span), span))
            else:
                gone = report + timedelta(days=rng.randint(1, (self.today - report).days))
            station.closed, station.reason = gone, rng.choice(CLOSURE_REASONS)
        for station in stations:
            self._status(station)

    def _status(self, station: _Station) -> None:
        rng = self.rng
        if station.opened is None and station.planned and station.planned <= self.today:
            station.opened, station.planned = station.planned, None
        if station.closed is not None:
            station.status = "closed"
        elif station.opened is None:
            ahead = (station.planned - self.today).days
            building = ahead <= 60 or rng.random() < 0.25
            station.status = "under_construction" if building else "planned"
        elif rng.random() < SUSPENDED_SHARE:
            station.status = "suspended"
        else:
            station.status = "active"
        station.active = station.status == "active"

    def _days_until_report(self, count: int) -> list[date]:
        """`count` opening days: some in the six years before, the rest up to the report."""
        rng = self.rng
        earlier = sum(rng.random() < EARLIER_SHARE for _ in range(count))
        years = rng.choices(
            range(self.year - len(EARLIER_YEARS), self.year), weights=EARLIER_YEARS, k=earlier
        )
        days = [date(y, 1, 1) + timedelta(days=rng.randrange(365)) for y in years]
        days += self._days_in(self.first, self.plan.report_day, count - earlier, 0.8)
        return days

    def _days_in(self, first: date, last: date, count: int, rush: float) -> list[date]:
        """`count` days in [first, last], more of them later on by `rush`; fewer around the
        Spring Festival (February)."""
        if count <= 0 or last < first:
            return [last] * max(0, count)
        span = (last - first).days + 1
        weights = []
        for d in range(span):
            day = first + timedelta(days=d)
            weights.append((1 + rush * d / span) * (0.5 if day.month == 2 else 1.0))
        cum = list(accumulate(weights))
        return [first + timedelta(days=i) for i in _draw(self.rng, cum, count)]

    # -- everything else, once the stations are in --

    def write(self, province_name: str) -> dict:
        """Partners and their links, labels, targets, coverage goals and funds; row counts."""
        self.partner_ids = self._partners(province_name)
        awards = self._labels()
        targets, goals = self._targets()
        lines = self._funds()
        return {
            "partners": len(self.partner_ids),
            "label_awards": awards,
            "construction_targets": targets,
            "coverage_goals": goals,
            "fund_lines": lines,
        }

    def _partners(self, province_name: str) -> dict[tuple[int, str], int]:
        """Partner records for the stations' partners; their links. Ids by (unit id, key)."""
        build, rng = self.build, self.rng
        province = build.nodes[0]
        short = province_name.removesuffix("省")
        wanted: dict[tuple[int, str], str] = {}
        for station in build.stations:
            if station.partner in PROVINCE_PARTNERS:
                key = (province.id, station.partner)
                wanted[key] = PROVINCE_PARTNERS[station.partner].format(p=short)
            elif station.kind == SANITATION:
                city = build.cities[station.unit.city]
                wanted[(city.id, SANITATION)] = f"{city.place}{CITY_PARTNER}"
        first = build._next_ids(Partner.__table__, len(wanted))
        ids, rows = {}, []
        created = build.stamp(build.unit_created_epoch + 3 * DAY)
        for offset, ((unit_id, key), name) in enumerate(sorted(wanted.items())):
            ids[(unit_id, key)] = first + offset
            contact = build.names.person(rng.choice(("经理", "主任", "部长")))
            phone = f"1{rng.choice((3, 5, 8))}{rng.randrange(10**9):09d}"
            rows.append((first + offset, unit_id, name, contact, phone, None, created))
        build.writer.write(Partner.__table__, PARTNER_COLUMNS, rows)
        links = []
        for station in build.stations:
            partner_id = self._partner_of(station, ids)
            if partner_id is not None:
                links.append((station.id, partner_id))
        build.writer.write(StationPartner.__table__, ("station_id", "partner_id"), links)
        return ids

    def _partner_of(self, station: _Station, ids: dict[tuple[int, str], int]) -> int | None:
        if station.partner in PROVINCE_PARTNERS:
            return ids[(self.build.nodes[0].id, station.partner)]
        if station.kind == SANITATION:
            return ids[(self.build.cities[station.unit.city].id, SANITATION)]
        return None

    def _labels(self) -> int:
        """Label awards: the province's three (in the plan's numbers) and the cities'."""
        build, rng, year = self.build, self.rng, self.year
        label_ids = catalogue_ids(Label)
        province = build.nodes[0].id
        awards: list[tuple[int, str, int, int]] = []  # (station id, label, year, awarded by)
        running = [
            s
            for s in build.stations
            if s.opened is not None and s.closed is None and s.opened.year <= year
        ]
        # Provincial-level stations: older ones, more often high in the tree.
        older = [s for s in running if s.opened.year < year] or running
        weights = [LEVEL_AGE["community"] / LEVEL_AGE[s.unit.level] for s in older]
        chosen = _weighted_sample(rng, older, weights, self.plan.provincial_level)
        self.provincial = sorted(chosen, key=lambda s: s.id)
        since = {}
        for s in self.provincial:
            since[s.id] = _year_between(rng, max(s.opened.year + 1, year - 4), year)
            awards.append((s.id, "provincial_level", since[s.id], province))
        # The nation's "most beautiful": some of them, in the years since.
        for s in rng.sample(self.provincial, min(self.plan.most_beautiful, len(chosen))):
            awards.append(
                (s.id, "national_most_beautiful", rng.randint(since[s.id], year), province)
            )
        # Practical-project stations: built under the provincial government's programmes of
        # last year and this.
        recent = [s for s in running if s.opened.year >= year - 1]
        for s in rng.sample(recent, min(self.plan.practical_project, len(recent))):
            awards.append((s.id, "provincial_practical_project", s.opened.year, province))
        # The cities' own labels.
        for s in running:
            city = build.cities[s.unit.city].id
            r = rng.random()
            if r < 0.03:
                awards.append(
                    (s.id, "demonstration", _year_between(rng, s.opened.year + 1, year), city)
                )
            elif r < 0.05 and s.opened.year >= year - 2:
                awards.append(
                    (s.id, "smart", _year_between(rng, max(s.opened.year, year - 1), year), city)
                )
            if s.open_24h and rng.random() < 0.6:
                awards.append((s.id, "open_24h", max(s.opened.year, year - 2), city))
        first = build._next_ids(LabelAward.__table__, len(awards))
        rows = (
            (
                first + k,
                station_id,
                label_ids[code],
                y,
                by,
                build.stamp(min(_epoch(date(y, 12, 1)), build.now)),
            )
            for k, (station_id, code, y, by) in enumerate(sorted(awards))
        )
        return build.writer.write(LabelAward.__table__, LABEL_AWARD_COLUMNS, rows)

    def _targets(self) -> tuple[int, int]:
        """The province's construction target, handed down to its cities (theirs add up to it,
        or a little more), and the province's coverage goals."""
        build, rng, plan = self.build, self.rng, self.plan
        province = build.nodes[0]
        per_city = [0] * len(build.cities)
        for station in build.stations:
            per_city[station.unit.city] += 1
        weights = [max(1, n) * rng.uniform(0.97, 1.05) for n in per_city]
        shares = [max(1, round_target(x)) for x in apportion(plan.target, weights)]
        shortfall = plan.target - sum(shares)
        if shortfall > 0:
            step = 10 if plan.target >= 1_000 else 1
            shares[0] += -(-shortfall // step) * step
        when = build.stamp(_epoch(self.first + timedelta(days=19), time(10)))
        due = build.writer.day(plan.due_on)
        rows = [(province.id, plan.target)]
        rows += [(city.id, n) for city, n in zip(build.cities, shares, strict=True)]
        first = build._next_ids(ConstructionTarget.__table__, len(rows))
        written = build.writer.write(
            ConstructionTarget.__table__,
            ("id", "unit_id", "year", "stations", "due_on", "updated_at", "updated_by_id"),
            [(first + k, u, self.year, n, due, when, None) for k, (u, n) in enumerate(rows)],
        )
        # Every county and street for the province; half the communities for the capital.
        goals = [(province.id, "district", 100), (province.id, "street", 100)]
        goals.append((build.cities[0].id, "community", 50))
        first = build._next_ids(CoverageGoal.__table__, len(goals))
        build.writer.write(
            CoverageGoal.__table__,
            ("id", "unit_id", "year", "level", "percent", "updated_at", "updated_by_id"),
            [(first + k, u, self.year, lv, p, when, None) for k, (u, lv, p) in enumerate(goals)],
        )
        return written, len(goals)

    # -- funds --

    def _funds(self) -> int:
        """The year's ledger: its allocated, driven and leveraged rollups are the plan's."""
        self.lines: list[list] = []
        self._allocated()
        self._driven()
        self._leveraged()
        build = self.build
        first = build._next_ids(FundLine.__table__, len(self.lines))
        w = build.writer
        rows = (
            (
                first + k,
                kind.value,
                w.amount(Decimal(amount).quantize(Decimal("0.01"))),
                self.year,
                unit_id,
                station_id,
                source_id,
                partner_id,
                w.day(allocated),
                w.day(paid),
                rule,
                note,
                build.stamp(min(_epoch(allocated, time(10)), build.now)),
                None,
            )
            for k, (kind, amount, unit_id, station_id, source_id, partner_id, allocated, paid,
                    rule, note) in enumerate(self.lines)
        )  # fmt: skip
        return w.write(FundLine.__table__, FUND_COLUMNS, rows)

    def _line(self, kind, amount, unit_id, station_id, source_id, partner_id, allocated,
              rule=None, note="", paid_within=(7, 60), unpaid=0.1) -> None:  # fmt: skip
        allocated = min(max(allocated, self.first), self.latest)
        paid = allocated + timedelta(days=self.rng.randint(*paid_within))
        if paid > self.today or self.rng.random() < unpaid:
            paid = None
        self.lines.append(
            [kind, amount, unit_id, station_id, source_id, partner_id, allocated, paid, rule, note]
        )

    def _building(self) -> list[_Station]:
        """The stations built this year: opened in it, or due in it and not open yet."""
        return [
            s
            for s in self.build.stations
            if (s.opened is not None and s.opened.year == self.year)
            or (s.opened is None and s.planned is not None and s.planned.year == self.year)
        ]

    def _spread(self, total: int, weights: list[float], unit: int) -> list[int]:
        """`total` yuan in proportion to `weights`, in multiples of `unit` but for the first
        non-zero part, which takes what is left over."""
        parts = [p * unit for p in apportion(total // unit, weights)] if weights else []
        leftover = total - sum(parts)
        if leftover:
            nonzero = next((i for i, p in enumerate(parts) if p), None)
            if nonzero is None:
                raise ValueError("no fund line to take the amount")
            parts[nonzero] += leftover
        return parts

    def _allocated(self) -> None:
        """Operating subsidies of the provincial-level stations, construction subsidies of
        this year's stations (province and city) and labour-competition awards."""
        build, rng, plan = self.build, self.rng, self.plan
        province = build.nodes[0].id
        subsidy_day = date(self.year, 6, 30)
        for s in self.provincial:
            self._line(
                FundKind.OPERATING_SUBSIDY, OPERATING_SUBSIDY, s.unit.id, s.id, province, None,
                subsidy_day, rule=OPERATING_RULE, note="省级工会驿站年度运营补贴",
                paid_within=(10, 40), unpaid=0.05,
            )  # fmt: skip
        rest = int(plan.allocated) - OPERATING_SUBSIDY * len(self.provincial)
        budget = rest * 7 // 10
        subsidies = []  # (station, source unit id, weight, note)
        for s in self._building():
            if s.opened is None and rng.random() < 0.6:
                continue  # not built yet and no advance
            weight = HOST_COST.get(s.host, 1.0)
            subsidies.append((s, province, weight, "省总工会驿站建设补助"))
            if rng.random() < 0.5:
                city = build.cities[s.unit.city].id
                subsidies.append((s, city, weight * 0.6, "市总工会驿站建设配套补助"))
        amounts = self._spread(budget, [x[2] for x in subsidies], 100) if subsidies else []
        for (s, source, _w, note), amount in zip(subsidies, amounts, strict=True):
            if amount:
                day = (s.opened or self.today) + timedelta(days=rng.randint(10, 45))
                self._line(FundKind.CONSTRUCTION_SUBSIDY, amount, s.unit.id, s.id, source, None,
                           day, note=note)  # fmt: skip
        awards = rest - sum(amounts)
        winners = [(c.id, province, rng.lognormvariate(0, 0.5) * 3) for c in build.cities]
        winners += [
            (d.id, build.cities[d.city].id, rng.lognormvariate(0, 0.5))
            for d in build.districts
            if rng.random() < 0.25
        ]
        for (unit_id, source, _w), amount in zip(
            winners, self._spread(awards, [w[2] for w in winners], 1_000), strict=True
        ):
            if amount:
                day = date(self.year, 7, 10 if source == province else 25)
                self._line(FundKind.AWARD, amount, unit_id, None, source, None, day,
                           note="工会驿站建设劳动竞赛奖励")  # fmt: skip

    def _investor(self, station: _Station) -> int:
        """The union unit that puts its own money into a station: its street's or district's
        for the lowest stations, else its own unit."""
        ids = [int(part) for part in station.unit.path.strip("/").split("/")]
        level = station.unit.level
        if level == "community":
            return ids[-2] if self.rng.random() < 0.7 else ids[-3]
        if level == "street" and self.rng.random() < 0.4:
            return ids[-2]
        return ids[-1]

    def _driven(self) -> None:
        """Union investment in this year's stations, and the cities' and districts' own."""
        build, rng = self.build, self.rng
        parts = []  # (unit id, station id, source, weight, day, note)
        for s in self._building():
            day = (s.opened or s.planned) - timedelta(days=rng.randint(30, 120))
            weight = HOST_COST.get(s.host, 0.8)
            parts.append((s.unit.id, s.id, self._investor(s), weight, day, "驿站建设投入"))
        for unit in [*build.cities, *build.districts]:
            weight = 25.0 if unit.level == "city" else 6.0
            day = self.first + timedelta(days=rng.randint(20, 150))
            parts.append((unit.id, None, unit.id, weight, day, "驿站运行维护和提档升级经费"))
        amounts = self._spread(int(self.plan.driven), [p[3] for p in parts], 100)
        for (unit_id, station_id, source, _w, day, note), amount in zip(
            parts, amounts, strict=True
        ):
            if amount:
                self._line(FundKind.UNION_INVESTMENT, amount, unit_id, station_id, source, None,
                           day, note=note)  # fmt: skip

    def _leveraged(self) -> None:
        """Partners' money in this year's stations, their province-wide programmes, and other
        bodies' money for the districts."""
        build, rng = self.build, self.rng
        province = build.nodes[0].id
        parts = []  # (unit id, station id, partner id, weight, day, note)
        for s in self._building():
            partner_id = self._partner_of(s, self.partner_ids)
            if partner_id is not None:
                day = (s.opened or s.planned) - timedelta(days=rng.randint(20, 90))
                weight = PARTNER_COST.get(s.host, 1.0) * 4
                parts.append((s.unit.id, s.id, partner_id, weight, day, "共建单位驿站建设投入"))
        for (unit_id, _key), partner_id in sorted(self.partner_ids.items()):
            if unit_id == province:
                day = self.first + timedelta(days=rng.randint(30, 120))
                parts.append((province, None, partner_id, 120.0, day, "全省网点驿站建设专项投入"))
        for d in build.districts:
            for _ in range(rng.randint(1, 3)):
                body = rng.choice(OTHER_BODIES).format(
                    place=d.place.removesuffix("区").removesuffix("县"),
                    brand=build.names.local(set()),
                )
                day = self.first + timedelta(days=rng.randint(10, 300))
                parts.append((d.id, None, None, rng.uniform(10, 40), day, body))
        amounts = self._spread(int(self.plan.leveraged), [p[3] for p in parts], 100)
        for (unit_id, station_id, partner_id, _w, day, note), amount in zip(
            parts, amounts, strict=True
        ):
            if amount:
                self._line(FundKind.LEVERAGED, amount, unit_id, station_id, None, partner_id,
                           day, note=note)  # fmt: skip


PARTNER_COLUMNS = (
    "id",
    "unit_id",
    "name",
    "contact_name",
    "contact_phone",
    "sponsor_id",
    "created_at",
)
LABEL_AWARD_COLUMNS = ("id", "station_id", "label_id", "year", "awarded_by_id", "created_at")
FUND_COLUMNS = (
    "id",
    "kind",
    "amount",
    "year",
    "unit_id",
    "station_id",
    "source_unit_id",
    "partner_id",
    "allocated_on",
    "paid_on",
    "rule",
    "note",
    "created_at",
    "created_by_id",
)


def _epoch(day: date, at: time = time(9)) -> int:
    """Epoch seconds of a wall-clock time in the province's zone."""
    return int(datetime.combine(day, at, tzinfo=DEFAULT_ZONE).timestamp())


def _draw(rng: random.Random, cum_weights: list[float], count: int) -> list[int]:
    """`count` indexes drawn (with repeats) by cumulative weights."""
    return rng.choices(range(len(cum_weights)), cum_weights=cum_weights, k=count)


def _weighted_sample(rng: random.Random, items: list, weights: list[float], k: int) -> list:
    """`k` different items, heavier ones likelier (Efraimidis and Spirakis' keys)."""
    keyed = sorted(((rng.random() ** (1 / w), i) for i, w in enumerate(weights)), reverse=True)
    return [items[i] for _key, i in keyed[:k]]


def _year_between(rng: random.Random, low: int, high: int) -> int:
    """A year in [low, high], or `high` when `low` comes after it."""
    return rng.randint(min(low, high), high)
