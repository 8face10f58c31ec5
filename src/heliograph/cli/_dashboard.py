"""``helio dashboard``: the Streamlit dashboard of the project, on 127.0.0.1:8501 by default.

``--host`` and ``--port`` override ``[dashboard] host`` and ``port``. Any host but a
loopback address is refused unless ``[dashboard] password`` is set (docs/dashboard.md).
``helio up`` starts it too, as a child process, when ``[dashboard] enabled`` is true.
"""

from __future__ import annotations

import subprocess
import sys
from typing import Annotated

import typer

from heliograph.core import HelioError, Project

from ._main import app, console, err, project_of
from ._up import _die_with_parent, stop_child

__all__: list[str] = []


def _command(project: Project, host: str | None, port: int | None) -> list[str]:
    from heliograph.dashboard import dashboard_command

    settings = project.settings.dashboard
    return dashboard_command(project, host=host or settings.host, port=port or settings.port)


@app.command()
def dashboard(
    ctx: typer.Context,
    host: Annotated[
        str | None, typer.Option(help="Address to bind (default: [dashboard] host, 127.0.0.1).")
    ] = None,
    port: Annotated[
        int | None, typer.Option(help="Port (default: [dashboard] port, 8501).")
    ] = None,
) -> None:
    """Serve the dashboard: services, forecasts, live metrics, drift, data, events, lineage."""
    project = project_of(ctx)
    command = _command(project, host, port)
    address = f"http://{command[command.index('--server.address') + 1]}:"
    console.print(f"dashboard of {project.settings.project.name} on {address}"
                  f"{command[command.index('--server.port') + 1]} (Ctrl-C stops it)")  # fmt: skip
    try:
        code = subprocess.call(command)
    except KeyboardInterrupt:
        code = 130
    raise typer.Exit(code)


class DashboardChild:
    """The dashboard as a child of ``helio up``: started when ``[dashboard] enabled``,
    stopped with it; a dashboard that cannot start is reported, and ``up`` goes on."""

    def __init__(self, project: Project) -> None:
        self.project = project
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        if not self.project.settings.dashboard.enabled:
            return
        try:
            command = _command(self.project, None, None)
        except HelioError as exc:
            err.print(f"dashboard not started: {exc.headline}")
            return
        self.proc = subprocess.Popen(
            command,
            start_new_session=True,
            stdout=subprocess.DEVNULL,
            preexec_fn=_die_with_parent if sys.platform.startswith("linux") else None,
        )
        settings = self.project.settings.dashboard
        console.print(f"dashboard on http://{settings.host}:{settings.port}")

    def stop(self, timeout: float = 10.0) -> None:
        stop_child(self.proc, timeout)
