"""The access rule: who may do what to which object. Every view and API asks here.

A grant on a unit covers its whole subtree; a station manager's grant covers one station
and its activities; a sponsor representative's covers one sponsor and its donations.
The rule is written once, as SQL: `visible()` filters lists, and `can()` and
`get_or_404()` ask the same clause about one row, so a list and a page never disagree.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from flask import abort
from sqlalchemy import ColumnElement, and_, false, or_, select, true

from inclusive_day.access.grants import grant_rows
from inclusive_day.activities.models import Activity
from inclusive_day.attendance.models import CheckIn, Headcount
from inclusive_day.audit.models import AuditEvent
from inclusive_day.auth.models import Role
from inclusive_day.campaigns.models import Campaign
from inclusive_day.extensions import db
from inclusive_day.funds.models import FundLine
from inclusive_day.reports.models import Notice
from inclusive_day.shelf.models import Shelf
from inclusive_day.sponsors.models import Donation, Sponsor
from inclusive_day.stations.models import Partner, Station, StationPartner
from inclusive_day.units.models import Unit, under
from inclusive_day.volunteers.models import VolunteerSession, VolunteerTeam


class Action(StrEnum):
    """What a user wants to do: look, change plans and records, or record attendance."""

    VIEW = "view"
    EDIT = "edit"
    RECORD = "record"


# Which actions each role grants over what it is granted on.
ROLE_ACTIONS: dict[Role, frozenset[Action]] = {
    Role.ADMIN: frozenset(Action),
    Role.ORGANISER: frozenset(Action),
    Role.VIEWER: frozenset({Action.VIEW}),
    Role.STATION_MANAGER: frozenset({Action.VIEW, Action.RECORD}),
    Role.SPONSOR_REP: frozenset({Action.VIEW, Action.EDIT}),
}


@dataclass(frozen=True)
class Reach:
    """What one user's grants reach for one action."""

    action: Action
    everything: bool = False
    unit_paths: tuple[str, ...] = ()
    station_ids: tuple[int, ...] = ()
    sponsor_ids: tuple[int, ...] = ()

    @property
    def is_empty(self) -> bool:
        """True when the user may do this action to nothing at all."""
        return not (self.everything or self.unit_paths or self.station_ids or self.sponsor_ids)


def reach(user, action: Action) -> Reach:
    """Collect what `user`'s grants reach for `action`."""
    if user is None or not getattr(user, "is_authenticated", False) or not user.is_active:
        return Reach(action)
    paths: list[str] = []
    stations: list[int] = []
    sponsors: list[int] = []
    for role, path, station_id, sponsor_id in grant_rows(user):
        if action not in ROLE_ACTIONS[role]:
            continue
        if role is Role.ADMIN:
            return Reach(action, everything=True)
        if path is not None:
            paths.append(path)
        if station_id is not None:
            stations.append(station_id)
        if sponsor_id is not None:
            sponsors.append(sponsor_id)
    # A path inside another granted path adds nothing.
    paths = sorted(set(paths))
    kept = [p for p in paths if not any(p != q and p.startswith(q) for q in paths)]
    return Reach(
        action, False, tuple(kept), tuple(sorted(set(stations))), tuple(sorted(set(sponsors)))
    )


def _any(clauses: list[ColumnElement[bool]]) -> ColumnElement[bool]:
    return or_(*clauses) if clauses else false()


def _units(r: Reach) -> ColumnElement[bool]:
    return _any([under(Unit.path, p) for p in r.unit_paths])


def _unit_ids(r: Reach):
    return select(Unit.id).where(_units(r))


def _stations(r: Reach) -> ColumnElement[bool]:
    clauses = []
    if r.unit_paths:
        clauses.append(Station.under(*r.unit_paths))
    if r.station_ids:
        clauses.append(Station.id.in_(r.station_ids))
    return _any(clauses)


def _activities(r: Reach) -> ColumnElement[bool]:
    return Activity.station_id.in_(select(Station.id).where(_stations(r)))


def _ancestor_ids(paths: tuple[str, ...]) -> set[int]:
    return {int(part) for path in paths for part in path.strip("/").split("/")[:-1] if part}


def _campaigns(r: Reach) -> ColumnElement[bool]:
    clauses = []
    if r.unit_paths:
        clauses.append(Campaign.unit_id.in_(_unit_ids(r)))
    # A campaign covers its owner's subtree: a unit may look at (not change) the campaigns of
    # the units above it, and sees its own part of their figures.
    if r.action is Action.VIEW and r.unit_paths:
        clauses.append(Campaign.unit_id.in_(sorted(_ancestor_ids(r.unit_paths))))
    # Station managers and sponsors may look at the campaigns they take part in, not change them.
    if r.action is Action.VIEW and r.station_ids:
        clauses.append(
            Campaign.id.in_(
                select(Activity.campaign_id).where(Activity.station_id.in_(r.station_ids))
            )
        )
    # Sponsors look at the public campaigns they give to: an internal campaign stays the
    # union's, even when its organisers recorded a gift to it.
    if r.action is Action.VIEW and r.sponsor_ids:
        clauses.append(
            and_(
                Campaign.is_public.is_(True),
                Campaign.id.in_(
                    select(Donation.campaign_id).where(Donation.sponsor_id.in_(r.sponsor_ids))
                ),
            )
        )
    return _any(clauses)


def _sponsors(r: Reach) -> ColumnElement[bool]:
    clauses = []
    if r.unit_paths:
        clauses.append(Sponsor.unit_id.in_(_unit_ids(r)))
    if r.sponsor_ids:
        clauses.append(Sponsor.id.in_(r.sponsor_ids))
    return _any(clauses)


