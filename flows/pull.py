"""Pull flows: one per source, and one that pulls every configured source of a workspace."""

from __future__ import annotations

from prefect import flow
from prefect.runtime import flow_run

from flows.classify import classify_signals
from model import repository
from model.db import session_scope
from model.services import workspaces
from model.tables import PULL_SOURCES
from tasks.pull import PullSummary, finish_pull_run, publish_pull_report, pull_pages, start_pull_run


def _pull(workspace: str, source: str) -> PullSummary:
    workspace_id, run_id = start_pull_run(workspace, source, flow_run.get_id())
    try:
        pull_pages(workspace_id, source, run_id)
    except Exception as error:
        summary = finish_pull_run(workspace, run_id, error=str(error))
        publish_pull_report([summary])
        raise
    summary = finish_pull_run(workspace, run_id)
    publish_pull_report([summary])
    return summary


@flow(name="pull-stripe", log_prints=False)
def pull_stripe(workspace: str) -> PullSummary:
    """Pull Stripe billing events into signals."""
    return _pull(workspace, "stripe")


@flow(name="pull-intercom")
def pull_intercom(workspace: str) -> PullSummary:
    """Pull changed Intercom conversations into signals."""
    return _pull(workspace, "intercom")


@flow(name="pull-posthog")
def pull_posthog(workspace: str) -> PullSummary:
    """Pull counts of the chosen PostHog events into signals."""
    return _pull(workspace, "posthog")


PULL_FLOWS = {"stripe": pull_stripe, "intercom": pull_intercom, "posthog": pull_posthog}


def configured_sources(workspace: str) -> list[str]:
    with session_scope() as session:
        ws = workspaces.get_workspace(session, workspace)
        return [c.source for c in repository.source_configs(session, ws.id) if c.enabled]


@flow(name="pull-workspace")
def pull_workspace(
    workspace: str, sources: list[str] | None = None, classify_journey: str | None = None
) -> list[PullSummary]:
    """Pull every enabled source of a workspace; one failing source does not stop the others.

    With ``classify_journey``, the new signals are then placed on that journey's steps.
    """
    chosen = sources if sources is not None else configured_sources(workspace)
    unknown = sorted(set(chosen) - set(PULL_SOURCES))
    if unknown:
        raise ValueError(f"unknown sources {unknown}; choose from {PULL_SOURCES}")
    summaries: list[PullSummary] = []
    failures: list[str] = []
    for source in chosen:
        try:
            summaries.append(PULL_FLOWS[source](workspace))
        except Exception as error:
            failures.append(f"{source}: {error}")
    publish_pull_report(summaries)
    if classify_journey:
        classify_signals(workspace, classify_journey)
    if failures:
        raise RuntimeError("some sources failed: " + "; ".join(failures))
    return summaries
