"""The open orders of a large risk state, saved a slice per turn of the loop.

Why: with 10,000 open orders a whole save is some 0.8 MB, and its encode (about 3
ms), the commit of its row (the hash and the insert, 3 to 5 ms) and the row's JSONL
copy (2 to 4 ms) each held the loop that decides orders, every 5 s under a flood:
what a quiet bot's slowest orders waited for (docs/architecture.md, the flood
section). The reservations are nearly all of those bytes, and between two saves few
of them change. So once a state holds more than :data:`PART_ORDERS` open orders the
orders go into rows of their own (:class:`~risk.messages.OpenOrdersSaved`), one
slice of :data:`PART_ORDERS` per row, each encoded and committed in its own turn of
the loop; each save after them (:class:`~risk.messages.RiskStateSavedInParts`)
names those rows and holds only what changed since: the orders added or changed,
and the ids gone. New slices are written when that change passes
:data:`PART_ORDERS` orders, or the slices are :data:`PARTS_MAX_AGE_S` old.

Consistent by construction: a save's own row still holds a state taken at the
moment it is appended, as before, so everything journaled before that row is in
it and every promise of ``agents.risk._store`` about what a restore replays holds
unchanged. The slices it names were committed before it, from a state that no
longer changes (the engine replaces its dicts, never mutates them), and the
change since is computed against exactly that state. A kill between slices
leaves rows no save names: the restore reads the newest complete save.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Callable, Mapping, Sequence
from itertools import compress, filterfalse, islice
from operator import is_not
from typing import Final

import msgspec

from bus.codec import encode
from kernel.emitter import tag_of
from kernel.gate import Fact
from kernel.journal import Journal, JournalEntry
from risk.messages import OpenOrdersSaved, RiskStateSaved, RiskStateSavedInParts
from risk.state import OpenOrder, RiskState

PART_ORDERS: Final = 1_000
"""Open orders per slice row, and the most a save holds inline: about 80 kB, a
fifth of a millisecond to encode and a little more to hash, insert and copy."""
SCAN_ORDERS: Final = 2_000
"""Open orders compared with the slices per turn of the loop (about 0.1 ms)."""
PARTS_MAX_AGE_S: Final = 600.0
"""Slices are written again at least this often while they are in use, so a save
never names rows older than this (retention archives days, not minutes)."""

Delta = tuple[dict[str, OpenOrder], tuple[str, ...]]
"""The orders added or changed since the slices, and the ids in them now gone."""


class OrderParts:
    """The slice rows last written and the open orders they hold; their writing."""

    def __init__(self, journal: Journal, *, source: str, part_orders: int = PART_ORDERS,
                 max_age_s: float = PARTS_MAX_AGE_S) -> None:
        self._journal = journal
        self._source = source
        self._part_orders = part_orders
        self._max_age_s = max_age_s
        self.seqs: tuple[int, ...] = ()
        """The journal seqs of the slices in use (empty: none yet)."""
        self._orders: Mapping[str, OpenOrder] = {}
        """The open orders as those slices hold them."""
        self._written_at = -math.inf
        self._last: tuple[Mapping[str, OpenOrder], tuple[int, ...], Delta] | None = None
        """The last delta worked out: a save right after the check reuses it."""
        self._writing = asyncio.Lock()

    def inline(self, orders: Mapping[str, OpenOrder]) -> bool:
        """Few enough open orders to save them whole in the save's own row, as always."""
        return len(orders) <= self._part_orders or not self.seqs

    def delta(self, orders: Mapping[str, OpenOrder]) -> Delta:
        """What changed since the slices, at once: the one a scan between turns left
        (:meth:`refresh`) when the orders are still that very dict, else one pass over
        them, by identity (an order the engine did not touch is the very object the
        slices hold; 0.4 to 0.8 ms for 10,000)."""
        last = self._last
        if last is not None and last[0] is orders and last[1] == self.seqs:
            return last[2]
        base = self._orders
        changed = dict(compress(orders.items(), map(is_not, map(base.get, orders),
                                                      orders.values())))
        return self._noted(orders, changed)

    def _noted(self, orders: Mapping[str, OpenOrder], changed: dict[str, OpenOrder],
               gone: tuple[str, ...] | None = None) -> Delta:
        """Note ``changed`` (and ``gone``, worked out here when None) for the save."""
        if gone is None:
            gone = (tuple(filterfalse(orders.__contains__, self._orders))
                    if self._any_gone(orders, changed) else ())
        self._last = (orders, self.seqs, (changed, gone))
        return changed, gone

    def _any_gone(self, orders: Mapping[str, OpenOrder], changed: dict[str, OpenOrder]) -> bool:
        """Whether some order of the slices is gone: the count says, without a pass."""
        base = self._orders
        return len(base) + sum(1 for k in changed if k not in base) > len(orders)

    async def _scanned(self, orders: Mapping[str, OpenOrder]) -> Delta:
        """:meth:`delta` a slice of :data:`SCAN_ORDERS` per turn of the loop. The dict
        is never changed in place (the engine replaces it), so the pass is over one
        state however the engine moves on meanwhile."""
        base, changed, rows = self._orders, {}, iter(orders.items())
        for _ in range(0, len(orders), SCAN_ORDERS):
            changed.update({k: o for k, o in islice(rows, SCAN_ORDERS) if base.get(k) is not o})
            await asyncio.sleep(0)
        gone: list[str] = []
        if self._any_gone(orders, changed):
            keys = iter(base)
            for _ in range(0, len(base), SCAN_ORDERS):
                gone += filterfalse(orders.__contains__, islice(keys, SCAN_ORDERS))
                await asyncio.sleep(0)
        return self._noted(orders, changed, tuple(gone))

    async def refresh(self, current: Callable[[], Mapping[str, OpenOrder]], now: float) -> None:
        """Before a save with many open orders: work out what changed since the slices
        over a few turns of the loop (the save then finds it, unless the orders moved
        meanwhile), and write new slices when the slices are missing, stale, or that
        change passes :data:`PART_ORDERS`: one row per turn, each committed before the
        next is encoded, used only once all are committed. Returns at once, without
        yielding, with few open orders."""
        if len(current()) <= self._part_orders:
            return
        async with self._writing:  # one at a time: a racing save finds the work done
            if self.seqs and now - self._written_at < self._max_age_s:
                changed, gone = await self._scanned(current())
                if len(changed) + len(gone) <= self._part_orders:
                    return
            orders = current()
            if len(orders) <= self._part_orders:
                return
            rows = iter(orders.items())
            seqs: list[int] = []
            while part := dict(islice(rows, self._part_orders)):
                saved = OpenOrdersSaved(ts=now, orders=part)
                seqs.append(await self._journal.append_durable(JournalEntry(
                    ts=now, topic=saved.topic, source=self._source, kind=tag_of(saved),
                    payload=encode(saved))))
            self.seqs, self._orders, self._written_at = tuple(seqs), orders, now
            await self._scanned(current())  # what moved while they were written

    def saved(self, state: RiskState, now: float, last_fact: Fact | None,
              facts_through: int) -> RiskStateSaved:
        """The save's own row for ``state`` (already ``persisted``): whole, or naming
        the slices with what changed since them. Whole too when the slices are
        :data:`PARTS_MAX_AGE_S` old: a save that writes none first (one made at once,
        ``SaveRule.urgent``) never names rows older than that."""
        if self.inline(state.open_orders) or now - self._written_at >= self._max_age_s:
            if self.seqs:  # the slices would keep every order they hold alive
                self.seqs, self._orders, self._last = (), {}, None
            return RiskStateSaved(ts=now, state=state, last_fact=last_fact,
                                  facts_through=facts_through)
        changed, gone = self.delta(state.open_orders)
        self._last = None  # it holds a dict of every open order: not kept past its save
        return RiskStateSavedInParts(
            ts=now, state=msgspec.structs.replace(state, open_orders=changed),
            last_fact=last_fact, facts_through=facts_through,
            order_parts=self.seqs, orders_gone=gone)


def whole(saved: RiskStateSaved, parts: Sequence[Mapping[str, OpenOrder]]) -> RiskStateSaved:
    """A save with its open orders put back together from ``parts`` (the slices it
    names, in order): the slices' orders, less those gone, with those changed since
    in their place (a new one last, as the engine's dict has it)."""
    if not isinstance(saved, RiskStateSavedInParts):
        return saved
    orders: dict[str, OpenOrder] = {}
    for part in parts:
        orders.update(part)
    for request_id in saved.orders_gone:
        orders.pop(request_id, None)
    orders.update(saved.state.open_orders)
    state = msgspec.structs.replace(saved.state, open_orders=orders)
    return RiskStateSaved(ts=saved.ts, state=state, last_fact=saved.last_fact,
                          facts_through=saved.facts_through)
