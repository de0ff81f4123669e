"""Recording the funds ledger: a line of money for a station or a unit, paid later; the rule
that writes a year's operating subsidy for every station holding a label.

The rules a line keeps (each refusal is a FundError with a code, the field at fault and a
message; views map the codes to answers, OUT_OF_REACH to a 404):

- **For whom**: a station (the line's unit is then the station's unit) or a unit, within the
  user's reach to edit. A station named with a unit must lie in that unit's subtree.
- **Amount**: yuan with at most two decimals, more than zero, at most what Numeric(12, 2)
  holds (9,999,999,999.99).
- **Year** is the budget year the money belongs to (2000-2100). It may be allocated in that
  year or, in advance, in the year before (provinces hand down next year's subsidies in
  December), never after the year's end; the rollups count a line in its year.
- **Days**: allocated on a day that has come, paid (if yet) on a day that has come and not
  before the allocation.
- **Source**, by kind: construction and operating subsidies and awards are allocated by a
  union unit, the line's own unit or one above it (never one below: money is handed down);
  a union investment is the money of the line's unit or of a unit above it (the line's own
  unit when none is named); leveraged money comes from outside the union: a partner record
  (kept by a unit of the same branch of the tree) or another body named in the note, never
  from a union unit.
- A paid line is settled: it is no longer corrected or deleted. A line a rule wrote keeps its
  kind, station and year (the rule's key); its amount, days, source and note may be corrected.

Every verb flushes and leaves the commit to the caller. Its `user` must be allowed to edit
the unit or station concerned; None stands for the system (the demo loaders, commands).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from enum import StrEnum

from flask_babel import lazy_gettext as _l
from sqlalchemy import exists, literal, or_, select, update

from inclusive_day.access.rule import Action, can
from inclusive_day.audit.summaries import operating_subsidies_generated
from inclusive_day.database import INSERT_OR_NOTHING, utcnow
from inclusive_day.extensions import db
from inclusive_day.funds.models import FundKind, FundLine
from inclusive_day.periods import local_today
from inclusive_day.refusals import Refused
from inclusive_day.stations.models import Label, LabelAward, Partner, Station
from inclusive_day.units.models import Unit

# The largest amount a line holds (the column is Numeric(12, 2)).
AMOUNT_MAX = Decimal("9999999999.99")
CENT = Decimal("0.01")
YEAR_MIN, YEAR_MAX = 2000, 2100
NOTE_MAX = 255
# The kinds a union unit allocates, and so the kinds whose source must be one.
ALLOCATED_KINDS = frozenset(
    {FundKind.CONSTRUCTION_SUBSIDY, FundKind.OPERATING_SUBSIDY, FundKind.AWARD}
)
OPERATING_RULE = "operating:{code}"
# INSERT ... ON CONFLICT DO NOTHING, in the dialect at hand.


class Refusal(StrEnum):
    """Why the ledger refuses something: the code a FundError carries."""

    OUT_OF_REACH = "out_of_reach"
    NO_RECIPIENT = "no_recipient"
    STATION_OUTSIDE_UNIT = "station_outside_unit"
    AMOUNT_MISSING = "amount_missing"
    AMOUNT_NOT_POSITIVE = "amount_not_positive"
    AMOUNT_TOO_LARGE = "amount_too_large"
    AMOUNT_PRECISION = "amount_precision"
    YEAR_MISSING = "year_missing"
    YEAR_RANGE = "year_range"
    ALLOCATED_MISSING = "allocated_missing"
    PAID_MISSING = "paid_missing"
    ALLOCATED_AFTER_YEAR = "allocated_after_year"
    ALLOCATED_TOO_EARLY = "allocated_too_early"
    IN_FUTURE = "in_future"
    PAID_BEFORE_ALLOCATED = "paid_before_allocated"
    SOURCE_MISSING = "source_missing"
    SOURCE_BELOW = "source_below"
    SOURCE_NOT_UNION = "source_not_union"
    PARTNER_NOT_ALLOWED = "partner_not_allowed"
    PARTNER_OUTSIDE = "partner_outside"
    NOTE_TOO_LONG = "note_too_long"
    ALREADY_PAID = "already_paid"
    RULE_LINE_FIXED = "rule_line_fixed"


class FundError(Refused):
    """A fund line the ledger refuses; its code is a Refusal of this module."""


@dataclass(frozen=True, kw_only=True)
class FundFields:
    """A fund line as a form (or a loader) gives it. `station` or `unit` says for whom; with
    both, the station must lie in the unit's subtree and the line is the station's."""

    kind: FundKind
    amount: Decimal | None
    year: int | None
    allocated_on: date | None
    paid_on: date | None = None
    unit: Unit | None = None
    station: Station | None = None
    source_unit: Unit | None = None
    partner: Partner | None = None
    note: str = ""


# ---- the rules of one line -------------------------------------------------------------------


def _may_edit(user, obj) -> bool:
    """May `user` change `obj`'s money? No user is the system (a loader or a command)."""
    return user is None or can(user, Action.EDIT, obj)


