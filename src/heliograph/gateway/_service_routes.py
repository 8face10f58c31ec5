"""A service's route, ``POST /v1/services/<name>/predict``: features, the champion's answer
(from the gateway's memory when the same question was answered from the same feature state),
the challenger's shadow, the ledger record.

Example::

    add_service_route(app, gateway, PriceForecast())
"""

# No `from __future__ import annotations` here: FastAPI reads the endpoint annotations.

import time
from collections.abc import Hashable
from typing import Any

import pandas as pd
from fastapi import FastAPI, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from heliograph.registry import CHALLENGER, CHAMPION
from heliograph.serving import LoadedModel, Service, ServiceFeatures

from ._answer import Answer, dumps
from ._gateway import Gateway

__all__: list[str] = []  # the gateway's own parts: create_app assembles them


def answer_key(
    service: Service, body: Any, model: LoadedModel, state: Any, targets: tuple[Any, Any]
) -> Any:
    """What an answer depends on (see ``AnswerMemory``); ``None`` for features from the lake
    (no ``state``). ``targets``: the first and last target, in microseconds."""
    if state is None:
        return None
    question = dumps(body.model_dump(mode="json", exclude={"as_of"}))
    key: Hashable = (service.name, model.version, state, targets, question)
    return key


def _microseconds(targets: tuple[Any, Any]) -> tuple[Any, Any]:
    return tuple(None if t is None else pd.Timestamp(t).value // 1000 for t in targets)  # type: ignore[return-value]


def add_service_route(app: FastAPI, gateway: Gateway, service: Service) -> None:
    """Add ``service``'s predict route to ``app``."""
    context = gateway.context

    def answer_for(body: Any, model: LoadedModel) -> tuple[Answer, ServiceFeatures, bool]:
        """``model``'s answer to ``body`` (features from the store, then the memory)."""
        features = service.features(context, body)

        def compute() -> Answer:
            done = service.answer(context, body, model, features)
            return Answer.of(
                done.inputs,
                done.outputs.to_dict("list"),
                as_of=features.as_of,
                rows=features.rows,
                body=done.response.model_dump_json().encode(),
            )

        key = answer_key(service, body, model, features.state, _microseconds(features.targets))
        found, remembered = gateway.answers.once(key, compute)
        if remembered:  # its inputs are in the first answer's record (same hash)
            restamped = service.restamp(context, body, found.body, found.as_of or features.as_of)
            found = found.repeated(*restamped)
        return found, features, remembered

    def remembered_at_once(body: Any, model: LoadedModel) -> Answer | None:
        """A remembered answer found from what the store already holds in memory (its state
        for the request, no rows, no lake), on the event loop; ``None``: look properly."""
        online = service.online
        if online is None:
            return None
        as_of = service.as_of(context, body)
        looked = context.store.state_of(
            online, service.entity(body), as_of, horizon=service.horizon(body)
        )
        if looked is None:
            return None
        found = gateway.answers.get(answer_key(service, body, model, *looked))
        if found is None:
            return None
        return found.repeated(*service.restamp(context, body, found.body, found.as_of or as_of))

    def shadow(body: Any, challenger: LoadedModel, request_id: str, features: Any) -> None:
        """The challenger's prediction for the same request (on the same features when the
        champion computed them), recorded with role challenger."""
        started = time.perf_counter()
        done = service.answer(context, body, challenger, features)
        used = done.features
        answer = Answer.of(
            done.inputs, done.outputs.to_dict("list"), as_of=used.as_of, rows=used.rows
        )
        latency = 1000 * (time.perf_counter() - started)
        gateway.record(service.name, challenger, CHALLENGER, request_id, answer, latency)

    async def predict(body: Any, request: Request) -> Response:
        started = time.perf_counter()
        request_id = request.state.request_id
        name = service.model_for(body)
        model = gateway.store.get(name, CHAMPION)  # this request's version, whatever swaps
        if model is None:  # an unknown entity is named as such, before the missing model
            await run_in_threadpool(service.check, context, body)
            model = gateway.champion(name)
        features: ServiceFeatures | None = None
        at_once = remembered_at_once(body, model)
        if at_once is not None:
            answer, remembered = at_once, True
        else:  # features may read the lake: off the event loop
            answer, features, remembered = await run_in_threadpool(answer_for, body, model)
        latency = 1000 * (time.perf_counter() - started)
        gateway.record(service.name, model, CHAMPION, request_id, answer, latency)
        challenger = gateway.store.get(name, CHALLENGER) if gateway.shadow else None
        if challenger is not None and challenger.version != model.version:
            gateway.shadow_call(lambda: shadow(body, challenger, request_id, features))
        return Response(
            answer.body,
            media_type="application/json",
            headers={
                "X-Model-Version": model.version,
                "X-Model-Name": model.name,
                "X-Answer": "remembered" if remembered else "computed",
            },
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
            404: {"description": "no model serves this request, or an unknown entity"},
            503: {"description": "the inputs are too old to answer"},
        },
    )
