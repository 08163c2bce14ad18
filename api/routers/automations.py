"""Automations over HTTP: declare, complete, activate, pause, delete, run once, history."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, BackgroundTasks, Response, status
from pydantic import BaseModel, Field

from api.deps import Editor, SessionDep, Viewer
from api.schemas import Out
from model import repository
from model.automations import TEMPLATE_NAMES, AutomationSpec
from model.services import automations
from model.tables import Automation, AutomationRun, Workspace

router = APIRouter(prefix="/automations", tags=["automations"])


class AutomationOut(BaseModel):
    slug: str = Field(description="Unique in the workspace; names the Prefect deployment.")
    name: str = Field(description="What the team calls it.")
    description: str | None = Field(description="What it is for.")
    status: str = Field(description="draft, active, paused or invalid.")
    trigger: dict[str, Any] = Field(description="The trigger as declared.")
    filters: dict[str, Any] = Field(description="The filters as declared.")
    actions: list[dict[str, Any]] = Field(description="The actions; webhook URLs as hints only.")
    problems: list[str] = Field(description="What its check found missing (empty when ready).")
    prefect: str | None = Field(description="Its Prefect deployment, or why there is none.")
    last_success_at: datetime | None = Field(description="End of the last successful run.")


class RunOut(Out):
    id: int = Field(description="The run's id.")
    cause: str = Field(description="schedule, item_created, threshold, webhook, manual...")
    state: str = Field(description="pending, running, succeeded, failed or skipped.")
    requested_at: datetime = Field(description="When its cause happened (UTC).")
    finished_at: datetime | None = Field(description="When it ended.")
    flow_run_id: str | None = Field(description="The Prefect flow run that ran it.")
    context: dict[str, Any] = Field(description="What fired it (item, delivery, step).")
    results: list[dict[str, Any]] = Field(description="What each action did, in order.")
    error: str | None = Field(description="Why it failed.")


class FromTemplate(BaseModel):
    template: str = Field(description="One of: " + ", ".join(TEMPLATE_NAMES))
    journey: str | None = Field(default=None, description="The journey it is about (slug).")
    name: str | None = Field(default=None, max_length=200, description="Another name.")


def _out(session: Any, automation: Automation) -> AutomationOut:
    public = automations.public_spec(automation)
    return AutomationOut(
        slug=automation.slug,
        name=automation.name,
        description=automation.description,
        status=automation.status,
        trigger=public["trigger"],
        filters=public["filters"],
        actions=public["actions"],
        problems=automations.check(session, automation) if automation.status != "active" else [],
        prefect=automation.prefect_note,
        last_success_at=automation.last_success_at,
    )


def _sync(session: Any, automation: Automation) -> None:
    from deployments.automations import keep_in_step

    keep_in_step(automation, session.get_one(Workspace, automation.workspace_id).slug)
    session.flush()


@router.get("", response_model=list[AutomationOut], summary="List automations")
def list_automations(session: SessionDep, caller: Viewer) -> list[AutomationOut]:
    return [_out(session, a) for a in repository.automations(session, caller.workspace_id)]


@router.put(
    "",
    response_model=AutomationOut,
    summary="Create an automation (a draft) or replace the one with the same slug",
)
def put_automation(
    body: AutomationSpec, session: SessionDep, caller: Editor, response: Response
) -> AutomationOut:
    workspace = session.get_one(Workspace, caller.workspace_id)
    automation, created = automations.save(session, workspace, body, caller.actor)
    if automation.status != "draft" or automation.deployment_id:
        _sync(session, automation)
    response.status_code = status.HTTP_201_CREATED if created else status.HTTP_200_OK
    return _out(session, automation)


@router.post(
    "/from-template",
    response_model=AutomationOut,
    status_code=status.HTTP_201_CREATED,
    summary="Create a draft automation from a template",
)
def from_template(body: FromTemplate, session: SessionDep, caller: Editor) -> AutomationOut:
    workspace = session.get_one(Workspace, caller.workspace_id)
    automation = automations.from_template(
        session, workspace, body.template, caller.actor, journey=body.journey, name=body.name
    )
    return _out(session, automation)


@router.get("/{slug}", response_model=AutomationOut, summary="Show an automation")
def get_automation(slug: str, session: SessionDep, caller: Viewer) -> AutomationOut:
    return _out(session, automations.get_automation(session, caller.workspace_id, slug))


@router.post(
    "/{slug}/activate",
    response_model=AutomationOut,
    summary="Check and activate (409 with what is missing); its deployment follows",
)
def activate(slug: str, session: SessionDep, caller: Editor) -> AutomationOut:
    automation = automations.get_automation(session, caller.workspace_id, slug)
    automations.activate(session, automation, caller.actor)
    _sync(session, automation)
    return _out(session, automation)


@router.post("/{slug}/pause", response_model=AutomationOut, summary="Pause; its deployment too")
def pause(slug: str, session: SessionDep, caller: Editor) -> AutomationOut:
    automation = automations.get_automation(session, caller.workspace_id, slug)
    automations.pause(session, automation, caller.actor)
    _sync(session, automation)
    return _out(session, automation)


@router.delete(
    "/{slug}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Delete an automation, its runs and its Prefect deployment",
)
def delete(slug: str, session: SessionDep, caller: Editor) -> Response:
    from deployments.automations import delete as delete_with_deployment

    delete_with_deployment(session, automations.get_automation(session, caller.workspace_id, slug))
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/{slug}/run",
    response_model=RunOut,
    status_code=status.HTTP_202_ACCEPTED,
    summary="Run once now: on its deployment, else the dispatcher starts it",
)
def run_once(
    slug: str, session: SessionDep, caller: Editor, background: BackgroundTasks
) -> AutomationRun:
    automation = automations.get_automation(session, caller.workspace_id, slug)
    run = automations.request_manual_run(session, automation, caller.actor)
    if automation.deployment_id and automations.prefect_configured():
        from deployments.automations import run_now

        workspace = session.get_one(Workspace, caller.workspace_id).slug
        background.add_task(run_now, workspace, slug, run.id)
    return run


@router.get("/{slug}/runs", response_model=list[RunOut], summary="The run history, newest first")
def runs(slug: str, session: SessionDep, caller: Viewer) -> list[AutomationRun]:
    automation = automations.get_automation(session, caller.workspace_id, slug)
    return list(repository.automation_runs(session, automation.id, 50))