def check_amount(amount, field: str = "amount") -> Decimal:
    """An amount in yuan: more than zero, at most two decimals, within Numeric(12, 2)."""
    if amount is None or amount == "":
        raise FundError(_l("Enter the amount in yuan."), Refusal.AMOUNT_MISSING, field)
    try:
        amount = Decimal(amount)
    except (InvalidOperation, TypeError, ValueError):
        raise FundError(_l("Enter the amount in yuan."), Refusal.AMOUNT_MISSING, field) from None
    if not amount.is_finite():
        raise FundError(_l("Enter the amount in yuan."), Refusal.AMOUNT_MISSING, field)
    if amount <= 0:
        raise FundError(
            _l("The amount must be more than zero."), Refusal.AMOUNT_NOT_POSITIVE, field
        )
    if amount > AMOUNT_MAX:
        raise FundError(
            _l("The amount is too large: at most 9,999,999,999.99 yuan."),
            Refusal.AMOUNT_TOO_LARGE,
            field,
        )
    if amount != amount.quantize(CENT):
        raise FundError(
            _l("Amounts are in yuan and fen: at most two decimals."),
            Refusal.AMOUNT_PRECISION,
            field,
        )
    return amount.quantize(CENT)


def check_days(year, allocated_on: date | None, paid_on: date | None = None) -> int:
    """The budget year and the line's days, checked together; returns the year."""
    try:
        year = int(year)
    except (TypeError, ValueError):
        raise FundError(_l("Enter the budget year."), Refusal.YEAR_MISSING, "year") from None
    if not YEAR_MIN <= year <= YEAR_MAX:
        raise FundError(
            _l("Enter a year from %(first)s to %(last)s.", first=YEAR_MIN, last=YEAR_MAX),
            Refusal.YEAR_RANGE,
            "year",
        )
    if allocated_on is None:
        raise FundError(
            _l("Enter the day the money was allocated."), Refusal.ALLOCATED_MISSING, "allocated_on"
        )
    if allocated_on.year > year:
        raise FundError(
            _l(
                "Money for %(year)s cannot be allocated after the end of %(year)s.",
                year=year,
            ),
            Refusal.ALLOCATED_AFTER_YEAR,
            "allocated_on",
        )
    if allocated_on.year < year - 1:
        raise FundError(
            _l(
                "Money for %(year)s is allocated in %(year)s or, in advance, in %(before)s.",
                year=year,
                before=year - 1,
            ),
            Refusal.ALLOCATED_TOO_EARLY,
            "allocated_on",
        )
    today = local_today()
    if allocated_on > today:
        raise FundError(
            _l("The day of allocation cannot be in the future."), Refusal.IN_FUTURE, "allocated_on"
        )
    if paid_on is not None:
        if paid_on < allocated_on:
            raise FundError(
                _l("Money cannot be paid before it was allocated."),
                Refusal.PAID_BEFORE_ALLOCATED,
                "paid_on",
            )
        if paid_on > today:
            raise FundError(
                _l("The day of payment cannot be in the future."), Refusal.IN_FUTURE, "paid_on"
            )
    return year


def _recipient(user, fields: FundFields) -> tuple[Unit, Station | None]:
    """The unit the line is for (the station's, for a station's line), within reach."""
    station, unit = fields.station, fields.unit
    if station is None and unit is None:
        raise FundError(
            _l("Choose the station or the unit the money is for."), Refusal.NO_RECIPIENT, "unit"
        )
    if station is not None:
        if not _may_edit(user, station):
            raise FundError(_l("No such station."), Refusal.OUT_OF_REACH, "station")
        if unit is not None and not station.unit.is_within(unit):
            raise FundError(
                _l("Station %(code)s is not in %(unit)s.", code=station.code, unit=unit.name),
                Refusal.STATION_OUTSIDE_UNIT,
                "station",
            )
        return station.unit, station
    if not _may_edit(user, unit):
        raise FundError(_l("No such unit."), Refusal.OUT_OF_REACH, "unit")
    return unit, None


