"""Posting an alert to an HTTP webhook: Slack-compatible JSON ``{"text": ...}``, retried.

A webhook that fails (refused, timed out, not 2xx) is tried ``attempts`` times with a
doubling pause, then given up: the outcome says why, and nothing is raised, so a dead
webhook never stops the job that found the alert.

Example::

    post_webhook("https://hooks.slack.com/services/T0/B0/x", "drift: load psi 0.31 > 0.2")
    # WebhookDelivery(delivered=True, attempts=1, status=200, error='')
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from dataclasses import dataclass

__all__ = ["WebhookDelivery", "post_webhook"]


@dataclass(frozen=True)
class WebhookDelivery:
    """What became of one webhook post: ``delivered`` after ``attempts`` tries; the last
    HTTP ``status`` (0: no answer) and ``error``."""

    delivered: bool
    attempts: int
    status: int
    error: str


def post_webhook(
    url: str,
    text: str,
    *,
    attempts: int = 3,
    timeout: float = 5.0,
    backoff: float = 0.5,
) -> WebhookDelivery:
    """POST ``{"text": text}`` to ``url``, up to ``attempts`` times (pauses ``backoff``,
    then doubling). Never raises."""
    if not url.startswith(("http://", "https://")):
        return WebhookDelivery(False, 0, 0, f"not an http(s) URL: {url[:40]!r}")
    body = json.dumps({"text": text}).encode()
    status, error = 0, ""
    for attempt in range(1, attempts + 1):
        request = urllib.request.Request(  # noqa: S310 (the scheme is checked above)
            url, data=body, headers={"Content-Type": "application/json"}, method="POST"
        )
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
                status = int(response.status)
            return WebhookDelivery(True, attempt, status, "")
        except urllib.error.HTTPError as exc:
            status, error = int(exc.code), f"HTTP {exc.code}"
        except (urllib.error.URLError, OSError, ValueError) as exc:
            status, error = 0, f"{type(exc).__name__}: {getattr(exc, 'reason', exc)}"
        if attempt < attempts:
            time.sleep(backoff * 2 ** (attempt - 1))
    return WebhookDelivery(False, attempts, status, error)
