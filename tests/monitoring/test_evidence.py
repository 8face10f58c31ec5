"""Live evidence: challenger against champion on the questions both answered, with reasons."""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from heliograph.core import ConfigError, Project, UsageError, init_project
from heliograph.ledger import Actual, PredictionRecord, PredictionWriter, record_actuals
from heliograph.monitoring import (
    LivePolicy,
    LiveVerdict,
    compare_live,
    live_evidence,
    serving_gates,
)
from heliograph.registry import RegistryError

T0 = datetime(2025, 6, 1, tzinfo=UTC)
HOUR = timedelta(hours=1)


def side(version: str, role: str, error: float, hours: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    as_of = [T0 + i * HOUR for i in range(hours)]
    actual = rng.normal(60, 10, hours)
    return pd.DataFrame(
        {
            "model_name": "m",
            "model_version": version,
            "role": role,
            "at": as_of,
            "as_of": as_of,
            "target_time": [t + HOUR for t in as_of],
            "p50": actual + rng.choice([-error, error], hours),
            "actual": actual,
        }
    )


def test_a_better_challenger_on_the_shared_window_is_accepted() -> None:
    champion = side("3", "champion", 5.0, 72, 0)
    challenger = side("4", "challenger", 3.0, 72, 0)
    verdict = compare_live(
        pd.concat([champion, challenger]),
        model="m",
        champion="3",
        challenger="4",
        until=T0 + 72 * HOUR,
        policy=LivePolicy(min_margin=0.1, min_judged=48),
    )
    assert verdict.accepted, verdict.reasons
    assert verdict.judged == 72 and verdict.shadow_hours == 72
    assert verdict.challenger_value == pytest.approx(
        3.0
    ) and verdict.champion_value == pytest.approx(5.0)
    assert "-40.00%, better" in verdict.reasons[0]


def test_only_questions_both_answered_count() -> None:
    # the champion also answered 48 earlier hours where it was terrible: they must not count
    early = side("3", "champion", 50.0, 48, 1).assign(
        as_of=lambda f: f["as_of"] - 48 * HOUR, target_time=lambda f: f["target_time"] - 48 * HOUR
    )
    champion = pd.concat([early, side("3", "champion", 3.0, 72, 0)])
    challenger = side("4", "challenger", 5.0, 72, 0)
    verdict = compare_live(
        pd.concat([champion, challenger]),
        model="m",
        champion="3",
        challenger="4",
        until=T0 + 72 * HOUR,
    )
    assert verdict.judged == 72 and not verdict.accepted
    assert verdict.reasons[-1].startswith("not better enough")


def test_a_short_shadow_and_too_few_judged_are_refused_with_both_reasons() -> None:
    frame = pd.concat([side("3", "champion", 5.0, 10, 0), side("4", "challenger", 1.0, 10, 0)])
    verdict = compare_live(
        frame,
        model="m",
        champion="3",
        challenger="4",
        until=T0 + 10 * HOUR,
        policy=LivePolicy(min_shadow_hours=24, min_judged=48),
    )
    assert not verdict.accepted
    assert any("shadowed 10.0 h, the policy needs 24 h" in r for r in verdict.reasons)
    assert any("10 predictions both versions made" in r for r in verdict.reasons)


def test_an_unknown_live_metric_is_a_usage_error() -> None:
    frame = pd.concat([side("3", "champion", 5.0, 50, 0), side("4", "challenger", 1.0, 50, 0)])
    with pytest.raises(UsageError) as caught:
        policy = LivePolicy(metric="smape")
        compare_live(frame, model="m", champion="3", challenger="4", until=T0, policy=policy)
    assert caught.value.field == "policy.metric"
    with pytest.raises(UsageError, match="direction"):
        LivePolicy(direction="up")


def test_live_evidence_reads_the_ledger_window(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'ledger.db'}"
    rng = np.random.default_rng(5)
    actuals, records = [], []
    for i in range(60):
        as_of = T0 + i * HOUR
        value = float(rng.normal(60, 10))
        actuals.append(Actual("svc", "m", as_of + HOUR, value))
        for version, role, error in (("3", "champion", 4.0), ("4", "challenger", 2.0)):
            records.append(
                PredictionRecord(
                    "svc",
                    "m",
                    version,
                    role,
                    f"r{i}",
                    "h",
                    {"p50": value + error},
                    1.0,
                    as_of=as_of,
                    target_start=as_of + HOUR,
                    target_end=as_of + HOUR,
                    at=as_of,
                )
            )
    record_actuals(url, actuals)
    with PredictionWriter(url, tmp_path / "spool") as writer:
        for record in records:
            writer.submit(record)
    verdict = live_evidence(
        url,
        "svc",
        "m",
        champion="3",
        challenger="4",
        since=T0,
        until=T0 + 61 * HOUR,
        policy=LivePolicy(min_shadow_hours=48, min_judged=48, max_p99_ms=5.0),
    )
    assert verdict.accepted and verdict.judged == 60
    assert verdict.challenger_value == pytest.approx(2.0)
    assert verdict.p99_ms == pytest.approx(1.0)  # its 60 shadow answers took 1 ms each
    # better, but slower than serving allows: refused, with the figure
    slow = live_evidence(
        url,
        "svc",
        "m",
        champion="3",
        challenger="4",
        since=T0,
        until=T0 + 61 * HOUR,
        policy=LivePolicy(min_shadow_hours=48, min_judged=48, max_p99_ms=0.5),
    )
    assert not slow.accepted
    assert any("p99 latency is 1.0 ms over 60 shadow answers" in r for r in slow.reasons)


def test_the_live_policy_is_the_projects(tmp_path: Path) -> None:
    project = init_project(tmp_path / "p")
    policy = LivePolicy.of(project.settings)
    assert policy == LivePolicy(max_p99_ms=0.0)  # the documented defaults
    config = project.root / "helio.toml"
    config.write_text(config.read_text().replace("max_p99_ms = 0.0", "max_p99_ms = 25.0"))
    assert LivePolicy.of(Project.load(project.root).settings).max_p99_ms == 25.0
    text = config.read_text().replace("max_memory_mb = 0.0", "max_memory_mb = 512.0")
    config.write_text(text.replace("max_artifact_mb = 0.0", "max_artifact_mb = 100.0"))
    policy = LivePolicy.of(Project.load(project.root).settings)
    assert (policy.max_artifact_mb, policy.max_memory_mb) == (100.0, 512.0)
    for key in ("max_artifact_mb", "max_memory_mb"):
        config.write_text(re.sub(rf"(?m)^{key} = .*$", f"{key} = -1.0", text))
        with pytest.raises(ConfigError) as error:
            Project.load(project.root)
        assert error.value.field == f"policy.{key}" and "greater than or equal to 0" in str(
            error.value
        )


def better_challenger(**limits: float) -> LiveVerdict:
    champion, challenger = side("3", "champion", 5.0, 72, 0), side("4", "challenger", 3.0, 72, 0)
    return compare_live(
        pd.concat([champion, challenger]),
        model="m",
        champion="3",
        challenger="4",
        until=T0 + 72 * HOUR,
        policy=LivePolicy(**limits),
    )


def test_serving_gates_refuse_over_their_limits_and_measure_memory_last() -> None:
    asked: list[str] = []

    def size() -> float:
        asked.append("size")
        return 412.34

    def memory() -> float:
        asked.append("memory")
        return 96.0

    policy = LivePolicy(max_artifact_mb=100, max_memory_mb=128)
    verdict = serving_gates(better_challenger(), policy, artifact_mb=size, memory_mb=memory)
    assert not verdict.accepted and asked == ["size"]  # refused: memory not measured
    assert verdict.artifact_mb == pytest.approx(412.34) and math.isnan(verdict.memory_mb)
    assert verdict.reasons[0] == (
        "its artefacts are 412.3 MB, the policy allows 100 MB (policy.max_artifact_mb)"
    )
    assert "better" in verdict.reasons[-1]  # the comparison stays the last reason

    asked.clear()
    roomy = LivePolicy(max_artifact_mb=500, max_memory_mb=128)
    verdict = serving_gates(better_challenger(), roomy, artifact_mb=size, memory_mb=memory)
    assert verdict.accepted and asked == ["size", "memory"], verdict.reasons
    assert verdict.memory_mb == 96.0 and len(verdict.reasons) == 1
    tight = LivePolicy(max_memory_mb=64)
    verdict = serving_gates(better_challenger(), tight, artifact_mb=size, memory_mb=memory)
    assert not verdict.accepted and math.isnan(verdict.artifact_mb)  # no size gate: not read
    assert verdict.reasons[0] == (
        "serving it takes 96.0 MB of memory, the policy allows 64 MB (policy.max_memory_mb)"
    )

    def unloadable() -> float:
        raise RegistryError("m v4 could not be loaded to measure its memory: boom")

    verdict = serving_gates(better_challenger(), tight, artifact_mb=size, memory_mb=unloadable)
    assert not verdict.accepted
    assert verdict.reasons[0] == (
        "its serving memory could not be measured: m v4 could not be loaded to measure its "
        "memory: boom"
    )
    # every gate off (the default): nothing asked, nothing changed
    verdict = serving_gates(better_challenger(), LivePolicy(), artifact_mb=size, memory_mb=memory)
    assert verdict.accepted and asked == ["size", "memory", "memory"]
