"""Engines for heavy compute: one function mapped over many items, here or on a Ray cluster.

A backtest's folds, a sweep's trials, a snapshot's chunks to score: each is ``map(fn, items)``
where every call is independent of the others. The engine says where the calls run, chosen by
configuration (``[compute]`` in ``helio.toml``): ``local`` runs them in processes of this
machine (``concurrent.futures``; ``workers = 1`` runs them here, in order), ``ray`` submits
them as Ray tasks to an existing cluster (``address``), or to one started in this process
when no address is given. The same function gives the same results on every engine: results
come back in the order of ``items``, whatever order the calls finished in.

``fn`` and ``items`` travel to the workers by value (cloudpickle, as Ray does), so a closure
or a lambda works; ``fn`` is pickled once per map (Ray: one object in the cluster's store;
local: unpickled once per worker), not once per item. Each call must return something
picklable.

Example::

    engine = open_engine(ComputeSettings(engine="local", workers=2))
    engine.map(lambda day: fit_and_forecast(features, day), days)
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from typing import Any, Protocol, TypeVar

from heliograph.core import ComputeSettings, ConfigError, get_logger

__all__ = ["ENGINES", "Engine", "LocalEngine", "RayEngine", "chunks", "open_engine"]

T = TypeVar("T")
R = TypeVar("R")

ENGINES = ("local", "ray")

log = get_logger(__name__)

# What local workers import once, in the forkserver process each pool's workers are forked
# from: a worker starts in milliseconds, with none of this process's threads (MLflow's,
# OpenMP's) copied into it. Names only: compute imports none of them (training is the usual
# caller; an import that fails is skipped by multiprocessing).
_PRELOAD = ["numpy", "pandas", "heliograph.compute", "heliograph.training"]


class Engine(Protocol):
    """Runs ``fn`` over ``items``, returning the results in the order of ``items``."""

    name: str

    @property
    def workers(self) -> int:
        """How many calls can run at once."""
        ...

    def map(self, fn: Callable[[T], R], items: Iterable[T]) -> list[R]: ...


def _cpus() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


_cached: dict[str, Callable[[Any], Any]] = {}


def _call_blob(digest: str, blob: bytes, item: Any) -> Any:
    """In a worker: the function of ``blob`` (unpickled once per map), called on ``item``."""
    fn = _cached.get(digest)
    if fn is None:
        import cloudpickle

        _cached.clear()  # one map's function at a time: the previous one's data is freed
        fn = _cached[digest] = cloudpickle.loads(blob)
    return fn(item)


def _watch(parent: int) -> None:
    """In a worker: exit when the process that owns the pool is gone (killed, not closed)."""
    import threading
    import time

    def watch() -> None:
        while True:
            time.sleep(1.0)
            try:
                os.kill(parent, 0)
            except ProcessLookupError:
                os._exit(0)
            except PermissionError:  # the id was reused by another user's process
                os._exit(0)

    threading.Thread(target=watch, name="helio-pool-watch", daemon=True).start()


_pools: dict[int, ProcessPoolExecutor] = {}


def _pool(workers: int) -> ProcessPoolExecutor:
    """A pool kept for the process's life: its workers import what the calls need once."""
    if workers not in _pools:
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(_PRELOAD)
        _pools[workers] = ProcessPoolExecutor(
            workers, context, initializer=_watch, initargs=(os.getpid(),)
        )
    return _pools[workers]


class LocalEngine:
    """Processes of this machine: ``workers`` at most (0: one per core); 1 runs in-process.

    The pool of processes is started on the first map and kept for the next ones."""

    name = "local"

    def __init__(self, workers: int = 0) -> None:
        self._workers = int(workers) or _cpus()

    @property
    def workers(self) -> int:
        return self._workers

    def map(self, fn: Callable[[T], R], items: Iterable[T]) -> list[R]:
        todo = list(items)
        if self._workers <= 1 or len(todo) <= 1:
            return [fn(item) for item in todo]
        import hashlib

        import cloudpickle

        blob = cloudpickle.dumps(fn)
        digest = hashlib.sha256(blob).hexdigest()
        pool = _pool(self._workers)
        futures: dict[Any, int] = {}
        try:
            for i, x in enumerate(todo):
                futures[pool.submit(_call_blob, digest, blob, x)] = i
            results: list[Any] = [None] * len(todo)
            for future in as_completed(futures):
                results[futures[future]] = future.result()
        except BrokenProcessPool:
            _pools.pop(self._workers, None)  # a worker died (killed, out of memory): a new pool
            raise
        except BaseException:
            for future in futures:
                future.cancel()
            raise
        return results


class RayEngine:
    """Ray tasks, on the cluster at ``address`` (``auto``: the one this host belongs to; a
    ``ray://host:10001`` client address) or, with no address, on a cluster started in this
    process with ``workers`` CPUs (0: all). Ray is imported and connected on the first map."""

    name = "ray"

    def __init__(self, address: str = "", workers: int = 0) -> None:
        self.address = address
        self._cpus = int(workers)

    @property
    def workers(self) -> int:
        ray = self._connect()
        return max(1, int(ray.cluster_resources().get("CPU", 1)))

    def _connect(self) -> Any:
        try:
            import ray
        except ImportError:  # pragma: no cover - ray is a dependency
            raise ConfigError(
                "the ray engine needs the ray package", field="compute.engine", rule="ray installed"
            ) from None
        if ray.is_initialized():
            return ray
        options: dict[str, Any] = {"include_dashboard": False, "log_to_driver": False}
        if self.address:
            options["address"] = self.address
        elif self._cpus:
            options["num_cpus"] = self._cpus
        try:
            ray.init(**options)
        except ConnectionError as exc:
            raise ConfigError(
                f"cannot reach the Ray cluster at {self.address}: {exc}",
                field="compute.address",
                rule="the address of a running Ray cluster (ray start --head), or empty",
            ) from None
        return ray

    def map(self, fn: Callable[[T], R], items: Iterable[T]) -> list[R]:
        todo = list(items)
        if not todo:
            return []
        ray = self._connect()
        shared = ray.put(fn)  # once in the object store, not once per task
        refs = [_ray_call(ray).remote(shared, item) for item in todo]
        try:
            return list(ray.get(refs))
        except ray.exceptions.RayTaskError as exc:
            # The other tasks are left to finish, not cancelled: a cancel that races a task's
            # completion aborts this process in Ray 2.60 ("Check failed: it !=
            # submissible_tasks_.end() Tried to complete task that was not pending", seen in a
            # CI rehearsal; ray-project/ray#54798 fixed a race of the same kind, on retries).
            # Their results are dropped.
            cause = getattr(exc, "cause", None)
            if isinstance(cause, Exception):  # the call's own error, as it would be here
                raise cause from None
            raise


_remote: list[Any] = []


def _call(fn: Callable[[Any], Any], item: Any) -> Any:
    return fn(item)


def _ray_call(ray: Any) -> Any:
    if not _remote:
        _remote.append(ray.remote(num_cpus=1, max_retries=0)(_call))
    return _remote[0]


def open_engine(settings: ComputeSettings | None = None) -> Engine:
    """The engine ``[compute]`` names (default: local, in this process)."""
    settings = settings or ComputeSettings()
    if settings.engine == "ray":
        return RayEngine(settings.address, settings.workers)
    return LocalEngine(settings.workers)


def chunks(items: Sequence[T], size: int) -> list[Sequence[T]]:
    """``items`` cut into consecutive pieces of at most ``size``."""
    return [items[i : i + size] for i in range(0, len(items), max(1, size))]
