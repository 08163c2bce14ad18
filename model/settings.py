"""One settings object for the whole project, read from ``JOURNEYOPS_*`` variables."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

INTERCOM_REGIONS = {
    "us": "https://api.intercom.io",
    "eu": "https://api.eu.intercom.io",
    "au": "https://api.au.intercom.io",
}


def default_home() -> Path:
    """Return the folder that holds the embedded database and local state."""
    return Path.home() / ".journeyops"


class HttpSettings(BaseModel):
    """How every connector talks HTTP."""

    timeout_seconds: float = Field(default=30.0, gt=0, description="Per-request timeout.")
    max_attempts: int = Field(default=6, ge=1, description="Tries per request on 429/5xx/network.")
    max_backoff_seconds: float = Field(
        default=60.0, gt=0, description="Longest wait between tries."
    )


class StripeSettings(BaseModel):
    api_key: SecretStr | None = Field(
        default=None, description="Restricted or secret key (rk_/sk_)."
    )
    base_url: str = Field(default="https://api.stripe.com", description="API base address.")
    page_size: int = Field(default=100, ge=1, le=100)
    backfill_days: int = Field(
        default=90, ge=0, description="How far the first pull reaches back through list endpoints."
    )


class IntercomSettings(BaseModel):
    access_token: SecretStr | None = Field(default=None, description="Intercom access token.")
    region: Literal["us", "eu", "au"] = Field(default="us", description="Workspace hosting region.")
    base_url: str | None = Field(default=None, description="Overrides the region's address.")
    version: str = Field(default="2.14", description="Intercom-Version header.")
    per_page: int = Field(default=150, ge=1, le=150)
    max_text_chars: int = Field(
        default=20_000, ge=100, description="Longer customer text is skipped as oversize."
    )

    @property
    def resolved_base_url(self) -> str:
        return self.base_url or INTERCOM_REGIONS[self.region]


class PostHogSettings(BaseModel):
    personal_api_key: SecretStr | None = Field(default=None, description="Key with Query Read.")
    host: str = Field(default="https://us.posthog.com", description="App host (US, EU or own).")
    project_id: str | None = Field(default=None, description="Project whose events are read.")
    events: list[str] = Field(
        default_factory=list, description="Event names that become signals (or use hogql_filter)."
    )
    hogql_filter: str | None = Field(
        default=None, description="A HogQL condition on events, instead of event names."
    )
    window_minutes: int = Field(
        default=60, ge=1, le=1440, description="One signal per event and window."
    )
    lag_minutes: int = Field(
        default=10, ge=0, description="Windows closer to now than this wait for late events."
    )
    page_size: int = Field(default=5000, ge=1, le=50_000)
    first_pull_days: int = Field(default=7, ge=1, description="How far back the first pull reads.")
    queries_per_minute: int = Field(default=60, ge=1, description="Client-side query pacing.")


class ClassifySettings(BaseModel):
    """How signals are placed on steps."""

    accept_threshold: float = Field(
        default=0.85,
        ge=0,
        le=1,
        description="Offline placements at least this sure are accepted without review.",
    )
    batch_size: int = Field(default=5000, ge=1, description="Signals placed per batch.")
    embedding_model: str = Field(
        default="auto",
        description="Sentence embeddings for the offline classifier: 'auto' (the packaged "
        "all-MiniLM-L6-v2 when installed), 'none', or a sentence-transformers model directory.",
    )
    llm_model: str | None = Field(
        default=None,
        description="litellm model name (e.g. openai/gpt-4o-mini); unset places offline only.",
    )
    llm_api_base: str | None = Field(default=None, description="Provider address override.")
    llm_api_key: SecretStr | None = Field(default=None, description="Provider key.")
    llm_accept_threshold: float = Field(
        default=0.7, ge=0, le=1, description="LLM placements at least this sure are accepted."
    )
    llm_batch_size: int = Field(default=10, ge=1, le=50, description="Signals per LLM call.")
    llm_candidates: int = Field(default=6, ge=1, description="Likeliest steps offered per signal.")
    llm_examples_per_step: int = Field(default=2, ge=0, description="Few-shot examples a step.")
    llm_timeout_seconds: float = Field(default=30.0, gt=0)
    llm_max_attempts: int = Field(default=3, ge=1, description="Tries per batch.")
    llm_max_calls: int = Field(default=500, ge=1, description="Most LLM calls in one run.")
    group_similarity: float = Field(
        default=0.3, gt=0, le=1, description="How alike signals must read to be one insight."
    )
    group_min_signals: int = Field(
        default=3, ge=1, description="Signals needed before a group becomes an insight."
    )
    opportunity_min_evidence: int = Field(
        default=25, ge=1, description="Evidence on a step that proposes an opportunity."
    )


class LinearSettings(BaseModel):
    api_key: SecretStr | None = Field(
        default=None, description="Personal API key (sent without 'Bearer') or OAuth token."
    )
    url: str = Field(default="https://api.linear.app/graphql", description="GraphQL endpoint.")
    team_key: str | None = Field(
        default=None,
        description="Team (e.g. ENG) used when neither journey nor workspace names one.",
    )


class JiraSettings(BaseModel):
    url: str | None = Field(default=None, description="Site address, https://acme.atlassian.net.")
    email: str | None = Field(default=None, description="Account email the API token belongs to.")
    api_token: SecretStr | None = Field(default=None, description="Atlassian API token.")
    project_key: str | None = Field(
        default=None, description="Project used when neither journey nor workspace names one."
    )
    issue_type: str = Field(default="Task", description="Issue type of created tickets.")


class TicketSettings(BaseModel):
    """Pushing follow-up to trackers and reading it back."""

    public_url: str = Field(
        default="http://localhost:8000",
        description="Address of the journeyops API; tickets link back to items under it.",
    )
    claim_seconds: int = Field(
        default=300,
        ge=10,
        description="How long a run holds a ticket it is creating before another may take over.",
    )
    max_attempts: int = Field(
        default=5, ge=1, description="Pushes of one item before it waits for a person."
    )


class WebhookSettings(BaseModel):
    """Signing secrets of the providers that call journeyops' webhooks."""

    stripe_secret: SecretStr | None = Field(
        default=None, description="Stripe endpoint secret (whsec_...)."
    )
    intercom_secret: SecretStr | None = Field(
        default=None, description="Intercom app client secret."
    )
    linear_secret: SecretStr | None = Field(
        default=None, description="Linear webhook signing secret."
    )
    jira_secret: SecretStr | None = Field(default=None, description="Jira webhook secret.")
    posthog_secret: SecretStr | None = Field(
        default=None, description="Shared secret PostHog sends in X-Journeyops-Secret."
    )
    stripe_tolerance_seconds: int = Field(
        default=300, ge=1, description="Oldest Stripe signature accepted."
    )
    linear_tolerance_seconds: int = Field(
        default=60, ge=1, description="Oldest Linear delivery accepted."
    )
    process_deployment: str | None = Field(
        default=None,
        description="Deployment started for each new delivery (process-webhooks/on-delivery).",
    )
    encryption_key: SecretStr | None = Field(
        default=None,
        description=(
            "Key that encrypts workspaces' own webhook secrets in the database; needed to set "
            "one. Any long random string; changing it makes the stored secrets unreadable."
        ),
    )


