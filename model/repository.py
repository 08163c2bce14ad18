"""Every query of the journey model lives here; nothing here commits."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    case,
    func,
    literal,
    or_,
    select,
    tuple_,
    update,
)
from sqlalchemy.orm import Session, selectinload

from model.db import dialect_insert
from model.schemas import TableQuery
from model.tables import (
    ApiToken,
    Automation,
    AutomationRun,
    ChangeEvent,
    FunnelRun,
    FunnelStep,
    Item,
    ItemLink,
    ItemPersona,
    Journey,
    LLMCacheEntry,
    Member,
    MetricPoint,
    MetricSource,
    Persona,
    Placement,
    PullRun,
    Signal,
    SignalEvidence,
    SkippedRecord,
    SourceConfig,
    SourceCursor,
    Stage,
    Step,
    TextEmbedding,
    TicketLink,
    WebhookSecret,
    Workspace,
)


def workspace_by_slug(session: Session, slug: str) -> Workspace | None:
    return session.scalar(select(Workspace).where(Workspace.slug == slug))


def workspace_revision(session: Session, workspace_id: int) -> int:
    """The workspace's committed revision (see ``model.revisions``)."""
    return session.execute(
        select(Workspace.revision).where(Workspace.id == workspace_id)
    ).scalar_one()


def bump_revisions(
    session: Session,
    *,
    workspaces: set[int],
    journeys: set[int],
    signals: set[int],
    steps: set[int],
    everything: bool = False,
) -> None:
    """Bump the revision of the workspaces these rows belong to, or of every workspace."""
    statement = update(Workspace).values(
        revision=Workspace.revision + 1,
        updated_at=Workspace.updated_at,  # a view changed, not the workspace's own settings
    )
    if not everything:
        statement = statement.where(
            or_(
                Workspace.id.in_(workspaces),
                Workspace.id.in_(select(Journey.workspace_id).where(Journey.id.in_(journeys))),
                Workspace.id.in_(select(Signal.workspace_id).where(Signal.id.in_(signals))),
                Workspace.id.in_(
                    select(Journey.workspace_id)
                    .join(Step, Step.journey_id == Journey.id)
                    .where(Step.id.in_(steps))
                ),
            )
        )
    session.execute(statement.execution_options(synchronize_session=False))


def workspaces(session: Session) -> Sequence[Workspace]:
    return session.scalars(select(Workspace).order_by(Workspace.name)).all()


def member_by_email(session: Session, workspace_id: int, email: str) -> Member | None:
    return session.scalar(
        select(Member).where(Member.workspace_id == workspace_id, Member.email == email.lower())
    )


def members(session: Session, workspace_id: int) -> Sequence[Member]:
    return session.scalars(
        select(Member).where(Member.workspace_id == workspace_id).order_by(Member.email)
    ).all()


def count_owners(session: Session, workspace_id: int) -> int:
    return (
        session.scalar(
            select(func.count())
            .select_from(Member)
            .where(Member.workspace_id == workspace_id, Member.role == "owner")
        )
        or 0
    )


def token_by_hash(session: Session, token_hash: str) -> ApiToken | None:
    return session.scalar(
        select(ApiToken)
        .where(ApiToken.token_hash == token_hash)
        .options(selectinload(ApiToken.member))
    )


def tokens(session: Session, workspace_id: int) -> Sequence[ApiToken]:
    return session.scalars(
        select(ApiToken)
        .where(ApiToken.workspace_id == workspace_id)
        .options(selectinload(ApiToken.member))
        .order_by(ApiToken.created_at, ApiToken.id)
    ).all()


def token_by_prefix(session: Session, workspace_id: int, prefix: str) -> Sequence[ApiToken]:
    return session.scalars(
        select(ApiToken).where(
            ApiToken.workspace_id == workspace_id, ApiToken.prefix.startswith(prefix)
        )
    ).all()


def persona_by_name(session: Session, workspace_id: int, name: str) -> Persona | None:
    return session.scalar(
        select(Persona).where(Persona.workspace_id == workspace_id, Persona.name == name)
    )


def personas(session: Session, workspace_id: int) -> Sequence[Persona]:
    return session.scalars(
        select(Persona).where(Persona.workspace_id == workspace_id).order_by(Persona.name)
    ).all()


def journey_by_slug(session: Session, workspace_id: int, slug: str) -> Journey | None:
    return session.scalar(
        select(Journey)
        .where(Journey.workspace_id == workspace_id, Journey.slug == slug)
        .options(selectinload(Journey.personas))
    )


def journeys(session: Session, workspace_id: int) -> Sequence[Journey]:
    return session.scalars(
        select(Journey).where(Journey.workspace_id == workspace_id).order_by(Journey.name)
    ).all()


def stages_of(session: Session, journey_id: int) -> list[Stage]:
    return list(
        session.scalars(
            select(Stage).where(Stage.journey_id == journey_id).order_by(Stage.position)
        )
    )


def steps_of(session: Session, stage_id: int) -> list[Step]:
    return list(
        session.scalars(select(Step).where(Step.stage_id == stage_id).order_by(Step.position))
    )


