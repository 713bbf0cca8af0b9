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
saves when a durable fact changes (:func:`facts`), not on every decision, and
not on every fill either: what the journal's ``order.*`` rows after the save can
rebuild (reservations, request ids, and the ledger as fills alone moved it,
:func:`ledger_of`) is saved on the ``save_every_s`` timer, because with thousands
of open orders a save is a lot of work for the loop that decides orders, even with
the orders in slices of their own rows (:mod:`agents.risk._parts`). Anything that
raises an event still saves at once, before the news of it goes out.

Finding the newest save reads backwards in growing windows from the end of the
journal (``Journal.read`` pages forwards only). Its cost is proportional to how
far back the newest save lies; the engine saves at least every few minutes, so
that distance stays small however long the journal grows.

What a save has not seen is not only what lies after its row. A fill or order
update is journaled where the gateway reads it, and its bus copy may still wait in
the engine's inbox when the engine saves (it was behind), so its row lies before
the save's and the save lacks it. Each save therefore names the newest fact the
engine had taken (``last_fact``) and, after a restore, the seq through which that
restore read the fills and updates (``facts_through``), and the next restore replays
the fills and updates journaled after the later of the two, as well as every order
row after the save's (:meth:`RiskStore.unseen_facts`). The later of the two: a
restored engine's inbox may still hold copies of facts its restore read (it listens
from before the read), and the newest of those it takes lies before fills its state
already holds.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Final

import msgspec

from agents.risk._parts import OrderParts, whole
from bus.codec import encode
from bus.protocol import Fill, OrderUpdate
from kernel.emitter import tag_of
from kernel.gate import Fact
from kernel.journal import Journal, JournalEntry, JournalRow
from risk import OrderFact, RiskState
from risk.messages import OpenOrdersSaved, RiskStateSaved, RiskStateSavedInParts
from risk.state import OpenOrder, RequestIds

TOPIC: Final = RiskStateSaved.topic
ORDER_TOPICS: Final = "order."
"""Requests, decisions, fills and updates: what :func:`risk.replay` rebuilds from."""
_FIRST_WINDOW: Final = 4096
_PAGE: Final = 64
_FACTS_PAGE: Final = 4096
_decoder: Final = msgspec.msgpack.Decoder(RiskStateSaved | RiskStateSavedInParts)
_part_decoder: Final = msgspec.msgpack.Decoder(OpenOrdersSaved)
_fact_decoder: Final = msgspec.msgpack.Decoder(OrderFact)
_taken_decoder: Final = msgspec.msgpack.Decoder(Fact)
log = logging.getLogger("agents.risk")


class SavedStateUnreadable(Exception):
    """The newest save exists but does not decode (a damaged row, or a newer kernel's)."""


def persisted(state: RiskState) -> RiskState:
    """The state as it is worth keeping across a restart (see the module docstring).
    Not when the open orders were last walked for late ones: a restored engine, whose
    reservations are partly replayed from the journal, walks them at its first check."""
    ids = state.request_ids
    if not ids.chunks and state.unconfirmed_from is None:
        return state
    return msgspec.structs.replace(
        state, request_ids=RequestIds(recent=ids.recent) if ids.chunks else ids,
        unconfirmed_from=None)


def facts(state: RiskState) -> tuple[object, ...]:
    """What must never be lost to a kill and the journal cannot rebuild: when this
    changes, the gate saves at once.

    Marks, reservations, rate buckets and request ids are left out: they change
    on every heartbeat or decision, and after a restart the engine waits for a
    fresh heartbeat anyway (and rebuilds the reservations from the journal). The
    high-water mark, the peak, the reservations and the request ids are saved
    within ``save_every_s`` (:func:`marks_of`); so is the ledger when only fills
    moved it (:func:`ledger_of`).
    """
    return (state.day, state.start_equity, state.reasons, state.manual_close_needed,
            state.close_requested_at, state.risk_multiplier, state.multiplier_set,
            state.multiplier_base, state.reconciliation.mode)


