"""Journal throughput: group commit against one commit per row, in the same run.

Each figure is measured here and now on a fresh SQLite file (WAL, the same
``synchronous`` setting and the same table and indexes for every contender),
so the ratios hold even where the absolute numbers differ between machines:

* plain sqlite3, one INSERT and one commit per row (the floor to beat),
* aiosqlite, one awaited INSERT and commit per row (what a naive journal does),
* the journal: 64 producers each awaiting ``append_durable`` in a loop,
  with its hash chain and without it (``hash_chain=False``, bench only),
* the journal: fire-and-forget ``append`` then one ``flush``, chain on and off,
* the journal with its daily JSONL copy on (64 durable producers),
* the latency of a lone ``append_durable`` (nothing else in flight).

Run from the project root with the project installed (``python scripts/test.py`` sets the
venv up), e.g. ``.venv/bin/python scripts/bench_journal.py``; about 15 s.
"""

from __future__ import annotations

import argparse
import asyncio
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path
from typing import Literal

import aiosqlite

from bus.codec import encode
from bus.protocol import make_decision
from kernel._journal_schema import MIGRATIONS
from kernel.journal import Journal, JournalEntry

Sync = Literal["normal", "full"]
PAYLOAD = encode(make_decision(request_id="bench-000001", verdict="ALLOW", reason="within limits",
                               code="allowed", trading_state="ACTIVE", bot_id="quantumedge-1",
                               ts=1_700_000_000.0))
ENTRY = JournalEntry(ts=1_700_000_000.0, topic="order.decision", source="gateway",
                     kind="order_decision", payload=PAYLOAD)
INSERT = "INSERT INTO journal (seq, ts, topic, source, kind, payload) VALUES (?, ?, ?, ?, ?, ?)"


@contextmanager
def fresh_file() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="bench-journal-") as folder:
        yield Path(folder) / "journal.sqlite3"


def create(db: sqlite3.Connection, synchronous: Sync) -> None:
    db.execute("PRAGMA journal_mode = WAL")
    db.execute(f"PRAGMA synchronous = {synchronous.upper()}")
    for step in MIGRATIONS:
        for statement in step:
            db.execute(statement)


def row(seq: int) -> tuple[object, ...]:
    return (seq, ENTRY.ts, ENTRY.topic, ENTRY.source, ENTRY.kind, ENTRY.payload)


def plain_sqlite3(synchronous: Sync, seconds: float) -> float:
    """Rows/s, one autocommit INSERT (one transaction, one commit) per row."""
    with fresh_file() as path, closing(sqlite3.connect(path, isolation_level=None)) as db:
        create(db, synchronous)
        seq, start = 0, time.perf_counter()
        while time.perf_counter() - start < seconds:
            seq += 1
            db.execute(INSERT, row(seq))
        return seq / (time.perf_counter() - start)


async def naive_aiosqlite(synchronous: Sync, seconds: float) -> float:
    """Rows/s, awaiting an INSERT and a commit per row."""
    with fresh_file() as path:
        with closing(sqlite3.connect(path, isolation_level=None)) as setup:
            create(setup, synchronous)
        async with aiosqlite.connect(path) as db:
            await db.execute(f"PRAGMA synchronous = {synchronous.upper()}")
            seq, start = 0, time.perf_counter()
            while time.perf_counter() - start < seconds:
                seq += 1
                await db.execute(INSERT, row(seq))
                await db.commit()
            return seq / (time.perf_counter() - start)


async def durable_producers(synchronous: Sync, seconds: float, producers: int,
                            *, jsonl: bool = False, chain: bool = True) -> tuple[float, float]:
    """Rows/s and rows per commit, ``producers`` tasks each awaiting append_durable."""
    with fresh_file() as path:
        journal = await Journal.open(path, synchronous=synchronous, hash_chain=chain,
                                     jsonl_dir=path.parent / "logs" if jsonl else None)
        deadline = time.perf_counter() + seconds

        async def produce() -> None:
            while time.perf_counter() < deadline:
                await journal.append_durable(ENTRY)

        start = time.perf_counter()
        await asyncio.gather(*(produce() for _ in range(producers)))
        elapsed = time.perf_counter() - start
        rows, commits = journal.last_seq, journal.commits
        await journal.close()
        return rows / elapsed, rows / max(commits, 1)


