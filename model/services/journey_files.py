"""Journey files: the documented JSON/YAML format for importing and exporting a journey.

The smallest file is ``{"journey": name, "stages": [{"name": ..., "steps": [{"name": ...}]}]}``.
Richer files carry personas and items; items are placed by listing their keys under a step and
linked by listing target keys under ``links``. Importing matches what exists (journey by slug,
stages and steps by name, personas by name, items by key), so importing a file twice changes
nothing, and a building block shared by two journeys' files stays one item.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from sqlalchemy.orm import Session

from model import repository
from model.errors import InvalidInput, describe_validation_error
from model.schemas import (
    ItemSpec,
    JourneySpec,
    PersonaSpec,
    StageSpec,
    StepSpec,
    parse_item,
)
from model.services import history, items, journeys
from model.slugs import slugify
from model.tables import Item, Journey, Stage, Step, Workspace

FORMAT = "journeyops/v1"


class FileStep(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: str = Field(min_length=1, max_length=300)
    description: str | None = None
    reached_when: str | None = Field(default=None, max_length=500)
    items: list[str | dict[str, Any]] = Field(
        default_factory=list, description="Keys of items placed here, or whole items."
    )


class FileStage(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: str = Field(min_length=1, max_length=200)
    description: str | None = None
    steps: list[FileStep] = Field(default_factory=list)


class JourneyFile(BaseModel):
    """A journey file as read; item fields are checked per type afterwards."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    format: str | None = Field(default=None, description=f"{FORMAT} when written by journeyops.")
    journey: str = Field(min_length=1, max_length=200, description="The journey's name.")
    slug: str | None = None
    description: str | None = None
    linear_team: str | None = None
    jira_project: str | None = None
    personas: list[PersonaSpec] = Field(default_factory=list)
    stages: list[FileStage] = Field(default_factory=list)
    items: list[dict[str, Any]] = Field(default_factory=list)

    @model_validator(mode="before")
    @classmethod
    def _name_alias(cls, data: Any) -> Any:
        if isinstance(data, dict) and "journey" not in data and "name" in data:
            data = {("journey" if k == "name" else k): v for k, v in data.items()}
        return data


@dataclass
class ImportReport:
    """What an import did, counted per kind of thing."""

    journey_slug: str = ""
    counts: dict[str, Counter[str]] = field(default_factory=dict)

    def count(self, kind: str, outcome: str) -> None:
        self.counts.setdefault(kind, Counter())[outcome] += 1

    @property
    def changed(self) -> bool:
        return any(c["created"] or c["updated"] for c in self.counts.values())

    def lines(self) -> list[str]:
        return [
            f"{kind}: {c['created']} created, {c['updated']} updated, {c['unchanged']} unchanged"
            for kind, c in self.counts.items()
        ]


