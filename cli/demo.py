"""``journeyops demo``: the example workspace, built through the same import as any file."""

from __future__ import annotations

import os
from dataclasses import replace
from importlib import resources

import httpx
import yaml
from sqlalchemy.orm import Session

from cli.context import console, database
from cli.render import automation_table, funnel_table, journey_tree, metric_table, ticket_table
from connectors.sandbox import chat, trackers
from connectors.sandbox import data as sandbox_data
from connectors.sandbox.seed import capture_events
from connectors.sandbox.server import SandboxServer, free_port, port_is_free
from flows.automations import dispatch_automations, run_automation
from flows.funnels import journey_funnel
from flows.metrics import MetricsBroken, sync_metrics
from flows.tickets import push_tickets
from model import repository
from model.automations import PULSE_TEMPLATE
from model.schemas import MemberSpec, WorkspaceSpec
from model.services import (
    automations,
    items,
    journey_files,
    metrics,
    sources,
    tickets,
    views,
    workspaces,
)
from model.settings import reset_settings
from model.tables import Workspace

WORKSPACE = WorkspaceSpec(
    name="Acme product team",
    slug="acme-product-team",
    linear_team_key="GROWTH",
    jira_project_key="ACT",
)
MEMBERS = [
    MemberSpec(email="maya@acme.example", name="Maya Chen", role="owner"),
    MemberSpec(email="leo@acme.example", name="Leo Martins", role="editor"),
    MemberSpec(email="priya@acme.example", name="Priya Nair", role="viewer"),
]
JOURNEY_FILES = ["trial-to-paid.yaml", "team-expansion.yaml"]
# The journey the sandbox's signals are about.
DEMO_JOURNEY = "trial-to-paid"
DEMO_FUNNEL_CUSTOMERS = 300


def load_demo_file(name: str) -> dict[str, object]:
    """Return one of the demo's journey files, shipped with the package."""
    text = resources.files("cli").joinpath("demo", name).read_text(encoding="utf-8")
    data = yaml.safe_load(text)
    assert isinstance(data, dict)
    return data


SANDBOX_PORT = 8765


def start_sandbox() -> tuple[str, SandboxServer | None]:
    """Start the stand-ins on the usual port, or use the ones already serving there."""
    try:
        response = httpx.get(f"http://127.0.0.1:{SANDBOX_PORT}/_sandbox/stats", timeout=1)
        if response.status_code == 200:
            return f"http://127.0.0.1:{SANDBOX_PORT}", None
    except httpx.HTTPError:
        pass
    generated = sandbox_data.generate(funnel_customers=DEMO_FUNNEL_CUSTOMERS)
    # PostHog's events arrive the way a product sends them: through its capture client.
    without_events = replace(generated, posthog_events=[], broken_rows={})
    port = SANDBOX_PORT if port_is_free(SANDBOX_PORT) else free_port()
    server = SandboxServer(without_events, port=port).start()
    capture_events(server.url, generated)
    return server.url, server


def use_sandbox_keys() -> None:
    """Point this process's settings at the stand-ins' keys."""
    os.environ["JOURNEYOPS_STRIPE__API_KEY"] = sandbox_data.STRIPE_KEY
    os.environ["JOURNEYOPS_INTERCOM__ACCESS_TOKEN"] = sandbox_data.INTERCOM_TOKEN
    os.environ["JOURNEYOPS_POSTHOG__PERSONAL_API_KEY"] = sandbox_data.POSTHOG_KEY
    reset_settings()


def use_sandbox_trackers(url: str) -> None:
    """Point this process's Linear and Jira settings at the stand-ins."""
    os.environ["JOURNEYOPS_LINEAR__API_KEY"] = trackers.LINEAR_KEY
    os.environ["JOURNEYOPS_LINEAR__URL"] = f"{url}/linear/graphql"
    os.environ["JOURNEYOPS_JIRA__URL"] = f"{url}/jira"
    os.environ["JOURNEYOPS_JIRA__EMAIL"] = trackers.JIRA_EMAIL
    os.environ["JOURNEYOPS_JIRA__API_TOKEN"] = trackers.JIRA_TOKEN
    reset_settings()