class ProviderLimit(BaseModel):
    """A provider's Prefect global concurrency limits: calls at once, and calls per minute."""

    concurrent: int = Field(ge=1)
    per_minute: int = Field(ge=1)


def _default_limits() -> dict[str, ProviderLimit]:
    return {
        "stripe": ProviderLimit(concurrent=4, per_minute=600),
        "intercom": ProviderLimit(concurrent=2, per_minute=600),
        "posthog": ProviderLimit(concurrent=2, per_minute=120),
        "linear": ProviderLimit(concurrent=2, per_minute=60),
        "jira": ProviderLimit(concurrent=2, per_minute=60),
        "slack": ProviderLimit(concurrent=1, per_minute=60),
        "discord": ProviderLimit(concurrent=1, per_minute=30),
        "llm": ProviderLimit(concurrent=4, per_minute=120),
    }


class AutomationSettings(BaseModel):
    """How automations run on Prefect."""

    work_pool: str = Field(
        default="journeyops", description="Process work pool automation deployments run on."
    )
    dispatch_after_seconds: int = Field(
        default=120,
        ge=10,
        description="A requested run not started this long after its event is run by the "
        "dispatcher (the event was lost, or no server was up).",
    )
    concurrency_limits: bool = Field(
        default=True,
        description="Hold each provider's Prefect global concurrency limits (created by "
        "`journeyops prefect setup`) around its calls; a missing limit fails the run.",
    )
    limits: dict[str, ProviderLimit] = Field(default_factory=_default_limits)


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
    map_cache_mb: int = Field(
        default=64,
        ge=0,
        description="Memory each API process gives to rendered journey maps, kept until their "
        "workspace changes; 0 renders every request.",
    )
    http: HttpSettings = Field(default_factory=HttpSettings)
    stripe: StripeSettings = Field(default_factory=StripeSettings)
    intercom: IntercomSettings = Field(default_factory=IntercomSettings)
    posthog: PostHogSettings = Field(default_factory=PostHogSettings)
    classify: ClassifySettings = Field(default_factory=ClassifySettings)
    webhooks: WebhookSettings = Field(default_factory=WebhookSettings)
    linear: LinearSettings = Field(default_factory=LinearSettings)
    jira: JiraSettings = Field(default_factory=JiraSettings)
    tickets: TicketSettings = Field(default_factory=TicketSettings)
    automations: AutomationSettings = Field(default_factory=AutomationSettings)

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
