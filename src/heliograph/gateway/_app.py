"""The gateway: FastAPI app hosting the project's services, following the registry.

Routes: ``POST /v1/services/<name>/predict`` (one per service, typed, so bad input is a 422
naming the field), ``POST /invocations`` and ``POST /v1/models/<name>/invocations``
(MLflow-compatible), ``GET /v1/services``, ``GET /healthz``, ``GET /readyz``, ``GET /metrics``
(Prometheus), and the OpenAPI docs at ``/docs``. Every prediction response carries
``X-Model-Version`` and ``X-Request-ID``; every prediction is written to the ledger
asynchronously (spooled to disk if the database is down).

>>> app = create_app(project, services=[PriceForecast()])
>>> uvicorn.run(app)
"""

# No `from __future__ import annotations` here: FastAPI reads the endpoint annotations.

import base64
import fcntl
import gc
import hashlib
import hmac
import threading
import time
import uuid
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import pandas as pd
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from heliograph import __version__
from heliograph.core import Project, get_logger
from heliograph.ledger import JsonText, Ledger, PredictionRecord, PredictionWriter

from ._metrics import GatewayMetrics
from ._models import CHALLENGER, CHAMPION, LoadedModel, ModelStore, RegistryFollower
from ._service import Service, ServiceContext, ServiceError

__all__ = ["Gateway", "create_app"]

log = get_logger(__name__)
_MAX_SHADOW_PENDING = 1000


def _dumps(data: Any) -> bytes:
    return orjson.dumps(data, option=orjson.OPT_SERIALIZE_NUMPY)


