"""Live evidence for promotion: the challenger against the champion on the same ledger window.

Only questions both answered count: a champion prediction and a challenger prediction are a
pair when they answered the same question (same ``as_of``) for the same target time, and the
pair is judged once that target has an actual. The verdict accepts the challenger when

- it has shadowed at least ``min_shadow_hours`` (from its first prediction in the ledger
  window read, so never more than it really has),
- at least ``min_judged`` pairs are judged,
- its metric over the pairs beats the champion's by more than ``min_margin`` (relative, in
  the policy's ``direction``; the sign convention of ``heliograph.registry``'s verdict),

and otherwise refuses, with every reason that applies. The ``promote`` job calls
``live_evidence`` (the ledger window) or ``compare_live`` (a frame already read).

Example::

    verdict = live_evidence(url, "price-forecast", "energy-price-GB", champion="3",
                            challenger="4", since=now - timedelta(days=7), until=now)
    verdict.accepted, verdict.reasons
    # (False, ['shadowed 20.5 h, the policy needs 24 h'])
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import numpy as np
import pandas as pd

from heliograph.core import UsageError, as_utc
from heliograph.ledger import judged_predictions
from heliograph.registry import CHALLENGER, CHAMPION, format_change, relative_change

from ._business import BusinessMetric
from ._performance import performance

__all__ = ["LiveVerdict", "compare_live", "live_evidence"]

_PAIR = ["as_of", "target_time"]


@dataclass
class LiveVerdict:
    """The live comparison of ``challenger`` with ``champion`` (versions of ``model``)."""

    model: str
    champion: str
    challenger: str
    accepted: bool
    metric: str
    reasons: list[str] = field(default_factory=list)
    champion_value: float = math.nan
    challenger_value: float = math.nan
    change: float = math.nan
    judged: int = 0
    shadow_hours: float = 0.0


def _side(judged: pd.DataFrame, model: str, version: str, role: str) -> pd.DataFrame:
    rows = judged[
        (judged["model_name"] == model)
        & (judged["model_version"].astype(str) == version)
        & (judged["role"] == role)
    ]
    return rows.drop_duplicates(_PAIR, keep="last")


def compare_live(
    judged: pd.DataFrame,
    *,
    model: str,
    champion: str,
    challenger: str,
    until: datetime,
    metric: str = "mae",
    direction: str = "minimize",
    min_margin: float = 0.0,
    min_shadow_hours: float = 24.0,
    min_judged: int = 48,
    point: str = "p50",
    business: BusinessMetric | None = None,
) -> LiveVerdict:
    """The verdict on ``judged`` (``heliograph.ledger.judged_predictions``' frame).

    ``metric`` is a live metric (``mae``, ``rmse``, ``pinball``, ``pinball_p50``, ...,
    ``coverage_gap`` judged by its size) or the name of the service's ``business`` metric."""
    if direction not in ("minimize", "maximize"):
        raise UsageError(f"direction {direction!r}", field="direction", rule="minimize or maximize")
    verdict = LiveVerdict(model, champion, challenger, False, metric)
    if judged.empty:
        verdict.reasons.append("no predictions of either version in the window")
        return verdict
    ours = _side(judged, model, challenger, CHALLENGER)
    theirs = _side(judged, model, champion, CHAMPION)
    if len(ours):
        verdict.shadow_hours = (as_utc(until) - ours["at"].min()) / timedelta(hours=1)
    both = ours.merge(theirs[[*_PAIR, "actual"]], on=_PAIR, suffixes=("", "_champion"))
    both = both[np.isfinite(both["actual"].to_numpy(dtype="float64"))]
    verdict.judged = len(both)
    if verdict.shadow_hours < min_shadow_hours:
        verdict.reasons.append(
            f"shadowed {verdict.shadow_hours:.1f} h, the policy needs {min_shadow_hours:g} h"
        )
    if verdict.judged < min_judged:
        verdict.reasons.append(
            f"{verdict.judged} predictions both versions made have an actual, "
            f"the policy needs {min_judged}"
        )
    if verdict.judged == 0:
        return verdict
    keys = both[_PAIR]
    paired_ours = both
    paired_theirs = theirs.merge(keys, on=_PAIR)
    scores = []
    for rows in (paired_ours, paired_theirs):
        table = performance(
            rows,
            point=point,
            business=business.compute if business else None,
            business_name=business.name if business else "business",
        )
        column = "coverage_gap" if metric == "coverage_gap" else metric
        if metric == "coverage_gap" and "coverage" in table:
            table["coverage_gap"] = (table["coverage"] - table["nominal"]).abs()
        if column not in table or table.empty:
            known = [c for c in table.columns if c not in ("model_name", "model_version", "role")]
            raise UsageError(
                f"live metric {metric!r} is not computed for this service",
                field="policy.metric",
                rule="one of " + ", ".join(known),
            )
        scores.append(float(table[column].iloc[0]))
    verdict.challenger_value, verdict.champion_value = scores
    change = relative_change(*scores)
    verdict.change = change
    improvement = -change if direction == "minimize" else change
    better = "lower" if direction == "minimize" else "higher"
    word = "better" if improvement > 0 else ("worse" if improvement < 0 else "equal")
    text = (
        f"challenger v{challenger} live {metric} {scores[0]:.4g} vs champion v{champion} "
        f"{scores[1]:.4g} on {verdict.judged} shared judged predictions: "
        f"{format_change(change)}, {word} (the policy needs {better} by more than "
        f"{100 * min_margin:.2f}%)"
    )
    good = improvement > min_margin or (min_margin == 0 and improvement > 0)
    if not good:
        verdict.reasons.append(f"not better enough: {text}")
    elif not verdict.reasons:
        verdict.accepted = True
        verdict.reasons.append(text)
    else:
        verdict.reasons.append(text)
    return verdict


def live_evidence(
    url: str,
    service: str,
    model: str,
    *,
    champion: str,
    challenger: str,
    since: datetime,
    until: datetime,
    metric: str = "mae",
    direction: str = "minimize",
    min_margin: float = 0.0,
    min_shadow_hours: float = 24.0,
    min_judged: int = 48,
    business: BusinessMetric | None = None,
) -> LiveVerdict:
    """``compare_live`` over the ledger's predictions of ``model`` with targets in
    ``[since, until)`` (two indexed range reads: predictions and actuals)."""
    judged = judged_predictions(url, service, since=since, until=until, model_name=model)
    return compare_live(
        judged,
        model=model,
        champion=champion,
        challenger=challenger,
        until=until,
        metric=metric,
        direction=direction,
        min_margin=min_margin,
        min_shadow_hours=min_shadow_hours,
        min_judged=min_judged,
        business=business,
    )
