"""Throughput and latency of mlflow models serve and of helio serve's routes."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ._common import BIN, DOMAIN_BODY, HOST, LGBM
from ._servers import helio_command, helio_env, serving
from ._wrk import measure, wrk_script, wrk_script_distinct


def throughput(
    setup: dict[str, Any], workdir: Path, seconds: float, diagnostics: bool
) -> dict[str, Any]:
    """wrk against mlflow, helio /invocations and the domain endpoint (and, as a diagnosis,
    mlflow and /invocations again with OMP_NUM_THREADS=1, and the domain endpoint with a
    different as_of in every request)."""
    from heliograph.ledger import count_predictions

    project = setup["project"]
    figures: dict[str, Any] = {}
    invocations_script = wrk_script(workdir, "invocations", setup["body"])
    domain_script = wrk_script(workdir, "domain", DOMAIN_BODY)
    url = project.ledger_url

    def rows_of(service: str) -> Callable[[], int]:
        return lambda: count_predictions(url, service=service)

    def mlflow_run(name: str, **extra: str) -> None:
        env = {
            **os.environ,
            "MLFLOW_TRACKING_URI": project.tracking_uri,
            "MLFLOW_REGISTRY_URI": project.tracking_uri,
            "PYTHONWARNINGS": "ignore",
            "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",  # it runs `uvicorn`
            **extra,
        }
        mlflow_bin = str(BIN / "mlflow") if (BIN / "mlflow").exists() else "mlflow"
        command = [mlflow_bin, "models", "serve", "-m", f"models:/{LGBM}@champion"]
        command += ["--env-manager", "local", "-h", HOST, "-p", "{port}"]
        with serving(name, command, env, workdir, "/ping") as server:
            figures[name] = measure(name, f"{server.base}/invocations", invocations_script, seconds)

    def helio_run(name: str, path: str, script: Path, service: str, **extra: str) -> None:
        before = rows_of(service)()
        env = helio_env(project, **extra)
        with serving(f"helio-{name}", helio_command(project), env, workdir, "/readyz") as server:
            figures[name] = measure(
                name, f"{server.base}{path}", script, seconds, around=rows_of(service)
            )
        # after SIGTERM every prediction must be in the ledger: compare with the 2xx answers,
        # unclamped (wrk does not count the requests still in flight when it stops, up to one
        # per connection per run: ledger_missing may be down to -2 x 8, never above 0)
        run = figures[name]
        answered = run["requests"] - run["non_2xx"] + run["warmup_requests"]
        answered -= run["warmup_non_2xx"]
        run["ledger_rows_total"] = rows_of(service)() - before
        run["ledger_missing"] = answered - run["ledger_rows_total"]

    mlflow_run("mlflow")
    helio_run("invocations", "/invocations", invocations_script, "invocations")
    helio_run("domain", "/v1/services/price-forecast/predict", domain_script, "price-forecast")
    if diagnostics:
        mlflow_run("mlflow_omp1", OMP_NUM_THREADS="1")
        helio_run(
            "invocations_omp1",
            "/invocations",
            invocations_script,
            "invocations",
            OMP_NUM_THREADS="1",
        )
        helio_run(
            "domain_distinct",
            "/v1/services/price-forecast/predict",
            wrk_script_distinct(workdir),
            "price-forecast",
        )
    return figures
