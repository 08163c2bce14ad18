"""Open a workspace's connection to a source, with credentials read where they live."""

from __future__ import annotations

from datetime import timedelta

from connectors.base import SignalSource
from connectors.errors import AuthError, RequestError
from connectors.http import RetryPolicy
from connectors.intercom import IntercomClient, IntercomSource
from connectors.posthog import PostHogClient, PostHogSource
from connectors.stripe import StripeClientWrapper, StripeSource
from model import repository
from model.db import session_scope
from model.settings import INTERCOM_REGIONS, Settings, get_settings
from model.tables import SourceConfig

SECRET_SETTING = {
    "stripe": "JOURNEYOPS_STRIPE__API_KEY",
    "intercom": "JOURNEYOPS_INTERCOM__ACCESS_TOKEN",
    "posthog": "JOURNEYOPS_POSTHOG__PERSONAL_API_KEY",
}


def read_secret(source: str, secret_block: str | None, settings: Settings) -> str:
    """Return the source's credential from its Prefect Secret block, else from settings."""
    if secret_block:
        from prefect.blocks.system import Secret

        try:
            value = Secret.load(secret_block).get()  # type: ignore[union-attr]
        except ValueError as error:
            raise AuthError(
                source, f"the Prefect Secret block {secret_block!r} cannot be loaded: {error}"
            ) from None
        return str(value)
    configured = {
        "stripe": settings.stripe.api_key,
        "intercom": settings.intercom.access_token,
        "posthog": settings.posthog.personal_api_key,
    }[source]
    if configured is None:
        raise AuthError(
            source,
            f"no credentials: set {SECRET_SETTING[source]} or name a Prefect Secret block "
            f"with `journeyops source set {source} --secret-block NAME`",
        )
    return configured.get_secret_value()


def _config(workspace_id: int, source: str, database_url: str | None = None) -> SourceConfig | None:
    with session_scope(database_url) as session:
        config = repository.source_config(session, workspace_id, source)
        if config is not None:
            session.expunge(config)
        return config


def _retry(settings: Settings) -> RetryPolicy:
    return RetryPolicy(
        max_attempts=settings.http.max_attempts, max_delay=settings.http.max_backoff_seconds
    )


def open_stripe_client(workspace_id: int, database_url: str | None = None) -> StripeClientWrapper:
    """The workspace's Stripe client, credentials and address as its pulls use them."""
    settings = get_settings()
    config = _config(workspace_id, "stripe", database_url)
    secret = read_secret("stripe", config.secret_block if config else None, settings)
    base_url = config.base_url if config and config.base_url else settings.stripe.base_url
    return StripeClientWrapper(
        secret, base_url, timeout=settings.http.timeout_seconds, retry=_retry(settings)
    )


def open_posthog_client(workspace_id: int, database_url: str | None = None) -> PostHogClient:
    """The workspace's PostHog query client, credentials and project as its pulls use them."""
    settings = get_settings()
    config = _config(workspace_id, "posthog", database_url)
    options = dict(config.options) if config else {}
    secret = read_secret("posthog", config.secret_block if config else None, settings)
    p = settings.posthog
    project = options.get("project_id", p.project_id)
    if not project:
        raise RequestError(
            "posthog",
            "no project: set JOURNEYOPS_POSTHOG__PROJECT_ID or "
            "`journeyops source set posthog --option project_id=ID`",
        )
    return PostHogClient(
        secret,
        config.base_url if config and config.base_url else p.host,
        str(project),
        timeout=settings.http.timeout_seconds,
        retry=_retry(settings),
        queries_per_minute=p.queries_per_minute,
    )


def open_source(workspace_id: int, source: str) -> SignalSource:
    """Build the source client for a workspace from settings and its stored configuration."""
    settings = get_settings()
    config = _config(workspace_id, source)
    options = dict(config.options) if config else {}
    if source == "stripe":
        s = settings.stripe
        return StripeSource(
            open_stripe_client(workspace_id),
            page_size=s.page_size,
            backfill_days=int(options.get("backfill_days", s.backfill_days)),
        )
    if source == "intercom":
        i = settings.intercom
        secret = read_secret(source, config.secret_block if config else None, settings)
        region = options.get("region", i.region)
        base_url = config.base_url if config and config.base_url else None
        url = base_url or i.base_url or INTERCOM_REGIONS[region]
        intercom = IntercomClient(
            secret,
            url,
            version=options.get("version", i.version),
            timeout=settings.http.timeout_seconds,
            retry=_retry(settings),
        )
        return IntercomSource(intercom, per_page=i.per_page, max_chars=i.max_text_chars)
    if source == "posthog":
        p = settings.posthog
        client = open_posthog_client(workspace_id)
        return PostHogSource(
            client,
            events=list(options.get("events", p.events)),
            hogql_filter=options.get("hogql_filter", p.hogql_filter),
            window=timedelta(minutes=int(options.get("window_minutes", p.window_minutes))),
            lag=timedelta(minutes=p.lag_minutes),
            page_size=p.page_size,
            first_pull=timedelta(days=p.first_pull_days),
        )
    raise RequestError(source, f"unknown source {source!r}")
