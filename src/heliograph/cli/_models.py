"""``helio train …``, ``helio model …``, ``helio ci report`` and ``helio ui``."""

from __future__ import annotations

import contextlib
import errno
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from heliograph.core import UsageError, load_apps

from ._main import app, console, project_of

__all__: list[str] = []

train_app = typer.Typer(
    help="Train a reference system's models (backtest, track, register).", no_args_is_help=True
)
app.add_typer(train_app, name="train")
for _app in load_apps():
    if "train" in _app.commands:
        train_app.command(_app.name)(_app.commands["train"])


@train_app.callback()
def _train_options(
    ctx: typer.Context,
    engine: Annotated[
        str | None,
        typer.Option(
            help="Where the backtests' folds run: local (processes) or ray "
            "(default: [compute] engine)."
        ),
    ] = None,
    address: Annotated[
        str | None,
        typer.Option(help="The Ray cluster's address (default: [compute] address)."),
    ] = None,
    sweep: Annotated[
        Path | None,
        typer.Option(
            help="A sweep file (TOML): its candidate's trials, chosen by Optuna, replace the "
            "candidates; the best trial is registered (docs/compute.md)."
        ),
    ] = None,
) -> None:
    """Options of every app's training: the compute engine, and a hyperparameter sweep."""
    from heliograph.compute import ENGINES

    if engine is not None and engine not in ENGINES:
        raise UsageError(
            f"unknown engine {engine!r}", field="--engine", rule="one of " + ", ".join(ENGINES)
        )
    if engine is not None or address is not None:
        project = project_of(ctx)
        compute = project.settings.compute
        changes = {"engine": engine or compute.engine, "address": compute.address}
        if address is not None:
            changes["address"] = address
        project.settings = project.settings.model_copy(
            update={"compute": compute.model_copy(update=changes)}
        )
    if sweep is not None:
        from heliograph.training import Sweep, sweeping

        ctx.with_resource(sweeping(Sweep.read(sweep)))


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


def _listen(host: str, port: int, setting: str) -> socket.socket:
    """A socket listening on ``host:port``, or a usage error naming ``setting`` to change."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        return socket.create_server((host, port), family=family, backlog=2048)
    except OSError as exc:
        busy = exc.errno == errno.EADDRINUSE
        raise UsageError(
            f"port {port} on {host} is in use" if busy else f"cannot listen on {host}:{port}",
            field="--port" if busy else "--host/--port",
            rule="a free port" if busy else (exc.strerror or "an address of this machine"),
            hint=f"choose another with {setting}",
        ) from None


def _serve_app(root: str) -> Any:
    """The gateway app of the project at ``root``: every installed app's services whose
    datasets the project declares. A module-level function, so that ``--workers N`` can
    start it in each worker process (uvicorn's factory)."""
    from heliograph.core import Project, configure_logging
    from heliograph.gateway import create_app

    configure_logging("WARNING")
    project = Project.load(Path(root))
    declared = set(project.settings.datasets)
    used = [a for a in load_apps() if a.services and set(a.datasets) <= declared]
    return create_app(project, [s for a in used for s in a.services()], freeze_gc=True)


@app.command()
def serve(
    ctx: typer.Context,
    host: Annotated[str | None, typer.Option(help="Address (default: [gateway] host).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default: [gateway] port).")] = None,
    workers: Annotated[
        int,
        typer.Option(
            min=1, help="Processes sharing the port, each following the registry on its own."
        ),
    ] = 1,
) -> None:
    """Start the gateway: the project's services, following the registry (Ctrl-C drains)."""
    import uvicorn

    project = project_of(ctx)
    settings = project.settings.gateway
    host, port = host or settings.host, port or settings.port
    setting = "--port, or gateway.port in helio.toml (HELIO_GATEWAY__PORT)"
    listening = _listen(host, port, setting)  # before loading anything: a busy port fails fast
    declared = set(project.settings.datasets)
    used = [a for a in load_apps() if a.services and set(a.datasets) <= declared]
    names = ", ".join(s.name for a in used for s in a.services()) or "none"
    each = f", {workers} workers" if workers > 1 else ""
    console.print(f"gateway on http://{host}:{port} (docs at /docs){each}, services: {names}")
    options: dict[str, Any] = {"log_level": "warning", "timeout_graceful_shutdown": 30}
    if workers == 1:
        config = uvicorn.Config(_serve_app(str(project.root)), **options)
        uvicorn.Server(config).run(sockets=[listening])
        return
    _serve_workers(project.state_dir, str(project.root), workers, listening, options)


def _serve_workers(
    state_dir: Path, root: str, workers: int, listening: socket.socket, options: dict[str, Any]
) -> None:
    """``workers`` processes (uvicorn's supervisor: a worker that dies is replaced), each a
    whole gateway with its own spool folder, sharing their metrics in a fresh folder."""
    import functools
    import shutil
    import tempfile

    import uvicorn
    from uvicorn.supervisors import Multiprocess

    state_dir.mkdir(parents=True, exist_ok=True)
    metrics = Path(tempfile.mkdtemp(prefix="metrics-", dir=state_dir))
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(metrics)  # read by each worker at import
    try:
        app_ = functools.partial(_serve_app, root)
        # a worker loading a version may hold the GIL for seconds: uvicorn's 5-s health
        # check would kill it mid-load (and SIGKILL is what the journal is for, not routine)
        config = uvicorn.Config(
            app_, factory=True, workers=workers, timeout_worker_healthcheck=30, **options
        )
        Multiprocess(config, sockets=[listening]).run()
    finally:
        os.environ.pop("PROMETHEUS_MULTIPROC_DIR", None)
        shutil.rmtree(metrics, ignore_errors=True)


def _group_alive(group: int) -> bool:
    """Whether a process of ``group`` still runs (zombies, waiting to be reaped, do not)."""
    proc = Path("/proc")
    if not proc.is_dir():
        try:
            os.killpg(group, 0)
        except ProcessLookupError:
            return False
        return True
    for stat in proc.glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, IndexError, ValueError):
            fields = stat.read_text().rsplit(")", 1)[1].split()
            if int(fields[2]) == group and fields[0] != "Z":
                return True
    return False