def load_file(path: Path) -> dict[str, Any]:
    """Read a journey file in JSON or YAML."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise InvalidInput(f"cannot read {path}: {error.strerror}") from None
    try:
        data = json.loads(text) if path.suffix.lower() == ".json" else yaml.safe_load(text)
    except (json.JSONDecodeError, yaml.YAMLError) as error:
        raise InvalidInput(
            f"{path} is not valid {path.suffix.lstrip('.') or 'YAML'}: {error}"
        ) from None
    if not isinstance(data, dict):
        raise InvalidInput(f"{path}: a journey file holds one object with a 'journey' name")
    return data


def _parse_file(
    data: dict[str, Any],
) -> tuple[JourneyFile, dict[str, ItemSpec], dict[str, list[str]]]:
    try:
        document = JourneyFile.model_validate(data)
    except ValidationError as error:
        raise InvalidInput(describe_validation_error(error, context="the journey file")) from None
    specs: dict[str, ItemSpec] = {}
    links: dict[str, list[str]] = {}

    def take(raw: dict[str, Any], where: str) -> str:
        raw = dict(raw)
        targets = raw.pop("links", [])
        try:
            spec = parse_item(raw)
        except InvalidInput as error:
            raise InvalidInput(f"{where}.{error.message}", field=error.field) from None
        if spec.key is None:
            # A derived key keeps a keyless item the same item on the next import.
            spec.key = slugify(f"{spec.type} {spec.title}", max_length=items.KEY_LENGTH)
        if spec.key in specs:
            raise InvalidInput(f"{where}.key: {spec.key!r} is used by two items in this file")
        if not isinstance(targets, list) or not all(isinstance(t, str) for t in targets):
            raise InvalidInput(f"{where}.links: must be a list of item keys")
        specs[spec.key] = spec
        links[spec.key] = targets
        return spec.key

    for index, raw in enumerate(document.items):
        take(raw, f"items[{index}]")
    for s, stage in enumerate(document.stages):
        for t, step in enumerate(stage.steps):
            for i, entry in enumerate(step.items):
                if isinstance(entry, dict):
                    step.items[i] = take(entry, f"stages[{s}].steps[{t}].items[{i}]")
    return document, specs, links


def import_journey(
    session: Session,
    workspace: Workspace,
    data: dict[str, Any],
    actor: str,
    progress: Callable[[int, int], None] | None = None,
) -> ImportReport:
    """Create or update a journey from a journey file's contents; unchanged parts stay as is."""
    document, specs, link_targets = _parse_file(data)
    report = ImportReport()
    total = len(document.personas) + len(document.stages) + len(specs) + 1
    done = 0

    def tick() -> None:
        nonlocal done
        done += 1
        if progress is not None:
            progress(done, total)

    for persona_spec in document.personas:
        persona = repository.persona_by_name(session, workspace.id, persona_spec.name)
        _, changed = journeys.upsert_persona(session, workspace, persona_spec)
        report.count(
            "personas", "created" if persona is None else "updated" if changed else "unchanged"
        )
        tick()

    journey = _import_journey_row(session, workspace, document, actor, report)
    report.journey_slug = journey.slug
    for persona_spec in document.personas:
        journeys.link_persona(
            session, journey, journeys.get_persona(session, workspace.id, persona_spec.name), actor
        )

    steps_by_key: dict[str, list[Step]] = {}
    stages_in_file: list[Stage] = []
    for stage_doc in document.stages:
        stage = _import_stage(session, journey, stage_doc, actor, report)
        stages_in_file.append(stage)
        steps_in_file = []
        for step_doc in stage_doc.steps:
            step = _import_step(session, stage, step_doc, actor, report)
            steps_in_file.append(step)
            for key in step_doc.items:
                if not isinstance(key, str):
                    continue
                if key not in specs and repository.item_by_key(session, workspace.id, key) is None:
                    raise InvalidInput(
                        f"step {step_doc.name!r} lists item {key!r}, which is neither in the "
                        "file's items nor in the workspace"
                    )
                steps_by_key.setdefault(key, []).append(step)
        _keep_order(session, journey, steps_in_file, repository.steps_of(session, stage.id), actor)
        tick()
    _keep_order(session, journey, stages_in_file, repository.stages_of(session, journey.id), actor)

    for key, spec in specs.items():
        item = _import_item(session, workspace, spec, actor, report)
        for step in steps_by_key.get(key, []):
            _, placed = items.place_item(session, item, step, actor)
            report.count("placements", "created" if placed else "unchanged")
        tick()
    for key, steps in steps_by_key.items():
        if key in specs:
            continue
        # A building block that lives in the workspace already, placed by key only.
        item = items.get_item_by_key(session, workspace.id, key)
        for step in steps:
            _, placed = items.place_item(session, item, step, actor)
            report.count("placements", "created" if placed else "unchanged")

    for source_key, targets in link_targets.items():
        for target_key in targets:
            source = items.get_item_by_key(session, workspace.id, source_key)
            target = repository.item_by_key(session, workspace.id, target_key)
            if target is None:
                raise InvalidInput(
                    f"item {source_key!r} links to {target_key!r}, which is neither in the "
                    "file's items nor in the workspace"
                )
            _, linked = items.link_items(session, source, target, actor)
            report.count("links", "created" if linked else "unchanged")
    tick()
    return report


def _import_journey_row(
    session: Session, workspace: Workspace, document: JourneyFile, actor: str, report: ImportReport
) -> Journey:
    fields: dict[str, Any] = {"name": document.journey}
    if "description" in document.model_fields_set:
        fields["description"] = document.description
    if "linear_team" in document.model_fields_set:
        fields["linear_team_key"] = document.linear_team
    if "jira_project" in document.model_fields_set:
        fields["jira_project_key"] = document.jira_project
    slug = document.slug or slugify(document.journey)
    if not slug:
        raise InvalidInput("journey: the name needs at least one letter or digit", field="journey")
    journey = repository.journey_by_slug(session, workspace.id, slug)
    if journey is None:
        spec = JourneySpec.model_validate({**fields, "slug": slug})
        report.count("journeys", "created")
        return journeys.create_journey(session, workspace, spec, actor)
    changed = journeys.update_journey(session, journey, fields, actor)
    report.count("journeys", "updated" if changed else "unchanged")
    return journey


def _import_stage(
    session: Session, journey: Journey, doc: FileStage, actor: str, report: ImportReport
) -> Stage:
    existing = {s.name: s for s in repository.stages_of(session, journey.id)}
    stage = existing.get(doc.name)
    spec = StageSpec(name=doc.name, description=doc.description)
    if stage is None:
        report.count("stages", "created")
        return journeys.add_stage(session, journey, spec, actor)
    before = stage.description
    if "description" in doc.model_fields_set and before != doc.description:
        journeys.update_stage(session, stage, spec, actor)
        report.count("stages", "updated")
    else:
        report.count("stages", "unchanged")
    return stage


