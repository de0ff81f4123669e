"""`flask backup FILE` and `flask restore FILE`: an online copy of the SQLite database.

SQLite's backup API copies a consistent snapshot page by page while the app keeps serving, so
a backup never needs the server stopped. A restore checks that the file is a database of this
application at a revision the code knows, then copies it over the live database in one step.
PostgreSQL has its own tools (pg_dump and pg_restore, see the README); these commands say so.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import click
from alembic.script import ScriptDirectory
from flask import current_app
from flask.cli import with_appcontext
from flask_migrate import Migrate

from inclusive_day.extensions import db

PG_HINT = (
    "This database is PostgreSQL: back it up with "
    '`pg_dump --format=custom --file inclusive_day.dump "$DATABASE_URL"` and restore it with '
    '`pg_restore --clean --dbname "$DATABASE_URL" inclusive_day.dump`.'
)


class BackupError(click.ClickException):
    """A backup or restore that cannot be done; the message says why."""


def _live_connection() -> sqlite3.Connection:
    """The SQLite connection under the app's engine; other databases are refused."""
    if db.engine.dialect.name != "sqlite":
        raise BackupError(PG_HINT)
    return db.engine.raw_connection().driver_connection


def known_revisions() -> set[str]:
    """Every migration revision this code has."""
    migrate: Migrate = current_app.extensions["migrate"].migrate
    script = ScriptDirectory.from_config(migrate.get_config())
    return {rev.revision for rev in script.walk_revisions()}


def backup_to(target: Path) -> int:
    """Copy the live database to `target` (a new file); the number of pages copied."""
    if target.exists():
        raise BackupError(f"{target} exists; choose a new file name.")
    live = _live_connection()
    copy = sqlite3.connect(target)
    try:
        live.backup(copy)
        pages = copy.execute("PRAGMA page_count").fetchone()[0]
    finally:
        copy.close()
    return pages


def _revision_of(source: Path) -> str:
    """The migration revision recorded in a backup file, or a BackupError saying what is wrong."""
    if not source.is_file():
        raise BackupError(f"{source} is not a file.")
    try:
        conn = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
        try:
            row = conn.execute("SELECT version_num FROM alembic_version").fetchone()
        finally:
            conn.close()
    except sqlite3.DatabaseError as error:
        raise BackupError(f"{source} is not a backup of this application ({error}).") from None
    if row is None:
        raise BackupError(f"{source} records no schema revision.")
    return row[0]


def restore_from(source: Path) -> str:
    """Replace the live database with the backup `source`; its schema revision."""
    revision = _revision_of(source)
    if revision not in known_revisions():
        raise BackupError(
            f"{source} is at schema revision {revision}, which this version does not know."
        )
    live = _live_connection()
    db.session.remove()
    backup = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
    try:
        backup.backup(live)
    finally:
        backup.close()
    db.engine.dispose()
    return revision


@click.command("backup")
@click.argument("target", type=click.Path(dir_okay=False, path_type=Path))
@with_appcontext
def backup_command(target: Path) -> None:
    """Copy the SQLite database to TARGET while the app keeps running."""
    pages = backup_to(target)
    click.echo(f"Backed up {pages} pages to {target}.")


@click.command("restore")
@click.argument("source", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--yes", is_flag=True, help="Replace the database without asking.")
@with_appcontext
def restore_command(source: Path, yes: bool) -> None:
    """Replace the SQLite database with the backup SOURCE (then run `flask db upgrade`)."""
    _revision_of(source)
    if not yes:
        click.confirm(f"Replace the whole database with {source}?", abort=True)
    revision = restore_from(source)
    click.echo(f"Restored {source} (schema revision {revision}). Run `flask db upgrade` next.")
