"""The hot swap under load: champion moved back and forth, every response's version judged."""

from __future__ import annotations

import json
import math
import statistics
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ._common import LGBM, SWAP_POLL, SWAP_SLACK, load_1m, log
from ._load import LoadGenerator, Result, latency_summary
from ._servers import helio_command, helio_env, serving


@dataclass
class Move:
    before: float  # monotonic time the alias call started
    after: float  # ... and returned (the alias is moved by then)
    version: str


def holds(moves: list[Move], first: str) -> list[tuple[float, float, str]]:
    """Intervals (start, end, version) in which each version may have held ``champion``:
    from the start of the call that gave it the alias to the end of the call that took it."""
    spans = []
    start, version = -math.inf, first
    for move in moves:
        spans.append((start, move.after, version))
        start, version = move.before, move.version
    spans.append((start, math.inf, version))
    return spans


def judge_swaps(
    results: list[Result], moves: list[Move], first: str, poll: float
) -> dict[str, Any]:
    spans = holds(moves, first)
    mismatched = []
    for r in results:
        if not 200 <= r.status < 300:
            continue
        low, high = r.sent - poll - SWAP_SLACK, r.received
        if not any(v == r.version and s <= high and e >= low for s, e, v in spans):
            mismatched.append(r)
    # stale: answered by the version that held the alias before the latest move at send time
    # (expected within a poll interval of each move; counted, not a failure)
    stale = 0
    for r in results:
        holder = first
        for move in moves:
            if move.after <= r.sent:
                holder = move.version
        stale += 200 <= r.status < 300 and r.version != holder
    switches, missed = [], 0
    for number, move in enumerate(moves):
        deadline = moves[number + 1].after if number + 1 < len(moves) else math.inf
        first_new = next(
            (r for r in results if r.sent >= move.after and r.version == move.version), None
        )
        if first_new is None or first_new.received > deadline:
            missed += 1
            continue
        switches.append(1000 * (first_new.received - move.after))
    return {
        "mismatched": len(mismatched),
        "mismatched_examples": [
            {"version": r.version, "sent": round(r.sent, 3), "received": round(r.received, 3)}
            for r in mismatched[:5]
        ],
        "switch_ms": round(statistics.median(switches), 1) if switches else None,
        "switch_max_ms": round(max(switches), 1) if switches else None,
        "first_switch_ms": round(switches[0], 1) if switches else None,
        "missed": missed,
        "stale": stale,
    }


def hot_swap(setup: dict[str, Any], workdir: Path, moves_wanted: int = 20) -> dict[str, Any]:
    project, registry = setup["project"], setup["registry"]
    env = helio_env(project, HELIO_GATEWAY__POLL_INTERVAL=str(SWAP_POLL))
    body = json.dumps(setup["body"]).encode()
    with serving("helio-swap", helio_command(project), env, workdir, "/readyz") as server:
        warm = LoadGenerator(server.port, "/invocations", body).start()
        time.sleep(2)
        warm.stop()
        log(f"hot swap: {moves_wanted} moves of champion every 0.75 s under load")
        load = load_1m()
        generator = LoadGenerator(server.port, "/invocations", body).start()
        time.sleep(1.0)
        moves: list[Move] = []
        started = time.monotonic()
        for number in range(moves_wanted):
            target = started + 0.75 * number
            time.sleep(max(0.0, target - time.monotonic()))
            version = "2" if number % 2 == 0 else "1"
            before = time.monotonic()
            registry.client.set_registered_model_alias(LGBM, "champion", version)
            moves.append(Move(before, time.monotonic(), version))
        time.sleep(2.0)
        results = generator.stop()
        duration = results[-1].received - results[0].sent if results else 0.0
    non_2xx = sum(1 for r in results if not 200 <= r.status < 300)
    judged = judge_swaps(results, moves, "1", SWAP_POLL)
    versions = sorted({r.version or "-" for r in results})
    figures = {
        "count": len(moves),
        "non_2xx": non_2xx,
        "client_errors": len(generator.errors),
        "requests": len(results),
        "rps": round(len(results) / duration, 1) if duration else None,
        "versions_seen": versions,
        "poll_interval_s": SWAP_POLL,
        "load_1m_before": load,
        **latency_summary(results),
        **judged,
    }
    log(
        f"hot swap: {len(results)} requests, non-2xx {non_2xx}, client errors "
        f"{len(generator.errors)}, mismatched {judged['mismatched']}, switch median "
        f"{judged['switch_ms']} ms (first {judged['first_switch_ms']} ms), "
        f"missed {judged['missed']}"
    )
    return figures


# ---------------------------------------------------------------------------------------------
# the ledger outage: a TCP proxy in front of PostgreSQL that can "stop the database"
