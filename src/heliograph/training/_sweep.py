"""Hyperparameter sweeps: a candidate's trials, chosen by Optuna, judged like any candidate.

A sweep names one candidate of a pipeline, the space of its hyperparameters and how many
trials to run. :func:`train` then backtests trial after trial in place of that candidate,
each with the hyperparameters Optuna's sampler (TPE, seeded) asks for, each a candidate run
in MLflow with its lineage (tags ``helio.sweep``, ``helio.trial``; the values as
``model.*`` parameters); the best trial by the policy metric is registered, as the best
candidate of any training is. Each trial's backtest runs its folds on the compute engine
(``[compute]``, ``helio train --engine ray``), so a sweep on Ray spreads over the cluster;
trials follow one another, so that the sampler sees every result before it asks again and
the same seed gives the same trials on every engine.

A swept model takes its hyperparameters as constructor keywords (the others keep their
defaults) or through ``set_params`` (scikit-learn's estimators). The file (TOML)::

    candidate = "gbm_quantile"
    trials = 8
    seed = 0
    [space]
    learning_rate = { low = 0.02, high = 0.3, log = true }   # a float
    num_leaves = { low = 8, high = 64 }                       # an integer: both bounds are
    n_estimators = { choices = [100, 200, 400] }              # one of these

Example::

    with sweeping(Sweep.read(Path("sweep.toml"))):
        outcome = train_market(project, "GB")    # the app's usual training, swept
    outcome.best, outcome.version
"""

from __future__ import annotations

import contextlib
import contextvars
import hashlib
import json
import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from heliograph.core import UsageError, read_toml_file

from ._pipeline import Candidate, TrainingPipeline

__all__ = ["Sweep", "sweeping"]

TAG_SWEEP = "helio.sweep"
TAG_TRIAL = "helio.trial"

_CURRENT: contextvars.ContextVar[Sweep | None] = contextvars.ContextVar("sweep", default=None)


def _bad(field_: str, rule: str, where: str) -> UsageError:
    return UsageError(f"sweep {where}: {field_} is invalid", field=field_, rule=rule)


def _check_space(space: Mapping[str, Any], where: str) -> dict[str, dict[str, Any]]:
    checked: dict[str, dict[str, Any]] = {}
    if not space:
        raise _bad("space", "at least one hyperparameter", where)
    for name, spec in space.items():
        key = f"space.{name}"
        if not isinstance(spec, Mapping):
            raise _bad(key, "a table: {low, high[, log]} or {choices}", where)
        if "choices" in spec:
            choices = spec["choices"]
            if set(spec) != {"choices"} or not isinstance(choices, list) or not choices:
                raise _bad(key, "{choices = [a non-empty list]} and nothing else", where)
            checked[name] = {"choices": list(choices)}
            continue
        low, high = spec.get("low"), spec.get("high")
        if set(spec) - {"low", "high", "log"} or not all(
            isinstance(v, int | float) and not isinstance(v, bool) for v in (low, high)
        ):
            raise _bad(key, "numbers low and high, and optionally log = true", where)
        assert isinstance(low, int | float) and isinstance(high, int | float)
        log = spec.get("log", False)
        if not low < high or (log and low <= 0) or not isinstance(log, bool):
            raise _bad(key, "low < high (and low > 0 with log = true)", where)
        checked[name] = {"low": low, "high": high, "log": log}
    return checked


