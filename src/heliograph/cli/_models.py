"""``helio train …``, ``helio model …``, ``helio ci report`` and ``helio ui``."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from heliograph.core import load_apps

from ._main import app, console, project_of

__all__: list[str] = []

train_app = typer.Typer(
    help="Train a reference system's models (backtest, track, register).", no_args_is_help=True
)
app.add_typer(train_app, name="train")
for _app in load_apps():
    if "train" in _app.commands:
        train_app.command(_app.name)(_app.commands["train"])

model_app = typer.Typer(
    help="Registered models: roles, promotion, rollback, history.", no_args_is_help=True
)
app.add_typer(model_app, name="model")
ci_app = typer.Typer(help="Reports for continuous integration.", no_args_is_help=True)
app.add_typer(ci_app, name="ci")


@model_app.command("list")
def model_list(ctx: typer.Context) -> None:
    """Registered models and which version holds each role."""
    from heliograph.registry import Registry

    registry = Registry(project_of(ctx))
    table = Table("model", "champion", "challenger", "previous", "latest version")
    for name in registry.models():
        roles = registry.aliases(name)
        versions = registry.client.search_model_versions(f"name='{name}'")
        latest = max((int(v.version) for v in versions), default=0)
        table.add_row(
            name,
            roles.get("champion", "-"),
            roles.get("challenger", "-"),
            roles.get("previous", "-"),
            str(latest),
        )
    console.print(table)


@model_app.command("promote")
def model_promote(
    ctx: typer.Context,
    name: str,
    reason: Annotated[str, typer.Option(help="Why, for the history.")] = "",
    force: Annotated[
        bool, typer.Option(help="Override a refusal by the policy (needs --reason).")
    ] = False,
    actor: Annotated[
        str | None, typer.Option(help="Who signs off, for the history (besides the OS user).")
    ] = None,
) -> None:
    """Apply the policy: make the challenger the champion, or refuse and say why (exit 1)."""
    from heliograph.core import UsageError
    from heliograph.registry import Registry

    if force and not reason.strip():
        raise UsageError(
            "--force needs --reason",
            field="--reason",
            rule="a forced promotion says why the policy is overridden",
        )
    decision = Registry(project_of(ctx)).promote(name, reason=reason, actor=actor, force=force)
    for i, line in enumerate(decision.reasons):
        if decision.forced and i > 0:
            console.print("  overridden: " + line)
        else:
            console.print(("  " if decision.accepted else "  refused: ") + line)
    if not decision.accepted:
        raise typer.Exit(1)
    console.print(
        f"{name}: version {decision.candidate} is champion"
        + (f", version {decision.against} is previous" if decision.against else "")
    )


@model_app.command("rollback")
def model_rollback(
    ctx: typer.Context,
    name: str,
    reason: Annotated[str, typer.Option(help="Why, for the history.")] = "rollback",
    actor: Annotated[
        str | None, typer.Option(help="Who decides, for the history (besides the OS user).")
    ] = None,
) -> None:
    """Give the champion role back to the previous version."""
    from heliograph.registry import Registry

    version = Registry(project_of(ctx)).rollback(name, reason=reason, actor=actor)
    console.print(f"{name}: version {version} is champion again")


@model_app.command("history")
def model_history(
    ctx: typer.Context, name: str, limit: Annotated[int, typer.Option(min=1)] = 50
) -> None:
    """Every registration, alias move and refused promotion: who, why, when."""
    from heliograph.registry import Registry

    table = Table("when (UTC)", "what", "detail", "who")
    for e in Registry(project_of(ctx)).history(name, limit=limit):
        table.add_row(f"{e.at:%Y-%m-%d %H:%M:%S}", e.kind, e.reason, e.actor)
    console.print(table)


@ci_app.command("report")
def ci_report(
    ctx: typer.Context,
    model: Annotated[
        str | None, typer.Option(help="Registered model (default: the only one).")
    ] = None,
    candidate: Annotated[str, typer.Option(help="Alias or version to judge.")] = "challenger",
    against: Annotated[str, typer.Option(help="Alias or version to compare with.")] = "champion",
    out: Annotated[Path, typer.Option(help="Folder for report.md and its plots.")] = Path(
        "ci-report"
    ),
) -> None:
    """Markdown report (metric diffs, plots) for a pull request; exit 1 if the policy refuses."""
    from heliograph.core import UsageError
    from heliograph.registry import Registry
    from heliograph.reports import write_ci_report

    project = project_of(ctx)
    registry = Registry(project)
    if model is None:
        models = registry.models()
        if len(models) != 1:
            raise UsageError(
                "say which model with --model",
                field="--model",
                rule="one of " + (", ".join(models) or "(none registered)"),
            )
        model = models[0]
    decision, path = write_ci_report(
        registry, model, candidate=candidate, against=against, out_dir=out
    )
    console.print(f"wrote {path}")
    console.print(
        ("policy would promote: " if decision.accepted else "policy would refuse: ")
        + "; ".join(decision.reasons)
    )
    if not decision.accepted:
        raise typer.Exit(1)


@app.command()
def serve(
    ctx: typer.Context,
    host: Annotated[str | None, typer.Option(help="Address (default: [gateway] host).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default: [gateway] port).")] = None,
) -> None:
    """Start the gateway: the project's services, following the registry (Ctrl-C drains)."""
    import uvicorn

    from heliograph.gateway import create_app

    project = project_of(ctx)
    declared = set(project.settings.datasets)
    used = [a for a in load_apps() if a.services and set(a.datasets) <= declared]
    services = [s for a in used for s in a.services()]
    settings = project.settings.gateway
    app_ = create_app(project, services, freeze_gc=True)
    host, port = host or settings.host, port or settings.port
    console.print(
        f"gateway on http://{host}:{port} (docs at /docs), services: "
        + (", ".join(s.name for s in services) or "none")
    )
    uvicorn.run(app_, host=host, port=port, log_level="warning", timeout_graceful_shutdown=30)


@app.command()
def ui(
    ctx: typer.Context, port: Annotated[int, typer.Option(help="Port on 127.0.0.1.")] = 5000
) -> None:
    """Open the MLflow UI on the project's tracking store and registry."""
    project = project_of(ctx)
    command = [
        sys.executable,
        "-m",
        "mlflow",
        "ui",
        "--backend-store-uri",
        project.tracking_uri,
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
    ]
    console.print(f"MLflow UI on http://127.0.0.1:{port} (Ctrl-C to stop)")
    raise typer.Exit(subprocess.call(command, env=os.environ.copy()))
