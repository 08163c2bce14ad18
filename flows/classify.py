"""The classify-signals flow: place new signals on a journey's steps."""

from __future__ import annotations

from prefect import flow

from model.settings import get_settings
from tasks.classify import (
    ClassifySummary,
    classify_journey_signals,
    group_evidence,
    journey_slugs,
    publish_classify_report,
)


@flow(name="classify-signals")
def classify_signals(workspace: str, journey: str) -> ClassifySummary:
    """Place new signals on the journey's steps, group them into insights, and report."""
    summary = classify_journey_signals(workspace, journey)
    group_evidence(workspace, journey)
    publish_classify_report(summary)
    return summary


@flow(name="classify-workspace")
def classify_workspace(workspace: str | None = None) -> list[ClassifySummary]:
    """Classify every journey of the workspace (default: JOURNEYOPS_WORKSPACE); deployed to
    run after each completed pull."""
    slug = workspace or get_settings().workspace
    return [classify_signals(slug, journey) for journey in journey_slugs(slug)]
