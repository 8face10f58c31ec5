"""Constants and small helpers of the gateway benchmark: names, ports, load, logging."""

from __future__ import annotations

import contextlib
import os
import socket
import sys
import time
from pathlib import Path

HOST = "127.0.0.1"
LGBM = "bench-lgbm"
ENERGY = "energy-price-GB"
FEATURES = [f"f{i:02d}" for i in range(24)]
AS_OF = "2025-03-31T12:00:00Z"
DOMAIN_BODY = {"market": "GB", "as_of": AS_OF, "horizon_hours": 24}
SWAP_POLL = 0.25  # s, HELIO_GATEWAY__POLL_INTERVAL during the hot swap
SWAP_SLACK = 1.5  # s, added to the poll interval in the mismatch window (< the 2 s between moves)
PG_DEFAULT = "postgresql://postgres@127.0.0.1:5432/test"
PYTHON = sys.executable
BIN = Path(sys.executable).parent


def log(message: str) -> None:
    print(f"[gateway-bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return int(probe.getsockname()[1])


def load_1m() -> float:
    return round(os.getloadavg()[0], 2)


# ---------------------------------------------------------------------------------------------
# setup: a project with two LightGBM versions and the energy price models


def versions() -> dict[str, str]:
    from importlib.metadata import version

    found = {}
    for name in ("heliograph", "mlflow", "lightgbm", "fastapi", "uvicorn", "sqlalchemy"):
        with contextlib.suppress(Exception):
            found[name] = version(name)
    return found
