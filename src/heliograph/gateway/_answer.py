"""An answer from one model version, as the ledger records it and as a repeat gets it; and
the gateway's memory of answers.

The memory keys an answer by what it was computed from: the service, the model version, the
online store's feature state (view, entity, state, the store's generation), the targets and
the request without its ``as_of`` (a remembered answer is restamped to each request's moment).
Answers computed from the lake (no state) are not remembered. When the store's generation of
a view moves (a materialisation), the answers of older generations are forgotten. One
computation per key at a time: requests that arrive together for the same key wait for the
first one's answer instead of computing it again.

Example::

    answer = Answer.of(inputs, outputs.to_dict("list"), as_of=as_of, rows=rows)
    gateway.record("price-forecast", model, "champion", request_id, answer, latency_ms)
    answer, remembered = memory.once(key, compute)
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

import numpy as np
import orjson
import pandas as pd

from heliograph.ledger import JsonText

__all__: list[str] = []  # the gateway's own parts: create_app assembles them

_LOGGED_ROWS = 100  # inputs of up to this many rows are recorded; larger ones by hash only


def dumps(data: Any) -> bytes:
    """JSON bytes of ``data`` (numpy arrays and scalars included)."""
    return orjson.dumps(data, option=orjson.OPT_SERIALIZE_NUMPY)


_NAMES: dict[int, tuple[pd.Index, bytes]] = {}


def _names(columns: pd.Index) -> bytes:
    """The column names as JSON, once per column index object (serving reuses one)."""
    found = _NAMES.get(id(columns))
    if found is None or found[0] is not columns:
        if len(_NAMES) >= 64:
            _NAMES.clear()
        found = _NAMES[id(columns)] = (columns, orjson.dumps([str(c) for c in columns]))
    return found[1]


def _kinds(frame: pd.DataFrame) -> set[Any]:
    """``frame``'s dtypes (one ``frame.dtypes`` Series costs ~35 µs on hundreds of columns)."""
    return set(frame.dtypes)


def _hash(frame: pd.DataFrame, kinds: set[Any] | None = None) -> str:
    """SHA-256 of ``frame``'s columns, dtypes and values (not its index): equal inputs, equal
    hash. A frame of one numeric dtype (what serving passes) is hashed as one matrix's bytes,
    in microseconds; pandas' per-column row hashing cost milliseconds on hundreds of columns."""
    digest = hashlib.sha256(_names(frame.columns))
    kinds = set(_kinds(frame) if kinds is None else kinds)
    if len(kinds) == 1 and isinstance(kind := kinds.pop(), np.dtype) and kind.kind in "fiub":
        digest.update(f"{kind.str}:{frame.shape[0]}".encode())
        digest.update(np.ascontiguousarray(frame.to_numpy()).tobytes())
    else:
        digest.update(b"rows:")
        digest.update(pd.util.hash_pandas_object(frame, index=False).to_numpy().tobytes())
    return digest.hexdigest()


def _split_json(frame: pd.DataFrame, kinds: set[Any] | None = None) -> str:
    """``frame`` as pandas' ``orient="split"`` JSON (columns, index, data; missing: null).
    A float frame with an integer index (what serving passes) is written by orjson from its
    matrix, every digit kept; anything else by pandas."""
    floats = (_kinds(frame) if kinds is None else kinds) == {np.dtype(np.float64)}
    if floats and frame.index.dtype.kind in "iu":
        index, values = frame.index.to_numpy(), np.ascontiguousarray(frame.to_numpy())
        data = dumps({"index": index, "data": values})
        return (b'{"columns":' + _names(frame.columns) + b"," + data[1:]).decode()
    return frame.to_json(orient="split", date_format="iso")


def _targets(rows: pd.DataFrame | None) -> tuple[Any, Any]:
    if rows is None or "timestamp" not in rows:
        return None, None
    stamps = rows["timestamp"]  # looked up once: each lookup of a column costs ~12 µs
    return stamps.min(), stamps.max()


