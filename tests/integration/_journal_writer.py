"""Child process for the kill -9 test: durable appends in a loop, each ack printed.

Usage: ``python _journal_writer.py JOURNAL_PATH [PRODUCERS]``

Each stdout line is ``<seq> <n>``, printed (and flushed) only after
``append_durable`` returned for entry ``n``, whose payload is msgpack
``{"n": n}``. The test kills this process with SIGKILL mid-way and checks that
every printed seq is in the file with that payload. It runs until killed.
"""

from __future__ import annotations

import asyncio
import itertools
import sys
from pathlib import Path

import msgspec

from kernel.journal import Journal, JournalEntry


async def main(path: Path, producers: int) -> None:
    journal = await Journal.open(path)
    numbers = itertools.count()

    async def produce() -> None:
        while True:
            n = next(numbers)
            entry = JournalEntry(ts=1_700_000_000.0 + n, topic="test.kill", source="writer",
                                 kind="probe", payload=msgspec.msgpack.encode({"n": n}))
            seq = await journal.append_durable(entry)
            sys.stdout.write(f"{seq} {n}\n")
            sys.stdout.flush()

    await asyncio.gather(*(produce() for _ in range(producers)))


if __name__ == "__main__":
    asyncio.run(main(Path(sys.argv[1]), int(sys.argv[2]) if len(sys.argv) > 2 else 8))