def ledger_of(state: RiskState) -> tuple[object, ...]:
    """The ledger: cash, realised PnL, the loss streak and the positions. A fill moves
    it, and every fill is journaled before the engine takes it, so ``risk.replay``
    books the fills after the last save again (``book_fill``, as the engine did):
    a change made by fills alone may wait for the ``save_every_s`` timer. A change
    from anything else (a heartbeat's reconciliation, an operator) is saved at once,
    as :func:`facts` are.

    A flat position with nothing realised in it is left out: it is there for its mark
    only (a heartbeat's marks add one per symbol they name), and a mark is not worth
    a save; under a flood of mutated heartbeats each new symbol saved the state."""
    return (state.cash, state.realized_pnl, state.consecutive_losses,
            tuple((s, p.qty, p.avg_price, p.trade_pnl) for s, p in state.positions.items()
                  if p.qty or p.trade_pnl))


def marks_of(state: RiskState) -> tuple[object, ...]:
    """What may be saved a little later than the facts (within ``save_every_s``): the
    equity bases, the reservations and the request ids. A kill loses none of the
    last two: what was decided since the save is rebuilt from the journal
    (:meth:`RiskStore.order_facts`, ``risk.replay``); saving them soon keeps that
    replay to seconds of order traffic, even while every order is denied."""
    return (state.high_water, state.peak, state.open_orders, state.request_ids)


