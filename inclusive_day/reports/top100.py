"""Double Top 100 ("双百优"): the top sites and the top station masters of a unit's subtree for
a year, ranked by published criteria whose weights the unit's organisers set, and confirmed by
them before the lists are published.

Candidates
- sites: the subtree's stations open on at least one day of the year (opened before it ended,
  not closed before it began), each measured over the year, as every report counts a
  station's year;
- station masters: whoever was the master of one of those stations on one of its open days in
  the year, measured on the station's figures over their tenure within those days (from
  `since` to `until`, both included; a tenure over all of them has the site's figures), and
  on their own training.

Criteria (each one's raw figure is shown beside the score)
- visits: door visits at the station (attendance.traffic's rule);
- activities: activities held there (not cancelled, started), as the recap counts them;
- served: person-times served at those activities (attendance.queries' rule);
- inspections: inspections of the station that passed (not "after rectification");
- duty: duty attendance, the share of the days the station expected someone on duty on which
  someone signed on (a master's: over their tenure, whether they or their assistants were on
  duty: a master answers for the station being staffed in its hours); no figure at a station
  that expects no one (open 24 h, or no hours). Counted per station and day from the index
  alone, where telling who signed on would read each of a province's millions of shifts;
- training: hours of training taken in the year, by the station's administrators (a site) or
  by the master themself;
- rating: workers' average rating, once at least MIN_RATINGS were given.

Score: each criterion's figure divided by the highest figure among the list's candidates, so
that the best on a criterion scores its whole weight and the others in proportion (a lead
counts by its size, not only by the place it gives), times the criterion's weight, summed
and scaled to 100 by the weights' total. A criterion a candidate has no figure for adds
nothing. Scores are rounded to two decimals; equal scores share a rank and are listed by
station code (masters then by name). A list holds the candidates ranked 100th or better with
a score above zero (more than 100 only when several tie for the last place).

A constant number of queries, however large the tree: the spans of days counted (stations'
years, and masters' tenures within them) are one SQL expression that every criterion's
grouped query joins, read once for the names and once per criterion; the big tables (door
visits, check-ins, duty shifts) are grouped per station over the year, and joined day by day
only for the stations whose master changed during it.

Confirming publishes: the lists exactly as the confirming organiser saw them (the page sends
a digest of what it showed; if the figures or weights moved since, nothing is written and the
page shows the new lists) are kept in the Top100List row, and shown from then on as they
were, whatever happens to the figures. The weights are locked with them. A confirmed list is
not reopened: an honour list that has been announced is not quietly changed.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Any

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import Date, Integer, and_, case, cast, literal, or_, select, union_all
from sqlalchemy.exc import IntegrityError

from inclusive_day.activities.queries import held_and_served_by_span
from inclusive_day.attendance.feedback import ratings_by_window
from inclusive_day.attendance.traffic import visits_by_span
from inclusive_day.auth.models import User
from inclusive_day.database import set_local, utcnow
from inclusive_day.extensions import db
from inclusive_day.periods import DEFAULT_ZONE, day_after
from inclusive_day.refusals import Refused
from inclusive_day.replica import read_from_replica, reads_from_replica
from inclusive_day.reports.league import ranks
from inclusive_day.reports.models import Top100List
from inclusive_day.reports.recap import analytic_transaction
from inclusive_day.staffing.models import AdminRole, StationAdmin
from inclusive_day.staffing.queries import (
    duty_by_span,
    training_hours_by_admin,
    training_hours_by_station,
)
from inclusive_day.stations.inspections import passed_by_window
from inclusive_day.stations.models import Station
from inclusive_day.units.models import Unit

# How many places each list has.
LIST_SIZE = 100
# The fewest ratings from which a candidate's average rating counts.
MIN_RATINGS = 5
# The weights organisers may give a criterion: 0 (left out) to this.
MAX_WEIGHT = 100
# The years a list may be made for (the table's check).
FIRST_YEAR, LAST_YEAR = 2000, 2100
# Window kinds: a station's open days in the year, or a master's tenure within them.
SITE, MASTER = 0, 1
# Memory for each sort or hash of the report's statements (PostgreSQL's default is 4MB).
REPORT_WORK_MEM = "32MB"
# From how many stations a subtree's big aggregates run alongside (PostgreSQL only).
LARGE_SUBTREE = 500
# Threads for the aggregates that `alongside` sends to connections of their own.
_ALONGSIDE = ThreadPoolExecutor(max_workers=4, thread_name_prefix="top100-sql")


@dataclass(frozen=True)
class Criterion:
    """One published criterion: its code, its name, and how it is counted for each list."""

    code: str
    label: object
    site_rule: object
    master_rule: object


CRITERIA = (
    Criterion(
        "visits",
        _l("Door visits"),
        _l("door visits at the station (one per person and day) in the year"),
        _l("door visits at the station during the master's tenure"),
    ),
    Criterion(
        "activities",
        _l("Activities held"),
        _l("activities held at the station (not cancelled, started) in the year"),
        _l("activities held at the station during the master's tenure"),
    ),
    Criterion(
        "served",
        _l("Served"),
        _l("person-times served at those activities (headcounts and check-ins)"),
        _l("person-times served at those activities"),
    ),
    Criterion(
        "inspections",
        _l("Inspections passed"),
        _l("inspections of the station that passed (not after rectification)"),
        _l("inspections of the station that passed during the master's tenure"),
    ),
    Criterion(
        "duty",
        _l("Duty attendance"),
        _l("share of the days the station expected someone on duty with someone signed on"),
        _l("the same share over the master's tenure (they or their assistants on duty)"),
    ),
    Criterion(
        "training",
        _l("Training hours"),
        _l("hours of training the station's administrators took in the year"),
        _l("hours of training the master took in the year"),
    ),
    Criterion(
        "rating",
        _l("Average rating"),
        _l("workers' average rating of the station (from %(n)s ratings)", n=MIN_RATINGS),
        _l(
            "workers' average rating during the master's tenure (from %(n)s ratings)", n=MIN_RATINGS
        ),
    ),
)
CODES = tuple(c.code for c in CRITERIA)
DEFAULT_WEIGHTS = dict.fromkeys(CODES, 1.0)


# --- What the page, the PDF, the spreadsheet and the confirmed lists hold ----------------------


@dataclass(frozen=True)
class Row:
    """One place on a list, as shown and as kept when confirmed: the rank and score, who (a
    station, or a master and their station), and each criterion's raw figure."""

    rank: int
    score: float
    name: str
    code: str
    station: str
    unit: str
    figures: dict[str, float | int | None]
    ratings: int = 0
    since: str | None = None
    until: str | None = None

    def as_json(self) -> dict:
        """The row as the JSON kept in Top100List."""
        return asdict(self)

    @classmethod
    def from_json(cls, data: Mapping) -> Row:
        """A row kept in Top100List, read back (criteria added since show no figure)."""
        figures = data.get("figures") or {}
        return cls(
            rank=int(data["rank"]),
            score=float(data["score"]),
            name=str(data["name"]),
            code=str(data["code"]),
            station=str(data.get("station", "")),
            unit=str(data.get("unit", "")),
            figures={code: figures.get(code) for code in CODES},
            ratings=int(data.get("ratings") or 0),
            since=data.get("since"),
            until=data.get("until"),
        )


