"""`flask backup` and `flask restore`: an online SQLite copy that restores what was there."""

from __future__ import annotations

import sqlite3

import pytest
from sqlalchemy import func, select

from inclusive_day.units.models import Unit


@pytest.fixture
def sqlite_only(db):
    if db.engine.dialect.name != "sqlite":
        pytest.skip("SQLite's backup API; PostgreSQL uses pg_dump")


def test_a_backup_restores_the_data_as_it_was(db, runner, make_unit, tmp_path, sqlite_only):
    make_unit("昆明市总工会")
    target = tmp_path / "backup.sqlite"
    result = runner.invoke(args=["backup", str(target)])
    assert result.exit_code == 0, result.output
    assert "Backed up" in result.output
    make_unit("曲靖市总工会")
    again = runner.invoke(args=["backup", str(target)])
    assert again.exit_code == 1 and "exists" in again.output
    restored = runner.invoke(args=["restore", str(target), "--yes"])
    assert restored.exit_code == 0, restored.output
    db.session.remove()
    assert db.session.scalars(select(Unit.name)).all() == ["昆明市总工会"]


def test_restore_refuses_a_file_that_is_not_a_backup(db, runner, tmp_path, sqlite_only):
    junk = tmp_path / "notes.txt"
    junk.write_text("not a database " * 100)
    result = runner.invoke(args=["restore", str(junk), "--yes"])
    assert result.exit_code == 1 and "not a backup" in result.output
    foreign = tmp_path / "other.sqlite"
    conn = sqlite3.connect(foreign)
    conn.execute("CREATE TABLE alembic_version (version_num TEXT)")
    conn.execute("INSERT INTO alembic_version VALUES ('9999')")
    conn.commit()
    conn.close()
    result = runner.invoke(args=["restore", str(foreign), "--yes"])
    assert result.exit_code == 1 and "does not know" in result.output
    assert db.session.scalar(select(func.count()).select_from(Unit)) == 0


def test_postgresql_is_pointed_to_pg_dump(db, runner, tmp_path):
    if db.engine.dialect.name != "postgresql":
        pytest.skip("the PostgreSQL message")
    result = runner.invoke(args=["backup", str(tmp_path / "x")])
    assert result.exit_code == 1 and "pg_dump" in result.output
