"""Running a station's shelf: opening and closing it, its per-person limit, and its items.

Stock itself changes only in shelf/stock.py (put and take); these verbs flush and return, the
view commits once, and a refusal raises ShelfError with a code from `Refusal` here.
"""

from __future__ import annotations

from datetime import date
from enum import StrEnum

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from inclusive_day.database import utcnow
from inclusive_day.extensions import db
from inclusive_day.periods import zone_of
from inclusive_day.shelf.models import Shelf, ShelfItem
from inclusive_day.shelf.stock import ShelfError
from inclusive_day.stations.models import Station

NAME_MAX = 80
UNIT_LABEL_MAX = 20
NOTE_MAX = 300
LIMIT_MAX = 1000
POINTS_MAX = 1_000_000


class Refusal(StrEnum):
    """Why a change to a shelf (not to its stock) is refused."""

    ALREADY_OPEN = "already_open"
    BAD_LIMIT = "bad_limit"
    BAD_NAME = "bad_name"
    DUPLICATE_NAME = "duplicate_name"
    BAD_POINTS = "bad_points"
    BAD_NOTE = "bad_note"


def check_limit(limit: int | None) -> int | None:
    """A per-person daily limit: none, or a whole number from 1 to 1,000."""
    if limit is not None and not 0 < limit <= LIMIT_MAX:
        raise ShelfError(
            _l("Give a daily limit from 1 to %(n)s, or leave it empty for none.", n=LIMIT_MAX),
            Refusal.BAD_LIMIT,
            "per_person_day",
        )
    return limit


def _check_note(note: str | None) -> str:
    note = (note or "").strip()
    if len(note) > NOTE_MAX:
        raise ShelfError(
            _l("Keep the note within %(n)d characters.", n=NOTE_MAX), Refusal.BAD_NOTE, "note"
        )
    return note


def station_today(station: Station) -> date:
    """Today in the station's zone."""
    return utcnow().astimezone(zone_of(station.unit.timezone)).date()


def open_shelf(
    station: Station, opened_on: date, per_person_day: int | None = None, note: str = ""
) -> Shelf:
    """Open a shelf at a station (one per station); a closed one is opened again instead."""
    check_limit(per_person_day)
    note = _check_note(note)
    shelf = db.session.scalar(select(Shelf).where(Shelf.station_id == station.id))
    if shelf is not None:
        if shelf.is_open:
            raise ShelfError(_l("This station already has a shelf."), Refusal.ALREADY_OPEN)
        shelf.is_open = True
        shelf.per_person_day = per_person_day
        shelf.note = note or shelf.note
        db.session.flush()
        return shelf
    shelf = Shelf(
        station_id=station.id,
        opened_on=opened_on,
        per_person_day=per_person_day,
        note=note,
        is_open=True,
    )
    db.session.add(shelf)
    db.session.flush()
    return shelf


def close_shelf(shelf: Shelf) -> None:
    """Close a shelf for now: nothing is put on or taken off until it opens again."""
    shelf.is_open = False
    db.session.flush()


def reopen_shelf(shelf: Shelf) -> None:
    """Open a closed shelf again, with its items and stock as they were."""
    shelf.is_open = True
    db.session.flush()


def set_limit(shelf: Shelf, per_person_day: int | None) -> None:
    """Change how many items one person may take a day (None: no limit, no phone asked)."""
    shelf.per_person_day = check_limit(per_person_day)
    db.session.flush()


def add_item(shelf: Shelf, name: str, unit_label: str = "", points: int | None = None) -> ShelfItem:
    """Add a kind of goods to a shelf, with no stock yet: a name unique on the shelf, the word
    its quantities are counted in, and its price in points if it may be bought with them."""
    name = (name or "").strip()
    if not name or len(name) > NAME_MAX:
        raise ShelfError(
            _l("Name the item in 1 to %(n)d characters.", n=NAME_MAX), Refusal.BAD_NAME, "name"
        )
    unit_label = (unit_label or "").strip()
    if len(unit_label) > UNIT_LABEL_MAX:
        raise ShelfError(
            _l("Keep the unit within %(n)d characters.", n=UNIT_LABEL_MAX),
            Refusal.BAD_NAME,
            "unit_label",
        )
    if points is not None and not 0 < points <= POINTS_MAX:
        raise ShelfError(
            _l("A points price is a whole number above 0, or empty."),
            Refusal.BAD_POINTS,
            "points",
        )
    taken = db.session.scalar(
        select(ShelfItem.id).where(ShelfItem.shelf_id == shelf.id, ShelfItem.name == name)
    )
    if taken is not None:
        raise ShelfError(
            _l("This shelf already has an item named %(name)s.", name=name),
            Refusal.DUPLICATE_NAME,
            "name",
        )
    item = ShelfItem(
        shelf_id=shelf.id,
        station_id=shelf.station_id,
        name=name,
        unit_label=unit_label,
        points=points,
        stock=0,
    )
    db.session.add(item)
    db.session.flush()
    return item