@dataclass(frozen=True)
class Board:
    """Both lists of a unit and year with the weights they were ranked by; confirmed (and
    kept as they were) or still a draft computed now."""

    unit_id: int
    unit_name: str
    year: int
    weights: dict[str, float]
    sites: list[Row]
    masters: list[Row]
    generated_on: date
    site_candidates: int | None = None
    master_candidates: int | None = None
    confirmed_at: datetime | None = None
    confirmed_by: str | None = None

    @property
    def is_confirmed(self) -> bool:
        """True once organisers confirmed and published the lists."""
        return self.confirmed_at is not None

    @property
    def weight_total(self) -> float:
        """The sum of the weights (scores are scaled to 100 by it)."""
        return sum(self.weights.values())

    def digest(self) -> str:
        """A fingerprint of what the lists show, to confirm exactly what was seen."""
        return lists_digest(self.weights, self.sites, self.masters)


def lists_digest(weights: Mapping[str, float], sites: list[Row], masters: list[Row]) -> str:
    """SHA-256 of the weights and both lists as JSON."""
    text = json.dumps(
        {
            "weights": dict(weights),
            "sites": [r.as_json() for r in sites],
            "masters": [r.as_json() for r in masters],
        },
        sort_keys=True,
        ensure_ascii=False,
    )
    return hashlib.sha256(text.encode()).hexdigest()


