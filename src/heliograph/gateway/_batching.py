"""Micro-batching of concurrent ``/invocations``: requests for the same model version that
are on the event loop together are predicted in one call (BentoML's adaptive batching, without
its wait).

A request adds its rows and awaits; the batch is predicted at the next turn of the event
loop, after every request already received has added its own. Nothing waits for a timer, so a
lone request costs one loop turn more; under load a batch holds the requests that arrived
while the previous one was being computed. The rows of a batch are stacked (up to
``max_rows``), predicted once and split back; if the model refuses the batch, each request is
predicted on its own, so a bad input gets its own error and the others their answers.

Example::

    batcher = Batcher(max_rows=64)
    predicted = await batcher.predict(model, rows, columns)
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__: list[str] = []  # the gateway's own parts: create_app assembles them


@dataclass
class _Waiting:
    model: Any
    rows: np.ndarray
    columns: list[str] | None
    future: asyncio.Future[Any]


class Batcher:
    """Collects the requests of one event-loop turn and predicts them together."""

    def __init__(self, max_rows: int = 64) -> None:
        self.max_rows = max(1, max_rows)
        self._waiting: list[_Waiting] = []
        self._scheduled = False
        self.batches = self.requests = 0

    async def predict(self, model: Any, rows: np.ndarray, columns: list[str] | None) -> Any:
        """``model.predict_rows(rows, columns)``, computed with the other requests waiting."""
        if self.max_rows == 1 or len(rows) >= self.max_rows:
            return model.predict_rows(rows, columns)
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Any] = loop.create_future()
        self._waiting.append(_Waiting(model, rows, columns, future))
        if not self._scheduled:
            self._scheduled = True
            loop.call_soon(self._flush)
        return await future

    def _flush(self) -> None:
        self._scheduled = False
        waiting, self._waiting = self._waiting, []
        groups: dict[tuple[int, tuple[str, ...] | None], list[_Waiting]] = {}
        for item in waiting:
            key = (id(item.model), tuple(item.columns) if item.columns is not None else None)
            groups.setdefault(key, []).append(item)
        for group in groups.values():
            batch: list[_Waiting] = []
            size = 0
            for item in group:
                if batch and size + len(item.rows) > self.max_rows:
                    self._run(batch)
                    batch, size = [], 0
                batch.append(item)
                size += len(item.rows)
            self._run(batch)

    def _run(self, batch: list[_Waiting]) -> None:
        self.batches += 1
        self.requests += len(batch)
        if len(batch) > 1:
            first = batch[0]
            try:
                stacked = np.vstack([item.rows for item in batch])
                predicted = first.model.predict_rows(stacked, first.columns)
            except Exception:  # one request's input, perhaps: answer each on its own
                predicted = None
            if predicted is not None and _rows(predicted) == len(stacked):
                start = 0
                for item in batch:
                    end = start + len(item.rows)
                    _settle(item.future, value=predicted[start:end])
                    start = end
                return
        for item in batch:
            try:
                _settle(item.future, value=item.model.predict_rows(item.rows, item.columns))
            except Exception as exc:
                _settle(item.future, error=exc)


def _rows(predicted: Any) -> int:
    try:
        return len(predicted)
    except TypeError:
        return -1


def _settle(future: asyncio.Future[Any], value: Any = None, error: Exception | None = None) -> None:
    if future.done():  # the client went away
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(value)
