"""Journeys, their ordered stages and steps, and personas."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from sqlalchemy.orm import Session

from model import repository
from model.errors import Conflict, InvalidInput, NotFound
from model.schemas import JourneySpec, PersonaSpec, StageSpec, StepSpec
from model.services import history
from model.slugs import slugify
from model.tables import Journey, JourneyPersona, Persona, Stage, Step, Workspace


class Positioned(Protocol):
    position: int


def place_in_order(session: Session, rows: Sequence[Positioned]) -> None:
    """Give ``rows`` the positions 0..n-1 in list order, never clashing mid-way.

    Positions are unique per parent, so rows first move past every position in use and then
    land on their final place: each UPDATE is valid on its own, on SQLite and PostgreSQL.
    """
    if all(row.position == index for index, row in enumerate(rows)):
        return
    offset = past_every_position(rows)
    for index, row in enumerate(rows):
        row.position = offset + index
    session.flush()
    for index, row in enumerate(rows):
        row.position = index
    session.flush()


def past_every_position(rows: Sequence[Positioned]) -> int:
    """A position no sibling holds, where a new or moving row can wait before ordering."""
    return max([row.position for row in rows] + [len(rows)]) + 1


def _insert_at(rows: list[Any], row: Any, position: int | None) -> None:
    if position is None or position >= len(rows):
        rows.append(row)
    elif position < 0:
        raise InvalidInput("position: must be 0 or more", field="position")
    else:
        rows.insert(position, row)


# Journeys -----------------------------------------------------------------------------------


def create_journey(
    session: Session, workspace: Workspace, spec: JourneySpec, actor: str
) -> Journey:
    """Create a journey; its slug comes from its name unless given."""
    slug = spec.slug or slugify(spec.name)
    if not slug:
        raise InvalidInput("name: needs at least one letter or digit to make a slug", field="name")
    if repository.journey_by_slug(session, workspace.id, slug) is not None:
        raise Conflict(f"slug: a journey with slug {slug!r} exists in this workspace", field="slug")
    journey = Journey(
        workspace_id=workspace.id,
        name=spec.name,
        slug=slug,
        description=spec.description,
        linear_team_key=spec.linear_team_key,
        jira_project_key=spec.jira_project_key,
    )
    session.add(journey)
    session.flush()
    history.record(
        session,
        workspace_id=workspace.id,
        journey_id=journey.id,
        entity="journey",
        entity_id=journey.id,
        action="created",
        summary=f"created journey {journey.name!r}",
        actor=actor,
    )
    return journey


def get_journey(session: Session, workspace_id: int, slug: str) -> Journey:
    journey = repository.journey_by_slug(session, workspace_id, slug)
    if journey is None:
        raise NotFound(f"no journey with slug {slug!r} in this workspace")
    return journey


def update_journey(
    session: Session, journey: Journey, changes: dict[str, Any], actor: str
) -> dict[str, tuple[Any, Any]]:
    """Change a journey's fields; returns what changed."""
    current = {
        "name": journey.name,
        "slug": journey.slug,
        "description": journey.description,
        "linear_team_key": journey.linear_team_key,
        "jira_project_key": journey.jira_project_key,
    }
    spec = JourneySpec.model_validate({**current, **changes})
    wanted = spec.model_dump(include=set(changes))
    changed = history.diff(current, wanted)
    if "slug" in changed:
        other = repository.journey_by_slug(session, journey.workspace_id, wanted["slug"])
        if other is not None and other.id != journey.id:
            raise Conflict(f"slug: {wanted['slug']!r} is taken in this workspace", field="slug")
    if not changed:
        return {}
    for field, (_, new) in changed.items():
        setattr(journey, field, new)
    session.flush()
    history.record(
        session,
        workspace_id=journey.workspace_id,
        journey_id=journey.id,
        entity="journey",
        entity_id=journey.id,
        action="updated",
        summary=f"updated journey {journey.name!r}: {', '.join(changed)}",
        actor=actor,
        changes=changed,
    )
    return changed


def delete_journey(session: Session, journey: Journey, actor: str) -> None:
    """Delete a journey with its stages, steps and placements; the items stay."""
    history.record(
        session,
        workspace_id=journey.workspace_id,
        journey_id=journey.id,
        entity="journey",
        entity_id=journey.id,
        action="deleted",
        summary=f"deleted journey {journey.name!r}",
        actor=actor,
    )
    session.delete(journey)
    session.flush()


