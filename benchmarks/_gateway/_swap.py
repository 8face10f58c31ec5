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


VERSIONS = 5  # alternated among: the gateway keeps only 3 old ones, so moves load again
MOVE_EVERY = 2.0  # s between moves; SWAP_SLACK (1.5 s) is shorter


def more_versions(registry: Any, wanted: int) -> list[str]:
    """Versions 1..wanted of the LightGBM model (copies of versions 1 and 2's artefacts)."""
    existing = sorted(
        int(v.version) for v in registry.client.search_model_versions(f"name='{LGBM}'")
    )
    sources = [registry.client.get_model_version(LGBM, v).source for v in ("1", "2")]
    while len(existing) < wanted:
        version = registry.register(LGBM, sources[len(existing) % 2], reason="swap benchmark copy")
        existing.append(int(version))
    registry.client.delete_registered_model_alias(LGBM, "challenger")  # no shadow
    return [str(v) for v in existing[:wanted]]


def fresh_loads(project: Any, since_id: int) -> tuple[int, int]:
    """(deployed events of the LightGBM model after ``since_id`` that loaded a version not in
    memory, those that found it loaded)."""
    from heliograph.ledger import Ledger

    events = Ledger(project.ledger_url).events(kind="deployed", subject=f"model/{LGBM}", limit=1000)
    later = [e for e in events if e.id > since_id and e.details.get("role") == "champion"]
    fresh = sum(1 for e in later if e.details.get("loaded_before") is False)
    return fresh, len(later) - fresh


def last_event_id(project: Any) -> int:
    from heliograph.ledger import Ledger

    events = Ledger(project.ledger_url).events(limit=1)
    return events[0].id if events else 0


def hot_swap(setup: dict[str, Any], workdir: Path, moves_wanted: int = 20) -> dict[str, Any]:
    from heliograph.ledger import count_predictions

    project, registry = setup["project"], setup["registry"]
    versions = more_versions(registry, VERSIONS)
    registry.client.set_registered_model_alias(LGBM, "champion", "1")
    env = helio_env(project, HELIO_GATEWAY__POLL_INTERVAL=str(SWAP_POLL))
    body = json.dumps(setup["body"]).encode()
    rows_before = count_predictions(project.ledger_url, service="invocations")
    with serving("helio-swap", helio_command(project), env, workdir, "/readyz") as server:
        first_event = last_event_id(project)  # after the start's own load of version 1
        warm = LoadGenerator(server.port, "/invocations", body).start()
        time.sleep(2)
        warm_results = warm.stop()
        log(
            f"hot swap: {moves_wanted} moves of champion among versions {versions}, every "
            f"{MOVE_EVERY} s under load (poll {SWAP_POLL} s, slack {SWAP_SLACK} s)"
        )
        load = load_1m()
        generator = LoadGenerator(server.port, "/invocations", body).start()
        time.sleep(1.0)
        moves: list[Move] = []
        started = time.monotonic()
        for number in range(moves_wanted):
            target = started + MOVE_EVERY * number
            time.sleep(max(0.0, target - time.monotonic()))
            version = versions[(number + 1) % len(versions)]
            before = time.monotonic()
            registry.client.set_registered_model_alias(LGBM, "champion", version)
            moves.append(Move(before, time.monotonic(), version))
        time.sleep(MOVE_EVERY + 1.0)
        results = generator.stop()
        duration = results[-1].received - results[0].sent if results else 0.0
    # the gateway has exited (SIGTERM): every answered prediction is in the ledger
    rows = count_predictions(project.ledger_url, service="invocations") - rows_before
    answered = sum(1 for r in [*warm_results, *results] if 200 <= r.status < 300)
    fresh, reused = fresh_loads(project, first_event)
    non_2xx = sum(1 for r in results if not 200 <= r.status < 300)
    judged = judge_swaps(results, moves, "1", SWAP_POLL)
    seen = sorted({r.version or "-" for r in results})
    figures = {
        "count": len(moves),
        "versions": len(versions),
        "moves_loading_new": fresh,
        "moves_already_loaded": reused,
        "move_every_s": MOVE_EVERY,
        "slack_s": SWAP_SLACK,
        "non_2xx": non_2xx,
        "client_errors": len(generator.errors),
        "requests": len(results),
        "rps": round(len(results) / duration, 1) if duration else None,
        "versions_seen": seen,
        "poll_interval_s": SWAP_POLL,
        "load_1m_before": load,
        "responses_2xx": answered,
        "ledger_rows": rows,
        "ledger_missing": answered - rows,
        **latency_summary(results),
        **judged,
    }
    log(
        f"hot swap: {len(results)} requests, non-2xx {non_2xx}, client errors "
        f"{len(generator.errors)}, mismatched {judged['mismatched']}, switch median "
        f"{judged['switch_ms']} ms (first {judged['first_switch_ms']} ms), "
        f"missed {judged['missed']}, {fresh} moves loaded a new version, ledger missing "
        f"{answered - rows}"
    )
    return figures