def _same_branch(a: Unit, b: Unit) -> bool:
    return a.is_within(b) or b.is_within(a)


def _source(kind: FundKind, unit: Unit, fields: FundFields) -> tuple[Unit | None, Partner | None]:
    """Where the money comes from, by kind (see the module's rules)."""
    source, partner = fields.source_unit, fields.partner
    if kind is FundKind.LEVERAGED:
        if source is not None:
            raise FundError(
                _l("Leveraged money comes from a partner or another body, not a union unit."),
                Refusal.SOURCE_NOT_UNION,
                "source_unit",
            )
        if partner is None and not fields.note.strip():
            raise FundError(
                _l("Choose the partner, or name the body the money came from in the note."),
                Refusal.SOURCE_MISSING,
                "partner",
            )
        if partner is not None and not _same_branch(partner.unit, unit):
            raise FundError(
                _l("This partner is kept by a unit of another branch of the tree."),
                Refusal.PARTNER_OUTSIDE,
                "partner",
            )
        return None, partner
    if partner is not None:
        raise FundError(
            _l("Only leveraged money comes from a partner."),
            Refusal.PARTNER_NOT_ALLOWED,
            "partner",
        )
    if source is None:
        if kind in ALLOCATED_KINDS:
            raise FundError(
                _l("Choose the union unit that allocated the money."),
                Refusal.SOURCE_MISSING,
                "source_unit",
            )
        return unit, None  # a union investment with no source named: the unit's own money
    if not unit.is_within(source):
        raise FundError(
            _l(
                "%(source)s is below %(unit)s: money is allocated by the unit itself or one "
                "above it.",
                source=source.name,
                unit=unit.name,
            ),
            Refusal.SOURCE_BELOW,
            "source_unit",
        )
    return source, None


def _note(text: str) -> str:
    note = (text or "").strip()
    if len(note) > NOTE_MAX:
        raise FundError(
            _l("The note is too long: at most %(n)s characters.", n=NOTE_MAX),
            Refusal.NOTE_TOO_LONG,
            "note",
        )
    return note


def _values(user, fields: FundFields) -> dict:
    """The checked columns of a line from `fields`, or a FundError."""
    unit, station = _recipient(user, fields)
    amount = check_amount(fields.amount)
    year = check_days(fields.year, fields.allocated_on, fields.paid_on)
    source, partner = _source(fields.kind, unit, fields)
    return {
        "kind": fields.kind,
        "amount": amount,
        "year": year,
        "unit_id": unit.id,
        "station_id": station.id if station is not None else None,
        "source_unit_id": source.id if source is not None else None,
        "partner_id": partner.id if partner is not None else None,
        "allocated_on": fields.allocated_on,
        "paid_on": fields.paid_on,
        "note": _note(fields.note),
    }


# ---- the verbs ------------------------------------------------------------------------------


def record_fund_line(user, fields: FundFields) -> FundLine:
    """Enter one line of the ledger by hand."""
    line = FundLine(**_values(user, fields), created_by_id=user.id if user else None)
    db.session.add(line)
    db.session.flush()
    return line


def _claim_unpaid(line: FundLine) -> None:
    """Take the line's row for this transaction while it is unpaid, or refuse: of two users
    paying, correcting or deleting it at once, the second waits and then sees it paid."""
    claimed = db.session.execute(
        update(FundLine)
        .where(FundLine.id == line.id, FundLine.paid_on.is_(None))
        .values(paid_on=None)
        .execution_options(synchronize_session=False)
    ).rowcount
    if not claimed:
        db.session.refresh(line)
        raise FundError(
            _l("This line was paid on %(day)s: it is settled.", day=line.paid_on),
            Refusal.ALREADY_PAID,
        )


def mark_paid(user, line: FundLine, on: date | None) -> FundLine:
    """Record that the line's money was paid on `on`."""
    if not _may_edit(user, line):
        raise FundError(_l("No such line."), Refusal.OUT_OF_REACH)
    if on is None:
        raise FundError(_l("Enter the day it was paid."), Refusal.PAID_MISSING, "paid_on")
    if line.paid_on is not None:
        raise FundError(
            _l("This line was paid on %(day)s: it is settled.", day=line.paid_on),
            Refusal.ALREADY_PAID,
        )
    check_days(line.year, line.allocated_on, on)
    _claim_unpaid(line)
    line.paid_on = on
    db.session.flush()
    return line


