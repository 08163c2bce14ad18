"""What every CLI command shares: settings, a migrated database and readable errors."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import ParamSpec, TypeVar

import typer
from rich.console import Console
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from model.db import session_scope
from model.errors import JourneyOpsError
from model.migrate import ensure_schema
from model.settings import Settings, get_settings

console = Console()
err_console = Console(stderr=True, soft_wrap=True)

P = ParamSpec("P")
R = TypeVar("R")


@contextmanager
def database() -> Iterator[tuple[Session, Settings]]:
    """Open a session on a current schema; commit when the command succeeds."""
    settings = get_settings()
    ensure_schema(settings.resolved_database_url, auto_migrate=settings.auto_migrate)
    with session_scope() as session:
        yield session, settings


def friendly_errors(command: Callable[P, R]) -> Callable[P, R]:
    """Print journeyops errors as one readable line and exit 1 instead of a traceback."""

    @functools.wraps(command)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return command(*args, **kwargs)
        except JourneyOpsError as error:
            err_console.print(f"[bold red]error:[/] {error.message}", highlight=False)
            raise typer.Exit(1) from None
        except OperationalError as error:
            err_console.print(
                f"[bold red]error:[/] cannot use the database: {error.orig}. "
                "Check JOURNEYOPS_DATABASE_URL and that the server is running.",
                highlight=False,
            )
            raise typer.Exit(1) from None

    return wrapper