def _donations(r: Reach) -> ColumnElement[bool]:
    clauses = [Donation.sponsor_id.in_(select(Sponsor.id).where(_sponsors(r)))]
    if r.unit_paths:
        clauses.append(
            Donation.campaign_id.in_(select(Campaign.id).where(Campaign.unit_id.in_(_unit_ids(r))))
        )
    return _any(clauses)


def _kept_by_unit(unit_id, r: Reach) -> list[ColumnElement[bool]]:
    """Records a unit keeps (partners, volunteer teams): changed by those who reach the unit,
    looked at also by those below it."""
    if not r.unit_paths:
        return []
    clauses = [unit_id.in_(_unit_ids(r))]
    if r.action is Action.VIEW:
        clauses.append(unit_id.in_(sorted(_ancestor_ids(r.unit_paths))))
    return clauses


def _partners(r: Reach) -> ColumnElement[bool]:
    # A unit's stations may be co-built with partners kept by the units above it: its users
    # may look at (not change) those.
    clauses = _kept_by_unit(Partner.unit_id, r)
    # Station managers may look at the partners of the stations they run.
    if r.action is Action.VIEW and r.station_ids:
        clauses.append(
            Partner.id.in_(
                select(StationPartner.partner_id).where(
                    StationPartner.station_id.in_(r.station_ids)
                )
            )
        )
    return _any(clauses)


def _fund_lines(r: Reach) -> ColumnElement[bool]:
    # Money is the units' business: the lines of the units in reach (a station's line is its
    # unit's); a station manager's or a sponsor's grant reaches none.
    return FundLine.unit_id.in_(_unit_ids(r)) if r.unit_paths else false()


def _notices(r: Reach) -> ColumnElement[bool]:
    # A notice is its unit's: read by whoever reaches the unit it went to.
    return Notice.unit_id.in_(_unit_ids(r)) if r.unit_paths else false()


def _teams(r: Reach) -> ColumnElement[bool]:
    # A volunteer team is kept by a unit, as a partner is; those below may look at the teams of
    # the units above (who serve at their stations), station managers at the teams that served
    # at their stations, and a sponsor's representative at the team that is their sponsor.
    clauses = _kept_by_unit(VolunteerTeam.unit_id, r)
    if r.action is Action.VIEW and r.station_ids:
        clauses.append(
            VolunteerTeam.id.in_(
                select(VolunteerSession.team_id).where(
                    VolunteerSession.station_id.in_(r.station_ids)
                )
            )
        )
    if r.sponsor_ids:
        clauses.append(VolunteerTeam.sponsor_id.in_(r.sponsor_ids))
    return _any(clauses)


def _sessions(r: Reach) -> ColumnElement[bool]:
    # A session is the station's record (its administrator confirms it); the team's keepers
    # may look at their members' sessions wherever they served.
    clauses = [VolunteerSession.station_id.in_(select(Station.id).where(_stations(r)))]
    if r.action is Action.VIEW:
        clauses.append(VolunteerSession.team_id.in_(select(VolunteerTeam.id).where(_teams(r))))
    return _any(clauses)


def _shelves(r: Reach) -> ColumnElement[bool]:
    return Shelf.station_id.in_(select(Station.id).where(_stations(r)))


def _by_activity(model):
    def clause(r: Reach) -> ColumnElement[bool]:
        return model.activity_id.in_(select(Activity.id).where(_activities(r)))

    return clause


_CLAUSES = {
    Unit: _units,
    Station: _stations,
    Campaign: _campaigns,
    Activity: _activities,
    Sponsor: _sponsors,
    Donation: _donations,
    Partner: _partners,
    CheckIn: _by_activity(CheckIn),
    Headcount: _by_activity(Headcount),
    FundLine: _fund_lines,
    Notice: _notices,
    VolunteerTeam: _teams,
    VolunteerSession: _sessions,
    Shelf: _shelves,
}


def visible(user, action: Action, model) -> ColumnElement[bool]:
    """A WHERE clause selecting the rows of `model` that `user` may `action`."""
    r = reach(user, action)
    if r.everything:
        return true()
    if r.is_empty:
        return false()
    return _CLAUSES[model](r)


def can(user, action: Action, obj) -> bool:
    """May `user` do `action` to `obj`? Asks the database the same question lists ask."""
    model = type(obj)
    if reach(user, action).is_empty:
        return False
    stmt = select(model.id).where(model.id == obj.id, visible(user, action, model))
    return db.session.scalar(stmt) is not None


def get_or_404(user, action: Action, model, ident: int, *options):
    """Load one row the user may `action`, or answer 404 so that its existence does not leak."""
    stmt = select(model).where(model.id == ident, visible(user, action, model))
    if options:
        stmt = stmt.options(*options)
    obj = db.session.scalar(stmt)
    if obj is None:
        abort(404)
    return obj


def is_sponsor_only(user) -> bool:
    """True for a sponsor's representative with no other role: their home is their sponsor."""
    r = reach(user, Action.VIEW)
    return bool(r.sponsor_ids) and not (r.everything or r.unit_paths or r.station_ids)


def visible_events(user) -> ColumnElement[bool]:
    """The audit events `user` may read: under the units they may edit; all of them for an admin."""
    r = reach(user, Action.EDIT)
    if r.everything:
        return true()
    if not r.unit_paths:
        return false()
    return or_(*[under(AuditEvent.unit_path, p) for p in r.unit_paths])


def may_read_log(user) -> bool:
    """Organisers and administrators read the log; station managers, viewers, sponsors do not."""
    r = reach(user, Action.EDIT)
    return r.everything or bool(r.unit_paths)
