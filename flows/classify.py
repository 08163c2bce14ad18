"""The classify-signals flow: place new signals on a journey's steps."""

from __future__ import annotations

from prefect import flow

from tasks.classify import (
    ClassifySummary,
    classify_journey_signals,
    group_evidence,
    publish_classify_report,
)


@flow(name="classify-signals")
def classify_signals(workspace: str, journey: str) -> ClassifySummary:
    """Place new signals on the journey's steps, group them into insights, and report."""
    summary = classify_journey_signals(workspace, journey)
    group_evidence(workspace, journey)
    publish_classify_report(summary)
    return summary
