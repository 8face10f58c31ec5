"""Retraining and promotion policies, as TOML files, for ``helio simulate``.

A policy file::

    name = "weekly"                      # default: the file's name without .toml
    description = "retrain every week, promote on live evidence"

    [retrain]
    when = "every"                       # "never", "every" or "drift"
    every_days = 7                       # with "every": days between retrains (>= 7)
    # alerts = ["drift", "metric"]       # with "drift": the alert kinds that trigger one

    [promote]
    when = "live"                        # "live": the promote job, on live evidence;
                                         # "backtest": each new challenger at once, if the
                                         # registry's policy accepts it on its backtest

    [settings]                           # project settings for this policy's replay only
    monitoring = { min_shadow_hours = 48 }
    policy = { min_margin = 0.02 }

Every policy starts the same way: the first training and the first champion. After that,
``retrain.when`` says when the ``retrain`` job is run: never; once ``every_days`` have passed
since the last retrain; or once the ``monitor`` job raised an alert of one of ``alerts``
since the last retrain. The job itself still decides (weekly, or after a drift or metric
alert: ``heliograph.jobs.RETRAIN_EVERY``, ``RETRAIN_TRIGGERS``), which is why ``every_days``
is at least a week.

A bad file is a ``UsageError`` naming the file, the key and the rule.

Example::

    policy = load_policy(Path("policies/weekly.toml"))
    policy.retrain.when, policy.promote.when   # ('every', 'live')
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from heliograph.core import Settings, UsageError, read_toml_file
from heliograph.jobs import RETRAIN_EVERY, RETRAIN_TRIGGERS

__all__ = ["Policy", "PromotePolicy", "RetrainPolicy", "load_policy", "policy_from"]

_MIN_EVERY_DAYS = RETRAIN_EVERY.total_seconds() / 86400
# Settings a policy may change: what decides promotion and what raises alerts.
_SETTINGS = ("monitoring", "policy")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class RetrainPolicy(_Strict):
    when: Literal["never", "every", "drift"] = "never"
    every_days: float | None = Field(default=None, ge=_MIN_EVERY_DAYS, allow_inf_nan=False)
    alerts: tuple[str, ...] = RETRAIN_TRIGGERS

    @model_validator(mode="after")
    def _consistent(self) -> RetrainPolicy:
        if self.when == "every" and self.every_days is None:
            raise ValueError("every_days: required when when = 'every'")
        if self.when != "every" and self.every_days is not None:
            raise ValueError(f"every_days: only with when = 'every', not {self.when!r}")
        unknown = sorted(set(self.alerts) - set(RETRAIN_TRIGGERS))
        if unknown or not self.alerts:
            raise ValueError(
                f"alerts: {unknown[0] if unknown else 'empty'}: a non-empty list of "
                + ", ".join(RETRAIN_TRIGGERS)
            )
        return self


class PromotePolicy(_Strict):
    when: Literal["live", "backtest"] = "live"


class Policy(_Strict):
    """One policy to replay: its name, when to retrain, when to promote, and settings."""

    name: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
    description: str = ""
    retrain: RetrainPolicy = RetrainPolicy()
    promote: PromotePolicy = PromotePolicy()
    settings: dict[str, dict[str, Any]] = Field(default_factory=dict)

    def summary(self) -> str:
        """One line: what the policy does."""
        retrain = {
            "never": "never retrain",
            "every": f"retrain every {self.retrain.every_days or 0:g} days",
            "drift": "retrain on " + " or ".join(self.retrain.alerts) + " alerts",
        }[self.retrain.when]
        return f"{self.name}: {retrain}, promote on {self.promote.when} evidence"

    def apply(self, settings: Settings) -> Settings:
        """``settings`` with this policy's ``[settings]`` laid over them, validated."""
        data = settings.model_dump()
        for section, values in self.settings.items():
            data[section] = {**data[section], **values}
        try:
            return Settings.model_validate(data)
        except ValidationError as exc:
            key, rule = _rule(exc.errors()[0])
            raise UsageError(
                f"policy {self.name}: settings.{key}: {rule}", field=f"settings.{key}", rule=rule
            ) from None


def _rule(error: Mapping[str, Any]) -> tuple[str, str]:
    """The key and the rule of a pydantic error, as a person reads them."""
    loc = [str(p) for p in error["loc"]]
    message = str(error["msg"]).removeprefix("Value error, ")
    if error["type"] == "extra_forbidden":
        return ".".join(loc), "unknown key"
    if ": " in message and error["type"] == "value_error":  # "every_days: required ..."
        head, _, rest = message.partition(": ")
        return ".".join([*loc, head]), rest
    return ".".join(loc) or "policy", message


def policy_from(data: Mapping[str, Any], *, name: str, where: str = "policy") -> Policy:
    """A ``Policy`` from a parsed TOML table (``name`` when it names none)."""
    unknown = sorted(set(data.get("settings", {})) - set(_SETTINGS))
    if unknown:
        raise UsageError(
            f"{where}: settings.{unknown[0]}: a policy may change only "
            + ", ".join(f"[settings.{s}]" for s in _SETTINGS),
            file=where,
            field=f"settings.{unknown[0]}",
            rule="one of " + ", ".join(_SETTINGS),
        )
    try:
        policy = Policy.model_validate({"name": name, **data})
    except ValidationError as exc:
        key, rule = _rule(exc.errors()[0])
        raise UsageError(f"{where}: {key}: {rule}", file=where, field=key, rule=rule) from None
    try:
        policy.apply(Settings())  # the settings' keys and values, checked now, not mid-replay
    except UsageError as exc:
        raise UsageError(exc.headline, file=where, field=exc.field, rule=exc.rule) from None
    return policy


def load_policy(path: Path | str) -> Policy:
    """The policy in the TOML file at ``path`` (see the module)."""
    path = Path(path)
    data = read_toml_file(path, what="policy", option="--policy")
    return policy_from(data, name=path.stem, where=str(path))
