"""Remembered domain answers: a repeat is answered from memory, and never a stale one.

The gateway remembers an answer by what it was computed from: the model version, the online
store's feature state, the targets and the request without its ``as_of``. These tests check
that the memory follows the champion and the data (a materialisation forgets), that answers
from the lake are not remembered, that concurrent equal questions are computed once, and that
every answer, remembered or not, is a ledger record of its own and equals what a gateway
without memory answers.
"""

from __future__ import annotations

import shutil
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from heliograph.apps.energy import app as energy_app
from heliograph.apps.energy import model_name, train_market
from heliograph.core import FixedClock, Project
from heliograph.gateway import create_app
from heliograph.jobs import ingest
from heliograph.ledger import read_predictions
from heliograph.registry import Registry
from heliograph.tracking import mlflow_client
from tests.conftest import energy_project

pytestmark = pytest.mark.filterwarnings(
    "ignore::UserWarning:mlflow.*", "ignore:.*type hint:UserWarning"
)
GB = model_name("GB")
PATH = "/v1/services/price-forecast/predict"


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Project:
    project = energy_project(tmp_path_factory.mktemp("answers"))
    train_market(project, "GB", models=["lear"], backtest_days=7)
    Registry(project).promote(GB, reason="first")
    train_market(project, "GB", models=["seasonal_naive"], backtest_days=7)
    return project


def ask(client: TestClient, as_of: str, horizon: int = 24) -> Any:
    response = client.post(PATH, json={"market": "GB", "as_of": as_of, "horizon_hours": horizon})
    assert response.status_code == 200, response.text
    return response


def how(response: Any) -> str:
    return str(response.headers["X-Answer"])


def memory(client: TestClient) -> Any:
    return client.app.state.gateway.answers  # type: ignore[attr-defined]


def test_a_remembered_answer_follows_the_champion(project: Project) -> None:
    as_of = "2025-03-31T11:00:00Z"
    app = create_app(project, energy_app.services(), poll_interval=3600, shadow=False)
    with TestClient(app) as client:
        first, again = ask(client, as_of), ask(client, as_of)
        assert (how(first), how(again)) == ("computed", "remembered")
        assert again.content == first.content and again.headers["X-Model-Version"] == "1"

        mlflow_client(project).set_registered_model_alias(GB, "champion", "2")
        client.app.state.gateway.follower.sync()  # type: ignore[attr-defined]
        moved = ask(client, as_of)
        assert how(moved) == "computed" and moved.headers["X-Model-Version"] == "2"
        assert moved.json()["version"] == "2"
        assert moved.json()["forecasts"] != first.json()["forecasts"]

        mlflow_client(project).set_registered_model_alias(GB, "champion", "1")
        client.app.state.gateway.follower.sync()  # type: ignore[attr-defined]
        back = ask(client, as_of)  # the old version's answer is still remembered
        assert how(back) == "remembered" and back.content == first.content
        assert (memory(client).computed, memory(client).remembered) == (2, 2)
        responses = [first, again, moved, back]
    ids = {r.headers["X-Request-ID"]: r.headers["X-Model-Version"] for r in responses}
    records = read_predictions(project.ledger_url, service="price-forecast", limit=10_000)
    logged = {r.request_id: r for r in records if r.request_id in ids}
    assert {i: r.model_version for i, r in logged.items()} == ids  # one record per answer
    assert all(r.role == "champion" and r.inputs_hash for r in logged.values())
    computed, repeat = (logged[r.headers["X-Request-ID"]] for r in (first, again))
    assert computed.inputs is not None and computed.as_of == repeat.as_of
    assert repeat.inputs is None and repeat.inputs_hash == computed.inputs_hash  # stored once
    outputs = logged[first.headers["X-Request-ID"]].outputs
    assert [round(p, 9) for p in outputs["p50"]] == [
        round(p["p50"], 9) for p in first.json()["forecasts"]
    ]


def test_a_materialisation_forgets_the_answers_of_the_old_state(
    project: Project, tmp_path: Path
) -> None:
    """The next day's forecasts are published at 09:00: as of 12:00 on 1 April the features see
    them once they are in the lake (it was last fed at 12:00 on 31 March); ingest publishes and
    materialises them, and the next answer is computed from the new state."""
    shutil.copytree(project.root, tmp_path / "copy")  # this test feeds the lake
    now = datetime(2025, 4, 1, 12, tzinfo=UTC)
    mine = Project.load(tmp_path / "copy").with_clock(FixedClock(now))
    as_of = "2025-04-01T12:00:00Z"
    app = create_app(mine, energy_app.services(), poll_interval=3600, shadow=False)
    with TestClient(app) as client:
        before = ask(client, as_of)
        assert how(ask(client, as_of)) == "remembered" and len(memory(client)) == 1
        outcome = ingest(mine.with_clock(FixedClock(datetime(2025, 4, 1, 18, tzinfo=UTC))))
        assert outcome.materialized
        mine.with_clock(FixedClock(now))
        time.sleep(1.05)  # a reader looks at the store's generation at once, at the lake each s
        after = ask(client, as_of)
        assert how(after) == "computed" and after.content != before.content
        assert after.json()["source"] == "online"
        assert len(memory(client)) == 1  # the old state's answer is forgotten
        assert how(ask(client, as_of)) == "remembered"
    fresh = create_app(mine, energy_app.services(), poll_interval=3600, shadow=False)
    with TestClient(fresh) as client:
        assert ask(client, as_of).content == after.content  # what no memory at all gives


