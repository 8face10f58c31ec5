"""``helio serve --workers N`` as a real process tree: every worker serves the same port with
its own spool, /metrics adds every worker up, SIGTERM stops them all and nothing is lost."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from email.message import Message
from pathlib import Path

import pytest

from heliograph.core import Project, init_project
from heliograph.ledger import claim_spool, count_predictions
from heliograph.registry import Registry
from heliograph.tracking import tracked_run

pytestmark = pytest.mark.filterwarnings(
    "ignore::UserWarning:mlflow.*",
    "ignore:.*type hint:UserWarning",
    "ignore::FutureWarning",
    "ignore:X does not have valid feature names:UserWarning",  # the native path reads arrays
)
MODEL = "tiny-linear"
COLUMNS = ["a", "b", "c"]


def tiny_project(root: Path) -> Project:
    """A bare project with one registered scikit-learn model as champion, the model of
    ``/invocations`` (a few seconds)."""
    import mlflow.sklearn
    import numpy as np
    import pandas as pd
    from mlflow.models import infer_signature
    from sklearn.linear_model import LinearRegression

    project = init_project(root, name="tiny")
    rng = np.random.default_rng(0)
    x = pd.DataFrame(rng.normal(size=(50, 3)), columns=COLUMNS)
    model = LinearRegression().fit(x, x @ np.array([1.0, 2.0, 3.0]))
    with tracked_run(project, "tiny", "linear"):
        info = mlflow.sklearn.log_model(
            model,
            name="model",
            signature=infer_signature(x, model.predict(x)),
            input_example=x.head(3),
            pip_requirements=["scikit-learn"],  # not inferred (a subprocess: seconds)
        )
    registry = Registry(project)
    version = registry.register(MODEL, info.model_uri, reason="test")
    registry.client.set_registered_model_alias(MODEL, "champion", version)
    config = project.config_path
    assert config is not None
    config.write_text(
        config.read_text().replace('invocations_model = ""', f'invocations_model = "{MODEL}"')
    )
    return Project.load(project.root)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def serve(project: Project, port: int, *args: str, ledger: str) -> subprocess.Popen[str]:
    env = {
        "HELIO_LEDGER__URL": ledger,
        **os.environ,
        "HELIO_PROGRESS": "0",
        "HELIO_CLOCK__MODE": "real",
        "PYTHONWARNINGS": "ignore",
    }
    env.pop("MLFLOW_TRACKING_URI", None)
    command = [sys.executable, "-m", "heliograph.cli", "-p", str(project.root), "serve"]
    return subprocess.Popen(
        [*command, "--port", str(port), *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )


def get(url: str) -> tuple[int, Message, str]:
    try:
        with urllib.request.urlopen(url, timeout=10) as answer:
            return answer.status, answer.headers, answer.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.headers, error.read().decode()


def wait_ready(server: subprocess.Popen[str], base: str, timeout: float = 150) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert server.poll() is None, server.communicate()[1]
        try:
            if get(f"{base}/readyz")[0] == 200:
                return
        except OSError:
            pass
        time.sleep(0.3)
    pytest.fail("gateway not ready")


def invoke(base: str) -> str:
    body = {"dataframe_split": {"columns": COLUMNS, "data": [[1.0, 1.0, 1.0]]}}
    request = urllib.request.Request(
        f"{base}/invocations",
        method="POST",
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as answer:  # a new connection each time
        assert answer.status == 200
        assert json.loads(answer.read())["predictions"] == pytest.approx([6.0])
        return answer.headers["X-Request-ID"]


def metric(text: str, name: str, labels: str = "") -> float:
    pattern = rf"^{re.escape(name)}{re.escape(labels)}(?:{{[^}}]*}})? (\S+)$"
    return sum(float(v) for v in re.findall(pattern, text, re.MULTILINE))


def descendants(pid: int) -> set[int]:
    found: set[int] = set()
    todo = [pid]
    while todo:
        for task in Path(f"/proc/{todo.pop()}/task").glob("*"):
            try:
                children = (task / "children").read_text().split()
            except OSError:
                continue
            for child in map(int, children):
                if child not in found:
                    found.add(child)
                    todo.append(child)
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.mark.slow
def test_two_workers_share_the_port_the_metrics_and_lose_nothing(tiny: Project) -> None:
    project = tiny
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    ledger = f"sqlite:///{project.state_dir / 'workers-ledger.db'}"  # this test's alone
    server = serve(project, port, "--workers", "2", ledger=ledger)
    try:
        wait_ready(server, base)
        deadline = time.monotonic() + 60
        while True:  # both workers up: each has claimed a spool folder of its own
            status, _, text = get(f"{base}/metrics")
            if metric(text, "helio_workers") == 2:
                break
            assert time.monotonic() < deadline, text
            time.sleep(0.3)
        workers = [p for p in descendants(server.pid) if alive(p)]
        assert len(workers) >= 2
        extra = claim_spool(project.state_dir / "spool")  # folders 0 and 1 are held
        assert extra.folder.name == "2"
        extra.release()

        ids = [invoke(base) for _ in range(30)]
        deadline = time.monotonic() + 10  # a request is counted as its response ends: the
        while True:  # client may have the 30th answer a moment before the counter moves
            _, _, text = get(f"{base}/metrics")
            done = metric(text, "helio_requests_total", '{route="/invocations",status="200"}')
            if done == 30 or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        seen = set()
        for _ in range(12):  # whichever worker answers the scrape, it counts all 30
            status, headers, text = get(f"{base}/metrics")
            assert status == 200
            seen.add(headers["X-Helio-Worker"])
            answered = metric(text, "helio_requests_total", '{route="/invocations",status="200"}')
            assert answered == 30, text
            assert metric(text, "helio_model_served") >= 1
            assert metric(text, "helio_workers") == 2
        assert seen <= {"0", "1"}
        server.send_signal(signal.SIGTERM)
        assert server.wait(timeout=90) in (0, -signal.SIGTERM, 128 + signal.SIGTERM)
        time.sleep(0.5)
        assert not [p for p in workers if alive(p)], "workers left serving"
    finally:
        if server.poll() is None:
            os.killpg(server.pid, signal.SIGKILL)
        server.communicate()
    assert count_predictions(ledger, service="invocations") == len(set(ids)) == 30
    assert not list((project.state_dir).glob("metrics-*")), "the metrics folder is removed"