def stage_in_journey(session: Session, journey_id: int, stage_id: int) -> Stage | None:
    return session.scalar(select(Stage).where(Stage.id == stage_id, Stage.journey_id == journey_id))


def stage_by_id(session: Session, workspace_id: int, stage_id: int) -> Stage | None:
    return session.scalar(
        select(Stage)
        .join(Journey, Journey.id == Stage.journey_id)
        .where(Stage.id == stage_id, Journey.workspace_id == workspace_id)
    )


def step_by_id(session: Session, workspace_id: int, step_id: int) -> Step | None:
    return session.scalar(
        select(Step)
        .join(Journey, Journey.id == Step.journey_id)
        .where(Step.id == step_id, Journey.workspace_id == workspace_id)
    )


def steps_of_journey(session: Session, journey_id: int) -> Sequence[Step]:
    return session.scalars(select(Step).where(Step.journey_id == journey_id)).all()


def journey_tree(session: Session, journey_id: int) -> list[Stage]:
    """Return the journey's stages with their steps, in order."""
    return list(
        session.scalars(
            select(Stage)
            .where(Stage.journey_id == journey_id)
            .options(selectinload(Stage.steps))
            .order_by(Stage.position)
        )
    )


def _item_options() -> list[Any]:
    return [
        selectinload(Item.personas).selectinload(ItemPersona.persona),
        selectinload(Item.placements),
    ]


def item_by_key(session: Session, workspace_id: int, key: str) -> Item | None:
    return session.scalar(
        select(Item)
        .where(Item.workspace_id == workspace_id, Item.key == key)
        .options(*_item_options())
    )


def item_by_id(session: Session, workspace_id: int, item_id: int) -> Item | None:
    return session.scalar(
        select(Item)
        .where(Item.workspace_id == workspace_id, Item.id == item_id)
        .options(*_item_options())
    )


def item_keys_like(session: Session, workspace_id: int, stem: str) -> set[str]:
    return set(
        session.scalars(
            select(Item.key).where(Item.workspace_id == workspace_id, Item.key.startswith(stem))
        )
    )


def placements_of_journey(session: Session, journey_id: int) -> list[Placement]:
    """Return every placement on the journey with its item (and the item's personas)."""
    return list(
        session.scalars(
            select(Placement)
            .where(Placement.journey_id == journey_id)
            .options(
                selectinload(Placement.item).options(*_item_options()),
                selectinload(Placement.step),
            )
            .order_by(Placement.step_id, Placement.id)
        )
    )


def map_cards(session: Session, journey_id: int) -> Sequence[Any]:
    """Every placement on the journey as ``(step_id, item_id, type, title, card)``, unordered.

    ``card`` is the item's stored card (JSON text, see ``tables.render_card``): a large
    journey has tens of thousands of placements, and one text column per row costs a fraction
    of reading every field into Python only to write it out again.
    """
    placements, items = Placement.__table__.c, Item.__table__.c
    # Table columns and the connection, not mapped attributes and the session: plain rows,
    # without the ORM's result machinery.
    return (
        session.connection()
        .execute(
            select(placements.step_id, items.id, items.type, items.title, items.card)
            .join_from(Placement.__table__, Item.__table__, items.id == placements.item_id)
            .where(placements.journey_id == journey_id)
        )
        .all()
    )


def reused_items(session: Session, journey_id: int) -> set[int]:
    """Items on the journey that are placed on more than one step (of any journey)."""
    on_journey = select(Placement.item_id).where(Placement.journey_id == journey_id)
    return set(
        session.scalars(
            select(Placement.item_id)
            .where(Placement.item_id.in_(on_journey))
            .group_by(Placement.item_id)
            .having(func.count() > 1)
        )
    )


def evidence_counts(session: Session, journey_id: int) -> dict[int, int]:
    """Signals that are evidence, per item placed on the journey (items with none left out)."""
    on_journey = select(Placement.item_id).where(Placement.journey_id == journey_id)
    rows = session.execute(
        select(SignalEvidence.item_id, func.count())
        .where(SignalEvidence.item_id.in_(on_journey))
        .group_by(SignalEvidence.item_id)
    )
    return {item_id: count for item_id, count in rows}


def worst_insight_severity(session: Session, journey_id: int) -> dict[int, int]:
    """The highest severity among the insights on each step of the journey."""
    rows = session.execute(
        select(Placement.step_id, func.max(Item.severity))
        .join(Item, Item.id == Placement.item_id)
        .where(Placement.journey_id == journey_id, Item.type == "insight")
        .group_by(Placement.step_id)
    )
    return {step_id: severity for step_id, severity in rows if severity is not None}


def metric_source(session: Session, item_id: int) -> MetricSource | None:
    return session.scalar(select(MetricSource).where(MetricSource.item_id == item_id))


def metric_sources(session: Session, workspace_id: int) -> Sequence[MetricSource]:
    return session.scalars(
        select(MetricSource)
        .where(MetricSource.workspace_id == workspace_id)
        .order_by(MetricSource.item_id)
    ).all()


def metric_point(session: Session, item_id: int, period_end: datetime) -> MetricPoint | None:
    return session.scalar(
        select(MetricPoint).where(
            MetricPoint.item_id == item_id, MetricPoint.period_end == period_end
        )
    )


