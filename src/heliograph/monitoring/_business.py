"""A service's business metric, declared by its app: the platform computes the rest.

An app declares, per service, one function of the judged predictions of one model version
(the frame ``heliograph.ledger.judged_predictions`` returns, rows with actuals only) to a
number, and whether more is better. The ``monitor`` job stores it beside MAE and coverage,
and ``compare_live`` can judge a challenger on it. An app gives them through its ``App``'s
``business_metrics`` (a function returning a list of ``BusinessMetric``).

Example::

    BusinessMetric("price-forecast", "battery_capture", battery_capture, "maximize")
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import pandas as pd

from heliograph.core import UsageError

__all__ = ["BusinessMetric", "app_business_metrics"]


@dataclass(frozen=True)
class BusinessMetric:
    """``compute(judged) -> float`` is ``name`` for ``service``; ``direction`` says whether
    the business wants it lower (``minimize``) or higher (``maximize``)."""

    service: str
    name: str
    compute: Callable[[pd.DataFrame], float]
    direction: str = "maximize"

    def __post_init__(self) -> None:
        if self.direction not in ("minimize", "maximize"):
            raise UsageError(
                f"business metric {self.name!r}: direction {self.direction!r}",
                field="direction",
                rule="minimize or maximize",
            )


def app_business_metrics(apps: Iterable[Any]) -> dict[str, BusinessMetric]:
    """The business metric of each service, from apps' ``business_metrics`` functions."""
    found: dict[str, BusinessMetric] = {}
    for app in apps:
        declare = getattr(app, "business_metrics", None)
        for metric in declare() if declare is not None else ():
            if metric.service in found:
                raise UsageError(
                    f"service {metric.service!r} declares two business metrics",
                    field="business_metrics",
                    rule="one per service",
                )
            found[metric.service] = metric
    return found