_GRACE = 10.0  # s the MLflow server has to stop before it is killed


def _stop_group(group: int, timeout: float = _GRACE) -> None:
    """Stop every process of ``group``: SIGTERM, then SIGKILL to what is left after ``timeout``."""
    for stop, wait in ((signal.SIGTERM, timeout), (signal.SIGKILL, 5.0)):
        try:
            os.killpg(group, stop)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            if not _group_alive(group):
                return
            time.sleep(0.1)


@app.command()
def ui(
    ctx: typer.Context, port: Annotated[int, typer.Option(help="Port on 127.0.0.1.")] = 5000
) -> None:
    """Open the MLflow UI on the project's tracking store and registry (Ctrl-C stops it)."""
    project = project_of(ctx)
    _listen("127.0.0.1", port, "--port").close()  # the MLflow server binds it next
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
        "--workers",  # one person's browser: MLflow's four workers cost four imports at start
        "1",
    ]
    console.print(f"MLflow UI on http://127.0.0.1:{port} (Ctrl-C to stop)")
    # MLflow 3 starts eight job-runner processes for its GenAI jobs, which a UI over this
    # store never runs: off unless the environment asks for them.
    env = {"MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false", **os.environ}
    # Its own process group, so that stopping helio ui stops the server and its workers.
    child = subprocess.Popen(command, env=env, start_new_session=True)
    stopped: list[float] = []  # when, and which signal

    def stop(signum: int, _frame: object) -> None:  # the MLflow server shuts down; wait() ends
        stopped[:] = [time.monotonic(), signum]
        with contextlib.suppress(ProcessLookupError):
            os.killpg(child.pid, signal.SIGTERM)

    previous = {s: signal.signal(s, stop) for s in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)}
    try:
        while True:
            try:
                code = child.wait(timeout=0.5)
                break
            except subprocess.TimeoutExpired:
                if stopped and time.monotonic() > stopped[0] + _GRACE:
                    _stop_group(child.pid, timeout=0)  # it did not stop in time: SIGKILL
    finally:
        _stop_group(child.pid)  # whatever happened to helio ui, nothing is left serving
        child.wait()
        for s, handler in previous.items():
            signal.signal(s, handler)
    if stopped:
        raise typer.Exit(130 if stopped[1] == signal.SIGINT else 0)
    raise typer.Exit(code)


def _pipeline(spec: str) -> Any:
    """The training pipeline ``module:attribute`` names (a pipeline, or a function making one)."""
    import importlib

    from heliograph.training import TrainingPipeline

    module, _, attribute = spec.partition(":")
    rule = "module:attribute of a TrainingPipeline, e.g. heliograph.apps.energy:price_pipeline"
    try:
        found = getattr(importlib.import_module(module), attribute) if attribute else None
    except (ImportError, AttributeError):
        found = None
    if callable(found) and not isinstance(found, TrainingPipeline):
        found = found()
    if not isinstance(found, TrainingPipeline):
        raise UsageError(f"no training pipeline at {spec!r}", field="--pipeline", rule=rule)
    return found


@app.command()
def score(
    ctx: typer.Context,
    snapshot: Annotated[
        list[str], typer.Argument(help="Snapshots to score (dataset@id; others: the newest).")
    ],
    model: Annotated[str, typer.Option(help="Registered model, e.g. energy-price-GB.")],
    pipeline: Annotated[
        str,
        typer.Option(
            help="The model's training pipeline, module:attribute "
            "(e.g. heliograph.apps.energy:price_pipeline)."
        ),
    ],
    alias: Annotated[str, typer.Option(help="The role whose version scores.")] = "champion",
    engine: Annotated[
        str | None, typer.Option(help="local or ray (default: [compute] engine).")
    ] = None,
) -> None:
    """Batch-score every row of a snapshot with a registered version, into the ledger."""
    from heliograph.compute import ENGINES, open_engine
    from heliograph.training import score_snapshot

    project = project_of(ctx)
    chosen = _pipeline(pipeline)
    prefix = chosen.model_name()
    if model != prefix and not model.startswith(prefix + "-"):
        raise UsageError(
            f"{model} is not a model of the {prefix} pipeline",
            field="--model",
            rule=f"{prefix} or {prefix}-<{chosen.subject}>",
        )
    if engine is not None and engine not in ENGINES:
        raise UsageError(
            f"unknown engine {engine!r}", field="--engine", rule="one of " + ", ".join(ENGINES)
        )
    compute = project.settings.compute
    settings = compute if engine is None else compute.model_copy(update={"engine": engine})
    outcome = score_snapshot(
        project,
        chosen,
        snapshot,
        subject=model[len(prefix) + 1 :] or None,
        alias=alias,
        engine=open_engine(settings),
    )
    console.print(outcome.summary())