def link_persona(session: Session, journey: Journey, persona: Persona, actor: str) -> bool:
    """Link a persona to a journey; returns False when it was linked already."""
    if persona.workspace_id != journey.workspace_id:
        raise NotFound(f"no persona {persona.name!r} in this workspace")
    if session.get(JourneyPersona, (journey.id, persona.id)) is not None:
        return False
    session.add(JourneyPersona(journey_id=journey.id, persona_id=persona.id))
    session.flush()
    history.record(
        session,
        workspace_id=journey.workspace_id,
        journey_id=journey.id,
        entity="journey",
        entity_id=journey.id,
        action="linked",
        summary=f"linked persona {persona.name!r}",
        actor=actor,
    )
    return True


# Stages -------------------------------------------------------------------------------------


def add_stage(
    session: Session, journey: Journey, spec: StageSpec, actor: str, position: int | None = None
) -> Stage:
    """Add a stage at ``position`` (default: last); later stages move down one."""
    stages = repository.stages_of(session, journey.id)
    if any(stage.name == spec.name for stage in stages):
        raise Conflict(f"name: the journey has a stage named {spec.name!r} already", field="name")
    stage = Stage(
        journey_id=journey.id,
        name=spec.name,
        description=spec.description,
        position=past_every_position(stages),
    )
    session.add(stage)
    session.flush()
    _insert_at(stages, stage, position)
    place_in_order(session, stages)
    _journey_event(
        session, journey, "stage", stage.id, "created", f"added stage {stage.name!r}", actor
    )
    return stage


def move_stage(session: Session, stage: Stage, position: int, actor: str) -> None:
    """Move a stage to ``position`` within its journey; positions stay dense."""
    stages = [s for s in repository.stages_of(session, stage.journey_id) if s.id != stage.id]
    _insert_at(stages, stage, position)
    before = stage.position
    place_in_order(session, stages)
    if stage.position != before:
        journey = session.get_one(Journey, stage.journey_id)
        _journey_event(
            session,
            journey,
            "stage",
            stage.id,
            "moved",
            f"moved stage {stage.name!r} to position {stage.position}",
            actor,
            {"position": (before, stage.position)},
        )


def update_stage(session: Session, stage: Stage, spec: StageSpec, actor: str) -> None:
    """Rename or describe a stage."""
    changed = history.diff(
        {"name": stage.name, "description": stage.description}, spec.model_dump()
    )
    if "name" in changed and any(
        s.name == spec.name for s in repository.stages_of(session, stage.journey_id)
    ):
        raise Conflict(f"name: the journey has a stage named {spec.name!r} already", field="name")
    if not changed:
        return
    stage.name, stage.description = spec.name, spec.description
    session.flush()
    journey = session.get_one(Journey, stage.journey_id)
    _journey_event(
        session,
        journey,
        "stage",
        stage.id,
        "updated",
        f"updated stage {stage.name!r}",
        actor,
        changed,
    )


def delete_stage(session: Session, stage: Stage, actor: str) -> None:
    """Delete a stage with its steps; the remaining stages close the gap."""
    journey = session.get_one(Journey, stage.journey_id)
    _journey_event(
        session, journey, "stage", stage.id, "deleted", f"deleted stage {stage.name!r}", actor
    )
    session.delete(stage)
    session.flush()
    place_in_order(session, repository.stages_of(session, journey.id))


# Steps --------------------------------------------------------------------------------------


def add_step(
    session: Session, stage: Stage, spec: StepSpec, actor: str, position: int | None = None
) -> Step:
    """Add a step to a stage at ``position`` (default: last)."""
    steps = repository.steps_of(session, stage.id)
    if any(step.name == spec.name for step in steps):
        raise Conflict(f"name: the stage has a step named {spec.name!r} already", field="name")
    step = Step(
        journey_id=stage.journey_id,
        stage_id=stage.id,
        name=spec.name,
        description=spec.description,
        reached_when=spec.reached_when,
        position=past_every_position(steps),
    )
    session.add(step)
    session.flush()
    _insert_at(steps, step, position)
    place_in_order(session, steps)
    journey = session.get_one(Journey, stage.journey_id)
    _journey_event(session, journey, "step", step.id, "created", f"added step {step.name!r}", actor)
    return step


