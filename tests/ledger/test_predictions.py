"""The prediction ledger: background batches, the spool, replay, and a real database outage."""

from __future__ import annotations

import contextlib
import itertools
import json
import logging
import selectors
import socket
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from heliograph.ledger import (
    LedgerError,
    PredictionRecord,
    PredictionWriter,
    count_predictions,
    read_predictions,
)

DOWN_URL = "postgresql+psycopg://postgres@127.0.0.1:1/x"  # nothing listens on port 1


def record(i: int, **changes: object) -> PredictionRecord:
    t = datetime(2025, 6, 1, 12, tzinfo=UTC) + timedelta(minutes=i)
    fields: dict[str, object] = {
        "service": "price",
        "model_name": "gb_price",
        "model_version": str(1 + i % 3),
        "role": "challenger" if i % 4 == 0 else "champion",
        "request_id": f"req-{i}",
        "inputs_hash": f"{i:064x}",
        "outputs": {"price": 50 + i / 10, "unit": "EUR/MWh"},
        "latency_ms": 1.5 + i % 7,
        "inputs": {"market": "GB", "hour": i % 24},
        "as_of": t,
        "target_start": t + timedelta(hours=1),
        "target_end": t + timedelta(hours=2),
    }
    fields.update(changes)
    return PredictionRecord(**fields)  # type: ignore[arg-type]


def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'state' / 'ledger.db'}"


def spooled_lines(spool: Path) -> int:
    return sum(len(p.read_bytes().splitlines()) for p in spool.glob("segment-*.jsonl"))


