"""Where the online store keeps its bytes: a key-value backend, SQLite by default, Redis shared.

The store needs four things of a backend: read one key, read several, write a batch of keys
and deletions atomically (readers see all of a materialisation or none of it), and list the
keys under a prefix. SQLite (WAL, one file under the project's state folder) needs no
server; Redis is shared by every gateway replica.

Example::

    backend = SQLiteBackend(project.state_dir / "online.db")
    backend.write({"k": b"v"})
    backend.get("k")
    # b'v'
"""

from __future__ import annotations

import sqlite3
import threading
from abc import ABC, abstractmethod
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from heliograph.core import ConfigError

__all__ = ["OnlineBackend", "RedisBackend", "SQLiteBackend", "open_backend"]


class OnlineBackend(ABC):
    """Bytes by key; ``write`` is atomic."""

    @abstractmethod
    def get(self, key: str) -> bytes | None: ...

    @abstractmethod
    def get_many(self, keys: Sequence[str]) -> list[bytes | None]: ...

    @abstractmethod
    def write(self, puts: Mapping[str, bytes], deletes: Iterable[str] = ()) -> None: ...

    @abstractmethod
    def keys(self, prefix: str) -> list[str]: ...

    def close(self) -> None:  # noqa: B027 - optional
        """Release connections."""


class SQLiteBackend(OnlineBackend):
    """One table ``kv(key, value)`` in a SQLite file (WAL: readers never wait for a writer)."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self._local = threading.local()

    def _con(self) -> sqlite3.Connection:
        con = getattr(self._local, "con", None)
        if con is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            con = sqlite3.connect(self.path, timeout=30, isolation_level=None)
            con.execute("PRAGMA journal_mode=WAL")
            con.execute("PRAGMA synchronous=NORMAL")
            con.execute("CREATE TABLE IF NOT EXISTS kv (key TEXT PRIMARY KEY, value BLOB)")
            self._local.con = con
        return con

    def get(self, key: str) -> bytes | None:
        row = self._con().execute("SELECT value FROM kv WHERE key = ?", (key,)).fetchone()
        return None if row is None else bytes(row[0])

    def get_many(self, keys: Sequence[str]) -> list[bytes | None]:
        return [self.get(key) for key in keys]

    def write(self, puts: Mapping[str, bytes], deletes: Iterable[str] = ()) -> None:
        con = self._con()
        con.execute("BEGIN IMMEDIATE")
        try:
            con.executemany("DELETE FROM kv WHERE key = ?", [(k,) for k in deletes])
            con.executemany(
                "INSERT OR REPLACE INTO kv (key, value) VALUES (?, ?)", list(puts.items())
            )
        except BaseException:
            con.execute("ROLLBACK")
            raise
        con.execute("COMMIT")

    def keys(self, prefix: str) -> list[str]:
        rows = self._con().execute(
            "SELECT key FROM kv WHERE substr(key, 1, ?) = ? ORDER BY key", (len(prefix), prefix)
        )
        return [row[0] for row in rows]

    def close(self) -> None:
        con = getattr(self._local, "con", None)
        if con is not None:
            con.close()
            self._local.con = None


class RedisBackend(OnlineBackend):
    """Keys in a Redis server (``redis://HOST:6379/0``); a write is one MULTI/EXEC."""

    def __init__(self, url: str, *, client: Any = None) -> None:
        import redis

        self.url = url
        self.client = client or redis.Redis.from_url(url, socket_timeout=5)

    def get(self, key: str) -> bytes | None:
        return _as_bytes(self.client.get(key))

    def get_many(self, keys: Sequence[str]) -> list[bytes | None]:
        return [_as_bytes(v) for v in self.client.mget(list(keys))] if keys else []

    def write(self, puts: Mapping[str, bytes], deletes: Iterable[str] = ()) -> None:
        pipe = self.client.pipeline(transaction=True)
        gone = [k for k in deletes if k not in puts]
        if gone:
            pipe.delete(*gone)
        if puts:
            pipe.mset(dict(puts))
        pipe.execute()

    def keys(self, prefix: str) -> list[str]:
        pattern = "".join("\\" + c if c in "*?[]\\" else c for c in prefix) + "*"
        return sorted(k.decode() for k in self.client.scan_iter(match=pattern, count=1000))

    def close(self) -> None:
        self.client.close()


def open_backend(backend: str, url: str, state_dir: Path) -> OnlineBackend:
    """The configured backend: ``sqlite`` (``url`` a path, default ``<state_dir>/online.db``)
    or ``redis`` (``url`` required)."""
    if backend == "sqlite":
        return SQLiteBackend(Path(url) if url else state_dir / "online.db")
    if backend == "redis":
        if not url:
            raise ConfigError(
                "online_store.url is empty but backend is redis",
                field="online_store.url",
                rule="a Redis URL such as redis://127.0.0.1:6379/0",
            )
        return RedisBackend(url)
    raise ConfigError(
        f"unknown online store backend {backend!r}",
        field="online_store.backend",
        rule="sqlite or redis",
    )


def _as_bytes(value: object) -> bytes | None:
    """A Redis reply as bytes (the client is made without ``decode_responses``)."""
    if value is None or isinstance(value, bytes):
        return value
    raise TypeError(
        f"a Redis reply of type {type(value).__name__}: the online store's client must not "
        "decode responses (decode_responses=False)"
    )
