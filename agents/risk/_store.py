"""Saving the risk state in the journal, and finding the newest save after a restart.

Why the journal and not a table or file of its own: DESIGN.md wants one SQLite
file, and the journal already owns that file's only connection and its single
writer. A second connection writing the same file would contend for SQLite's
write lock with the journal's group commits, and every such wait lands on the
order gate's hot path (each decision's reply waits for its commit). As journal
rows the saves also cost nothing extra to make durable, and they are ordered with
everything else: a save appended before a decision is committed before it, so a
decision the bot has seen never depends on a state the journal could lose.

What is saved is the whole :class:`~risk.RiskState` minus what goes stale or
only matters for seconds: the older blocks of remembered request ids (the last
64 are kept; a bot does not re-send an order across a kernel restart). The gate
saves when a durable fact changes (:func:`facts`), not on every decision.

Finding the newest save reads backwards in growing windows from the end of the
journal (``Journal.read`` pages forwards only). Its cost is proportional to how
far back the newest save lies; the engine saves at least every few minutes, so
that distance stays small however long the journal grows.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Final

import msgspec

from bus.codec import encode
from kernel.journal import Journal, JournalEntry, JournalRow
from risk import RiskState
from risk.messages import RiskStateSaved
from risk.state import RequestIds

TOPIC: Final = RiskStateSaved.topic
_KIND: Final = "risk_state_saved"
_FIRST_WINDOW: Final = 4096
_PAGE: Final = 64
_decoder: Final = msgspec.msgpack.Decoder(RiskStateSaved)


class SavedStateUnreadable(Exception):
    """The newest save exists but does not decode (a damaged row, or a newer kernel's)."""


def persisted(state: RiskState) -> RiskState:
    """The state as it is worth keeping across a restart (see the module docstring)."""
    ids = state.request_ids
    if not ids.chunks:
        return state
    return msgspec.structs.replace(state, request_ids=RequestIds(recent=ids.recent))


def facts(state: RiskState) -> tuple[object, ...]:
    """What must never be lost to a kill: when this changes, the gate saves at once.

    Marks, reservations, rate buckets and request ids are left out: they change
    on every heartbeat or decision, and after a restart the engine waits for a
    fresh heartbeat anyway. The high-water mark and peak are left out too (they
    move with every new high); they are saved within ``save_every_s``.
    """
    return (state.day, state.start_equity, state.cash, state.realized_pnl,
            state.consecutive_losses, state.reasons, state.manual_close_needed,
            state.close_requested_at, state.risk_multiplier, state.reconciliation.mode,
            tuple((s, p.qty, p.avg_price, p.trade_pnl) for s, p in state.positions.items()))


def marks_of(state: RiskState) -> tuple[object, ...]:
    """The equity bases that may be saved a little later than the facts."""
    return (state.high_water, state.peak)


class RiskStore:
    """Reads and writes :class:`RiskStateSaved` rows through the kernel's journal."""

    def __init__(self, journal: Journal, *, source: str, clock: Callable[[], float]) -> None:
        self._journal = journal
        self._source = source
        self._clock = clock

    async def save(self, state: RiskState) -> int:
        """Append the state and wait for its commit; return its journal seq.

        The append is queued before this coroutine first yields, so whatever the
        caller does after starting it (a decision it answers) is committed after.
        """
        now = self._clock()
        payload = encode(RiskStateSaved(ts=now, state=persisted(state)))
        return await self._journal.append_durable(JournalEntry(
            ts=now, topic=TOPIC, source=self._source, kind=_KIND, payload=payload))

    async def load(self) -> RiskState | None:
        """The newest saved state, or None when there is none (a first start).

        Raises :class:`SavedStateUnreadable` when the newest save cannot be read:
        falling back to an older save could forget a halt, and starting fresh
        would reset the daily loss; the caller must fail closed instead.
        """
        row = await self._newest()
        if row is None:
            return None
        try:
            return _decoder.decode(row.payload).state
        except msgspec.DecodeError as exc:
            raise SavedStateUnreadable(
                f"the saved risk state (journal seq {row.seq}) cannot be read: {exc}") from exc

    async def _newest(self) -> JournalRow | None:
        end = self._journal.last_seq
        window = _FIRST_WINDOW
        while True:
            start = max(0, end - window)
            found = await self._last_after(start)
            if found is not None or start == 0:
                return found
            window *= 8

    async def _last_after(self, after_seq: int) -> JournalRow | None:
        last: JournalRow | None = None
        while rows := await self._journal.read(after_seq=after_seq, limit=_PAGE,
                                                topic_prefix=TOPIC):
            last = rows[-1]
            after_seq = last.seq
            if len(rows) < _PAGE:
                break
        return last