class RiskStore:
    """Reads and writes :class:`RiskStateSaved` rows through the kernel's journal."""

    def __init__(self, journal: Journal, *, source: str, clock: Callable[[], float],
                 bot_id: str = "") -> None:
        self._journal = journal
        self._source = source
        self._clock = clock
        self._bot_id = bot_id
        """In a fleet, the bot whose ledger this is: only saves this engine wrote (its
        ``source``) are loaded, and only the bot's own order facts replayed."""
        self.loaded_seq = 0
        """Journal seq of the save :meth:`load` found (0: none); facts after it replay."""
        self.loaded: RiskStateSaved | None = None
        """The save :meth:`load` found."""
        self.facts_through = 0
        """After :meth:`unseen_facts`: the journal seq through which the restored state
        holds every fill and update; every save names it (``RiskStateSaved``)."""
        self.parts = OrderParts(journal, source=source)
        """The slice rows a save with many open orders names (:mod:`agents.risk._parts`)."""

    async def keep_orders(self, current: Callable[[], RiskState]) -> None:
        """Before a save: write the open orders in slices when the slices in use are
        missing, stale or far from ``current()`` (several turns of the loop, one slice
        each); returns at once, without yielding, when they are not."""
        await self.parts.refresh(lambda: current().open_orders, self._clock())

    async def save(self, state: RiskState, last_fact: Fact | None = None) -> int:
        """Append the state and wait for its commit; return its journal seq.
        ``last_fact``: the newest fact ``state`` holds (the module docstring).

        The append is queued before this coroutine first yields, so whatever the
        caller does after starting it (a decision it answers) is committed after:
        every fact the engine had taken is journaled before this row.
        """
        now = self._clock()
        saved = self.parts.saved(persisted(state), now, last_fact, self.facts_through)
        return await self._journal.append_durable(JournalEntry(
            ts=now, topic=TOPIC, source=self._source, kind=tag_of(saved),
            payload=encode(saved)))

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
            saved = _decoder.decode(row.payload)
            parts = [await self._part(seq) for seq in getattr(saved, "order_parts", ())]
        except msgspec.DecodeError as exc:
            raise SavedStateUnreadable(
                f"the saved risk state (journal seq {row.seq}) cannot be read: {exc}") from exc
        self.loaded_seq, self.loaded = row.seq, whole(saved, parts)
        return self.loaded.state

    async def _part(self, seq: int) -> dict[str, OpenOrder]:
        """The open orders of the slice row at ``seq``; a row missing, of another
        engine or not a slice is as unreadable as a damaged one."""
        rows = await self._journal.read(after_seq=seq - 1, limit=1)
        if not rows or rows[0].seq != seq or rows[0].topic != OpenOrdersSaved.topic \
                or rows[0].source != self._source:
            raise msgspec.DecodeError(f"its open orders' row at journal seq {seq} is missing")
        return _part_decoder.decode(rows[0].payload).orders

    async def unseen_facts(self) -> list[tuple[float, OrderFact]]:
        """What the save :meth:`load` found has not seen, in journal order: the fills
        and updates journaled after the newest fact it holds, or after the seq its
        engine's restore read through when that is later (before its row too: they were
        on their way to the engine), then every order row after its row.

        The newest fact is found by value, from the save's row backwards, so an equal
        fact journaled later stands for it: the replay can miss a fact (the order stays
        reserved, failing closed; a fill is reported by the next heartbeat's check)
        but never books one twice. Not found (retention archived it), the replay
        starts after the save's row, as for an older kernel's save.
        """
        saved, seq = self.loaded, self.loaded_seq
        start = seq
        if saved is not None and saved.last_fact is not None:
            start = await self._row_of(saved.last_fact, seq) or seq
            if start == seq:
                log.warning("the newest fact the risk state saved at journal seq %d holds is "
                            "not in the journal; replaying from the save's own row", seq)
        if saved is not None and 0 < saved.facts_through < seq:
            restored = saved.facts_through  # the later of the two (the module docstring)
            start = restored if saved.last_fact is None else max(start, restored)
        return await self.order_facts(start, facts_only_before=seq)

    async def order_facts(self, after_seq: int, *,
                          facts_only_before: int = 0) -> list[tuple[float, OrderFact]]:
        """Every request, decision, fill and update journaled after ``after_seq``, in
        order, with its journal time: what the state saved there has not seen. Before
        ``facts_only_before`` (a save's row, which holds every decision journaled
        before it) fills and updates only.

        Bounded by the saves: the gate saves within seconds of any decision or
        change to its reservations, so this reads seconds of order traffic. A row that does not
        decode as one of them (another ``order.*`` topic) is skipped.
        """
        found: list[tuple[float, OrderFact]] = []
        self.facts_through = max(self.facts_through, after_seq, facts_only_before)
        while rows := await self._journal.read(after_seq=after_seq, limit=_FACTS_PAGE,
                                                topic_prefix=ORDER_TOPICS):
            for row in rows:
                try:
                    fact = _fact_decoder.decode(row.payload)
                except msgspec.DecodeError:
                    continue
                if (not self._bot_id or fact.bot_id == self._bot_id) and (
                        row.seq > facts_only_before or isinstance(fact, Fill | OrderUpdate)):
                    found.append((row.ts, fact))
            after_seq = self.facts_through = max(self.facts_through, rows[-1].seq)
            if len(rows) < _FACTS_PAGE:
                break
        return found

    async def _row_of(self, fact: Fact, before_seq: int) -> int:
        """The seq of the newest row before ``before_seq`` that journals ``fact`` (0:
        none), read backwards in growing windows of its topic's rows."""
        topic, body = fact.topic, encode(fact)
        end, window = before_seq, _FIRST_WINDOW
        while end > 0:
            after = start = max(0, end - window)
            found = 0
            while rows := await self._journal.read(after_seq=after, limit=_FACTS_PAGE,
                                                    topic_prefix=topic):
                for row in rows:
                    if row.seq < end and row.topic == topic and journals(row.payload, body, fact):
                        found = row.seq
                after = rows[-1].seq
                if len(rows) < _FACTS_PAGE or after >= end:
                    break
            if found:
                return found
            end, window = start, window * 8
        return 0

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
            mine = rows if not self._bot_id else [r for r in rows if r.source == self._source]
            last = mine[-1] if mine else last
            after_seq = rows[-1].seq
            if len(rows) < _PAGE:
                break
        return last


def journals(payload: bytes, body: bytes, fact: Fact) -> bool:
    """Whether a journal row's payload is ``fact`` (encoded as ``body``): by bytes, and
    by value when the encoding differs (an int in a float field, say)."""
    if payload == body:
        return True
    try:
        return bool(_taken_decoder.decode(payload) == fact)
    except msgspec.DecodeError:
        return False