DEMO_OPPORTUNITY = "opportunity-let-admins-connect-tools-without-handling-api-keys"


def push_demo_tickets() -> None:
    """Mark the demo opportunity for follow-up in both trackers and push it."""
    with database() as (session, _):
        workspace = workspaces.get_workspace(session, WORKSPACE.slug or "")
        item = items.get_item_by_key(session, workspace.id, DEMO_OPPORTUNITY)
        for tracker in ("linear", "jira"):
            tickets.request_ticket(session, item, tracker, "demo")
    console.print(
        "Pushing the demo opportunity to the sandbox Linear and Jira (Prefect flow run)..."
    )
    push_tickets(WORKSPACE.slug)
    with database() as (session, _):
        workspace = workspaces.get_workspace(session, WORKSPACE.slug or "")
        console.print(ticket_table(repository.ticket_links(session, workspace.id)))


DEMO_METRIC_SOURCES = {
    "metric-api-key-errors-per-week": {
        "provider": "posthog",
        "measure": "events",
        "event": "api_key_error",
    },
    "metric-failed-payments-per-week": {"provider": "stripe", "measure": "failed_payments"},
}


def sync_demo_metrics() -> None:
    """Give two demo metrics their sandbox sources and sync them."""
    with database() as (session, _):
        workspace = workspaces.get_workspace(session, WORKSPACE.slug or "")
        for key, source in DEMO_METRIC_SOURCES.items():
            item = items.get_item_by_key(session, workspace.id, key)
            metrics.set_source(session, item, source, "demo")
    console.print("Syncing two metrics from the sandbox PostHog and Stripe (Prefect flow run)...")
    try:
        sync_metrics(WORKSPACE.slug)
    except MetricsBroken as error:
        console.print(f"[red]{error}[/]")
    with database() as (session, _):
        workspace = workspaces.get_workspace(session, WORKSPACE.slug or "")
        console.print(metric_table(session, workspace.id))


def print_demo_funnel() -> None:
    """The demo journey's funnel over the sandbox's trial customers."""
    console.print(
        "Computing the trial-to-paid funnel from the sandbox PostHog (Prefect flow run)..."
    )
    [result] = journey_funnel(WORKSPACE.slug, DEMO_JOURNEY, 30)
    console.print(funnel_table(result))
    if result.biggest_drop is not None:
        console.print(f"Biggest drop-off: {result.biggest_drop.name}")


DEMO_AUTOMATIONS: list[dict[str, object]] = [
    {
        "name": "Operating loop",
        "description": "Pull the sources, place the new signals, and post the pulse.",
        "trigger": {"kind": "schedule", "every": "weekly", "weekdays": ["mon"], "at": "09:00"},
        "filters": {"journeys": [DEMO_JOURNEY]},
        "actions": [
            {"type": "pull"},
            {"type": "classify"},
            {"type": "message", "channel": "slack", "template": PULSE_TEMPLATE},
        ],
    },
    {
        "name": "Proposed opportunities to Linear",
        "description": "Every opportunity the evidence proposes becomes a Linear issue.",
        "trigger": {"kind": "item_created"},
        "filters": {"journeys": [DEMO_JOURNEY], "item_types": ["opportunity"]},
        "actions": [{"type": "ticket", "tracker": "linear"}],
    },
]