# --- Refusals -------------------------------------------------------------------------------


class Top100Refusal(StrEnum):
    """Why weights or a confirmation are refused: the code a Top100Error carries."""

    NOT_A_NUMBER = "not_a_number"
    NEGATIVE = "negative"
    TOO_LARGE = "too_large"
    ALL_ZERO = "all_zero"
    CONFIRMED = "confirmed"
    CHANGED_MEANWHILE = "changed_meanwhile"


class Top100Error(Refused):
    """Weights or a confirmation that cannot be taken; its code is a Top100Refusal."""


def check_weights(raw: Mapping[str, object]) -> dict[str, float]:
    """Each criterion's weight: a number from 0 (left out) to MAX_WEIGHT, at least one above
    zero; rounded to two decimals."""
    weights = {}
    for criterion in CRITERIA:
        text = str(raw.get(criterion.code) if raw.get(criterion.code) is not None else "")
        try:
            value = Decimal(text.strip())
        except InvalidOperation:
            value = None
        if value is None or not value.is_finite():
            raise Top100Error(
                _l("Give %(criterion)s a number (0 leaves it out).", criterion=criterion.label),
                Top100Refusal.NOT_A_NUMBER,
                criterion.code,
            )
        if value < 0:
            raise Top100Error(
                _l("A weight cannot be negative (%(criterion)s).", criterion=criterion.label),
                Top100Refusal.NEGATIVE,
                criterion.code,
            )
        if value > MAX_WEIGHT:
            raise Top100Error(
                _l(
                    "A weight is at most %(max)s (%(criterion)s).",
                    max=MAX_WEIGHT,
                    criterion=criterion.label,
                ),
                Top100Refusal.TOO_LARGE,
                criterion.code,
            )
        weights[criterion.code] = float(round(value, 2))
    if not any(weights.values()):
        raise Top100Error(
            _l("Give at least one criterion a weight above zero."),
            Top100Refusal.ALL_ZERO,
            CODES[0],
        )
    return weights


# --- The windows and the candidates' figures ------------------------------------------------


def year_days(year: int) -> tuple[date, date]:
    """The first and the last day of `year`."""
    return date(year, 1, 1), date(year, 12, 31)


@dataclass(frozen=True)
class Windows:
    """The spans of days every criterion counts over, as (kind, ref, station_id, first_day,
    end_day), end_day excluded:

    - SITE spans: each station of the subtree open in the year, over the whole year (ref: the
      station), the span every other report counts a station's year over;
    - MASTER spans: each master's tenure within the station's open days in the year (ref: the
      administrator); `whole` when it covers all of them, and then its figures are the
      site's.

    `every` (a CTE, with `whole`) holds them all; `sites` the site spans (kind, ref,
    station_id); `tenures` the masters' spans that are not whole; `measured` both, with their
    days. The big tables are read once per station's year, and day by day only for the
    stations whose master changed during it."""

    every: object
    sites: object
    tenures: object
    measured: object


