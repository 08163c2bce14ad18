"""Classification tasks: place a journey's new signals, and report where they went."""

from __future__ import annotations

from prefect import task
from prefect.artifacts import create_table_artifact
from pydantic import BaseModel

from model import repository
from model.db import session_scope
from model.services import automations, classification, evidence, journeys, workspaces
from model.settings import get_settings


class ClassifySummary(BaseModel):
    workspace: str
    journey: str
    classifier: str
    placed: int
    accepted: int
    to_review: int
    examples: int
    llm_calls: int
    prompt_tokens: int
    cost_usd: float
    per_step: dict[str, int]


class GroupingSummary(BaseModel):
    attached: int
    insights_created: int
    opportunities_proposed: int


@task(name="classify-journey-signals", retries=2, retry_delay_seconds=[10, 60])
def classify_journey_signals(workspace: str, journey: str) -> ClassifySummary:
    """Place the journey's new signals; safe to retry: placed signals are not new any more."""
    with session_scope() as session:
        ws = workspaces.get_workspace(session, workspace)
        target = journeys.get_journey(session, ws.id, journey)
        report = classification.classify_journey(session, ws, target, get_settings().classify)
    return ClassifySummary(
        workspace=workspace,
        journey=journey,
        classifier=report.classifier,
        placed=report.placed,
        accepted=report.accepted,
        to_review=report.to_review,
        examples=report.examples,
        llm_calls=report.llm.calls,
        prompt_tokens=report.llm.prompt_tokens,
        cost_usd=round(report.llm.cost_usd, 6),
        per_step=dict(report.per_step.most_common()),
    )


@task(name="journeys-of-workspace")
def journey_slugs(workspace: str) -> list[str]:
    with session_scope() as session:
        ws = workspaces.get_workspace(session, workspace)
        return [journey.slug for journey in repository.journeys(session, ws.id)]


@task(name="group-evidence", retries=2, retry_delay_seconds=[10, 60])
def group_evidence(workspace: str, journey: str) -> GroupingSummary:
    """Turn placed signals into evidence on insights; attached signals are never regrouped.
    A step whose evidence reaches an automation's threshold requests that automation's run."""
    with session_scope() as session:
        ws = workspaces.get_workspace(session, workspace)
        target = journeys.get_journey(session, ws.id, journey)
        report = evidence.group_into_insights(session, ws, target, get_settings().classify)
        automations.match_evidence(session, ws.id, target.id)
    return GroupingSummary(**report.__dict__)


@task(name="publish-classify-report")
def publish_classify_report(summary: ClassifySummary) -> None:
    """Show where signals were placed as a table in the Prefect UI."""
    create_table_artifact(
        key=f"classify-{summary.workspace}-{summary.journey}".lower()[:100],
        table=[{"step": step, "signals": count} for step, count in summary.per_step.items()],
        description=(
            f"{summary.placed} signals placed by {summary.classifier}: {summary.accepted} "
            f"accepted, {summary.to_review} to review; {summary.llm_calls} LLM calls, "
            f"{summary.prompt_tokens} prompt tokens, ${summary.cost_usd:.4f}"
        ),
    )
