"""A local HTTP server standing in for a Slack-compatible webhook."""

from __future__ import annotations

import json
import signal
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest


class Hook:
    """What the server received, and the statuses it answers with (then 200)."""

    def __init__(self) -> None:
        self.received: list[dict[str, Any]] = []
        self.statuses: list[int] = []
        self.url = ""
        self.interrupt = False
        """The next post is a Ctrl-C: SIGINT to the main thread (the poster, waiting for the
        answer), and the post neither read nor answered."""
        self.released = threading.Event()


@pytest.fixture
def webhook() -> Iterator[Hook]:
    hook = Hook()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            if hook.interrupt:
                hook.interrupt = False
                signal.pthread_kill(main, signal.SIGINT)
                hook.released.wait(10)
                self.close_connection = True
                return
            body = self.rfile.read(int(self.headers["Content-Length"]))
            hook.received.append(json.loads(body))
            status = hook.statuses.pop(0) if hook.statuses else 200
            self.send_response(status)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args: Any) -> None:
            pass

    main = threading.main_thread().ident or 0
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    hook.url = f"http://127.0.0.1:{server.server_address[1]}/hook"
    yield hook
    hook.released.set()
    server.shutdown()
    server.server_close()
