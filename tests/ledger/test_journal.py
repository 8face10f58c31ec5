"""What a prediction's acknowledgement promises when the process is killed (SIGKILL): with
the journal nothing acknowledged is lost; in the background mode what was in memory is."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from heliograph.ledger import LedgerError, PredictionRecord, PredictionWriter, count_predictions

# A process that acknowledges records the way the gateway does (submit, then await durable)
# and is SIGKILLed before its database writer has written any of them.
_ACKNOWLEDGE_THEN_DIE = textwrap.dedent(
    """
    import asyncio, os, signal, sys, time
    from pathlib import Path
    from heliograph.ledger import PredictionRecord, PredictionWriter

    url, spool, durability = sys.argv[1], Path(sys.argv[2]), sys.argv[3]
    count, pause = int(sys.argv[4]), float(sys.argv[5])
    writer = PredictionWriter(url, spool, durability=durability, flush_interval=3600,
                              batch_size=1_000_000).start()

    async def answer(number):
        record = PredictionRecord("svc", "m", "1", "champion", f"req-{number}", "h", [number], 1.0)
        waiter = writer.durable(writer.submit(record))
        if waiter is not None:
            await waiter
        print(f"req-{number}", flush=True)   # the acknowledgement

    async def main():
        await asyncio.gather(*(answer(n) for n in range(count)))

    asyncio.run(main())
    time.sleep(pause)
    os.kill(os.getpid(), signal.SIGKILL)
    """
)


def acknowledge_then_die(
    url: str, spool: Path, durability: str, count: int, pause: float
) -> list[str]:
    args = [url, str(spool), durability, str(count), str(pause)]
    done = subprocess.run(
        [sys.executable, "-c", _ACKNOWLEDGE_THEN_DIE, *args],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == -9, done.stderr  # SIGKILL, not a clean exit
    return done.stdout.split()


@pytest.mark.parametrize(
    ("durability", "pause", "kept"),
    [
        ("journal", 0.0, 200),  # killed at once: every acknowledged record was on disk
        ("window", 0.5, 200),  # killed after the window: all on disk, the database unaware
        ("background", 0.5, 0),  # only in memory: the writer had not written yet
    ],
)
def test_what_an_acknowledgement_survives_a_sigkill(
    tmp_path: Path, durability: str, pause: float, kept: int
) -> None:
    url, spool = f"sqlite:///{tmp_path / 'ledger.db'}", tmp_path / "spool"

    acknowledged = acknowledge_then_die(url, spool, durability, 200, pause)

    assert len(acknowledged) == 200
    with PredictionWriter(url, spool) as writer:  # the next process on that spool folder
        assert writer.flush(30)
    assert count_predictions(url, service="svc") == kept
    assert not list(spool.glob("journal-*.jsonl"))  # replayed, then removed


def test_the_journal_is_fsynced_before_the_acknowledgement_and_emptied_after(
    tmp_path: Path,
) -> None:
    url, spool = f"sqlite:///{tmp_path / 'ledger.db'}", tmp_path / "spool"
    writer = PredictionWriter(url, spool, durability="journal", flush_interval=3600).start()

    async def acknowledge() -> None:
        record = PredictionRecord("svc", "m", "1", "champion", "req-1", "h", [1], 1.0)
        waiter = writer.durable(writer.submit(record))
        assert waiter is not None  # nothing is on disk at submit
        await waiter

    asyncio.run(acknowledge())
    journal = b"".join(p.read_bytes() for p in spool.glob("journal-*.jsonl"))
    assert b'"request_id": "req-1"' in journal
    while not writer.stats()["db_up"]:  # its tables exist (two creators at once would race)
        time.sleep(0.01)
    assert count_predictions(url, service="svc") == 0  # the database has not seen it yet
    writer.close()
    assert count_predictions(url, service="svc") == 1
    assert not list(spool.glob("journal-*.jsonl"))


def test_an_unknown_durability_names_the_setting(tmp_path: Path) -> None:
    with pytest.raises(LedgerError) as raised:
        PredictionWriter(f"sqlite:///{tmp_path / 'l.db'}", tmp_path, durability="fsync")  # type: ignore[arg-type]
    assert raised.value.field == "ledger.durability"
    assert "journal, window or background" in str(raised.value.rule)
