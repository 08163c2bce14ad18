"""``journeyops demo``: the example workspace, built through the same import as any file."""

from __future__ import annotations

from importlib import resources

import yaml

from cli.context import console, database
from cli.render import journey_tree
from model.schemas import MemberSpec, WorkspaceSpec
from model.services import journey_files, journeys, views, workspaces

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


def load_demo_file(name: str) -> dict[str, object]:
    """Return one of the demo's journey files, shipped with the package."""
    text = resources.files("cli").joinpath("demo", name).read_text(encoding="utf-8")
    data = yaml.safe_load(text)
    assert isinstance(data, dict)
    return data


def run_demo() -> None:
    """Build (or refresh) the demo workspace and print its journeys as trees."""
    with database() as (session, settings):
        workspace = workspaces.ensure_workspace(session, WORKSPACE.slug or "", WORKSPACE.name)
        workspace.linear_team_key = WORKSPACE.linear_team_key
        workspace.jira_project_key = WORKSPACE.jira_project_key
        for member in MEMBERS:
            workspaces.ensure_member(session, workspace, member)
        slugs = []
        for name in JOURNEY_FILES:
            report = journey_files.import_journey(session, workspace, load_demo_file(name), "demo")
            slugs.append(report.journey_slug)
        console.print(
            f"[bold]{workspace.name}[/] ({workspace.slug}) on {settings.resolved_database_url}\n"
        )
        for slug in slugs:
            journey = journeys.get_journey(session, workspace.id, slug)
            console.print(journey_tree(views.journey_view(session, journey)))
            console.print()
    console.print(
        "Next: [bold]journeyops journey export trial-to-paid -w acme-product-team[/] "
        "or [bold]journeyops journey items trial-to-paid -w acme-product-team[/]"
    )
