"""The reporting replica: with REPORTS_DATABASE_URL set, the reads of report, notice and feed
requests go to a PostgreSQL streaming replica of the primary, and every write to the primary.

The session decides statement by statement (`RoutingSession.get_bind`): a plain SELECT made
while serving one of the views in `REPLICA_VIEWS` reads from the replica; a flush, an INSERT,
UPDATE or DELETE, a SELECT ... FOR UPDATE or any other statement goes to the primary, and so
do the reads of a transaction that has written (it sees its own writes) and the reads of the
tables that decide who may do what (PRIMARY_TABLES). A browser whose last write the replica
has yet to replay reads its reports from the primary until it has (the report a form
redirects to shows what the form wrote). Start-up refuses a replica URL that names the
primary itself, a server that is not a replica of it, another database than the primary's,
or a primary that is not PostgreSQL.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import click
from flask import Flask, current_app, g, has_app_context, request, session
from flask_sqlalchemy.session import Session
from sqlalchemy import event, text
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DBAPIError
from sqlalchemy.sql import Select
from sqlalchemy.sql.selectable import CompoundSelect
from sqlalchemy.sql.util import find_tables

# Flask-SQLAlchemy's bind key of the replica's engine (SQLALCHEMY_BINDS).
REPLICA_BIND = "reports"

# The views that read from the replica, on GET (and HEAD) only: a name ending in "." stands for
# every view of that blueprint. Report pages, PDFs and spreadsheets, the notices issued, the
# JSON API's report figures, and the calendar and map feeds.
REPLICA_VIEWS = (
    "reports.",
    "api_reports.",
    "points.report",
    "shelf.report",
    "shelf.report_xlsx",
    "feeds.campaign_feed",
    "feeds.unit_feed",
    "feeds.station_feed",
    "feeds.activity_feed",
    "directory.stations_geojson",
    "directory.stations_kml",
    "directory.stations_csv",
)

# The tables that decide who may do what: read on the primary always, so that a disabled
# account, a revoked token or a withdrawn role stops at once, and a new one works at once.
PRIMARY_TABLES = frozenset({"users", "role_grants", "api_tokens", "feed_tokens"})

_READ_METHODS = frozenset({"GET", "HEAD"})
_MARK = "_reads_from_replica"
# In the session's info: it wrote in this request; it is in a transaction that wrote.
_WROTE = "wrote"
_WRITING = "writing"
_READ_REPLICA = "read_replica"
# In the browser's session: the primary's WAL position after that browser's last write.
_SEEN_WAL = "_primary_wal"


class ReplicaRefused(click.ClickException):
    """REPORTS_DATABASE_URL names no replica of the primary: the app refuses to start (a
    click error, so that the `flask` command says why in one line and exits 1)."""


# --- Which reads go where ---------------------------------------------------------------------


def is_replica_view(endpoint: str | None) -> bool:
    """Whether the view `endpoint` is one of REPLICA_VIEWS."""
    if not endpoint:
        return False
    return any(
        endpoint.startswith(name) if name.endswith(".") else endpoint == name
        for name in REPLICA_VIEWS
    )


def read_from_replica(on: bool = True) -> None:
    """Mark the current app context's reads as the replica's (or not): the request hook does it
    for REPLICA_VIEWS, a report worker or a report's helper thread for its own context."""
    setattr(g, _MARK, on)


def reads_from_replica() -> bool:
    """Whether the current app context's plain reads go to the replica (when there is one)."""
    return has_app_context() and bool(g.get(_MARK, False))


def _is_plain_select(clause) -> bool:
    """A SELECT that locks nothing: the only statement a replica may answer."""
    return isinstance(clause, Select | CompoundSelect) and clause._for_update_arg is None


def _reads_primary_tables(clause) -> bool:
    """Whether the statement reads one of PRIMARY_TABLES (in a join or a subquery too)."""
    return any(table.name in PRIMARY_TABLES for table in find_tables(clause, include_joins=True))