@dataclass(frozen=True, slots=True)
class Answer:
    """A service's whole answer from one model version: the response ``body`` and what the
    ledger records (``as_of``, first and last target, the inputs' hash, the inputs, the
    outputs). What a repeat of the question gets, from memory."""

    body: bytes
    as_of: datetime | None
    targets: tuple[datetime | None, datetime | None]
    inputs_hash: str
    inputs: JsonText | None
    outputs: JsonText

    @classmethod
    def of(
        cls,
        inputs: pd.DataFrame | None,
        outputs: Any,
        *,
        as_of: datetime | None = None,
        rows: pd.DataFrame | None = None,
        body: bytes = b"",
    ) -> Answer:
        """The answer to ``inputs`` (the model's input rows; ``None``: not recorded) with
        ``outputs`` (a JSON value, or JSON bytes); the targets come from ``rows``' timestamps."""
        digest, logged = "", None
        if inputs is not None:
            kinds = _kinds(inputs)
            digest = _hash(inputs, kinds)
            if len(inputs) <= _LOGGED_ROWS:
                logged = JsonText(_split_json(inputs, kinds))
        text = outputs if isinstance(outputs, bytes) else dumps(outputs)
        return cls(body, as_of, _targets(rows), digest, logged, JsonText(text.decode()))

    def repeated(self, body: bytes, as_of: datetime | None) -> Answer:
        """This answer given again as ``body`` for ``as_of``: recorded with its inputs by hash
        only, since the record of its first computation (same hash) holds them."""
        return replace(self, body=body, as_of=as_of, inputs=None)


@dataclass
class _Flight:
    """A computation in progress for one key, which later arrivals wait for."""

    done: threading.Event = field(default_factory=threading.Event)
    answer: Answer | None = None


class AnswerMemory:
    """Answers by key (see the module), the last ``size`` kept, forgotten with their state's
    generation; ``once`` computes each key once however many ask at the same time."""

    def __init__(self, size: int = 8192) -> None:
        self.size = size
        self.computed = 0
        self.remembered = 0
        self._answers: OrderedDict[Hashable, Answer] = OrderedDict()
        self._flights: dict[Hashable, _Flight] = {}
        self._generations: dict[Any, int] = {}
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._answers)

    def get(self, key: Hashable) -> Answer | None:
        found = self._answers.get(key)
        if found is not None:
            self.remembered += 1
        return found

    def once(self, key: Hashable | None, compute: Callable[[], Answer]) -> tuple[Answer, bool]:
        """(the answer for ``key``, whether it was remembered); ``compute`` runs at most once
        at a time per key. ``key`` ``None``: computed, not remembered."""
        if key is None:
            self.computed += 1
            return compute(), False
        with self._lock:
            found = self._answers.get(key)
            if found is not None:
                self._answers.move_to_end(key)
                self.remembered += 1
                return found, True
            flight = self._flights.get(key)
            leader = flight is None
            if flight is None:
                flight = self._flights[key] = _Flight()
        if not leader:
            flight.done.wait()
            if flight.answer is not None:
                with self._lock:
                    self.remembered += 1
                return flight.answer, True
            return self.once(key, compute)  # the first one failed: try ourselves
        try:
            answer = compute()
            flight.answer = answer
            self._keep(key, answer)
            with self._lock:
                self.computed += 1
            return answer, False
        finally:
            with self._lock:
                self._flights.pop(key, None)
            flight.done.set()

    def _keep(self, key: Hashable, answer: Answer) -> None:
        view, generation = _generation(key)
        with self._lock:
            if view is not None and generation is not None:
                known = self._generations.get(view)
                if known is not None and generation < known:
                    return  # computed from a state already replaced
                if known is None or generation > known:
                    self._generations[view] = generation
                    self._forget(view, generation)
            self._answers[key] = answer
            while len(self._answers) > self.size:
                self._answers.popitem(last=False)

    def _forget(self, view: Any, generation: int) -> None:
        """Drop the answers computed from ``view``'s older generations (under the lock)."""
        for key in [k for k in self._answers if _older(k, view, generation)]:
            del self._answers[key]

    def forget(self) -> None:
        """Forget every answer."""
        with self._lock:
            self._answers.clear()


def _generation(key: Hashable) -> tuple[Any, int | None]:
    """(view, store generation) of a memory key ``(service, version, state, ...)``, where the
    state is ``(view, entity, moment, generation)``."""
    state = key[2] if isinstance(key, tuple) and len(key) > 2 else None
    if isinstance(state, tuple) and len(state) == 4:
        return state[0], state[3]
    return None, None


def _older(key: Hashable, view: Any, generation: int) -> bool:
    """The key's answer was computed from a generation of ``view`` before ``generation``."""
    found_view, found = _generation(key)
    return found_view == view and found is not None and found < generation
