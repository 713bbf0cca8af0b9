"""Retention: journal rows older than ``retention_days`` go to compressed JSONL, then away.

In this order, so that nothing is lost at any crash point:

1. archive: every row up to the cut is written, one gzip JSONL file per trading
   day and run (``journal-YYYY-MM-DD-<first seq>.jsonl.gz``), to a temporary name,
   flushed to disk, then renamed;
2. anchor: the chain's new starting point (the last archived row's seq and hash)
   is recorded in the journal file (``journal_anchor``, itself append-only);
3. delete: rows up to the anchor, in short chunks on the journal's own
   connection, so decisions keep being committed in between. The file's trigger
   refuses to delete anything that is not behind an anchor.

A crash between 1 and 2 leaves an extra archive file (rewritten next time); between
2 and 3, rows already archived (deleted next time). ``kernel audit verify`` checks
the rows still in the file from the newest anchor, and with ``--archives`` the
archived rows too, anchor by anchor. The newest row is never deleted, so the seq
goes on after a restart however long the kernel sat idle.

Each archive line holds the exact payload (base64) and the row's hash, so the chain
can be recomputed from the archive alone, and the decoded ``body`` for people.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import gzip
import os
import sqlite3
from collections.abc import Iterator
from contextlib import ExitStack, closing
from pathlib import Path
from typing import Any, Final

import msgspec

from kernel.journal import Journal
from kernel.journal_file import JournalRow, connect_readonly
from risk.days import day_of

ARCHIVE_GLOB: Final = "journal-*.jsonl.gz"


class ArchiveLine(msgspec.Struct, frozen=True, omit_defaults=True):
    seq: int
    ts: float
    topic: str
    source: str
    kind: str
    severity: str
    payload: str
    """The exact msgpack bytes, base64."""
    hash: str | None = None
    body: Any = None


class Plan(msgspec.Struct, frozen=True, kw_only=True):
    first_seq: int
    through_seq: int
    """The last row to archive and delete."""
    anchor_seq: int
    """The newest anchor now; a new one is set only past it."""
    head: bytes | None
    """The hash of row ``through_seq``."""


class Retained(msgspec.Struct, frozen=True, kw_only=True):
    """What one retention run did."""

    archived: int
    deleted: int
    through_seq: int
    files: tuple[str, ...]


def plan(path: Path, cutoff_ts: float) -> Plan | None:
    """Which rows are due: every row before the first row at or after the cut (seq order),
    and never the newest row. None when nothing is due."""
    with closing(connect_readonly(path)) as db:
        first, last = db.execute("SELECT MIN(seq), MAX(seq) FROM journal").fetchone()
        if first is None:
            return None
        keep = db.execute("SELECT MIN(seq) FROM journal WHERE ts >= ?", (cutoff_ts,)).fetchone()[0]
        through = min(int(last) - 1, int(keep) - 1 if keep is not None else int(last))
        if through < first:
            return None
        anchor = int(db.execute("SELECT MAX(seq) FROM journal_anchor").fetchone()[0] or 0)
        row = db.execute("SELECT hash FROM journal WHERE seq = ?", (through,)).fetchone()
    head = bytes(row[0]) if row is not None and row[0] is not None else None
    return Plan(first_seq=int(first), through_seq=through, anchor_seq=anchor, head=head)


def write_archives(path: Path, archive_dir: Path, through_seq: int,
                   utc_offset_s: int) -> tuple[int, list[Path]]:
    """Archive rows up to ``through_seq`` by trading day; return (rows, files written)."""
    archive_dir.mkdir(parents=True, exist_ok=True)
    encoder = msgspec.json.Encoder()
    files: dict[str, _Archive] = {}
    count = 0
    with ExitStack() as stack, closing(connect_readonly(path)) as db:
        for row in _rows(db, through_seq):
            day = day_of(row.ts, utc_offset_s)
            if day not in files:
                final = archive_dir / f"journal-{day}-{row.seq:012d}.jsonl.gz"
                files[day] = stack.enter_context(_Archive(final))
            files[day].gzip.write(encoder.encode(archive_line(row)) + b"\n")
            count += 1
        for archive in files.values():
            archive.commit()
    return count, [archive.final for archive in files.values()]


class _Archive:
    """One archive file: gzip into a temporary name, then flushed to disk and renamed."""

    def __init__(self, final: Path) -> None:
        self.final = final
        self._temp = final.with_name(final.name + ".tmp")
        self._raw = open(self._temp, "wb")  # noqa: SIM115  (closed by commit or __exit__)
        self.gzip = gzip.GzipFile(fileobj=self._raw, mode="wb", filename="")

    def commit(self) -> None:
        self.gzip.close()
        self._raw.flush()
        os.fsync(self._raw.fileno())  # a write handle: fsync works on Windows too
        self._raw.close()
        os.replace(self._temp, self.final)

    def __enter__(self) -> _Archive:
        return self

    def __exit__(self, *exc: object) -> None:
        """After a failure: close, and leave no half-written file behind."""
        self.gzip.close()
        self._raw.close()
        with contextlib.suppress(OSError):
            self._temp.unlink(missing_ok=True)


def archive_line(row: JournalRow) -> ArchiveLine:
    try:
        body: Any = msgspec.msgpack.decode(row.payload)
        msgspec.json.encode(body)
    except (msgspec.DecodeError, TypeError):
        body = None
    return ArchiveLine(seq=row.seq, ts=row.ts, topic=row.topic, source=row.source,
                       kind=row.kind, severity=row.severity,
                       payload=base64.b64encode(row.payload).decode("ascii"),
                       hash=row.hash.hex() if row.hash is not None else None, body=body)


def read_archive(path: Path) -> Iterator[JournalRow]:
    """The rows of one archive file, exactly as they were in the journal."""
    decoder = msgspec.json.Decoder(ArchiveLine)
    with gzip.open(path, "rb") as lines:
        for line in lines:
            a = decoder.decode(line)
            yield JournalRow(a.seq, a.ts, a.topic, a.source, a.kind,
                             base64.b64decode(a.payload), a.severity,
                             bytes.fromhex(a.hash) if a.hash is not None else None)


def archived_rows(archive_dir: Path) -> list[JournalRow]:
    """Every archived row, in seq order, once (a file rewritten after a crash may repeat)."""
    rows: dict[int, JournalRow] = {}
    for path in sorted(archive_dir.glob(ARCHIVE_GLOB)):
        for row in read_archive(path):
            rows.setdefault(row.seq, row)
    return [rows[seq] for seq in sorted(rows)]


async def retain(journal: Journal, *, archive_dir: Path, cutoff_ts: float,
                 utc_offset_s: int, now: float) -> Retained | None:
    """Archive, anchor, delete (see the module docstring); None when nothing was due."""
    due = await asyncio.to_thread(plan, journal.path, cutoff_ts)
    if due is None:
        return None
    archived, files = await asyncio.to_thread(write_archives, journal.path, archive_dir,
                                              due.through_seq, utc_offset_s)
    if due.through_seq > due.anchor_seq:
        if due.head is None:
            raise sqlite3.DatabaseError(f"row {due.through_seq} of {journal.path} has no hash; "
                                        "cannot anchor the chain there")
        names = ", ".join(f.name for f in files)
        await journal.anchor(due.through_seq, due.head, f"rows {due.first_seq}-"
                             f"{due.through_seq} archived to {names}", now)
    deleted = await journal.forget_through(due.through_seq)
    return Retained(archived=archived, deleted=deleted, through_seq=due.through_seq,
                    files=tuple(str(f) for f in files))


def _rows(db: sqlite3.Connection, through_seq: int) -> Iterator[JournalRow]:
    cursor = db.execute("SELECT seq, ts, topic, source, kind, payload, severity, hash "
                        "FROM journal WHERE seq <= ? ORDER BY seq", (through_seq,))
    for row in cursor:
        yield JournalRow(*row)
