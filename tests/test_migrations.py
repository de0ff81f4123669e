"""The migrations build the same schema the models describe, on SQLite and PostgreSQL."""

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, select

from inclusive_day.campaigns.models import Theme


def test_models_and_migrations_agree(db):
    with db.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = compare_metadata(context, db.metadata)
    assert diff == []


def test_every_model_table_exists(db):
    tables = set(inspect(db.engine).get_table_names())
    assert {t.name for t in db.metadata.sorted_tables} <= tables
    assert "alembic_version" in tables


def test_migrations_seed_the_theme_catalogue_in_both_languages(db):
    themes = db.session.scalars(select(Theme)).all()
    assert {"haircut", "health_check", "festival_food", "anti_fraud"} <= {t.code for t in themes}
    assert all(t.name_zh and t.name_en and t.colour.startswith("#") for t in themes)
