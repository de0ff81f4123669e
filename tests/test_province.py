"""The synthetic province (`flask demo province`) at a small scale: a consistent tree, the
counts asked for, attendance inside its activities, targets, sponsors' gifts, the app's own
counting rules, ids that ordinary inserts carry on from, and the construction year (station
lifecycles, host types, partners, labels, construction targets and funds) whose figures are
Anhui's at the full size and are counted back from the records."""

from collections import Counter
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from inclusive_day.activities.models import Activity, ActivityStatus
from inclusive_day.activities.queries import count_activities
from inclusive_day.activities.services import schedule_activity
from inclusive_day.attendance.identity import app_identity_key, identity_for
from inclusive_day.attendance.models import (
    BeneficiaryGroup,
    CheckIn,
    Feedback,
    Headcount,
    StationVisit,
)
from inclusive_day.attendance.queries import totals
from inclusive_day.attendance.services import check_in
from inclusive_day.attendance.traffic import traffic, traffic_by_station
from inclusive_day.campaigns.models import Campaign, CampaignTarget, Theme
from inclusive_day.campaigns.targets import TargetValues, hand_down, progress
from inclusive_day.construction.models import ConstructionTarget, CoverageGoal
from inclusive_day.demo.bulk import SUSPEND_FROM, BulkWriter
from inclusive_day.demo.network import (
    OPERATING_RULE,
    construction_figures,
    construction_plan,
    construction_year,
)
from inclusive_day.demo.province import (
    ROOT_CODE,
    ProvinceExists,
    build_province,
    find_province,
    identity_hasher,
)
from inclusive_day.demo.roster import HANDFUL, generate_duty
from inclusive_day.demo.traffic import VISIT_COLUMNS, generate_door_traffic
from inclusive_day.funds.models import FundKind, FundLine
from inclusive_day.funds.queries import subtree_totals
from inclusive_day.periods import DEFAULT_ZONE, local_today
from inclusive_day.sponsors.models import (
    Distribution,
    Donation,
    DonationStatus,
    ReceiptCounter,
    Sponsor,
)
from inclusive_day.staffing.models import AdminRole, DutyShift, StationAdmin, Training
from inclusive_day.staffing.queries import duty_by_child, duty_in, masters_by_station
from inclusive_day.stations.models import (
    HostType,
    Label,
    LabelAward,
    Partner,
    Station,
    StationPartner,
    StationStatus,
)
from inclusive_day.stations.services import create_station
from inclusive_day.units.models import Level, Unit, under
from inclusive_day.units.services import create_unit

SMALL = {"stations": 60, "activities": 300, "checkins": 3_000, "visits": 4_000}
# A campaign year in the past (July 2025 to June 2026): everything held, the same data each run.
TODAY = date(2026, 6, 30)


@pytest.fixture
def province(db):
    """A small synthetic province, built and committed."""
    return build_province(**SMALL, seed=7, today=TODAY, echo=lambda _line: None)


def _count(db, model, *where) -> int:
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def test_the_tree_is_consistent_and_coded(db, province):
    units = {u.id: u for u in db.session.scalars(select(Unit))}
    root = units[province.unit_id]
    assert (root.code, root.level, root.path) == (ROOT_CODE, Level.PROVINCE, f"/{root.id}/")
    assert root.name.endswith("省总工会")
    assert len(units) == province.units
    for unit in units.values():
        if unit.parent_id is None:
            continue
        parent = units[unit.parent_id]
        assert unit.path == f"{parent.path}{unit.id}/"
        assert unit.level.depth == parent.level.depth + 1
        if unit.code and parent.code and parent.level is not Level.PROVINCE:
            assert unit.code.startswith(parent.code.rstrip("0")[:4])
    levels = Counter(u.level for u in units.values())
    assert levels[Level.CITY] == 16
    assert 100 <= levels[Level.DISTRICT] <= 200
    assert levels[Level.STREET] > levels[Level.DISTRICT]
    assert levels[Level.COMMUNITY] > levels[Level.STREET]
    names = {u.name[-4:] for u in units.values()}
    assert {"市总工会", "区总工会", "县总工会", "街道工会", "社区工会"} <= names


