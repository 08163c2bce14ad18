"""Run the Alembic migrations that ship with journeyops, without an alembic.ini."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from model.db import get_engine

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config(url: str) -> Config:
    """Return an Alembic config pointing at the bundled migrations and ``url``."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    # Alembic reads the URL through configparser: a literal % must be doubled.
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade(url: str, revision: str = "head") -> None:
    """Migrate the database at ``url`` up to ``revision``."""
    command.upgrade(alembic_config(url), revision)


def downgrade(url: str, revision: str) -> None:
    """Migrate the database at ``url`` down to ``revision`` (``base`` empties it)."""
    command.downgrade(alembic_config(url), revision)


def head_revision() -> str:
    """Return the newest migration shipped with this version."""
    head = ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()
    if head is None:
        raise RuntimeError("no migrations found in " + str(MIGRATIONS))
    return head


def current_revision(url: str) -> str | None:
    """Return the migration the database at ``url`` is at, or None when it is empty."""
    with get_engine(url).connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def ensure_schema(url: str, *, auto_migrate: bool) -> None:
    """Make sure the schema is current: migrate it, or say how to when that is not allowed."""
    if current_revision(url) == head_revision():
        return
    if not auto_migrate:
        raise RuntimeError(
            "the database schema is not at the latest migration; run `journeyops db upgrade` "
            "(or set JOURNEYOPS_AUTO_MIGRATE=true)"
        )
    upgrade(url)
