"""Training: walk-forward backtests and forecast metrics.

>>> from heliograph.training import backtest, forecast_metrics
"""

from __future__ import annotations

from ._backtest import *  # noqa: F403
from ._backtest import __all__ as _backtest_all
from ._metrics import *  # noqa: F403
from ._metrics import __all__ as _metrics_all

__all__ = sorted([*_backtest_all, *_metrics_all])