def test_many_threads_on_sqlite_and_every_field_round_trips(tmp_path: Path) -> None:
    url = sqlite_url(tmp_path)
    records = [record(i) for i in range(5000)]
    with PredictionWriter(url, tmp_path / "spool", batch_size=200) as writer:
        threads = [
            threading.Thread(target=lambda part=records[k::4]: [writer.submit(r) for r in part])
            for k in range(4)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert writer.flush(10)
    stats = writer.stats()
    assert (stats["submitted"], stats["written"], stats["spooled"]) == (5000, 5000, 0), stats
    assert stats["db_up"] and stats["errors"] == 0 and stats["queue_depth"] == 0, stats
    assert count_predictions(url) == 5000
    read = {r.record_id: r for r in read_predictions(url, limit=10_000)}
    assert read == {r.record_id: r for r in records}  # every field, JSON and times included
    sample = read[records[7].record_id]
    assert sample.at.tzinfo is not None and sample.as_of is not None
    assert sample.as_of.tzinfo is not None and sample.outputs == {"price": 50.7, "unit": "EUR/MWh"}
    newest = read_predictions(url, limit=3)
    assert [r.at for r in newest] == sorted((r.at for r in records), reverse=True)[:3]
    assert count_predictions(url, role="challenger") == 1250
    assert count_predictions(url, service="price", model_name="gb_price") == 5000
    assert {r.role for r in read_predictions(url, role="challenger", limit=50)} == {"challenger"}
    assert read_predictions(url, service="volume") == []
    engine = sa.create_engine(url)
    with engine.connect() as con:
        ids = con.execute(
            sa.text("SELECT count(DISTINCT id), count(DISTINCT record_id) FROM predictions")
        ).one()
        assert con.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
    engine.dispose()
    assert tuple(ids) == (5000, 5000)


def test_spooled_while_unreachable_then_replayed_by_the_next_writer(tmp_path: Path) -> None:
    spool = tmp_path / "spool"
    records = [record(i) for i in range(300)]
    with PredictionWriter(DOWN_URL, spool, batch_size=64, retry_interval=0.2) as down:
        for r in records:
            down.submit(r)
        assert down.flush(10)
    stats = down.stats()
    assert not stats["db_up"] and stats["written"] == 0 and stats["spooled"] == 300, stats
    assert stats["outages"] == 1 and "127.0.0.1" in stats["last_error"], stats
    assert spooled_lines(spool) == 300

    url = sqlite_url(tmp_path)
    with PredictionWriter(url, spool) as writer:  # starting replays what was left
        pass
    assert writer.stats()["replayed"] == 300 and writer.stats()["spooled"] == 0
    assert count_predictions(url) == 300
    assert {r.record_id for r in read_predictions(url)} == {r.record_id for r in records}
    assert list(spool.glob("segment-*.jsonl")) == []


class TcpProxy:
    """Forwards 127.0.0.1:<port> to a server; ``cut()`` drops every connection and refuses more."""

    def __init__(self, host: str, port: int) -> None:
        self._target = (host, port)
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.setblocking(False)
        self.port = self._listener.getsockname()[1]
        self._selector = selectors.DefaultSelector()
        self._selector.register(self._listener, selectors.EVENT_READ)
        self._peer: dict[socket.socket, socket.socket] = {}
        self._outbox: dict[socket.socket, bytearray] = {}
        self._refusing = False
        self._drop, self._dropped, self._stop = (
            threading.Event(),
            threading.Event(),
            threading.Event(),
        )
        self.accepted = self.refused = 0
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def cut(self) -> None:
        self._refusing = True
        self._dropped.clear()
        self._drop.set()
        assert self._dropped.wait(5)

    def restore(self) -> None:
        self._refusing = False

    def __enter__(self) -> TcpProxy:
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join(5)

    def _run(self) -> None:
        try:
            while not self._stop.is_set():
                if self._drop.is_set():
                    for sock in list(self._peer):
                        self._close(sock)
                    self._drop.clear()
                    self._dropped.set()
                for key, mask in self._selector.select(timeout=0.02):
                    sock = key.fileobj
                    if sock is self._listener:
                        self._accept()
                        continue
                    assert isinstance(sock, socket.socket)
                    if mask & selectors.EVENT_READ and sock in self._peer:
                        self._read(sock)
                    if mask & selectors.EVENT_WRITE and sock in self._peer:
                        self._write(sock)
        finally:
            for sock in list(self._peer):
                self._close(sock)
            self._selector.close()
            self._listener.close()

    def _accept(self) -> None:
        try:
            client, _ = self._listener.accept()
        except BlockingIOError:
            return
        if self._refusing:  # the database is "down": hang up at once
            client.close()
            self.refused += 1
            return
        try:
            upstream = socket.create_connection(self._target, timeout=2)
        except OSError:
            client.close()
            return
        for sock, peer in ((client, upstream), (upstream, client)):
            sock.setblocking(False)
            self._peer[sock], self._outbox[sock] = peer, bytearray()
            self._selector.register(sock, selectors.EVENT_READ)
        self.accepted += 1

    def _read(self, sock: socket.socket) -> None:
        try:
            data = sock.recv(65536)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if not data:
            self._close(sock)
            return
        peer = self._peer[sock]
        self._outbox[peer] += data
        self._write(peer)

    def _write(self, sock: socket.socket) -> None:
        box = self._outbox[sock]
        if box:
            try:
                del box[: sock.send(box)]
            except BlockingIOError:
                pass
            except OSError:
                self._close(sock)
                return
        events = selectors.EVENT_READ | (selectors.EVENT_WRITE if box else 0)
        self._selector.modify(sock, events)

    def _close(self, sock: socket.socket) -> None:
        for each in (sock, self._peer.get(sock)):
            if each is None:
                continue
            self._peer.pop(each, None)
            self._outbox.pop(each, None)
            with contextlib.suppress(KeyError, ValueError):
                self._selector.unregister(each)
            each.close()


@pytest.mark.postgres
def test_a_real_outage_on_postgresql_loses_nothing(postgres_url: str, tmp_path: Path) -> None:
    direct = sa.make_url(postgres_url)
    with TcpProxy(direct.host or "127.0.0.1", direct.port or 5432) as proxy:
        via_proxy = direct.set(host="127.0.0.1", port=proxy.port)
        writer = PredictionWriter(
            via_proxy.render_as_string(hide_password=False),
            tmp_path / "spool",
            batch_size=250,
            flush_interval=0.05,
            retry_interval=0.3,
        ).start()
        samples: list[dict[str, object]] = []
        sampling = threading.Event()
        submitted: list[str] = []

        def sample() -> None:
            while not sampling.is_set():
                samples.append(writer.stats())
                time.sleep(0.01)

        def load() -> None:  # 20,000 records over about 6 s
            for chunk in range(200):
                for j in range(100):
                    r = record(chunk * 100 + j)
                    writer.submit(r)
                    submitted.append(r.record_id)
                time.sleep(0.03)

        threads = [threading.Thread(target=sample), threading.Thread(target=load)]
        for thread in threads:
            thread.start()
        time.sleep(1.5)
        proxy.cut()  # "stop the database": every connection dropped, new ones refused
        time.sleep(3.0)
        proxy.restore()
        threads[1].join()
        writer.close(timeout=30)
        sampling.set()
        threads[0].join()
    final = writer.stats()

    engine = sa.create_engine(postgres_url)
    with engine.connect() as con:
        stored = con.execute(sa.text("SELECT record_id FROM predictions")).scalars().all()
    engine.dispose()
    figures = (
        f"submitted={len(submitted)} stored={len(stored)} distinct={len(set(stored))} "
        f"max_spooled={max(s['spooled'] for s in samples)} refused={proxy.refused} "
        f"final={final}"
    )
    assert len(submitted) == 20_000, figures
    assert len(stored) == len(set(stored)) == 20_000, figures  # zero lost, zero duplicated
    assert set(stored) == set(submitted), figures
    assert max(s["spooled"] for s in samples) > 0, figures  # type: ignore[type-var]
    ups = "".join("U" if up else "D" for up, _ in itertools.groupby(s["db_up"] for s in samples))
    assert "UDU" in ups, f"db_up went {ups}; {figures}"
    assert final["outages"] >= 1 and final["replayed"] > 0 and final["spooled"] == 0, figures
    assert proxy.refused > 0, figures
    assert list((tmp_path / "spool").glob("segment-*.jsonl")) == []


def test_replaying_records_already_written_makes_no_duplicates(tmp_path: Path) -> None:
    url, spool = sqlite_url(tmp_path), tmp_path / "spool"
    records = [record(i) for i in range(120)]
    with PredictionWriter(url, spool) as writer:
        for r in records[:100]:
            writer.submit(r)
    assert count_predictions(url) == 100
    # A crash after the commit, before the segment was deleted: the segment is still there.
    segment = spool / f"segment-{time.time_ns()}.jsonl"
    segment.write_text("".join(json.dumps(r.to_row()) + "\n" for r in records))
    with PredictionWriter(url, spool) as writer:
        pass
    assert count_predictions(url) == 120
    assert not segment.exists() and writer.stats()["spooled"] == 0


def test_a_torn_last_line_is_skipped_and_the_rest_written(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    url, spool = sqlite_url(tmp_path), tmp_path / "spool"
    spool.mkdir()
    whole = [json.dumps(record(i).to_row()) for i in range(10)]
    torn = json.dumps(record(10).to_row())[:57]  # the process died mid-write
    (spool / f"segment-{time.time_ns()}.jsonl").write_text("\n".join([*whole, torn]))
    with caplog.at_level(logging.WARNING, logger="heliograph.ledger"):
        with PredictionWriter(url, spool) as writer:
            pass
    assert count_predictions(url) == 10
    assert list(spool.glob("segment-*.jsonl")) == []
    assert "line 11" in caplog.text and writer.stats()["rejected"] == 1
    assert len((spool / "rejected.jsonl").read_text().splitlines()) == 1


def test_submit_never_raises_full_queue_closed_writer_or_garbage(tmp_path: Path) -> None:
    spool = tmp_path / "spool"
    writer = PredictionWriter(
        DOWN_URL, spool, max_queue=10, batch_size=1000, flush_interval=60, retry_interval=60
    ).start()
    for i in range(200):  # the queue holds 10; the rest go straight to the spool
        writer.submit(record(i))
    stats = writer.stats()
    assert (stats["queue_depth"], stats["spooled"]) == (10, 190), stats
    writer.submit("not a record")  # type: ignore[arg-type]
    writer.close()
    writer.submit(record(200))  # after close: to the spool
    writer.close()  # idempotent
    final = writer.stats()
    assert final["submitted"] == 202 and final["queue_depth"] == 0, final
    assert final["spooled"] == 201 == spooled_lines(spool) and final["rejected"] == 1, final


def test_a_row_the_database_refuses_is_set_aside_not_blocking(tmp_path: Path) -> None:
    url, spool = sqlite_url(tmp_path), tmp_path / "spool"
    with PredictionWriter(url, spool) as writer:
        for i in range(20):
            writer.submit(record(i, service="bad\ud800" if i == 7 else "price"))
    stats = writer.stats()
    assert count_predictions(url) == 19 and stats["rejected"] == 1 and stats["db_up"], stats
    assert "bad" in (spool / "rejected.jsonl").read_text()


def test_bad_settings_are_sentences() -> None:
    with pytest.raises(LedgerError) as info:
        PredictionWriter("not a url", Path("unused"))
    assert info.value.field == "ledger.url"
    with pytest.raises(LedgerError) as info:
        record(1, role="champoin")
    assert info.value.field == "role"


def test_json_text_is_stored_as_it_is_not_encoded_again(tmp_path: Path) -> None:
    from heliograph.ledger import JsonText

    url = sqlite_url(tmp_path)
    given = record(1, outputs=JsonText('{"p50":[41.2,40.8]}'), inputs=JsonText("[1,2]"))
    assert given.to_row()["outputs"] == {"p50": [41.2, 40.8]}
    with PredictionWriter(url, tmp_path / "spool") as writer:
        writer.submit(given)
    [back] = read_predictions(url)
    assert back.outputs == {"p50": [41.2, 40.8]} and back.inputs == [1, 2]


def test_every_reader_on_a_down_database_names_the_ledger_url_and_what_it_was_doing() -> None:
    from heliograph.ledger import Actual, read_actuals, read_monitor_results, record_actuals

    t = datetime(2025, 6, 1, tzinfo=UTC)
    calls = {
        "read predictions": lambda: read_predictions(DOWN_URL),
        "read actuals": lambda: read_actuals(DOWN_URL, "price", since=t, until=t),
        "record actuals": lambda: record_actuals(DOWN_URL, [Actual("price", "m", t, 1.0)]),
        "read monitor results": lambda: read_monitor_results(DOWN_URL),
    }
    for doing, call in calls.items():
        with pytest.raises(LedgerError) as caught:
            call()
        assert caught.value.field == "ledger.url"
        assert f"cannot {doing}" in str(caught.value) and "127.0.0.1:1" in str(caught.value)


def test_readers_share_one_engine_and_see_rows_written_meanwhile(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'ledger.db'}"
    assert count_predictions(url) == 0  # the tables are created on first use
    with PredictionWriter(url, tmp_path / "spool") as writer:
        writer.submit(record(1))
        assert writer.flush(10)
    assert count_predictions(url) == 1  # a cached engine still reads what was written since
    assert [r.request_id for r in read_predictions(url)] == ["req-1"]
