"""Which records the audit log follows, and how: the spec of each audited model, and the
lookup of the unit path and name of the records its events refer to.

`RECORDER` is the flush listener (recorder.py) given this table; create_app installs it.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from functools import cache

from sqlalchemy import Connection, func, inspect, null, select
from sqlalchemy.orm import aliased

from inclusive_day.activities.models import Activity
from inclusive_day.attendance.models import CheckIn, Headcount
from inclusive_day.audit.recorder import Link, Recorder, Spec, loaded, plain
from inclusive_day.auth.models import RoleGrant, User
from inclusive_day.campaigns.models import Campaign
from inclusive_day.construction.models import ConstructionTarget, CoverageGoal
from inclusive_day.extensions import db
from inclusive_day.funds.models import FundLine
from inclusive_day.periods import DEFAULT_ZONE
from inclusive_day.sponsors.models import Distribution, Donation, Sponsor
from inclusive_day.staffing.models import StationAdmin, Training
from inclusive_day.stations.models import (
    HostType,
    Label,
    LabelAward,
    Partner,
    Station,
    StationPartner,
)
from inclusive_day.units.models import Unit

# Columns that say when or by whom a row was touched, or that the system keeps itself:
# their changes are the event's own "when" and "who", not changes worth listing.
BOOKKEEPING = frozenset(
    {
        "id",
        "uid",
        "checkin_token",  # an activity's check-in token: made once, and kept out of logs
        "created_at",
        "updated_at",
        "updated_by_id",
        "created_by_id",
        "sequence",
        "path",  # a unit's path follows its parent; a move is recorded as one summary
    }
)
# Never audited, whatever a model's field list says.
SECRET = frozenset({"password_hash", "session_version"})
# The only user fields the log shows.
USER_FIELDS = ("username", "display_name", "active", "must_change_password")
# What an annulment or a correction of a check-in changes; its identity hash is never shown.
CHECKIN_FIELDS = ("group", "annulled_at", "annul_reason")
# How many ids one IN list carries when owners are looked up.
CHUNK = 500

# The object types and actions the log knows, for the filters (labels live in views.py).
OBJECT_TYPES = (
    "unit",
    "station",
    "campaign",
    "activity",
    "series",
    "headcount",
    "checkin",
    "sponsor",
    "donation",
    "distribution",
    "role_grant",
    "user",
    "partner",
    "label_award",
    "host_type",
    "label",
    "construction_target",
    "coverage_goal",
    "fund_line",
    "station_admin",
    "training",
)
ACTIONS = (
    "create",
    "update",
    "delete",
    "cancel",
    "annul",
    "move",
    "tally",
    "review",
    "receive",
    "distribute",
    "import",
    "password_changed",
    "password_reset",
    "generate",
)


# ---- owners: the unit path and a readable name of the records an event refers to -------------


def _owner_query(kind: str):
    """SELECT id, unit path, name for one kind of owner record; "name" is what labels quote."""
    if kind == "unit":
        return Unit.id, select(Unit.id, Unit.path, Unit.name)
    if kind == "station":
        stmt = select(Station.id, Unit.path, Station.code).join(Unit, Unit.id == Station.unit_id)
        return Station.id, stmt
    if kind == "activity":
        stmt = (
            select(Activity.id, Unit.path, Activity.title, Activity.starts_at, Station.code)
            .join(Station, Station.id == Activity.station_id)
            .join(Unit, Unit.id == Station.unit_id)
        )
        return Activity.id, stmt
    if kind == "campaign":
        stmt = select(Campaign.id, Unit.path, Campaign.name).join(Unit, Unit.id == Campaign.unit_id)
        return Campaign.id, stmt
    if kind == "sponsor":
        stmt = select(Sponsor.id, Unit.path, Sponsor.name).join(Unit, Unit.id == Sponsor.unit_id)
        return Sponsor.id, stmt
    if kind == "donation":
        campaign_unit, sponsor_unit = aliased(Unit), aliased(Unit)
        stmt = (
            select(
                Donation.id,
                func.coalesce(campaign_unit.path, sponsor_unit.path),
                Donation.description,
            )
            .join(Sponsor, Sponsor.id == Donation.sponsor_id)
            .join(sponsor_unit, sponsor_unit.id == Sponsor.unit_id)
            .outerjoin(Campaign, Campaign.id == Donation.campaign_id)
            .outerjoin(campaign_unit, campaign_unit.id == Campaign.unit_id)
        )
        return Donation.id, stmt
    if kind == "station_admin":
        stmt = (
            select(StationAdmin.id, Unit.path, StationAdmin.name)
            .join(Station, Station.id == StationAdmin.station_id)
            .join(Unit, Unit.id == Station.unit_id)
        )
        return StationAdmin.id, stmt
    if kind == "user":
        return User.id, select(User.id, null(), User.username)
    if kind == "label":
        return Label.id, select(Label.id, null(), Label.name_zh)
    raise ValueError(kind)


def activity_label(title: str, starts_at: datetime | None, station_code: str | None) -> str:
    """ "Haircuts @ KM-0001 2024-02-24": an activity as the log names it."""
    day = starts_at.astimezone(DEFAULT_ZONE).date().isoformat() if starts_at else ""
    where = f" @ {station_code}" if station_code else ""
    return f"{title}{where} {day}".strip()


def resolve(connection: Connection, wanted: dict[str, set[int]]) -> dict[tuple[str, int], tuple]:
    """(kind, id) -> (unit path, name) for every owner asked for, one query per kind."""
    found: dict[tuple[str, int], tuple] = {}
    for kind, ids in wanted.items():
        ids = sorted(i for i in ids if i is not None)
        if not ids:
            continue
        column, stmt = _owner_query(kind)
        for start in range(0, len(ids), CHUNK):
            for row in connection.execute(stmt.where(column.in_(ids[start : start + CHUNK]))):
                if kind == "activity":
                    found[(kind, row[0])] = (row[1], activity_label(row[2], row[3], row[4]))
                else:
                    found[(kind, row[0])] = (row[1], row[2])
    return found


def common_path(paths: Iterable[str | None]) -> str | None:
    """The deepest unit path every given path lies under ("/1/7/" for "/1/7/4/" and "/1/7/9/")."""
    parts = [p.strip("/").split("/") for p in paths if p]
    if not parts:
        return None
    shared: list[str] = []
    for segment in zip(*parts, strict=False):
        if len(set(segment)) != 1:
            break
        shared.append(segment[0])
    return f"/{'/'.join(shared)}/" if shared else None


def owner_path(kind: str, ids: Iterable[int]) -> str | None:
    """The common unit path of some records of one kind (the stations a series went to...)."""
    found = resolve(db.session.connection(), {kind: set(ids)})
    return common_path(path for path, _name in found.values())


def owner(kind: str, ident: int) -> tuple[str | None, str]:
    """(unit path, name) of one record, for a summary event about it."""
    return resolve(db.session.connection(), {kind: {ident}}).get((kind, ident), (None, ""))


# ---- what each audited model says about itself ----------------------------------------------


def _columns(model, only: tuple[str, ...] | None = None) -> tuple[str, ...]:
    keys = [a.key for a in inspect(model).column_attrs]
    if only is not None:
        keys = [k for k in keys if k in only]
    else:
        keys = [k for k in keys if k not in BOOKKEEPING]
    return tuple(k for k in keys if k not in SECRET)


def _found(found: dict, kind: str, ident) -> tuple[str | None, str]:
    return found.get((kind, ident), (None, ""))


def _grant_target(obj) -> tuple[str, int] | None:
    for kind in ("unit", "station", "sponsor"):
        ident = loaded(obj, f"{kind}_id")
        if ident is not None:
            return kind, ident
    return None


def _describe_grant(obj, found: dict) -> tuple[str | None, str]:
    _path, username = _found(found, "user", loaded(obj, "user_id"))
    username = username or f"#{loaded(obj, 'user_id')}"
    target = _grant_target(obj)
    if target is None:  # an administrator's grant is above every unit
        return None, username
    path, name = _found(found, *target)
    return path, f"{username} → {name}" if name else username


def _describe_unit(obj, found: dict) -> tuple[str | None, str]:
    path = loaded(obj, "path")
    if not path:  # a new unit gets its path in a second flush: its parent's path and its id
        parent_path, _name = _found(found, "unit", loaded(obj, "parent_id"))
        path = f"{parent_path or '/'}{obj.id}/"
    return path, loaded(obj, "name") or ""


def _describe_donation(obj, found: dict) -> tuple[str | None, str]:
    path = None
    if loaded(obj, "campaign_id") is not None:
        path = _found(found, "campaign", loaded(obj, "campaign_id"))[0]
    if path is None:
        path = _found(found, "sponsor", loaded(obj, "sponsor_id"))[0]
    return path, loaded(obj, "description") or ""


def _describe_distribution(obj, found: dict) -> tuple[str | None, str]:
    path, name = _found(found, "donation", loaded(obj, "donation_id"))
    quantity = loaded(obj, "quantity")
    return path, f"{name} × {plain(quantity)}" if quantity is not None else name


def _on_activity(obj, found: dict) -> tuple[str | None, str]:
    return _found(found, "activity", loaded(obj, "activity_id"))


def _describe_award(obj, found: dict) -> tuple[str | None, str]:
    """ "KM-0001 省级工会驿站 2023", under the station's unit."""
    path, station = _found(found, "station", loaded(obj, "station_id"))
    _path, label = _found(found, "label", loaded(obj, "label_id"))
    parts = (station, label or f"#{loaded(obj, 'label_id')}", plain(loaded(obj, "year")))
    return path, " ".join(str(p) for p in parts if p)


