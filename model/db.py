"""Engine and session handling; the caller owns the transaction."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from model.settings import get_settings

_engines: dict[str, Engine] = {}
_sessionmakers: dict[str, sessionmaker[Session]] = {}


def _on_sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


def _json_dumps(value: Any) -> str:
    # Signal payloads are large; orjson encodes them several times faster than json.
    return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode("utf-8")


def build_engine(url: str, *, echo: bool = False) -> Engine:
    """Create an engine for ``url`` with the settings each backend needs."""
    parsed = make_url(url)
    common: dict[str, Any] = {
        "echo": echo,
        "json_serializer": _json_dumps,
        "json_deserializer": orjson.loads,
    }
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False}, **common)
        event.listen(engine, "connect", _on_sqlite_connect)
        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20, **common)


def get_engine(url: str | None = None) -> Engine:
    """Return the engine for ``url`` (default: the configured database), built on first use."""
    settings = get_settings()
    url = url or settings.resolved_database_url
    if url not in _engines:
        _engines[url] = build_engine(url, echo=settings.sql_echo)
    return _engines[url]


def get_sessionmaker(url: str | None = None) -> sessionmaker[Session]:
    """Return the session factory bound to the configured engine."""
    engine = get_engine(url)
    key = str(engine.url)
    if key not in _sessionmakers:
        maker = sessionmaker(bind=engine, expire_on_commit=False)
        # Both import the tables, which import us.
        from model import revisions
        from model.services import automations

        automations.watch(maker)
        revisions.watch(maker)  # last: its bump follows every flush the others make on commit
        _sessionmakers[key] = maker
    return _sessionmakers[key]


@contextmanager
def session_scope(url: str | None = None) -> Iterator[Session]:
    """Open a session, commit when the block succeeds and roll back when it raises."""
    session = get_sessionmaker(url)()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def dispose_engines() -> None:
    """Close every pooled connection and forget the engines (tests, shutdown)."""
    for engine in _engines.values():
        engine.dispose()
    _engines.clear()
    _sessionmakers.clear()


def dialect_insert(session: Session, model: Any) -> Any:
    """An INSERT for ``model``'s table with the dialect's ON CONFLICT clauses available.

    A Core insert on the table: bulk rows skip the ORM's unit of work, which they don't need.
    """
    from sqlalchemy.dialects import postgresql, sqlite

    name = session.get_bind().dialect.name
    return (postgresql.insert if name == "postgresql" else sqlite.insert)(model.__table__)