def test_the_counts_are_exactly_as_asked(db, province):
    assert _count(db, Station) == SMALL["stations"] == province.stations
    assert _count(db, Activity) == SMALL["activities"] == province.activities
    assert _count(db, CheckIn) == SMALL["checkins"] == province.checkins
    assert _count(db, Headcount) == province.headcount_rows > 0
    assert _count(db, Sponsor) == province.sponsors > 0
    assert _count(db, Donation) == province.donations
    assert _count(db, Distribution) == province.distributions
    assert _count(db, CampaignTarget) == province.targets
    cancelled = _count(db, Activity, Activity.status == ActivityStatus.CANCELLED)
    assert cancelled == province.cancelled < SMALL["activities"] // 5


def test_stations_sit_mostly_at_streets_and_communities_and_are_mostly_active(db, province):
    by_level = Counter(
        db.session.scalars(select(Unit.level).join(Station, Station.unit_id == Unit.id))
    )
    assert by_level[Level.STREET] + by_level[Level.COMMUNITY] > SMALL["stations"] * 0.6
    assert by_level[Level.PROVINCE] == 0
    active = _count(db, Station, Station.status == StationStatus.ACTIVE)
    assert active > SMALL["stations"] * 0.8
    codes = db.session.scalars(select(Station.code)).all()
    assert len(set(codes)) == len(codes) and all(c.count("-") == 3 for c in codes)
    for station in db.session.scalars(select(Station)):
        assert 24 <= station.latitude <= 30 and 108 <= station.longitude <= 115
        assert station.name and station.address.endswith("号")


def test_activities_are_held_in_the_daytime_within_the_campaign(db, province):
    campaign = db.session.get(Campaign, province.campaign_id)
    assert campaign.unit_id == province.unit_id
    assert (campaign.ends_on - campaign.starts_on).days in range(364, 367)
    uids = set()
    for activity in db.session.scalars(select(Activity)):
        local = activity.starts_at.astimezone(DEFAULT_ZONE)
        assert campaign.covers(local.date())
        assert 8 <= local.hour <= 20 and activity.ends_at > activity.starts_at
        assert activity.uid.endswith("@inclusive-day") and activity.uid not in uids
        uids.add(activity.uid)
        assert activity.is_cancelled == (activity.cancel_reason is not None)


def test_check_ins_fall_inside_their_activities_and_people_come_back(db, province):
    now = datetime.now(UTC)
    rows = db.session.execute(
        select(
            CheckIn.checked_in_at,
            CheckIn.identity,
            CheckIn.annulled_at,
            Activity.starts_at,
            Activity.ends_at,
            Activity.status,
        ).join(Activity, Activity.id == CheckIn.activity_id)
    ).all()
    for at, identity, annulled_at, starts, ends, status in rows:
        assert starts <= at < ends and at <= now
        assert status is ActivityStatus.SCHEDULED
        assert len(identity) == 64
        assert annulled_at is None or at <= annulled_at <= now
    people = {r.identity for r in rows}
    assert len(people) < len(rows) * 0.8
    assert province.annulled == sum(1 for r in rows if r.annulled_at is not None)


def test_identities_are_the_apps_keyed_hashes_of_phone_numbers(app):
    hasher = identity_hasher(app_identity_key())
    for phone in ("13800000000", "19912345678"):
        assert hasher(phone.encode()) == identity_for(phone)


def test_the_figures_agree_with_the_counting_rules(db, province):
    scope = [Activity.campaign_id == province.campaign_id]
    counted = totals(scope)
    assert counted.checkins == province.checkins - province.annulled
    assert counted.people == province.people < province.checkins
    assert counted.served == province.served
    assert counted.headcount == db.session.scalar(select(func.sum(Headcount.count)))
    assert count_activities(scope) == province.activities - province.cancelled


def test_targets_are_handed_down_and_roughly_met(db, province):
    campaign = db.session.get(Campaign, province.campaign_id)
    root = db.session.get(Unit, province.unit_id)
    cities = db.session.scalars(select(Unit).where(Unit.level == Level.CITY)).all()
    districts = db.session.scalars(select(Unit).where(Unit.level == Level.DISTRICT)).all()
    targets = {t.unit_id: TargetValues.of(t) for t in db.session.scalars(select(CampaignTarget))}
    assert set(targets) == {root.id} | {u.id for u in cities + districts}
    handed = hand_down(targets[root.id], [targets[c.id] for c in cities])
    assert {state.state for state in handed.values()} == {"exact"}
    now = datetime.now(UTC) + timedelta(days=400)  # everything held, for this comparison
    figures = progress(campaign, [root], now)[root.id]
    for _name, measure in figures.measures:
        assert measure.target and 0.75 <= measure.actual / measure.target <= 1.3