@dataclass(frozen=True)
class Sweep:
    """What to sweep: one ``candidate``, its ``space``, how many ``trials``, the sampler's
    ``seed`` (see the module doc for the file)."""

    candidate: str
    space: Mapping[str, Mapping[str, Any]]
    trials: int = 8
    seed: int = 0
    where: str = field(default="(in code)", compare=False)

    def __post_init__(self) -> None:
        if not self.candidate:
            raise _bad("candidate", "the name of a candidate of the pipeline", self.where)
        if not isinstance(self.trials, int) or self.trials < 1:
            raise _bad("trials", "a whole number ≥ 1", self.where)
        object.__setattr__(self, "space", _check_space(self.space, self.where))

    @classmethod
    def read(cls, path: Path) -> Sweep:
        """The sweep a TOML file declares; a bad file is a ``UsageError`` naming the key."""
        where = str(path)
        data = read_toml_file(path, what="sweep", option="--sweep")
        unknown = set(data) - {"candidate", "space", "trials", "seed"}
        if unknown:
            raise _bad(sorted(unknown)[0], "unknown key (candidate, space, trials, seed)", where)
        return cls(
            candidate=str(data.get("candidate", "")),
            space=data.get("space", {}),
            trials=data.get("trials", 8),
            seed=data.get("seed", 0),
            where=where,
        )

    @property
    def id(self) -> str:
        """Names the sweep in its runs' ``helio.sweep`` tag: the same spec, the same id."""
        spec = {"candidate": self.candidate, "space": self.space, "trials": self.trials}
        text = json.dumps({**spec, "seed": self.seed}, sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:12]


@contextlib.contextmanager
def sweeping(sweep: Sweep) -> Iterator[Sweep]:
    """Within this block, :func:`train` sweeps ``sweep.candidate`` (``helio train --sweep``
    uses it, so that any app's own training command is swept)."""
    token = _CURRENT.set(sweep)
    try:
        yield sweep
    finally:
        _CURRENT.reset(token)


def current_sweep() -> Sweep | None:
    return _CURRENT.get()


@dataclass(frozen=True)
class _Tuned:
    """A candidate's factory with hyperparameters set (picklable, for the compute engine)."""

    make: Any
    params: Mapping[str, Any]

    def __call__(self) -> Any:
        model = self.make()
        if hasattr(model, "set_params"):
            return model.set_params(**self.params) or model
        return type(model)(**self.params)


class _Trials:
    """The candidates of a sweep, asked of Optuna one at a time, told their metric after."""

    def __init__(self, sweep: Sweep, pipeline: TrainingPipeline, policy: tuple[str, str]) -> None:
        import optuna

        optuna.logging.set_verbosity(optuna.logging.WARNING)
        self.sweep, self.base = sweep, pipeline.candidate(sweep.candidate)
        if self.base.members:
            raise UsageError(
                f"{sweep.candidate} combines other candidates: sweep one of its members",
                field="candidate",
                rule="a candidate with its own model",
            )
        self.metric, direction = policy
        self.study = optuna.create_study(
            direction="maximize" if direction == "maximize" else "minimize",
            sampler=optuna.samplers.TPESampler(seed=sweep.seed),
        )
        self.asked: dict[str, Any] = {}

    def __len__(self) -> int:
        return self.sweep.trials

    def __iter__(self) -> Iterator[Candidate]:
        for number in range(self.sweep.trials):
            trial = self.study.ask()
            params = {
                name: self._suggest(trial, name, spec) for name, spec in self.sweep.space.items()
            }
            name = f"{self.base.name}-t{number}"
            self.asked[name] = trial
            yield Candidate(name, _Tuned(self.base.make, params))

    @staticmethod
    def _suggest(trial: Any, name: str, spec: Mapping[str, Any]) -> Any:
        if "choices" in spec:
            return trial.suggest_categorical(name, spec["choices"])
        low, high = spec["low"], spec["high"]
        if isinstance(low, int) and isinstance(high, int):
            return trial.suggest_int(name, low, high, log=spec["log"])
        return trial.suggest_float(name, float(low), float(high), log=spec["log"])

    def tell(self, name: str, metrics: Mapping[str, float]) -> None:
        import optuna

        value = metrics.get(self.metric, math.nan)
        trial = self.asked.pop(name)
        if math.isnan(value):
            self.study.tell(trial, state=optuna.trial.TrialState.FAIL)
        else:
            self.study.tell(trial, value)

    def tags(self, name: str) -> dict[str, str]:
        return {TAG_SWEEP: self.sweep.id, TAG_TRIAL: name.rsplit("-t", 1)[1]}
