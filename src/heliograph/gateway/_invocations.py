"""MLflow-compatible scoring: ``POST /invocations`` and ``POST /v1/models/<name>/invocations``.

What ``mlflow models serve`` accepts, answered ``{"predictions": ...}``; bad input is a 400
naming the field and the rule (``_scoring_input``), never a 500. Concurrent requests for the
same version are predicted together (``_batching``, ``[gateway] max_batch_rows``).

Example::

    add_invocation_routes(app, gateway)
"""

# No `from __future__ import annotations` here: FastAPI reads the endpoint annotations.

import time
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import Response

from heliograph.registry import CHAMPION
from heliograph.serving import ServiceError

from ._answer import Answer, dumps
from ._batching import Batcher
from ._gateway import Gateway
from ._scoring_input import json_body, scoring_rows

__all__: list[str] = []  # the gateway's own parts: create_app assembles them


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0][:300]


def add_invocation_routes(app: FastAPI, gateway: Gateway) -> None:
    """Add the two scoring routes to ``app``."""
    batcher = app.state.batcher = Batcher(gateway.project.settings.gateway.max_batch_rows)

    async def invoke(request: Request, payload: Any, name: str | None) -> Response:
        model = gateway.invocations_model(name)
        started = time.perf_counter()
        rows, columns = scoring_rows(payload, model.columns)
        try:
            predicted = await batcher.predict(model, rows, columns)
        except (ValueError, TypeError, KeyError) as exc:  # input the model's own checks refuse
            raise ServiceError(
                f"the model cannot score this input: {_first_line(exc)}",
                status=400,
                field="body",
                rule=f"input that {model.name} v{model.version} accepts",
            ) from None
        predictions = dumps(predicted)
        latency = 1000 * (time.perf_counter() - started)
        answer = Answer.of(None, predictions)
        gateway.record("invocations", model, CHAMPION, request.state.request_id, answer, latency)
        return Response(
            b'{"predictions":' + predictions + b"}",
            media_type="application/json",
            headers={"X-Model-Version": model.version, "X-Model-Name": model.name},
        )

    @app.post("/invocations", tags=["mlflow"])
    async def invocations(request: Request) -> Response:
        payload = json_body(await request.body())
        return await invoke(request, payload, request.query_params.get("model"))

    @app.post("/v1/models/{name}/invocations", tags=["mlflow"])
    async def model_invocations(name: str, request: Request) -> Response:
        return await invoke(request, json_body(await request.body()), name)