def test_gifts_are_received_numbered_and_handed_out_at_held_activities(db, province):
    assert province.sponsors >= 12 and province.distributions > 0
    donations = db.session.scalars(select(Donation)).all()
    assert {d.status for d in donations} <= set(DonationStatus)
    numbers = [d.receipt_number for d in donations if d.receipt_number]
    assert len(numbers) == len(set(numbers))
    for donation in donations:
        given = db.session.scalar(
            select(func.coalesce(func.sum(Distribution.quantity), 0)).where(
                Distribution.donation_id == donation.id
            )
        )
        assert Decimal(given) == donation.distributed <= donation.amount
        assert (donation.status is DonationStatus.DISTRIBUTED) == (
            donation.distributed == donation.amount
        )
        assert (donation.received_on is None) == (donation.status is DonationStatus.PLEDGED)
        assert (donation.receipt_number is None) == (donation.received_on is None)
        assert donation.campaign_id == province.campaign_id
    for row, activity, donation in db.session.execute(
        select(Distribution, Activity, Donation)
        .join(Activity, Activity.id == Distribution.activity_id)
        .join(Donation, Donation.id == Distribution.donation_id)
    ):
        assert not activity.is_cancelled and row.station_id == activity.station_id
        assert donation.received_on <= row.distributed_on
    counters = {(c.unit_id, c.year): c.last for c in db.session.scalars(select(ReceiptCounter))}
    assert sum(counters.values()) == len(numbers)
    # Each unit numbers its receipts per year, without gaps, in the order the gifts came.
    received = sorted(
        (d.receipt_number.rsplit("-", 2)[0], d.received_on, d.id, d.receipt_number)
        for d in donations
        if d.receipt_number
    )
    seen: Counter = Counter()
    for prefix, received_on, _id, number in received:
        seen[(prefix, received_on.year)] += 1
        assert number == f"{prefix}-{received_on.year}-{seen[(prefix, received_on.year)]:05d}"


def test_sponsors_are_registered_with_city_and_district_unions(db, province):
    levels = set(db.session.scalars(select(Unit.level).join(Sponsor, Sponsor.unit_id == Unit.id)))
    assert levels <= {Level.CITY, Level.DISTRICT}


def test_ordinary_inserts_carry_on_after_the_load(db, make_unit, make_station, make_campaign):
    # Rows made before the load keep their ids; the load's ids follow theirs.
    before = make_station(make_unit("某省总工会"))
    summary = build_province(**SMALL, echo=lambda _line: None)
    assert summary.unit_id > before.unit_id
    root = find_province()
    unit = create_unit("新建市总工会", Level.CITY, root)
    station = create_station(unit, "NEW-001", "新建驿站")
    theme = db.session.scalar(select(Theme).where(Theme.code == "haircut"))
    campaign = db.session.get(Campaign, summary.campaign_id)
    starts = datetime.now(UTC) - timedelta(minutes=30)
    activity = schedule_activity(
        campaign, station, theme, "新活动", starts, starts + timedelta(hours=2)
    )
    db.session.flush()
    checkin, created = check_in(activity.id, "13800001111", BeneficiaryGroup.RIDER, "nonce-123456")
    db.session.add(Sponsor(unit=unit, name="新爱心企业", kind="enterprise"))
    db.session.commit()
    assert created and checkin.id > summary.checkins
    assert unit.path == f"{root.path}{unit.id}/"
    assert _count(db, Unit, under(Unit.path, root.path)) == summary.units + 1


def test_the_command_builds_once_and_then_refuses_cleanly(runner, db):
    args = ["demo", "province", "--stations", "30", "--activities", "100", "--checkins", "500"]
    args += ["--visits", "800"]
    result = runner.invoke(args=args)
    assert result.exit_code == 0, result.output
    assert result.output.count("\n") == 6 and "Built the synthetic province" in result.output
    assert "Shelves: " in result.output and "Analytics: " in result.output
    assert "Points: " in result.output and " awards (" in result.output
    assert "800 door visits" in result.output and "station masters" in result.output
    plan = construction_plan(30, local_today())
    report = plan.report_day
    assert f"Construction year {plan.year}: target 30 stations by {plan.due_on}" in result.output
    assert f"{plan.open_on_report_day} open on {report}" in result.output
    assert f"{plan.allocated:,}.00 yuan allocated, {plan.driven:,}.00 driven" in result.output
    counts = {m: _count(db, m) for m in (Unit, Station, Activity, CheckIn, Sponsor, StationVisit)}
    again = runner.invoke(args=[*args, "--seed", "2"])
    assert again.exit_code != 0
    assert "already in this database" in again.output and "nothing was written" in again.output
    assert {m: _count(db, m) for m in counts} == counts