class RoutingSession(Session):
    """Flask-SQLAlchemy's session, sending the plain reads of replica-marked contexts to the
    replica's engine, and everything else (and every read in a transaction that wrote) to
    the primary."""

    def get_bind(self, mapper=None, clause=None, bind=None, **kwargs):
        """The replica's engine for a plain read of a replica-marked context, outside a
        transaction that wrote and of PRIMARY_TABLES; otherwise the primary's (Flask-
        SQLAlchemy's choice)."""
        if bind is None:
            if self._flushing or (clause is not None and not _is_plain_select(clause)):
                self.info[_WROTE] = self.info[_WRITING] = True
            elif clause is not None and self._reads_replica(clause):
                self.info[_READ_REPLICA] = True
                return self._db.engines[REPLICA_BIND]
        return super().get_bind(mapper=mapper, clause=clause, bind=bind, **kwargs)

    def _reads_replica(self, clause) -> bool:
        return (
            reads_from_replica()
            and not self.info.get(_WRITING)
            and REPLICA_BIND in self._db.engines
            and not _reads_primary_tables(clause)
        )


@event.listens_for(RoutingSession, "after_commit")
@event.listens_for(RoutingSession, "after_rollback")
def _transaction_ended(session) -> None:
    """What a transaction wrote is committed (or gone): the next one may read the replica."""
    session.info.pop(_WRITING, None)


# --- Start-up ---------------------------------------------------------------------------------


def normalise_url(url: str) -> str:
    """A PostgreSQL URL with the driver named (hosting platforms hand out postgres:// URLs)."""
    if url.startswith("postgres://"):
        return "postgresql+psycopg://" + url.removeprefix("postgres://")
    if url.startswith("postgresql://"):
        return "postgresql+psycopg://" + url.removeprefix("postgresql://")
    return url


def add_engine(app: Flask) -> None:
    """Give Flask-SQLAlchemy the replica's engine (bind REPLICA_BIND) when
    REPORTS_DATABASE_URL is set; before db.init_app, which makes the engines."""
    url = app.config.get("REPORTS_DATABASE_URL")
    if url:
        binds = dict(app.config.get("SQLALCHEMY_BINDS") or {})
        binds[REPLICA_BIND] = normalise_url(url)
        app.config["SQLALCHEMY_BINDS"] = binds


def init_app(app: Flask) -> None:
    """With a replica configured: refuse to start unless it is a replica of the primary, and
    mark the requests of REPLICA_VIEWS to read from it. Pages show `figures_as_of()`."""
    app.add_template_global(figures_as_of)
    if not app.config.get("REPORTS_DATABASE_URL"):
        return
    with app.app_context():
        engines = app.extensions["sqlalchemy"].engines
        try:
            check_replica(engines[None], engines[REPLICA_BIND])
        except ReplicaRefused:
            for engine in engines.values():  # the app goes: leave no connection open
                engine.dispose()
            raise
    app.before_request(mark_request)
    app.after_request(remember_writes)


def mark_request() -> None:
    """Before each request: its plain reads go to the replica when it is a GET of one of
    REPLICA_VIEWS, unless the replica has yet to replay this browser's last write (the
    report a form redirects to shows what the form just wrote)."""
    on = request.method in _READ_METHODS and is_replica_view(request.endpoint)
    read_from_replica(on and _replayed_last_write())


def _replayed_last_write() -> bool:
    """Whether the replica has replayed this browser's last write (and then forget it)."""
    lsn = session.get(_SEEN_WAL)
    if lsn is None:
        return True
    with _engine(REPLICA_BIND).connect() as connection:
        if replayed_behind(connection, lsn) > 0:
            return False
    session.pop(_SEEN_WAL)
    return True


def remember_writes(response):
    """After a request that wrote, in a browser's session: the primary's WAL position, which
    the replica must have replayed before that browser's reports read from it again."""
    if session and current_app.extensions["sqlalchemy"].session.info.get(_WROTE):
        with _engine(None).connect() as connection:
            session[_SEEN_WAL] = connection.execute(text("SELECT pg_current_wal_lsn()")).scalar()
    return response


def _engine(bind: str | None) -> Engine:
    return current_app.extensions["sqlalchemy"].engines[bind]


@dataclass(frozen=True)
class ServerIdentity:
    """What tells two PostgreSQL servers apart: the cluster's system identifier (a streaming
    replica has its primary's), whether it is in recovery (a replica is), and the database."""

    system_identifier: int
    in_recovery: bool
    database: str


IDENTITY = text(
    "SELECT (SELECT system_identifier FROM pg_control_system()), pg_is_in_recovery(), "
    "current_database()"
)


def server_identity(engine: Engine, setting: str) -> ServerIdentity:
    """The identity of the server behind `engine` (named by `setting` in any refusal)."""
    try:
        with engine.connect() as connection:
            row = connection.execute(IDENTITY).one()
    except DBAPIError as error:
        raise ReplicaRefused(
            f"{setting} could not be read to check the reporting replica "
            f"({engine.url.render_as_string(hide_password=True)}): {error.orig}"
        ) from error
    return ServerIdentity(int(row[0]), bool(row[1]), row[2])


