"""heliograph: from a model in a notebook to a production service that runs unattended.

Importing heliograph has no side effects: it creates no folders, opens no databases and sets
no MLflow tracking URI. The public API lives in the subpackages (``heliograph.lake``,
``heliograph.checks``, ...).
"""

from __future__ import annotations

__all__ = ["__version__"]

__version__ = "0.1.0"
