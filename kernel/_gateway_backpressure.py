"""The bot link stops reading while the journal is behind, and reads again once it caught up.

Every decision is journaled before it is answered, so the journal can never drop a
row to keep up. When rows queue faster than the writer commits them (a flood of
heartbeats, each journaled), the queue would grow without end; instead the gateway
stops reading the ROUTER above a high-water mark and reads again below a low one.
Meanwhile frames wait in ZeroMQ's queues, bounded per link (``_FRAMES_IN`` in
kernel/gateway.py), and then at the senders, whose sends block: backpressure
reaches the bots, and nothing is lost.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from bus.drain import SocketDrain
from kernel._gateway_faults import FaultReporter

JOURNAL_HIGH, JOURNAL_LOW = 50_000, 10_000
"""Rows queued for the journal at which reading stops, and below which it resumes."""
_CHECK_S = 0.002


class Backpressure:
    """Checked once per burst (one call of ``backlog``): O(1), off the per-frame path."""

    def __init__(self, backlog: Callable[[], int], faults: FaultReporter) -> None:
        self._backlog = backlog
        self._faults = faults
        self._paused: asyncio.Task[None] | None = None
        self.pauses = 0
        """Times reading stopped for the journal to catch up."""

    @property
    def paused(self) -> bool:
        return self._paused is not None

    def check(self, drain: SocketDrain) -> None:
        """Stop ``drain`` if the journal is behind; it restarts itself when caught up."""
        if self._paused is not None:
            return
        waiting = self._backlog()
        if waiting < JOURNAL_HIGH:
            return
        drain.stop()
        self.pauses += 1
        self._faults.report("journal_backpressure", "warning",
                            f"{waiting} rows wait for the journal: the bot link is not read "
                            f"until fewer than {JOURNAL_LOW} wait (the bots' sends wait)")
        self._paused = asyncio.get_running_loop().create_task(self._resume(drain))

    def cancel(self) -> None:
        if self._paused is not None:
            self._paused.cancel()

    async def _resume(self, drain: SocketDrain) -> None:
        try:
            while True:  # polled: the journal has no event for "fewer rows queued"
                if self._backlog() < JOURNAL_LOW:
                    break
                await asyncio.sleep(_CHECK_S)
        finally:
            self._paused = None
        drain.start()
