"""Workspaces, their members and API tokens."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from model import repository
from model.base import utcnow
from model.enums import Role
from model.errors import Conflict, InvalidInput, NotFound
from model.schemas import MemberSpec, WorkspaceSpec, parse
from model.slugs import slugify
from model.tables import ApiToken, Member, Workspace

TOKEN_PREFIX = "jo_"
# Characters of a token kept in clear so people can tell their tokens apart.
TOKEN_VISIBLE = 12
# A token's last use is kept to this precision, so reads don't each write it.
LAST_USED_PRECISION = timedelta(minutes=1)


def create_workspace(session: Session, spec: WorkspaceSpec) -> Workspace:
    """Create a workspace; its slug comes from its name unless given."""
    slug = spec.slug or slugify(spec.name)
    if not slug:
        raise InvalidInput("name: needs at least one letter or digit to make a slug", field="name")
    if repository.workspace_by_slug(session, slug) is not None:
        raise Conflict(f"slug: a workspace with slug {slug!r} exists already", field="slug")
    workspace = Workspace(
        name=spec.name,
        slug=slug,
        linear_team_key=spec.linear_team_key,
        jira_project_key=spec.jira_project_key,
    )
    session.add(workspace)
    session.flush()
    return workspace


def get_workspace(session: Session, slug: str) -> Workspace:
    """Return the workspace with ``slug`` or say how to create it."""
    workspace = repository.workspace_by_slug(session, slug)
    if workspace is None:
        raise NotFound(
            f"workspace {slug!r} does not exist; create it with "
            f"`journeyops workspace create NAME --slug {slug}`"
        )
    return workspace


def ensure_workspace(session: Session, slug: str, name: str) -> Workspace:
    """Return the workspace with ``slug``, creating it with ``name`` if missing."""
    workspace = repository.workspace_by_slug(session, slug)
    if workspace is None:
        workspace = create_workspace(session, WorkspaceSpec(name=name, slug=slug))
    return workspace


def add_member(session: Session, workspace: Workspace, spec: MemberSpec) -> Member:
    """Add a member; emails are unique within a workspace."""
    email = spec.email.lower()
    if repository.member_by_email(session, workspace.id, email) is not None:
        raise Conflict(f"email: {email} is a member of this workspace already", field="email")
    member = Member(workspace_id=workspace.id, email=email, name=spec.name, role=Role(spec.role))
    session.add(member)
    session.flush()
    return member


def ensure_member(session: Session, workspace: Workspace, spec: MemberSpec) -> Member:
    """Return the member with this email, adding it if missing."""
    member = repository.member_by_email(session, workspace.id, spec.email)
    return member if member is not None else add_member(session, workspace, spec)


def get_member(session: Session, workspace_id: int, email: str) -> Member:
    member = repository.member_by_email(session, workspace_id, email)
    if member is None:
        raise NotFound(f"no member with email {email} in this workspace")
    return member


def change_role(session: Session, member: Member, role: Role | str) -> Member:
    """Change a member's role; a workspace always keeps at least one owner."""
    role = Role(parse(MemberSpec, {"email": member.email, "name": member.name, "role": role}).role)
    if member.role == Role.OWNER and role != Role.OWNER:
        _keep_an_owner(session, member)
    member.role = role
    session.flush()
    return member


def remove_member(session: Session, member: Member) -> None:
    """Remove a member and its tokens; the last owner cannot be removed."""
    if member.role == Role.OWNER:
        _keep_an_owner(session, member)
    session.delete(member)
    session.flush()


def _keep_an_owner(session: Session, member: Member) -> None:
    if repository.count_owners(session, member.workspace_id) <= 1:
        raise Conflict(
            f"{member.email} is the workspace's last owner; make another member owner first",
            field="role",
        )


@dataclass(frozen=True)
class IssuedToken:
    """A token as created: ``secret`` is shown once and never stored."""

    token: ApiToken
    secret: str


def hash_token(secret: str) -> str:
    """Return the stored form of a token (tokens are random, so SHA-256 is enough)."""
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def create_token(
    session: Session,
    member: Member,
    name: str,
    *,
    expires_in: timedelta | None = None,
) -> IssuedToken:
    """Issue an API token acting with the member's role."""
    if not name.strip():
        raise InvalidInput("name: give the token a name that says where it is used", field="name")
    if expires_in is not None and expires_in <= timedelta(0):
        raise InvalidInput("expires_in: must be in the future", field="expires_in")
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(
        workspace_id=member.workspace_id,
        member_id=member.id,
        name=name.strip(),
        prefix=secret[:TOKEN_VISIBLE],
        token_hash=hash_token(secret),
        expires_at=utcnow() + expires_in if expires_in else None,
    )
    session.add(token)
    session.flush()
    return IssuedToken(token=token, secret=secret)


def authenticate(session: Session, secret: str, *, now: datetime | None = None) -> ApiToken | None:
    """Return the live token matching ``secret`` (with its member), or None."""
    token = repository.token_by_hash(session, hash_token(secret))
    now = now or utcnow()
    if token is None or token.revoked_at is not None:
        return None
    if token.expires_at is not None and token.expires_at <= now:
        return None
    if token.last_used_at is None or now - token.last_used_at >= LAST_USED_PRECISION:
        token.last_used_at = now
    return token


def revoke_token(session: Session, workspace_id: int, prefix: str) -> ApiToken:
    """Revoke the one token whose visible prefix starts with ``prefix``."""
    matches = repository.token_by_prefix(session, workspace_id, prefix)
    if not matches:
        raise NotFound(f"no token starting with {prefix!r} in this workspace")
    if len(matches) > 1:
        raise Conflict(f"{len(matches)} tokens start with {prefix!r}; give more characters")
    token = matches[0]
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        session.flush()
    return token