def _describe_for_unit(obj, found: dict, *detail: str) -> tuple[str | None, str]:
    """A record kept per unit and year (a target, a goal): "昆明市总工会 2024 ...", under it."""
    path, unit = _found(found, "unit", loaded(obj, "unit_id"))
    parts = (unit, plain(loaded(obj, "year")), *(plain(loaded(obj, key)) for key in detail))
    return path, " ".join(str(p) for p in parts if p not in (None, ""))


def _describe_fund_line(obj, found: dict) -> tuple[str | None, str]:
    """ "KM-0001 2024 ¥3000.00" (or the unit's name for a unit's money), under the line's
    unit: the station's unit when it is a station's."""
    path, unit = _found(found, "unit", loaded(obj, "unit_id"))
    station = _found(found, "station", loaded(obj, "station_id"))[1]
    amount = loaded(obj, "amount")
    parts = (station or unit, plain(loaded(obj, "year")), f"¥{plain(amount)}" if amount else "")
    return path, " ".join(str(p) for p in parts if p)


def _describe_station_admin(obj, found: dict) -> tuple[str | None, str]:
    """ "KM-0001 张伟", under the station's unit."""
    path, station = _found(found, "station", loaded(obj, "station_id"))
    return path, " ".join(p for p in (station, loaded(obj, "name") or "") if p)


