"""Registry webhooks: MLflow's signature on a delivery, checked by a pure function.

Example::

    webhook_signed("s3cret", request.headers, body)   # then follower.poke()
    # True
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from collections.abc import Mapping

__all__ = ["webhook_signed"]


def webhook_signed(
    secret: str, headers: Mapping[str, str], body: str, *, max_age: float = 300.0
) -> bool:
    """Whether ``body`` carries MLflow's webhook signature under ``secret``, at most
    ``max_age`` seconds old: ``X-MLflow-Signature: v1,base64(HMAC-SHA256(secret,
    delivery_id.timestamp.payload))`` (``headers`` keys in lower case, as Starlette gives them)."""
    delivery = headers.get("x-mlflow-delivery-id", "")
    stamp = headers.get("x-mlflow-timestamp", "")
    given = headers.get("x-mlflow-signature", "")
    # ASCII only: "²".isdigit() is true but int() refuses it, and compare_digest refuses
    # non-ASCII text (headers arrive as latin-1): a forged header is False, never an error.
    if not (delivery and stamp.isascii() and stamp.isdigit() and given.startswith("v1,")):
        return False
    if abs(time.time() - int(stamp)) > max_age:
        return False
    digest = hmac.new(
        secret.encode(), f"{delivery}.{stamp}.{body}".encode(), hashlib.sha256
    ).digest()
    return hmac.compare_digest(given[3:].encode("utf-8", "replace"), base64.b64encode(digest))
