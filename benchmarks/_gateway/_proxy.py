"""A TCP proxy that can cut the ledger's PostgreSQL connection off (and let it back)."""

from __future__ import annotations

import contextlib
import selectors
import socket
import threading

from ._common import HOST


class TcpProxy:
    """127.0.0.1:<port> → ``target``, one thread with a selector. ``down()`` closes every
    connection and the listening socket (new connections are refused); ``up()`` listens again
    on the same port."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.port = 0
        self._want_up = True
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

    def _run(self) -> None:
        while not self._stop.is_set():
            if self._want_up != (self._listener is not None):
                self._reconcile()
            for key, _ in self._selector.select(timeout=0.05):
                sock = key.fileobj
                assert isinstance(sock, socket.socket)
                if sock is self._listener:
                    client, _ = sock.accept()
                    try:
                        upstream = socket.create_connection(self.target, timeout=5)
                    except OSError:
                        client.close()
                        continue
                    self._peers[client], self._peers[upstream] = upstream, client
                    for s in (client, upstream):
                        self._selector.register(s, selectors.EVENT_READ)
                    continue
                if sock not in self._peers:
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

    def _set(self, up: bool) -> None:
        self._changed.clear()
        self._want_up = up
        self._changed.wait(5)

    def down(self) -> None:
        self._set(False)

    def up(self) -> None:
        self._set(True)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(5)
