"""The classify-signals flow: place new signals on a journey's steps."""

from __future__ import annotations

from prefect import flow

from tasks.classify import ClassifySummary, classify_journey_signals, publish_classify_report


@flow(name="classify-signals")
def classify_signals(workspace: str, journey: str) -> ClassifySummary:
    """Place every new signal on the journey's steps and report where they went."""
    summary = classify_journey_signals(workspace, journey)
    publish_classify_report(summary)
    return summary
