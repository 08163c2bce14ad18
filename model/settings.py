"""One settings object for the whole project, read from ``JOURNEYOPS_*`` variables."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


def default_home() -> Path:
    """Return the folder that holds the embedded database and local state."""
    return Path.home() / ".journeyops"


class Settings(BaseSettings):
    """Every setting journeyops reads; nested connector settings join as their issues land."""

    model_config = SettingsConfigDict(
        env_prefix="JOURNEYOPS_",
        env_nested_delimiter="__",
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
    )

    environment: str = Field(
        default="development",
        description="development, test or production; production refuses unsafe defaults.",
    )
    home: Path = Field(
        default_factory=default_home,
        description="Folder for the embedded SQLite database and other local state.",
    )
    database_url: str | None = Field(
        default=None,
        description=(
            "SQLAlchemy URL of the database. Unset means the embedded SQLite file "
            "HOME/journeyops.db; production uses postgresql+psycopg://user@host/db."
        ),
    )
    auto_migrate: bool = Field(
        default=True,
        description="Bring the database schema to the latest migration when a command starts.",
    )
    workspace: str = Field(
        default="default",
        description="Slug of the workspace CLI commands act on when none is given.",
    )
    actor: str = Field(
        default="cli",
        description="Name recorded in change history for changes made from the CLI.",
    )
    sql_echo: bool = Field(default=False, description="Log every SQL statement.")

    @field_validator("database_url")
    @classmethod
    def _known_driver(cls, value: str | None) -> str | None:
        if value is None or value == "":
            return None
        if value.startswith("postgresql://") or value.startswith("postgres://"):
            # psycopg 3 is the driver we ship; name it so SQLAlchemy does not look for psycopg2.
            return "postgresql+psycopg://" + value.split("://", 1)[1]
        if not (value.startswith("sqlite") or value.startswith("postgresql+psycopg")):
            raise ValueError(
                "JOURNEYOPS_DATABASE_URL must be a sqlite:/// or postgresql+psycopg:// URL, "
                f"not {value.split('://', 1)[0]}://..."
            )
        return value

    @property
    def resolved_database_url(self) -> str:
        """Return the database URL, defaulting to the embedded SQLite file."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.home / 'journeyops.db'}"


@lru_cache
def get_settings() -> Settings:
    """Return the process-wide settings, read once."""
    return Settings()


def reset_settings() -> None:
    """Forget cached settings so the next read sees the current environment."""
    get_settings.cache_clear()
