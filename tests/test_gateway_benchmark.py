"""The gateway benchmark's own checks can fail: the hot-swap judge flags a version that
lingers past its slack, and the ledger proxy's black hole stops answering without closing."""

from __future__ import annotations

import socket
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
from _gateway._common import SWAP_POLL, SWAP_SLACK
from _gateway._load import Result
from _gateway._proxy import TcpProxy
from _gateway._swap import MOVE_EVERY, Move, judge_swaps


def test_the_slack_is_shorter_than_the_interval_between_moves() -> None:
    assert SWAP_SLACK < MOVE_EVERY


def test_a_version_answering_after_its_slack_is_a_mismatch() -> None:
    moves = [Move(10.0, 10.1, "2"), Move(12.0, 12.1, "3")]
    late = 10.1 + SWAP_POLL + SWAP_SLACK + 0.2  # version 1 lost the alias at 10.1
    results = [
        Result(9.0, 9.01, 200, "1"),
        Result(10.5, 10.51, 200, "1"),  # within poll + slack of the move: stale, allowed
        Result(10.6, 10.61, 200, "2"),
        Result(late, late + 0.01, 200, "1"),  # lingering: must be caught
        Result(12.5, 12.51, 200, "3"),
        Result(12.6, 12.61, 200, "5"),  # never held the alias
    ]

    judged = judge_swaps(results, moves, "1", SWAP_POLL)

    assert judged["mismatched"] == 2
    assert {e["version"] for e in judged["mismatched_examples"]} == {"1", "5"}
    assert judged["missed"] == 0 and judged["stale"] >= 1


@pytest.fixture
def echo() -> Iterator[tuple[str, int]]:
    """A TCP server that echoes what it reads."""
    server = socket.create_server(("127.0.0.1", 0))

    def serve() -> None:
        while True:
            try:
                conn, _ = server.accept()
            except OSError:
                return
            threading.Thread(target=lambda c=conn: _echo(c), daemon=True).start()

    threading.Thread(target=serve, daemon=True).start()
    yield server.getsockname()[:2]
    server.close()


def _echo(conn: socket.socket) -> None:
    with conn:
        while data := conn.recv(1024):
            conn.sendall(data)


def test_the_black_hole_holds_connections_open_then_lets_them_through(
    echo: tuple[str, int],
) -> None:
    proxy = TcpProxy(echo)
    try:
        client = socket.create_connection(("127.0.0.1", proxy.port), timeout=5)
        client.sendall(b"a")
        assert client.recv(10) == b"a"

        proxy.blackhole()
        client.sendall(b"b")
        client.settimeout(0.5)
        with pytest.raises(TimeoutError):  # no answer, and not closed (recv would give b"")
            client.recv(10)
        late = socket.create_connection(("127.0.0.1", proxy.port), timeout=5)  # accepted
        late.sendall(b"c")
        late.settimeout(0.5)
        with pytest.raises(TimeoutError):
            late.recv(10)

        proxy.up()
        client.settimeout(5)
        late.settimeout(5)
        assert client.recv(10) == b"b"  # held, then forwarded
        assert late.recv(10) == b"c"

        proxy.down()  # the refusal: connections closed, new ones refused
        assert client.recv(10) == b""
        with pytest.raises(OSError):
            socket.create_connection(("127.0.0.1", proxy.port), timeout=2).recv(1)
        client.close()
        late.close()
    finally:
        proxy.close()
