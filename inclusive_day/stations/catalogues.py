"""The classification sets organisers keep: host types (one per station) and labels (any
number per station). Both are one shared catalogue, so administrators manage them: add,
rename, reorder; codes are unique and a value in use cannot be deleted."""

from __future__ import annotations

import re
from dataclasses import dataclass

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from inclusive_day.extensions import db
from inclusive_day.stations.models import (
    OTHER_HOST_TYPE,
    HostType,
    Label,
    LabelAward,
    Station,
)
from inclusive_day.stations.services import StationError

CATALOGUE_CODE = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
MAX_NAME = 80


@dataclass(frozen=True)
class Catalogue:
    """One classification set: its model and the column that points at its values."""

    key: str  # as in URLs: "host-types", "labels"
    model: type
    title: object
    one: object  # the name of one value

    def uses(self):
        """SELECT (value id, how many stations use it)."""
        if self.model is HostType:
            return select(Station.host_type_id, func.count()).group_by(Station.host_type_id)
        return select(LabelAward.label_id, func.count()).group_by(LabelAward.label_id)


CATALOGUES = {
    "host-types": Catalogue("host-types", HostType, _l("Host types"), _l("host type")),
    "labels": Catalogue("labels", Label, _l("Labels"), _l("label")),
}


def values(catalogue: Catalogue) -> list:
    """The catalogue's values in their order."""
    model = catalogue.model
    return list(db.session.scalars(select(model).order_by(model.position, model.id)))


def use_counts(catalogue: Catalogue) -> dict[int, int]:
    """How many stations hold each value (one grouped query)."""
    return {value_id: int(n) for value_id, n in db.session.execute(catalogue.uses())}


def save_value(catalogue: Catalogue, value, code: str, name_zh: str, name_en: str):
    """Add a value (at the end) or rename one; codes stay unique, and "other", the host type
    every station starts with, keeps its code."""
    model = catalogue.model
    code = (code or "").strip().lower()
    if not CATALOGUE_CODE.match(code):
        raise StationError(
            "code",
            _l(
                'A code is lower-case letters, digits and "_", starting with a letter, at '
                "most 40 characters."
            ),
        )
    names = {
        "name_zh": " ".join((name_zh or "").split()),
        "name_en": " ".join((name_en or "").split()),
    }
    for field, name in names.items():
        if not name:
            raise StationError(field, _l("A name in each language is required."))
        if len(name) > MAX_NAME:
            raise StationError(field, _l("At most %(n)d characters.", n=MAX_NAME))
    if (
        value is not None
        and model is HostType
        and value.code == OTHER_HOST_TYPE
        and code != value.code
    ):
        raise StationError(
            "code", _l('The host type "other" is every new station\'s: its code stays.')
        )
    taken = db.session.scalar(select(model.id).where(model.code == code))
    if taken is not None and (value is None or taken != value.id):
        raise StationError("code", _l('The code "%(code)s" is already taken.', code=code))
    if value is None:
        last = db.session.scalar(select(func.max(model.position))) or 0
        value = model(position=last + 1)
        db.session.add(value)
    value.code = code
    value.name_zh = names["name_zh"]
    value.name_en = names["name_en"]
    db.session.flush()
    return value


def delete_value(catalogue: Catalogue, value) -> None:
    """Delete a value that no station uses (the host type "other" stays)."""
    if catalogue.model is HostType and value.code == OTHER_HOST_TYPE:
        raise StationError("code", _l('The host type "other" is every new station\'s: it stays.'))
    used = use_counts(catalogue).get(value.id, 0)
    if used:
        raise StationError(
            "code",
            _l(
                "%(name)s is used by %(n)d stations and cannot be deleted; rename it instead.",
                name=value.name,
                n=used,
            ),
        )
    db.session.delete(value)
    db.session.flush()


def move_value(catalogue: Catalogue, value, step: int) -> None:
    """Move a value one place up (step -1) or down (step 1) in the catalogue's order."""
    ordered = values(catalogue)
    at = ordered.index(value)
    to = at + step
    if 0 <= to < len(ordered):
        ordered[at], ordered[to] = ordered[to], ordered[at]
    for position, item in enumerate(ordered):
        item.position = position
    db.session.flush()
