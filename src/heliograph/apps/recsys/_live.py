"""The live hit rate of the recommendations service, per model version and role, per day.

Every answer of ``POST /v1/services/recommendations/predict`` is in the ledger with what was
served (after the rules) and to whom; the user's reviews after it are its actuals. A
recommendation counts once its ``horizon`` has passed: a hit when the user reviewed one of its
first ``k`` items within it (``heliograph.monitoring.hit_rate``). Champion and challenger (its
shadow answers the same requests) are judged alike, so their live HR@k compare.

Example::

    live_hit_rate(project, k=10, horizon=timedelta(days=7))
    # model_name, model_version, role, day, count, judged, pending, hits, hr_at_10
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

import pandas as pd

from heliograph.core import Project
from heliograph.lake import open_lake
from heliograph.ledger import read_predictions

from ._train import MODEL_NAME

__all__ = ["live_hit_rate", "served_recommendations"]

SERVICE = "recommendations"


def _first(outputs: Any, key: str) -> Any:
    value = outputs.get(key) if isinstance(outputs, dict) else None
    return value[0] if isinstance(value, list) and value else value


def served_recommendations(project: Project, *, limit: int = 100_000) -> pd.DataFrame:
    """The ledgered recommendations (newest ``limit``): ``model_name``, ``model_version``,
    ``role``, ``user``, ``at`` (the moment answered for: the request's ``as_of``) and ``items``
    (what was served, best first). Records made before the served list was kept are left out."""
    rows = []
    for record in read_predictions(
        project.ledger_url, service=SERVICE, model_name=MODEL_NAME, limit=limit
    ):
        outputs = record.outputs
        if isinstance(outputs, str):
            outputs = json.loads(outputs)
        user, served = _first(outputs, "user"), _first(outputs, "served")
        if user is None or served is None:
            continue
        rows.append(
            {
                "model_name": record.model_name,
                "model_version": record.model_version,
                "role": record.role,
                "user": str(user),
                "at": record.as_of or record.at,
                "items": json.loads(served) if isinstance(served, str) else list(served),
            }
        )
    columns = ["model_name", "model_version", "role", "user", "at", "items"]
    return pd.DataFrame(rows, columns=columns)


def live_hit_rate(
    project: Project,
    *,
    k: int = 10,
    horizon: timedelta = timedelta(days=7),
    now: datetime | None = None,
    reviews: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """HR@``k`` per (model, version, role, day) of the served recommendations, judged on the
    reviews after each (``reviews``: default the lake's ``recsys_reviews``)."""
    from heliograph.monitoring import GROUP, hit_rate  # SciPy (drift): only when judged

    served = served_recommendations(project)
    served["day"] = pd.to_datetime(served["at"], utc=True).dt.floor("D")
    if reviews is None:
        lake = open_lake(project)
        columns = ["user", "item", "timestamp"]
        reviews = (
            lake.read("recsys_reviews", columns=columns)
            if lake.files("recsys_reviews")
            else pd.DataFrame(columns=columns)
        )
    moment = now or project.clock().now()
    return hit_rate(served, reviews, k=k, horizon=horizon, now=moment, by=(*GROUP, "day"))
