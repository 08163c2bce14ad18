"""The pull flows run whole on a Prefect test server, leaving their report in the UI."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy import select

from flows.pull import pull_intercom, pull_workspace
from model.db import session_scope
from model.tables import PullRun
from tests.tasks.test_pull import pull_env  # noqa: F401  (fixture)

pytestmark = pytest.mark.usefixtures("prefect_harness")


def artifact(key: str) -> Any:
    """The latest artifact with ``key``."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey
    from prefect.client.schemas.sorting import ArtifactSort

    with get_client(sync_client=True) as client:
        found = client.read_artifacts(
            artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=[key])),
            sort=ArtifactSort.CREATED_DESC,
        )
    return found[0] if found else None


class TestPullFlows:
    def test_pull_workspace_pulls_every_source_and_reports(self, pull_env: Any) -> None:  # noqa: F811
        summaries = pull_workspace("acme")
        assert [s.source for s in summaries] == ["intercom", "posthog", "stripe"]
        assert all(s.status == "completed" and s.created > 0 for s in summaries)
        report = artifact("pull-acme")
        assert report is not None
        assert "intercom" in str(report.data)
        assert artifact("pull-intercom-acme") is not None

    def test_a_failing_source_fails_the_flow_but_not_the_others(self, pull_env: Any) -> None:  # noqa: F811
        sandbox, _ = pull_env
        httpx.post(sandbox.url + "/_sandbox/keys", json={"service": "stripe"}).raise_for_status()
        with pytest.raises(RuntimeError, match=r"stripe: .*credentials refused"):
            pull_workspace("acme")
        with session_scope() as session:
            runs = {r.source: r.status for r in session.scalars(select(PullRun))}
        assert runs == {"intercom": "completed", "posthog": "completed", "stripe": "failed"}

    def test_pulled_signals_can_be_classified_in_the_same_run(self, pull_env: Any) -> None:  # noqa: F811
        from model.schemas import JourneySpec, StageSpec, StepSpec
        from model.services import journeys, workspaces

        with session_scope() as session:
            ws = workspaces.get_workspace(session, "acme")
            journey = journeys.create_journey(session, ws, JourneySpec(name="Trial"), "tests")
            stage = journeys.add_stage(session, journey, StageSpec(name="Setup"), "tests")
            for name in ("Customer connects first integration", "Customer enters payment details"):
                journeys.add_step(session, stage, StepSpec(name=name), "tests")
        pull_workspace("acme", sources=["intercom"], classify_journey="trial")
        report = artifact("classify-acme-trial")
        assert report is not None
        assert "Customer connects first integration" in str(report.data)

    def test_flow_run_is_recorded_on_the_pull_run(self, pull_env: Any) -> None:  # noqa: F811
        summary = pull_intercom("acme")
        with session_scope() as session:
            run = session.get_one(PullRun, summary.run_id)
        assert run.flow_run_id


class TestSecretBlocks:
    def test_a_workspace_key_can_live_in_a_prefect_secret_block(
        self,
        pull_env: Any,  # noqa: F811
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        from prefect.blocks.system import Secret

        from connectors.sandbox import data as sandbox_data
        from model import repository
        from model.settings import reset_settings

        Secret(value=sandbox_data.INTERCOM_TOKEN).save("intercom-acme", overwrite=True)
        monkeypatch.delenv("JOURNEYOPS_INTERCOM__ACCESS_TOKEN")
        reset_settings()
        with session_scope() as session:
            config = repository.source_config(session, pull_env[1], "intercom")
            assert config is not None
            config.secret_block = "intercom-acme"
        summary = pull_intercom("acme")
        assert summary.created == 40

    def test_a_missing_block_fails_with_its_name(self, pull_env: Any) -> None:  # noqa: F811
        from model import repository

        with session_scope() as session:
            config = repository.source_config(session, pull_env[1], "stripe")
            assert config is not None
            config.secret_block = "no-such-block"
        with pytest.raises(Exception, match="no-such-block"):
            pull_workspace("acme", sources=["stripe"])
