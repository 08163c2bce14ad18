"""Dependencies: one transaction per request, and who is calling with which role."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, HTTPException, Path, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import Field
from sqlalchemy.orm import Session

from model.db import session_scope
from model.enums import Role
from model.services import workspaces

bearer = HTTPBearer(auto_error=False, description="A workspace API token: `Bearer jo_...`.")


def get_session(request: Request) -> Iterator[Session]:
    """A session whose transaction commits when the request succeeds and rolls back otherwise."""
    with session_scope(request.app.state.database_url) as session:
        yield session


SessionDep = Annotated[Session, Depends(get_session)]

# Ids are the database's 32-bit integers: a larger number names nothing, and is a 422 that says
# so rather than an error from the database.
MAX_ID = 2**31 - 1
IdValue = Annotated[int, Field(ge=1, le=MAX_ID)]
Id = Annotated[int, Path(ge=1, le=MAX_ID, description="An id journeyops gave out.")]


@dataclass(frozen=True)
class Caller:
    """Who is calling: the token's workspace, member and role."""

    workspace_id: int
    member_id: int
    email: str
    role: Role

    @property
    def actor(self) -> str:
        return f"api:{self.email}"


def get_caller(
    session: SessionDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> Caller:
    """Authenticate the request's workspace token."""
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            "send a workspace API token as `Authorization: Bearer <token>`",
            headers={"WWW-Authenticate": "Bearer"},
        )
    token = workspaces.authenticate(session, credentials.credentials)
    if token is None:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            "the token is unknown, expired or revoked",
            headers={"WWW-Authenticate": "Bearer"},
        )
    return Caller(
        workspace_id=token.workspace_id,
        member_id=token.member_id,
        email=token.member.email,
        role=Role(token.member.role),
    )


def requires(role: Role) -> Callable[[Caller], Caller]:
    """A dependency that lets through callers with at least ``role``."""

    def check(caller: Annotated[Caller, Depends(get_caller)]) -> Caller:
        if not caller.role.allows(role):
            raise HTTPException(
                status.HTTP_403_FORBIDDEN,
                f"this needs the {role.value} role; your token acts as a {caller.role.value}",
            )
        return caller

    return check


Viewer = Annotated[Caller, Depends(requires(Role.VIEWER))]
Editor = Annotated[Caller, Depends(requires(Role.EDITOR))]
Owner = Annotated[Caller, Depends(requires(Role.OWNER))]
