"""Seed the PostHog stand-in the way a product would: through PostHog's own capture client."""

from __future__ import annotations

from datetime import UTC, datetime

from posthog import Posthog

from connectors.sandbox.data import POSTHOG_PROJECT_KEY, SandboxData


def capture_events(sandbox_url: str, data: SandboxData) -> int:
    """Send the generated product events to the stand-in's capture endpoint; returns the count."""
    client = Posthog(
        POSTHOG_PROJECT_KEY,
        host=sandbox_url.rstrip("/") + "/posthog",
        flush_at=500,
        max_queue_size=len(data.posthog_events) + 1,
        disable_geoip=True,
        enable_local_evaluation=False,
    )
    for event_uuid, event, timestamp, distinct_id, path, screen in data.posthog_events:
        client.capture(
            event,
            distinct_id=distinct_id,
            properties={"$pathname": path, "$screen_name": screen},
            timestamp=datetime.strptime(timestamp, "%Y-%m-%d %H:%M:%S.%f").replace(tzinfo=UTC),
            uuid=event_uuid,
        )
    client.flush()
    client.shutdown()
    return len(data.posthog_events)
