"""Pulls against the stand-ins over real HTTP: incremental, resumable, never lossy or doubled."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy import delete, func, select

from connectors.errors import AuthError, RequestError, RetryableError
from connectors.sandbox import data as sandbox_data
from model import repository
from model.db import session_scope
from model.schemas import WorkspaceSpec
from model.services import signals, sources, workspaces
from model.settings import reset_settings
from model.tables import PullRun, Signal, SkippedRecord, SourceCursor
from tasks.pull import pull_source

WORKSPACE = "acme"


@pytest.fixture
def pull_env(committed_db: str, sandbox: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    """A workspace whose three sources point at the stand-ins, keys in settings."""
    monkeypatch.setenv("JOURNEYOPS_STRIPE__API_KEY", sandbox_data.STRIPE_KEY)
    monkeypatch.setenv("JOURNEYOPS_INTERCOM__ACCESS_TOKEN", sandbox_data.INTERCOM_TOKEN)
    monkeypatch.setenv("JOURNEYOPS_POSTHOG__PERSONAL_API_KEY", sandbox_data.POSTHOG_KEY)
    monkeypatch.setenv("JOURNEYOPS_HTTP__MAX_ATTEMPTS", "3")
    monkeypatch.setenv("JOURNEYOPS_HTTP__MAX_BACKOFF_SECONDS", "0.05")
    reset_settings()
    with session_scope() as session:
        ws = workspaces.create_workspace(session, WorkspaceSpec(name="Acme", slug=WORKSPACE))
        sources.configure_source(session, ws, "stripe", base_url=sandbox.url + "/stripe")
        sources.configure_source(session, ws, "intercom", base_url=sandbox.url + "/intercom")
        sources.configure_source(
            session,
            ws,
            "posthog",
            base_url=sandbox.url + "/posthog",
            options={
                "project_id": sandbox_data.POSTHOG_PROJECT,
                "events": "api_key_error,integration_connect_failed,payment_failed",
            },
        )
        workspace_id = ws.id
    yield sandbox, workspace_id
    reset_settings()


def pull(workspace_id: int, source: str) -> tuple[signals.PageCounts, int]:
    with session_scope() as session:
        run_id = signals.start_run(session, workspace_id, source, None).id
    try:
        counts = pull_source(workspace_id, source, run_id)
    except Exception as error:
        with session_scope() as session:
            signals.finish_run(session, run_id, error=str(error))
        raise
    with session_scope() as session:
        signals.finish_run(session, run_id)
    return counts, run_id


def signal_count(workspace_id: int, source: str) -> tuple[int, int]:
    """Return the number of signals and of distinct external ids."""
    with session_scope() as session:
        total = session.scalar(
            select(func.count())
            .select_from(Signal)
            .where(Signal.workspace_id == workspace_id, Signal.source == source)
        )
        distinct = session.scalar(
            select(func.count(func.distinct(Signal.external_id))).where(
                Signal.workspace_id == workspace_id, Signal.source == source
            )
        )
    return total or 0, distinct or 0


def control(sandbox: Any, path: str, body: dict[str, Any]) -> Any:
    response = httpx.post(sandbox.url + "/_sandbox/" + path, json=body)
    response.raise_for_status()
    return response.json()


def requests_made(sandbox: Any, service: str) -> int:
    return int(httpx.get(sandbox.url + "/_sandbox/stats").json()["requests"].get(service, 0))


class TestIntercomPull:
    def test_first_pull_then_only_what_changed(self, pull_env: Any) -> None:
        sandbox, ws = pull_env
        first, _ = pull(ws, "intercom")
        assert first.created == 40
        assert first.skipped == 3
        control(
            sandbox,
            "intercom/conversations",
            {"id": "5", "text": "Still can't find the API key page"},
        )
        control(sandbox, "intercom/conversations", {"text": "How do I export a report to PDF?"})
        before = requests_made(sandbox, "intercom")
        second, _ = pull(ws, "intercom")
        assert (second.created, second.updated) == (1, 1)
        # The overlap re-lists a few conversations; only the two that changed are fetched whole.
        fetched = requests_made(sandbox, "intercom") - before
        assert fetched == 1 + 2
        with session_scope() as session:
            changed = repository.signals_by_external_id(session, ws, "intercom", ["5"])["5"]
            assert "Still can't find the API key page" in changed.text

    def test_text_is_the_customers_words_only(self, pull_env: Any) -> None:
        _, ws = pull_env
        pull(ws, "intercom")
        with session_scope() as session:
            texts = [s.text for s in repository.signals(session, ws, source="intercom", limit=100)]
        assert all(
            sandbox_data.BOT_TEXT not in t and sandbox_data.ADMIN_TEXT not in t for t in texts
        )
        assert all("Still stuck, can a person help?" in t for t in texts)

    def test_re_pull_from_scratch_duplicates_nothing(self, pull_env: Any) -> None:
        _, ws = pull_env
        pull(ws, "intercom")
        with session_scope() as session:
            session.execute(delete(SourceCursor))
        again, _ = pull(ws, "intercom")
        assert again.created == 0
        assert again.unchanged == 40
        assert signal_count(ws, "intercom") == (40, 40)

    def test_crash_mid_run_resumes_after_the_last_committed_page(
        self, pull_env: Any, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        sandbox, ws = pull_env
        monkeypatch.setenv("JOURNEYOPS_INTERCOM__PER_PAGE", "10")
        reset_settings()
        control(
            sandbox,
            "faults",
            {
                "service": "intercom",
                "path": "/conversations/search",
                "after": 2,
                "times": 3,
                "status": 500,
            },
        )
        with pytest.raises(RetryableError, match="500"):
            pull(ws, "intercom")
        committed, _ = signal_count(ws, "intercom")
        assert 0 < committed < 40
        with session_scope() as session:
            cursor = repository.source_cursors(session, ws, "intercom")["conversations"]
        assert cursor["starting_after"]
        searches_before = requests_made(sandbox, "intercom")
        resumed, _ = pull(ws, "intercom")
        assert resumed.created + committed == 40
        assert signal_count(ws, "intercom") == (40, 40)
        # Resuming asked for the remaining pages only: 43 conversations, 10 a page, 2 were done.
        searches = (
            requests_made(sandbox, "intercom") - searches_before - resumed.created - resumed.skipped
        )
        assert searches == 3

    def test_a_429_storm_slows_the_pull_and_loses_nothing(
        self, pull_env: Any, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        sandbox, ws = pull_env
        monkeypatch.setenv("JOURNEYOPS_HTTP__MAX_ATTEMPTS", "8")
        reset_settings()
        control(
            sandbox,
            "faults",
            {"service": "intercom", "status": 429, "times": 6, "retry_after": 0.01},
        )
        counts, _ = pull(ws, "intercom")
        assert counts.created == 40
        assert signal_count(ws, "intercom") == (40, 40)

    def test_malformed_records_are_kept_with_their_reason(self, pull_env: Any) -> None:
        _, ws = pull_env
        pull(ws, "intercom")
        with session_scope() as session:
            reasons = sorted(r.reason for r in repository.skipped_records(session, ws, "intercom"))
        assert reasons == [
            "created_at and updated_at must be epoch seconds",
            "customer text is 30032 characters, over 20000",
            "no customer text: only bot, admin or empty turns",
        ]
        pull(ws, "intercom")
        with session_scope() as session:
            assert session.scalar(select(func.count()).select_from(SkippedRecord)) == 3

    def test_a_refused_key_fails_at_once_and_names_the_source(self, pull_env: Any) -> None:
        sandbox, ws = pull_env
        control(sandbox, "keys", {"service": "intercom"})
        with pytest.raises(AuthError, match="intercom: credentials refused"):
            pull(ws, "intercom")
        assert requests_made(sandbox, "intercom") == 1
        with session_scope() as session:
            run = session.scalars(select(PullRun)).one()
            assert run.status == "failed"
            assert "credentials refused" in (run.error_message or "")

    def test_missing_credentials_say_what_to_set(
        self, pull_env: Any, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        _, ws = pull_env
        monkeypatch.delenv("JOURNEYOPS_INTERCOM__ACCESS_TOKEN")
        reset_settings()
        with pytest.raises(AuthError, match="JOURNEYOPS_INTERCOM__ACCESS_TOKEN"):
            pull(ws, "intercom")


class TestStripePull:
    def test_first_pull_backfills_then_reads_events(self, pull_env: Any) -> None:
        _sandbox, ws = pull_env
        counts, _run_id = pull(ws, "stripe")
        assert counts.created > 0
        assert counts.skipped == 3
        with session_scope() as session:
            kinds = {
                s.payload["type"]
                for s in repository.signals(session, ws, source="stripe", limit=500)
            }
            cursors = repository.source_cursors(session, ws, "stripe")
        assert any(kind.startswith("backfill.") for kind in kinds)
        assert "invoice.payment_failed" in kinds
        assert cursors["backfill"]["kind"] == "done"
        assert cursors["events"]["starting_after"] is None

    def test_new_events_arrive_incrementally_and_a_second_failure_updates(
        self, pull_env: Any
    ) -> None:
        sandbox, ws = pull_env
        pull(ws, "stripe")
        total, distinct = signal_count(ws, "stripe")
        assert total == distinct
        invoice = {
            "id": "in_new",
            "object": "invoice",
            "customer": "cus_9",
            "amount_due": 9900,
            "currency": "usd",
            "attempt_count": 1,
            "attempted": True,
            "paid": False,
            "status": "open",
        }
        control(sandbox, "stripe/events", {"type": "invoice.payment_failed", "object": invoice})
        first, _ = pull(ws, "stripe")
        assert first.created == 1
        control(
            sandbox,
            "stripe/events",
            {"type": "invoice.payment_failed", "object": {**invoice, "attempt_count": 2}},
        )
        second, _ = pull(ws, "stripe")
        assert (second.created, second.updated) == (0, 1)
        with session_scope() as session:
            signal = repository.signals_by_external_id(
                session, ws, "stripe", ["in_new:payment_failed"]
            )["in_new:payment_failed"]
        assert "attempt 2" in signal.text
        assert signal_count(ws, "stripe") == (total + 1, distinct + 1)

    def test_crash_mid_run_resumes_without_gaps_or_duplicates(self, pull_env: Any) -> None:
        sandbox, ws = pull_env
        pull(ws, "stripe")
        for number in range(250):
            invoice = {
                "id": f"in_bulk_{number}",
                "object": "invoice",
                "customer": "cus_1",
                "attempt_count": 1,
                "attempted": True,
                "paid": False,
                "status": "open",
            }
            control(sandbox, "stripe/events", {"type": "invoice.payment_failed", "object": invoice})
        before, _ = signal_count(ws, "stripe")
        control(
            sandbox,
            "faults",
            {"service": "stripe", "path": "/v1/events", "after": 1, "times": 3, "status": 503},
        )
        with pytest.raises(RetryableError):
            pull(ws, "stripe")
        partial, _ = signal_count(ws, "stripe")
        assert before < partial < before + 250
        pull(ws, "stripe")
        assert signal_count(ws, "stripe") == (before + 250, before + 250)

    def test_a_500_then_success_is_retried_by_the_client(self, pull_env: Any) -> None:
        sandbox, ws = pull_env
        control(sandbox, "faults", {"service": "stripe", "status": 500, "times": 2})
        counts, _ = pull(ws, "stripe")
        assert counts.created > 0

    def test_a_revoked_key_fails_at_once(self, pull_env: Any) -> None:
        sandbox, ws = pull_env
        control(sandbox, "keys", {"service": "stripe"})
        with pytest.raises(AuthError, match="stripe: credentials refused"):
            pull(ws, "stripe")
        assert requests_made(sandbox, "stripe") == 1


def events_before(sandbox: Any, moment: str) -> int:
    """Count the chosen events the stand-in holds before ``moment``, straight from its API."""
    stamp = moment.replace("T", " ").split("+")[0]
    hogql = (
        "SELECT count() FROM events WHERE event IN ('api_key_error', 'integration_connect_failed', "
        f"'payment_failed') AND timestamp < toDateTime('{stamp}')"
    )
    response = httpx.post(
        sandbox.url + "/posthog/api/projects/1/query/",
        headers={"Authorization": f"Bearer {sandbox_data.POSTHOG_KEY}"},
        json={"query": {"kind": "HogQLQuery", "query": hogql}},
    )
    response.raise_for_status()
    return int(response.json()["results"][0][0])


class TestPostHogPull:
    def test_events_become_readable_counts_per_window(self, pull_env: Any) -> None:
        _, ws = pull_env
        counts, _ = pull(ws, "posthog")
        assert counts.created > 0
        assert counts.skipped == 3
        with session_scope() as session:
            rows = repository.signals(session, ws, source="posthog", limit=1000)
        assert {r.payload["event"] for r in rows} <= {
            "api_key_error",
            "integration_connect_failed",
            "payment_failed",
        }
        sample = next(r for r in rows if r.payload["event"] == "api_key_error")
        assert f"hit `api_key_error` {sample.payload['count']} time" in sample.text
        assert "/integrations/connect" in sample.text
        # Every event before the stored cursor is counted in exactly one window.
        with session_scope() as session:
            cursor = repository.source_cursors(session, ws, "posthog")["windows"]["next_start"]
        assert sum(r.payload["count"] for r in rows) == events_before(pull_env[0], cursor) - 3

    def test_re_pull_from_scratch_gives_the_same_counts(self, pull_env: Any) -> None:
        _, ws = pull_env
        pull(ws, "posthog")
        total, _ = signal_count(ws, "posthog")
        with session_scope() as session:
            session.execute(delete(SourceCursor))
        again, _ = pull(ws, "posthog")
        assert again.created == 0
        assert signal_count(ws, "posthog") == (total, total)

    def test_no_events_chosen_says_what_to_configure(self, pull_env: Any) -> None:
        _, ws = pull_env
        with session_scope() as session:
            config = repository.source_config(session, ws, "posthog")
            assert config is not None
            config.options = {"project_id": "1"}
        with pytest.raises(RequestError, match="no events chosen"):
            pull(ws, "posthog")


class TestSourceConfig:
    def test_unknown_options_are_refused_by_name(self, session: Any) -> None:
        from model.errors import InvalidInput
        from tests import factories

        ws = factories.workspace(session)
        with pytest.raises(InvalidInput, match=r"options\.colour: posthog has no option 'colour'"):
            sources.configure_source(session, ws, "posthog", options={"colour": "red"})
        with pytest.raises(InvalidInput, match="source: 'zendesk' is not one of"):
            sources.configure_source(session, ws, "zendesk")