def metric_series(session: Session, item_id: int, limit: int = 365) -> list[MetricPoint]:
    """The metric's latest points, oldest first."""
    newest = session.scalars(
        select(MetricPoint)
        .where(MetricPoint.item_id == item_id)
        .order_by(MetricPoint.period_end.desc())
        .limit(limit)
    ).all()
    return list(reversed(newest))


def metrics_of(session: Session, workspace_id: int) -> Sequence[Item]:
    return session.scalars(
        select(Item)
        .where(Item.workspace_id == workspace_id, Item.type == "metric")
        .options(*_item_options())
        .order_by(Item.title)
    ).all()


@dataclass
class StoredFunnel:
    run: FunnelRun
    steps: list[FunnelStep]


def funnel_run(session: Session, journey_id: int, window_end: datetime) -> FunnelRun | None:
    return session.scalar(
        select(FunnelRun).where(
            FunnelRun.journey_id == journey_id, FunnelRun.window_end == window_end
        )
    )


def funnel_steps(session: Session, run_id: int) -> list[FunnelStep]:
    return list(
        session.scalars(
            select(FunnelStep).where(FunnelStep.run_id == run_id).order_by(FunnelStep.position)
        )
    )


def previous_funnel(session: Session, journey_id: int, before: datetime) -> StoredFunnel | None:
    """The latest run for a window that ended before ``before``."""
    run = session.scalar(
        select(FunnelRun)
        .where(FunnelRun.journey_id == journey_id, FunnelRun.window_end < before)
        .order_by(FunnelRun.window_end.desc())
        .limit(1)
    )
    return StoredFunnel(run, funnel_steps(session, run.id)) if run else None


def latest_funnel(session: Session, journey_id: int) -> StoredFunnel | None:
    run = session.scalar(
        select(FunnelRun)
        .where(FunnelRun.journey_id == journey_id)
        .order_by(FunnelRun.window_end.desc())
        .limit(1)
    )
    return StoredFunnel(run, funnel_steps(session, run.id)) if run else None


def funnel_history(session: Session, journey_id: int, limit: int = 12) -> list[StoredFunnel]:
    """The latest runs, oldest first."""
    runs = session.scalars(
        select(FunnelRun)
        .where(FunnelRun.journey_id == journey_id)
        .order_by(FunnelRun.window_end.desc())
        .limit(limit)
    ).all()
    return [StoredFunnel(run, funnel_steps(session, run.id)) for run in reversed(runs)]


def webhook_secret(session: Session, workspace_id: int, provider: str) -> WebhookSecret | None:
    return session.scalar(
        select(WebhookSecret).where(
            WebhookSecret.workspace_id == workspace_id, WebhookSecret.provider == provider
        )
    )


def webhook_target(
    session: Session, slug: str, provider: str
) -> tuple[int, WebhookSecret | None] | None:
    """A workspace's id and its own secret for ``provider`` (None if it has none) in one query,
    or None when there is no such workspace: a webhook delivery needs both, first thing."""
    row = session.execute(
        select(Workspace.id, WebhookSecret)
        .outerjoin(
            WebhookSecret,
            (WebhookSecret.workspace_id == Workspace.id) & (WebhookSecret.provider == provider),
        )
        .where(Workspace.slug == slug)
    ).first()
    return (row[0], row[1]) if row is not None else None


def webhook_secrets(session: Session, workspace_id: int) -> Sequence[WebhookSecret]:
    return session.scalars(
        select(WebhookSecret)
        .where(WebhookSecret.workspace_id == workspace_id)
        .order_by(WebhookSecret.provider)
    ).all()


def placement(session: Session, item_id: int, step_id: int) -> Placement | None:
    return session.scalar(
        select(Placement).where(Placement.item_id == item_id, Placement.step_id == step_id)
    )


def placements_of_item_in_journey(
    session: Session, item_id: int, journey_id: int
) -> list[Placement]:
    return list(
        session.scalars(
            select(Placement)
            .where(Placement.item_id == item_id, Placement.journey_id == journey_id)
            .options(selectinload(Placement.step))
            .order_by(Placement.id)
        )
    )


def journey_ids_of_item(session: Session, item_id: int) -> set[int]:
    return set(session.scalars(select(Placement.journey_id).where(Placement.item_id == item_id)))


def placement_count(session: Session, item_id: int) -> int:
    return (
        session.scalar(
            select(func.count()).select_from(Placement).where(Placement.item_id == item_id)
        )
        or 0
    )


def links_between(session: Session, item_ids: Sequence[int]) -> list[ItemLink]:
    """Return the links whose both ends are among ``item_ids``."""
    if not item_ids:
        return []
    return list(
        session.scalars(
            select(ItemLink)
            .where(ItemLink.source_id.in_(item_ids), ItemLink.target_id.in_(item_ids))
            .order_by(ItemLink.id)
        )
    )


def link(session: Session, source_id: int, target_id: int) -> ItemLink | None:
    return session.scalar(
        select(ItemLink).where(ItemLink.source_id == source_id, ItemLink.target_id == target_id)
    )


def item_history(session: Session, item_id: int) -> Sequence[ChangeEvent]:
    return session.scalars(
        select(ChangeEvent).where(ChangeEvent.item_id == item_id).order_by(ChangeEvent.id)
    ).all()


