"""Operational backtests: what a retraining and promotion policy would have done, and earned.

``helio simulate --from DATE --to DATE --policy FILE …`` replays history through the real
jobs on a replay clock, once per policy, each in a throwaway project of its own and a process
of its own, and compares the policies on forecast error and on each service's business metric
(the energy app: the battery's realised value), with a plot and one JSON line.

- ``Policy`` / ``load_policy``: the TOML policy file (when to retrain, when to promote,
  settings), validated with errors naming the key and the rule;
- ``replay_policy``: one policy over one ``Replay`` (the span, the user's project);
- ``simulate_policies``: every policy in parallel processes, a ``Simulation``;
- ``plot_simulation``: the PNG, drawn from ``simulation_curves`` (the frame it draws).

Example::

    replay = Replay(project.root, project.settings, start, end, folder)
    simulation = simulate_policies(replay, [load_policy(p) for p in paths])
    simulation.line()["simulate"]["policies"][0]["business"]
"""

from __future__ import annotations

from ._policy import Policy, PromotePolicy, RetrainPolicy, load_policy, policy_from
from ._replay import PolicyResult, Replay, replay_policy
from ._runner import Simulation, plot_simulation, simulate_policies, simulation_curves

__all__ = [
    "Policy",
    "PolicyResult",
    "PromotePolicy",
    "Replay",
    "RetrainPolicy",
    "Simulation",
    "load_policy",
    "plot_simulation",
    "policy_from",
    "replay_policy",
    "simulate_policies",
    "simulation_curves",
]
