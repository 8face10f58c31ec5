"""What is served: per model, the loaded version of each role, and the versions kept for rollback.

Example::

    store = ModelStore(keep=3)
    store.put(model, "champion")
    store.get("energy-price-GB", "champion").version
    # '3'
"""

from __future__ import annotations

import threading

from heliograph.registry import CHAMPION

from ._loaded import LoadedModel

__all__ = ["ModelStore"]


class ModelStore:
    """What is being served: per model, the loaded version of each role, and a small cache."""

    def __init__(self, keep: int = 3) -> None:
        self._roles: dict[tuple[str, str], LoadedModel] = {}
        self._cache: dict[str, dict[str, LoadedModel]] = {}
        self._keep = keep
        self._lock = threading.Lock()

    def get(self, name: str, role: str = CHAMPION) -> LoadedModel | None:
        return self._roles.get((name, role))  # one dict read: atomic under the GIL

    def cached(self, name: str, version: str) -> LoadedModel | None:
        return self._cache.get(name, {}).get(version)

    def put(self, model: LoadedModel, role: str) -> int:
        """Serve ``model`` in ``role``; returns how many old versions were let go."""
        dropped = 0
        with self._lock:
            versions = self._cache.setdefault(model.name, {})
            versions[model.version] = model
            held = {m.version for (n, _), m in self._roles.items() if n == model.name}
            for old in list(versions)[: max(0, len(versions) - self._keep)]:
                if old not in held and old != model.version:
                    del versions[old]
                    dropped += 1
            self._roles[(model.name, role)] = model
        return dropped

    def drop(self, name: str, role: str) -> None:
        with self._lock:
            self._roles.pop((name, role), None)

    def snapshot(self) -> dict[tuple[str, str], LoadedModel]:
        return dict(self._roles)