def journey_history(session: Session, journey_id: int) -> Sequence[ChangeEvent]:
    """Return the journey's own history and that of the items placed on it."""
    placed = select(Placement.item_id).where(Placement.journey_id == journey_id)
    events = session.scalars(
        select(ChangeEvent)
        .where(or_(ChangeEvent.journey_id == journey_id, ChangeEvent.item_id.in_(placed)))
        .order_by(ChangeEvent.id)
    ).all()
    # A link is recorded on both of its items; the journey shows it once.
    seen: set[tuple[str, int, str]] = set()
    unique = []
    for event in events:
        if event.entity == "link":
            mark = (event.entity, event.entity_id, event.action)
            if mark in seen:
                continue
            seen.add(mark)
        unique.append(event)
    return unique


def placement_counts(session: Session, item_ids: Sequence[int]) -> dict[int, int]:
    """Return how many steps each item is placed on, across all journeys."""
    if not item_ids:
        return {}
    rows = session.execute(
        select(Placement.item_id, func.count())
        .where(Placement.item_id.in_(item_ids))
        .group_by(Placement.item_id)
    )
    return {item_id: count for item_id, count in rows}


def signals_by_external_id(
    session: Session, workspace_id: int, source: str, external_ids: Sequence[str]
) -> dict[str, Signal]:
    if not external_ids:
        return {}
    rows = session.scalars(
        select(Signal).where(
            Signal.workspace_id == workspace_id,
            Signal.source == source,
            Signal.external_id.in_(external_ids),
        )
    )
    return {row.external_id: row for row in rows}


def signal_versions(
    session: Session, workspace_id: int, source: str, external_ids: Sequence[str]
) -> dict[str, str]:
    if not external_ids:
        return {}
    rows = session.execute(
        select(Signal.external_id, Signal.source_version).where(
            Signal.workspace_id == workspace_id,
            Signal.source == source,
            Signal.external_id.in_(external_ids),
        )
    )
    return {external_id: version or "" for external_id, version in rows}


def source_cursors(session: Session, workspace_id: int, source: str) -> dict[str, dict[str, Any]]:
    rows = session.scalars(
        select(SourceCursor).where(
            SourceCursor.workspace_id == workspace_id, SourceCursor.source == source
        )
    )
    return {row.stream: dict(row.value) for row in rows}


def source_config(session: Session, workspace_id: int, source: str) -> SourceConfig | None:
    return session.scalar(
        select(SourceConfig).where(
            SourceConfig.workspace_id == workspace_id, SourceConfig.source == source
        )
    )


def source_configs(session: Session, workspace_id: int) -> Sequence[SourceConfig]:
    return session.scalars(
        select(SourceConfig)
        .where(SourceConfig.workspace_id == workspace_id)
        .order_by(SourceConfig.source)
    ).all()


def pull_runs(
    session: Session, workspace_id: int, source: str | None = None, limit: int = 20
) -> Sequence[PullRun]:
    query = select(PullRun).where(PullRun.workspace_id == workspace_id)
    if source is not None:
        query = query.where(PullRun.source == source)
    return session.scalars(query.order_by(PullRun.id.desc()).limit(limit)).all()


def signals(
    session: Session,
    workspace_id: int,
    *,
    source: str | None = None,
    state: str | None = None,
    limit: int = 50,
) -> Sequence[Signal]:
    query = select(Signal).where(Signal.workspace_id == workspace_id)
    if source is not None:
        query = query.where(Signal.source == source)
    if state is not None:
        query = query.where(Signal.state == state)
    return session.scalars(
        query.order_by(Signal.occurred_at.desc(), Signal.id.desc()).limit(limit)
    ).all()


def signal_counts(session: Session, workspace_id: int) -> dict[str, int]:
    rows = session.execute(
        select(Signal.source, func.count())
        .where(Signal.workspace_id == workspace_id)
        .group_by(Signal.source)
    )
    return {source: count for source, count in rows}


def skipped_records(
    session: Session, workspace_id: int, source: str | None = None, limit: int = 50
) -> Sequence[SkippedRecord]:
    query = select(SkippedRecord).where(SkippedRecord.workspace_id == workspace_id)
    if source is not None:
        query = query.where(SkippedRecord.source == source)
    return session.scalars(query.order_by(SkippedRecord.id.desc()).limit(limit)).all()


def step_profiles(session: Session, journey_id: int) -> list[tuple[Step, Stage]]:
    """Return the journey's steps with their stages, in journey order."""
    rows = session.execute(
        select(Step, Stage)
        .join(Stage, Stage.id == Step.stage_id)
        .where(Step.journey_id == journey_id)
        .order_by(Stage.position, Step.position)
    )
    return [(step, stage) for step, stage in rows]


def confirmed_examples(session: Session, journey_id: int) -> list[tuple[str, int]]:
    """Return (text, step id) of every confirmed placement on the journey's steps."""
    rows = session.execute(
        select(Signal.text, Signal.step_id)
        .join(Step, Step.id == Signal.step_id)
        .where(Step.journey_id == journey_id, Signal.state == "confirmed")
        .order_by(Signal.id)
    )
    return [(text, step_id) for text, step_id in rows if step_id is not None]


