"""``helio``: the command line. Errors are sentences, never stack traces.

Commands live in the package's modules (``_status``, ``_up``, ``_jobs``, ``_lake`` …), each
registering itself on ``app``.

Exit codes: 0 done; 1 done, but data failed its checks (quarantined), a check failed or the
policy refused; 2 the command could not run (bad input, bad configuration, unknown name);
3 an internal error (a bug in heliograph); 130 interrupted.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from heliograph import __version__
from heliograph.core import (
    App,
    HelioError,
    Project,
    UsageError,
    configure_logging,
    init_project,
    load_app,
    load_apps,
)

__all__ = ["app", "main"]  # console, err, project_of: for the cli package's own modules

# Wide enough for ids and paths when the output is a pipe or a CI log rather than a terminal.
_WIDTH = None if sys.stdout.isatty() else int(os.environ.get("COLUMNS", "160"))
console = Console(highlight=False, width=_WIDTH, soft_wrap=True)
err = Console(stderr=True, highlight=False, width=_WIDTH, soft_wrap=True)

app = typer.Typer(
    name="helio",
    help="heliograph: from a model in a notebook to a production service that runs unattended.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)


class State:
    def __init__(self, project_dir: Path | None) -> None:
        self.project_dir = project_dir
        self._project: Project | None = None

    @property
    def project(self) -> Project:
        if self._project is None:
            self._project = Project.load(self.project_dir) if self.project_dir else Project.find()
        return self._project


def project_of(ctx: typer.Context) -> Project:
    state: State = ctx.ensure_object(State) if ctx.obj is None else ctx.obj
    return state.project


def _version(value: bool) -> None:
    if value:
        console.print(f"heliograph {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    ctx: typer.Context,
    project: Annotated[
        Path | None,
        typer.Option(
            "--project",
            "-p",
            help="Project folder (default: $HELIO_PROJECT, else the nearest "
            "folder upwards with a helio.toml).",
        ),
    ] = None,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Log what happens.")] = False,
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version, is_eager=True, help="Print the version and exit."
        ),
    ] = False,
) -> None:
    configure_logging("INFO" if verbose else "WARNING")
    if not verbose:  # MLflow logs its progress at INFO; keep the CLI's output readable
        os.environ.setdefault("MLFLOW_LOGGING_LEVEL", "ERROR")  # read when MLflow is imported
    ctx.obj = State(project)


@app.command()
def init(
    directory: Annotated[Path, typer.Argument(help="Folder of the new project.")],
    name: Annotated[str | None, typer.Option(help="Project name (default: folder name).")] = None,
    bare: Annotated[bool, typer.Option(help="No app: core settings only.")] = False,
    reference: Annotated[
        str | None,
        typer.Option(
            "--app",
            help="The app whose datasets, checks and sources to include (required when "
            "several are installed; asked for at a terminal).",
        ),
    ] = None,
    force: Annotated[
        bool, typer.Option(help="Rewrite an existing helio.toml (data is kept).")
    ] = False,
) -> None:
    """Create a project: helio.toml (every key, documented) and the state folder."""
    chosen = _chosen_app(reference, bare)
    project = init_project(
        directory,
        name=name,
        extra=chosen.config if chosen else "",
        clock=chosen.clock if chosen else None,
        settings=chosen.settings if chosen else None,
        force=force,
    )
    console.print(f"created {project.config_path}")
    console.print(f"state folder {project.state_dir}")
    if chosen:
        console.print(f"with the {chosen.name} app; next: helio -p {directory} up")


def _chosen_app(name: str | None, bare: bool) -> App | None:
    """The app ``helio init`` includes: ``--app``, the only one installed, or the user's choice
    at a terminal; with several installed and no terminal, an error that lists them."""
    if bare:
        if name is not None:
            raise UsageError(
                "--app and --bare exclude each other", field="--app", rule="--app NAME or --bare"
            )
        return None
    if name is not None:
        return load_app(name)
    apps = load_apps()
    if len(apps) == 1:
        return apps[0]
    names = [a.name for a in apps]
    listed = "; ".join(f"{a.name} ({a.description})" for a in apps)
    if not apps:
        raise UsageError("no app is installed", field="--app", rule="install an app, or --bare")
    if not sys.stdin.isatty():  # a script or a pipe: nobody to ask
        raise UsageError(
            f"several apps are installed, choose one: {listed}",
            field="--app",
            rule="--app " + " | ".join(names) + ", or --bare",
        )
    console.print(f"apps installed: {listed}")
    while True:  # no default: the user chooses
        answer = typer.prompt("app for this project (" + " | ".join(names) + ")").strip()
        if answer in names:
            return apps[names.index(answer)]
        err.print(f"not an installed app: {answer!r}")


config_app = typer.Typer(help="The effective configuration.", no_args_is_help=True)
app.add_typer(config_app, name="config")


@config_app.command("show")
def config_show(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of TOML.")] = False,
) -> None:
    """Print the effective configuration: helio.toml, HELIO_ overrides, derived paths."""
    import tomli_w

    project = project_of(ctx)
    data = project.effective()
    if as_json:
        console.print_json(json.dumps(data))
        return
    overridden = project.overridden_keys()
    header = f"# effective configuration of {project.config_path}\n"
    if overridden:
        header += "# overridden by environment: " + ", ".join(overridden) + "\n"
    sys.stdout.write(header + tomli_w.dumps(data))


@app.command()
def events(
    ctx: typer.Context,
    kind: Annotated[str | None, typer.Option(help="Only events of this kind.")] = None,
    subject: Annotated[str | None, typer.Option(help="Only subjects starting so.")] = None,
    limit: Annotated[int, typer.Option(min=1)] = 20,
) -> None:
    """The ledger's events, newest first: what changed, why, who, when."""
    from heliograph.ledger import Ledger

    table = Table("when (UTC)", "kind", "subject", "reason", "who")
    for e in Ledger(project_of(ctx).ledger_url).events(kind=kind, subject=subject, limit=limit):
        table.add_row(f"{e.at:%Y-%m-%d %H:%M:%S}", e.kind, e.subject, e.reason, e.actor)
    console.print(table)


def main(argv: list[str] | None = None) -> None:
    """Entry point of ``helio``: turns heliograph's errors into messages and exit codes."""
    from . import (  # noqa: F401
        _checks,
        _dashboard,
        _jobs,
        _lake,
        _lineage,
        _models,
        _reports,
        _simulate,
        _status,
        _up,
    )

    try:
        code = app(args=argv, prog_name="helio", standalone_mode=False)
    except HelioError as exc:
        err.print(f"[bold red]error:[/bold red] {escape(exc.describe())}", markup=True)
        sys.exit(2)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        err.print("interrupted")
        sys.exit(130)
    except typer.Abort:
        sys.exit(130)
    except Exception as exc:
        show = getattr(exc, "show", None)
        if isinstance(exc, typer.TyperException) and callable(show):  # a usage error
            show()
            sys.exit(getattr(exc, "exit_code", 2))
        if os.environ.get("HELIO_DEBUG"):
            raise
        err.print(
            f"[bold red]internal error:[/bold red] {type(exc).__name__}: {escape(str(exc))}\n"
            "  this is a bug in heliograph; run again with HELIO_DEBUG=1 for the "
            "traceback and report it",
            markup=True,
        )
        sys.exit(3)
    sys.exit(code if isinstance(code, int) else 0)