def run_operating_loop(url: str) -> None:
    """The loop as automations, each run a Prefect flow run: pull, classify and group, post
    the pulse to the sandbox Slack; the opportunities the evidence proposed go to Linear."""
    # The sandbox Slack address is stored encrypted like any incoming webhook URL; the demo
    # brings a key when the user has none set.
    os.environ.setdefault("JOURNEYOPS_WEBHOOKS__ENCRYPTION_KEY", "journeyops-demo-sandbox-key")
    reset_settings()
    with database() as (session, _):
        workspace = workspaces.get_workspace(session, WORKSPACE.slug or "")
        for data in DEMO_AUTOMATIONS:
            spec = automations.parse_spec(data)
            automation, _ = automations.save(session, workspace, spec, "demo")
            if automation.actions[-1]["type"] == "message":
                last = len(automation.actions)
                automations.set_webhook_url(session, automation, last, chat.slack_url(url), "demo")
            if automation.status != "active":
                automations.activate(session, automation, "demo")
        loop = automations.get_automation(session, workspace.id, "operating-loop")
        run_id = automations.request_manual_run(session, loop, "demo").id
    console.print(
        f"Running the operating loop from the sandbox at {url} (Prefect flow runs: "
        "run-automation, pull-workspace, classify-signals)..."
    )
    run_automation(WORKSPACE.slug or "", "operating-loop", str(run_id))
    console.print(
        "Pushing the proposed opportunities to the sandbox Linear (dispatch-automations)..."
    )
    dispatch_automations(grace_seconds=0)
    with database() as (session, _):
        workspace = workspaces.get_workspace(session, WORKSPACE.slug or "")
        console.print(automation_table(session, repository.automations(session, workspace.id)))
    posted = httpx.get(f"{url}/_sandbox/messages", timeout=5).json()["messages"]
    if posted:
        console.print("[bold]Posted to the sandbox Slack:[/]")
        console.print(posted[-1]["text"], markup=False)


def run_demo() -> None:
    """Build the demo workspace, pull the sandbox, place the signals and print the journeys."""
    # The temporary Prefect server of these runs lives only as long as the demo, offline:
    # it has nothing to report (a user's own setting wins).
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    build_workspace()
    url, server = start_sandbox()
    try:
        use_sandbox_keys()
        with database() as (session, _):
            workspace = workspaces.get_workspace(session, WORKSPACE.slug or "")
            configure_sandbox_sources(session, workspace, url)
        use_sandbox_trackers(url)
        run_operating_loop(url)
        push_demo_tickets()
        sync_demo_metrics()
        print_demo_funnel()
    finally:
        if server is not None:
            server.stop()
    print_journeys()
    console.print(
        "Next: [bold]journeyops journey export trial-to-paid -w acme-product-team[/], "
        "[bold]journeyops signals list -w acme-product-team[/]"
    )


def configure_sandbox_sources(session: Session, workspace: Workspace, url: str) -> None:
    sources.configure_source(session, workspace, "stripe", base_url=f"{url}/stripe", enabled=True)
    sources.configure_source(
        session, workspace, "intercom", base_url=f"{url}/intercom", enabled=True
    )
    sources.configure_source(
        session,
        workspace,
        "posthog",
        base_url=f"{url}/posthog",
        enabled=True,
        options={
            "project_id": sandbox_data.POSTHOG_PROJECT,
            "events": [name for name, _, _ in sandbox_data.FRICTION_EVENTS],
        },
    )


def build_workspace() -> None:
    """Build (or refresh) the demo workspace and print its journeys as trees."""
    with database() as (session, settings):
        workspace = workspaces.ensure_workspace(session, WORKSPACE.slug or "", WORKSPACE.name)
        workspace.linear_team_key = WORKSPACE.linear_team_key
        workspace.jira_project_key = WORKSPACE.jira_project_key
        for member in MEMBERS:
            workspaces.ensure_member(session, workspace, member)
        for name in JOURNEY_FILES:
            journey_files.import_journey(session, workspace, load_demo_file(name), "demo")
        console.print(
            f"[bold]{workspace.name}[/] ({workspace.slug}) on {settings.resolved_database_url}\n"
        )


def print_journeys() -> None:
    """Print the demo's journeys as trees, with the signals placed on each step."""
    with database() as (session, _):
        workspace = workspaces.get_workspace(session, WORKSPACE.slug or "")
        for journey in repository.journeys(session, workspace.id):
            console.print(journey_tree(views.journey_view(session, journey)))
            console.print()
