"""prefect.yaml and the serve entry point name flows that exist, with their parameters."""

from __future__ import annotations

import importlib
import inspect
from pathlib import Path

import yaml
from prefect import Flow

from deployments.serve import deployments

ROOT = Path(__file__).resolve().parents[2]


class TestPrefectYaml:
    def test_every_entrypoint_is_a_flow_taking_the_given_parameters(self) -> None:
        config = yaml.safe_load((ROOT / "prefect.yaml").read_text())
        assert config["prefect-version"] == "3.8.8"
        for deployment in config["deployments"]:
            path, name = deployment["entrypoint"].split(":")
            module = importlib.import_module(path.removesuffix(".py").replace("/", "."))
            flow = getattr(module, name)
            assert isinstance(flow, Flow), deployment["entrypoint"]
            accepted = set(inspect.signature(flow.fn).parameters)
            assert set(deployment.get("parameters", {})) <= accepted, deployment["entrypoint"]
            assert deployment["work_pool"]["name"] == "journeyops"

    def test_classification_follows_each_completed_pull(self) -> None:
        config = yaml.safe_load((ROOT / "prefect.yaml").read_text())
        [after] = [d for d in config["deployments"] if d["name"] == "after-pulls"]
        [trigger] = after["triggers"]
        assert trigger["expect"] == ["prefect.flow-run.Completed"]
        assert trigger["match_related"]["prefect.resource.name"] == "pull-workspace"

    def test_the_scheduled_pull_runs_every_15_minutes(self) -> None:
        config = yaml.safe_load((ROOT / "prefect.yaml").read_text())
        scheduled = {
            d["entrypoint"]: d["schedules"] for d in config["deployments"] if d.get("schedules")
        }
        assert scheduled["flows/pull.py:pull_workspace"] == [{"interval": 900}]
        assert scheduled["flows/webhooks.py:process_webhooks"] == [{"interval": 300}]
        assert scheduled["flows/tickets.py:push_tickets"] == [{"interval": 300}]
        assert scheduled["flows/tickets.py:sync_tickets"] == [{"interval": 900}]
        assert scheduled["flows/metrics.py:sync_metrics"] == [{"interval": 3600}]
        assert scheduled["flows/automations.py:dispatch_automations"] == [{"interval": 120}]
        assert scheduled["flows/funnels.py:journey_funnel"] == [
            {"cron": "0 6 * * *", "timezone": "UTC"}
        ]


class TestServe:
    def test_serve_builds_a_scheduled_and_on_demand_deployments(self) -> None:
        built = deployments("acme")
        assert [d.name for d in built] == [
            "acme-every-15-minutes",
            "acme-on-demand",
            "acme-on-demand",
            "acme-on-demand",
            "acme-every-5-minutes",
            "acme-every-15-minutes",
            "acme-hourly",
            "acme-daily",
            "acme-on-delivery",
            "acme-every-2-minutes",
        ]
        assert [d.flow_name for d in built[-6:-1]] == [
            "push-tickets",
            "sync-tickets",
            "sync-metrics",
            "journey-funnel",
            "process-webhooks",
        ]
        assert built[0].schedules[0].schedule.interval.total_seconds() == 900
        assert all(d.parameters == {"workspace": "acme"} for d in built[:-1])