def refusal(primary: ServerIdentity, replica: ServerIdentity) -> str | None:
    """Why a server of identity `replica` cannot serve reports for `primary`; None if it can."""
    if not replica.in_recovery and replica.system_identifier == primary.system_identifier:
        return (
            "REPORTS_DATABASE_URL points at the primary itself (same system identifier, not in "
            "recovery): reports would load the primary. Point it at a streaming replica, or "
            "unset it."
        )
    if not replica.in_recovery:
        return (
            "REPORTS_DATABASE_URL points at a server that is not a replica (it is not in "
            "recovery): it would serve figures that never change. Point it at a streaming "
            "replica of the primary, or unset it."
        )
    if replica.system_identifier != primary.system_identifier:
        return (
            "REPORTS_DATABASE_URL points at a replica of another primary (system identifier "
            f"{replica.system_identifier}, the primary's is {primary.system_identifier})."
        )
    if primary.in_recovery:
        return "DATABASE_URL points at a server in recovery: the primary must take writes."
    if replica.database != primary.database:
        return (
            f"REPORTS_DATABASE_URL names database {replica.database!r}, DATABASE_URL "
            f"{primary.database!r}: reports must read the primary's own database."
        )
    return None


def check_replica(primary: Engine, replica: Engine) -> None:
    """Refuse (ReplicaRefused, with the reason) unless `replica` is a streaming replica of
    `primary`'s server and database; a replica only makes sense on PostgreSQL."""
    for engine, setting in ((primary, "DATABASE_URL"), (replica, "REPORTS_DATABASE_URL")):
        if engine.dialect.name != "postgresql":
            raise ReplicaRefused(
                f"REPORTS_DATABASE_URL is set, but {setting} is not PostgreSQL: a reporting "
                "replica is a PostgreSQL streaming replica of a PostgreSQL primary. Unset "
                "REPORTS_DATABASE_URL."
            )
    reason = refusal(
        server_identity(primary, "DATABASE_URL"),
        server_identity(replica, "REPORTS_DATABASE_URL"),
    )
    if reason is not None:
        raise ReplicaRefused(reason)


# --- How far behind ---------------------------------------------------------------------------


@dataclass(frozen=True)
class ReplicaLag:
    """How far behind the primary the replica's figures are.

    `as_of`: the primary's time that the replica's data is of (now, when the replica has
    replayed all it received; else the commit time of the last transaction it replayed);
    `behind`: now minus `as_of`; `bytes_behind`: write-ahead log the primary has written and
    the replica not yet replayed (None when the primary was not asked)."""

    as_of: datetime | None
    behind: timedelta | None
    bytes_behind: int | None = None


AS_OF = text(
    "SELECT CASE WHEN pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() THEN now() "
    "ELSE pg_last_xact_replay_timestamp() END, now()"
)


def replica_lag(replica: Connection, primary: Connection | None = None) -> ReplicaLag:
    """The lag of the replica behind `replica`; in bytes of WAL too when `primary` is given."""
    as_of, now = replica.execute(AS_OF).one()
    bytes_behind = None
    if primary is not None:
        written = primary.execute(text("SELECT pg_current_wal_lsn()")).scalar_one()
        bytes_behind = max(0, int(replayed_behind(replica, written)))
    return ReplicaLag(as_of, now - as_of if as_of is not None else None, bytes_behind)


def replayed_behind(replica: Connection, lsn: str) -> int:
    """How many bytes of WAL up to `lsn` (a primary's position) the replica has yet to replay."""
    return int(
        replica.execute(
            text("SELECT pg_wal_lsn_diff(CAST(:lsn AS pg_lsn), pg_last_wal_replay_lsn())"),
            {"lsn": lsn},
        ).scalar_one()
    )


def served_from_replica() -> bool:
    """Whether the current app context's session has read from the replica."""
    if not reads_from_replica():
        return False
    return bool(current_app.extensions["sqlalchemy"].session.info.get(_READ_REPLICA))


def figures_as_of() -> datetime | None:
    """For a page whose figures were read from the replica: the time they are as of (one
    query on the replica); None when the page read none from a replica."""
    if not served_from_replica():
        return None
    with _engine(REPLICA_BIND).connect() as connection:
        return replica_lag(connection).as_of
