"""Serving in process, with no HTTP: load, warm up, smoke-test, follow aliases, roll back."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from heliograph.core import Project, init_project
from heliograph.ledger import Ledger
from heliograph.registry import Registry
from heliograph.serving import ModelStore, RegistryFollower, load_version, webhook_signed
from heliograph.tracking import mlflow_client, tracked_run

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")
NAME = "tiny-linear"
COLUMNS = ["x0", "x1"]


def _register(project: Project, slope: float) -> str:
    import mlflow.sklearn
    from mlflow.models import infer_signature
    from sklearn.linear_model import LinearRegression

    x = pd.DataFrame(np.arange(20, dtype=float).reshape(10, 2), columns=COLUMNS)
    model = LinearRegression().fit(x, slope * x["x0"] + x["x1"])
    with tracked_run(project, "tiny", f"slope-{slope}"):
        info = mlflow.sklearn.log_model(
            model,
            name="model",
            signature=infer_signature(x, model.predict(x)),
            input_example=x.head(3),
        )
    return Registry(project).register(NAME, info.model_uri, reason=f"slope {slope}")


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Project:
    project = init_project(Path(tmp_path_factory.mktemp("serving")) / "p", name="serving")
    assert (_register(project, 1.0), _register(project, 3.0)) == ("1", "2")
    return project


def test_a_version_loads_warm_with_its_fast_path(project: Project) -> None:
    model = load_version(Registry(project), NAME, "1")
    assert model.columns == COLUMNS and model.native is not None
    rows = np.array([[2.0, 5.0]])
    assert model.predict_rows(rows, COLUMNS) == pytest.approx([7.0])
    frame = pd.DataFrame(rows, columns=COLUMNS)
    assert model.predict_cached(frame).iloc[0, 0] == pytest.approx(7.0)


def test_follow_promote_and_roll_back_in_process(project: Project) -> None:
    aliases = mlflow_client(project)
    aliases.set_registered_model_alias(NAME, "champion", "1")
    store = ModelStore()
    follower = RegistryFollower(project, store, [NAME], poll_interval=3600)
    follower.sync()
    assert store.get(NAME, "champion").version == "1"

    aliases.set_registered_model_alias(NAME, "champion", "2")  # a promotion
    aliases.set_registered_model_alias(NAME, "previous", "1")
    follower.sync()
    assert store.get(NAME, "champion").version == "2"
    assert store.get(NAME, "previous").version == "1"  # kept for the rollback

    Registry(project).rollback(NAME, reason="test")
    follower.sync()
    assert store.get(NAME, "champion").version == "1"
    events = Ledger(project.ledger_url).events(kind="deployed", subject=f"model/{NAME}", limit=2)
    assert "champion v1 now served (was 2); already loaded" in [e.reason for e in events]


def test_webhook_signature_is_checked_by_a_pure_function() -> None:
    stamp = str(int(time.time()))
    body = '{"entity": "model_version_alias"}'
    digest = hmac.new(b"s3cret", f"d1.{stamp}.{body}".encode(), hashlib.sha256).digest()
    headers = {
        "x-mlflow-delivery-id": "d1",
        "x-mlflow-timestamp": stamp,
        "x-mlflow-signature": "v1," + base64.b64encode(digest).decode(),
    }
    assert webhook_signed("s3cret", headers, body)
    assert not webhook_signed("other", headers, body)
    assert not webhook_signed("s3cret", headers, body + " ")
    old = {**headers, "x-mlflow-timestamp": str(int(stamp) - 600)}
    assert not webhook_signed("s3cret", old, body)