def test_build_province_raises_when_the_province_exists(db, province):
    with pytest.raises(ProvinceExists):
        build_province(**SMALL, echo=lambda _line: None)


def test_check_ins_without_held_activities_are_refused_and_nothing_is_written(db):
    with pytest.raises(ValueError, match="held"):
        build_province(stations=5, activities=0, checkins=10, echo=lambda _line: None)
    assert _count(db, Unit) == 0 and _count(db, Station) == 0


def test_the_schema_is_as_the_migrations_left_it(db, province):
    # On PostgreSQL the load drops the big tables' foreign keys and adds them back.
    with db.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        assert compare_metadata(context, db.metadata) == []
        if conn.dialect.name == "postgresql":
            invalid = conn.exec_driver_sql(
                "SELECT count(*) FROM pg_constraint WHERE NOT convalidated"
            ).scalar()
            assert invalid == 0


# --- The construction year ------------------------------------------------------------------

# TODAY (30 June 2026) comes before 15 August: the construction year is 2025.
YEAR = 2025
REPORT = date(YEAR, 8, 15)


def test_the_full_size_plan_is_anhuis():
    plan = construction_plan(11_000, date(2026, 12, 7))
    assert (plan.year, plan.target, plan.due_on) == (2026, 11_000, date(2026, 12, 31))
    assert (plan.report_day, plan.open_on_report_day) == (date(2026, 8, 15), 9_220)
    assert round(plan.open_on_report_day / plan.target * 100, 1) == 83.8
    assert (plan.provincial_level, plan.most_beautiful, plan.practical_project) == (1_100, 170, 500)
    assert (plan.allocated, plan.driven, plan.leveraged) == (15_420_000, 86_000_000, 164_000_000)
    assert construction_year(date(2026, 8, 15)) == 2025
    assert construction_year(date(2026, 8, 16)) == 2026
    assert construction_year(TODAY) == YEAR


def test_the_construction_year_is_counted_from_the_records(db, province):
    plan = construction_plan(SMALL["stations"], TODAY)
    root = db.session.get(Unit, province.unit_id)
    built = province.construction
    assert (built.year, built.report_day) == (YEAR, REPORT) == (plan.year, plan.report_day)
    # The target, handed down to the cities: theirs add up to it or a little more.
    target = db.session.scalars(
        select(ConstructionTarget).where(ConstructionTarget.unit_id == root.id)
    ).one()
    assert (target.year, target.stations, target.due_on) == (YEAR, plan.target, plan.due_on)
    cities = db.session.execute(
        select(ConstructionTarget.stations)
        .join(Unit, Unit.id == ConstructionTarget.unit_id)
        .where(Unit.level == Level.CITY, ConstructionTarget.year == YEAR)
    ).scalars()
    shares = list(cities)
    assert len(shares) == 16 and all(n > 0 for n in shares)
    assert plan.target <= sum(shares) <= plan.target + 16
    assert (built.target, built.cities, built.city_targets) == (plan.target, 16, sum(shares))
    # Exactly the planned number open on 15 August, as the one rule counts them.
    open_count = _count(db, Station, Station.under(root.path), Station.open_on(REPORT))
    assert open_count == built.open_on_report_day == plan.open_on_report_day == 50
    assert built.percent == Decimal("83.3")
    # The funds of the year roll up to the plan's figures.
    funds = subtree_totals(root, YEAR, date(YEAR, 12, 31))
    assert funds == built.funds
    assert (funds.allocated, funds.driven, funds.leveraged) == (
        plan.allocated,
        plan.driven,
        plan.leveraged,
    )
    assert 0 < funds.paid < funds.total
    assert province.construction_targets == 17 and province.fund_lines == _count(db, FundLine)
    goals = {(g.unit_id, g.level): g.percent for g in db.session.scalars(select(CoverageGoal))}
    assert goals[(root.id, Level.STREET)] == 100

    # Change the records and the figures follow: they are counted, not remembered.
    station = db.session.scalars(
        select(Station).where(Station.open_on(REPORT)).order_by(Station.id)
    ).first()
    station.status, station.closed_on = StationStatus.CLOSED, REPORT
    station.closure_reason = "测试：按退出机制关闭"
    line = db.session.scalars(
        select(FundLine).where(FundLine.kind == FundKind.AWARD).order_by(FundLine.id)
    ).first()
    db.session.delete(line)
    target.stations += 100
    db.session.flush()
    again = construction_figures(root, YEAR)
    assert again.open_on_report_day == built.open_on_report_day - 1
    assert again.funds.allocated == built.funds.allocated - line.amount
    assert again.target == built.target + 100


