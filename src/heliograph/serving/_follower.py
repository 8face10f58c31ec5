"""The registry follower: keeps a model store in step with the registry's aliases.

The follower polls the registry's aliases (and looks at once when poked, e.g. by a webhook).
When ``champion`` (or ``challenger``) points at a version that is not loaded, it loads that
version in the background, warms it up on its input example, smoke-tests the output, and only
then swaps it in: one reference assignment, so a request sees either the old version or the
new one, never a half-loaded model. A version that fails to load or to pass its smoke test is
never served; the old one keeps serving and an event says why. The version holding
``previous`` is loaded too (it is not served), and versions loaded before stay in memory (up
to ``keep`` per model), so a rollback swaps with no load.

Example::

    store = ModelStore()
    follower = RegistryFollower(project, store, ["energy-price-GB"], poll_interval=2.0)
    follower.start()
    store.get("energy-price-GB", "champion").version
    # '3'
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from heliograph.core import HelioError, Project, get_logger
from heliograph.ledger import Ledger
from heliograph.registry import CHALLENGER, CHAMPION, PREVIOUS, Registry

from ._loaded import LoadedModel
from ._loading import load_version
from ._store import ModelStore

__all__ = ["ROLES", "RegistryFollower"]

log = get_logger(__name__)
ROLES = (CHAMPION, CHALLENGER, PREVIOUS)


class RegistryFollower:
    """Keeps ``store`` in step with the registry's aliases, polling every ``poll_interval`` s."""

    def __init__(
        self,
        project: Project,
        store: ModelStore,
        models: Sequence[str] | Callable[[], Sequence[str]],
        *,
        poll_interval: float = 2.0,
        ledger: Ledger | None = None,
        roles: Sequence[str] = ROLES,
        on_swap: Callable[[int], None] | None = None,
    ) -> None:
        self.project = project
        self.store = store
        self._models = models
        self.poll_interval = poll_interval
        self.roles = roles
        self.on_swap = on_swap  # called after each swap with the number of versions let go
        self.ledger = ledger or Ledger(project.ledger_url)
        self.registry = Registry(project, self.ledger)
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._failed: dict[tuple[str, str], float] = {}
        self.swaps = 0
        self.last_poll: datetime | None = None

    def model_names(self) -> list[str]:
        names = self._models() if callable(self._models) else self._models
        return list(names)

    def sync(self) -> None:
        """One pass: load and swap in whatever the aliases point at now."""
        from mlflow.exceptions import MlflowException

        self.last_poll = datetime.now(UTC)
        for name in self.model_names():
            try:
                aliases = self.registry.aliases(name)
            except (MlflowException, Exception) as exc:  # registry unreachable: keep serving
                log.warning("cannot read aliases of %s: %s", name, exc)
                continue
            for role in self.roles:
                wanted = aliases.get(role)
                current = self.store.get(name, role)
                if wanted is None:
                    if current is not None:
                        self.store.drop(name, role)
                    continue
                if current is not None and current.version == wanted:
                    continue
                self._swap_in(name, role, wanted, current)

    def _swap_in(self, name: str, role: str, version: str, current: LoadedModel | None) -> None:
        if self._failed.get((name, version), 0) > time.time() - 60:
            return  # failed recently: don't hammer; the old version keeps serving
        model = self.store.cached(name, version)
        cached = model is not None
        try:
            if model is None:
                model = load_version(self.registry, name, version)
        except Exception as exc:
            self._failed[(name, version)] = time.time()
            keeping = f"version {current.version} keeps serving" if current else "nothing served"
            log.error("%s v%s failed to load: %s", name, version, exc)
            self._event(
                "deploy_failed",
                f"model/{name}",
                f"{role} v{version} failed to load or smoke-test: {exc}; {keeping}",
                details={"role": role, "version": version},
            )
            return
        dropped = self.store.put(model, role)
        self.swaps += 1
        if self.on_swap is not None:
            try:
                self.on_swap(dropped)
            except Exception as exc:  # housekeeping only: the swap has happened
                log.warning("after swapping in %s v%s: %s", name, version, exc)
        how = "already loaded" if cached else f"loaded in {model.load_seconds:.2f} s"
        what = "kept loaded for a rollback" if role == PREVIOUS else "now served"
        self._event(
            "deployed",
            f"model/{name}",
            f"{role} v{version} {what} (was {current.version if current else '-'}); {how}",
            details={"role": role, "version": version, "loaded_before": cached},
        )

    def _event(self, kind: str, subject: str, reason: str, **kwargs: Any) -> None:
        """Record an event; a ledger outage is logged, never allowed to stop serving."""
        try:
            self.ledger.record(kind, subject, reason, **kwargs)
        except HelioError as exc:
            log.error("event %s for %s not recorded (%s): %s", kind, subject, exc, reason)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.sync()
            except Exception as exc:  # never let the follower die
                log.exception("registry follower pass failed: %s", exc)
            self._wake.wait(self.poll_interval)
            self._wake.clear()

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="helio-follower", daemon=True)
            self._thread.start()

    def poke(self) -> None:
        """Check the registry now (a webhook or an operator asked)."""
        self._wake.set()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None
