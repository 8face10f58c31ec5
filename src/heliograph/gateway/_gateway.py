"""The gateway's state: services, loaded models, the registry follower, the ledger writer,
the online store, the memory of answers, the shadow pool and the metrics; and the one path
by which a prediction reaches the ledger.

Example::

    gateway = Gateway(project, [PriceForecast()])
    gateway.start()
    gateway.record("price-forecast", model, "champion", request_id, answer, latency_ms)
    gateway.stop()
"""

from __future__ import annotations

import gc
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

from heliograph.core import Project, get_logger
from heliograph.features import OnlineStatus, OnlineStore
from heliograph.ledger import Ledger, PredictionRecord, PredictionWriter, claim_spool
from heliograph.registry import CHAMPION
from heliograph.serving import (
    LoadedModel,
    ModelStore,
    RegistryFollower,
    Service,
    ServiceContext,
    ServiceError,
)

from ._answer import Answer, AnswerMemory
from ._durable import note_ticket
from ._metrics import GatewayMetrics

__all__ = ["Gateway"]

log = get_logger(__name__)
_MAX_SHADOW_PENDING = 1000
_REGISTRY_SECONDS = 5.0  # how long the registry's list of models is reused


class Gateway:
    """The gateway's state: services, loaded models, follower, ledger writer, metrics."""

    def __init__(
        self,
        project: Project,
        services: Sequence[Service],
        *,
        poll_interval: float | None = None,
        follow: bool = True,
        shadow: bool | None = None,
        freeze_gc: bool = False,
    ) -> None:
        settings = project.settings.gateway
        self.project = project
        self.services = {s.name: s for s in services}
        self.store = ModelStore()
        self.ledger = Ledger(project.ledger_url)
        self.online = OnlineStore.open(project)
        self.answers = AnswerMemory()
        self._registry_names: tuple[float, list[str]] | None = None
        self.context = ServiceContext(
            project=project,
            clock=project.clock(),
            store=self.online,
            registry_models=self._registry_models,
        )
        self.follower = RegistryFollower(
            project,
            self.store,
            self.followed_models,
            poll_interval=poll_interval or settings.poll_interval,
            ledger=self.ledger,
            on_swap=self._settle_gc,
        )
        self.freeze_gc = freeze_gc
        self.spool = claim_spool(project.state_dir / "spool")
        self.writer = PredictionWriter(
            project.ledger_url,
            self.spool.folder,
            durability=project.settings.ledger.durability,
        )
        self.metrics = GatewayMetrics(self, worker=self.spool.folder.name)
        self.follow = follow
        self.shadow = settings.shadow if shadow is None else shadow
        self._shadow_pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="helio-shadow")
        self._shadow_pending = threading.BoundedSemaphore(_MAX_SHADOW_PENDING)
        self.started_at = datetime.now(UTC)

    # -- models --------------------------------------------------------------------------
    def _registry_models(self, prefix: str) -> list[str]:
        """The registered models whose name starts with ``prefix`` (the registry's list is
        read again after a few seconds, not on every readiness probe)."""
        cached = self._registry_names
        if cached is None or cached[0] < time.monotonic() - _REGISTRY_SECONDS:
            cached = (time.monotonic(), self.follower.registry.models())
            self._registry_names = cached
        return [m for m in cached[1] if m.startswith(prefix)]

    def online_status(self) -> list[OnlineStatus]:
        """The online store's last materialisation of each view a service reads."""
        views = {s.online.ref: s.online for s in self.services.values() if s.online is not None}
        return [self.online.status(view) for _, view in sorted(views.items())]

    def followed_models(self) -> list[str]:
        names: list[str] = []
        for service in self.services.values():
            names += service.models(self.context)
        if self.project.settings.gateway.invocations_model:
            names.append(self.project.settings.gateway.invocations_model)
        return sorted(set(names))

    def served(self) -> list[str]:
        """The models with a champion loaded."""
        return sorted({n for (n, role) in self.store.snapshot() if role == CHAMPION})

    def champion(self, name: str) -> LoadedModel:
        """The champion of ``name`` serving now (this request's version, whatever swaps)."""
        model = self.store.get(name, CHAMPION)
        if model is None:
            raise ServiceError(
                f"no champion is served for {name}",
                status=404,
                field="model",
                rule="one of " + (", ".join(self.served()) or "(none yet)"),
            )
        return model

    def invocations_model(self, name: str | None) -> LoadedModel:
        name = name or self.project.settings.gateway.invocations_model or None
        if name is None:
            served = self.served()
            if len(served) != 1:
                raise ServiceError(
                    "say which model: POST /v1/models/<name>/invocations",
                    status=400,
                    field="model",
                    rule="one of " + (", ".join(served) or "(none served)"),
                )
            name = served[0]
        model = self.store.get(name, CHAMPION)
        if model is None and name not in self.followed_models():
            raise ServiceError(
                f"no model {name!r} is served",
                status=404,
                field="model",
                rule="one of " + (", ".join(self.served()) or "(none served)"),
            )
        if model is None:  # followed, but its champion is not loaded (yet)
            raise ServiceError(
                f"no champion of {name!r} is loaded",
                status=503,
                field="model",
                rule="a registered model with a champion alias",
            )
        return model

    # -- lifecycle -----------------------------------------------------------------------
    def start(self) -> None:
        self.writer.start()
        if self.follow:
            self.follower.sync()  # serve at once if the registry already has champions
        if self.freeze_gc:
            gc.collect()
            gc.freeze()
        if self.follow:
            self.follower.start()
        self.metrics.start()

    def _settle_gc(self, dropped: int) -> None:
        """After a swap, move the new version's objects out of the garbage collector's way.

        With ``freeze_gc`` (``helio serve``), what exists once the models are loaded (modules,
        models, caches: ~400,000 objects) is frozen: otherwise each full collection walks all
        of it, a 100-300 ms pause of every request several times a minute under load. A new
        version is frozen too, after collecting the young objects (only those are walked). When
        old versions were let go, they are unfrozen and collected first (one full pause) so
        that a frozen reference cycle cannot keep them in memory.
        """
        if not self.freeze_gc:
            return
        if dropped:
            gc.unfreeze()
        gc.collect()
        gc.freeze()

    def stop(self) -> None:
        self.follower.stop()
        self._shadow_pool.shutdown(wait=True)  # shadows in flight reach the writer
        self.writer.close()
        self.spool.release()
        self.metrics.stop()
        self.online.close()

    # -- predictions ---------------------------------------------------------------------
    def record(
        self,
        service: str,
        model: LoadedModel,
        role: str,
        request_id: str,
        answer: Answer,
        latency_ms: float,
    ) -> None:
        """Queue the ledger record of ``answer`` (microseconds; never raises). With the
        journal, the request's response waits until the record is on disk (``_durable``)."""
        ticket = self.writer.submit(
            PredictionRecord(
                service=service,
                model_name=model.name,
                model_version=model.version,
                role=role,
                request_id=request_id,
                as_of=answer.as_of,
                target_start=answer.targets[0],
                target_end=answer.targets[1],
                inputs_hash=answer.inputs_hash,
                inputs=answer.inputs,
                outputs=answer.outputs,
                latency_ms=latency_ms,
            )
        )
        note_ticket(ticket)

    def shadow_call(self, fn: Callable[[], None]) -> None:
        """Run ``fn`` off the hot path; skip (and count) it when the shadow queue is full."""
        if not self._shadow_pending.acquire(blocking=False):
            self.metrics.shadow_skipped.inc()
            return

        def run() -> None:
            try:
                fn()
            except Exception as exc:
                log.warning("shadow prediction failed: %s", exc)
                self.metrics.shadow_failed.inc()
            finally:
                self._shadow_pending.release()

        self._shadow_pool.submit(run)
