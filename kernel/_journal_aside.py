"""Rows kept aside: what the journal could not commit, on disk until it can.

A decision the journal cannot commit is never sent: the bot gets ``DENY
journal_unavailable`` instead. That denial was itself recorded nowhere, and a
journal that stopped for good (or a kernel stopped while the journal still
failed) dropped every row queued in memory. Both now go to a small file beside
the journal, ``<data_dir>/journal-fallback.jsonl``, one JSON line per row with its
exact payload, and are journaled as soon as possible:

* a denial sent while the journal fails is written to the file at once (so it
  survives a kill) and queued in memory too; when the journal commits it, a
  ``done`` line follows, so it is never replayed twice;
* rows still queued when the writer stops are written to the file (spilled);
* the next :meth:`kernel.journal.Journal.open` journals every row not done (its
  own ts, source and payload kept), then an ``anomaly`` ``journal_rows_recovered``
  saying how many and from where, and removes the file.

The file is named so that moving a damaged journal aside (``journal.sqlite3*``)
leaves it in place for the next journal. A crash in the middle of a replay can
journal some of its rows twice (a duplicate, never a loss). Writing the file
uses ``write()`` per row (an ``fsync`` too with ``synchronous: full``): it is on
the path of a failing journal only.
"""

from __future__ import annotations

import base64
import contextlib
import itertools
import logging
import os
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any, Final, Protocol

import msgspec

from bus.codec import encode
from kernel._journal_state import JournalError
from kernel.events import AnomalyDetected
from kernel.journal_file import JournalEntry

log = logging.getLogger("kernel.journal")

_ids: Final = itertools.count(1)


class AsideLine(msgspec.Struct, frozen=True, omit_defaults=True, kw_only=True):
    """One row kept aside (``done`` lines only name the row that is journaled now)."""

    id: str
    ts: float = 0.0
    topic: str = ""
    source: str = ""
    kind: str = ""
    severity: str = ""
    payload: str = ""
    """The exact payload bytes, base64."""
    done: bool = False


def aside_path(journal: Path) -> Path:
    return journal.with_name(journal.stem + "-fallback.jsonl")


def read_aside(path: Path) -> list[AsideLine]:
    """The rows of the file that are not journaled yet, in the order they were kept."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return []
    decoder = msgspec.json.Decoder(AsideLine)
    rows: dict[str, AsideLine] = {}
    for raw in data.splitlines():
        try:
            line = decoder.decode(raw)
        except msgspec.DecodeError:
            log.error("journal fallback %s: an unreadable line was skipped: %r", path, raw[:200])
            continue
        if line.done:
            rows.pop(line.id, None)
        else:
            rows.setdefault(line.id, line)
    return list(rows.values())


def payload_of(line: AsideLine) -> bytes:
    return base64.b64decode(line.payload)


class KeptAside:
    """The fallback file of one journal, as the writer uses it."""

    def __init__(self, path: Path, *, sync: bool) -> None:
        self.path = path
        self._sync = sync
        self.pending: dict[int, str] = {}
        """``id(entry)`` of rows in the file and still queued in memory -> their line id."""
        self.kept = 0
        self._open = 0
        self._encoder = msgspec.json.Encoder()

    def keep(self, entry: Any, severity: str, *, line_id: str = "") -> bool:
        """Write ``entry`` to the file; remember it while it is queued in memory too."""
        line_id = line_id or f"{os.getpid()}-{next(_ids)}"
        line = AsideLine(id=line_id, ts=entry.ts, topic=entry.topic, source=entry.source,
                         kind=entry.kind, severity=severity,
                         payload=base64.b64encode(entry.payload).decode("ascii"))
        if not self._write([line]):
            return False
        self.pending[id(entry)] = line_id
        self.kept += 1
        self._open += 1
        return True

    def adopt(self, entry: Any, line_id: str) -> None:
        """A row replayed from the file: queued again under its old line id."""
        self.pending[id(entry)] = line_id
        self._open += 1

    def committed(self, entries: Iterable[Any]) -> None:
        """These rows are in the journal now: mark those that were kept aside as done."""
        done = [AsideLine(id=line_id, done=True) for entry in entries
                if (line_id := self.pending.pop(id(entry), None)) is not None]
        if done and self._write(done):
            self._open -= len(done)

    def spill(self, entries: Iterable[Any], severity_of: Any) -> tuple[int, int]:
        """The writer stopped: keep every queued row not yet in the file. (kept, lost)."""
        kept = lost = 0
        for entry in entries:
            severity = entry.severity or severity_of(entry.kind, entry.payload)
            if id(entry) in self.pending or self.keep(entry, severity):
                kept += 1
            else:
                lost += 1
        return kept, lost

    def close(self) -> None:
        """Every row kept aside is journaled: the file goes."""
        if self._open == 0:
            with contextlib.suppress(FileNotFoundError):
                self.path.unlink()

    def _write(self, lines: list[AsideLine]) -> bool:
        data = b"".join(self._encoder.encode(line) + b"\n" for line in lines)
        try:
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
            try:
                os.write(fd, data)
                if self._sync:
                    os.fsync(fd)
            finally:
                os.close(fd)
        except OSError as exc:
            log.critical("journal fallback %s cannot be written (%s): %d rows are in neither "
                         "the journal nor the fallback file: %s", self.path, exc, len(lines),
                         data[:2000])
            return False
        return True


class _Journal(Protocol):
    """What a replay needs of :class:`kernel.journal.Journal`."""

    path: Path

    def append(self, entry: JournalEntry) -> None: ...
    async def flush(self) -> None: ...
    async def close(self) -> None: ...


async def replay_aside(journal: _Journal, aside: KeptAside) -> None:
    """Journal every row kept aside and not done yet, then a note saying so; the
    file goes once they are committed. A journal that cannot take them now is
    closed and refused, the rows staying in the file."""
    lines = sorted(read_aside(aside.path), key=lambda line: line.ts)  # as they happened:
    if not lines:  # a denial is kept before its spilled request, which came first
        aside.close()
        return
    for line in lines:
        entry = JournalEntry(ts=line.ts, topic=line.topic, source=line.source, kind=line.kind,
                             payload=payload_of(line), severity=line.severity)
        journal.append(entry)
        aside.adopt(entry, line.id)
    first, last = min(line.ts for line in lines), max(line.ts for line in lines)
    note = AnomalyDetected(
        kind="journal_rows_recovered", severity="warning", ts=time.time(), source="journal",
        detail=(f"{len(lines)} rows kept aside in {aside.path} while the journal could not "
                f"commit (from {_utc(first)} to {_utc(last)} UTC) are journaled now, with "
                "their own times"))
    journal.append(JournalEntry(ts=note.ts, topic=note.topic, source="journal",
                                kind="anomaly", payload=encode(note)))
    try:
        await journal.flush()
    except JournalError as exc:
        with contextlib.suppress(JournalError):
            await journal.close()
        raise JournalError(
            f"the journal {journal.path} cannot take the {len(lines)} rows kept aside in "
            f"{aside.path}: {exc}. They stay in that file. Fix: make the journal writable "
            "again (free the disk, stop what holds its lock), then start again") from exc
    aside.close()
    log.warning("journal %s: %s", journal.path, note.detail)


def _utc(ts: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(ts))
