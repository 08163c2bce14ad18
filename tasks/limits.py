"""Per-provider concurrency and rate limits, held as Prefect global concurrency limits.

``journeyops prefect setup`` creates two limits per provider: ``journeyops-<provider>`` (calls
at once) and ``journeyops-<provider>-rate`` (calls per minute, as slots that decay). Both are
taken with ``strict=True``: a run against a server without them fails and says to run the
setup, instead of going unlimited. ``JOURNEYOPS_AUTOMATIONS__CONCURRENCY_LIMITS=false`` turns
them off; without a Prefect server (a one-off CLI command runs its flows on a temporary one of
its own) there is nothing shared to limit, and they are skipped.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from model.services.automations import prefect_configured
from model.settings import get_settings


def limit_names(provider: str) -> tuple[str, str]:
    return f"journeyops-{provider}", f"journeyops-{provider}-rate"


@contextmanager
def provider_slot(provider: str) -> Iterator[None]:
    """Hold one of the provider's slots (and spend one of its per-minute calls) meanwhile."""
    settings = get_settings().automations
    if not (settings.concurrency_limits and provider in settings.limits and prefect_configured()):
        yield
        return
    from prefect.concurrency.sync import concurrency, rate_limit

    concurrent, rate = limit_names(provider)
    rate_limit(rate, occupy=1, strict=True)
    with concurrency(concurrent, occupy=1, strict=True):
        yield