def test_station_lifecycles_tell_a_construction_year(db, province):
    stations = db.session.scalars(select(Station)).all()
    statuses = Counter(s.status for s in stations)
    assert statuses[StationStatus.CLOSED] >= 1
    assert statuses[StationStatus.PLANNED] + statuses[StationStatus.UNDER_CONSTRUCTION] >= 1
    for s in stations:
        if s.status.has_opened:
            assert s.opened_on is not None and s.opened_on <= TODAY
        else:
            assert s.opened_on is None and s.closed_on is None
        if s.status is StationStatus.CLOSED:
            assert s.opened_on <= s.closed_on <= TODAY and s.closure_reason
        else:
            assert s.closed_on is None and s.closure_reason == ""
    opened = sorted(s.opened_on for s in stations if s.opened_on)
    # Older stations opened in earlier years; this year's before and after the report day.
    assert opened[0].year < YEAR
    assert any(date(YEAR, 1, 1) <= d <= REPORT for d in opened)
    assert any(REPORT < d <= date(YEAR, 12, 31) for d in opened)
    # Activities are held at stations that had opened.
    for starts, opened_on in db.session.execute(
        select(Activity.starts_at, Station.opened_on).join(
            Station, Station.id == Activity.station_id
        )
    ):
        assert opened_on is not None and starts.astimezone(DEFAULT_ZONE).date() >= opened_on


def test_stations_have_host_types_and_partners_as_records(db, province):
    root = db.session.get(Unit, province.unit_id)
    rows = db.session.execute(
        select(Station.id, Station.name, HostType.code, Unit.path)
        .join(HostType, HostType.id == Station.host_type_id)
        .join(Unit, Unit.id == Station.unit_id)
    ).all()
    assert len(rows) == SMALL["stations"] and len({r.code for r in rows}) >= 4
    partners = {p.id: p for p in db.session.scalars(select(Partner))}
    links: dict[int, list[Partner]] = {}
    for link in db.session.scalars(select(StationPartner)):
        links.setdefault(link.station_id, []).append(partners[link.partner_id])
    assert links and all(p.station_links for p in partners.values())
    for station_id, name, host, path in rows:
        linked = links.get(station_id, [])
        if "加油站" in name:
            assert host == "gas_station"
            assert [p.unit_id for p in linked] == [root.id]
            assert any(brand in linked[0].name for brand in ("中国石化", "中国石油"))
        if "营业厅" in name:
            assert host == "telecom_hall" and linked[0].unit_id == root.id
        if "支行" in name:
            assert host == "bank" and "银行" in linked[0].name
        if "党群服务中心" in name:
            assert host == "party_mass_centre"
        # A partner is kept by the province or by a unit above the station.
        for partner in linked:
            assert path.startswith(db.session.get(Unit, partner.unit_id).path)


def test_labels_are_awarded_in_plausible_years_by_units_above(db, province):
    plan = construction_plan(SMALL["stations"], TODAY)
    root = db.session.get(Unit, province.unit_id)
    awards = db.session.execute(
        select(Label.code, LabelAward.year, LabelAward.awarded_by_id, Station, Unit.path)
        .join(Label, Label.id == LabelAward.label_id)
        .join(Station, Station.id == LabelAward.station_id)
        .join(Unit, Unit.id == Station.unit_id)
    ).all()
    by_label: dict[str, set[int]] = {}
    for code, year, awarded_by, station, path in awards:
        by_label.setdefault(code, set()).add(station.id)
        assert station.opened_on is not None and station.opened_on.year <= year <= YEAR
        assert path.startswith(db.session.get(Unit, awarded_by).path)
        if code in ("provincial_level", "national_most_beautiful"):
            assert awarded_by == root.id and station.status is not StationStatus.CLOSED
    assert len(by_label["provincial_level"]) == plan.provincial_level == 6
    assert len(by_label.get("national_most_beautiful", ())) == plan.most_beautiful == 1
    assert by_label["national_most_beautiful"] <= by_label["provincial_level"]
    assert len(by_label["provincial_practical_project"]) == plan.practical_project == 3
    assert province.label_awards == len(awards)