def move_step(
    session: Session,
    step: Step,
    actor: str,
    *,
    stage_id: int | None = None,
    position: int | None = None,
) -> None:
    """Move a step within its stage, or to another stage of the same journey."""
    target_id = stage_id if stage_id is not None else step.stage_id
    target = repository.stage_in_journey(session, step.journey_id, target_id)
    if target is None:
        raise InvalidInput(
            f"stage_id: stage {target_id} is not a stage of this step's journey; "
            "a step can only move between stages of its own journey",
            field="stage_id",
        )
    if target.id != step.stage_id and any(
        s.name == step.name for s in repository.steps_of(session, target.id)
    ):
        raise Conflict(
            f"name: stage {target.name!r} has a step named {step.name!r} already", field="name"
        )
    before = (step.stage_id, step.position)
    source_steps = [s for s in repository.steps_of(session, step.stage_id) if s.id != step.id]
    target_steps = (
        source_steps if target.id == step.stage_id else repository.steps_of(session, target.id)
    )
    _insert_at(target_steps, step, position)
    if target.id != step.stage_id:
        # Park the step past every position of its new stage before it changes stage.
        step.position = past_every_position(target_steps)
        step.stage_id = target.id
        session.flush()
        place_in_order(session, source_steps)
    place_in_order(session, target_steps)
    if (step.stage_id, step.position) != before:
        journey = session.get_one(Journey, step.journey_id)
        _journey_event(
            session,
            journey,
            "step",
            step.id,
            "moved",
            f"moved step {step.name!r} to stage {target.name!r} position {step.position}",
            actor,
            {"stage_id": (before[0], step.stage_id), "position": (before[1], step.position)},
        )


def update_step(session: Session, step: Step, spec: StepSpec, actor: str) -> None:
    """Rename or describe a step."""
    changed = history.diff(
        {"name": step.name, "description": step.description, "reached_when": step.reached_when},
        spec.model_dump(),
    )
    if "name" in changed and any(
        s.name == spec.name for s in repository.steps_of(session, step.stage_id)
    ):
        raise Conflict(f"name: the stage has a step named {spec.name!r} already", field="name")
    if not changed:
        return
    step.name, step.description, step.reached_when = spec.name, spec.description, spec.reached_when
    session.flush()
    journey = session.get_one(Journey, step.journey_id)
    _journey_event(
        session, journey, "step", step.id, "updated", f"updated step {step.name!r}", actor, changed
    )


def delete_step(session: Session, step: Step, actor: str) -> None:
    """Delete a step and its placements; the items stay in the workspace."""
    journey = session.get_one(Journey, step.journey_id)
    stage_id = step.stage_id
    _journey_event(
        session, journey, "step", step.id, "deleted", f"deleted step {step.name!r}", actor
    )
    session.delete(step)
    session.flush()
    place_in_order(session, repository.steps_of(session, stage_id))


def _journey_event(
    session: Session,
    journey: Journey,
    entity: str,
    entity_id: int,
    action: str,
    summary: str,
    actor: str,
    changes: dict[str, tuple[Any, Any]] | None = None,
) -> None:
    history.record(
        session,
        workspace_id=journey.workspace_id,
        journey_id=journey.id,
        entity=entity,
        entity_id=entity_id,
        action=action,
        summary=summary,
        actor=actor,
        changes=changes,
    )


# Personas -----------------------------------------------------------------------------------


def upsert_persona(
    session: Session, workspace: Workspace, spec: PersonaSpec
) -> tuple[Persona, bool]:
    """Create the persona or update it by name; returns it and whether anything changed."""
    persona = repository.persona_by_name(session, workspace.id, spec.name)
    wanted = spec.model_dump()
    if persona is None:
        persona = Persona(workspace_id=workspace.id, **wanted)
        session.add(persona)
        session.flush()
        return persona, True
    current = {field: getattr(persona, field) for field in wanted}
    changed = history.diff(current, wanted)
    for field, (_, new) in changed.items():
        setattr(persona, field, new)
    session.flush()
    return persona, bool(changed)


def get_persona(session: Session, workspace_id: int, name: str) -> Persona:
    persona = repository.persona_by_name(session, workspace_id, name)
    if persona is None:
        raise NotFound(f"persona {name!r} does not exist in this workspace; add it first")
    return persona
