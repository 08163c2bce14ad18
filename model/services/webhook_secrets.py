"""Each workspace's own webhook signing secrets, encrypted at rest.

Providers sign deliveries with a secret they hand out per endpoint (Stripe's `whsec_...`, a
Linear or Jira webhook's secret, an Intercom app's client secret), so every workspace needs
its own. They are checked on every delivery by the API, which cannot wait on an outside
secret store per request, so they live in the database encrypted with the service's key
(``JOURNEYOPS_WEBHOOKS__ENCRYPTION_KEY``, Fernet: AES-128-CBC with HMAC-SHA256). A workspace
without its own secret for a provider falls back to the service-wide one
(``JOURNEYOPS_WEBHOOKS__<PROVIDER>_SECRET``), which suits a single-workspace install.
"""

from __future__ import annotations

import base64
import hashlib
import secrets as random_secrets

from cryptography.fernet import Fernet, InvalidToken
from sqlalchemy.orm import Session

from model import repository
from model.errors import InvalidInput, NotFound
from model.settings import get_settings
from model.tables import WEBHOOK_PROVIDERS, WebhookSecret, Workspace


def _cipher(field: str = "secret") -> Fernet:
    key = get_settings().webhooks.encryption_key
    if key is None:
        raise InvalidInput(
            "set JOURNEYOPS_WEBHOOKS__ENCRYPTION_KEY (a long random string) before storing a "
            f"workspace's {'webhook secret' if field == 'secret' else field}",
            field=field,
        )
    digest = hashlib.sha256(key.get_secret_value().encode()).digest()
    return Fernet(base64.urlsafe_b64encode(digest))


def _check_provider(provider: str) -> None:
    if provider not in WEBHOOK_PROVIDERS:
        raise InvalidInput(
            f"provider: {provider!r} is not one of {', '.join(WEBHOOK_PROVIDERS)}",
            field="provider",
        )


def set_secret(
    session: Session, workspace: Workspace, provider: str, secret: str | None, actor: str
) -> tuple[WebhookSecret, str]:
    """Store the workspace's secret for ``provider`` (a new random one when ``secret`` is None,
    for PostHog's shared header); returns the row and the secret, to be shown once."""
    _check_provider(provider)
    value = secret.strip() if secret is not None else "jows_" + random_secrets.token_urlsafe(32)
    if len(value) < 16:
        raise InvalidInput("secret: must be at least 16 characters", field="secret")
    encrypted = _cipher().encrypt(value.encode()).decode()
    row = repository.webhook_secret(session, workspace.id, provider)
    if row is None:
        row = WebhookSecret(workspace_id=workspace.id, provider=provider)
        session.add(row)
    row.encrypted = encrypted
    row.hint = value[:6] + "..."
    row.created_by = actor
    session.flush()
    return row, value


def remove_secret(session: Session, workspace: Workspace, provider: str) -> None:
    _check_provider(provider)
    row = repository.webhook_secret(session, workspace.id, provider)
    if row is None:
        raise NotFound(f"the workspace has no {provider} webhook secret of its own")
    session.delete(row)
    session.flush()


def signing_key(row: WebhookSecret | None, provider: str) -> str | None:
    """The secret deliveries must be signed with: the workspace's own (``row``, from
    ``repository.webhook_target``), else the service-wide one; None if neither is set."""
    if row is None:
        fallback = getattr(get_settings().webhooks, f"{provider}_secret")
        return fallback.get_secret_value() if fallback is not None else None
    try:
        return _cipher().decrypt(row.encrypted.encode()).decode()
    except InvalidToken:
        # Better refuse every delivery than accept one signed with a key nobody can check.
        return None


def encrypt(value: str, field: str) -> str:
    """Encrypt another per-workspace secret (an incoming webhook URL) under the same key."""
    return _cipher(field).encrypt(value.encode()).decode()


def decrypt(token: str) -> str | None:
    """The secret, or None when the key is unset or is not the one it was stored with."""
    if get_settings().webhooks.encryption_key is None:
        return None
    try:
        return _cipher().decrypt(token.encode()).decode()
    except InvalidToken:
        return None
