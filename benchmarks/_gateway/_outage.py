"""The ledger outage: predictions answered and lost while PostgreSQL is cut off."""

from __future__ import annotations

import contextlib
import json
import re
import threading
import time
import urllib.request
import uuid
from pathlib import Path
from typing import Any

from ._common import HOST, load_1m, log
from ._load import LoadGenerator, latency_summary
from ._proxy import TcpProxy
from ._servers import helio_command, helio_env, serving


def scrape(port: int) -> dict[str, float]:
    with urllib.request.urlopen(f"http://{HOST}:{port}/metrics", timeout=5) as answer:
        text = answer.read().decode()
    values = {}
    for name in ("spooled", "up", "written", "queue_depth"):
        found = re.search(rf"^helio_ledger_{name} (\S+)$", text, re.MULTILINE)
        if found:
            values[name] = float(found.group(1))
    return values


def ledger_outage(
    setup: dict[str, Any],
    workdir: Path,
    pg_url: str,
    *,
    load_s: float = 25.0,
    outage_s: float = 10.0,
    mode: str = "refuse",
) -> dict[str, Any]:
    """``mode``: "refuse" (the proxy closes everything and refuses connections) or
    "blackhole" (connections stay open and nothing is forwarded, then forwarding resumes)."""
    import psycopg
    import sqlalchemy as sa

    from heliograph.ledger import count_predictions

    project = setup["project"]
    admin_url = sa.make_url(pg_url).set(drivername="postgresql")
    try:
        admin = psycopg.connect(admin_url.render_as_string(hide_password=False), autocommit=True)
    except psycopg.Error as exc:
        log(f"ledger outage skipped: no PostgreSQL at {pg_url}: {exc}")
        return {"skipped": f"no PostgreSQL at {pg_url}"}
    database = f"helio_bench_{uuid.uuid4().hex[:10]}"
    admin.execute(f'CREATE DATABASE "{database}"')
    host, port = admin_url.host or HOST, admin_url.port or 5432
    proxy = TcpProxy((host, port))
    direct = admin_url.set(drivername="postgresql+psycopg", database=database)
    direct_url = direct.render_as_string(hide_password=False)
    via_proxy = direct.set(host=HOST, port=proxy.port).render_as_string(hide_password=False)
    spool = project.state_dir / "spool"
    leftovers = sorted(spool.rglob("segment-*.jsonl")) if spool.exists() else []
    if leftovers:
        log(f"warning: {len(leftovers)} spool segments from earlier runs will be replayed too")
    env = helio_env(project, HELIO_LEDGER__URL=via_proxy)
    body = json.dumps(setup["body"]).encode()
    samples: list[dict[str, float]] = []
    try:
        with serving(
            f"helio-outage-{mode}", helio_command(project), env, workdir, "/readyz"
        ) as server:
            stop_scraping = threading.Event()

            def scraper() -> None:
                while not stop_scraping.is_set():
                    with contextlib.suppress(OSError, ValueError):
                        samples.append({"t": time.monotonic(), **scrape(server.port)})
                    stop_scraping.wait(0.5)

            watcher = threading.Thread(target=scraper, name="metrics-scraper")
            watcher.start()
            log(f"outage: {load_s:.0f} s of load, the database stopped for {outage_s:.0f} s")
            load = load_1m()
            generator = LoadGenerator(server.port, "/invocations", body).start()
            started = time.monotonic()
            time.sleep((load_s - outage_s) / 2)
            if mode == "blackhole":
                proxy.blackhole()
                log("outage: database stopped answering (black hole: nothing closed)")
            else:
                proxy.down()
                log("outage: database stopped (proxy refuses connections)")
            went_down = time.monotonic()
            time.sleep(outage_s)
            proxy.up()
            came_back = time.monotonic()
            log("outage: database back")
            time.sleep(max(0.0, started + load_s - time.monotonic()))
            results = generator.stop()
            stop_scraping.set()
            watcher.join()
            final = scrape(server.port)
            log(f"outage: load stopped; gateway says {final}; SIGTERM")
        # the gateway has exited: everything it had is in the database or its spool
        rows = count_predictions(direct_url)
        left = sorted(spool.rglob("segment-*.jsonl")) if spool.exists() else []
        left_lines = sum(p.read_bytes().count(b"\n") for p in left)
    finally:
        proxy.close()
        with contextlib.suppress(psycopg.Error):
            admin.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        admin.close()
    ok = [r for r in results if 200 <= r.status < 300]
    during = [r for r in results if went_down <= r.sent <= came_back]
    spooled_max = max((s.get("spooled", 0.0) for s in samples), default=None)
    down_samples = [s["t"] for s in samples if s.get("up") == 0.0]
    emptied = [s["t"] for s in samples if s["t"] > came_back and s.get("spooled") == 0.0]
    figures = {
        "mode": mode,
        "outage_s": round(came_back - went_down, 2),
        "responses_2xx": len(ok),
        "non_2xx": len(results) - len(ok),
        "client_errors": len(generator.errors),
        "rows": rows,
        "lost": len(ok) - rows,
        "left_in_spool": left_lines,
        "spooled_max": int(spooled_max) if spooled_max is not None else None,
        "queue_max": int(max((s.get("queue_depth", 0.0) for s in samples), default=0)),
        "db_seen_down_s": round(max(down_samples) - min(down_samples), 1) if down_samples else 0,
        "spool_empty_after_s": round(min(emptied) - came_back, 1) if emptied else None,
        "load_1m_before": load,
        "outage_p99_ms": latency_summary(during)["p99_ms"],
        **latency_summary(results),
    }
    log(
        f"outage: {len(ok)} answered 2xx, {rows} rows in PostgreSQL, lost {figures['lost']}, "
        f"spooled max {figures['spooled_max']}, left in spool {left_lines}"
    )
    return figures


# ---------------------------------------------------------------------------------------------
# main