async def fire_and_forget(synchronous: Sync, rows: int,
                          *, chain: bool = True) -> tuple[float, float]:
    """Rows/s and rows per commit for ``rows`` appends followed by one flush."""
    with fresh_file() as path:
        journal = await Journal.open(path, synchronous=synchronous, hash_chain=chain)
        start = time.perf_counter()
        for _ in range(rows):
            journal.append(ENTRY)
        await journal.flush()
        elapsed = time.perf_counter() - start
        commits = journal.commits
        await journal.close()
        return rows / elapsed, rows / max(commits, 1)


async def lone_latency(synchronous: Sync, count: int) -> tuple[float, float]:
    """p50 and p99 in µs of one append_durable with nothing else in flight."""
    with fresh_file() as path:
        journal = await Journal.open(path, synchronous=synchronous)
        samples = []
        for _ in range(count):
            start = time.perf_counter()
            await journal.append_durable(ENTRY)
            samples.append((time.perf_counter() - start) * 1e6)
        await journal.close()
    cuts = statistics.quantiles(samples, n=100)
    return cuts[49], cuts[98]


async def bench(synchronous: Sync, seconds: float, producers: int) -> None:
    print(f"\nsynchronous={synchronous.upper()}, WAL, {len(PAYLOAD)}-byte payload, "
          f"table with topic and ts indexes")
    floor = plain_sqlite3(synchronous, seconds)
    naive = await naive_aiosqlite(synchronous, seconds)
    durable, durable_group = await durable_producers(synchronous, seconds, producers)
    unchained, _ = await durable_producers(synchronous, seconds, producers, chain=False)
    copied, _ = await durable_producers(synchronous, seconds, producers, jsonl=True)
    forget, forget_group = await fire_and_forget(synchronous, rows=int(100_000 * seconds))
    loose, _ = await fire_and_forget(synchronous, rows=int(100_000 * seconds), chain=False)
    p50, p99 = await lone_latency(synchronous, count=2000)
    line = "  {:<58} {:>10,.0f} rows/s  {}"
    print(line.format("plain sqlite3, one commit per row (baseline)", floor, ""))
    print(line.format("aiosqlite, one await + commit per row", naive, ""))
    print(line.format(f"journal, {producers} producers awaiting append_durable", durable,
                      f"({durable_group:.0f} rows/commit)"))
    print(line.format("  same, without the hash chain", unchained, ""))
    print(line.format(f"journal + JSONL copy, {producers} producers, append_durable", copied, ""))
    print(line.format("journal, fire-and-forget append + one flush", forget,
                      f"({forget_group:.0f} rows/commit)"))
    print(line.format("  same, without the hash chain", loose, ""))
    print(f"  {'journal, lone append_durable latency':<58} p50 {p50:,.0f} µs, p99 {p99:,.0f} µs")
    print(f"  ratio durable group commit / plain sqlite3 per-row commit: {durable / floor:.1f}x")
    print(f"  ratio durable group commit / aiosqlite per-row commit:     {durable / naive:.1f}x")
    print(f"  ratio fire-and-forget / plain sqlite3 per-row commit:      {forget / floor:.1f}x")
    print(f"  ratio durable with JSONL copy / without:                   {copied / durable:.2f}x")
    ratio = durable / unchained
    print(f"  ratio durable with hash chain / without:                   {ratio:.2f}x")
    print(f"  ratio fire-and-forget with hash chain / without:           {forget / loose:.2f}x")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0] if __doc__ else None)
    parser.add_argument("--synchronous", nargs="+", choices=["normal", "full"],
                        default=["normal", "full"])
    parser.add_argument("--seconds", type=float, default=1.5, help="per measurement")
    parser.add_argument("--producers", type=int, default=64)
    args = parser.parse_args(argv)
    print(f"bench_journal: python {sys.version.split()[0]}, SQLite {sqlite3.sqlite_version}")
    for synchronous in args.synchronous:
        asyncio.run(bench(synchronous, args.seconds, args.producers))
    return 0


if __name__ == "__main__":
    sys.exit(main())