def signals_to_place(
    session: Session, workspace_id: int, journey_id: int, limit: int, after_id: int = 0
) -> Sequence[Signal]:
    """New signals of the journey, or of no journey yet, in id order after ``after_id``."""
    return session.scalars(
        select(Signal)
        .where(
            Signal.workspace_id == workspace_id,
            Signal.state == "new",
            or_(Signal.journey_id == journey_id, Signal.journey_id.is_(None)),
            Signal.id > after_id,
        )
        .order_by(Signal.id)
        .limit(limit)
    ).all()


def signals_in_review(
    session: Session, workspace_id: int, journey_id: int, limit: int
) -> Sequence[Signal]:
    return session.scalars(
        select(Signal)
        .where(
            Signal.workspace_id == workspace_id,
            Signal.journey_id == journey_id,
            Signal.state == "needs_review",
        )
        .order_by(Signal.confidence, Signal.id)
        .limit(limit)
    ).all()


def signal_by_id(session: Session, workspace_id: int, signal_id: int) -> Signal | None:
    return session.scalar(
        select(Signal).where(Signal.workspace_id == workspace_id, Signal.id == signal_id)
    )


def step_signal_counts(session: Session, journey_id: int) -> dict[int, int]:
    """Placed signals (classified, in review or confirmed) per step of the journey."""
    rows = session.execute(
        select(Signal.step_id, func.count())
        .join(Step, Step.id == Signal.step_id)
        .where(
            Step.journey_id == journey_id,
            Signal.state.in_(["classified", "needs_review", "confirmed"]),
        )
        .group_by(Signal.step_id)
    )
    return {step_id: count for step_id, count in rows if step_id is not None}


def llm_cache_entries(session: Session, keys: Sequence[str]) -> dict[str, Any]:
    """Return cached LLM answers by key (as ``LLMAnswer``)."""
    from model.classify.llm import LLMAnswer

    if not keys:
        return {}
    rows = session.scalars(select(LLMCacheEntry).where(LLMCacheEntry.key.in_(list(keys))))
    return {row.key: LLMAnswer(step_id=row.step_id, confidence=row.confidence) for row in rows}


def store_llm_answers(session: Session, rows: list[dict[str, Any]]) -> None:
    """Cache LLM answers; an answer another run cached first is kept."""
    insert = dialect_insert(session, LLMCacheEntry)
    session.execute(insert.on_conflict_do_nothing(index_elements=["key"]), rows)


EMBEDDING_LOOKUP_CHUNK = 500


def stored_embeddings(session: Session, model: str, keys: Sequence[str]) -> dict[str, bytes]:
    """Stored embeddings of texts (by the SHA-256 of each text) under ``model``."""
    found: dict[str, bytes] = {}
    unique = list(dict.fromkeys(keys))
    for start in range(0, len(unique), EMBEDDING_LOOKUP_CHUNK):
        chunk = unique[start : start + EMBEDDING_LOOKUP_CHUNK]
        rows = session.execute(
            select(TextEmbedding.key, TextEmbedding.vector).where(
                TextEmbedding.model == model, TextEmbedding.key.in_(chunk)
            )
        )
        found.update({key: bytes(vector) for key, vector in rows})
    return found


def store_embeddings(session: Session, rows: list[dict[str, Any]]) -> None:
    """Keep embeddings; one another run stored first is kept."""
    if rows:
        insert = dialect_insert(session, TextEmbedding)
        session.execute(insert.on_conflict_do_nothing(index_elements=["model", "key"]), rows)


def unattached_signals(session: Session, journey_id: int) -> Sequence[Signal]:
    """Placed signals of the journey that are not evidence on any item yet."""
    attached = select(SignalEvidence.signal_id)
    return session.scalars(
        select(Signal)
        .join(Step, Step.id == Signal.step_id)
        .where(
            Step.journey_id == journey_id,
            Signal.state.in_(["classified", "confirmed"]),
            Signal.id.not_in(attached),
        )
        .order_by(Signal.step_id, Signal.id)
    ).all()


def insights_on_step(session: Session, step_id: int) -> Sequence[Item]:
    return session.scalars(
        select(Item)
        .join(Placement, Placement.item_id == Item.id)
        .where(Placement.step_id == step_id, Item.type == "insight")
        .order_by(Item.id)
    ).all()


def items_on_step(session: Session, step_id: int, item_type: str) -> Sequence[Item]:
    return session.scalars(
        select(Item)
        .join(Placement, Placement.item_id == Item.id)
        .where(Placement.step_id == step_id, Item.type == item_type)
        .order_by(Item.id)
    ).all()


def evidence_texts(session: Session, item_ids: Sequence[int]) -> dict[int, list[str]]:
    if not item_ids:
        return {}
    rows = session.execute(
        select(SignalEvidence.item_id, Signal.text)
        .join(Signal, Signal.id == SignalEvidence.signal_id)
        .where(SignalEvidence.item_id.in_(list(item_ids)))
        .order_by(Signal.id)
    )
    texts: dict[int, list[str]] = {}
    for item_id, text in rows:
        texts.setdefault(item_id, []).append(text)
    return texts