def _json(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(
        _dumps(data),
        status_code=status,
        media_type="application/json",
        headers=headers,
    )


def _hash(frame: pd.DataFrame) -> str:
    values = pd.util.hash_pandas_object(frame, index=False).to_numpy()
    return hashlib.sha256(values.tobytes()).hexdigest()


@dataclass(frozen=True, slots=True)
class _Answer:
    """A service's whole answer from one model version: what a repeat of the question gets."""

    body: bytes
    as_of: datetime | None
    targets: tuple[datetime | None, datetime | None]
    inputs_hash: str
    inputs: JsonText | None
    outputs: JsonText


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
        self.context = ServiceContext(
            project=project, clock=project.clock(), registry_models=self._registry_models, cache={}
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
        self._spool_lock, spool = _claim_spool(project.state_dir / "spool")
        self.writer = PredictionWriter(project.ledger_url, spool)
        self.metrics = GatewayMetrics(self)
        self.follow = follow
        self.shadow = settings.shadow if shadow is None else shadow
        self._shadow_pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="helio-shadow")
        self._shadow_pending = threading.BoundedSemaphore(_MAX_SHADOW_PENDING)
        self.started_at = datetime.now(UTC)

    # -- models --------------------------------------------------------------------------
    def _registry_models(self, prefix: str) -> list[str]:
        return [m for m in self.follower.registry.models() if m.startswith(prefix)]

    def followed_models(self) -> list[str]:
        names: list[str] = []
        for service in self.services.values():
            names += service.models(self.context)
        if self.project.settings.gateway.invocations_model:
            names.append(self.project.settings.gateway.invocations_model)
        return sorted(set(names))

    def invocations_model(self, name: str | None) -> LoadedModel:
        name = name or self.project.settings.gateway.invocations_model or None
        if name is None:
            served = sorted({n for (n, role) in self.store.snapshot() if role == CHAMPION})
            if len(served) != 1:
                raise ServiceError(
                    "say which model: POST /v1/models/<name>/invocations",
                    status=400,
                    field="model",
                    rule="one of " + (", ".join(served) or "(none served)"),
                )
            name = served[0]
        model = self.store.get(name, CHAMPION)
        if model is None:
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
        self._spool_lock.close()

    # -- predictions ---------------------------------------------------------------------
    @staticmethod
    def payload(rows: pd.DataFrame | None, outputs: Any) -> tuple[str, JsonText | None, JsonText]:
        """The ledger's view of a prediction: the inputs' hash, the inputs themselves (up to
        100 rows) and the outputs, as JSON text."""
        inputs = None
        digest = ""
        if rows is not None:
            digest = _hash(rows)
            if len(rows) <= 100:
                inputs = JsonText(rows.to_json(orient="split", date_format="iso"))
        return digest, inputs, JsonText(_dumps(outputs).decode())

    def record(
        self,
        *,
        service: str,
        model: LoadedModel,
        role: str,
        request_id: str,
        as_of: datetime | None,
        inputs_hash: str,
        inputs: JsonText | None,
        outputs: JsonText,
        latency_ms: float,
        targets: tuple[datetime | None, datetime | None],
    ) -> None:
        self.writer.submit(
            PredictionRecord(
                service=service,
                model_name=model.name,
                model_version=model.version,
                role=role,
                request_id=request_id,
                as_of=as_of,
                target_start=targets[0],
                target_end=targets[1],
                inputs_hash=inputs_hash,
                inputs=inputs,
                outputs=outputs,
                latency_ms=latency_ms,
            )
        )

    def shadow_call(self, fn: Any) -> None:
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


def _signed(secret: str, headers: Any, body: str, max_age: float = 300.0) -> bool:
    """MLflow's webhook signature: v1,base64(HMAC-SHA256(delivery_id.timestamp.payload))."""
    delivery = headers.get("x-mlflow-delivery-id", "")
    stamp = headers.get("x-mlflow-timestamp", "")
    given = headers.get("x-mlflow-signature", "")
    if not (delivery and stamp.isdigit() and given.startswith("v1,")):
        return False
    if abs(time.time() - int(stamp)) > max_age:
        return False
    digest = hmac.new(
        secret.encode(), f"{delivery}.{stamp}.{body}".encode(), hashlib.sha256
    ).digest()
    return hmac.compare_digest(given[3:], base64.b64encode(digest).decode())


def _claim_spool(root: Path) -> tuple[Any, Path]:
    """A spool folder of its own for this process (several gateways may share a machine).

    The first folder no running process holds is taken, so a restarted gateway replays what
    a crashed one left behind.
    """
    for index in range(1024):
        folder = root / str(index)
        folder.mkdir(parents=True, exist_ok=True)
        handle = open(folder / ".lock", "w")  # held for the life of the process
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            continue
        return handle, folder
    raise ServiceError(
        "no free spool folder",
        status=503,
        field="spool",
        rule="fewer than 1024 gateways per state folder",
    )


def _parse_invocations(payload: Any, columns: list[str] | None) -> tuple[np.ndarray, list[str]]:
    """MLflow scoring input (dataframe_split, dataframe_records, instances, inputs)."""
    if not isinstance(payload, dict):
        raise ServiceError(
            "the body must be a JSON object",
            status=400,
            field="body",
            rule="one of dataframe_split, dataframe_records, instances, inputs",
        )
    if "dataframe_split" in payload:
        split = payload["dataframe_split"]
        names = list(split.get("columns") or columns or [])
        return np.asarray(split["data"], dtype=float), names
    if "dataframe_records" in payload:
        frame = pd.DataFrame(payload["dataframe_records"])
        names = list(columns or frame.columns)
        return frame.reindex(columns=names).to_numpy(dtype=float), names
    for key in ("instances", "inputs"):
        if key in payload:
            data = payload[key]
            if isinstance(data, dict):  # columnar
                frame = pd.DataFrame(data)
                names = list(columns or frame.columns)
                return frame.reindex(columns=names).to_numpy(dtype=float), names
            if data and isinstance(data[0], dict):
                frame = pd.DataFrame(data)
                names = list(columns or frame.columns)
                return frame.reindex(columns=names).to_numpy(dtype=float), names
            return np.atleast_2d(np.asarray(data, dtype=float)), list(columns or [])
    raise ServiceError(
        "unknown input format",
        status=400,
        field="body",
        rule="one of dataframe_split, dataframe_records, instances, inputs",
    )


class _Observe:
    """Request ids, ``X-Request-ID`` and the request metrics, as a plain ASGI middleware.

    (``@app.middleware("http")`` runs each request in an extra task with memory streams: about
    a fifth of a single-row request's cost.)
    """

    def __init__(self, app: Any, gateway: Gateway) -> None:
        self.app = app
        self.gateway = gateway

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        request_id = ""
        for key, value in scope["headers"]:
            if key == b"x-request-id":
                request_id = value.decode("latin-1")
                break
        request_id = request_id or uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = request_id
        status = 500

        async def send_with_id(message: Any) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = [(k, v) for k, v in message.get("headers", ()) if k != b"x-request-id"]
                headers.append((b"x-request-id", request_id.encode("latin-1")))
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            path = getattr(scope.get("route"), "path", "unmatched")
            self.gateway.metrics.observe(path, status, time.perf_counter() - started)


def create_app(
    project: Project,
    services: Sequence[Service] = (),
    *,
    poll_interval: float | None = None,
    follow: bool = True,
    shadow: bool | None = None,
    freeze_gc: bool = False,
) -> FastAPI:
    """The gateway app for ``project`` hosting ``services``.

    ``freeze_gc``: keep what is loaded at start (and each new version) out of Python's
    garbage collections, for a process that serves and does nothing else (``helio serve``).
    """
    gateway = Gateway(
        project,
        services,
        poll_interval=poll_interval,
        follow=follow,
        shadow=shadow,
        freeze_gc=freeze_gc,
    )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> Any:
        gateway.start()
        try:
            yield
        finally:
            gateway.stop()  # after uvicorn drained in-flight requests: flush the ledger

    app = FastAPI(
        title=f"heliograph gateway: {project.settings.project.name}",
        version=__version__,
        lifespan=lifespan,
        description="Domain services and MLflow-compatible scoring, following the model registry.",
    )
    app.state.gateway = gateway

    app.add_middleware(_Observe, gateway=gateway)

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> Response:
        details = [
            {"field": ".".join(str(p) for p in e["loc"]), "rule": e["msg"]} for e in exc.errors()
        ]
        return _json(
            {
                "error": "invalid request",
                "details": details,
                "request_id": request.state.request_id,
            },
            422,
        )

    @app.exception_handler(ServiceError)
    async def refused(request: Request, exc: ServiceError) -> Response:
        return _json(
            {
                "error": exc.headline,
                "field": exc.field,
                "rule": exc.rule,
                "request_id": request.state.request_id,
            },
            exc.status,
        )

    @app.exception_handler(StarletteHTTPException)
    async def not_found(request: Request, exc: StarletteHTTPException) -> Response:
        body: dict[str, Any] = {"error": exc.detail, "request_id": request.state.request_id}
        if exc.status_code == 404:
            body = {
                "error": f"no route {request.url.path}",
                "services": [f"/v1/services/{n}/predict" for n in gateway.services],
                "request_id": request.state.request_id,
            }
        return _json(body, exc.status_code)

    @app.exception_handler(Exception)
    async def crashed(request: Request, exc: Exception) -> Response:
        log.exception("request %s failed", request.state.request_id)
        return _json(
            {
                "error": f"the model or service failed: {type(exc).__name__}",
                "request_id": request.state.request_id,
            },
            500,
        )

    @app.get("/healthz", tags=["operations"])
    async def healthz() -> Response:
        return _json({"status": "ok", "version": __version__})

    @app.get("/readyz", tags=["operations"])
    async def readyz() -> Response:
        missing = [
            name for name in gateway.followed_models() if gateway.store.get(name, CHAMPION) is None
        ]
        empty = [s.name for s in gateway.services.values() if not s.models(gateway.context)]
        ready = not missing and not empty
        return _json(
            {"ready": ready, "missing_champion": missing, "services_without_models": empty},
            200 if ready else 503,
        )

    @app.get("/metrics", tags=["operations"])
    async def metrics() -> Response:
        body, content_type = gateway.metrics.render()
        return Response(body, media_type=content_type)

    @app.post("/v1/registry/webhook", tags=["operations"])
    async def registry_webhook(request: Request) -> Response:
        """An MLflow registry webhook (model_version_alias.*): look at the registry now."""
        secret = project.settings.gateway.webhook_secret
        if not secret:
            raise ServiceError(
                "webhooks are off: set [gateway] webhook_secret",
                status=404,
                field="gateway.webhook_secret",
                rule="a shared secret",
            )
        body = (await request.body()).decode("utf-8", errors="replace")
        if not _signed(secret, request.headers, body):
            raise ServiceError(
                "bad or missing webhook signature",
                status=401,
                field="X-MLflow-Signature",
                rule="HMAC-SHA256 of the secret, at most 5 minutes old",
            )
        gateway.follower.poke()
        return _json({"accepted": True})

    @app.get("/v1/services", tags=["services"])
    async def list_services() -> Response:
        loaded = gateway.store.snapshot()
        models = [
            {
                "model": name,
                "role": role,
                "version": m.version,
                "run_id": m.run_id,
                "loaded_at": m.loaded_at.isoformat(),
                "fast_path": m.native is not None,
            }
            for (name, role), m in sorted(loaded.items())
        ]
        return _json(
            {
                "services": [
                    {
                        "name": s.name,
                        "description": s.description,
                        "path": f"/v1/services/{s.name}/predict",
                        "models": s.models(gateway.context),
                    }
                    for s in gateway.services.values()
                ],
                "loaded": models,
                "last_registry_poll": gateway.follower.last_poll.isoformat()
                if gateway.follower.last_poll
                else None,
            }
        )

    def invoke(request: Request, payload: Any, name: str | None) -> Response:
        model = gateway.invocations_model(name)
        started = time.perf_counter()
        rows, columns = _parse_invocations(payload, model.columns)
        predictions = _dumps(model.predict_rows(rows, columns or None))
        latency = 1000 * (time.perf_counter() - started)
        gateway.record(
            service="invocations",
            model=model,
            role=CHAMPION,
            request_id=request.state.request_id,
            as_of=None,
            inputs_hash="",
            inputs=None,
            outputs=JsonText(predictions.decode()),
            latency_ms=latency,
            targets=(None, None),
        )
        return Response(
            b'{"predictions":' + predictions + b"}",
            media_type="application/json",
            headers={"X-Model-Version": model.version, "X-Model-Name": model.name},
        )

    @app.post("/invocations", tags=["mlflow"])
    async def invocations(request: Request) -> Response:
        try:
            payload = orjson.loads(await request.body())
        except orjson.JSONDecodeError as exc:
            raise ServiceError(
                f"the body is not JSON: {exc}", status=400, field="body", rule="JSON"
            ) from None
        return invoke(request, payload, request.query_params.get("model"))

    @app.post("/v1/models/{name}/invocations", tags=["mlflow"])
    async def model_invocations(name: str, request: Request) -> Response:
        try:
            payload = orjson.loads(await request.body())
        except orjson.JSONDecodeError as exc:
            raise ServiceError(
                f"the body is not JSON: {exc}", status=400, field="body", rule="JSON"
            ) from None
        return invoke(request, payload, name)

    for service in services:
        _add_service_route(app, gateway, service)
    return app


def _targets(rows: pd.DataFrame) -> tuple[Any, Any]:
    if "timestamp" not in rows:
        return None, None
    return rows["timestamp"].min(), rows["timestamp"].max()


def _add_service_route(app: FastAPI, gateway: Gateway, service: Service) -> None:
    context = gateway.context

    def compute(body: Any, model: LoadedModel, key: Any) -> tuple[_Answer, pd.DataFrame]:
        """The answer of ``model`` (features, prediction, response); remembered under ``key``
        if the service still gives that key afterwards (the data did not change meanwhile)."""
        rows, as_of = service.features(context, body)
        targets = _targets(rows)
        inputs = model.inputs(rows)
        outputs = model.predict_cached(inputs)
        response = service.respond(body, rows, outputs, model.version)
        answer = _Answer(
            response.model_dump_json().encode(),
            as_of,
            targets,
            *gateway.payload(inputs, outputs.to_dict("list")),
        )
        if key is not None and service.answer_key(context, body) == key:
            model.remember((service.name, key), answer)
        return answer, rows

    def shadow(body: Any, challenger: LoadedModel, request_id: str, rows: Any) -> None:
        """The challenger's prediction for the same request, recorded with role challenger."""
        started = time.perf_counter()
        if rows is None:  # the champion's answer came from memory
            rows, as_of = service.features(context, body)
        else:
            as_of = rows["as_of"].iloc[0] if "as_of" in rows and len(rows) else None
        inputs = challenger.inputs(rows)
        outputs = challenger.predict_cached(inputs)
        digest, logged, predicted = gateway.payload(inputs, outputs.to_dict("list"))
        gateway.record(
            service=service.name,
            model=challenger,
            role=CHALLENGER,
            request_id=request_id,
            as_of=as_of,
            inputs_hash=digest,
            inputs=logged,
            outputs=predicted,
            latency_ms=1000 * (time.perf_counter() - started),
            targets=_targets(rows),
        )

    async def predict(body: Any, request: Request) -> Response:
        started = time.perf_counter()
        request_id = request.state.request_id
        name = service.model_for(body)
        model = gateway.store.get(name, CHAMPION)  # this request's version, whatever swaps
        if model is None:
            served = sorted({n for (n, role) in gateway.store.snapshot() if role == CHAMPION})
            raise ServiceError(
                f"no champion is served for {name}",
                status=404,
                field="model",
                rule="one of " + (", ".join(served) or "(none yet)"),
            )
        key = service.answer_key(context, body)
        answer = model.remembered((service.name, key)) if key is not None else None
        rows = None
        inputs = None  # a repeat: its inputs are in the first answer's record (same hash)
        if answer is None:  # features may read the lake: off the event loop
            answer, rows = await run_in_threadpool(compute, body, model, key)
            inputs = answer.inputs
            content, as_of = answer.body, answer.as_of
        else:
            content, as_of = service.restamp(context, body, answer.body, answer.as_of)
        gateway.record(
            service=service.name,
            model=model,
            role=CHAMPION,
            request_id=request_id,
            as_of=as_of,
            inputs_hash=answer.inputs_hash,
            inputs=inputs,
            outputs=answer.outputs,
            latency_ms=1000 * (time.perf_counter() - started),
            targets=answer.targets,
        )
        challenger = gateway.store.get(name, CHALLENGER) if gateway.shadow else None
        if challenger is not None and challenger.version != model.version:
            gateway.shadow_call(lambda: shadow(body, challenger, request_id, rows))
        return Response(
            content,
            media_type="application/json",
            headers={"X-Model-Version": model.version, "X-Model-Name": model.name},
        )

    predict.__annotations__ = {"body": service.Request, "request": Request, "return": Response}
    app.add_api_route(
        f"/v1/services/{service.name}/predict",
        predict,
        methods=["POST"],
        response_model=service.Response,
        tags=["services"],
        summary=service.description or service.name,
        responses={
            422: {"description": "invalid request: the field and rule"},
            404: {"description": "no model serves this request"},
        },
    )