def test_the_funds_ledger_adds_up_line_by_line(db, province):
    root = db.session.get(Unit, province.unit_id)
    lines = db.session.scalars(select(FundLine)).all()
    assert {line.kind for line in lines} == set(FundKind)
    sums: Counter = Counter()
    for line in lines:
        assert line.year == YEAR and line.amount > 0
        assert date(YEAR, 1, 1) <= line.allocated_on <= min(TODAY, date(YEAR, 12, 31))
        assert line.paid_on is None or line.allocated_on <= line.paid_on <= TODAY
        sums[line.kind.rollup] += line.amount
        if line.kind.rollup == "allocated" or line.kind is FundKind.UNION_INVESTMENT:
            assert line.source_unit_id is not None and line.partner_id is None
        else:
            assert line.source_unit_id is None and (line.partner_id or line.note)
    plan = construction_plan(SMALL["stations"], TODAY)
    assert (sums["allocated"], sums["driven"], sums["leveraged"]) == (
        plan.allocated,
        plan.driven,
        plan.leveraged,
    )
    assert sum(line.paid_on is not None for line in lines) > len(lines) * 0.7
    # The operating subsidy: 3,000 yuan for every provincial-level station, as the rule writes.
    operating = [line for line in lines if line.kind is FundKind.OPERATING_SUBSIDY]
    labelled = set(
        db.session.scalars(
            select(LabelAward.station_id)
            .join(Label, Label.id == LabelAward.label_id)
            .where(Label.code == "provincial_level")
        )
    )
    assert {line.station_id for line in operating} == labelled
    assert all(
        (line.amount, line.rule, line.source_unit_id) == (Decimal(3000), OPERATING_RULE, root.id)
        for line in operating
    )


# --- Running the stations: door traffic, administrators, training, duty ---------------------


def _local(moment: datetime) -> datetime:
    return moment.astimezone(DEFAULT_ZONE)


def test_door_traffic_is_exact_within_lifecycles_and_opening_hours(db, province):
    campaign = db.session.get(Campaign, province.campaign_id)
    root = db.session.get(Unit, province.unit_id)
    rows = db.session.execute(
        select(StationVisit, Station).join(Station, Station.id == StationVisit.station_id)
    ).all()
    assert len(rows) == SMALL["visits"] == province.traffic.visits
    now = datetime.now(UTC)
    for visit, station in rows:
        day = visit.visit_day
        assert campaign.starts_on <= day <= min(campaign.ends_on, TODAY)
        assert station.opened_on is not None and station.opened_on <= day
        assert station.closed_on is None or day < station.closed_on
        if station.status is StationStatus.SUSPENDED:
            assert day <= _local(station.updated_at).date()
        local = _local(visit.visited_at)
        assert local.date() == day and visit.visited_at <= now
        assert station.hours.is_open_at(local.time())
    # One visit per person, station and day; people come back; the counting rule agrees.
    keys = Counter((v.station_id, v.identity, v.visit_day) for v, _s in rows)
    assert max(keys.values()) == 1
    counted = traffic(root.path)
    assert (counted.visits, counted.visitors) == (
        province.traffic.visits,
        province.traffic.visitors,
    )
    assert counted.visitors < counted.visits / 2
    # A person keeps one group.
    groups: dict[str, set] = {}
    for visit, _station in rows:
        groups.setdefault(visit.identity, set()).add(visit.group)
    assert all(len(g) == 1 for g in groups.values())
    assert len({v.group for v, _s in rows}) >= 5