def evidence_summary(session: Session, item_ids: Sequence[int]) -> dict[int, dict[str, Any]]:
    """Per item: evidence count, first and last seen, and the sources it came from."""
    if not item_ids:
        return {}
    rows = session.execute(
        select(
            SignalEvidence.item_id,
            func.count(),
            func.min(Signal.occurred_at),
            func.max(Signal.occurred_at),
        )
        .join(Signal, Signal.id == SignalEvidence.signal_id)
        .where(SignalEvidence.item_id.in_(list(item_ids)))
        .group_by(SignalEvidence.item_id)
    )
    summary: dict[int, dict[str, Any]] = {
        item_id: {"count": count, "first_seen": first, "last_seen": last, "sources": []}
        for item_id, count, first, last in rows
    }
    sources = session.execute(
        select(SignalEvidence.item_id, Signal.source)
        .join(Signal, Signal.id == SignalEvidence.signal_id)
        .where(SignalEvidence.item_id.in_(list(item_ids)))
        .distinct()
    )
    for item_id, source in sources:
        summary[item_id]["sources"].append(source)
    for entry in summary.values():
        entry["sources"].sort()
    return summary


def signals_for_item(session: Session, item_id: int) -> Sequence[Signal]:
    """The signals that are evidence on an item, oldest first."""
    return session.scalars(
        select(Signal)
        .join(SignalEvidence, SignalEvidence.signal_id == Signal.id)
        .where(SignalEvidence.item_id == item_id)
        .order_by(Signal.occurred_at, Signal.id)
    ).all()


# The table view -----------------------------------------------------------------------------

_PRIORITY_RANK = case(
    (Item.priority == "high", 3),
    (Item.priority == "medium", 2),
    (Item.priority == "low", 1),
    else_=0,
)


def table_sort_keys(sort: str) -> list[Any]:
    """The ordered key expressions of a table sort (never NULL, so keyset paging holds)."""
    name = sort.removeprefix("-")
    keys: dict[str, list[Any]] = {
        "journey": [Stage.position, Step.position, Item.type, Item.title],
        "title": [Item.title],
        "type": [Item.type, Item.title],
        "status": [Item.status, Item.title],
        "owner": [func.coalesce(Item.owner, ""), Item.title],
        "priority": [_PRIORITY_RANK, Item.title],
        "impact": [func.coalesce(Item.impact, 0), Item.title],
        "effort": [func.coalesce(Item.effort, 0), Item.title],
        "placed_at": [Placement.created_at],
        "updated_at": [Item.updated_at],
    }
    return [*keys[name], Placement.id]


def table_page(
    session: Session,
    journey_id: int,
    query: TableQuery,
    *,
    after: Sequence[Any] | None,
    limit: int,
) -> list[tuple[Any, ...]]:
    """Return up to ``limit`` rows (placement, item, step, stage, *sort key values) after the
    keyset position ``after``, filtered by ``query``."""
    keys = table_sort_keys(query.sort)
    descending = query.sort.startswith("-")
    conditions: list[Any] = [Placement.journey_id == journey_id]
    if query.types:
        conditions.append(Item.type.in_([str(t) for t in query.types]))
    if query.statuses:
        conditions.append(Item.status.in_(query.statuses))
    if query.owners:
        conditions.append(Item.owner.in_(query.owners))
    if query.priorities:
        conditions.append(Item.priority.in_([str(p) for p in query.priorities]))
    if query.impact_min is not None:
        conditions.append(Item.impact >= query.impact_min)
    if query.impact_max is not None:
        conditions.append(Item.impact <= query.impact_max)
    if query.effort_min is not None:
        conditions.append(Item.effort >= query.effort_min)
    if query.effort_max is not None:
        conditions.append(Item.effort <= query.effort_max)
    if query.stage_ids:
        conditions.append(Step.stage_id.in_(query.stage_ids))
    if query.step_ids:
        conditions.append(Placement.step_id.in_(query.step_ids))
    if query.updated_after is not None:
        conditions.append(Item.updated_at >= query.updated_after)
    if query.updated_before is not None:
        conditions.append(Item.updated_at < query.updated_before)
    if query.placed_after is not None:
        conditions.append(Placement.created_at >= query.placed_after)
    if query.placed_before is not None:
        conditions.append(Placement.created_at < query.placed_before)
    if after is not None:
        position = tuple_(*keys)
        bound = tuple_(
            *[literal(value, type_=key.type) for key, value in zip(keys, after, strict=True)]
        )
        conditions.append(position < bound if descending else position > bound)
    statement = (
        select(Placement, Item, Step, Stage, *keys)
        .join(Item, Item.id == Placement.item_id)
        .join(Step, Step.id == Placement.step_id)
        .join(Stage, Stage.id == Step.stage_id)
        .where(*conditions)
        .order_by(*[key.desc() if descending else key.asc() for key in keys])
        .limit(limit)
    )
    return [tuple(row) for row in session.execute(statement)]


# Ticket links -------------------------------------------------------------------------------


def ticket_link(session: Session, item_id: int, tracker: str) -> TicketLink | None:
    return session.scalar(
        select(TicketLink).where(TicketLink.item_id == item_id, TicketLink.tracker == tracker)
    )


