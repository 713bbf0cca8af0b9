"""Where the journal's newest row is recorded outside its database: the head file
and the JSONL copy.

The hash chain proves that no row was changed, removed or inserted between the
anchor and the last row; it cannot tell that rows were cut off the end, since
what is left still holds. So the newest committed row's seq and hash also live
outside the database:

* the **head file** ``<journal>.head`` (``journal.sqlite3.head``), rewritten by
  the writer off the event loop (to a temporary name, then renamed) at most
  every :data:`HEAD_EVERY_S` and at close. ``kernel run`` refuses to start on a
  journal that ends before its head file, and ``kernel audit verify`` says so;
* the **JSONL copy** (``<log_dir>/journal-YYYY-MM-DD.jsonl``), whose lines carry
  each row's hash: the last line of each file is a claim the database must match.

Both lag the database by design (they are written after the commit), so they
never claim a row the database does not have, unless rows were lost from it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
from pathlib import Path
from typing import Final

import msgspec

log = logging.getLogger("kernel.journal")

HEAD_EVERY_S: Final = 0.05
"""How stale the head file may be while the kernel runs (a kill loses at most this)."""
_TAIL_CHUNK: Final = 64 * 1024
_TAIL_MAX: Final = 16 * 1024 * 1024


class Head(msgspec.Struct, frozen=True, kw_only=True):
    """A row the journal committed: its seq and chain hash (hex), and when this was noted."""

    seq: int
    hash: str
    written: float = 0.0


class Claim(msgspec.Struct, frozen=True, kw_only=True):
    """One record, kept outside the database, of a row the journal must still hold."""

    kind: str
    """``head file``, ``JSONL copy`` or ``report``."""
    source: str
    """Where it was found, for people: ``head file /data/journal.sqlite3.head``."""
    seq: int
    hash: str = ""
    """Hex; empty when the record has no hash (JSONL lines written before it had one)."""


class HeadUnreadable(ValueError):
    """The head file exists but does not decode."""


def head_path(journal: Path) -> Path:
    return journal.with_name(journal.name + ".head")


def read_head(journal: Path) -> Head | None:
    """The head file of ``journal``; None when there is none."""
    path = head_path(journal)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return None
    try:
        return msgspec.json.decode(data, type=Head)
    except msgspec.DecodeError as exc:
        raise HeadUnreadable(f"the head file {path} does not decode ({exc})") from exc


def write_head(journal: Path, seq: int, link: bytes) -> None:
    """Replace the head file at once: a reader sees the old head or the new one."""
    path = head_path(journal)
    temp = path.with_name(path.name + ".tmp")
    temp.write_bytes(msgspec.json.encode(Head(seq=seq, hash=link.hex(), written=time.time())))
    os.replace(temp, path)


def cut_from_the_end(journal: Path, head: Head, last_seq: int, found: bytes | None) -> str:
    """Why the database disagrees with its head file, or empty when it agrees.

    ``found`` is the database's hash at ``head.seq`` (None: no such row, which is
    fine only when ``head.seq`` is behind the last row, i.e. archived).
    """
    where = f"its head file {head_path(journal)} records seq {head.seq:,} (hash {head.hash[:16]}…"
    if head.written:
        where += f", noted {time.strftime('%Y-%m-%d %H:%M:%S', time.localtime(head.written))}"
    where += ")"
    if head.seq > last_seq:
        return (f"the journal {journal} ends at seq {last_seq:,}, but {where}: "
                f"{rows_between(last_seq + 1, head.seq)} cut from the end, or the file was "
                "replaced by an older copy (with journal.synchronous: normal a power loss also "
                "loses the last commits)")
    if found is not None and found.hex() != head.hash:
        return (f"the journal {journal} has hash {found.hex()[:16]}… at seq {head.seq:,}, but "
                f"{where}: the rows up to it were rewritten, or the file was replaced")
    return ""


def rows_between(first: int, last: int) -> str:
    """``row 9 was`` or ``rows 9-12 were``, for sentences about missing rows."""
    return f"row {first:,} was" if first == last else f"rows {first:,}-{last:,} were"


class HeadWriter:
    """Keeps the head file up to date from the writer, off the loop and coalesced."""

    def __init__(self, journal: Path) -> None:
        self.journal = journal
        self.failures = 0
        self._latest: tuple[int, bytes] | None = None
        self._written: tuple[int, bytes] | None = None
        self._wake = asyncio.Event()
        self._close = asyncio.Event()
        self._task = asyncio.get_running_loop().create_task(
            self._run(), name=f"journal head {journal.name}")

    def note(self, seq: int, link: bytes) -> None:
        """The newest committed row; cheap, so the writer calls it after every commit."""
        self._latest = (seq, link)
        self._wake.set()

    async def aclose(self) -> None:
        """Write the final head, then stop."""
        self._close.set()
        self._wake.set()
        await self._task

    async def _run(self) -> None:
        while not self._close.is_set():
            await self._wake.wait()
            with contextlib.suppress(TimeoutError):  # gather commits; close cuts it short
                await asyncio.wait_for(self._close.wait(), HEAD_EVERY_S)
            self._wake.clear()
            await self._write_latest()
        await self._write_latest()

    async def _write_latest(self) -> None:
        latest = self._latest
        if latest is None or latest == self._written:
            return
        try:
            await asyncio.to_thread(write_head, self.journal, *latest)
        except OSError as exc:  # the database has the rows; say so loudly, go on
            self.failures += 1
            log.error("journal head file %s not updated: %s", head_path(self.journal), exc)
        else:
            self._written = latest


def jsonl_claims(log_dir: Path) -> list[Claim]:
    """The last complete line of each JSONL copy file in ``log_dir``, as a claim."""
    claims = []
    for path in sorted(log_dir.glob("journal-*.jsonl")) if log_dir.is_dir() else []:
        line = _last_line(path)
        if line is None:
            continue
        try:
            row = msgspec.json.decode(line, type=_Tail)
        except msgspec.DecodeError:
            continue
        claims.append(Claim(kind="JSONL copy", source=f"JSONL copy {path}", seq=row.seq,
                            hash=row.hash or ""))
    return claims


class _Tail(msgspec.Struct):
    seq: int
    hash: str | None = None


def _last_line(path: Path) -> bytes | None:
    """The file's last line that ends with a newline (a torn last write is skipped)."""
    with open(path, "rb") as file:
        end = file.seek(0, os.SEEK_END)
        data = b""
        while end > 0 and len(data) <= _TAIL_MAX:
            start = max(0, end - _TAIL_CHUNK)
            file.seek(start)
            data = file.read(end - start) + data
            end = start
            complete = data[:data.rfind(b"\n") + 1] if b"\n" in data else b""
            lines = complete.splitlines()
            if len(lines) >= 2 or (lines and end == 0):
                return lines[-1]
    return None
