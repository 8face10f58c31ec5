"""The ``helio`` command line.

Example::

    from heliograph.cli import main
    main(["lake", "ls"])
"""

from __future__ import annotations

from ._main import app, main

__all__ = ["app", "main"]
