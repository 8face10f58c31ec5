from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd

from heliograph.core import MonitoringSettings
from heliograph.ledger import (
    Actual,
    PredictionRecord,
    PredictionWriter,
    read_monitor_results,
    record_actuals,
)
from heliograph.monitoring import LivePolicy, live_evidence, run_monitor

url = f"sqlite:///{Path('ledger.db').resolve()}"
start, half = datetime(2025, 6, 1, tzinfo=UTC), timedelta(minutes=30)
rng = np.random.default_rng(0)

# Two days of half-hourly forecasts of the next two periods, by the champion (v3) and a
# challenger (v4) shadowing it, as the energy service records them; then the actuals.
actuals: dict[datetime, float] = {}
with PredictionWriter(url, Path("spool")) as writer:
    for i in range(96):
        as_of = start + i * half
        targets = [as_of + half, as_of + 2 * half]
        for t in targets:
            actuals.setdefault(t, float(rng.normal(60, 10)))
        for version, role, error in (("3", "champion", 6.0), ("4", "challenger", 3.0)):
            p50 = [actuals[t] + error * rng.choice([-1, 1]) for t in targets]
            writer.submit(
                PredictionRecord(
                    "price-forecast",
                    "energy-price-GB",
                    version,
                    role,
                    f"req-{i}",
                    "",
                    outputs={"p10": [v - 9 for v in p50], "p50": p50, "p90": [v + 9 for v in p50]},
                    latency_ms=2.0,
                    inputs={"columns": ["load"], "data": [[rng.normal(100, 10)]] * 2},
                    as_of=as_of,
                    target_start=targets[0],
                    target_end=targets[-1],
                    at=as_of,
                )
            )
record_actuals(url, [Actual("price-forecast", "energy-price-GB", t, v) for t, v in actuals.items()])


def training_reference(model: str, version: str) -> pd.DataFrame:
    """What the version was trained on (here: a load 20% lower than today's)."""
    return pd.DataFrame({"load": rng.normal(80, 10, 5000)})


now = start + 48 * timedelta(hours=1)
outcome = run_monitor(url, now=now, settings=MonitoringSettings(), references=training_reference)
for r in read_monitor_results(url, kind="metric", name="mae", window_hours=24.0):
    print(f"v{r.model_version} {r.role}: MAE {r.value:.2f} over {r.count} judged predictions")
for alert in outcome.alerts:  # one drift alert per version, naming its drifted features
    if alert.kind == "drift" and alert.subject.endswith("v3/champion"):
        print("alert:", alert.reason)

verdict = live_evidence(
    url,
    "price-forecast",
    "energy-price-GB",
    champion="3",
    challenger="4",
    since=now - timedelta(days=2),
    until=now,
    policy=LivePolicy(min_margin=0.05),
)
print("promote" if verdict.accepted else "refuse", "-", verdict.reasons[-1])