def ticket_link_by_id(session: Session, workspace_id: int, link_id: int) -> TicketLink | None:
    return session.scalar(
        select(TicketLink).where(TicketLink.workspace_id == workspace_id, TicketLink.id == link_id)
    )


def ticket_links_of_item(session: Session, item_id: int) -> Sequence[TicketLink]:
    return session.scalars(
        select(TicketLink).where(TicketLink.item_id == item_id).order_by(TicketLink.id)
    ).all()


def ticket_links(
    session: Session, workspace_id: int, *, states: Sequence[str] | None = None
) -> Sequence[TicketLink]:
    query = (
        select(TicketLink)
        .where(TicketLink.workspace_id == workspace_id)
        .options(selectinload(TicketLink.item))
    )
    if states:
        query = query.where(TicketLink.state.in_(list(states)))
    return session.scalars(query.order_by(TicketLink.id)).all()


def ticket_link_by_external(
    session: Session, workspace_id: int, tracker: str, external_id: str
) -> TicketLink | None:
    return session.scalar(
        select(TicketLink).where(
            TicketLink.workspace_id == workspace_id,
            TicketLink.tracker == tracker,
            TicketLink.external_id == external_id,
        )
    )


def ticket_links_to_push(
    session: Session, workspace_id: int | None, now: datetime, limit: int
) -> list[int]:
    """Links waiting for a ticket: requested, or being created by a run whose claim lapsed."""
    query = select(TicketLink.id).where(
        or_(
            TicketLink.state == "requested",
            (TicketLink.state == "creating")
            & or_(TicketLink.claimed_until.is_(None), TicketLink.claimed_until < now),
        )
    )
    if workspace_id is not None:
        query = query.where(TicketLink.workspace_id == workspace_id)
    return list(session.scalars(query.order_by(TicketLink.id).limit(limit)))


def claim_ticket_link(session: Session, link_id: int, now: datetime, until: datetime) -> bool:
    """Atomically take a link for one run; False when another run holds it or it is done."""
    result = session.execute(
        update(TicketLink)
        .where(
            TicketLink.id == link_id,
            or_(
                TicketLink.state == "requested",
                (TicketLink.state == "creating")
                & or_(TicketLink.claimed_until.is_(None), TicketLink.claimed_until < now),
            ),
        )
        .values(
            state="creating",
            claimed_until=until,
            attempts=TicketLink.attempts + 1,
            updated_at=now,
        )
        .execution_options(synchronize_session=False)
    )
    return bool(getattr(result, "rowcount", 0) == 1)


def ticket_links_to_sync(
    session: Session, workspace_id: int | None, tracker: str
) -> Sequence[TicketLink]:
    query = select(TicketLink).where(
        TicketLink.tracker == tracker,
        TicketLink.state == "linked",
        TicketLink.external_id.is_not(None),
    )
    if workspace_id is not None:
        query = query.where(TicketLink.workspace_id == workspace_id)
    return session.scalars(query.order_by(TicketLink.id)).all()


def links_touching(session: Session, item_ids: Sequence[int]) -> list[ItemLink]:
    """Every link with one end among ``item_ids``, both ends loaded."""
    if not item_ids:
        return []
    return list(
        session.scalars(
            select(ItemLink)
            .where(or_(ItemLink.source_id.in_(item_ids), ItemLink.target_id.in_(item_ids)))
            .options(selectinload(ItemLink.source), selectinload(ItemLink.target))
            .order_by(ItemLink.id)
        )
    )


def placements_with_names(session: Session, item_id: int) -> list[tuple[str, str, str]]:
    """(journey, stage, step) names of every placement of an item, in journey order."""
    rows = session.execute(
        select(Journey.name, Stage.name, Step.name)
        .select_from(Placement)
        .join(Step, Step.id == Placement.step_id)
        .join(Stage, Stage.id == Step.stage_id)
        .join(Journey, Journey.id == Placement.journey_id)
        .where(Placement.item_id == item_id)
        .order_by(Journey.name, Stage.position, Step.position)
    )
    return [(journey, stage, step) for journey, stage, step in rows]


def first_journey_of_item(session: Session, item_id: int) -> Journey | None:
    return session.scalar(
        select(Journey)
        .join(Placement, Placement.journey_id == Journey.id)
        .where(Placement.item_id == item_id)
        .order_by(Placement.id)
        .limit(1)
    )


# Automations --------------------------------------------------------------------------------


def automation_by_slug(session: Session, workspace_id: int, slug: str) -> Automation | None:
    return session.scalar(
        select(Automation).where(Automation.workspace_id == workspace_id, Automation.slug == slug)
    )


def automations(session: Session, workspace_id: int) -> Sequence[Automation]:
    return session.scalars(
        select(Automation).where(Automation.workspace_id == workspace_id).order_by(Automation.slug)
    ).all()


def active_automations(
    session: Session, workspace_ids: Sequence[int], trigger_kinds: Sequence[str]
) -> Sequence[Automation]:
    """The active automations of these workspaces whose trigger is of one of these kinds."""
    return session.scalars(
        select(Automation)
        .where(
            Automation.workspace_id.in_(workspace_ids),
            Automation.status == "active",
            Automation.trigger_kind.in_(trigger_kinds),
        )
        .order_by(Automation.id)
    ).all()