def test_as_of_now_asked_again_is_answered_from_memory_with_its_own_as_of(
    project: Project,
) -> None:
    """Moments that see the same feature state and targets share one answer; each response
    and ledger record still carries its own as_of, and equals what a gateway without memory
    answers."""
    app = create_app(project, energy_app.services(), poll_interval=3600, shadow=False)
    with TestClient(app) as client:
        first = ask(client, "2025-03-31T11:01:00Z")
        later = ask(client, "2025-03-31T11:17:30Z")
        assert (how(first), how(later)) == ("computed", "remembered")
        assert how(ask(client, "2025-03-31T11:31:00Z")) == "computed"  # a new first target
        assert how(ask(client, "2025-03-31T11:17:30Z", horizon=12)) == "computed"
        assert later.json()["as_of"] == "2025-03-31T11:17:30Z"
        assert later.json()["forecasts"] == first.json()["forecasts"]
        own = ("as_of", "freshness")  # its moment, and its inputs' ages seen from it
        assert {k: v for k, v in later.json().items() if k not in own} == {
            k: v for k, v in first.json().items() if k not in own
        }
    fresh = create_app(project, energy_app.services(), poll_interval=3600, shadow=False)
    with TestClient(fresh) as client:
        assert ask(client, "2025-03-31T11:17:30Z").content == later.content
    records = read_predictions(project.ledger_url, service="price-forecast", limit=10_000)
    logged = {r.request_id: r for r in records}
    record = logged[later.headers["X-Request-ID"]]
    assert record.as_of == datetime(2025, 3, 31, 11, 17, 30, tzinfo=UTC)
    assert record.inputs_hash == logged[first.headers["X-Request-ID"]].inputs_hash


def test_answers_from_the_lake_are_not_remembered(project: Project) -> None:
    app = create_app(project, energy_app.services(), poll_interval=3600, shadow=False)
    with TestClient(app) as client:
        old = "2025-03-20T11:00:00Z"  # before the store's one day of retention
        first, again = ask(client, old), ask(client, old)
        assert first.json()["source"] == again.json()["source"] == "lake"
        assert (how(first), how(again)) == ("computed", "computed")
        assert again.content == first.content and len(memory(client)) == 0


def test_equal_questions_asked_together_are_computed_once(project: Project) -> None:
    """Eight clients asking the same new question at once: one computation, seven waits."""
    app = create_app(project, energy_app.services(), poll_interval=3600, shadow=False)
    with TestClient(app) as client:
        answers: list[Any] = []
        start = threading.Barrier(8)

        def one() -> None:
            start.wait()
            answers.append(ask(client, "2025-03-31T09:40:00Z", horizon=48))

        threads = [threading.Thread(target=one) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        assert len(answers) == 8 and len({a.content for a in answers}) == 1
        assert sorted(how(a) for a in answers) == ["computed"] + ["remembered"] * 7


def test_the_memory_forgets_older_generations_and_keeps_no_late_answer() -> None:
    from heliograph.gateway._answer import Answer, AnswerMemory

    def key(generation: int, entity: str = "GB") -> tuple[Any, ...]:
        return ("price-forecast", "1", ("view@1", entity, 100, generation), (1, 2), b"{}")

    def answer(text: str) -> Answer:
        return Answer.of(None, {"p50": [1.0]}, body=text.encode())

    memory = AnswerMemory(size=3)
    memory.once(key(1), lambda: answer("a"))
    memory.once(key(1, "DE"), lambda: answer("b"))
    assert len(memory) == 2
    memory.once(key(2), lambda: answer("c"))  # a materialisation: generation 2
    assert len(memory) == 1 and memory.get(key(1)) is None
    memory.once(key(1, "FR"), lambda: answer("late"))  # computed from the replaced state
    assert memory.get(key(1, "FR")) is None and len(memory) == 1
    found, remembered = memory.once(key(2), lambda: answer("never"))
    assert remembered and found.body == b"c"
    for n in range(5):  # bounded
        memory.once(("s", "1", None, (n, n), b"{}"), lambda: answer("x"))
    assert len(memory) == 3
    assert (memory.computed, memory.remembered) == (9, 1)
