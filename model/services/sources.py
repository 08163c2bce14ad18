"""How each workspace pulls its sources: base URLs, options and where its secret lives."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from model import repository
from model.errors import InvalidInput
from model.tables import PULL_SOURCES, SourceConfig, Workspace

# Options a source understands, with their types; anything else is refused by name.
SOURCE_OPTIONS: dict[str, dict[str, type]] = {
    "stripe": {"backfill_days": int},
    "intercom": {"region": str, "version": str},
    "posthog": {"project_id": str, "events": list, "hogql_filter": str, "window_minutes": int},
}


def _check_options(source: str, options: dict[str, Any]) -> dict[str, Any]:
    allowed = SOURCE_OPTIONS[source]
    clean: dict[str, Any] = {}
    for name, value in options.items():
        if name not in allowed:
            raise InvalidInput(
                f"options.{name}: {source} has no option {name!r}; it has {', '.join(sorted(allowed))}",
                field=f"options.{name}",
            )
        kind = allowed[name]
        if kind is list and isinstance(value, str):
            value = [part.strip() for part in value.split(",") if part.strip()]
        elif kind is int and isinstance(value, str) and value.strip().isdigit():
            value = int(value)
        if not isinstance(value, kind):
            raise InvalidInput(
                f"options.{name}: must be a {kind.__name__}", field=f"options.{name}"
            )
        if name == "region" and value not in ("us", "eu", "au"):
            raise InvalidInput("options.region: must be us, eu or au", field="options.region")
        clean[name] = value
    return clean


def configure_source(
    session: Session,
    workspace: Workspace,
    source: str,
    *,
    enabled: bool | None = None,
    base_url: str | None = None,
    options: dict[str, Any] | None = None,
    secret_block: str | None = None,
) -> SourceConfig:
    """Create or change a workspace's settings for one source; secrets are never stored."""
    if source not in PULL_SOURCES:
        raise InvalidInput(
            f"source: {source!r} is not one of {', '.join(PULL_SOURCES)}", field="source"
        )
    if base_url is not None and not base_url.startswith(("http://", "https://")):
        raise InvalidInput("base_url: must be an http:// or https:// address", field="base_url")
    config = repository.source_config(session, workspace.id, source)
    if config is None:
        config = SourceConfig(workspace_id=workspace.id, source=source, options={})
        session.add(config)
    if enabled is not None:
        config.enabled = enabled
    if base_url is not None:
        config.base_url = base_url.rstrip("/")
    if options:
        config.options = {**(config.options or {}), **_check_options(source, options)}
    if secret_block is not None:
        config.secret_block = secret_block or None
    session.flush()
    return config
