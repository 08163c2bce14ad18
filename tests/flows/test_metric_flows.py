"""sync-metrics runs whole on a Prefect test server and reports as an artifact."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from flows.metrics import MetricsBroken, sync_metrics
from tests.flows.test_pull_flows import artifact
from tests.tasks.test_metrics import capture, metric, metric_env  # noqa: F401  (fixture)

pytestmark = pytest.mark.usefixtures("prefect_harness")


def test_sync_metrics_reports_each_metric_and_fails_on_a_broken_one(
    metric_env: Any,  # noqa: F811
) -> None:
    yesterday = datetime.now(UTC) - timedelta(days=1)
    capture(metric_env.url, [("trial_started", f"t{n}", yesterday, {}) for n in range(4)])
    metric({"provider": "posthog", "measure": "events", "event": "trial_started"})
    metric({"provider": "stripe", "measure": "new_subscriptions"})
    outcomes = sync_metrics("acme")
    assert [o.state for o in outcomes] == ["ok", "ok"]
    assert outcomes[0].value == 4
    assert "trial_started" in str(artifact("sync-metrics-acme").data)
    assert "data:image/svg+xml;base64," in str(artifact("metric-history-acme").data)
    metric({"provider": "posthog", "measure": "events", "event": "trial_startd"})
    with pytest.raises(MetricsBroken, match="no event named 'trial_startd'"):
        sync_metrics("acme")
    assert "broken" in str(artifact("sync-metrics-acme").data)