def windows_of(path: str, year: int) -> Windows:
    """The spans of `path`'s subtree for `year` (see Windows). Each part is its own SELECT from
    the stations and administrators, not a filter on the union, so that the planner knows
    their sizes (on a CTE it guesses, and a guess of one row turns a hash join into a loop)."""
    first, last = year_days(year)
    after = last + timedelta(days=1)
    open_in_year = (
        Station.under(path),
        Station.opened_on <= last,
        or_(Station.closed_on.is_(None), Station.closed_on > first),
    )
    sites = select(
        cast(literal(SITE), Integer).label("kind"),
        Station.id.label("ref"),
        Station.id.label("station_id"),
    ).where(*open_in_year)
    days = (literal(first, Date).label("first_day"), literal(after, Date).label("end_day"))
    # A master counts over their tenure within the station's open days in the year; a tenure
    # over all of those days is `whole`, and has the site's figures.
    opens = case((Station.opened_on > first, Station.opened_on), else_=literal(first, Date))
    closes = case(
        (and_(Station.closed_on.is_not(None), Station.closed_on < after), Station.closed_on),
        else_=literal(after, Date),
    )
    leaves = day_after(StationAdmin.until)
    whole = and_(
        StationAdmin.since <= opens,
        or_(StationAdmin.until.is_(None), leaves >= closes),
    )
    masters = (
        select(
            cast(literal(MASTER), Integer).label("kind"),
            StationAdmin.id.label("ref"),
            StationAdmin.station_id.label("station_id"),
            case((StationAdmin.since > opens, StationAdmin.since), else_=opens).label("first_day"),
            case(
                (and_(StationAdmin.until.is_not(None), leaves < closes), leaves), else_=closes
            ).label("end_day"),
        )
        .join(Station, Station.id == StationAdmin.station_id)
        .where(
            *open_in_year,
            StationAdmin.role == AdminRole.MASTER,
            StationAdmin.since < closes,
            or_(StationAdmin.until.is_(None), StationAdmin.until >= opens),
        )
    )
    tenures = masters.where(~whole)
    return Windows(
        every=union_all(
            sites.add_columns(*days, cast(literal(1), Integer).label("whole")),
            masters.add_columns(case((whole, 1), else_=0).label("whole")),
        ).cte("windows"),
        sites=sites.subquery("sites"),
        tenures=tenures.subquery("tenures"),
        measured=union_all(sites.add_columns(*days), tenures).subquery("measured"),
    )


@dataclass
class _Candidate:
    """A site or a master with their raw figures, before scoring."""

    name: str
    code: str
    station: str
    unit: str
    figures: dict[str, float | int | None]
    ratings: int
    order: tuple
    since: str | None = None
    until: str | None = None
    score: float = 0.0


@dataclass(frozen=True)
class Candidates:
    """Every candidate of both lists with their raw figures."""

    sites: list[_Candidate] = field(default_factory=list)
    masters: list[_Candidate] = field(default_factory=list)


def candidates(unit: Unit, year: int, now: datetime | None = None) -> Candidates:
    """The sites and station masters of `unit`'s subtree for `year`, with each criterion's
    raw figure: ten queries, however many stations; for a large subtree on PostgreSQL the
    three that read big tables (door visits, activities and served, duty) run on connections
    of their own while this session reads the rest (see `alongside`)."""
    now = now or utcnow()
    first, last = year_days(year)
    report_transaction()
    windows = windows_of(unit.path, year)
    every, measured = windows.every, windows.measured
    years, tenures = windows.sites, windows.tenures
    described = (
        select(
            every.c.kind,
            every.c.ref,
            every.c.station_id,
            every.c.first_day,
            every.c.end_day,
            every.c.whole,
            Station.code,
            Station.name,
            Unit.name,
        )
        .join(Station, Station.id == every.c.station_id)
        .join(Unit, Unit.id == Station.unit_id)
    )
    sites = db.session.execute(described.where(every.c.kind == SITE)).all()
    big = alongside(
        [
            lambda: visits_by_span(years, tenures, first, last),
            lambda: held_and_served_by_span(years, tenures, first, last, now),
            lambda: duty_by_span(years, tenures, first, last),
        ],
        large=len(sites) > LARGE_SUBTREE,
    )
    masters = db.session.execute(
        described.add_columns(StationAdmin.name)
        .join(StationAdmin, StationAdmin.id == every.c.ref)
        .where(every.c.kind == MASTER)
    ).all()
    passed = passed_by_window(measured)
    ratings = ratings_by_window(measured)
    site_training = training_hours_by_station(
        select(every.c.ref).where(every.c.kind == SITE), first, last
    )
    master_training = training_hours_by_admin(
        select(every.c.ref).where(every.c.kind == MASTER), first, last
    )
    visits, held, duty = (result() for result in big)

    def figures(station: tuple, training: float) -> tuple[dict, int]:
        activities, served = held.get(station, (0, 0))
        rate = duty[station].rate if station in duty else None
        given, average = ratings.get(station, (0, None))
        return {
            "visits": visits.get(station, 0),
            "activities": activities,
            "served": served,
            "inspections": passed.get(station, 0),
            "duty": round(rate * 100, 1) if rate is not None else None,
            "training": round(training, 1),
            "rating": round(average, 2) if given >= MIN_RATINGS else None,
        }, given

    result = Candidates()
    for kind, ref, _station_id, _first, _end, _whole, code, name, unit_name in sites:
        key = (kind, ref)
        values, given = figures(key, site_training.get(ref, 0.0))
        result.sites.append(_Candidate(name, code, name, unit_name, values, given, (code,)))
    for kind, ref, station_id, start, end, whole, code, station, unit_name, master in masters:
        # A tenure over the station's whole window has the site's figures.
        counted = (SITE, station_id) if whole else (kind, ref)
        values, given = figures(counted, master_training.get(ref, 0.0))
        result.masters.append(
            _Candidate(
                master,
                code,
                station,
                unit_name,
                values,
                given,
                (code, master, ref),
                since=_day(start).isoformat(),
                until=(_day(end) - timedelta(days=1)).isoformat(),
            )
        )
    return result


