"""The ``journeyops`` console command."""

from __future__ import annotations

import csv
import io
import sys
from datetime import timedelta
from pathlib import Path

import typer
from rich.progress import BarColumn, Progress, TextColumn
from rich.table import Table
from sqlalchemy.orm import Session

from cli import demo as demo_module
from cli.context import console, database, err_console, friendly_errors
from cli.render import classify_summary, journey_tree, pull_table
from model import migrate, repository
from model.enums import Role
from model.errors import InvalidInput
from model.schemas import MemberSpec, MetricSourceSpec, WorkspaceSpec, parse
from model.services import (
    automations,
    classification,
    evidence,
    items,
    journey_files,
    journeys,
    signal_files,
    sources,
    views,
    webhook_secrets,
    workspaces,
)
from model.settings import get_settings
from model.tables import Automation, Workspace

DEFAULT_WORKSPACE = "default"

app = typer.Typer(
    help="journeyops: a living customer journey, kept current from customer signals.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
db_app = typer.Typer(help="Database schema migrations.", no_args_is_help=True)
workspace_app = typer.Typer(help="Workspaces.", no_args_is_help=True)
member_app = typer.Typer(help="Members of a workspace and their roles.", no_args_is_help=True)
token_app = typer.Typer(help="API tokens of a workspace.", no_args_is_help=True)
journey_app = typer.Typer(help="Journeys: import, export, show.", no_args_is_help=True)
source_app = typer.Typer(help="Where a workspace pulls signals from.", no_args_is_help=True)
signals_app = typer.Typer(help="Signals pulled from the sources.", no_args_is_help=True)
webhook_app = typer.Typer(help="A workspace's own webhook signing secrets.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(workspace_app, name="workspace")
app.add_typer(member_app, name="member")
app.add_typer(token_app, name="token")
app.add_typer(journey_app, name="journey")
app.add_typer(source_app, name="source")
app.add_typer(signals_app, name="signals")
app.add_typer(webhook_app, name="webhook")

WorkspaceOption = typer.Option(
    None, "--workspace", "-w", help="Workspace slug (default: JOURNEYOPS_WORKSPACE or 'default')."
)


def _workspace(session: Session, value: str | None) -> Workspace:
    """Return the chosen workspace; the default one is created on first use."""
    slug = value or get_settings().workspace
    if slug == DEFAULT_WORKSPACE:
        return workspaces.ensure_workspace(session, slug, "Default workspace")
    return workspaces.get_workspace(session, slug)


@app.command()
@friendly_errors
def demo() -> None:
    """Build the example workspace on the configured database and print its journeys."""
    demo_module.run_demo()


# db -----------------------------------------------------------------------------------------


@db_app.command("upgrade")
@friendly_errors
def db_upgrade(revision: str = typer.Argument("head", help="Migration to go up to.")) -> None:
    """Migrate the database up (to the latest migration by default)."""
    url = get_settings().resolved_database_url
    migrate.upgrade(url, revision)
    console.print(f"database at migration [bold]{migrate.current_revision(url)}[/]")


@db_app.command("downgrade")
@friendly_errors
def db_downgrade(
    revision: str = typer.Argument(..., help="Migration to go down to, or 'base'."),
) -> None:
    """Migrate the database down to REVISION ('base' removes every table)."""
    url = get_settings().resolved_database_url
    migrate.downgrade(url, revision)
    console.print(f"database at migration [bold]{migrate.current_revision(url) or 'base'}[/]")


@db_app.command("current")
@friendly_errors
def db_current() -> None:
    """Show the database's migration and the newest one this version ships."""
    url = get_settings().resolved_database_url
    console.print(
        f"database: {migrate.current_revision(url) or 'empty'}; latest: {migrate.head_revision()}"
    )


# workspaces ---------------------------------------------------------------------------------


@workspace_app.command("create")
@friendly_errors
def workspace_create(
    name: str = typer.Argument(..., help="The workspace's name."),
    slug: str | None = typer.Option(None, help="Slug (default: made from the name)."),
    owner_email: str | None = typer.Option(None, "--owner", help="Email of its first owner."),
    owner_name: str | None = typer.Option(None, help="Name of its first owner."),
) -> None:
    """Create a workspace, optionally with its first owner."""
    with database() as (session, _):
        workspace = workspaces.create_workspace(
            session, parse(WorkspaceSpec, {"name": name, "slug": slug})
        )
        if owner_email:
            spec = parse(
                MemberSpec,
                {"email": owner_email, "name": owner_name or owner_email, "role": "owner"},
            )
            workspaces.add_member(session, workspace, spec)
        console.print(f"created workspace [bold]{workspace.name}[/] ({workspace.slug})")


@workspace_app.command("list")
@friendly_errors
def workspace_list() -> None:
    """List workspaces."""
    with database() as (session, _):
        table = Table("slug", "name")
        for workspace in repository.workspaces(session):
            table.add_row(workspace.slug, workspace.name)
        console.print(table)


# members ------------------------------------------------------------------------------------


@member_app.command("add")
@friendly_errors
def member_add(
    email: str,
    name: str = typer.Option(..., help="The member's name."),
    role: Role = typer.Option(Role.VIEWER, help="owner, editor or viewer."),
    workspace: str | None = WorkspaceOption,
) -> None:
    """Add a member to a workspace."""
    with database() as (session, _):
        ws = _workspace(session, workspace)
        member = workspaces.add_member(
            session, ws, parse(MemberSpec, {"email": email, "name": name, "role": role})
        )
        console.print(f"added {member.email} as {member.role}")


@member_app.command("role")
@friendly_errors
def member_role(email: str, role: Role, workspace: str | None = WorkspaceOption) -> None:
    """Change a member's role."""
    with database() as (session, _):
        ws = _workspace(session, workspace)
        member = workspaces.change_role(session, workspaces.get_member(session, ws.id, email), role)
        console.print(f"{member.email} is now {member.role}")


@member_app.command("remove")
@friendly_errors
def member_remove(email: str, workspace: str | None = WorkspaceOption) -> None:
    """Remove a member and revoke its tokens."""
    with database() as (session, _):
        ws = _workspace(session, workspace)
        workspaces.remove_member(session, workspaces.get_member(session, ws.id, email))
        console.print(f"removed {email}")


@member_app.command("list")
@friendly_errors
def member_list(workspace: str | None = WorkspaceOption) -> None:
    """List a workspace's members."""
    with database() as (session, _):
        ws = _workspace(session, workspace)
        table = Table("email", "name", "role")
        for member in repository.members(session, ws.id):
            table.add_row(member.email, member.name, member.role)
        console.print(table)


# tokens -------------------------------------------------------------------------------------


@token_app.command("create")
@friendly_errors
def token_create(
    member: str = typer.Option(..., "--member", help="Email of the member the token acts as."),
    name: str = typer.Option(..., help="What the token is for."),
    expires_in_days: int | None = typer.Option(
        None, help="Days until it expires (default: never)."
    ),
    workspace: str | None = WorkspaceOption,
) -> None:
    """Create an API token; it is printed once and cannot be shown again."""
    with database() as (session, _):
        ws = _workspace(session, workspace)
        owner = workspaces.get_member(session, ws.id, member)
        expires = timedelta(days=expires_in_days) if expires_in_days is not None else None
        issued = workspaces.create_token(session, owner, name, expires_in=expires)
    err_console.print(
        f"token for {owner.email} ({owner.role}); store it now, it is not shown again:"
    )
    # The secret alone on standard output, so `TOKEN=$(journeyops token create ...)` works.
    sys.stdout.write(issued.secret + "\n")


@webhook_app.command("secret")
@friendly_errors
def webhook_secret(
    provider: str = typer.Argument(..., help="stripe, intercom, posthog, linear or jira."),
    generate: bool = typer.Option(
        False, "--generate", help="Make a random secret (PostHog's shared header) instead."
    ),
    workspace: str | None = WorkspaceOption,
) -> None:
    """Set the workspace's signing secret for PROVIDER, read from standard input.

    Stored encrypted with JOURNEYOPS_WEBHOOKS__ENCRYPTION_KEY; deliveries to
    /webhooks/PROVIDER/WORKSPACE must then be signed with it.
    """
    given = None if generate else sys.stdin.readline().strip()
    with database() as (session, _):
        ws = _workspace(session, workspace)
        row, secret = webhook_secrets.set_secret(session, ws, provider, given, "cli")
    err_console.print(
        f"{row.provider} deliveries to /webhooks/{row.provider}/{ws.slug} are checked with the "
        f"secret {row.hint}"
    )
    if generate:
        sys.stdout.write(secret + "\n")


@webhook_app.command("list")
@friendly_errors
def webhook_list(workspace: str | None = WorkspaceOption) -> None:
    """List the providers the workspace has its own secret for (never the secrets)."""
    with database() as (session, _):
        ws = _workspace(session, workspace)
        table = Table("provider", "secret", "set at", "by")
        for row in repository.webhook_secrets(session, ws.id):
            table.add_row(
                row.provider, row.hint, row.created_at.isoformat(timespec="minutes"), row.created_by
            )
        console.print(table)


@webhook_app.command("remove")
@friendly_errors
def webhook_remove(provider: str, workspace: str | None = WorkspaceOption) -> None:
    """Remove the workspace's own secret; the service-wide one applies again."""
    with database() as (session, _):
        webhook_secrets.remove_secret(session, _workspace(session, workspace), provider)
    err_console.print(f"removed the workspace's {provider} webhook secret")


@token_app.command("list")
@friendly_errors
def token_list(workspace: str | None = WorkspaceOption) -> None:
    """List tokens by their visible prefix."""
    with database() as (session, _):
        ws = _workspace(session, workspace)
        table = Table("prefix", "name", "member", "role", "expires", "state")
        for token in repository.tokens(session, ws.id):
            state = "revoked" if token.revoked_at else "active"
            expires = (
                token.expires_at.isoformat(timespec="minutes") if token.expires_at else "never"
            )
            table.add_row(
                token.prefix, token.name, token.member.email, token.member.role, expires, state
            )
        console.print(table)


@token_app.command("revoke")
@friendly_errors
def token_revoke(prefix: str, workspace: str | None = WorkspaceOption) -> None:
    """Revoke the token whose prefix starts with PREFIX."""
    with database() as (session, _):
        ws = _workspace(session, workspace)
        token = workspaces.revoke_token(session, ws.id, prefix)
        console.print(f"revoked {token.prefix}… ({token.name})")


# journeys -----------------------------------------------------------------------------------


@journey_app.command("import")
@friendly_errors
def journey_import(
    file: Path = typer.Argument(
        ..., exists=True, dir_okay=False, help="A .json, .yaml or .yml journey file."
    ),
    workspace: str | None = WorkspaceOption,
) -> None:
    """Create or update a journey from a journey file; importing twice changes nothing."""
    data = journey_files.load_file(file)
    with database() as (session, settings):
        ws = _workspace(session, workspace)
        with Progress(
            TextColumn("importing {task.description}"),
            BarColumn(),
            console=err_console,
            transient=True,
        ) as bar:
            task = bar.add_task(file.name, total=None)
            report = journey_files.import_journey(
                session,
                ws,
                data,
                settings.actor,
                progress=lambda done, total: bar.update(task, completed=done, total=total),
            )
    verdict = "imported" if report.changed else "nothing to change in"
    console.print(f"{verdict} journey [bold]{report.journey_slug}[/] in workspace {ws.slug}")
    for line in report.lines():
        console.print(f"  {line}")


@journey_app.command("export")
@friendly_errors
def journey_export(
    slug: str,
    output: Path | None = typer.Option(
        None, "--output", "-o", help="File to write (default: standard output)."
    ),
    fmt: str | None = typer.Option(
        None, "--format", "-f", help="json or yaml (default: from the file name, else json)."
    ),
    workspace: str | None = WorkspaceOption,
) -> None:
    """Write a journey as a journey file that `journey import` reads back."""
    if fmt is None:
        fmt = (
            "yaml" if output is not None and output.suffix.lower() in {".yaml", ".yml"} else "json"
        )
    with database() as (session, _):
        ws = _workspace(session, workspace)
        text = journey_files.dump(
            journey_files.export_journey(session, journeys.get_journey(session, ws.id, slug)), fmt
        )
    if output is None:
        sys.stdout.write(text)
    else:
        output.write_text(text, encoding="utf-8")
        err_console.print(f"wrote {output}")


@journey_app.command("items")
@friendly_errors
def journey_items(
    slug: str,
    output: Path | None = typer.Option(
        None, "--output", "-o", help="CSV file to write (default: standard output)."
    ),
    workspace: str | None = WorkspaceOption,
) -> None:
    """Export a journey's items as CSV, one row per placement."""
    with database() as (session, _):
        ws = _workspace(session, workspace)
        rows = views.placement_rows(session, journeys.get_journey(session, ws.id, slug))
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=views.TABLE_COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    if output is None:
        sys.stdout.write(buffer.getvalue())
    else:
        output.write_text(buffer.getvalue(), encoding="utf-8")
        err_console.print(f"wrote {len(rows)} rows to {output}")


@journey_app.command("list")
@friendly_errors
def journey_list(workspace: str | None = WorkspaceOption) -> None:
    """List the workspace's journeys."""
    with database() as (session, _):
        ws = _workspace(session, workspace)
        table = Table("slug", "name", "stages", "steps")
        for journey in repository.journeys(session, ws.id):
            stages = repository.journey_tree(session, journey.id)
            table.add_row(
                journey.slug, journey.name, str(len(stages)), str(sum(len(s.steps) for s in stages))
            )
        console.print(table)


@journey_app.command("show")
@friendly_errors
def journey_show(slug: str, workspace: str | None = WorkspaceOption) -> None:
    """Print a journey as a tree of stages, steps and items."""
    with database() as (session, _):
        ws = _workspace(session, workspace)
        console.print(
            journey_tree(views.journey_view(session, journeys.get_journey(session, ws.id, slug)))
        )


@journey_app.command("history")
@friendly_errors
def journey_history(
    slug: str, workspace: str | None = WorkspaceOption, limit: int = typer.Option(50, min=1)
) -> None:
    """Show the latest changes to a journey and the items on it."""
    with database() as (session, _):
        ws = _workspace(session, workspace)
        events = repository.journey_history(session, journeys.get_journey(session, ws.id, slug).id)
        table = Table("when", "who", "what")
        for event in list(events)[-limit:]:
            table.add_row(event.at.isoformat(timespec="seconds"), event.actor, event.summary)
        console.print(table)


# sources and signals -------------------------------------------------------------------------


def _options(pairs: list[str]) -> dict[str, str]:
    options = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name:
            raise typer.BadParameter(f"{pair!r} is not NAME=VALUE", param_hint="--option")
        options[name.strip()] = value.strip()
    return options


@source_app.command("set")
@friendly_errors
def source_set(
    source: str = typer.Argument(..., help="stripe, intercom or posthog."),
    base_url: str | None = typer.Option(None, help="API address (default: the service's own)."),
    option: list[str] = typer.Option([], "--option", "-o", help="NAME=VALUE, repeatable."),
    secret_block: str | None = typer.Option(None, help="Prefect Secret block with the key."),
    enabled: bool | None = typer.Option(None, "--enable/--disable", help="Pull it or not."),
    workspace: str | None = WorkspaceOption,
) -> None:
    """Configure how a workspace pulls a source; keys stay in settings or a Secret block."""
    with database() as (session, _):
        ws = _workspace(session, workspace)
        config = sources.configure_source(
            session,
            ws,
            source,
            enabled=enabled,
            base_url=base_url,
            options=_options(option),
            secret_block=secret_block,
        )
        state = "enabled" if config.enabled else "disabled"
        console.print(f"{source} for {ws.slug}: {state}, {config.base_url or 'default address'}")


@source_app.command("list")
@friendly_errors
def source_list(workspace: str | None = WorkspaceOption) -> None:
    """List the workspace's sources and where their cursors are."""
    with database() as (session, _):
        ws = _workspace(session, workspace)
        table = Table("source", "enabled", "address", "options", "secret block", "cursor")
        for config in repository.source_configs(session, ws.id):
            cursors = repository.source_cursors(session, ws.id, config.source)
            table.add_row(
                config.source,
                "yes" if config.enabled else "no",
                config.base_url or "default",
                ", ".join(f"{k}={v}" for k, v in (config.options or {}).items()),
                config.secret_block or "-",
                "; ".join(f"{k}: {v}" for k, v in cursors.items()) or "not pulled yet",
            )
        console.print(table)


@app.command()
@friendly_errors
def pull(
    source: list[str] = typer.Argument(None, help="Sources to pull (default: every enabled one)."),
    workspace: str | None = WorkspaceOption,
) -> None:
    """Pull signals now, as a Prefect flow run."""
    from flows.pull import pull_workspace

    with database() as (session, _):
        slug = _workspace(session, workspace).slug
    summaries = pull_workspace(slug, sources=list(source) if source else None)
    console.print(pull_table(summaries))


@signals_app.command("list")
@friendly_errors
def signals_list(
    source: str | None = typer.Option(None, help="Only this source."),
    state: str | None = typer.Option(None, help="Only this placement state."),
    limit: int = typer.Option(20, min=1),
    workspace: str | None = WorkspaceOption,
) -> None:
    """Show the latest signals."""
    with database() as (session, _):
        ws = _workspace(session, workspace)
        counts = repository.signal_counts(session, ws.id)
        table = Table("when", "source", "state", "text")
        for signal in repository.signals(session, ws.id, source=source, state=state, limit=limit):
            table.add_row(
                signal.occurred_at.isoformat(timespec="minutes"),
                signal.source,
                signal.state,
                signal.text[:120],
            )
    console.print(table)
    console.print(", ".join(f"{n} from {s}" for s, n in sorted(counts.items())) or "no signals yet")


@signals_app.command("skipped")
@friendly_errors
def signals_skipped(
    source: str | None = typer.Option(None, help="Only this source."),
    limit: int = typer.Option(20, min=1),
    workspace: str | None = WorkspaceOption,
) -> None:
    """Show records a pull could not turn into signals, with the reason."""
    with database() as (session, _):
        ws = _workspace(session, workspace)
        table = Table("source", "record", "reason")
        for record in repository.skipped_records(session, ws.id, source, limit):
            table.add_row(record.source, record.external_id, record.reason)
    console.print(table)


@signals_app.command("runs")
@friendly_errors
def signals_runs(
    limit: int = typer.Option(10, min=1), workspace: str | None = WorkspaceOption
) -> None:
    """Show the latest pulls and what each did."""
    with database() as (session, _):
        ws = _workspace(session, workspace)
        table = Table(
            "run", "source", "status", "started", "pages", "created", "updated", "skipped", "error"
        )
        for run in repository.pull_runs(session, ws.id, limit=limit):
            table.add_row(
                str(run.id),
                run.source,
                run.status,
                run.started_at.isoformat(timespec="seconds"),
                str(run.pages),
                str(run.created),
                str(run.updated),
                str(run.skipped),
                (run.error_message or "")[:80],
            )
    console.print(table)


@signals_app.command("import")
@friendly_errors
def signals_import(
    file: Path = typer.Argument(..., exists=True, dir_okay=False, help="A CSV file."),
    journey: str = typer.Option(..., help="Slug of the journey the signals are about."),
    text_column: str = typer.Option("text", help="Column holding the signal's text."),
    step_column: str | None = typer.Option(
        None, help="Column naming each signal's step: rows become confirmed placements."
    ),
    workspace: str | None = WorkspaceOption,
) -> None:
    """Import signals from a CSV; with a step column they are training data."""
    with file.open(newline="", encoding="utf-8") as handle:
        rows = signal_files.read_rows(handle, text_column, step_column)
    with database() as (session, _):
        ws = _workspace(session, workspace)
        target = journeys.get_journey(session, ws.id, journey)
        with Progress(
            TextColumn("importing signals"), BarColumn(), console=err_console, transient=True
        ) as bar:
            bar.add_task("import", total=None)
            result = signal_files.import_signals(
                session,
                ws,
                target,
                rows,
                text_column=text_column,
                step_column=step_column,
                origin=file.name,
            )
    console.print(
        f"{result.created} created, {result.updated} updated, {result.unchanged} unchanged, "
        f"{result.confirmed} confirmed placements"
    )


@signals_app.command("export")
@friendly_errors
def signals_export(
    journey: str = typer.Option(..., help="Slug of the journey."),
    fmt: str = typer.Option("csv", "--format", help="csv (the only format)."),
    output: Path | None = typer.Option(
        None, "--output", "-o", help="File (default: standard output)."
    ),
    workspace: str | None = WorkspaceOption,
) -> None:
    """Export a journey's signals: text, step, state, classifier, confidence."""
    if fmt != "csv":
        raise typer.BadParameter("only csv is supported", param_hint="--format")
    with database() as (session, _):
        ws = _workspace(session, workspace)
        text = signal_files.to_csv(
            signal_files.export_rows(session, journeys.get_journey(session, ws.id, journey))
        )
    if output is None:
        sys.stdout.write(text)
    else:
        output.write_text(text, encoding="utf-8")
        err_console.print(f"wrote {output}")


@app.command()
@friendly_errors
def classify(
    journey: str = typer.Option(..., help="Slug of the journey to place signals on."),
    workspace: str | None = WorkspaceOption,
) -> None:
    """Place every signal not yet placed or confirmed on a step of the journey."""
    with database() as (session, settings):
        ws = _workspace(session, workspace)
        target = journeys.get_journey(session, ws.id, journey)
        with Progress(
            TextColumn("placing signals"), BarColumn(), console=err_console, transient=True
        ) as bar:
            bar.add_task("classify", total=None)
            report = classification.classify_journey(session, ws, target, settings.classify)
            grouped = evidence.group_into_insights(session, ws, target, settings.classify)
    console.print(classify_summary(report))
    console.print(
        f"evidence: {grouped.attached} signals attached, {grouped.insights_created} insights made, "
        f"{grouped.opportunities_proposed} opportunities proposed (machine-made until confirmed)"
    )


review_app = typer.Typer(
    help="Signals waiting for a person, and their corrections.", no_args_is_help=True
)
app.add_typer(review_app, name="review")


@review_app.command("list")
@friendly_errors
def review_list(
    journey: str = typer.Option(..., help="Slug of the journey."),
    limit: int = typer.Option(20, min=1),
    workspace: str | None = WorkspaceOption,
) -> None:
    """List signals waiting for review, least sure first, with their best guess."""
    with database() as (session, _):
        ws = _workspace(session, workspace)
        target = journeys.get_journey(session, ws.id, journey)
        names = {p.id: p.name for p in classification.step_profiles(session, target)}
        table = Table("id", "best guess", "confidence", "text")
        for signal in repository.signals_in_review(session, ws.id, target.id, limit):
            table.add_row(
                str(signal.id),
                names.get(signal.step_id or 0, "-"),
                f"{signal.confidence or 0:.2f}",
                signal.text[:100],
            )
    console.print(table)


@review_app.command("accept")
@friendly_errors
def review_accept(signal_ids: list[int], workspace: str | None = WorkspaceOption) -> None:
    """Confirm the placements of these signals."""
    with database() as (session, _):
        ws = _workspace(session, workspace)
        for signal_id in signal_ids:
            classification.accept(session, ws.id, signal_id)
    console.print(f"confirmed {len(signal_ids)} placement(s)")


@review_app.command("reassign")
@friendly_errors
def review_reassign(
    signal_id: int,
    step: str = typer.Option(..., help="Name of the right step."),
    journey: str = typer.Option(..., help="Slug of the journey."),
    workspace: str | None = WorkspaceOption,
) -> None:
    """Place a signal on the right step; it teaches the classifier from the next run on."""
    with database() as (session, _):
        ws = _workspace(session, workspace)
        target = journeys.get_journey(session, ws.id, journey)
        classification.reassign(session, ws.id, signal_id, target, step)
    console.print(f"signal {signal_id} placed on {step!r}")


@review_app.command("reject")
@friendly_errors
def review_reject(signal_ids: list[int], workspace: str | None = WorkspaceOption) -> None:
    """Mark these placements wrong, with no better step."""
    with database() as (session, _):
        ws = _workspace(session, workspace)
        for signal_id in signal_ids:
            classification.reject(session, ws.id, signal_id)
    console.print(f"rejected {len(signal_ids)} placement(s)")


@review_app.command("noise")
@friendly_errors
def review_noise(signal_ids: list[int], workspace: str | None = WorkspaceOption) -> None:
    """Mark these signals as noise."""
    with database() as (session, _):
        ws = _workspace(session, workspace)
        for signal_id in signal_ids:
            classification.mark_noise(session, ws.id, signal_id)
    console.print(f"marked {len(signal_ids)} signal(s) as noise")


item_app = typer.Typer(help="Items of the journey model.", no_args_is_help=True)
app.add_typer(item_app, name="item")


@item_app.command("confirm")
@friendly_errors
def item_confirm(keys: list[str], workspace: str | None = WorkspaceOption) -> None:
    """Confirm machine-made items: they become the team's own."""
    with database() as (session, settings):
        ws = _workspace(session, workspace)
        for key in keys:
            items.update_item(
                session,
                items.get_item_by_key(session, ws.id, key),
                {"machine_made": False},
                settings.actor,
            )
    console.print(f"confirmed {len(keys)} item(s)")


@app.command()
@friendly_errors
def api(
    host: str = typer.Option("127.0.0.1", help="Address to listen on."),
    port: int = typer.Option(8000, help="Port to listen on."),
    workers: int = typer.Option(
        1, min=1, help="Server processes; more than one spreads requests over the cores."
    ),
) -> None:
    """Serve the HTTP API (OpenAPI documentation at /docs) on the configured database."""
    import uvicorn

    settings = get_settings()
    migrate.ensure_schema(settings.resolved_database_url, auto_migrate=settings.auto_migrate)
    console.print(f"journeyops API on http://{host}:{port} (docs at /docs)")
    uvicorn.run(
        "api.app:create_app", factory=True, host=host, port=port, workers=workers, log_level="info"
    )


@app.command()
def sandbox(
    port: int = typer.Option(8765, help="Port on 127.0.0.1."),
    conversations: int = typer.Option(300, help="Intercom conversations to serve."),
    stripe_events: int = typer.Option(200, help="Stripe events to serve."),
    posthog_events: int = typer.Option(3000, help="PostHog events to serve."),
    malformed: int = typer.Option(3, help="Malformed records per source."),
    funnel_customers: int = typer.Option(
        300, help="Trial customers walking trial_started ... subscription_started in PostHog."
    ),
) -> None:
    """Serve the Stripe, Intercom, PostHog, Linear and Jira stand-ins on loopback until Ctrl-C."""
    import time

    from connectors.sandbox import data as sandbox_data
    from connectors.sandbox.server import SandboxServer

    data = sandbox_data.generate(
        conversations=conversations,
        stripe_events=stripe_events,
        posthog_events=posthog_events,
        malformed=malformed,
        funnel_customers=funnel_customers,
    )
    with SandboxServer(data, port=port) as server:
        console.print(
            f"sandbox on {server.url}: /stripe, /intercom, /posthog; steer it at /_sandbox"
        )
        console.print(
            f"keys: stripe {sandbox_data.STRIPE_KEY}, intercom {sandbox_data.INTERCOM_TOKEN}, "
            f"posthog {sandbox_data.POSTHOG_KEY} (project {sandbox_data.POSTHOG_PROJECT})"
        )
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            console.print("sandbox stopped")


tickets_app = typer.Typer(
    help="Follow-up tickets in Linear and Jira: request, push, sync.", no_args_is_help=True
)
app.add_typer(tickets_app, name="tickets")


@tickets_app.command("request")
@friendly_errors
def tickets_request(
    item_key: str = typer.Argument(..., help="Key of the opportunity or solution."),
    tracker: str = typer.Option(..., "--tracker", "-t", help="linear or jira."),
    workspace: str | None = WorkspaceOption,
) -> None:
    """Mark an item for follow-up; `journeyops tickets push` creates the ticket."""
    from model.services import items as item_service
    from model.services import tickets as ticket_service

    with database() as (session, settings):
        ws = _workspace(session, workspace)
        item = item_service.get_item_by_key(session, ws.id, item_key)
        link, created = ticket_service.request_ticket(session, item, tracker, settings.actor)
        console.print(
            f"{'Marked' if created else 'Already marked'}: {item.key} -> {tracker} "
            f"({link.destination}), state {link.state}"
        )


@tickets_app.command("list")
@friendly_errors
def tickets_list(workspace: str | None = WorkspaceOption) -> None:
    """Show the workspace's ticket links."""
    from cli.render import ticket_table

    with database() as (session, _):
        ws = _workspace(session, workspace)
        console.print(ticket_table(repository.ticket_links(session, ws.id)))


@tickets_app.command("push")
@friendly_errors
def tickets_push(workspace: str | None = WorkspaceOption) -> None:
    """Create the requested tickets now, as a Prefect flow run."""
    from cli.render import ticket_table
    from flows.tickets import TicketsFailed, push_tickets

    with database() as (session, _):
        slug = _workspace(session, workspace).slug
    try:
        push_tickets(slug)
    except TicketsFailed as error:
        err_console.print(f"[red]{error}[/]")
        raise typer.Exit(1) from None
    finally:
        with database() as (session, _):
            ws = _workspace(session, slug)
            console.print(ticket_table(repository.ticket_links(session, ws.id)))


@tickets_app.command("sync")
@friendly_errors
def tickets_sync(workspace: str | None = WorkspaceOption) -> None:
    """Read linked tickets back now, as a Prefect flow run."""
    from flows.tickets import sync_tickets

    with database() as (session, _):
        slug = _workspace(session, workspace).slug
    for outcome in sync_tickets(slug):
        console.print(
            f"{outcome.tracker}: {outcome.checked} checked, {outcome.changed} changed, "
            f"{outcome.done} done, {outcome.missing} missing"
            + (f" - {outcome.error}" if outcome.error else "")
        )


metrics_app = typer.Typer(
    help="Metric items that sync from PostHog and Stripe: sources, syncs, series.",
    no_args_is_help=True,
)
app.add_typer(metrics_app, name="metrics")


@metrics_app.command("list")
@friendly_errors
def metrics_list(workspace: str | None = WorkspaceOption) -> None:
    """Metrics with their current value, target, trend and the state of their source."""
    from cli.render import metric_table

    with database() as (session, _):
        console.print(metric_table(session, _workspace(session, workspace).id))


@metrics_app.command("source")
@friendly_errors
def metrics_source(
    key: str = typer.Argument(..., help="Key of the metric item."),
    provider: str = typer.Option(..., help="posthog or stripe."),
    measure: str = typer.Option(
        ...,
        help=(
            "posthog: events, unique_users, ratio; stripe: new_subscriptions, "
            "cancelled_subscriptions, net_subscriptions, failed_payments, refunds."
        ),
    ),
    event: str | None = typer.Option(None, help="PostHog event (a ratio's numerator)."),
    denominator_event: str | None = typer.Option(None, help="A ratio's denominator event."),
    ratio_of: str = typer.Option("events", help="A ratio of events or of users."),
    calculation: str = typer.Option("total", help="total, average, median or peak."),
    prop: list[str] = typer.Option(
        [], "--property", help="KEY=VALUE an event property must equal (repeatable)."
    ),
    workspace: str | None = WorkspaceOption,
) -> None:
    """Give a metric item a data source; `journeyops metrics sync` reads it."""
    from model.services import metrics as metric_service

    properties = {}
    for pair in prop:
        name, sep, value = pair.partition("=")
        if not sep:
            raise typer.BadParameter(f"{pair!r} is not KEY=VALUE", param_hint="--property")
        properties[name.strip()] = value.strip()
    data: dict[str, object] = {
        "provider": provider,
        "measure": measure,
        "calculation": calculation,
        "ratio_of": ratio_of,
        "properties": properties,
    }
    if event:
        data["event"] = event
    if denominator_event:
        data["denominator_event"] = denominator_event
    with database() as (session, settings):
        ws = _workspace(session, workspace)
        item = items.get_item_by_key(session, ws.id, key)
        source = metric_service.set_source(session, item, data, settings.actor)
        spec = MetricSourceSpec.model_validate(source.spec)
        console.print(f"{item.key} syncs from {metric_service.describe(spec)}")


@metrics_app.command("sync")
@friendly_errors
def metrics_sync(
    key: str | None = typer.Argument(None, help="One metric's key (default: every metric)."),
    workspace: str | None = WorkspaceOption,
) -> None:
    """Sync metrics from their sources now, as a Prefect flow run."""
    from flows.metrics import MetricsBroken, sync_metrics

    with database() as (session, _):
        slug = _workspace(session, workspace).slug
    try:
        outcomes = sync_metrics(slug, key)
    except MetricsBroken as error:
        err_console.print(f"[red]{error}[/]")
        raise typer.Exit(1) from None
    for outcome in outcomes:
        crossed = f" ({outcome.crossed} its target)" if outcome.crossed else ""
        console.print(f"{outcome.metric}: {outcome.value}{crossed}")


@metrics_app.command("series")
@friendly_errors
def metrics_series(key: str, workspace: str | None = WorkspaceOption) -> None:
    """A metric's time series: one value per sync day, over its evaluation period."""
    with database() as (session, _):
        ws = _workspace(session, workspace)
        item = items.get_item_by_key(session, ws.id, key)
        table = Table("period", "value")
        for point in repository.metric_series(session, item.id):
            table.add_row(
                f"{point.period_start.date()} to {point.period_end.date()}", f"{point.value:g}"
            )
        console.print(table)


@metrics_app.command("chart")
@friendly_errors
def metrics_chart(
    key: str,
    out: Path = typer.Argument(..., help="SVG file to write."),
    workspace: str | None = WorkspaceOption,
) -> None:
    """Write a metric's history, with its target, as an SVG chart."""
    from tasks.charts import series_svg

    with database() as (session, _):
        ws = _workspace(session, workspace)
        item = items.get_item_by_key(session, ws.id, key)
        points = [(p.period_end, p.value) for p in repository.metric_series(session, item.id)]
        out.write_text(series_svg(item.title, points, item.target), encoding="utf-8")
    err_console.print(f"wrote {out} ({len(points)} points)")


@app.command()
@friendly_errors
def funnel(
    journey: str = typer.Argument(..., help="Slug of the journey."),
    days: int = typer.Option(30, min=1, max=365, help="Whole days before today to measure."),
    chart: Path | None = typer.Option(None, help="Also write the funnel as an SVG chart here."),
    drop_margin: float = typer.Option(
        0.1, help="A fall in a step's conversion above this (0.1 = 10 points) is a signal."
    ),
    workspace: str | None = WorkspaceOption,
) -> None:
    """Where customers leave the journey: customers per mapped step from PostHog, conversion
    from the previous step, median time between them (a Prefect flow run)."""
    from cli.render import funnel_table
    from flows.funnels import journey_funnel
    from tasks.charts import funnel_svg

    with database() as (session, _):
        slug = _workspace(session, workspace).slug
    [result] = journey_funnel(slug, journey, days, drop_margin)
    table = funnel_table(result)
    console.print(table)
    if result.biggest_drop is not None:
        console.print(f"Biggest drop-off: {result.biggest_drop.name}")
    for text in result.signals:
        console.print(f"[yellow]signal:[/] {text}")
    if chart is not None:
        svg = funnel_svg(
            f"{journey}: customers per step",
            [(s.name, s.reached, s.conversion) for s in result.steps],
        )
        chart.write_text(svg, encoding="utf-8")
        err_console.print(f"wrote {chart}")


@app.command()
def serve(
    workspace: str | None = WorkspaceOption,
    prefect_port: int = typer.Option(4200, help="Port of the Prefect server and its UI."),
    api_port: int = typer.Option(8000, help="Port of the journeyops API."),
) -> None:
    """Run it all locally: a Prefect server with its UI, the scheduled flows, and the API.

    Stops everything on Ctrl-C. For more than one machine, see the README (PostgreSQL for
    both, `prefect deploy --all` to a work pool, workers anywhere).
    """
    from cli import serve as serve_module

    settings = get_settings()
    migrate.ensure_schema(settings.resolved_database_url, auto_migrate=settings.auto_migrate)
    with database() as (session, _):
        slug = _workspace(session, workspace).slug
    raise typer.Exit(serve_module.run(slug, prefect_port, api_port))


# Automations --------------------------------------------------------------------------------

automations_app = typer.Typer(
    help="Automations: trigger -> filters -> up to three actions, run on Prefect.",
    no_args_is_help=True,
)
prefect_app = typer.Typer(help="The Prefect side of journeyops.", no_args_is_help=True)
app.add_typer(automations_app, name="automations")
app.add_typer(prefect_app, name="prefect")


def _sync_prefect(session: Session, automation: Automation, workspace: Workspace) -> None:
    """Bring the automation's deployment in step; say so when that failed."""
    from deployments import automations as prefect_side

    note = prefect_side.keep_in_step(automation, workspace.slug)
    if note.startswith("Prefect sync failed"):
        err_console.print(f"[yellow]warning:[/] {note}")
    session.flush()


def _automation(session: Session, workspace: str | None, slug: str) -> tuple[Workspace, Automation]:
    ws = _workspace(session, workspace)
    return ws, automations.get_automation(session, ws.id, slug)


def _print_problems(automation: Automation, problems: list[str]) -> None:
    if problems:
        err_console.print(f"{automation.slug}: to complete before activation:")
        for problem in problems:
            err_console.print(f"  - {problem}")
    else:
        err_console.print(
            f"{automation.slug}: ready (`journeyops automations activate {automation.slug}`)"
        )


@automations_app.command("apply")
@friendly_errors
def automations_apply(
    file: Path = typer.Argument(..., exists=True, dir_okay=False, help="YAML file."),
    activate: bool = typer.Option(False, "--activate", help="Activate each after saving."),
    workspace: str | None = WorkspaceOption,
) -> None:
    """Create or update the automations a YAML file declares (one, or a list under
    `automations:`); new ones are drafts."""
    import yaml

    try:
        data = yaml.safe_load(file.read_text(encoding="utf-8"))
    except yaml.YAMLError as error:
        raise InvalidInput(f"{file}: not valid YAML ({error})") from None
    declared = (
        data.get("automations") if isinstance(data, dict) and "automations" in data else [data]
    )
    if not isinstance(declared, list):
        raise InvalidInput(f"{file}: `automations:` must be a list")
    with database() as (session, _):
        ws = _workspace(session, workspace)
        for number, entry in enumerate(declared, start=1):
            try:
                spec = automations.parse_spec(entry)
            except InvalidInput as error:
                raise InvalidInput(f"{file}, automation {number}: {error.message}") from None
            automation, created = automations.save(session, ws, spec, get_settings().actor)
            if activate:
                automations.activate(session, automation, get_settings().actor)
            if automation.status in ("active", "paused", "invalid") or automation.deployment_id:
                _sync_prefect(session, automation, ws)
            console.print(
                f"{'created' if created else 'updated'} {automation.slug} ({automation.status})"
            )
            if automation.status != "active":
                _print_problems(automation, automations.check(session, automation))


@automations_app.command("new")
@friendly_errors
def automations_new(
    template: str = typer.Argument(
        ..., help="weekly-pulse, posthog-drift, quick-wins or failed-payment-spike."
    ),
    journey: str | None = typer.Option(None, "--journey", "-j", help="Journey it is about."),
    name: str | None = typer.Option(None, "--name", help="A name other than the template's."),
    workspace: str | None = WorkspaceOption,
) -> None:
    """Create a draft automation from a template, and say what it still needs."""
    with database() as (session, _):
        ws = _workspace(session, workspace)
        automation = automations.from_template(
            session, ws, template, get_settings().actor, journey=journey, name=name
        )
        console.print(f"created draft {automation.slug}")
        _print_problems(automation, automations.check(session, automation))


@automations_app.command("list")
@friendly_errors
def automations_list(workspace: str | None = WorkspaceOption) -> None:
    """The workspace's automations with their trigger, status and last run."""
    from cli.render import automation_table

    with database() as (session, _):
        ws = _workspace(session, workspace)
        console.print(automation_table(session, repository.automations(session, ws.id)))


@automations_app.command("show")
@friendly_errors
def automations_show(slug: str, workspace: str | None = WorkspaceOption) -> None:
    """An automation as YAML (URLs hidden), what it still needs, and its Prefect side."""
    import yaml

    with database() as (session, _):
        _, automation = _automation(session, workspace, slug)
        console.print(yaml.safe_dump(automations.public_spec(automation), sort_keys=False), end="")
        console.print(f"status: {automation.status}")
        if automation.prefect_note:
            console.print(f"prefect: {automation.prefect_note}")
        if automation.status != "active":
            _print_problems(automation, automations.check(session, automation))


@automations_app.command("set-url")
@friendly_errors
def automations_set_url(
    slug: str,
    action: int = typer.Argument(..., help="Number of the message action (1-3)."),
    workspace: str | None = WorkspaceOption,
) -> None:
    """Give a message action its Slack or Discord incoming webhook URL, read from standard
    input (it is a secret: stored encrypted, never shown)."""
    url = sys.stdin.readline().strip()
    with database() as (session, _):
        _, automation = _automation(session, workspace, slug)
        automations.set_webhook_url(session, automation, action, url, get_settings().actor)
        err_console.print(
            f"{slug}: action {action} posts to {automation.actions[action - 1]['webhook_url_hint']}"
        )


@automations_app.command("activate")
@friendly_errors
def automations_activate(slug: str, workspace: str | None = WorkspaceOption) -> None:
    """Check the automation and make it run on its trigger (its Prefect deployment too)."""
    with database() as (session, _):
        ws, automation = _automation(session, workspace, slug)
        automations.activate(session, automation, get_settings().actor)
        _sync_prefect(session, automation, ws)
        console.print(f"{slug}: active; {automation.prefect_note}")


@automations_app.command("pause")
@friendly_errors
def automations_pause(slug: str, workspace: str | None = WorkspaceOption) -> None:
    """Stop the automation's triggers and schedule until it is activated again."""
    with database() as (session, _):
        ws, automation = _automation(session, workspace, slug)
        automations.pause(session, automation, get_settings().actor)
        _sync_prefect(session, automation, ws)
        console.print(f"{slug}: paused; {automation.prefect_note}")


@automations_app.command("delete")
@friendly_errors
def automations_delete(slug: str, workspace: str | None = WorkspaceOption) -> None:
    """Delete the automation, its runs and its Prefect deployment."""
    from deployments import automations as prefect_side

    with database() as (session, _):
        prefect_side.delete(session, _automation(session, workspace, slug)[1])
        console.print(f"{slug}: deleted")


@automations_app.command("run")
@friendly_errors
def automations_run(slug: str, workspace: str | None = WorkspaceOption) -> None:
    """Run the automation once, now: on its deployment when Prefect has one, else here."""
    from deployments import automations as prefect_side
    from flows.automations import run_automation

    with database() as (session, _):
        ws, automation = _automation(session, workspace, slug)
        run = automations.request_manual_run(session, automation, get_settings().actor)
        run_id, deployed = run.id, bool(automation.deployment_id)
    if deployed and automations.prefect_configured():
        name = prefect_side.run_now(ws.slug, slug, run_id)
        console.print(f"run {run_id} started as flow run {name}; watch it in the Prefect UI")
        return
    console.print(f"running {slug} here (run {run_id})...")
    state = run_automation(ws.slug, slug, str(run_id))
    console.print(f"run {run_id}: {state}")


@automations_app.command("runs")
@friendly_errors
def automations_runs(
    slug: str,
    limit: int = typer.Option(20, help="How many, newest first."),
    workspace: str | None = WorkspaceOption,
) -> None:
    """The automation's run history: cause, state, what each action did."""
    from cli.render import automation_runs_table

    with database() as (session, _):
        _, automation = _automation(session, workspace, slug)
        console.print(
            automation_runs_table(repository.automation_runs(session, automation.id, limit))
        )


@automations_app.command("deploy")
@friendly_errors
def automations_deploy() -> None:
    """Bring every active or paused automation's Prefect deployment in step (all workspaces)."""
    from deployments import automations as prefect_side

    with database() as (session, _):
        for note in prefect_side.sync_all(session):
            console.print(note)


@automations_app.command("dispatch")
@friendly_errors
def automations_dispatch(
    grace: int = typer.Option(0, help="Only runs requested at least this many seconds ago."),
) -> None:
    """Start requested runs nobody started (their event was lost, or no server was up)."""
    from flows.automations import dispatch_automations

    for line in dispatch_automations(grace_seconds=grace) or ["nothing to dispatch"]:
        console.print(line)


@prefect_app.command("setup")
@friendly_errors
def prefect_setup(
    deploy_automations: bool = typer.Option(
        False, "--deploy-automations", help="Then bring every automation's deployment in step."
    ),
) -> None:
    """Create the process work pool and each provider's global concurrency and rate limits
    on the Prefect server of PREFECT_API_URL."""
    from deployments import automations as prefect_side

    for line in prefect_side.setup():
        console.print(line)
    if deploy_automations:
        with database() as (session, _):
            for note in prefect_side.sync_all(session):
                console.print(note)


if __name__ == "__main__":
    app()
