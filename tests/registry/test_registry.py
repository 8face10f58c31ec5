"""Roles, policy, rollback and history on a real MLflow registry (SQLite in a temp folder)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from heliograph.core import PolicySettings, Project, init_project
from heliograph.registry import TAG_WINDOW, Registry, RegistryError
from heliograph.tracking import TAG_CHECKS_PASSED, tracked_run

NAME = "toy"
pytestmark = pytest.mark.filterwarnings("ignore:.*type hint:UserWarning")


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Project:
    return init_project(tmp_path_factory.mktemp("registry"))


def new_version(
    project: Project, mae: float, *, window: str = "2025-01-01..2025-01-31", checks: bool = True
) -> str:
    import mlflow
    import mlflow.pyfunc

    class Constant(mlflow.pyfunc.PythonModel):  # type: ignore[misc]
        def predict(self, context: Any, model_input: list[str], params: Any = None) -> list[str]:
            return model_input

    with tracked_run(
        project,
        "toy",
        f"mae={mae}",
        tags={TAG_WINDOW: window, TAG_CHECKS_PASSED: str(checks).lower()},
    ):
        mlflow.log_metric("backtest_mae", mae)
        info = mlflow.pyfunc.log_model(name="model", python_model=Constant())
    return Registry(project).register(NAME, info.model_uri, reason=f"test mae {mae}")


def test_roles_promotion_refusals_rollback_and_history(project: Project) -> None:
    registry = Registry(project)
    v1 = new_version(project, 5.0)
    assert registry.aliases(NAME) == {"challenger": v1}

    first = registry.promote(NAME, reason="first")
    assert first.accepted and registry.aliases(NAME) == {"champion": v1}

    v2 = new_version(project, 4.0)
    better = registry.promote(NAME, reason="better")
    assert better.accepted
    assert registry.aliases(NAME) == {"champion": v2, "previous": v1}

    v3 = new_version(project, 4.5)  # worse
    worse = registry.promote(NAME)
    assert not worse.accepted and "not better enough" in worse.reasons[0]
    assert registry.aliases(NAME)["champion"] == v2
    assert registry.aliases(NAME)["challenger"] == v3

    new_version(project, 3.96)  # 1% better, policy asks for 2%
    strict = PolicySettings(min_margin=0.02)
    assert not registry.promote(NAME, policy=strict).accepted
    assert registry.evaluate(NAME, policy=PolicySettings(min_margin=0.005)).accepted

    new_version(project, 1.0, window="2024-12-01..2024-12-31")  # better, but not comparable
    decision = registry.promote(NAME)
    assert not decision.accepted and "windows differ" in " ".join(decision.reasons)

    new_version(project, 1.0, checks=False)  # better, but its data failed checks
    decision = registry.promote(NAME)
    assert not decision.accepted and "did not pass its checks" in " ".join(decision.reasons)

    typo = registry.evaluate(NAME, policy=PolicySettings(metric="maee"))
    assert not typo.accepted
    assert "[policy] metric 'maee' is not one it logged: mae" in typo.reasons[0]

    assert registry.rollback(NAME, reason="incident 42") == v1
    assert registry.aliases(NAME)["champion"] == v1
    assert registry.aliases(NAME)["previous"] == v2

    history = registry.history(NAME)
    kinds = [e.kind for e in history]
    assert kinds.count("promotion_refused") == 4
    assert any("incident 42" in e.reason for e in history if e.kind == "alias_moved")
    assert history[-1].kind == "model_registered"  # oldest last


def test_same_candidate_and_unknown_model(project: Project) -> None:
    registry = Registry(project)
    with pytest.raises(RegistryError, match="unknown model 'nope'"):
        registry.aliases("nope")
    champion = registry.aliases(NAME)["champion"]
    decision = registry.evaluate(NAME, candidate=champion)
    assert not decision.accepted and "already is the champion" in decision.reasons[0]


def test_no_previous_means_no_rollback(tmp_path: Path) -> None:
    project = init_project(tmp_path)
    new_version(project, 2.0)
    registry = Registry(project)
    registry.promote(NAME)
    with pytest.raises(RegistryError, match="no previous version"):
        registry.rollback(NAME)


def test_artifacts_go_where_the_tracking_setup_says(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from heliograph.tracking import artifact_location

    local = init_project(tmp_path / "a")
    assert artifact_location(local, "x") == (local.artifacts_dir / "x").resolve().as_uri()
    monkeypatch.setenv("HELIO_TRACKING__URI", "http://mlflow.internal:5000")
    server = Project.load(tmp_path / "a")
    assert artifact_location(server, "x") is None  # the server's store, not this machine
    monkeypatch.setenv("HELIO_TRACKING__ARTIFACTS", "s3://models/helio/")
    assert artifact_location(Project.load(tmp_path / "a"), "x") == "s3://models/helio/x"


def test_a_person_can_override_the_policy_with_a_recorded_reason(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import getpass

    from heliograph.cli import main

    project = init_project(tmp_path)
    registry = Registry(project)
    v1 = new_version(project, 4.0)
    registry.promote(NAME)
    v2 = new_version(project, 4.5)  # worse: the policy refuses

    def run(*args: str) -> tuple[int, str]:
        with pytest.raises(SystemExit) as info:
            main(["-p", str(project.root), *args])
        out, err = capsys.readouterr()
        return int(info.value.code or 0), out + err

    code, out = run("model", "promote", NAME, "--force")
    assert code == 2 and "--reason" in out and "says why" in out
    assert registry.aliases(NAME)["champion"] == v1
    with pytest.raises(RegistryError, match="needs a reason"):
        registry.promote(NAME, force=True)

    code, out = run(
        "model", "promote", NAME, "--force", "--reason", "signed off by ops", "--actor", "alice"
    )
    assert code == 0, out
    assert "overridden: not better enough" in out and f"version {v2} is champion" in out
    assert registry.aliases(NAME) == {"champion": v2, "previous": v1}
    forced = registry.history(NAME, limit=5)
    event = next(e for e in forced if e.kind == "promotion_forced")
    user = getpass.getuser()
    assert event.actor == f"alice (OS user {user})"
    assert "signed off by ops" in event.reason and "not better enough" in event.reason
    assert event.details["os_user"] == user
    code, out = run("model", "history", NAME)
    assert "promotion_forced" in out and "signed off by ops" in out and "alice" in out
    # Nothing to force: the champion is already the candidate.
    assert not registry.promote(NAME, force=True, reason="again").accepted


def test_a_versions_artefact_size_is_the_sum_of_its_files(project: Project) -> None:
    from urllib.parse import urlparse

    version = new_version(project, 1.0)
    registry = Registry(project)
    folder = Path(urlparse(registry.client.get_model_version_download_uri(NAME, version)).path)
    on_disk = sum(f.stat().st_size for f in folder.rglob("*") if f.is_file())
    assert registry.artifact_bytes(NAME, version) == on_disk > 0
    with pytest.raises(RegistryError, match="unknown model 'nope'"):
        registry.artifact_bytes("nope", "1")
