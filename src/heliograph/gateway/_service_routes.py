"""A service's route, ``POST /v1/services/<name>/predict``: features, the champion's answer
(from memory for a repeated question), the challenger's shadow, the ledger record.

Example::

    add_service_route(app, gateway, PriceForecast())
"""

# No `from __future__ import annotations` here: FastAPI reads the endpoint annotations.

import time
from datetime import datetime
from typing import Any

import pandas as pd
from fastapi import FastAPI, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from heliograph.registry import CHALLENGER, CHAMPION
from heliograph.serving import LoadedModel

from ._answer import Answer
from ._gateway import Gateway
from ._service import Service

__all__: list[str] = []  # the gateway's own parts: create_app assembles them


def add_service_route(app: FastAPI, gateway: Gateway, service: Service) -> None:
    """Add ``service``'s predict route to ``app``."""
    context = gateway.context

    def compute(body: Any, model: LoadedModel, key: Any) -> tuple[Answer, pd.DataFrame]:
        """The answer of ``model`` (features, prediction, response); remembered under ``key``
        if the service still gives that key afterwards (the data did not change meanwhile)."""
        rows, as_of = service.features(context, body)
        inputs = model.inputs(rows)
        outputs = model.predict_cached(inputs)
        response = service.respond(body, rows, outputs, model.version)
        answer = Answer.of(
            inputs,
            outputs.to_dict("list"),
            as_of=as_of,
            rows=rows,
            body=response.model_dump_json().encode(),
        )
        if key is not None and service.answer_key(context, body) == key:
            model.remember((service.name, key), answer)
        return answer, rows

    def shadow(body: Any, challenger: LoadedModel, request_id: str, rows: Any) -> None:
        """The challenger's prediction for the same request, recorded with role challenger."""
        started = time.perf_counter()
        as_of: datetime | None
        if rows is None:  # the champion's answer came from memory
            rows, as_of = service.features(context, body)
        else:
            as_of = rows["as_of"].iloc[0] if "as_of" in rows and len(rows) else None
        inputs = challenger.inputs(rows)
        outputs = challenger.predict_cached(inputs)
        answer = Answer.of(inputs, outputs.to_dict("list"), as_of=as_of, rows=rows)
        latency = 1000 * (time.perf_counter() - started)
        gateway.record(service.name, challenger, CHALLENGER, request_id, answer, latency)

    async def predict(body: Any, request: Request) -> Response:
        started = time.perf_counter()
        request_id = request.state.request_id
        name = service.model_for(body)
        model = gateway.champion(name)  # this request's version, whatever swaps
        key = service.answer_key(context, body)
        remembered = model.remembered((service.name, key)) if key is not None else None
        rows = None
        if remembered is None:  # features may read the lake: off the event loop
            answer, rows = await run_in_threadpool(compute, body, model, key)
        else:  # a repeat: its inputs are in the first answer's record (same hash)
            restamped = service.restamp(context, body, remembered.body, remembered.as_of)
            answer = remembered.repeated(*restamped)
        latency = 1000 * (time.perf_counter() - started)
        gateway.record(service.name, model, CHAMPION, request_id, answer, latency)
        challenger = gateway.store.get(name, CHALLENGER) if gateway.shadow else None
        if challenger is not None and challenger.version != model.version:
            gateway.shadow_call(lambda: shadow(body, challenger, request_id, rows))
        return Response(
            answer.body,
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
