"""Starting the dashboard: the Streamlit command for a project, and the rule on where it binds.

The dashboard binds to 127.0.0.1 by default. Binding anywhere else (``0.0.0.0``, a LAN
address) serves the project's ledger to the network, so it is refused unless ``[dashboard]
password`` is set (best by ``HELIO_DASHBOARD__PASSWORD``): the pages then ask for it, or take
it as ``?token=...`` in the address.

Example::

    command = dashboard_command(project, host="127.0.0.1", port=8501)
    subprocess.run(command, check=False)
"""

from __future__ import annotations

import hmac
import ipaddress
import sys
from pathlib import Path

from heliograph.core import Project, UsageError

__all__ = ["APP_SCRIPT", "check_binding", "dashboard_command", "password_ok"]

APP_SCRIPT = Path(__file__).with_name("_app.py")
"""The Streamlit script (``streamlit run`` takes a file)."""

_LOCAL_NAMES = {"localhost", "localhost.localdomain"}


def _is_loopback(host: str) -> bool:
    if host.lower() in _LOCAL_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_binding(host: str, password: str) -> None:
    """Refuse a non-loopback ``host`` without a password (``UsageError`` naming the rule)."""
    if not host.strip():
        raise UsageError(
            "the dashboard's host is empty",
            field="dashboard.host",
            rule="an address to bind, 127.0.0.1 by default",
        )
    if not _is_loopback(host) and not password:
        raise UsageError(
            f"refusing to serve the dashboard on {host}: no password is configured",
            field="dashboard.password",
            rule="binding anywhere but 127.0.0.1 needs [dashboard] password "
            "(set HELIO_DASHBOARD__PASSWORD)",
            hint="bind 127.0.0.1 and reach it through an SSH tunnel or the team's proxy, "
            "or set a password",
        )


def password_ok(given: str | None, password: str) -> bool:
    """Whether ``given`` is the configured ``password`` (always, when none is configured)."""
    if not password:
        return True
    return given is not None and hmac.compare_digest(given.encode(), password.encode())


def dashboard_command(project: Project, *, host: str, port: int) -> list[str]:
    """The ``streamlit run`` command line for ``project`` on ``host:port`` (checked first)."""
    check_binding(host, project.settings.dashboard.password)
    if not 1 <= port <= 65535:
        raise UsageError(f"port {port} is not a TCP port", field="port", rule="1-65535")
    return [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        str(APP_SCRIPT),
        "--server.address",
        host,
        "--server.port",
        str(port),
        "--server.headless",
        "true",
        "--server.fileWatcherType",
        "none",
        "--server.runOnSave",
        "false",
        "--browser.gatherUsageStats",
        "false",
        "--global.developmentMode",
        "false",
        "--client.toolbarMode",
        "minimal",
        "--client.showErrorDetails",
        "none",
        "--theme.base",
        "light",
        "--",
        "--project",
        str(project.root),
    ]
