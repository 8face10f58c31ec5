"""Logging: one logger tree under ``heliograph``; the CLI decides where it goes.

>>> log = get_logger(__name__)
>>> log.info("ingested %d rows", 48)
"""

from __future__ import annotations

import logging

__all__ = ["configure_logging", "get_logger"]


def get_logger(name: str) -> logging.Logger:
    return logging.getLogger(name if name.startswith("heliograph") else f"heliograph.{name}")


def configure_logging(level: str | int = "WARNING") -> None:
    """Send heliograph's log records to standard error at ``level`` (the CLI calls this)."""
    root = logging.getLogger("heliograph")
    root.setLevel(level)
    if not any(getattr(h, "_helio", False) for h in root.handlers):
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        handler._helio = True  # type: ignore[attr-defined]
        root.addHandler(handler)