def report_transaction() -> None:
    """The report's settings for the current transaction: those of every report (no JIT), and
    on PostgreSQL REPORT_WORK_MEM for each sort and hash, so that grouping a year of a
    province's rows per station, window and activity stays in memory. Ends with the
    transaction."""
    analytic_transaction()
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(set_local("work_mem", REPORT_WORK_MEM))


def alongside(calls: list[Callable[[], Any]], large: bool) -> list[Callable[[], Any]]:
    """Start `calls` (functions that read through `db.session`): for each, a function that
    gives its result. For a large subtree on PostgreSQL each starts at once in a thread, in an
    app context of its own (so on a connection of its own, with the report's settings), while
    this session goes on with the small queries: the big aggregates then use every core and
    the report takes about the time of the longest. Each statement of a READ COMMITTED
    transaction reads its own snapshot anyway, so the figures are as consistent with each
    other as one after the other. Otherwise (a small subtree, where threads only cost; or
    SQLite, where tests read rows they have not committed) each runs in this session when
    its result is asked for."""
    if not large or db.session.get_bind().dialect.name != "postgresql":
        return list(calls)
    app = current_app._get_current_object()
    on_replica = reads_from_replica()

    def run(call):
        with app.app_context():
            read_from_replica(on_replica)  # where this request reads, its threads read too
            try:
                report_transaction()
                return call()
            finally:
                db.session.rollback()
                db.session.remove()

    return [_ALONGSIDE.submit(run, call).result for call in calls]


def _day(value) -> date:
    """A DATE a window computed (SQLite may hand back its text)."""
    return value if isinstance(value, date) else date.fromisoformat(str(value))


# --- Scoring --------------------------------------------------------------------------------


def competition_ranks(scores: list[float]) -> list[int]:
    """Ranks of scores already in descending order: 90, 80, 80, 50 rank 1, 2, 2, 4."""
    by_position = ranks(dict(enumerate(scores)))
    return [by_position[i] for i in range(len(scores))]


def ranked(pool: list[_Candidate], weights: Mapping[str, float]) -> list[Row]:
    """The top of `pool` by the published score (see the module's docstring)."""
    total = sum(weights.get(code, 0) for code in CODES)
    highest = {
        code: max((c.figures[code] for c in pool if c.figures[code] is not None), default=0)
        for code in CODES
    }
    # Each figure's points: its share of the highest, times its weight, out of 100 in all.
    factors = [
        (code, 100 * weights.get(code, 0) / (highest[code] * total))
        for code in CODES
        if total and weights.get(code, 0) and highest[code] > 0
    ]
    for c in pool:
        figures = c.figures
        c.score = round(
            sum(factor * figures[code] for code, factor in factors if figures[code] is not None),
            2,
        )
    ordered = sorted(pool, key=lambda c: (-c.score, c.order))
    rows = []
    for rank, c in zip(competition_ranks([c.score for c in ordered]), ordered, strict=True):
        if rank > LIST_SIZE or c.score <= 0:
            break
        rows.append(
            Row(
                rank,
                c.score,
                c.name,
                c.code,
                c.station,
                c.unit,
                c.figures,
                c.ratings,
                c.since,
                c.until,
            )
        )
    return rows


# --- The board: confirmed, or a draft now ----------------------------------------------------


def list_of(unit_id: int, year: int) -> Top100List | None:
    """The stored weights (and confirmed lists) of a unit and year, if any."""
    return db.session.scalar(
        select(Top100List).where(Top100List.unit_id == unit_id, Top100List.year == year)
    )


