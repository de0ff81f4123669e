"""Reading stations by their classification: filters by host type and label, and how many
stations hold each value, one grouped query per set whatever the number of stations; and
which sub-unit of a unit each station rolls up to."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import ColumnElement, Select, and_, distinct, func, select

from inclusive_day.extensions import db
from inclusive_day.stations.models import HostType, Label, LabelAward, Station
from inclusive_day.units.models import Unit, unit_child

StationScope = Sequence[ColumnElement[bool]]


def with_host_type(host_type: HostType) -> ColumnElement[bool]:
    """WHERE clause for the stations housed as `host_type`."""
    return Station.host_type_id == host_type.id


def with_label(label: Label) -> ColumnElement[bool]:
    """WHERE clause for the stations that hold `label` (any year)."""
    return Station.id.in_(select(LabelAward.station_id).where(LabelAward.label_id == label.id))


def by_code(model, code: str | None):
    """The catalogue value (HostType or Label) with this code, or None."""
    code = (code or "").strip()
    if not code or len(code) > 40:
        return None
    return db.session.scalar(select(model).where(model.code == code))


@dataclass(frozen=True)
class Option:
    """A catalogue value offered as a filter, with how many stations in scope hold it."""

    code: str
    name: str
    count: int


def host_type_options(scope: StationScope) -> list[Option]:
    """Every host type, in order, with the number of stations in `scope` housed as it (one
    grouped query)."""
    stmt = (
        select(HostType, func.count(Station.id))
        .outerjoin(Station, and_(Station.host_type_id == HostType.id, *scope))
        .group_by(HostType.id)
        .order_by(HostType.position, HostType.id)
    )
    return [Option(v.code, v.name, int(n)) for v, n in db.session.execute(stmt)]


def label_options(scope: StationScope) -> list[Option]:
    """Every label, in order, with the number of stations in `scope` that hold it (one grouped
    query)."""
    in_scope = LabelAward.station_id.in_(select(Station.id).where(*scope))
    stmt = (
        select(Label, func.count(distinct(LabelAward.station_id)))
        .outerjoin(LabelAward, and_(LabelAward.label_id == Label.id, in_scope))
        .group_by(Label.id)
        .order_by(Label.position, Label.id)
    )
    return [Option(v.code, v.name, int(n)) for v, n in db.session.execute(stmt)]


def station_child(unit: Unit) -> Select:
    """SELECT (station_id, child_id): each station of `unit`'s subtree with the immediate
    sub-unit of `unit` whose subtree holds it, or `unit` itself for its own stations; one join
    on the tree paths however many stations, for the figures rolled up to sub-units."""
    children = unit_child(unit).subquery("unit_child")
    return select(Station.id.label("station_id"), children.c.child_id.label("child_id")).join(
        children, children.c.unit_id == Station.unit_id
    )
