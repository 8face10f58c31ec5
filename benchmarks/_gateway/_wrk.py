"""Running ``wrk`` and reading its figures: throughput and latency percentiles."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ._common import load_1m, log

_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 60e3, "h": 3600e3}


def _ms(text: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s|m|h)", text.strip())
    if not match:
        raise ValueError(f"not a wrk duration: {text!r}")
    return float(match.group(1)) * _UNITS[match.group(2)]


def parse_wrk(output: str) -> dict[str, Any]:
    figures: dict[str, Any] = {}
    rps = re.search(r"Requests/sec:\s+([\d.]+)", output)
    if not rps:
        raise ValueError(f"no Requests/sec in wrk's output:\n{output}")
    figures["rps"] = float(rps.group(1))
    for pct in ("50", "75", "90", "99"):
        found = re.search(rf"^\s+{pct}%\s+(\S+)\s*$", output, re.MULTILINE)
        if found:
            figures[f"p{pct}_ms"] = round(_ms(found.group(1)), 3)
    total = re.search(r"(\d+) requests in ([\d.]+)(\w+),", output)
    figures["requests"] = int(total.group(1)) if total else None
    figures["seconds"] = round(_ms(total.group(2) + total.group(3)) / 1000, 3) if total else None
    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output)
    figures["non_2xx"] = int(non2xx.group(1)) if non2xx else 0
    errors = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output
    )
    figures["socket_errors"] = sum(int(g) for g in errors.groups()) if errors else 0
    return figures


def wrk_script(workdir: Path, name: str, body: dict[str, Any]) -> Path:
    path = workdir / f"{name}.lua"
    text = json.dumps(body, separators=(",", ":"))
    path.write_text(
        'wrk.method = "POST"\n'
        f"wrk.body = [==[{text}]==]\n"
        'wrk.headers["Content-Type"] = "application/json"\n'
    )
    return path


def wrk_script_distinct(workdir: Path) -> Path:
    """The domain body with a different ``as_of`` (12:00:00 to 12:59:59) in each request, so
    that no two of 3,600 requests in a row ask the same question: the cost of answers the
    gateway cannot repeat from memory (their features are still shared)."""
    path = workdir / "domain_distinct.lua"
    path.write_text(
        'wrk.method = "POST"\n'
        'wrk.headers["Content-Type"] = "application/json"\n'
        "local n = 0\n"
        "request = function()\n"
        "  n = n + 1\n"
        "  local body = string.format("
        '\'{"market":"GB","as_of":"2025-03-31T12:%02d:%02dZ","horizon_hours":24}\', '
        "math.floor(n / 60) % 60, n % 60)\n"
        "  return wrk.format(nil, nil, nil, body)\n"
        "end\n"
    )
    return path


def run_wrk(url: str, script: Path, seconds: float, *, connections: int = 8) -> dict[str, Any]:
    wrk = shutil.which("wrk") or "/usr/bin/wrk"
    command = [wrk, "-t1", f"-c{connections}", f"-d{seconds:g}s", "--latency"]
    command += ["--timeout", "10s", "-s", str(script), url]
    done = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 60)
    if done.returncode != 0:
        raise SystemExit(f"wrk failed ({done.returncode}): {done.stderr}{done.stdout}")
    return parse_wrk(done.stdout)


def measure(
    name: str, url: str, script: Path, seconds: float, around: Callable[[], int] | None = None
) -> dict[str, Any]:
    """2 s of warm-up, then the measured run; ``around`` counts ledger rows before and after."""
    warm = run_wrk(url, script, 2)
    load = load_1m()
    before = around() if around else 0
    started = time.monotonic()
    figures = run_wrk(url, script, seconds)
    elapsed = time.monotonic() - started
    if around:
        after = around()
        figures["ledger_rows_during"] = after - before
        figures["written_per_s"] = round((after - before) / elapsed, 1)
    figures["warmup_requests"] = warm["requests"]
    figures["warmup_non_2xx"] = warm["non_2xx"] + warm["socket_errors"]
    figures["load_1m_before"] = load
    log(
        f"{name}: {figures['rps']:.0f} req/s, p50 {figures.get('p50_ms')} ms, "
        f"p99 {figures.get('p99_ms')} ms, non-2xx {figures['non_2xx']}, "
        f"socket errors {figures['socket_errors']} (load before {load})"
    )
    return figures


# ---------------------------------------------------------------------------------------------
# a Python load generator that records every response
