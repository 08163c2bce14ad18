"""The caller's workspace: members, tokens (owners) and personas."""

from __future__ import annotations

from datetime import datetime, timedelta

from fastapi import APIRouter, status
from pydantic import BaseModel, Field

from api.deps import Editor, Owner, SessionDep, Viewer
from api.schemas import Out
from model import repository
from model.enums import Role
from model.errors import NotFound
from model.schemas import MemberSpec, PersonaSpec
from model.services import journeys, workspaces
from model.tables import Member, Persona, Workspace

router = APIRouter(tags=["workspace"])


class MemberOut(Out):
    id: int = Field(description="The member's id.")
    email: str = Field(description="Unique in the workspace.")
    name: str = Field(description="The member's name.")
    role: str = Field(description="owner, editor or viewer.")


class RoleChange(BaseModel):
    role: Role = Field(description="owner, editor or viewer.")


class NewToken(BaseModel):
    member_email: str = Field(description="The member the token acts as.")
    name: str = Field(min_length=1, max_length=200, description="Where the token is used.")
    expires_in_days: int | None = Field(default=None, ge=1, description="Days until it expires.")


class TokenOut(Out):
    id: int = Field(description="The token's id.")
    name: str = Field(description="Where the token is used.")
    prefix: str = Field(description="The first characters, kept in clear to tell tokens apart.")
    expires_at: datetime | None = Field(description="When it stops working, if ever.")
    revoked_at: datetime | None = Field(description="When it was revoked, if it was.")


class IssuedTokenOut(TokenOut):
    secret: str = Field(description="The token itself: shown this once, never stored.")


class PersonaOut(Out, PersonaSpec):
    id: int = Field(description="The persona's id.")


@router.get("/members", response_model=list[MemberOut], summary="List members")
def list_members(session: SessionDep, caller: Viewer) -> list[Member]:
    return list(repository.members(session, caller.workspace_id))


@router.post(
    "/members",
    response_model=MemberOut,
    status_code=status.HTTP_201_CREATED,
    summary="Add a member",
)
def add_member(body: MemberSpec, session: SessionDep, caller: Owner) -> Member:
    return workspaces.add_member(session, session.get_one(Workspace, caller.workspace_id), body)


@router.patch("/members/{email}", response_model=MemberOut, summary="Change a member's role")
def change_role(email: str, body: RoleChange, session: SessionDep, caller: Owner) -> Member:
    member = workspaces.get_member(session, caller.workspace_id, email)
    return workspaces.change_role(session, member, body.role)


@router.post(
    "/tokens",
    response_model=IssuedTokenOut,
    status_code=status.HTTP_201_CREATED,
    summary="Create an API token",
)
def create_token(body: NewToken, session: SessionDep, caller: Owner) -> IssuedTokenOut:
    member = workspaces.get_member(session, caller.workspace_id, body.member_email)
    expires = timedelta(days=body.expires_in_days) if body.expires_in_days else None
    issued = workspaces.create_token(session, member, body.name, expires_in=expires)
    return IssuedTokenOut(
        id=issued.token.id,
        name=issued.token.name,
        prefix=issued.token.prefix,
        expires_at=issued.token.expires_at,
        revoked_at=None,
        secret=issued.secret,
    )


@router.get("/tokens", response_model=list[TokenOut], summary="List API tokens")
def list_tokens(session: SessionDep, caller: Owner) -> list[object]:
    return list(repository.tokens(session, caller.workspace_id))


@router.delete("/tokens/{prefix}", response_model=TokenOut, summary="Revoke an API token")
def revoke_token(prefix: str, session: SessionDep, caller: Owner) -> object:
    return workspaces.revoke_token(session, caller.workspace_id, prefix)


@router.get("/personas", response_model=list[PersonaOut], summary="List personas")
def list_personas(session: SessionDep, caller: Viewer) -> list[Persona]:
    return list(repository.personas(session, caller.workspace_id))


@router.put("/personas", response_model=PersonaOut, summary="Create or update a persona by name")
def upsert_persona(body: PersonaSpec, session: SessionDep, caller: Editor) -> Persona:
    persona, _ = journeys.upsert_persona(
        session, session.get_one(Workspace, caller.workspace_id), body
    )
    return persona


@router.put(
    "/journeys/{slug}/personas/{name}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Link a persona to a journey",
)
def link_persona(slug: str, name: str, session: SessionDep, caller: Editor) -> None:
    journey = journeys.get_journey(session, caller.workspace_id, slug)
    persona = repository.persona_by_name(session, caller.workspace_id, name)
    if persona is None:
        raise NotFound(f"persona {name!r} does not exist in this workspace")
    journeys.link_persona(session, journey, persona, caller.actor)
