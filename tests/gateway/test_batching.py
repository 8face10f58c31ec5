"""Concurrent ``/invocations`` predicted together (micro-batching) and answered only once their
records are on disk (the journal), driven in process over raw ASGI calls."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from heliograph.core import Project
from heliograph.gateway import create_app
from tests.gateway.test_workers import COLUMNS, MODEL

pytestmark = pytest.mark.filterwarnings(
    "ignore::UserWarning:mlflow.*",
    "ignore:.*type hint:UserWarning",
    "ignore::FutureWarning",
    "ignore:X does not have valid feature names:UserWarning",  # the native path reads arrays
)


@pytest.fixture
def app(tiny: Project) -> Iterator[Any]:
    app = create_app(tiny, [], poll_interval=3600)
    app.state.gateway.start()
    try:
        yield app
    finally:
        app.state.gateway.stop()


async def post(app: Any, path: str, payload: Any) -> tuple[int, dict[str, str], Any]:
    """One request through the whole ASGI stack, as uvicorn would send it."""
    body = json.dumps(payload).encode()
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "headers": [(b"content-type", b"application/json")],
        "client": ("127.0.0.1", 1),
        "server": ("127.0.0.1", 80),
    }
    sent: list[dict[str, Any]] = []
    delivered = False

    async def receive() -> dict[str, Any]:
        nonlocal delivered
        if delivered:
            await asyncio.sleep(3600)
        delivered = True
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await app(scope, receive, send)
    start = sent[0]
    headers = {k.decode(): v.decode() for k, v in start["headers"]}
    content = b"".join(m.get("body", b"") for m in sent[1:])
    return start["status"], headers, json.loads(content)


def split(*rows: list[float | None]) -> dict[str, Any]:
    return {"dataframe_split": {"columns": COLUMNS, "data": [list(r) for r in rows]}}


def test_concurrent_requests_are_predicted_together_and_answered_apart(app: Any) -> None:
    path = f"/v1/models/{MODEL}/invocations"
    rows = [[float(n), 1.0, -1.0] for n in range(24)]  # a + 2b + 3c = n - 1

    async def burst() -> list[tuple[int, dict[str, str], Any]]:
        return await asyncio.gather(*(post(app, path, split(r)) for r in rows))

    batcher = app.state.batcher
    answers = asyncio.run(burst())

    assert [status for status, _, _ in answers] == [200] * 24
    for number, (_, headers, body) in enumerate(answers):
        assert body["predictions"] == pytest.approx([number - 1.0])  # its own row's answer
        assert headers["x-model-version"] == "1"
    assert batcher.requests == 24
    assert batcher.batches < 24  # some were predicted together


def test_a_bad_row_in_a_batch_fails_alone(app: Any) -> None:
    path = f"/v1/models/{MODEL}/invocations"
    payloads = [split([1.0, 1.0, 1.0]), split([None, 1.0, 1.0]), split([2.0, 0.0, 0.0])]

    async def burst() -> list[tuple[int, dict[str, str], Any]]:
        return await asyncio.gather(*(post(app, path, p) for p in payloads))

    (ok1, _, first), (bad, _, refused), (ok2, _, last) = asyncio.run(burst())

    assert (ok1, bad, ok2) == (200, 400, 200)
    assert first["predictions"] == pytest.approx([6.0])
    assert last["predictions"] == pytest.approx([2.0])
    assert refused["field"] == "body" and "accepts" in refused["rule"]


def test_an_answer_goes_out_after_its_record_is_in_the_journal(
    tiny: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HELIO_LEDGER__DURABILITY", "journal")
    app = create_app(Project.load(tiny.root), [], poll_interval=3600)
    gateway = app.state.gateway
    gateway.start()
    try:
        assert gateway.writer.durability == "journal"
        payload = split([1, 2, 3])
        status, headers, _ = asyncio.run(post(app, f"/v1/models/{MODEL}/invocations", payload))

        assert status == 200
        folder = Path(gateway.spool.folder)
        journal = b"".join(p.read_bytes() for p in folder.glob("journal-*.jsonl"))
        assert f'"request_id": "{headers["x-request-id"]}"'.encode() in journal
    finally:
        gateway.stop()
