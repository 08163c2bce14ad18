"""The caller's workspace: members, tokens and webhook secrets (owners), and personas."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Literal

from fastapi import APIRouter, status
from pydantic import BaseModel, Field

from api.deps import Editor, Owner, SessionDep, Viewer
from api.schemas import Out
from model import repository
from model.enums import Role
from model.errors import NotFound
from model.schemas import MemberSpec, PersonaSpec
from model.services import journeys, webhook_secrets, workspaces
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


WebhookProvider = Literal["stripe", "intercom", "posthog", "linear", "jira"]


class NewWebhookSecret(BaseModel):
    secret: str | None = Field(
        default=None,
        min_length=16,
        max_length=500,
        description=(
            "The signing secret the provider gave for this workspace's endpoint (Stripe's "
            "whsec_..., the Linear or Jira webhook secret, the Intercom app's client secret). "
            "Leave it out to have one made, for PostHog's X-Journeyops-Secret header."
        ),
    )


class WebhookSecretOut(Out):
    provider: str = Field(description="stripe, intercom, posthog, linear or jira.")
    hint: str = Field(description="The first characters, to tell secrets apart.")
    created_at: datetime = Field(description="When it was set (UTC).")
    created_by: str = Field(description="Who set it.")


class IssuedWebhookSecretOut(WebhookSecretOut):
    secret: str = Field(description="The secret: shown this once, stored encrypted.")
    endpoint: str = Field(description="The path the provider should deliver to.")


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


@router.get(
    "/webhook-secrets",
    response_model=list[WebhookSecretOut],
    summary="List the workspace's own webhook secrets (never their values)",
)
def list_webhook_secrets(session: SessionDep, caller: Owner) -> list[object]:
    return list(repository.webhook_secrets(session, caller.workspace_id))


@router.put(
    "/webhook-secrets/{provider}",
    response_model=IssuedWebhookSecretOut,
    summary="Set the workspace's webhook signing secret for a provider",
    responses={422: {"description": "No encryption key is configured, or the secret is short."}},
)
def set_webhook_secret(
    provider: WebhookProvider, body: NewWebhookSecret, session: SessionDep, caller: Owner
) -> IssuedWebhookSecretOut:
    workspace = session.get_one(Workspace, caller.workspace_id)
    row, secret = webhook_secrets.set_secret(
        session, workspace, provider, body.secret, caller.actor
    )
    return IssuedWebhookSecretOut(
        provider=row.provider,
        hint=row.hint,
        created_at=row.created_at,
        created_by=row.created_by,
        secret=secret,
        endpoint=f"/webhooks/{provider}/{workspace.slug}",
    )


@router.delete(
    "/webhook-secrets/{provider}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Remove the workspace's own secret (the service-wide one applies again)",
)
def remove_webhook_secret(provider: WebhookProvider, session: SessionDep, caller: Owner) -> None:
    workspace = session.get_one(Workspace, caller.workspace_id)
    webhook_secrets.remove_secret(session, workspace, provider)


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