def _describe_training(obj, found: dict) -> tuple[str | None, str]:
    """ "张伟 驿站管理员培训 2024-05-10", under the administrator's station's unit."""
    path, name = _found(found, "station_admin", loaded(obj, "admin_id"))
    parts = (name, loaded(obj, "course") or "", plain(loaded(obj, "taken_on")))
    return path, " ".join(str(p) for p in parts if p)


def _partner_name(link) -> str:
    """A station's partner as its partners field lists it (the link's partner, by name)."""
    partner = link.partner
    return partner.name if partner is not None else f"#{link.partner_id}"


def _station_partner_names(connection: Connection, station_ids: set[int]) -> dict[int, list]:
    """{station id: its partners' names}, as they stand in this transaction."""
    names: dict[int, list] = {}
    ids = sorted(station_ids)
    for start in range(0, len(ids), CHUNK):
        rows = connection.execute(
            select(StationPartner.station_id, Partner.name)
            .join(Partner, Partner.id == StationPartner.partner_id)
            .where(StationPartner.station_id.in_(ids[start : start + CHUNK]))
        )
        for station_id, name in rows:
            names.setdefault(station_id, []).append(name)
    return names


def _catalogued(kind: str, model) -> Spec:
    """A value of a shared catalogue (host types, labels): above every unit, so only
    administrators read its log, as only they change it."""
    return Spec(
        kind,
        _columns(model),
        lambda _obj: [],
        lambda obj, _found: (None, loaded(obj, "name_zh") or loaded(obj, "code") or ""),
    )


