"""A TCP proxy that can cut the ledger's PostgreSQL connection off (and let it back)."""

from __future__ import annotations

import contextlib
import selectors
import socket
import threading

from ._common import HOST


class TcpProxy:
    """127.0.0.1:<port> → ``target``, one thread with a selector. ``down()`` closes every
    connection and the listening socket (new connections are refused); ``blackhole()`` keeps
    every connection open and stops forwarding (new connections are accepted and never
    answered): the database stops answering without closing anything, as behind a network
    partition; ``up()`` listens again on the same port, or forwards again what was held."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.port = 0
        self._want_up = True
        self._holding = self._want_hold = False  # black hole: nothing is forwarded
        self._held: list[socket.socket] = []  # clients accepted during the black hole
        self._selector = selectors.DefaultSelector()
        self._listener: socket.socket | None = None
        self._peers: dict[socket.socket, socket.socket] = {}
        self._stop = threading.Event()
        self._changed = threading.Event()
        self._listen()
        self._thread = threading.Thread(target=self._run, name="pg-proxy", daemon=True)
        self._thread.start()

    def _listen(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind((HOST, self.port))
        listener.listen(64)
        self.port = listener.getsockname()[1]
        self._listener = listener
        self._selector.register(listener, selectors.EVENT_READ)

    def _close(self, sock: socket.socket) -> None:
        peer = self._peers.pop(sock, None)
        for s in (sock, peer):
            if s is None:
                continue
            self._peers.pop(s, None)
            with contextlib.suppress(KeyError, ValueError):
                self._selector.unregister(s)
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)
            s.close()

    def _reconcile(self) -> None:
        if not self._want_up and self._listener is not None:
            self._selector.unregister(self._listener)
            self._listener.close()
            self._listener = None
            for sock in list(self._peers):
                self._close(sock)
        elif self._want_up and self._listener is None:
            self._listen()
        self._changed.set()

    def _connect(self, client: socket.socket) -> None:
        try:
            upstream = socket.create_connection(self.target, timeout=5)
        except OSError:
            client.close()
            return
        self._peers[client], self._peers[upstream] = upstream, client
        for s in (client, upstream):
            self._selector.register(s, selectors.EVENT_READ)

    def _hold(self, holding: bool) -> None:
        """Stop (or resume) reading every forwarded connection; the kernel keeps the bytes."""
        for sock in self._peers:
            with contextlib.suppress(KeyError, ValueError, OSError):
                if holding:
                    self._selector.unregister(sock)
                else:
                    self._selector.register(sock, selectors.EVENT_READ)
        if not holding:
            held, self._held = self._held, []
            for client in held:
                self._connect(client)
        self._holding = holding
        self._changed.set()

    def _run(self) -> None:
        while not self._stop.is_set():
            if self._want_up != (self._listener is not None):
                self._reconcile()
            if self._want_hold != self._holding:
                self._hold(self._want_hold)
            for key, _ in self._selector.select(timeout=0.05):
                sock = key.fileobj
                assert isinstance(sock, socket.socket)
                if sock is self._listener:
                    client, _ = sock.accept()
                    if self._holding:
                        self._held.append(client)  # accepted, never answered (for now)
                    else:
                        self._connect(client)
                    continue
                if sock not in self._peers or self._holding:
                    continue
                try:
                    data = sock.recv(65536)
                    if data:
                        self._peers[sock].sendall(data)
                        continue
                except OSError:
                    pass
                self._close(sock)
        self._want_up = False
        self._reconcile()
        for client in self._held:
            client.close()

    def _set(self, up: bool, hold: bool = False) -> None:
        self._changed.clear()
        self._want_up, self._want_hold = up, hold
        self._changed.wait(5)

    def down(self) -> None:
        self._set(False)

    def blackhole(self) -> None:
        self._set(True, hold=True)

    def up(self) -> None:
        self._set(True)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(5)
