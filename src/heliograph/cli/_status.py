"""``helio status``: what the project holds and does, for people or, with ``--json``, for tools.

The JSON has ``project``, ``clock`` (what it is and its now), ``lake`` (datasets with
partitions, rows, snapshots, quarantine), ``services`` (each service's models and the version
behind each alias), ``ledger`` (predictions by role, actuals, events by kind, job runs by
status) and ``jobs`` (each job's schedule, last run and next run).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from heliograph.core import HelioError, Project

from ._main import app, console, project_of

__all__: list[str] = []


def _services(project: Project) -> list[dict[str, Any]]:
    """Each service of the project's apps, its models and ``{alias: version}`` of each."""
    from heliograph.core import load_apps

    declared = set(project.settings.datasets)
    apps = [a for a in load_apps() if a.services and set(a.datasets) <= declared]
    if not apps:
        return []
    uri = project.tracking_uri
    if uri.startswith("sqlite:///") and not Path(uri.removeprefix("sqlite:///")).is_file():
        registry = None  # nothing registered yet; do not create the store by looking
    else:
        from heliograph.registry import Registry

        registry = Registry(project)
    found = []
    for application in apps:
        for service in application.services():
            entry: dict[str, Any] = {"service": service.name, "app": application.name}
            try:
                models = _models_of(project, service, registry)
                entry["models"] = {m: (registry.aliases(m) if registry else {}) for m in models}
            except HelioError as exc:
                entry["models"], entry["error"] = {}, exc.headline
            except Exception as exc:  # status reports what it cannot read; it never fails on it
                entry["models"], entry["error"] = {}, f"{type(exc).__name__}: {exc}"
            found.append(entry)
    return found


def _models_of(project: Project, service: Any, registry: Any) -> list[str]:
    from heliograph.features import OnlineStore
    from heliograph.serving import ServiceContext

    known = registry.models() if registry else []
    store = OnlineStore.open(project)
    try:
        context = ServiceContext(
            project=project,
            clock=project.clock(),
            store=store,
            registry_models=lambda prefix: [m for m in known if m.startswith(prefix)],
        )
        return list(service.models(context))
    finally:
        store.close()


def _lake(project: Project) -> list[dict[str, Any]]:
    from heliograph.lake import list_snapshots, open_lake

    lake = open_lake(project)
    found = []
    for name in lake.dataset_names():
        parts = lake.partitions(name)
        found.append(
            {
                "dataset": name,
                "partitions": len(parts),
                "rows": sum(p.rows for p in parts),
                "newest_partition": parts[-1].date if parts else None,
                "snapshots": len(list_snapshots(lake, name)),
                "quarantined": len(lake.quarantined(name)),
            }
        )
    return found


def status_data(project: Project) -> dict[str, Any]:
    """Everything ``helio status --json`` prints."""
    from heliograph.ledger import Ledger, ledger_counts
    from heliograph.scheduler import job_statuses

    clock = project.clock()
    ledger = Ledger(project.ledger_url)
    try:
        return {
            "project": {"name": project.settings.project.name, "root": str(project.root)},
            "clock": {
                "mode": project.settings.clock.mode,
                "describe": clock.describe(),
                "now": clock.now().isoformat(),
            },
            "lake": _lake(project),
            "services": _services(project),
            "ledger": {"url": ledger.safe_url(), **ledger_counts(ledger)},
            "jobs": [s.to_dict() for s in job_statuses(project, ledger=ledger, clock=clock)],
        }
    finally:
        ledger.close()


@app.command()
def status(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON for tools.")] = False,
) -> None:
    """What the project holds and does: clock, datasets, services, ledger, jobs, events."""
    from heliograph.ledger import Ledger

    project = project_of(ctx)
    data = status_data(project)
    if as_json:
        console.print_json(json.dumps(data))
        return
    console.print(f"project [bold]{data['project']['name']}[/bold] at {project.root}")
    now = data["clock"]["now"][:16].replace("T", " ")
    console.print(f"clock: {data['clock']['describe']}; now {now} UTC")
    table = Table(
        "dataset", "partitions", "rows", "newest partition", "snapshots", "quarantined",
        title="lake " + str(project.lake_path),
    )  # fmt: skip
    for d in data["lake"]:
        table.add_row(
            d["dataset"], str(d["partitions"]), f"{d['rows']:,}", d["newest_partition"] or "-",
            str(d["snapshots"]), str(d["quarantined"]),
        )  # fmt: skip
    console.print(table)
    for s in data["services"]:
        roles = "; ".join(
            f"{m} " + (", ".join(f"{a} v{v}" for a, v in sorted(al.items())) or "no versions")
            for m, al in s["models"].items()
        )
        console.print(f"service {s['service']}: {roles or s.get('error') or 'no models yet'}")
    counts = data["ledger"]
    by_role = ", ".join(f"{n:,} {r}" for r, n in counts["predictions"].items()) or "none"
    actuals = f"{counts['actuals']:,} actuals"
    console.print(f"ledger {counts['url']}: predictions {by_role}; {actuals}")
    for j in data["jobs"]:
        if j["schedule"] is None and j["last_run"] is None:
            continue
        last = j["last_run"]
        said = f"last {last['scheduled_for'][:16]} {last['status']}" if last else "never run"
        upcoming = (
            f", next {j['next_run'][:16]}" + (" (due)" if j["due"] else "") if j["next_run"] else ""
        )
        console.print(f"  job {j['job']}: {said}{upcoming}".replace("T", " "))
    events = Ledger(project.ledger_url).events(limit=5)
    console.print("no events yet" if not events else "latest events:")
    for e in events:
        console.print(f"  {e.at:%Y-%m-%d %H:%M:%S} {e.kind} {e.subject}: {e.reason[:100]}")
    console.print(f"tracking {project.tracking_uri}")
