"""An answer from one model version, as the ledger records it and as a repeat gets it.

Example::

    answer = Answer.of(inputs, outputs.to_dict("list"), as_of=as_of, targets=(first, last))
    gateway.record("price-forecast", model, "champion", request_id, answer, latency_ms)
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

import orjson
import pandas as pd

from heliograph.ledger import JsonText

__all__: list[str] = []  # the gateway's own parts: create_app assembles them

_LOGGED_ROWS = 100  # inputs of up to this many rows are recorded; larger ones by hash only


def dumps(data: Any) -> bytes:
    """JSON bytes of ``data`` (numpy arrays and scalars included)."""
    return orjson.dumps(data, option=orjson.OPT_SERIALIZE_NUMPY)


def _hash(frame: pd.DataFrame) -> str:
    values = pd.util.hash_pandas_object(frame, index=False).to_numpy()
    return hashlib.sha256(values.tobytes()).hexdigest()


def _targets(rows: pd.DataFrame | None) -> tuple[Any, Any]:
    if rows is None or "timestamp" not in rows:
        return None, None
    return rows["timestamp"].min(), rows["timestamp"].max()


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
            digest = _hash(inputs)
            if len(inputs) <= _LOGGED_ROWS:
                logged = JsonText(inputs.to_json(orient="split", date_format="iso"))
        text = outputs if isinstance(outputs, bytes) else dumps(outputs)
        return cls(body, as_of, _targets(rows), digest, logged, JsonText(text.decode()))

    def repeated(self, body: bytes, as_of: datetime | None) -> Answer:
        """This answer given again as ``body`` for ``as_of``: recorded with its inputs by hash
        only, since the record of its first computation (same hash) holds them."""
        return replace(self, body=body, as_of=as_of, inputs=None)
