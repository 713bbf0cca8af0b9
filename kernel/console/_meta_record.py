"""Journaling from a command-line process: ``kernel meta run`` and ``kernel proposals``.

The journal has one writer (it owns the hash chain), so a second process must
never write beside a running kernel. Each message therefore goes one of two
ways, decided by the data directory's lock at that moment:

* a kernel holds the lock: the kernel journals it over its control socket and
  answers only once the row is committed (source ``control:kernel-meta``,
  :mod:`kernel.console._kernel_record`); a bus echo would come before the commit;
* no kernel runs: this process takes the lock for the moment of one append,
  opens the journal (continuing its chain), commits durably and lets go, so a
  kernel started meanwhile simply waits for nothing.

A message that could not be journaled either way is reported to the caller,
which decides whether to go on (a job's progress) or refuse (a decision).
"""

from __future__ import annotations

import concurrent.futures
import time

from bus import loops
from bus.codec import encode
from bus.protocol import Message
from kernel.console._kernel_record import record_via_kernel
from kernel.emitter import tag_of
from kernel.journal import Journal, JournalEntry, JournalError
from kernel.lockfile import DataDirLock, DataDirUnusable, LockHeld
from kernel.settings import Settings

SOURCE = "kernel-meta"


class JournalHandOff:
    """Call with a message; returns an empty string once it is journaled, else why not."""

    def __init__(self, settings: Settings, *, source: str = SOURCE) -> None:
        self._settings = settings
        self._source = source
        self.failures: list[str] = []
        self.via_kernel = False

    def __call__(self, message: Message) -> str:
        try:
            lock = DataDirLock.acquire(self._settings.data_dir)
        except LockHeld:
            failure = self._via_kernel(message)
        except DataDirUnusable as exc:
            failure = str(exc)
        else:
            with lock:
                failure = self._direct(message)
        if failure:
            self.failures.append(f"{type(message).__name__}: {failure}")
        return failure

    def publish(self, message: Message) -> None:
        """For the pipeline, which goes on when a progress message is lost (it is noted)."""
        self(message)

    def _via_kernel(self, message: Message) -> str:
        self.via_kernel = True
        return record_via_kernel(self._settings, message, source=self._source)[1]

    def _direct(self, message: Message) -> str:
        entry = JournalEntry(ts=time.time(), topic=message.topic, source=f"cli:{self._source}",
                             kind=tag_of(message), payload=encode(message))
        # Its own thread and loop: the caller may be inside a running event loop.
        with concurrent.futures.ThreadPoolExecutor(1) as pool:
            try:
                pool.submit(loops.run, self._append(entry)).result()
            except (JournalError, OSError) as exc:
                return f"the journal {self._settings.journal_path} refused it: {exc}"
        return ""

    async def _append(self, entry: JournalEntry) -> None:
        settings = self._settings
        jcfg = settings.kernel.journal
        journal = await Journal.open(settings.journal_path,
                                     jsonl_dir=settings.log_dir if jcfg.jsonl else None,
                                     synchronous=jcfg.synchronous)
        try:
            await journal.append_durable(entry)
        finally:
            await journal.close()
