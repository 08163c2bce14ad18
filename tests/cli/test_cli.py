"""The journeyops command end to end, on the run's database."""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from cli.main import app
from tests.tasks.test_metrics import metric_env  # noqa: F401  (fixture)

runner = CliRunner()


def run(*args: str) -> str:
    result = runner.invoke(app, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.stdout


@pytest.mark.usefixtures("committed_db", "prefect_harness")
class TestDemo:
    def test_demo_builds_pulls_places_and_repeats_without_duplicates(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        from sqlalchemy import func, select

        from model.db import session_scope
        from model.tables import Item, Signal

        def counts() -> tuple[int, dict[str, int]]:
            with session_scope() as session:
                hand_made = session.scalar(
                    select(func.count()).select_from(Item).where(Item.machine_made.is_(False))
                )
                per_source = dict(
                    session.execute(
                        select(Signal.source, func.count()).group_by(Signal.source)
                    ).all()
                )
            return hand_made or 0, per_source

        # The demo brings a key for its sandbox Slack URL only when none is set.
        monkeypatch.setenv("JOURNEYOPS_WEBHOOKS__ENCRYPTION_KEY", "demo-test-key-0123456789abcdef")
        output = run("demo")
        assert "Acme product team" in output
        assert "Trial to paid" in output
        assert "Team expansion" in output
        assert "Customer connects first integration" in output
        assert "Non-technical admins stall at API credentials" in output
        assert "→ opportunity: Let admins connect tools without handling API" in output
        assert "building block" in output
        # The operating loop ran as automations: the pulse went to the sandbox Slack and the
        # opportunities the evidence proposed went to the sandbox Linear.
        assert "Posted to the sandbox Slack:" in output
        assert "*Trial to paid: weekly pulse*" in output
        assert "Most signals: Customer connects first integration" in output
        loop = run("automations", "runs", "operating-loop", "-w", "acme-product-team")
        assert "succeeded" in loop
        assert "placed" in loop
        tickets = run("automations", "runs", "proposed-opportunities-to-linear", "-w",
                      "acme-product-team")  # fmt: skip
        assert "GROWTH-1 created" in tickets
        assert "Customer connects first integration  ▲" in output
        signals = run("signals", "list", "-w", "acme-product-team", "--source", "intercom")
        assert "from intercom" in signals
        hand_made, first = counts()
        run("demo")
        again, second = counts()
        assert again == hand_made == 12
        # Two metrics synced from the sandbox's PostHog and Stripe, one point a day.
        from model.tables import MetricPoint, MetricSource

        with session_scope() as session:
            states = session.scalars(select(MetricSource.state)).all()
            assert states == ["ok", "ok"]
            assert session.scalar(select(func.count()).select_from(MetricPoint)) == 2
        # Conversations and billing facts are the same records again: updated, never doubled.
        assert second["intercom"] == first["intercom"] == 300
        assert second["stripe"] == first["stripe"]
        assert "maya@acme.example" in run("member", "list", "-w", "acme-product-team")


@pytest.mark.usefixtures("committed_db")
class TestJourneyCommands:
    def test_import_twice_then_export(self, data_dir: Path, tmp_path: Path) -> None:
        file = str(data_dir / "fintech-journey.json")
        first = run("journey", "import", file)
        assert "stages: 7 created" in first
        assert "steps: 20 created" in first
        second = run("journey", "import", file)
        assert "nothing to change" in second
        assert "steps: 0 created, 0 updated, 20 unchanged" in second
        listing = run("journey", "list")
        assert "card-customer-lifecycle" in listing
        out = tmp_path / "exported.yaml"
        run("journey", "export", "card-customer-lifecycle", "-o", str(out))
        assert out.read_text().startswith("format: journeyops/v1")
        exported = json.loads(run("journey", "export", "card-customer-lifecycle"))
        assert [len(s["steps"]) for s in exported["stages"]] == [3, 4, 3, 3, 2, 4, 1]

    def test_items_csv_has_one_row_per_placement(self) -> None:
        from cli.demo import build_workspace

        build_workspace()
        rows = list(
            csv.DictReader(
                io.StringIO(run("journey", "items", "trial-to-paid", "-w", "acme-product-team"))
            )
        )
        assert len(rows) == 12
        chat = [r for r in rows if r["key"] == "touchpoint-in-app-support-chat"]
        assert [r["step"] for r in chat] == [
            "Customer connects first integration",
            "Customer enters payment details",
        ]
        assert all(r["building_block"] == "True" for r in chat)

    def test_show_prints_the_tree(self, data_dir: Path) -> None:
        run("journey", "import", str(data_dir / "fintech-journey.json"))
        output = run("journey", "show", "card-customer-lifecycle")
        assert "Stage 7: Leaving" in output
        assert "Customer closes account" in output

    def test_errors_are_one_line_without_a_traceback(self, tmp_path: Path) -> None:
        bad = tmp_path / "bad.json"
        bad.write_text(
            json.dumps(
                {"journey": "J", "items": [{"type": "insight", "title": "X", "severity": 7}]}
            )
        )
        result = runner.invoke(app, ["journey", "import", str(bad)])
        assert result.exit_code == 1
        assert "items[0].severity: Input should be less than or equal to 5" in result.stderr
        assert "Traceback" not in result.output
        missing = runner.invoke(app, ["journey", "show", "nope"])
        assert missing.exit_code == 1
        assert "no journey with slug 'nope'" in missing.stderr


@pytest.mark.usefixtures("committed_db")
class TestWorkspaceCommands:
    def test_workspace_member_and_token_lifecycle(self) -> None:
        run("workspace", "create", "Acme", "--owner", "maya@acme.example", "--owner-name", "Maya")
        run("member", "add", "leo@acme.example", "--name", "Leo", "--role", "editor", "-w", "acme")
        secret = run(
            "token", "create", "--member", "leo@acme.example", "--name", "ci", "-w", "acme"
        ).strip()
        assert secret.startswith("jo_")
        listing = run("token", "list", "-w", "acme")
        assert secret[:12] in listing
        assert secret not in listing
        assert "active" in listing
        run("token", "revoke", secret[:12], "-w", "acme")
        assert "revoked" in run("token", "list", "-w", "acme")
        result = runner.invoke(app, ["member", "role", "maya@acme.example", "viewer", "-w", "acme"])
        assert result.exit_code == 1
        assert "last owner" in result.stderr

    def test_webhook_secrets_from_standard_input_or_generated(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        from model.settings import reset_settings

        run("workspace", "create", "Acme", "--owner", "maya@acme.example")
        refused = runner.invoke(app, ["webhook", "secret", "stripe", "-w", "acme"], input="x" * 20)
        assert refused.exit_code == 1
        assert "JOURNEYOPS_WEBHOOKS__ENCRYPTION_KEY" in refused.stderr
        monkeypatch.setenv("JOURNEYOPS_WEBHOOKS__ENCRYPTION_KEY", "a long random key for tests")
        reset_settings()
        result = runner.invoke(
            app, ["webhook", "secret", "stripe", "-w", "acme"], input="whsec_from_stdin_123456\n"
        )
        assert result.exit_code == 0, result.output
        assert result.stdout == ""  # a given secret is never echoed
        generated = run("webhook", "secret", "posthog", "--generate", "-w", "acme").strip()
        assert generated.startswith("jows_")
        listing = run("webhook", "list", "-w", "acme")
        assert "stripe" in listing
        assert "posthog" in listing
        assert "whsec_from_stdin_123456" not in listing
        assert generated not in listing
        run("webhook", "remove", "stripe", "-w", "acme")
        assert "stripe" not in run("webhook", "list", "-w", "acme")

    def test_unknown_workspace_says_how_to_create_it(self) -> None:
        result = runner.invoke(app, ["journey", "list", "-w", "ghost"])
        assert result.exit_code == 1
        assert "journeyops workspace create" in result.stderr


class TestDatabaseCommands:
    def test_upgrade_downgrade_current(
        self, fresh_database_url: str, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        from model.db import dispose_engines
        from model.migrate import head_revision
        from model.settings import reset_settings

        monkeypatch.setenv("JOURNEYOPS_DATABASE_URL", fresh_database_url)
        reset_settings()
        try:
            assert "database: empty" in run("db", "current")
            assert f"database at migration {head_revision()}" in run("db", "upgrade")
            assert "database at migration base" in run("db", "downgrade", "base")
        finally:
            dispose_engines()
            reset_settings()


@pytest.mark.usefixtures("committed_db")
class TestClassifyAndReview:
    def test_import_classify_review_export(self, data_dir: Path, tmp_path: Path) -> None:
        run("journey", "import", str(data_dir / "fintech-journey.json"))
        labelled = str(data_dir / "labelled-signals.csv")
        assert "11 confirmed placements" in run(
            "signals",
            "import",
            labelled,
            "--journey",
            "card-customer-lifecycle",
            "--step-column",
            "step",
        )
        unlabelled = tmp_path / "new.csv"
        unlabelled.write_text("text\nmy card has not arrived yet\nhello?\n")
        run("signals", "import", str(unlabelled), "--journey", "card-customer-lifecycle")
        summary = run("classify", "--journey", "card-customer-lifecycle")
        assert "2 placed" in summary
        exported = list(
            csv.DictReader(
                io.StringIO(
                    run(
                        "signals",
                        "export",
                        "--journey",
                        "card-customer-lifecycle",
                        "--format",
                        "csv",
                    )
                )
            )
        )
        assert len(exported) == 13
        placed = [r for r in exported if r["classifier"].startswith("offline")]
        assert {r["state"] for r in placed} <= {"classified", "needs_review"}
        waiting = [r for r in placed if r["state"] == "needs_review"]
        if waiting:
            listing = run("review", "list", "--journey", "card-customer-lifecycle")
            assert waiting[0]["text"][:20] in listing

    def test_reassign_through_the_cli(self, data_dir: Path, tmp_path: Path) -> None:
        run("journey", "import", str(data_dir / "fintech-journey.json"))
        unlabelled = tmp_path / "new.csv"
        unlabelled.write_text("text\nsomething odd happened\n")
        run("signals", "import", str(unlabelled), "--journey", "card-customer-lifecycle")
        run("classify", "--journey", "card-customer-lifecycle")
        from model.db import session_scope
        from model.tables import Signal

        with session_scope() as session:
            signal_id = session.query(Signal.id).scalar()
        run(
            "review",
            "reassign",
            str(signal_id),
            "--journey",
            "card-customer-lifecycle",
            "--step",
            "Customer closes account",
        )
        exported = run("signals", "export", "--journey", "card-customer-lifecycle")
        assert "something odd happened,Customer closes account,confirmed,person,1.0000" in exported
        result = runner.invoke(app, ["review", "accept", "424242"])
        assert result.exit_code == 1
        assert "no signal 424242" in result.stderr


@pytest.mark.usefixtures("prefect_harness")
class TestMetricsCommands:
    def test_source_sync_list_and_series(self, metric_env: Any) -> None:  # noqa: F811
        from datetime import UTC, datetime, timedelta

        from model.db import session_scope
        from model.services import items, workspaces
        from tests.tasks.test_metrics import capture

        with session_scope() as session:
            ws = workspaces.get_workspace(session, "acme")
            key = items.create_item(
                session,
                ws,
                {"type": "metric", "title": "Trials", "target": 2, "evaluation_period": "week"},
                "tests",
            ).key
        yesterday = datetime.now(UTC) - timedelta(days=1)
        capture(metric_env.url, [("trial_started", f"t{n}", yesterday, {}) for n in range(3)])
        source = ["metrics", "source", key, "--provider", "posthog", "--measure", "events"]
        bad = runner.invoke(app, [*source, "-w", "acme"])
        assert bad.exit_code == 1
        assert "event" in bad.stderr
        assert "waiting" not in run("metrics", "list", "-w", "acme")
        run(*source, "--event", "trial_started", "-w", "acme")
        assert "waiting" in run("metrics", "list", "-w", "acme")
        assert f"{key}: 3.0" in run("metrics", "sync", "-w", "acme")
        listing = run("metrics", "list", "-w", "acme")
        assert "ok" in listing
        assert "yes" in listing  # 3 against a target of 2, higher is better
        series = run("metrics", "series", key, "-w", "acme")
        assert re.search(r"│ 3\s+│", series), series

    def test_funnel_table_chart_and_artifact(self, metric_env: Any, tmp_path: Path) -> None:  # noqa: F811
        from datetime import UTC, datetime, timedelta

        from model.db import session_scope
        from model.services import journey_files, workspaces
        from tests.flows.test_pull_flows import artifact
        from tests.tasks.test_funnels import JOURNEY, PATHS, send

        with session_scope() as session:
            ws = workspaces.get_workspace(session, "acme")
            journey_files.import_journey(session, ws, JOURNEY, "tests")
        send(PATHS, datetime.now(UTC) - timedelta(days=2), metric_env.url)
        chart = tmp_path / "funnel.svg"
        output = run("funnel", "onboarding", "--days", "7", "--chart", str(chart), "-w", "acme")
        assert "Biggest drop-off: Connects an integration" in output
        assert "50%" in output
        assert chart.read_text().startswith("<svg")
        assert "Builds a report" in chart.read_text()
        assert "Biggest drop-off: **Connects an integration**" in str(
            artifact("funnel-acme-onboarding").data
        )


@pytest.mark.usefixtures("committed_db")
class TestAutomationCommands:
    def test_apply_a_file_complete_a_template_and_switch_them(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setenv("JOURNEYOPS_WEBHOOKS__ENCRYPTION_KEY", "cli-test-key-0123456789abcdef")
        from model.settings import reset_settings

        reset_settings()
        file = tmp_path / "automations.yaml"
        file.write_text(
            "automations:\n"
            "  - name: New items\n"
            "    trigger: {kind: item_created}\n"
            "    actions:\n"
            "      - {type: message, channel: discord, template: 'New: {item}',\n"
            "         webhook_url: 'https://discord.com/api/webhooks/1/secret-token'}\n"
        )
        applied = run("automations", "apply", str(file), "--activate")
        assert "created new-items (active)" in applied
        shown = run("automations", "show", "new-items")
        # Where its Prefect deployment stands (whether a server answers depends on the run).
        assert "\nprefect: " in shown
        assert "secret-token" not in shown
        drafted = runner.invoke(app, ["automations", "new", "weekly-pulse", "--name", "Pulse"])
        assert drafted.exit_code == 0
        assert "give the slack incoming webhook URL" in drafted.output
        refused = runner.invoke(app, ["automations", "activate", "pulse"])
        assert refused.exit_code == 1
        assert "cannot be activated" in refused.output
        given = runner.invoke(
            app,
            ["automations", "set-url", "pulse", "1"],
            input="https://hooks.slack.com/services/T1/B1/xyz\n",
        )
        assert given.exit_code == 0, given.output
        still = runner.invoke(app, ["automations", "activate", "pulse"])
        assert "{pulse} needs a journey" in still.output
        assert "give the slack" not in still.output
        assert "new-items: paused" in run("automations", "pause", "new-items")
        listed = run("automations", "list")
        assert "draft" in listed
        assert "paused" in listed
        broken = tmp_path / "broken.yaml"
        broken.write_text("name: X\ntrigger: {kind: item_created}\nactions: []\n")
        bad = runner.invoke(app, ["automations", "apply", str(broken)])
        assert bad.exit_code == 1
        assert "automation 1: actions" in bad.output
        assert "pulse: deleted" in run("automations", "delete", "pulse")