def _import_step(
    session: Session, stage: Stage, doc: FileStep, actor: str, report: ImportReport
) -> Step:
    existing = {s.name: s for s in repository.steps_of(session, stage.id)}
    step = existing.get(doc.name)
    spec = StepSpec(name=doc.name, description=doc.description, reached_when=doc.reached_when)
    if step is None:
        report.count("steps", "created")
        return journeys.add_step(session, stage, spec, actor)
    if ("description" in doc.model_fields_set and step.description != doc.description) or (
        "reached_when" in doc.model_fields_set and step.reached_when != doc.reached_when
    ):
        spec = StepSpec(
            name=doc.name,
            description=doc.description
            if "description" in doc.model_fields_set
            else step.description,
            reached_when=doc.reached_when
            if "reached_when" in doc.model_fields_set
            else step.reached_when,
        )
        journeys.update_step(session, step, spec, actor)
        report.count("steps", "updated")
    else:
        report.count("steps", "unchanged")
    return step


def _keep_order(
    session: Session,
    journey: Journey,
    in_file: list[Any],
    current: list[Any],
    actor: str,
) -> None:
    """Order rows as the file lists them, with rows the file does not name after them."""
    named = {row.id for row in in_file}
    wanted = in_file + [row for row in current if row.id not in named]
    if [row.id for row in wanted] == [row.id for row in current]:
        return
    journeys.place_in_order(session, wanted)
    kind = "stage" if isinstance(wanted[0], Stage) else "step"
    history.record(
        session,
        workspace_id=journey.workspace_id,
        journey_id=journey.id,
        entity=kind,
        entity_id=wanted[0].id,
        action="reordered",
        summary=f"reordered {kind}s as the imported file lists them",
        actor=actor,
    )


def _import_item(
    session: Session, workspace: Workspace, spec: ItemSpec, actor: str, report: ImportReport
) -> Item:
    assert spec.key is not None
    item = repository.item_by_key(session, workspace.id, spec.key)
    if item is None:
        report.count("items", "created")
        return items.create_item(session, workspace, spec, actor)
    if item.type != spec.type:
        raise InvalidInput(
            f"item {spec.key!r} is a {item.type} in the workspace but a {spec.type} in the file"
        )
    fields = spec.model_fields_set - {"key", "type"}
    changes = {name: getattr(spec, name) for name in fields}
    if "external_links" in changes:
        changes["external_links"] = [
            link.model_dump(exclude_none=True) for link in spec.external_links
        ]
    changed = items.update_item(session, item, changes, actor)
    report.count("items", "updated" if changed else "unchanged")
    return items.get_item(session, workspace.id, item.id)


# Export -------------------------------------------------------------------------------------


def _compact(values: dict[str, Any]) -> dict[str, Any]:
    return {k: history.plain(v) for k, v in values.items() if v is not None and v != []}


def export_journey(session: Session, journey: Journey) -> dict[str, Any]:
    """Return the journey as a journey file: stages, steps, personas, items, placements, links."""
    stages = repository.journey_tree(session, journey.id)
    placements = repository.placements_of_journey(session, journey.id)
    keys_on_step: dict[int, list[str]] = {}
    placed: dict[int, Item] = {}
    for placement in placements:
        keys_on_step.setdefault(placement.step_id, []).append(placement.item.key)
        placed[placement.item_id] = placement.item
    links = repository.links_between(session, list(placed))
    targets: dict[int, list[str]] = {}
    for link in links:
        targets.setdefault(link.source_id, []).append(placed[link.target_id].key)

    persona_names = {p.name for p in journey.personas}
    for item in placed.values():
        persona_names.update(p.persona.name for p in item.personas)
    persona_rows = [
        p for p in repository.personas(session, journey.workspace_id) if p.name in persona_names
    ]

    document: dict[str, Any] = {
        "format": FORMAT,
        "journey": journey.name,
        "slug": journey.slug,
        "description": journey.description,
        "linear_team": journey.linear_team_key,
        "jira_project": journey.jira_project_key,
    }
    document = _compact(document)
    if persona_rows:
        document["personas"] = [
            _compact(PersonaSpec.model_validate(p, from_attributes=True).model_dump())
            for p in persona_rows
        ]
    document["stages"] = [
        _compact(
            {
                "name": stage.name,
                "description": stage.description,
                "steps": [
                    _compact(
                        {
                            "name": step.name,
                            "description": step.description,
                            "reached_when": step.reached_when,
                            "items": sorted(keys_on_step.get(step.id, [])),
                        }
                    )
                    for step in stage.steps
                ],
            }
        )
        for stage in stages
    ]
    exported_items = []
    for item in sorted(placed.values(), key=lambda i: i.key):
        values = items.item_values(item)
        values = {"key": values.pop("key"), "type": values.pop("type"), **values}
        if not values.get("machine_made"):
            values.pop("machine_made", None)
        values["links"] = sorted(targets.get(item.id, []))
        exported_items.append(_compact(values))
    if exported_items:
        document["items"] = exported_items
    return document


def dump(document: dict[str, Any], fmt: str) -> str:
    """Serialise a journey file as ``json`` or ``yaml``."""
    if fmt == "json":
        return json.dumps(document, indent=2, ensure_ascii=False) + "\n"
    if fmt == "yaml":
        return yaml.safe_dump(document, sort_keys=False, allow_unicode=True, width=100)
    raise InvalidInput(f"format: {fmt!r} is not json or yaml", field="format")