def deployed_automations(session: Session) -> Sequence[Automation]:
    """Every automation with a status Prefect should know about (all workspaces)."""
    return session.scalars(
        select(Automation)
        .where(Automation.status.in_(["active", "paused"]))
        .order_by(Automation.id)
    ).all()


def automation_run_by_key(
    session: Session, automation_id: int, dedupe_key: str
) -> AutomationRun | None:
    return session.scalar(
        select(AutomationRun).where(
            AutomationRun.automation_id == automation_id, AutomationRun.dedupe_key == dedupe_key
        )
    )


def automation_runs(
    session: Session, automation_id: int, limit: int = 20
) -> Sequence[AutomationRun]:
    return session.scalars(
        select(AutomationRun)
        .where(AutomationRun.automation_id == automation_id)
        .order_by(AutomationRun.id.desc())
        .limit(limit)
    ).all()


def pending_automation_runs(
    session: Session, requested_before: datetime, limit: int
) -> Sequence[AutomationRun]:
    """Runs requested before the moment and not yet started (their trigger may be lost)."""
    return session.scalars(
        select(AutomationRun)
        .where(AutomationRun.state == "pending", AutomationRun.requested_at < requested_before)
        .order_by(AutomationRun.id)
        .limit(limit)
    ).all()


def claim_automation_run(
    session: Session, run_id: int, flow_run_id: str | None, now: datetime
) -> bool:
    """Move a pending run to running; False when another flow run got it first."""
    result = session.execute(
        update(AutomationRun)
        .where(AutomationRun.id == run_id, AutomationRun.state == "pending")
        .values(state="running", flow_run_id=flow_run_id, started_at=now)
        .execution_options(synchronize_session=False)
    )
    return bool(getattr(result, "rowcount", 0))


def journey_slugs_of_items(session: Session, item_ids: Sequence[int]) -> dict[int, set[str]]:
    rows = session.execute(
        select(Placement.item_id, Journey.slug)
        .join(Journey, Journey.id == Placement.journey_id)
        .where(Placement.item_id.in_(item_ids))
    )
    found: dict[int, set[str]] = {}
    for item_id, slug in rows:
        found.setdefault(item_id, set()).add(slug)
    return found


def items_by_ids(session: Session, item_ids: Sequence[int]) -> dict[int, Item]:
    return {item.id: item for item in session.scalars(select(Item).where(Item.id.in_(item_ids)))}


def placed_signal_counts(session: Session, journey_id: int, since: datetime) -> dict[int, int]:
    """Signals placed on each step of a journey that occurred since the moment."""
    rows = session.execute(
        select(Signal.step_id, func.count())
        .where(
            Signal.journey_id == journey_id,
            Signal.step_id.is_not(None),
            Signal.state.in_(["classified", "confirmed", "needs_review"]),
            Signal.occurred_at >= since,
        )
        .group_by(Signal.step_id)
    )
    return {int(step_id): int(count) for step_id, count in rows if step_id is not None}


def step_by_name(session: Session, journey_id: int, name: str) -> Step | None:
    return session.scalar(
        select(Step).where(Step.journey_id == journey_id, func.lower(Step.name) == name.lower())
    )


def _kept_signals_between(journey_id: int, since: datetime, until: datetime) -> list[Any]:
    """A journey's signals in ``[since, until)`` that were not rejected or ignored."""
    return [
        Signal.journey_id == journey_id,
        Signal.occurred_at >= since,
        Signal.occurred_at < until,
        Signal.state.notin_(["rejected", "ignored"]),
    ]


def signals_between(
    session: Session, journey_id: int, since: datetime, until: datetime, limit: int
) -> Sequence[Signal]:
    return session.scalars(
        select(Signal)
        .where(*_kept_signals_between(journey_id, since, until))
        .order_by(Signal.occurred_at.desc())
        .limit(limit)
    ).all()


def signal_counts_by_step_between(
    session: Session, journey_id: int, since: datetime, until: datetime
) -> dict[int | None, int]:
    rows = session.execute(
        select(Signal.step_id, func.count())
        .where(*_kept_signals_between(journey_id, since, until))
        .group_by(Signal.step_id)
    )
    return {step_id: int(count) for step_id, count in rows}


def items_created_between(
    session: Session, journey_id: int, since: datetime, until: datetime
) -> Sequence[Item]:
    return session.scalars(
        select(Item)
        .join(Placement, Placement.item_id == Item.id)
        .where(
            Placement.journey_id == journey_id,
            Item.created_at >= since,
            Item.created_at < until,
        )
        .distinct()
        .order_by(Item.id)
    ).all()


def tickets_shipped_between(
    session: Session, workspace_id: int, since: datetime, until: datetime
) -> Sequence[TicketLink]:
    return session.scalars(
        select(TicketLink)
        .options(selectinload(TicketLink.item))
        .where(
            TicketLink.workspace_id == workspace_id,
            TicketLink.shipped_at >= since,
            TicketLink.shipped_at < until,
        )
        .order_by(TicketLink.id)
    ).all()


def automation_by_id(session: Session, automation_id: int) -> Automation | None:
    return session.get(Automation, automation_id)
