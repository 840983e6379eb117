"""Migrations create the schema the models describe, on SQLite and on PostgreSQL."""

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, inspect

from crm import db
from crm.models import Base


def test_migrated_schema_matches_the_models(engine: Engine) -> None:
    assert db.is_current(engine)
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        diff = compare_metadata(context, Base.metadata)
    assert diff == []


def test_upgrade_is_idempotent_and_keeps_data(engine: Engine) -> None:
    with engine.begin() as c:
        c.exec_driver_sql("INSERT INTO skill (id, name) VALUES (1, 'billing')")
    db.upgrade(engine)
    assert db.current_revision(engine) == db.head_revision()
    with engine.connect() as c:
        assert c.exec_driver_sql("SELECT name FROM skill").scalar_one() == "billing"


def test_upgrade_creates_every_table_on_an_empty_database(tmp_path) -> None:
    engine = db.connect(f"sqlite:///{tmp_path / 'new' / 'fresh.db'}")
    assert not db.is_current(engine)
    db.upgrade(engine)
    assert set(Base.metadata.tables) <= set(inspect(engine).get_table_names())
    engine.dispose()
