"""Migrations run up and down on the run's backend and match the models."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect

from model import migrate
from model.base import Base
from model.db import build_engine


class TestMigrations:
    def test_up_down_up(self, fresh_database_url: str) -> None:
        migrate.upgrade(fresh_database_url)
        assert migrate.current_revision(fresh_database_url) == migrate.head_revision()
        migrate.downgrade(fresh_database_url, "base")
        engine = build_engine(fresh_database_url)
        assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
        migrate.upgrade(fresh_database_url)
        assert set(Base.metadata.tables) <= set(inspect(engine).get_table_names())
        engine.dispose()

    def test_models_match_the_migrations(self, database_url: str) -> None:
        engine = build_engine(database_url)
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            assert compare_metadata(context, Base.metadata) == []
        engine.dispose()

    def test_ensure_schema_refuses_when_auto_migrate_is_off(self, fresh_database_url: str) -> None:
        import pytest

        with pytest.raises(RuntimeError, match="journeyops db upgrade"):
            migrate.ensure_schema(fresh_database_url, auto_migrate=False)
        migrate.ensure_schema(fresh_database_url, auto_migrate=True)
        assert migrate.current_revision(fresh_database_url) == migrate.head_revision()
