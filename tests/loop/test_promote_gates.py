"""The promote job's serving gates on a real trained version: its artefact size and memory."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from heliograph.core import FixedClock, Project
from heliograph.jobs import promote_on_evidence, record_realised
from heliograph.ledger import Ledger
from heliograph.registry import Registry
from heliograph.training import train

from ..apps.tiny.app import PIPELINE
from .test_loop_jobs import MODEL, START, TINY, shadow, tiny_project

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning:mlflow.*")


def gated(project: Project, now: datetime, **limits: float) -> Project:
    """The project with ``[policy]`` limits written to its helio.toml, as a run at ``now``."""
    config = project.root / "helio.toml"
    text = config.read_text()
    for key, value in limits.items():
        text = re.sub(rf"(?m)^{key} = .*$", f"{key} = {value}", text)
    config.write_text(text)
    return Project.load(project.root).with_clock(FixedClock(now))


def test_the_challengers_artefact_size_and_memory_gate_its_promotion(tmp_path: Path) -> None:
    now = START + timedelta(days=30)
    project, data = tiny_project(tmp_path, now, days=31)
    ledger, registry = Ledger(project.ledger_url), Registry(project)
    for _ in range(2):  # v1 the first champion, v2 the challenger
        train(project, PIPELINE, candidates=["least_squares"], backtest_days=7, train_days=21)
        promote_on_evidence(project, [TINY])
    loads = data.set_index("timestamp")["load"]
    shadow(project, loads, now - timedelta(hours=60), 60,
           {("1", "champion"): 6.0, ("2", "challenger"): 2.0})  # fmt: skip
    record_realised(project, [TINY])
    size_mb = registry.artifact_bytes(MODEL, "2") / 2**20
    assert size_mb > 0

    # artefacts over the limit: refused, the figure and the key named; memory not measured
    small = gated(project, now, max_artifact_mb=round(size_mb / 2, 6), max_memory_mb=0.001)
    refused = promote_on_evidence(small, [TINY])
    assert refused.promoted == [] and "refused on live evidence" in refused.summary()
    (event,) = ledger.events(kind="live_verdict")
    assert event.details["artifact_mb"] == pytest.approx(size_mb)
    assert event.details["memory_mb"] is None
    assert f"its artefacts are {size_mb:.3g} MB, the policy allows" in event.reason
    assert "(policy.max_artifact_mb)" in event.reason

    # room for the artefacts, a tiny memory limit: measured in a child process, refused
    later = now + timedelta(hours=1)
    roomy = gated(small, later, max_artifact_mb=1000.0)
    assert "max_artifact_mb = 1000.0" in (project.root / "helio.toml").read_text()
    refused = promote_on_evidence(roomy, [TINY])
    assert refused.promoted == [], refused.summary()
    verdict = ledger.events(kind="live_verdict", limit=1)[0]
    assert "its artefacts are" not in verdict.reason
    memory_mb = verdict.details["memory_mb"]
    assert memory_mb > 0 and "(policy.max_memory_mb)" in verdict.reason
    shown = f"{memory_mb:.1f}" if memory_mb >= 10 else f"{memory_mb:.3g}"
    assert f"serving it takes {shown} MB of memory, the policy allows 0.001 MB" in verdict.reason
    assert registry.aliases(MODEL) == {"champion": "1", "challenger": "2"}
    print(f"tiny v2: artefacts {size_mb:.3f} MB, serving memory {memory_mb:.1f} MB")
