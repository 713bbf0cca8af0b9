"""The journal writer's bookkeeping, apart from its I/O: what is queued, who
waits for what, what failed. Kept free of SQLite so the rules (who is told
what, which entries survive a failed commit) read in one place.

The queue holds ``(ordinal, entry, future)`` items: ``ordinal`` counts appends,
so a flush waits for "everything up to ordinal n", and ``future`` is set for a
durable append. Items leave the queue only from its head, when committed, or
when the commit of their batch fails and someone is told (durable appends).
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections import deque
from pathlib import Path
from typing import Any, TypeAlias

log = logging.getLogger("kernel.journal")

Item: TypeAlias = tuple[int, Any, "asyncio.Future[int] | None"]


class JournalError(Exception):
    """The journal cannot do what was asked; the message says why and what to do."""


class JournalClosedError(JournalError):
    """An append (or read) after ``Journal.close()``."""


class JournalWriteError(JournalError):
    """A commit failed; ``__cause__`` is the SQLite (or OS) error."""


class JournalDamaged(JournalError):
    """The journal cannot go on: its file is damaged, or its writer stopped for good.

    Neither a retry nor an actor's restart can mend that, so the kernel stops
    (exit 3) with the file named; ``who`` met it (an actor, the writer) and
    ``cause`` is the error it met.
    """

    def __init__(self, who: str, cause: BaseException) -> None:
        super().__init__(f"{who}: {cause}")
        self.who = who
        self.cause = cause


def check_entry(entry: Any) -> None:
    """Refuse here what SQLite would refuse later, so one bad entry cannot stall the writer."""
    if not (isinstance(entry.payload, bytes) and isinstance(entry.topic, str)
            and isinstance(entry.source, str) and isinstance(entry.kind, str)):
        raise TypeError(f"journal entry needs str topic/source/kind and bytes payload: {entry!r}")
    if not isinstance(entry.ts, (int, float)) or not math.isfinite(entry.ts):
        raise ValueError(f"journal entry needs a finite ts in seconds, got {entry.ts!r}")


class WriterState:
    """Queue and waiters of one journal; the journal's writer task drives it."""

    def __init__(self, path: Path, *, last_seq: int, batch_rows: int) -> None:
        self.path = path
        self.last_seq = last_seq
        """Seq of the last committed row."""
        self.batch_rows = batch_rows
        self.commits = 0
        self.fault: BaseException | None = None
        """Set when the writer stopped for good; appends are refused from then on."""
        self.kept = 0
        """Entries of the queue written to the fallback file when the writer stopped."""
        self.lost = 0
        """Entries of the queue in neither the journal nor the fallback file."""
        self.pending: deque[Item] = deque()
        self.wake = asyncio.Event()
        """Set when the writer should look again: work arrived, or it became urgent."""
        self.failing = ""
        """Why the last commit failed, until one succeeds again ("" while they succeed)."""
        self.commit_times: deque[float] = deque(maxlen=10_000)
        """Seconds each recent commit took; ``/metrics`` takes them (kernel/journal.py)."""
        self.hushed = False
        """Set by ``Journal.hush``: the caller commits inline before the loop runs again,
        so waking the writer task for each burst would only cost it a turn."""
        self._appended = 0
        self._durable = 0
        self._flushes: deque[tuple[int, asyncio.Future[None]]] = deque()

    def enqueue(self, entry: Any, future: asyncio.Future[int] | None) -> None:
        """Queue an entry; wake the writer only when that changes what it would do,
        and not while :attr:`hushed`."""
        self._appended += 1
        self.pending.append((self._appended, entry, future))
        if future is not None:
            self._durable += 1
        if self.hushed:
            return
        if future is not None or len(self.pending) == 1 or len(self.pending) >= self.batch_rows:
            self.wake.set()

    def hush(self, hushed: bool = True) -> None:
        """While hushed, appends do not wake the writer task: the caller commits them
        inline (``Journal.commit_now``) before the loop runs again, as the gateway does
        in a burst with orders, which woke the writer to find nothing left. Unhushed,
        the writer is woken for whatever is still queued."""
        self.hushed = hushed
        if not hushed and self.pending:
            self.wake.set()

    def add_flush_waiter(self, future: asyncio.Future[None]) -> None:
        """``future`` resolves once everything appended so far is committed."""
        self._flushes.append((self._appended, future))
        self.wake.set()

    def urgent(self) -> bool:
        """Somebody awaits a commit, or the batch is full: lingering would only cost."""
        return self._durable > 0 or bool(self._flushes) or len(self.pending) >= self.batch_rows

    def committed(self, batch: list[Item]) -> None:
        """The head ``batch`` is on disk: hand out seqs, release flushes."""
        seq = self.last_seq
        for _, _, future in batch:
            self.pending.popleft()
            seq += 1
            if future is not None:
                self._durable -= 1
                if not future.done():
                    future.set_result(seq)
        self.last_seq = seq
        self.commits += 1
        self.failing = ""
        done_upto = self.pending[0][0] - 1 if self.pending else self._appended
        while self._flushes and self._flushes[0][0] <= done_upto:
            flush = self._flushes.popleft()[1]
            if not flush.done():
                flush.set_result(None)

    def failed(self, batch: list[Item], error: BaseException, *, attempt: int,
               giving_up: bool) -> None:
        """The head ``batch`` did not commit (nothing of it did: one statement).

        Its durable waiters and every flush get the error now rather than a
        hang; fire-and-forget entries stay at the head of the queue to retry.
        """
        for _ in batch:
            self.pending.popleft()
        kept = [item for item in batch if item[2] is None]
        self.pending.extendleft(reversed(kept))
        durable = len(batch) - len(kept)
        self._durable -= durable
        message = f"the journal {self.path} could not commit {len(batch)} rows: {error}"
        self.failing = message
        for _, _, future in batch:
            if future is not None:
                _fail(future, message, error)
        self._fail_flushes(message, error)
        plan = ("closing, so giving up" if giving_up
                else f"retrying; {len(self.pending)} entries kept in memory")
        log.error("%s (attempt %d; %d durable appends failed; %s)", message, attempt,
                  durable, plan, exc_info=error if attempt == 1 else None)

    def fault_all(self, error: BaseException, *, kept: int = 0, aside: Path | None = None
                  ) -> None:
        """The writer stopped for good: fail every waiter, drop the queue, say so.

        ``kept`` of the queued fire-and-forget entries were written to the fallback
        file ``aside`` first (journaled at the next open); the durable ones are
        failed to their callers, who decide (a decision becomes a DENY).
        """
        self.fault = error
        message = f"the journal {self.path} stopped: {error}"
        queued = len(self.pending)
        refused = 0
        for _, _, future in self.pending:
            if future is not None:
                refused += 1
                _fail(future, message, error)
        self.pending.clear()
        self._durable = 0
        self._fail_flushes(message, error)
        self.wake.set()
        lost = queued - refused - kept
        where = f"{kept} kept aside in {aside} (journaled at the next start)" if aside else ""
        log.critical("%s; %d queued entries were not written to the journal: %s%s%d refused "
                     "to their callers, %d lost", message, queued, where,
                     ", " if where else "", refused, lost, exc_info=error)
        self.lost = lost
        self.kept = kept

    def _fail_flushes(self, message: str, error: BaseException) -> None:
        while self._flushes:
            _fail(self._flushes.popleft()[1], message, error)


def _fail(future: asyncio.Future[Any], message: str, cause: BaseException) -> None:
    """One exception per waiter: a shared one would collect every waiter's traceback."""
    if not future.done():
        error = JournalWriteError(message)
        error.__cause__ = cause
        future.set_exception(error)
