"""Policies side by side: each replayed in a process of its own, then compared and plotted.

``simulate_policies(replay, policies)`` runs ``replay_policy`` for every policy in a
``concurrent.futures.ProcessPoolExecutor`` (``workers`` processes, started fresh: ``spawn``)
and gathers a ``Simulation``: each policy's result, the wall time, the workers. Another
engine (Ray) maps the same ``replay_policy`` over the same policies. ``plot_simulation``
draws the comparison (a PNG) from ``simulation_curves`` (the frame it draws): per policy, each
service's MAE and business metric from the span's first day to each day, whose last values
are the policy's ``error`` and ``business``; ``Simulation.line()`` is the one JSON line.

Example::

    simulation = simulate_policies(replay, [never, weekly, drift], workers=3)
    plot_simulation(simulation, Path("simulation.png"))
    print(json.dumps(simulation.line()))
"""

from __future__ import annotations

import multiprocessing
import time
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from heliograph.core import UsageError

from ._policy import Policy
from ._replay import PolicyResult, Replay, replay_policy

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["Simulation", "plot_simulation", "simulate_policies", "simulation_curves"]


@dataclass
class Simulation:
    """Every policy's result over one replay, the wall time and how many ran at once."""

    replay: Replay
    results: list[PolicyResult]
    seconds: float
    workers: int
    engine: str = "processes"
    plot: str | None = field(default=None)

    def line(self) -> dict[str, Any]:
        """The one JSON line: the span, each policy's figures, wall time and workers."""
        return {
            "simulate": {
                "from": f"{self.replay.start:%Y-%m-%d}",
                "to": f"{self.replay.end:%Y-%m-%d}",
                "steps_per_policy": len(self.replay.steps()),
                "engine": self.engine,
                "workers": self.workers,
                "wall_seconds": round(self.seconds, 1),
                "policy_seconds": round(sum(r.seconds for r in self.results), 1),
                "policies": [r.line() for r in self.results],
                "plot": self.plot,
            }
        }


def _check_names(policies: Sequence[Policy]) -> None:
    if not policies:
        raise UsageError("no policy to simulate", field="--policy", rule="at least one file")
    seen: set[str] = set()
    for policy in policies:
        if policy.name in seen:
            raise UsageError(
                f"two policies are named {policy.name!r}",
                field="name",
                rule="each policy's name is unique (its state folder is named after it)",
            )
        seen.add(policy.name)


def simulate_policies(
    replay: Replay, policies: Sequence[Policy], *, workers: int = 0
) -> Simulation:
    """Replay every policy, ``workers`` at once (0: one per policy, at most the CPUs)."""
    _check_names(policies)
    if replay.end <= replay.start:
        raise UsageError(
            f"--to {replay.end:%Y-%m-%d} is not after --from {replay.start:%Y-%m-%d}",
            field="--to",
            rule="a day after --from",
        )
    cpus = multiprocessing.cpu_count()
    workers = workers or min(len(policies), cpus)
    began = time.perf_counter()
    if workers == 1:
        results = [replay_policy(replay, p) for p in policies]
    else:
        context = multiprocessing.get_context("spawn")  # no forked MLflow or SQLite state
        with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
            results = list(pool.map(replay_policy, [replay] * len(policies), policies))
    return Simulation(replay, results, time.perf_counter() - began, workers)


def simulation_curves(simulation: Simulation) -> pd.DataFrame:
    """What the plot draws, one row per (policy, service, curve, day) with its ``value``:
    ``mae`` (the MAE from the span's first day to that day), ``mae_7d`` (the 7-day mean of
    the daily MAE) and each business metric from the span's first day to that day. Each
    policy's last ``mae`` and business values are its ``error`` and ``business``."""
    import pandas as pd

    rows: list[dict[str, Any]] = []
    for result in simulation.results:
        by_service: dict[str, list[dict[str, Any]]] = {}
        for day in result.daily:
            by_service.setdefault(day["service"], []).append(day)
        for service, days in by_service.items():
            days = sorted(days, key=lambda d: d["day"])
            week = pd.Series([d["mae"] for d in days], dtype=float).rolling(7, min_periods=1)
            for day, mean in zip(days, week.mean(), strict=True):
                at = {"policy": result.policy, "service": service, "day": day["day"]}
                rows.append({**at, "curve": "mae", "value": day["mae_to_date"]})
                rows.append({**at, "curve": "mae_7d", "value": float(mean)})
                for key, value in day.items():
                    if key.endswith("_to_date") and key not in ("mae_to_date", "periods_to_date"):
                        curve = key.removesuffix("_to_date")
                        rows.append({**at, "curve": curve, "value": value})
    frame = pd.DataFrame(rows, columns=["policy", "service", "curve", "day", "value"])
    frame["day"] = pd.to_datetime(frame["day"], utc=True)
    frame["value"] = frame["value"].astype(float)
    return frame


def plot_simulation(simulation: Simulation, path: Path) -> Path:
    """The comparison as a PNG at ``path``, drawn from ``simulation_curves``: per service,
    each policy's MAE from the span's first day (and, dashed, the 7-day mean of its daily
    MAE), and each business metric from the span's first day."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    frame = simulation_curves(simulation)
    services = sorted(frame["service"].unique())
    metrics = sorted(set(frame["curve"]) - {"mae", "mae_7d"})
    panels = [("mae", s) for s in services] + [
        (m, s)
        for s in services
        for m in metrics
        if frame.loc[(frame["service"] == s) & (frame["curve"] == m), "value"].notna().any()
    ]
    figure, axes = plt.subplots(max(1, len(panels)), 1, figsize=(9, 2.6 * max(1, len(panels))),
                                squeeze=False)  # fmt: skip
    for ax, (curve, service) in zip(axes[:, 0], panels, strict=False):
        shown = frame[frame["service"] == service]
        for policy, rows in shown[shown["curve"] == curve].groupby("policy"):
            (line,) = ax.plot(rows["day"], rows["value"], label=str(policy))
            if curve == "mae":
                week = shown[(shown["curve"] == "mae_7d") & (shown["policy"] == policy)]
                ax.plot(week["day"], week["value"], color=line.get_color(), ls="--", lw=0.8)
        title = (
            "MAE since the first day (dashed: 7-day mean)"
            if curve == "mae"
            else f"{curve} since the first day"
        )
        ax.set_title(f"{service}: {title}", fontsize=10)
        ax.legend(fontsize=8)
        ax.grid(alpha=0.3)
    if not panels:
        axes[0, 0].text(0.5, 0.5, "nothing was judged: see the notes", ha="center")
    figure.suptitle(
        f"helio simulate {simulation.replay.start:%Y-%m-%d} to {simulation.replay.end:%Y-%m-%d}"
    )
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=100)
    plt.close(figure)
    simulation.plot = str(path)
    return path
