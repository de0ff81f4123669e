"""The union tree: units at five levels, an adjacency list with a materialised path."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from flask_babel import lazy_gettext as _l
from sqlalchemy import (
    CheckConstraint,
    ColumnElement,
    ForeignKey,
    Select,
    String,
    and_,
    func,
    literal,
    or_,
    select,
    union_all,
    update,
)
from sqlalchemy.orm import Mapped, aliased, mapped_column, relationship

from inclusive_day.database import TreePath, UTCDateTime, utcnow
from inclusive_day.enums import LabelledEnum, enum_column
from inclusive_day.extensions import db
from inclusive_day.periods import DEFAULT_ZONE

if TYPE_CHECKING:
    from inclusive_day.stations.models import Station


class Level(LabelledEnum):
    """A unit's level in the tree, from the province down to the community."""

    PROVINCE = "province"
    CITY = "city"
    DISTRICT = "district"
    STREET = "street"
    COMMUNITY = "community"

    @classmethod
    def _labels(cls) -> dict:
        return {
            cls.PROVINCE: _l("province"),
            cls.CITY: _l("city"),
            cls.DISTRICT: _l("district (county)"),
            cls.STREET: _l("street"),
            cls.COMMUNITY: _l("community"),
        }

    @property
    def depth(self) -> int:
        """0 for a province, 4 for a community."""
        return list(Level).index(self)


def under(path_column: ColumnElement[str], prefix: str) -> ColumnElement[bool]:
    """SQL for "path starts with prefix", as a byte range that an ordinary index serves."""
    # Paths hold digits and "/", and "0" is the byte after "/": every path under
    # "/1/7/" sorts in ["/1/7/", "/1/70").
    return and_(path_column >= prefix, path_column < prefix[:-1] + "0")


class TreeError(ValueError):
    """A change that would break the tree (a unit under itself, levels out of order)."""


class Unit(db.Model):
    """A union unit (工会): a node of the tree that owns stations and campaigns."""

    __tablename__ = "units"
    __table_args__ = (
        CheckConstraint("parent_id IS NULL OR parent_id <> id", name="not_own_parent"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    parent_id: Mapped[int | None] = mapped_column(
        ForeignKey("units.id", ondelete="RESTRICT"), index=True
    )
    path: Mapped[str] = mapped_column(TreePath, index=True, default="")
    level: Mapped[Level] = mapped_column(enum_column(Level))
    name: Mapped[str] = mapped_column(String(120))
    code: Mapped[str | None] = mapped_column(String(12), unique=True)
    timezone: Mapped[str] = mapped_column(String(64), default=DEFAULT_ZONE.key)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    parent: Mapped[Unit | None] = relationship(remote_side=[id], back_populates="children")
    children: Mapped[list[Unit]] = relationship(back_populates="parent", order_by="Unit.id")
    stations: Mapped[list[Station]] = relationship(back_populates="unit", lazy="raise_on_sql")

    def __repr__(self) -> str:
        return f"<Unit {self.id} {self.name!r} {self.path}>"

    @property
    def ancestor_ids(self) -> list[int]:
        """Ids from the root down to this unit, read from the path."""
        return [int(part) for part in self.path.strip("/").split("/") if part]

    def is_within(self, other: Unit) -> bool:
        """True when this unit is `other` or lies in its subtree."""
        return self.path.startswith(other.path)

    def check_parent(self, parent: Unit | None) -> None:
        """Raise TreeError unless this unit may sit under `parent`."""
        if parent is None:
            return
        if self.path and parent.is_within(self):
            raise TreeError(_l("A unit cannot be moved under itself or its own sub-units."))
        if self.level.depth <= parent.level.depth:
            raise TreeError(
                _l(
                    "A %(level)s cannot sit under a %(parent_level)s.",
                    level=self.level.label,
                    parent_level=parent.level.label,
                )
            )

    def attach(self, parent: Unit | None) -> None:
        """Place this (flushed, new) unit under `parent`, checking the level order."""
        if self.id is None:
            raise ValueError("flush the unit before attaching it")
        self.check_parent(parent)
        self.parent = parent
        self.path = f"{parent.path if parent else '/'}{self.id}/"

    def move_to(self, parent: Unit | None) -> int:
        """Move this unit and its whole subtree under `parent`; return how many paths changed."""
        self.check_parent(parent)
        old = self.path
        new = f"{parent.path if parent else '/'}{self.id}/"
        if new == old:
            return 0
        moved = db.session.execute(
            update(Unit)
            .where(under(Unit.path, old))
            .values(path=literal(new, TreePath) + func.substr(Unit.path, len(old) + 1)),
            execution_options={"synchronize_session": "fetch"},
        )
        self.parent = parent
        return moved.rowcount


def units_under(path: str, *paths: str) -> Select[tuple[int]]:
    """SELECT the ids of the units in the subtrees at these paths (each one range of the index
    on units.path), for the queries that take everything below a unit."""
    return select(Unit.id).where(or_(*(under(Unit.path, p) for p in (path, *paths))))


def unit_child(unit: Unit) -> Select[tuple[int, int]]:
    """SELECT (unit_id, child_id): each unit of `unit`'s subtree with the immediate sub-unit
    whose subtree holds it, or `unit` itself; one join on the tree paths, for the reports that
    roll figures up to the sub-units of a unit."""
    own = aliased(Unit)
    child = aliased(Unit)
    # A child's subtree is every path in [child.path, child.path with its last "/" as "0").
    upper = func.substr(child.path, 1, func.length(child.path) - 1).concat("0")
    below = select(own.id.label("unit_id"), child.id.label("child_id")).join(
        child, and_(child.parent_id == unit.id, own.path >= child.path, own.path < upper)
    )
    return union_all(below, select(literal(unit.id), literal(unit.id)))