@cache
def spec_table() -> dict[type, Spec | Link]:
    """The audited models and how each is audited, built on first use: reading a model's
    columns needs the mappers configured, so not at import."""

    def own(kind, key):
        return lambda obj: [(kind, loaded(obj, key))]

    def named_under_unit(kind: str, model) -> Spec:
        """A record that belongs to a unit (unit_id) and goes by its name."""
        return Spec(
            kind,
            _columns(model),
            own("unit", "unit_id"),
            lambda obj, found: (
                _found(found, "unit", loaded(obj, "unit_id"))[0],
                loaded(obj, "name") or "",
            ),
        )

    return {
        # A new unit gets its path in a second flush (see create_unit): it is logged then.
        Unit: Spec(
            "unit",
            _columns(Unit),
            lambda obj: [] if loaded(obj, "path") else [("unit", loaded(obj, "parent_id"))],
            _describe_unit,
            record_create=lambda obj: bool(loaded(obj, "path")),
        ),
        Station: Spec(
            "station",
            _columns(Station),
            own("unit", "unit_id"),
            lambda obj, found: (
                _found(found, "unit", loaded(obj, "unit_id"))[0],
                f"{loaded(obj, 'code') or ''} {loaded(obj, 'name') or ''}".strip(),
            ),
            collections={"amenities": ("amenity_rows", lambda row: row.amenity.value)},
        ),
        # A partner added to or taken from a station (from either side) changes the station's
        # "partners", listed by name.
        StationPartner: Link(
            Station,
            "station_id",
            "partner_links",
            "partners",
            _partner_name,
            _station_partner_names,
        ),
        Partner: named_under_unit("partner", Partner),
        # A label held is the station's: logged under the station's unit, shown in its history.
        LabelAward: Spec(
            "label_award",
            _columns(LabelAward),
            lambda obj: [
                ("station", loaded(obj, "station_id")),
                ("label", loaded(obj, "label_id")),
            ],
            _describe_award,
        ),
        HostType: _catalogued("host_type", HostType),
        Label: _catalogued("label", Label),
        ConstructionTarget: Spec(
            "construction_target",
            _columns(ConstructionTarget),
            own("unit", "unit_id"),
            lambda obj, found: _describe_for_unit(obj, found),
        ),
        CoverageGoal: Spec(
            "coverage_goal",
            _columns(CoverageGoal),
            own("unit", "unit_id"),
            lambda obj, found: _describe_for_unit(obj, found, "level"),
        ),
        FundLine: Spec(
            "fund_line",
            _columns(FundLine),
            lambda obj: [("unit", loaded(obj, "unit_id")), ("station", loaded(obj, "station_id"))],
            _describe_fund_line,
        ),
        # The roster and training records; duty shifts, kept by the thousand, are not logged.
        StationAdmin: Spec(
            "station_admin",
            _columns(StationAdmin),
            own("station", "station_id"),
            _describe_station_admin,
        ),
        Training: Spec(
            "training",
            _columns(Training),
            own("station_admin", "admin_id"),
            _describe_training,
        ),
        Campaign: named_under_unit("campaign", Campaign),
        Activity: Spec(
            "activity",
            _columns(Activity),
            own("station", "station_id"),
            lambda obj, found: (
                _found(found, "station", loaded(obj, "station_id"))[0],
                activity_label(
                    loaded(obj, "title") or "",
                    loaded(obj, "starts_at"),
                    _found(found, "station", loaded(obj, "station_id"))[1],
                ),
            ),
            collections={"donations": ("donations", lambda d: d.id)},
        ),
        # A headcount is listed as its group's count: {"courier": [3, 5]}.
        Headcount: Spec(
            "headcount",
            ("count",),
            own("activity", "activity_id"),
            _on_activity,
            record_create=lambda obj: bool(loaded(obj, "count")),
        ),
        # A beneficiary's own check-in is a record in itself: only changes to it are logged.
        CheckIn: Spec(
            "checkin",
            _columns(CheckIn, CHECKIN_FIELDS),
            own("activity", "activity_id"),
            _on_activity,
            record_create=lambda _obj: False,
        ),
        Sponsor: named_under_unit("sponsor", Sponsor),
        Donation: Spec(
            "donation",
            _columns(Donation),
            lambda obj: [
                ("campaign", loaded(obj, "campaign_id")),
                ("sponsor", loaded(obj, "sponsor_id")),
            ],
            _describe_donation,
        ),
        Distribution: Spec(
            "distribution",
            _columns(Distribution),
            own("donation", "donation_id"),
            _describe_distribution,
        ),
        RoleGrant: Spec(
            "role_grant",
            _columns(RoleGrant),
            lambda obj: [("user", loaded(obj, "user_id")), _grant_target(obj) or ("unit", None)],
            _describe_grant,
        ),
        User: Spec(
            "user",
            _columns(User, USER_FIELDS),
            lambda _obj: [],
            lambda obj, _found: (None, loaded(obj, "username") or ""),
        ),
    }


# The flush listener, with this table; create_app installs it.
RECORDER = Recorder(spec_table, resolve)
