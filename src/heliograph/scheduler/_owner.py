"""Who holds a run: ``host:pid:nonce``, and whether that process is known to be dead.

A run claimed by a process that died (SIGKILL, a power cut) is taken over when its lease runs
out; on the same host the scheduler need not wait: a process that no longer exists holds
nothing. A process on another host is judged by its lease alone.

Example::

    me = new_owner()           # 'build-7:4121:9f3a0c'
    owner_is_dead(me)          # False
"""

from __future__ import annotations

import os
import socket
import uuid
from pathlib import Path

__all__ = ["new_owner", "owner_is_dead"]


def new_owner() -> str:
    """A name for this scheduler, unique across processes and hosts."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


def owner_is_dead(owner: str | None) -> bool:
    """True only when ``owner`` ran on this host and its process is gone (or a zombie)."""
    if not owner:
        return False
    try:
        host, pid_text, _nonce = owner.rsplit(":", 2)
        pid = int(pid_text)
    except ValueError:
        return False
    if host != socket.gethostname() or pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # alive, someone else's
        return False
    stat = Path(f"/proc/{pid}/stat")
    try:  # a killed child not yet reaped by its parent is a zombie: it holds nothing
        return stat.read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except (OSError, IndexError):
        return False