def test_door_traffic_is_uneven_over_stations_and_the_year(db, province):
    root = db.session.get(Unit, province.unit_id)
    per_station = sorted(
        (t.visits for t in traffic_by_station(select(Station.id)).values()), reverse=True
    )
    busiest = per_station[: max(1, len(per_station) // 10)]
    assert sum(busiest) > 0.3 * SMALL["visits"]
    # Quiet at the Spring Festival (17 February 2026), busy in the summer heat.
    festival = traffic(root.path, date(2026, 2, 17), date(2026, 2, 23)).visits / 7
    july = traffic(root.path, date(2025, 7, 1), date(2025, 7, 31)).visits / 31
    year = SMALL["visits"] / 365
    assert festival < 0.6 * year < july


def test_feedback_follows_visits(db, province):
    feedback = db.session.scalars(select(Feedback)).all()
    assert len(feedback) == province.traffic.feedback
    for row in feedback:
        assert row.rating is None or 1 <= row.rating <= 5
        assert row.rating is not None or row.comment
        visit = db.session.scalar(
            select(StationVisit).where(
                StationVisit.station_id == row.station_id,
                StationVisit.identity == row.identity,
                StationVisit.visit_day == row.visit_day,
            )
        )
        assert visit is not None and visit.visited_at <= row.created_at


def test_most_open_stations_have_a_master_and_some_assistants(db, province):
    root = db.session.get(Unit, province.unit_id)
    open_ids = select(Station.id).where(Station.under(root.path), Station.open_on(TODAY))
    open_count = _count(db, Station, Station.id.in_(open_ids))
    masters = masters_by_station(open_ids)
    roster = province.roster
    assert 0.8 * open_count <= len(masters) < open_count
    assert roster.without_master == open_count - len(masters) >= 1
    admins = db.session.scalars(select(StationAdmin)).all()
    assert len(admins) == roster.admins
    assert roster.assistants == sum(
        a.role is AdminRole.ASSISTANT and a.until is None for a in admins
    )
    assert roster.former == sum(a.until is not None for a in admins) >= 1
    current = Counter(a.station_id for a in admins if a.role is AdminRole.MASTER and a.is_current)
    assert max(current.values()) == 1
    for admin in admins:
        assert len(admin.name) in (2, 3) and admin.phone.isdigit() and len(admin.phone) == 11
        assert admin.since <= TODAY and (admin.until is None or admin.since <= admin.until)
    trainings = db.session.scalars(select(Training)).all()
    assert len(trainings) == roster.trainings and roster.trained >= 2
    for training in trainings:
        assert training.taken_on <= TODAY and training.hours > 0
        assert training.admin.since <= training.taken_on
    assert any("培训班" in t.course and t.certificate for t in trainings)


def test_duty_shifts_at_stations_with_hours_on_most_open_days(db, province):
    shifts = db.session.execute(
        select(DutyShift, StationAdmin, Station)
        .join(StationAdmin, StationAdmin.id == DutyShift.admin_id)
        .join(Station, Station.id == DutyShift.station_id)
    ).all()
    assert len(shifts) == province.roster.shifts > 0
    for shift, admin, station in shifts:
        assert admin.station_id == station.id and not station.open_24h and station.opening_hours
        assert admin.since <= shift.day and (admin.until is None or shift.day <= admin.until)
        assert station.opened_on <= shift.day and (
            station.closed_on is None or shift.day < station.closed_on
        )
        assert shift.ended_at is not None and shift.started_at <= shift.ended_at
        assert _local(shift.started_at).date() == shift.day
    # The campaign ended before today: no one is on duty now.
    assert province.roster.on_duty == 0
    # Attendance differs from city to city, and is high on the whole.
    root = db.session.get(Unit, province.unit_id)
    campaign = db.session.get(Campaign, province.campaign_id)
    now = datetime.now(UTC)
    by_city = duty_by_child(root, campaign.starts_on, TODAY, now)
    rates = {round(d.rate, 2) for d in by_city.values() if d.rate is not None}
    assert len(rates) > 3
    whole = duty_in(root.path, campaign.starts_on, TODAY, now)
    assert 0.5 < whole.rate < 0.98


def test_the_generator_keeps_to_lifecycles_hours_and_now(db, make_unit, make_station):
    province = make_unit("测试省总工会")
    city = make_unit("测试市总工会", province)
    first, last = date(2025, 3, 1), date(2025, 3, 31)
    now = datetime(2025, 3, 20, 11, 0, tzinfo=DEFAULT_ZONE)
    stations = {
        "hours": make_station(city, opening_hours="09:00-12:00, 14:00-17:00", opened_on=first),
        "late": make_station(city, opening_hours="08:00-20:00", opened_on=date(2025, 3, 10)),
        "closed": make_station(
            city,
            opening_hours="08:00-20:00",
            opened_on=date(2024, 1, 1),
            status=StationStatus.CLOSED,
            closed_on=date(2025, 3, 8),
            closure_reason="测试",
        ),
        "night": make_station(city, open_24h=True, opened_on=date(2024, 1, 1)),
        "planned": make_station(city, status=StationStatus.PLANNED, opened_on=None),
    }
    summary = generate_door_traffic(
        db.session, province, visits=500, first_day=first, last_day=last, seed=3, now=now
    )
    db.session.commit()
    assert summary.visits == 500 == _count(db, StationVisit)
    assert summary.last_day == now.date() and summary.stations == 4
    by_station = Counter(db.session.scalars(select(StationVisit.station_id)))
    assert stations["planned"].id not in by_station
    assert all(by_station[stations[k].id] > 0 for k in ("hours", "late", "closed", "night"))
    for visit in db.session.scalars(select(StationVisit)):
        station = db.session.get(Station, visit.station_id)
        local = _local(visit.visited_at)
        assert visit.visited_at <= now and local.date() == visit.visit_day
        assert station.opened_on <= visit.visit_day
        assert station.closed_on is None or visit.visit_day < station.closed_on
        assert station.hours.is_open_at(local.time())
    keys = db.session.execute(
        select(StationVisit.station_id, StationVisit.identity, StationVisit.visit_day)
    ).all()
    assert len(set(keys)) == len(keys)
    # A second span over the same days adds to the first without a clash.
    again = generate_door_traffic(
        db.session, province, visits=200, first_day=first, last_day=last, seed=4, now=now
    )
    db.session.commit()
    assert _count(db, StationVisit) == 700 == summary.visits + again.visits


def test_the_generator_refuses_visits_where_no_station_is_open(db, make_unit, make_station):
    province = make_unit("测试省总工会")
    make_station(province, status=StationStatus.PLANNED, opened_on=None)
    with pytest.raises(ValueError, match="open"):
        generate_door_traffic(
            db.session, province, visits=10, first_day=date(2025, 1, 1),
            last_day=date(2025, 1, 31), seed=1,
        )  # fmt: skip
    db.session.rollback()
    assert _count(db, StationVisit) == 0


def test_duty_now_leaves_a_handful_on_duty(db, make_unit, make_station, make_admin):
    province = make_unit("测试省总工会")
    now = datetime(2025, 5, 6, 22, 30, tzinfo=DEFAULT_ZONE)  # after every station has closed
    for _ in range(8):
        station = make_station(province, opening_hours="08:00-18:00", opened_on=date(2025, 1, 1))
        make_admin(station, since=date(2025, 1, 1))
    summary = generate_duty(
        db.session, province, first_day=date(2025, 4, 1), last_day=date(2025, 5, 31), seed=2,
        now=now,
    )  # fmt: skip
    db.session.commit()
    open_shifts = db.session.scalars(select(DutyShift).where(DutyShift.ended_at.is_(None))).all()
    assert summary.on_duty == len(open_shifts) == HANDFUL
    assert len({s.admin_id for s in open_shifts}) == HANDFUL
    assert all(s.day == now.date() and s.started_at <= now for s in open_shifts)
    assert max(s.day for s in db.session.scalars(select(DutyShift))) == now.date()
    assert _count(db, DutyShift) == summary.shifts > 8 * 20


def test_a_big_load_builds_the_indexes_again_as_they_were(db, make_unit, make_station):
    # The province's big tables lose their indexes (and on PostgreSQL their keys and unique
    # constraints) for the load; they come back exactly, and hold again.
    station = make_station(make_unit("测试省总工会"), opened_on=date(2025, 1, 1))
    writer = BulkWriter(db.session)
    day = writer.day(date(2025, 3, 1))
    at = writer.stamp(int(datetime(2025, 3, 1, 10, tzinfo=DEFAULT_ZONE).timestamp()))
    rows = [(n, station.id, f"{n:064x}", "rider", f"n{n}", day, at) for n in range(1, 4)]
    with writer.suspended((StationVisit.__table__,), SUSPEND_FROM):
        writer.write(StationVisit.__table__, VISIT_COLUMNS, rows)
    writer.fix_sequences((StationVisit.__table__,))
    db.session.commit()
    with db.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        assert compare_metadata(context, db.metadata) == []
    db.session.add(
        StationVisit(
            station_id=station.id,
            identity=f"{1:064x}",
            group=BeneficiaryGroup.RIDER,
            nonce="another",
            visit_day=date(2025, 3, 1),
        )
    )
    with pytest.raises(IntegrityError):
        db.session.commit()
    db.session.rollback()
    assert _count(db, StationVisit) == 3