def weights_of(record: Top100List | None) -> dict[str, float]:
    """The weights organisers set (every criterion present), else the defaults: all equal."""
    if record is None or not record.weights:
        return dict(DEFAULT_WEIGHTS)
    return {code: float(record.weights.get(code, 0) or 0) for code in CODES}


def build_board(unit: Unit, year: int, now: datetime | None = None) -> Board:
    """Both lists of `unit` for `year`: as confirmed, if they were; else ranked now by the
    weights set (a constant number of queries)."""
    now = now or utcnow()
    record = list_of(unit.id, year)
    weights = weights_of(record)
    today = now.astimezone(DEFAULT_ZONE).date()
    if record is not None and record.is_confirmed:
        confirmer = db.session.get(User, record.confirmed_by_id) if record.confirmed_by_id else None
        return Board(
            unit.id,
            unit.name,
            year,
            weights,
            [Row.from_json(r) for r in record.confirmed_sites or []],
            [Row.from_json(r) for r in record.confirmed_masters or []],
            generated_on=record.confirmed_at.astimezone(DEFAULT_ZONE).date(),
            confirmed_at=record.confirmed_at,
            confirmed_by=confirmer.username if confirmer else None,
        )
    pool = candidates(unit, year, now)
    return Board(
        unit.id,
        unit.name,
        year,
        weights,
        ranked(pool.sites, weights),
        ranked(pool.masters, weights),
        generated_on=today,
        site_candidates=len(pool.sites),
        master_candidates=len(pool.masters),
    )


# --- Verbs ----------------------------------------------------------------------------------


def _record(unit: Unit, year: int) -> Top100List:
    """The unit's row for the year, made (with the default weights) if missing; concurrent
    makers meet on the unique (unit, year)."""
    record = list_of(unit.id, year)
    if record is not None:
        return record
    try:
        with db.session.begin_nested():
            record = Top100List(unit_id=unit.id, year=year, weights=dict(DEFAULT_WEIGHTS))
            db.session.add(record)
    except IntegrityError:
        record = list_of(unit.id, year)
    return record


def _refuse_confirmed() -> Top100Error:
    return Top100Error(
        _l("These lists are confirmed and published: their weights no longer change."),
        Top100Refusal.CONFIRMED,
    )


def save_weights(unit: Unit, year: int, raw: Mapping[str, object]) -> Top100List:
    """Organisers set the criteria's weights of a unit's lists for a year, while not yet
    confirmed; the caller commits."""
    weights = check_weights(raw)
    record = _record(unit, year)
    if record.is_confirmed:
        raise _refuse_confirmed()
    record.weights = weights
    db.session.flush()
    return record


def confirm_board(
    unit: Unit, year: int, shown: str, user, now: datetime | None = None
) -> Top100List:
    """Organisers confirm and publish both lists exactly as they saw them (`shown`: the
    digest of the page): kept in the row as they are now, weights locked. Refused if already
    confirmed, or if the lists moved since they were shown; the caller commits."""
    now = now or utcnow()
    record = _record(unit, year)
    if record.is_confirmed:
        raise _refuse_confirmed()
    seen_update = record.updated_at
    weights = weights_of(record)
    pool = candidates(unit, year, now)
    sites, masters = ranked(pool.sites, weights), ranked(pool.masters, weights)
    if lists_digest(weights, sites, masters) != shown:
        raise Top100Error(
            _l("The figures or weights changed since the page was shown: check the lists again."),
            Top100Refusal.CHANGED_MEANWHILE,
        )
    stored = db.session.execute(
        Top100List.__table__.update()
        .where(
            Top100List.id == record.id,
            Top100List.confirmed_at.is_(None),
            Top100List.updated_at == seen_update,
        )
        .values(
            weights=weights,
            confirmed_at=now,
            confirmed_by_id=getattr(user, "id", None),
            confirmed_sites=[r.as_json() for r in sites],
            confirmed_masters=[r.as_json() for r in masters],
            updated_at=now,
        )
    )
    if stored.rowcount != 1:
        raise Top100Error(
            _l("Someone changed or confirmed these lists meanwhile: check them again."),
            Top100Refusal.CHANGED_MEANWHILE,
        )
    db.session.expire(record)
    return record