def correct_fund_line(user, line: FundLine, fields: FundFields) -> FundLine:
    """Correct an unpaid line; a line a rule wrote keeps its kind, station and year."""
    if not _may_edit(user, line):
        raise FundError(_l("No such line."), Refusal.OUT_OF_REACH)
    if line.paid_on is not None:
        raise FundError(
            _l("This line was paid on %(day)s: it is settled.", day=line.paid_on),
            Refusal.ALREADY_PAID,
        )
    values = _values(user, fields)
    if line.rule is not None and (
        values["kind"] is not line.kind
        or values["station_id"] != line.station_id
        or values["year"] != line.year
    ):
        raise FundError(
            _l("A line written by a rule keeps its kind, station and year."),
            Refusal.RULE_LINE_FIXED,
        )
    _claim_unpaid(line)
    for name, value in values.items():
        setattr(line, name, value)
    db.session.flush()
    return line


def delete_fund_line(user, line: FundLine) -> None:
    """Delete an unpaid line entered in error."""
    if not _may_edit(user, line):
        raise FundError(_l("No such line."), Refusal.OUT_OF_REACH)
    if line.paid_on is not None:
        raise FundError(
            _l("This line was paid on %(day)s: it is settled.", day=line.paid_on),
            Refusal.ALREADY_PAID,
        )
    _claim_unpaid(line)
    db.session.delete(line)
    db.session.flush()


# ---- the operating-subsidy rule -------------------------------------------------------------


def operating_rule(label: Label) -> str:
    """The rule key of a label's yearly operating subsidy, as the lines it wrote carry it."""
    return OPERATING_RULE.format(code=label.code)


def holders_open_in(unit: Unit, label: Label, year: int):
    """WHERE clauses for the stations of `unit`'s subtree that hold `label` (awarded in `year`
    or before) and are open on some day of `year`: open on its first day, or opened in it."""
    first, last = date(year, 1, 1), date(year, 12, 31)
    return (
        Station.under(unit.path),
        exists().where(
            LabelAward.station_id == Station.id,
            LabelAward.label_id == label.id,
            LabelAward.year <= year,
        ),
        or_(Station.open_on(first), Station.opened_between(first, last)),
    )


def _parameter(data, column):
    """A parameter bound as its column's type; PostgreSQL coerces the SELECT list of an
    INSERT ... SELECT to the target columns (as for the check-ins' insert)."""
    return literal(data, column.type)


def generate_operating_subsidies(
    unit: Unit, label: Label, year: int, amount, allocated_on: date, by_user
) -> int:
    """Write `year`'s operating subsidy of `amount` yuan, allocated by `unit` on
    `allocated_on`, for every station of its subtree that holds `label` and is open that year
    (Shanxi: 3,000 yuan for every provincial-level station). One INSERT ... SELECT ... ON
    CONFLICT DO NOTHING on the rule's key (rule, station, year): a station that already has
    its line is skipped, so running the rule again adds only the stations that have since
    opened or gained the label. Returns how many lines it added."""
    if not _may_edit(by_user, unit):
        raise FundError(_l("No such unit."), Refusal.OUT_OF_REACH, "unit")
    amount = check_amount(amount)
    year = check_days(year, allocated_on)
    table = FundLine.__table__
    c = table.c
    value = _parameter
    rows = select(
        value(FundKind.OPERATING_SUBSIDY, c.kind),
        value(amount, c.amount),
        value(year, c.year),
        Station.unit_id,
        Station.id,
        value(unit.id, c.source_unit_id),
        value(allocated_on, c.allocated_on),
        value(operating_rule(label), c.rule),
        value("", c.note),
        value(utcnow(), c.created_at),
        value(by_user.id if by_user is not None else None, c.created_by_id),
    ).where(*holders_open_in(unit, label, year))
    names = [
        "kind",
        "amount",
        "year",
        "unit_id",
        "station_id",
        "source_unit_id",
        "allocated_on",
        "rule",
        "note",
        "created_at",
        "created_by_id",
    ]
    dialect = db.session.get_bind().dialect.name
    statement = (
        INSERT_OR_NOTHING[dialect](table)
        .from_select(names, rows)
        .on_conflict_do_nothing(index_elements=["rule", "station_id", "year"])
        .returning(c.id)
    )
    # Counted from RETURNING: the drivers' rowcount of an INSERT ... SELECT is not reliable.
    added = len(db.session.execute(statement).all())
    if added:
        operating_subsidies_generated(unit, label, operating_rule(label), year, amount, added)
    return added
