"""The append-only event journal: every message the kernel sees, in order, on disk.

Why it is built this way:

* One writer task owns every write (SQLite has one writer anyway), so
  :meth:`Journal.append` is a deque push that never blocks and never drops,
  and the order of appends is the order of ``seq``. Seqs are assigned here,
  so they are known without reading them back; the INTEGER PRIMARY KEY still
  refuses a duplicate.
* Group commit. The writer takes everything queued (up to a batch), writes it with
  one statement (one transaction), then resolves every waiter of the batch; the
  gateway commits its burst from the loop (:meth:`Journal.commit_now`). Only
  fire-and-forget traffic lingers up to ``batch_max_delay_ms`` for company.
* Durability. WAL with ``synchronous="normal"`` keeps every committed row when
  the process is killed (SIGKILL); ``"full"`` also keeps it through power loss.
  :meth:`Journal.append_durable` returns only after the commit.
* One event format, tamper-evident. The writer gives each row its severity
  (:mod:`kernel.event_format`) and its link in the hash chain
  (:mod:`kernel.hashchain`) as it binds it: about two microseconds a row, no
  extra statement. Rows are never updated; only rows already archived behind the
  chain's anchor may be deleted (:meth:`Journal.anchor`, :meth:`Journal.forget_through`,
  used by :mod:`agents.audit.retention`), and the file's triggers refuse anything else.
* Loud failures. A failed commit fails the waiters of that batch and every pending
  :meth:`Journal.flush`, and is logged. Errors that may pass (database locked, disk
  full, I/O) keep the fire-and-forget entries in memory and retry with backoff; any
  other stops the journal (a fault the kernel must see, :meth:`Journal.stopped`),
  after which appends raise.
* Nothing acted on is lost to a failing file: rows the writer cannot commit but must
  keep (a DENY already sent, the queue when the writer stops) go to a fallback file and
  are journaled at the next open (:mod:`kernel._journal_aside`); the newest row's seq
  and hash are kept beside the file, so a cut from the end is found (:mod:`kernel.journal_tail`).
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import time
from bisect import bisect_left
from itertools import islice
from pathlib import Path
from types import TracebackType

import aiosqlite

from kernel import _journal_schema as schema
from kernel import hashchain
from kernel._journal_aside import KeptAside, aside_path, replay_aside
from kernel._journal_state import (
    Item,
    JournalClosedError,
    JournalDamaged,
    JournalError,
    JournalWriteError,
    WriterState,
    check_entry,
)
from kernel._jsonl import JsonlCopy
from kernel.event_format import severity_of
from kernel.journal_file import (
    DEFAULT_READ_LIMIT,
    JournalEntry,
    JournalRow,
    Synchronous,
    checkpoint,
    connect_inline_writer,
    flooded,
    prepare,
    read_journal,
    wal_over,
)
from kernel.journal_tail import HeadWriter

__all__ = [
    "Journal", "JournalClosedError", "JournalDamaged", "JournalEntry", "JournalError",
    "JournalRow", "JournalWriteError", "read_journal",
]

log = logging.getLogger(__name__)

_CHECKPOINT_EVERY_S = 0.5
"""How often the WAL is moved into the database file, off the loop, when rows came."""


class Journal:
    """The journal service: build with :meth:`open`, stop with :meth:`close`.

    Not thread-safe: call it from the event loop that opened it.
    """

    def __init__(self, db: aiosqlite.Connection, path: Path, *, last_seq: int,
                 batch_rows: int, delay_s: float, jsonl: JsonlCopy | None,
                 head: bytes | None, inline: sqlite3.Connection | None = None,
                 head_file: HeadWriter | None = None, aside: KeptAside | None = None) -> None:
        """Private: use :meth:`open`, which prepares the file first."""
        self.path = path
        self._db = db
        self._inline = inline
        """Set with ``synchronous=normal``: batches are written from the loop itself."""
        self._jsonl = jsonl
        self._head_file = head_file
        """Keeps ``<journal>.head`` up to date (see :mod:`kernel.journal_tail`)."""
        self._aside = aside or KeptAside(aside_path(path), sync=False)
        """Rows the journal could not commit, on disk (see :mod:`kernel._journal_aside`)."""
        self._head = head
        """The chain hash of the last committed row; None: write without the chain."""
        self._state = WriterState(path, last_seq=last_seq, batch_rows=batch_rows)
        self.commit_times = self._state.commit_times
        """Seconds each recent commit took; a reader may take them (``/metrics``)."""
        self._sizes = schema.statement_sizes(batch_rows)
        self._sql = {size: schema.insert_sql(size) for size in self._sizes}
        self._delay_s = delay_s
        self._loop = asyncio.get_running_loop()
        self._close_task: asyncio.Task[None] | None = None
        self._failures = 0
        """Failed attempts at the current batch; the writer alone retries while > 0."""
        self._stopped: asyncio.Future[BaseException] = self._loop.create_future()
        """Set to the error when the writer stops for good before close()."""
        self._writer = self._loop.create_task(self._run(), name=f"journal writer {path.name}")
        self._writer.add_done_callback(self._writer_done)
        self._checkpointer = (self._loop.create_task(self._checkpoints(),
                                                     name=f"journal checkpoints {path.name}")
                              if inline is not None else None)

    @classmethod
    async def open(
        cls, path: Path, *, jsonl_dir: Path | None = None, synchronous: Synchronous = "normal",
        batch_max_rows: int = 256, batch_max_delay_ms: float = 2.0, busy_timeout_s: float = 1.0,
        hash_chain: bool = True, integrity_check: bool = True,
    ) -> Journal:
        """Open (creating or migrating) the journal at ``path`` and start its writer.

        ``busy_timeout_s`` bounds how long one commit waits for another process
        holding the write lock before it counts as failed (and is retried).
        ``hash_chain=False`` writes rows without their link; it exists to measure
        the chain's cost (``scripts/bench_journal.py``), never for a kernel.
        ``integrity_check`` reads every page first (``PRAGMA quick_check``), so a
        damaged file is refused at open (see :func:`kernel.journal_file.prepare`).
        """
        if synchronous not in ("normal", "full"):
            raise ValueError(f"synchronous must be 'normal' or 'full', not {synchronous!r}")
        if batch_max_rows < 1 or batch_max_delay_ms < 0 or busy_timeout_s < 0:
            raise ValueError("batch_max_rows must be >= 1, the delay and timeout >= 0")
        batch_rows = schema.max_batch_rows(batch_max_rows)
        db, last_seq, head = await prepare(path, synchronous=synchronous, batch_rows=batch_rows,
                                           busy_timeout_s=busy_timeout_s, hash_chain=hash_chain,
                                           integrity_check=integrity_check)
        jsonl = JsonlCopy(jsonl_dir) if jsonl_dir is not None else None
        inline = (connect_inline_writer(path, busy_timeout_s=busy_timeout_s)
                  if synchronous == "normal" else None)
        journal = cls(db, path, last_seq=last_seq, batch_rows=batch_rows,
                      delay_s=batch_max_delay_ms / 1000, jsonl=jsonl, head=head, inline=inline,
                      head_file=HeadWriter(path) if head is not None else None,
                      aside=KeptAside(aside_path(path), sync=synchronous == "full"))
        await replay_aside(journal, journal._aside)
        return journal

    @property
    def last_seq(self) -> int:
        """Seq of the last committed row (0 for an empty journal)."""
        return self._state.last_seq

    @property
    def head(self) -> bytes | None:
        """The chain hash of the last committed row (what ``audit verify`` must find)."""
        return self._head

    @property
    def pending(self) -> int:
        """Entries appended but not committed yet."""
        return len(self._state.pending)

    @property
    def problem(self) -> str:
        """Why the journal does not write now, or "" when it does (``/health``)."""
        return str(self._refusal() or "") or self._state.failing

    @property
    def commits(self) -> int:
        """Commits so far in this session; rows / commits is the group-commit factor."""
        return self._state.commits

    def append(self, entry: JournalEntry) -> None:
        """Queue ``entry``; it is committed within ``batch_max_delay_ms``, in order."""
        self._admit(entry)
        self._state.enqueue(entry, None)

    async def append_durable(self, entry: JournalEntry) -> int:
        """Queue ``entry`` and return its seq once committed (it then survives SIGKILL);
        if the caller is cancelled meanwhile, the entry is still written."""
        return await self.append_waitable(entry)

    def append_waitable(self, entry: JournalEntry) -> asyncio.Future[int]:
        """Queue ``entry``; the future resolves to its seq once committed, or fails
        with the commit. For callers that collect several entries, then
        :meth:`commit_now` and act on every future at once."""
        self._admit(entry)
        future: asyncio.Future[int] = self._loop.create_future()
        self._state.enqueue(entry, future)
        return future

    def commit_now(self) -> bool:
        """Commit everything queued before returning, from the loop itself: a burst of
        durable appends saves the loop turns of waiting for the writer. Only with the
        inline writer (``synchronous=normal``) while it is healthy: otherwise (or if this
        commit fails) return False, the writer task taking the entries as usual."""
        state = self._state
        if self._inline is None or self._failures or self._closing or state.fault is not None:
            state.hush(False)
            return False
        while state.pending:
            batch = list(islice(state.pending, state.batch_rows))
            try:
                severities, links = self._write_inline(batch, self._inline)
            except Exception:  # the writer tries again, then retries or stops, and logs
                state.hush(False)  # and wakes it: the batch is still queued
                return False
            self._committed(batch, severities, links)
        state.hush(False)
        return True

    def hush(self, hushed: bool = True) -> None:
        """Appends wake no writer until :meth:`commit_now` (``WriterState.hush``)."""
        self._state.hush(hushed)

    def set_aside(self, entry: JournalEntry) -> bool:
        """Keep ``entry`` although the journal cannot commit now: in the fallback file
        at once (it survives a kill) and, while the writer runs, in the queue too.

        For what was already acted on, such as a DENY sent because its decision
        could not be journaled. False when even the fallback file refused it (the
        log then holds the row). See :mod:`kernel._journal_aside`.
        """
        check_entry(entry)
        kept = self._aside.keep(entry, entry.severity or severity_of(entry.kind, entry.payload))
        if self._refusal() is None:
            self._state.enqueue(entry, None)
        elif kept:
            self._aside.pending.pop(id(entry), None)  # the file alone has it now
        return kept

    async def flush(self) -> None:
        """Wait until everything appended so far is committed; raise if a commit fails."""
        refusal = self._refusal()
        if refusal is not None and not isinstance(refusal, JournalClosedError):
            raise refusal
        if self._state.pending:
            future: asyncio.Future[None] = self._loop.create_future()
            self._state.add_flush_waiter(future)
            await future

    async def close(self) -> None:
        """Commit everything queued, stop the writer and close the file. Idempotent."""
        if self._close_task is None:
            self._close_task = self._loop.create_task(self._shutdown())
        await asyncio.shield(self._close_task)

    async def __aenter__(self) -> Journal:
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None,
                        exc: BaseException | None, tb: TracebackType | None) -> None:
        await self.close()

    async def read(self, *, after_seq: int = 0, limit: int = DEFAULT_READ_LIMIT,
                   topic_prefix: str = "") -> list[JournalRow]:
        """Committed rows after ``after_seq``, in seq order, on the journal's connection."""
        if self._close_task is not None:
            raise JournalClosedError(f"the journal {self.path} is closed; use read_journal()")
        sql, params = schema.select_sql(after_seq=after_seq, limit=limit,
                                        topic_prefix=topic_prefix)
        return [JournalRow(*row) for row in await self._db.execute_fetchall(sql, params)]

    async def anchor(self, seq: int, head: bytes, reason: str, now: float) -> None:
        """Record that the chain may start after row ``seq``, whose hash is ``head``.

        Retention calls it once the rows up to ``seq`` are safely archived; only
        then does the file let :meth:`forget_through` delete them.
        """
        if not 0 < seq <= self.last_seq or len(head) != len(hashchain.GENESIS):
            raise ValueError(f"cannot anchor at seq {seq} (last seq {self.last_seq})")
        self._admit_maintenance()
        await self._maintain(schema.ANCHOR_SQL, (seq, head, now, reason[:1000]))

    async def forget_through(self, seq: int, *, chunk_rows: int = 500) -> int:
        """Delete rows up to ``seq`` (already archived and anchored); return how many.

        In chunks, each its own short statement, so the writer's commits (and
        the decisions waiting on them) slip in between rather than wait.
        """
        self._admit_maintenance()
        deleted = 0
        while True:
            count = await self._maintain(schema.FORGET_SQL, (seq, chunk_rows))
            deleted += max(count, 0)
            if count < chunk_rows:
                return deleted
            await asyncio.sleep(0)  # let the writer and the gateway run between chunks

    async def _maintain(self, sql: str, params: tuple[object, ...]) -> int:
        """One maintenance statement on the connection that writes the rows, so it
        never waits on the writer's lock (nor the writer on it); returns rowcount."""
        if self._inline is not None:
            return self._inline.execute(sql, params).rowcount
        cursor = await self._db.execute(sql, params)
        return cursor.rowcount

    def _admit_maintenance(self) -> None:
        refusal = self._refusal()
        if refusal is not None:
            raise refusal

    def _admit(self, entry: JournalEntry) -> None:
        refusal = self._refusal()
        if refusal is not None:
            raise refusal
        check_entry(entry)

    def _refusal(self) -> JournalError | None:
        """Why appends are refused now, if they are."""
        if self._state.fault is not None:
            error = JournalWriteError(f"the journal {self.path} stopped after a write error "
                                      f"({self._state.fault}); see the log, then restart")
            error.__cause__ = self._state.fault
            return error
        if self._close_task is not None:
            return JournalClosedError(f"the journal {self.path} is closed; nothing more can "
                                      "be appended (open it again to write)")
        return None

    async def _run(self) -> None:
        """The writer: batch, commit, resolve; retry what may pass, stop on anything else."""
        state = self._state
        while await self._next_batch():
            batch = list(islice(state.pending, state.batch_rows))
            if not batch:  # commit_now took everything while the writer was waking
                continue
            try:
                severities, links = await self._insert(batch)
            except sqlite3.OperationalError as exc:  # locked, busy, disk full, I/O
                self._failures += 1
                state.failed(batch, exc, attempt=self._failures, giving_up=self._closing)
                if self._closing:
                    raise
                await self._linger(min(0.01 * 2 ** (self._failures - 1), 1.0))
                continue
            if self._failures:
                log.warning("journal %s: writing again after %d failed attempts",
                            self.path, self._failures)
                self._failures = 0
            self._committed(batch, severities, links)

    def _committed(self, batch: list[Item], severities: list[str], links: list[bytes]) -> None:
        state = self._state
        state.committed(batch)
        if links:
            self._head = links[-1]
            if self._head_file is not None:
                self._head_file.note(state.last_seq, links[-1])
        if self._jsonl is not None:
            self._jsonl.add(state.last_seq - len(batch) + 1, [item[1] for item in batch],
                            severities, links)
        if self._aside.pending:
            self._aside.committed(item[1] for item in batch)

    @property
    def _closing(self) -> bool:
        return self._close_task is not None

    async def _next_batch(self) -> bool:
        """Wait for work; linger for company only when nobody awaits the result."""
        state = self._state
        while not state.pending:
            if self._closing:
                return False
            state.wake.clear()
            await state.wake.wait()
        if self._delay_s > 0:
            await self._linger(self._delay_s)
        return True

    async def _linger(self, delay_s: float) -> None:
        """Sleep up to ``delay_s``; an urgent append, a flush or close cuts it short."""
        if self._closing or self._state.urgent():
            return
        self._state.wake.clear()
        timer = self._loop.call_later(delay_s, self._state.wake.set)
        try:
            await self._state.wake.wait()
        finally:
            timer.cancel()

    async def _insert(self, batch: list[Item]) -> tuple[list[str], list[bytes]]:
        """One statement, one transaction, one thread hop for the whole batch.

        Returns the rows' severities and chain links; the head is taken from them
        only once the commit succeeded, so a failed batch is re-linked on retry.
        """
        if self._inline is not None:  # no fsync at NORMAL: cheaper than a thread hop
            return self._write_inline(batch, self._inline)
        sql, params, severities, links = self._bind(batch)
        started = time.perf_counter()
        await self._db.execute(sql, params)
        self._state.commit_times.append(time.perf_counter() - started)
        return severities, links

    def _write_inline(self, batch: list[Item], inline: sqlite3.Connection
                      ) -> tuple[list[str], list[bytes]]:
        sql, params, severities, links = self._bind(batch)
        started = time.perf_counter()
        inline.execute(sql, params)
        self._state.commit_times.append(time.perf_counter() - started)
        return severities, links

    def _bind(self, batch: list[Item]) -> tuple[str, list[object], list[str], list[bytes]]:
        """The statement and parameters for ``batch``, each row severity-tagged and chained
        (its links are empty when the journal writes without the chain)."""
        size = self._sizes[bisect_left(self._sizes, len(batch))]
        seq, head = self._state.last_seq, self._head
        link = hashchain.link
        params: list[object] = []
        severities: list[str] = []
        links: list[bytes] = []
        for _, entry, _future in batch:
            seq += 1
            severity = entry.severity or severity_of(entry.kind, entry.payload)
            if head is not None:
                head = link(head, seq, entry.ts, entry.topic, entry.source, entry.kind,
                            severity, entry.payload)
                links.append(head)
            params += (seq, entry.ts, entry.topic, entry.source, entry.kind, entry.payload,
                       severity, head)
            severities.append(severity)
        params += [None] * (len(schema.COLUMNS) * (size - len(batch)))
        return self._sql[size], params, severities, links

    async def _checkpoints(self) -> None:
        """Move the WAL into the file every half second on aiosqlite's thread (PASSIVE: commits
        go on meanwhile), not in a flood (``flooded``); past its limit the loop finishes it."""
        done, owed, seq = 0, False, self._state.last_seq  # any commit since: rows came
        while True:
            await asyncio.sleep(_CHECKPOINT_EVERY_S)
            busy = self._state.commits != done
            if not (busy or owed):
                continue
            done, rows, seq = self._state.commits, self._state.last_seq - seq, self._state.last_seq
            if flooded(rows, _CHECKPOINT_EVERY_S, self.path):
                owed = True  # the first round after the flood copies what this one would
                continue
            inline = None if self._failures or self._closing else self._inline
            try:
                await checkpoint(self._db, inline, self.path, busy=busy)
                owed = inline is not None and wal_over(self.path)
            except sqlite3.Error as exc:
                log.warning("journal %s: checkpoint failed, retried later: %s", self.path, exc)

    async def stopped(self) -> JournalDamaged:
        """Wait until the writer stops for good (a damaged file, an error no retry
        mends); the kernel watches this to stop rather than run without a record."""
        error = await asyncio.shield(self._stopped)
        return JournalDamaged(f"the journal writer ({self.path})", error)

    def _writer_done(self, task: asyncio.Task[None]) -> None:
        """A writer that ends before close() is a fault: fail everyone, say so."""
        error = (JournalError("the journal writer was cancelled") if task.cancelled()
                 else task.exception())
        if error is not None:
            kept, _ = self._aside.spill(
                [entry for _, entry, future in self._state.pending if future is None],
                severity_of)
            self._state.fault_all(error, kept=kept, aside=self._aside.path)
            if not self._stopped.done():
                self._stopped.set_result(error)

    async def _shutdown(self) -> None:
        if self._checkpointer is not None:
            self._checkpointer.cancel()
            await asyncio.wait([self._checkpointer])
        self._state.wake.set()
        try:
            await asyncio.wait([self._writer])
        finally:
            if self._jsonl is not None:
                await self._jsonl.aclose()
            if self._head_file is not None:
                await self._head_file.aclose()
            if self._inline is not None:
                self._inline.close()
            await self._db.close()
            self._aside.close()
        state = self._state
        if state.fault is not None:
            raise JournalWriteError(
                f"the journal {self.path} closed after a write error ({state.fault}); "
                f"{state.kept} queued entries were kept aside in {self._aside.path}, to be "
                f"journaled at the next start, {state.lost} lost (see the log)"
            ) from state.fault


