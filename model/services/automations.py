"""Automations: declared, checked, activated, paused, and requested to run.

A run is requested by writing an ``AutomationRun`` row in the same transaction as its cause
(an item change, a processed webhook delivery, a step's evidence crossing a threshold, a
person asking), deduplicated on the cause. After the commit an event tells Prefect, whose
deployment trigger starts the run; a run whose event was lost is started by the dispatcher.
So a cause runs an automation once: never lost, never twice.

Item changes are seen through the change history every item write already appends: a session
made by ``model.db`` collects the new entries as they flush and matches them against the
workspace's active automations just before it commits (``watch``).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from pydantic import TypeAdapter, ValidationError
from sqlalchemy import event
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from model import repository
from model.automations import (
    TEMPLATE_NAMES,
    Action,
    AutomationSpec,
    ClassifyAction,
    Filters,
    ItemTrigger,
    MessageAction,
    ScheduleTrigger,
    ThresholdTrigger,
    TicketAction,
    Trigger,
    UpdateJourneyAction,
    WebhookTrigger,
    templates,
)
from model.base import utcnow
from model.errors import Conflict, InvalidInput, NotFound
from model.services import webhook_secrets
from model.settings import Settings, get_settings
from model.slugs import slugify
from model.tables import (
    Automation,
    AutomationRun,
    ChangeEvent,
    Journey,
    WebhookDelivery,
    Workspace,
)

log = logging.getLogger(__name__)

_TRIGGER = TypeAdapter(Trigger)
_ACTION = TypeAdapter(Action)
# Kept with a stored message action instead of its URL.
SECRET_FIELDS = ("webhook_url_encrypted", "webhook_url_hint")
ITEM_TRIGGER_KINDS = ("item_created", "item_updated", "status_changed", "threshold")
ITEM_ACTIONS = ("created", "updated", "status_changed")
EVENT_NAME = "journeyops.automation.triggered"


# Reading the stored spec --------------------------------------------------------------------


def trigger_of(automation: Automation) -> Any:
    return _TRIGGER.validate_python(automation.trigger)


def filters_of(automation: Automation) -> Filters:
    return Filters.model_validate(automation.filters or {})


def actions_of(automation: Automation) -> list[Any]:
    """The actions as validated specs (a message action's URL stays encrypted in the row)."""
    return [
        _ACTION.validate_python({k: v for k, v in data.items() if k not in SECRET_FIELDS})
        for data in automation.actions
    ]


def public_spec(automation: Automation) -> dict[str, Any]:
    """The automation as a file would declare it; URLs show as their hint only."""
    actions = []
    for data in automation.actions:
        shown = {k: v for k, v in data.items() if k != "webhook_url_encrypted"}
        actions.append(shown)
    return {
        "name": automation.name,
        "slug": automation.slug,
        "description": automation.description,
        "trigger": automation.trigger,
        "filters": automation.filters,
        "actions": actions,
    }


def describe_trigger(automation: Automation) -> str:
    return str(trigger_of(automation).describe())


# Declaring ----------------------------------------------------------------------------------


def _hint(url: str) -> str:
    return url.split("://", 1)[-1].split("/", 1)[0] + "/..." + url[-4:]


def _stored_actions(spec: AutomationSpec, previous: list[dict[str, Any]]) -> list[dict[str, Any]]:
    stored = []
    for index, action in enumerate(spec.actions):
        data = action.model_dump(mode="json", exclude_none=True)
        if isinstance(action, MessageAction):
            url = data.pop("webhook_url", None)
            if url:
                data["webhook_url_encrypted"] = webhook_secrets.encrypt(url, "webhook_url")
                data["webhook_url_hint"] = _hint(url)
            elif index < len(previous):
                # An edit that leaves the URL out keeps the one stored for the same channel.
                before = previous[index]
                if before.get("type") == "message" and before.get("channel") == action.channel:
                    for name in SECRET_FIELDS:
                        if name in before:
                            data[name] = before[name]
        stored.append(data)
    return stored


def save(
    session: Session,
    workspace: Workspace,
    spec: AutomationSpec,
    actor: str,
    *,
    template: str | None = None,
) -> tuple[Automation, bool]:
    """Create the automation (a draft) or replace the spec of the one with the same slug.

    An active automation whose new spec fails its check becomes invalid, with the problems."""
    slug = spec.slug or slugify(spec.name)
    if not slug:
        raise InvalidInput("name: give a name with letters or digits", field="name")
    automation = repository.automation_by_slug(session, workspace.id, slug)
    created = automation is None
    if automation is None:
        automation = Automation(
            workspace_id=workspace.id, slug=slug, status="draft", created_by=actor, actions=[]
        )
        session.add(automation)
    automation.name = spec.name
    automation.description = spec.description
    automation.trigger = spec.trigger.model_dump(mode="json", exclude_none=True)
    automation.trigger_kind = spec.trigger.kind
    automation.filters = spec.filters.model_dump(mode="json", exclude_defaults=True)
    automation.actions = _stored_actions(spec, list(automation.actions or []))
    automation.template = template or automation.template
    automation.updated_by = actor
    session.flush()
    if automation.status == "active":
        problems = check(session, automation)
        automation.problems = problems
        if problems:
            automation.status = "invalid"
    return automation, created


def parse_spec(data: Any) -> AutomationSpec:
    """Validate a file's or a request's automation; the error names the field to fix."""
    if not isinstance(data, dict):
        raise InvalidInput("an automation is a mapping with name, trigger and actions")
    try:
        return AutomationSpec.model_validate(data)
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "automation"
        raise InvalidInput(f"{where}: {first['msg']}", field=where) from None


def from_template(
    session: Session,
    workspace: Workspace,
    template: str,
    actor: str,
    *,
    journey: str | None = None,
    name: str | None = None,
) -> Automation:
    """A draft automation from one of the templates, to complete and activate."""
    if template not in TEMPLATE_NAMES:
        raise InvalidInput(
            f"template: {template!r} is not one of {', '.join(TEMPLATE_NAMES)}", field="template"
        )
    data = templates(journey)[template]
    if name:
        data["name"] = name
    spec = parse_spec(data)
    slug = spec.slug or slugify(spec.name)
    if repository.automation_by_slug(session, workspace.id, slug) is not None:
        raise Conflict(
            f"name: an automation {slug!r} exists; give the new one another name", field="name"
        )
    automation, _ = save(session, workspace, spec, actor, template=template)
    return automation


def set_webhook_url(
    session: Session, automation: Automation, number: int, url: str, actor: str
) -> None:
    """Give message action ``number`` (1-based) its incoming webhook URL, stored encrypted."""
    if not 1 <= number <= len(automation.actions):
        raise InvalidInput(
            f"action: {automation.slug!r} has actions 1 to {len(automation.actions)}"
        )
    stored = dict(automation.actions[number - 1])
    if stored.get("type") != "message":
        raise InvalidInput(f"action: action {number} is a {stored.get('type')}, not a message")
    MessageAction.model_validate(
        {**{k: v for k, v in stored.items() if k not in SECRET_FIELDS}, "webhook_url": url}
    )
    stored["webhook_url_encrypted"] = webhook_secrets.encrypt(url.strip(), "webhook_url")
    stored["webhook_url_hint"] = _hint(url.strip())
    actions = list(automation.actions)
    actions[number - 1] = stored
    automation.actions, automation.updated_by = actions, actor
    session.flush()


def get_automation(session: Session, workspace_id: int, slug: str) -> Automation:
    automation = repository.automation_by_slug(session, workspace_id, slug)
    if automation is None:
        raise NotFound(f"no automation {slug!r} in this workspace")
    return automation


# Checking and status ------------------------------------------------------------------------


def journey_of(action: Any, filters: Filters) -> str | None:
    name = getattr(action, "journey", None)
    if name:
        return str(name)
    return filters.journeys[0] if len(filters.journeys) == 1 else None


def _tracker_problem(tracker: str, settings: Settings) -> str | None:
    if tracker == "linear" and settings.linear.api_key is None:
        return "set JOURNEYOPS_LINEAR__API_KEY"
    jira = settings.jira
    if tracker == "jira" and not (jira.url and jira.email and jira.api_token):
        return "set JOURNEYOPS_JIRA__URL, JOURNEYOPS_JIRA__EMAIL and JOURNEYOPS_JIRA__API_TOKEN"
    return None


def check(session: Session, automation: Automation, settings: Settings | None = None) -> list[str]:
    """What stops the automation from running as declared; empty when it is ready."""
    settings = settings or get_settings()
    problems: list[str] = []
    trigger = trigger_of(automation)
    filters = filters_of(automation)
    if isinstance(trigger, ScheduleTrigger) and trigger.every == "weekly" and not trigger.weekdays:
        problems.append("trigger: a weekly schedule needs weekdays (mon..sun)")
    for slug in filters.journeys:
        if repository.journey_by_slug(session, automation.workspace_id, slug) is None:
            problems.append(f"filters.journeys: no journey {slug!r} in this workspace")
    item_trigger = isinstance(trigger, ItemTrigger) or (
        isinstance(trigger, ThresholdTrigger) and not trigger.on_evidence
    )
    for number, (action, stored) in enumerate(
        zip(actions_of(automation), automation.actions, strict=True), start=1
    ):
        where = f"action {number} ({action.type})"
        journey_slug = journey_of(action, filters)
        journey = (
            repository.journey_by_slug(session, automation.workspace_id, journey_slug)
            if journey_slug
            else None
        )
        needs_journey = isinstance(action, ClassifyAction | UpdateJourneyAction) or (
            getattr(action, "step", None) is not None
        )
        if needs_journey and journey_slug is None:
            problems.append(f"{where}: name a journey (or filter on exactly one)")
        elif journey_slug and journey is None:
            problems.append(f"{where}: no journey {journey_slug!r} in this workspace")
        step = getattr(action, "step", None)
        if (
            step
            and journey is not None
            and repository.step_by_name(session, journey.id, step) is None
        ):
            problems.append(f"{where}: journey {journey_slug!r} has no step {step!r}")
        if action.type == "pull":
            enabled = {
                c.source
                for c in repository.source_configs(session, automation.workspace_id)
                if c.enabled
            }
            missing = sorted(set(action.sources) - enabled) if action.sources else []
            if not enabled or missing:
                problems.append(
                    f"{where}: enable the source(s) {missing or 'to pull'} with "
                    "`journeyops source set`"
                )
        if action.type == "analytics" and action.measure == "event_volume" and not action.event:
            problems.append(f"{where}: name the PostHog event to watch")
        if isinstance(action, TicketAction):
            problem = _tracker_problem(action.tracker, settings)
            if problem:
                problems.append(f"{where}: {problem}")
            if action.step is None and not item_trigger:
                problems.append(
                    f"{where}: only an item trigger has an item to ticket; name a step instead"
                )
        if isinstance(action, MessageAction):
            encrypted = stored.get("webhook_url_encrypted")
            if not encrypted:
                problems.append(f"{where}: give the {action.channel} incoming webhook URL")
            elif webhook_secrets.decrypt(encrypted) is None:
                problems.append(
                    f"{where}: the stored webhook URL cannot be read with the current "
                    "JOURNEYOPS_WEBHOOKS__ENCRYPTION_KEY; give the URL again"
                )
            if action.draft == "template" and not action.template:
                problems.append(f"{where}: write a template, or set draft: llm")
            if action.template and "{pulse}" in action.template and journey_slug is None:
                problems.append(f"{where}: {{pulse}} needs a journey (or filter on exactly one)")
        if (
            isinstance(action, UpdateJourneyAction)
            or (isinstance(action, MessageAction) and action.draft == "llm")
        ) and not settings.classify.llm_model:
            problems.append(f"{where}: set JOURNEYOPS_CLASSIFY__LLM_MODEL for LLM drafting")
    return problems


def activate(session: Session, automation: Automation, actor: str) -> None:
    """Make the automation run on its trigger, if its check passes; else say what is missing."""
    problems = check(session, automation)
    if problems:
        raise Conflict(
            f"automation {automation.slug!r} cannot be activated: " + "; ".join(problems),
            field="status",
        )
    automation.status, automation.problems, automation.updated_by = "active", [], actor
    session.flush()


def pause(session: Session, automation: Automation, actor: str) -> None:
    if automation.status != "active":
        raise Conflict(
            f"automation {automation.slug!r} is {automation.status}; only an active one pauses",
            field="status",
        )
    automation.status, automation.updated_by = "paused", actor
    session.flush()


def mark_invalid(session: Session, automation: Automation, problems: list[str]) -> None:
    automation.status, automation.problems = "invalid", problems
    session.flush()


def delete(session: Session, automation: Automation) -> None:
    session.delete(automation)
    session.flush()


def deployment_name(workspace_slug: str, automation_slug: str) -> str:
    """The Prefect deployment of an automation, as the UI lists it under run-automation."""
    return f"{workspace_slug}-{automation_slug}"[:200]


# Requesting runs ----------------------------------------------------------------------------

_PENDING_ANNOUNCE = "journeyops.automation_runs_requested"
_ITEM_CHANGES = "journeyops.item_changes"


def request_run(
    session: Session,
    automation: Automation,
    cause: str,
    dedupe_key: str,
    context: dict[str, Any] | None = None,
) -> AutomationRun | None:
    """Record that the automation should run for this cause; None if it already was."""
    if repository.automation_run_by_key(session, automation.id, dedupe_key) is not None:
        return None
    run = AutomationRun(
        workspace_id=automation.workspace_id,
        automation_id=automation.id,
        cause=cause,
        dedupe_key=dedupe_key[:200],
        context=context or {},
        state="pending",
        results=[],
    )
    try:
        with session.begin_nested():
            session.add(run)
            session.flush()
    except IntegrityError:  # another transaction requested it at the same moment
        return None
    session.info.setdefault(_PENDING_ANNOUNCE, []).append(
        (run.id, automation.id, automation.name, cause, dict(run.context))
    )
    return run


def request_manual_run(session: Session, automation: Automation, actor: str) -> AutomationRun:
    """Run once, now, whatever the status (a draft that passes its check may be tried)."""
    problems = check(session, automation)
    if problems:
        raise Conflict(
            f"automation {automation.slug!r} cannot run: " + "; ".join(problems), field="status"
        )
    run = request_run(
        session,
        automation,
        "manual",
        f"manual:{utcnow().isoformat()}:{os.urandom(4).hex()}",
        {"requested_by": actor},
    )
    assert run is not None
    return run


@dataclass
class _Change:
    event_id: int
    workspace_id: int
    item_id: int
    action: str
    changes: dict[str, list[Any]] = field(default_factory=dict)


MATCHED_FIELDS = ("type", "status", "impact", "effort", "priority", "severity", "owner", "title")


def matched_values(item: Any) -> dict[str, Any]:
    """The fields of an item that triggers and filters look at."""
    return {name: getattr(item, name) for name in MATCHED_FIELDS}


def _fires(trigger: Any, change: _Change, values: dict[str, Any]) -> bool:
    if isinstance(trigger, ItemTrigger):
        if trigger.kind == "item_created":
            return change.action == "created"
        if trigger.kind == "item_updated":
            return change.action in ("updated", "status_changed")
        if "status" not in change.changes:
            return False
        return trigger.to_status is None or values.get("status") == trigger.to_status
    if isinstance(trigger, ThresholdTrigger) and not trigger.on_evidence:
        if not trigger.holds(values):
            return False
        if change.action == "created":
            return True
        before = {**values, **{name: old for name, (old, _new) in change.changes.items()}}
        return not trigger.holds(before)
    return False


def match_item_changes(session: Session, changes: Sequence[_Change]) -> list[AutomationRun]:
    """Request the runs the item changes of one transaction fire (at most one per change and
    automation)."""
    workspace_ids = sorted({c.workspace_id for c in changes})
    candidates = repository.active_automations(session, workspace_ids, ITEM_TRIGGER_KINDS)
    if not candidates:
        return []
    item_ids = sorted({c.item_id for c in changes})
    found = repository.items_by_ids(session, item_ids)
    journeys = repository.journey_slugs_of_items(session, item_ids)
    requested = []
    for change in changes:
        item = found.get(change.item_id)
        if item is None:
            continue
        values = matched_values(item)
        for automation in candidates:
            if automation.workspace_id != change.workspace_id:
                continue
            trigger = trigger_of(automation)
            if not _fires(trigger, change, values):
                continue
            if not filters_of(automation).admits(
                values, journeys.get(item.id, set()), set(change.changes)
            ):
                continue
            cause = "threshold" if isinstance(trigger, ThresholdTrigger) else trigger.kind
            run = request_run(
                session,
                automation,
                cause,
                f"change:{change.event_id}",
                {"item_id": item.id, "item_key": item.key, "item_title": item.title},
            )
            if run is not None:
                requested.append(run)
    return requested


@dataclass
class DeliveryMatcher:
    """Requests the runs processed webhook deliveries fire; loads each workspace's webhook
    automations once per drain."""

    session: Session
    _loaded: dict[int, Sequence[Automation]] = field(default_factory=dict)

    def __call__(self, delivery: WebhookDelivery) -> list[AutomationRun]:
        if delivery.workspace_id not in self._loaded:
            self._loaded[delivery.workspace_id] = repository.active_automations(
                self.session, [delivery.workspace_id], ["webhook"]
            )
        requested = []
        for automation in self._loaded[delivery.workspace_id]:
            trigger = trigger_of(automation)
            assert isinstance(trigger, WebhookTrigger)
            if trigger.provider != delivery.provider:
                continue
            if trigger.event_types and delivery.event_type not in trigger.event_types:
                continue
            run = request_run(
                self.session,
                automation,
                "webhook",
                f"delivery:{delivery.id}",
                {
                    "delivery_id": delivery.id,
                    "provider": delivery.provider,
                    "event_type": delivery.event_type,
                },
            )
            if run is not None:
                requested.append(run)
        return requested


def match_evidence(
    session: Session, workspace_id: int, journey_id: int, now: datetime | None = None
) -> list[AutomationRun]:
    """Request runs for steps whose evidence within a window reached an automation's
    threshold; each step fires once per window."""
    now = now or utcnow()
    journey = session.get(Journey, journey_id)
    if journey is None or journey.workspace_id != workspace_id:
        return []
    requested = []
    counts_by_window: dict[int, dict[int, int]] = {}
    for automation in repository.active_automations(session, [workspace_id], ["threshold"]):
        trigger = trigger_of(automation)
        assert isinstance(trigger, ThresholdTrigger)
        if not trigger.on_evidence:
            continue
        filters = filters_of(automation)
        if filters.journeys and journey.slug not in filters.journeys:
            continue
        window = timedelta(days=trigger.window_days)
        if trigger.window_days not in counts_by_window:
            counts_by_window[trigger.window_days] = repository.placed_signal_counts(
                session, journey_id, now - window
            )
        counts = counts_by_window[trigger.window_days]
        bucket = int(now.timestamp() // window.total_seconds())
        for step_id, count in sorted(counts.items()):
            if count < (trigger.evidence_at_least or 0):
                continue
            run = request_run(
                session,
                automation,
                "threshold",
                f"evidence:{step_id}:{bucket}",
                {"step_id": step_id, "journey": journey.slug, "evidence": count},
            )
            if run is not None:
                requested.append(run)
    return requested


# Watching sessions --------------------------------------------------------------------------


def _collect(session: Session, _flush_context: Any) -> None:
    for obj in session.new:
        if (
            isinstance(obj, ChangeEvent)
            and obj.entity == "item"
            and obj.action in ITEM_ACTIONS
            and obj.item_id is not None
        ):
            session.info.setdefault(_ITEM_CHANGES, []).append(
                _Change(obj.id, obj.workspace_id, obj.item_id, obj.action, dict(obj.changes or {}))
            )


def _before_commit(session: Session) -> None:
    session.flush()  # history entries added since the last flush are collected by this one
    changes = session.info.pop(_ITEM_CHANGES, None)
    if changes:
        match_item_changes(session, changes)
        session.flush()


def _after_commit(session: Session) -> None:
    requested = session.info.pop(_PENDING_ANNOUNCE, None)
    if requested:
        announce(requested)


def _after_rollback(session: Session) -> None:
    session.info.pop(_ITEM_CHANGES, None)
    session.info.pop(_PENDING_ANNOUNCE, None)


def watch(maker: sessionmaker[Session]) -> None:
    """Let sessions of ``maker`` request the runs their item changes fire, and announce
    requested runs once committed."""
    event.listen(maker, "after_flush", _collect)
    event.listen(maker, "before_commit", _before_commit)
    event.listen(maker, "after_commit", _after_commit)
    event.listen(maker, "after_rollback", _after_rollback)


def prefect_configured() -> bool:
    """Whether a Prefect server is configured to tell (the embedded default has none)."""
    from prefect.settings import PREFECT_API_URL

    return bool(PREFECT_API_URL.value())


def announce(requested: list[tuple[int, int, str, str, dict[str, Any]]]) -> None:
    """Emit one Prefect event per requested run; the automation's deployment trigger starts
    it. Never raises: the run is stored, and the dispatcher starts it if the event is lost."""
    if not prefect_configured():
        return
    try:
        from prefect.events import emit_event

        for run_id, automation_id, name, cause, context in requested:
            if cause == "manual":  # started by whoever asked, on the deployment or in place
                continue
            related = []
            if context.get("item_key"):
                related.append(
                    {
                        "prefect.resource.id": f"journeyops.item.{context['item_key']}",
                        "prefect.resource.role": "item",
                        "prefect.resource.name": str(context.get("item_title") or ""),
                    }
                )
            emit_event(
                event=EVENT_NAME,
                resource={
                    "prefect.resource.id": f"journeyops.automation.{automation_id}",
                    "prefect.resource.name": name,
                },
                related=related,
                payload={"run_id": str(run_id), "cause": cause},
            )
    except Exception:
        log.exception("automations.announce_failed runs=%d", len(requested))
