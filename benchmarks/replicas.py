"""Gateway replicas: two `helio serve` processes against one, on one PostgreSQL ledger.

Each replica is its own process and port (on N hosts it would be its own machine); the load
balancer is wrk itself, one wrk per replica, the connections split evenly. The same total
number of connections goes to one replica, then to two, for the same seconds, on a
single-row scikit-learn model at ``/invocations``. Prints one JSON line:

- ``ratio``: requests/s of two replicas over one (same run, same machine);
- ``r1.p99_ms``, ``r2.p99_ms``: the 99th percentile latency (the worse replica's for two);
- ``rN.ledger_missing``: the 2xx answers wrk counted minus the rows the ledger gained (wrk
  does not count the requests in flight when it stops: at most one per connection, so
  ``ledger_ok`` allows that much, never a row more than answered).

On a 2-core machine two replicas share the two cores with wrk: the ratio says what one host
gains (little), not what two hosts would (docs/production.md, "Scale-out").

    python benchmarks/replicas.py --seconds 10 --connections 16
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import tempfile
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _gateway._common import PG_DEFAULT, load_1m, log, versions
from _gateway._servers import helio_command, helio_env, serving
from _gateway._workers import ledger_check
from _gateway._wrk import run_wrk, wrk_script

MODEL = "bench-replica"
COLUMNS = ["a", "b", "c"]


def setup(root: Path, ledger: str) -> Any:
    import mlflow.sklearn
    import numpy as np
    import pandas as pd
    from mlflow.models import infer_signature
    from sklearn.linear_model import LinearRegression

    from heliograph.core import init_project
    from heliograph.registry import Registry
    from heliograph.tracking import tracked_run

    os.environ["HELIO_LEDGER__URL"] = ledger
    project = init_project(root, name="replicas-bench")
    x = pd.DataFrame(np.random.default_rng(0).normal(size=(50, 3)), columns=COLUMNS)
    model = LinearRegression().fit(x, x @ np.array([1.0, 2.0, 3.0]))
    with tracked_run(project, "replicas", "linear"):
        info = mlflow.sklearn.log_model(
            model,
            name="model",
            signature=infer_signature(x, model.predict(x)),
            input_example=x.head(3),
            pip_requirements=["scikit-learn"],
        )
    registry = Registry(project)
    version = registry.register(MODEL, info.model_uri, reason="benchmark")
    registry.client.set_registered_model_alias(MODEL, "champion", version)
    return project


def fresh_database(url: str) -> str:
    import sqlalchemy

    admin = sqlalchemy.create_engine(url, isolation_level="AUTOCOMMIT")
    name = f"helio_bench_{uuid.uuid4().hex[:8]}"
    with admin.connect() as con:
        con.exec_driver_sql(f'CREATE DATABASE "{name}"')
    admin.dispose()
    return sqlalchemy.make_url(url).set(database=name).render_as_string(False)


def drop_database(url: str, admin_url: str) -> None:
    import sqlalchemy

    admin = sqlalchemy.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as con:
        name = sqlalchemy.make_url(url).database
        con.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin.dispose()


def drive(bases: list[str], script: Path, seconds: float, connections: int) -> dict[str, Any]:
    """One wrk per replica, at the same time, ``connections`` split evenly."""
    each = max(1, connections // len(bases))
    results: list[dict[str, Any]] = [{} for _ in bases]

    def one(i: int) -> None:
        results[i] = run_wrk(bases[i] + "/invocations", script, seconds, connections=each)

    threads = [threading.Thread(target=one, args=(i,)) for i in range(len(bases))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return {
        "rps": round(sum(r["rps"] for r in results), 1),
        "p50_ms": max(r.get("p50_ms") or 0 for r in results),
        "p99_ms": max(r.get("p99_ms") or 0 for r in results),
        "non_2xx": sum(r["non_2xx"] for r in results),
        "socket_errors": sum(r["socket_errors"] for r in results),
        "answered_2xx": sum(r["requests"] - r["non_2xx"] for r in results),
        "connections": each * len(bases),
    }


@contextlib.contextmanager
def replicas(project: Any, env: dict[str, str], workdir: Path, count: int) -> Iterator[list[str]]:
    """``count`` replicas of ``project`` up and ready; their base URLs."""
    with contextlib.ExitStack() as stack:
        command = helio_command(project)
        yield [
            stack.enter_context(
                serving(f"replica{count}-{i}", command, env, workdir, "/readyz")
            ).base
            for i in range(count)
        ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--postgres", default=os.environ.get("HELIO_TEST_POSTGRES_URL", PG_DEFAULT))
    args = parser.parse_args()
    admin = args.postgres.replace("postgresql://", "postgresql+psycopg://", 1)
    ledger = fresh_database(admin)
    from heliograph.ledger import count_predictions

    out: dict[str, Any] = {"benchmark": "replicas", "seconds": args.seconds}
    try:
        with tempfile.TemporaryDirectory(prefix="helio-replicas-") as folder:
            workdir = Path(folder)
            project = setup(workdir / "project", ledger)
            script = wrk_script(workdir, "invocations", {
                "dataframe_split": {"columns": COLUMNS, "data": [[1.0, 1.0, 1.0]]}})  # fmt: skip
            env = helio_env(project, HELIO_LEDGER__URL=ledger,
                            HELIO_GATEWAY__INVOCATIONS_MODEL=MODEL)  # fmt: skip
            for count in (1, 2):
                with replicas(project, env, workdir, count) as bases:
                    drive(bases, script, 2, args.connections)  # warm-up, recorded too
                    before = count_predictions(ledger, service="invocations")
                    out[f"r{count}.load_1m_before"] = load_1m()
                    run = drive(bases, script, args.seconds, args.connections)
                    log(f"{count} replica(s): {run['rps']:.0f} req/s, p99 {run['p99_ms']} ms")
                rows = count_predictions(ledger, service="invocations") - before
                for key in ("rps", "p50_ms", "p99_ms", "non_2xx", "socket_errors"):
                    out[f"r{count}.{key}"] = run[key]
                out[f"r{count}.answered_2xx"] = run["answered_2xx"]
                out[f"r{count}.ledger_rows"] = rows
                for key, value in ledger_check(rows, [run]).items():
                    out[f"r{count}.{key}"] = value
        out["ratio"] = round(out["r2.rps"] / out["r1.rps"], 2)
        out["connections"] = args.connections
        out["cores"] = os.cpu_count()
        out["versions"] = versions()
    finally:
        drop_database(ledger, admin)
    print(json.dumps(out, sort_keys=True))


if __name__ == "__main__":
    main()
