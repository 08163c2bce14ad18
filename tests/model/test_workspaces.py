"""Workspaces, members and API tokens."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from model.base import utcnow
from model.enums import Role
from model.errors import Conflict, InvalidInput, NotFound
from model.schemas import MemberSpec, WorkspaceSpec, parse
from model.services import workspaces
from model.tables import ApiToken, Member, Workspace
from tests import factories


def owner(session: Session, ws: Workspace, email: str = "maya@acme.example") -> Member:
    return workspaces.add_member(session, ws, MemberSpec(email=email, name="Maya", role="owner"))


class TestWorkspaces:
    def test_slug_is_unique(self, session: Session) -> None:
        workspaces.create_workspace(session, WorkspaceSpec(name="Acme product team"))
        with pytest.raises(Conflict, match="acme-product-team"):
            workspaces.create_workspace(session, WorkspaceSpec(name="Acme  Product team"))

    def test_missing_workspace_says_how_to_create_it(self, session: Session) -> None:
        with pytest.raises(NotFound, match="journeyops workspace create"):
            workspaces.get_workspace(session, "nope")

    def test_bad_slug_names_the_field(self) -> None:
        with pytest.raises(InvalidInput, match="slug: String should match pattern"):
            parse(WorkspaceSpec, {"name": "Acme", "slug": "Not a slug"})


class TestMembers:
    def test_email_is_unique_per_workspace_ignoring_case(self, session: Session) -> None:
        ws = factories.workspace(session)
        owner(session, ws, "Maya@Acme.example")
        with pytest.raises(Conflict, match=r"maya@acme\.example"):
            owner(session, ws, "maya@acme.example")

    def test_the_last_owner_stays(self, session: Session) -> None:
        ws = factories.workspace(session)
        maya = owner(session, ws)
        with pytest.raises(Conflict, match="last owner"):
            workspaces.change_role(session, maya, Role.EDITOR)
        with pytest.raises(Conflict, match="last owner"):
            workspaces.remove_member(session, maya)
        second = owner(session, ws, "leo@acme.example")
        workspaces.change_role(session, maya, Role.VIEWER)
        assert (maya.role, second.role) == ("viewer", "owner")

    def test_unknown_role_is_refused(self, session: Session) -> None:
        ws = factories.workspace(session)
        maya = owner(session, ws)
        with pytest.raises(InvalidInput, match="role"):
            workspaces.change_role(session, maya, "admin")

    def test_roles_are_ordered(self) -> None:
        assert Role.OWNER.allows(Role.EDITOR)
        assert Role.EDITOR.allows(Role.VIEWER)
        assert not Role.VIEWER.allows(Role.EDITOR)
        assert not Role.EDITOR.allows(Role.OWNER)


class TestTokens:
    def test_only_a_hash_and_a_prefix_are_stored(self, session: Session) -> None:
        ws = factories.workspace(session)
        issued = workspaces.create_token(session, owner(session, ws), "ci")
        stored = session.scalars(select(ApiToken)).one()
        assert issued.secret.startswith("jo_")
        assert len(issued.secret) > 40
        assert stored.prefix == issued.secret[:12]
        assert issued.secret not in (stored.token_hash, stored.prefix)
        assert stored.token_hash == workspaces.hash_token(issued.secret)

    def test_a_live_token_authenticates_with_its_members_role(self, session: Session) -> None:
        ws = factories.workspace(session)
        issued = workspaces.create_token(session, owner(session, ws), "ci")
        token = workspaces.authenticate(session, issued.secret)
        assert token is not None
        assert token.member.role == "owner"
        first_use = token.last_used_at
        assert first_use
        # Kept to the minute: a read a second later writes nothing.
        workspaces.authenticate(session, issued.secret, now=first_use + timedelta(seconds=1))
        assert token.last_used_at == first_use
        later = first_use + workspaces.LAST_USED_PRECISION
        workspaces.authenticate(session, issued.secret, now=later)
        assert token.last_used_at == later

    def test_wrong_secret_does_not_authenticate(self, session: Session) -> None:
        ws = factories.workspace(session)
        issued = workspaces.create_token(session, owner(session, ws), "ci")
        assert workspaces.authenticate(session, issued.secret + "x") is None

    def test_expired_token_does_not_authenticate(self, session: Session) -> None:
        ws = factories.workspace(session)
        issued = workspaces.create_token(
            session, owner(session, ws), "ci", expires_in=timedelta(hours=1)
        )
        assert workspaces.authenticate(session, issued.secret) is not None
        later = utcnow() + timedelta(hours=2)
        assert workspaces.authenticate(session, issued.secret, now=later) is None

    def test_revoked_token_does_not_authenticate(self, session: Session) -> None:
        ws = factories.workspace(session)
        issued = workspaces.create_token(session, owner(session, ws), "ci")
        workspaces.revoke_token(session, ws.id, issued.secret[:8])
        assert workspaces.authenticate(session, issued.secret) is None

    def test_revoking_needs_an_unambiguous_prefix(self, session: Session) -> None:
        ws = factories.workspace(session)
        member = owner(session, ws)
        workspaces.create_token(session, member, "one")
        workspaces.create_token(session, member, "two")
        with pytest.raises(Conflict, match="2 tokens start with 'jo_'"):
            workspaces.revoke_token(session, ws.id, "jo_")

    def test_tokens_of_another_workspace_cannot_be_revoked(self, session: Session) -> None:
        ws, other = factories.workspace(session, "one"), factories.workspace(session, "two")
        issued = workspaces.create_token(session, owner(session, ws), "ci")
        with pytest.raises(NotFound):
            workspaces.revoke_token(session, other.id, issued.secret[:12])

    def test_expiry_must_be_in_the_future(self, session: Session) -> None:
        ws = factories.workspace(session)
        with pytest.raises(InvalidInput, match="expires_in"):
            workspaces.create_token(session, owner(session, ws), "ci", expires_in=timedelta(0))
