"""Signals with their placement, and the review endpoint."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from api.deps import Editor, Id, SessionDep, Viewer
from api.schemas import Out
from model import repository
from model.errors import InvalidInput
from model.services import classification, journeys
from model.tables import Signal

router = APIRouter(prefix="/signals", tags=["signals"])


class SignalOut(Out):
    id: int = Field(description="The signal's id.")
    source: str = Field(description="posthog, intercom, stripe, import or manual.")
    external_id: str = Field(description="The record's id at its source.")
    occurred_at: datetime = Field(description="When it happened (UTC).")
    text: str = Field(description="What the signal says.")
    customer_ref: str | None = Field(description="The customer it is about, at its source.")
    state: str = Field(description="new, classified, needs_review, confirmed, rejected or ignored.")
    journey_id: int | None = Field(description="The journey it was placed in.")
    step_id: int | None = Field(description="The step it was placed on.")
    confidence: float | None = Field(description="How sure the classifier was, 0 to 1.")
    classifier: str | None = Field(description="Who placed it: offline, llm:<model> or person.")


class Review(BaseModel):
    action: Literal["accept", "reassign", "reject", "noise"] = Field(
        description="accept the placement, reassign it to a step, reject it, or mark the signal as noise."
    )
    journey: str | None = Field(default=None, description="reassign: the journey's slug.")
    step: str | None = Field(default=None, description="reassign: the step's name.")


@router.get("", response_model=list[SignalOut], summary="List signals, newest first")
def list_signals(
    session: SessionDep,
    caller: Viewer,
    source: str | None = Query(None, description="Only this source."),
    state: str | None = Query(None, description="Only this placement state."),
    limit: int = Query(50, ge=1, le=500, description="At most this many."),
) -> list[Signal]:
    return list(
        repository.signals(session, caller.workspace_id, source=source, state=state, limit=limit)
    )


@router.post("/{signal_id}/review", response_model=SignalOut, summary="Review a signal's placement")
def review(signal_id: Id, body: Review, session: SessionDep, caller: Editor) -> Signal:
    """A correction is a confirmed placement: classification learns from it on the next run."""
    if body.action == "accept":
        return classification.accept(session, caller.workspace_id, signal_id)
    if body.action == "reject":
        return classification.reject(session, caller.workspace_id, signal_id)
    if body.action == "noise":
        return classification.mark_noise(session, caller.workspace_id, signal_id)
    if not body.journey or not body.step:
        raise InvalidInput("journey and step: reassign needs both", field="step")
    journey = journeys.get_journey(session, caller.workspace_id, body.journey)
    return classification.reassign(session, caller.workspace_id, signal_id, journey, body.step)
