"""How far the deciding engine is behind the facts the gateway put on the bus.

The gateway decides an order synchronously, while the heartbeats, fills and order
updates it read before that order reach the risk engine over the bus, a loop turn
or more later. When an order is decided before the engine took them all, the
journal says so (``DecidedAheadOfFacts``), so ``kernel replay`` can decide it on
the same facts. Only a gate that counts what it took can be compared: the one
bot's engine (``kernel.gate.FactCounter``), compared from when it was installed;
or, in a fleet (``kernel.gate.PerBotFactCounter``), each bot's own engine against
that bot's facts alone, each engine instance compared from the first fact or order
of its bot the gateway meets after it started.

Behind is the exception, not the rule: when the gate has taken every earlier fact
and can take facts itself (``kernel.gate.FactTaker``, the risk engine), the gateway
offers it each new fact right after journaling it, on its own path, so the next
order is decided on it and needs no ``DecidedAheadOfFacts`` row. A fact the gate
leaves to the bus (its result carries events) makes it behind again, and every later
fact goes the bus way until the engine has caught up: facts are always taken in the
journal's order (docs/risk.md, "Facts on the gateway's path").
"""

from __future__ import annotations

import logging
from typing import Final

from bus.protocol import Fill, Heartbeat, Message, OrderRequest, OrderUpdate
from kernel.events import DecidedAheadOfFacts
from kernel.gate import FactCounter, FactTaker, OrderGate, PerBotFactCounter

log = logging.getLogger("kernel.gateway")

_FACTS: Final = (Heartbeat, Fill, OrderUpdate)
"""The fact types as a tuple: ``isinstance`` with ``Heartbeat | Fill | OrderUpdate``
builds that union again at every call, twice for every fact the gateway reads."""


class FactsBehind:
    """Facts sent to the bus, against those the installed gate has taken."""

    def __init__(self) -> None:
        self.sent = 0
        """Heartbeats, fills and order updates put on the bus, for the engine to take."""
        self._counter: FactCounter | None = None
        self._base = 0
        """Facts sent before the installed gate started counting."""
        self._epoch = 0
        """The installed gate's ``facts_epoch`` that ``_base`` belongs to."""
        self._fleet: PerBotFactCounter | None = None
        self._sent_by: dict[str, int] = {}
        """In a fleet: facts sent per bot (the fleet's configured ids alone reach here)."""
        self._bases: dict[str, tuple[FactCounter, int, int]] = {}
        """In a fleet: per bot, its engine instance, the facts sent before it counted,
        and the count's ``facts_epoch``."""
        self._taker: FactTaker | None = None
        self.offered = self.taken = 0
        """Facts offered to the gate on the gateway's path, and those it took there."""

    def installed(self, gate: OrderGate | None) -> None:
        """A new gate decides from now on; a counting one is compared from here."""
        self._fleet = gate if isinstance(gate, PerBotFactCounter) else None
        self._taker = gate if isinstance(gate, FactTaker) else None
        if isinstance(gate, FactCounter):
            if gate is not self._counter:
                self._counter, self._base = gate, self.sent - gate.facts_taken
                self._epoch = gate.facts_epoch
        else:
            self._counter = None

    def count(self, message: Message, *, now: float) -> None:
        """``message`` went to the bus; a heartbeat, fill or order update is a fact,
        offered to the gate at ``now`` (its row's time) when the gate has taken every
        earlier one (:meth:`caught_up`; journaling it cannot have changed that).
        ``message`` is the very object emitted: the engine knows its bus copy by
        identity (``agents.risk._taken``), so it is offered as it is, never rebuilt."""
        if isinstance(message, _FACTS):
            if self._taker is not None and self._caught_up(message):
                self._offer(self._taker, message, now)
            self.sent += 1
            if self._fleet is not None:
                bot_id = message.bot_id
                self._compared(bot_id)  # an engine new since: compared from before this
                self._sent_by[bot_id] = self._sent_by.get(bot_id, 0) + 1

    def behind(self) -> int:
        """How many facts the gate has not taken yet; 0 when it cannot tell. A gate whose
        count started over (its ``facts_epoch`` changed: facts were lost on the way to
        it) is compared from here: the facts sent so far count as before its new fence."""
        counter = self._counter
        if counter is None:
            return 0
        if counter.facts_epoch != self._epoch:
            self._base, self._epoch = self.sent - counter.facts_taken, counter.facts_epoch
        return self.sent - self._base - counter.facts_taken

    def behind_of(self, bot_id: str) -> int:
        """In a fleet, how many of ``bot_id``'s facts its engine has not taken yet; 0
        when it cannot tell (no fleet gate, or that engine is not running)."""
        kept = self._compared(bot_id)
        if kept is None:
            return 0
        return self._sent_by.get(bot_id, 0) - kept[1] - kept[0].facts_taken

    def _compared(self, bot_id: str) -> tuple[FactCounter, int, int] | None:
        """``bot_id``'s running engine and the facts sent before it counted: an engine
        seen for the first time (a start, a restart), or whose count started over, is
        compared from here on."""
        counter = None if self._fleet is None else self._fleet.counter_of(bot_id)
        if counter is None:
            self._bases.pop(bot_id, None)
            return None
        kept = self._bases.get(bot_id)
        if kept is None or kept[0] is not counter or kept[2] != counter.facts_epoch:
            kept = self._bases[bot_id] = (
                counter, self._sent_by.get(bot_id, 0) - counter.facts_taken,
                counter.facts_epoch)
        return kept

    def caught_up(self, message: Message) -> bool:
        """True when ``message`` is a fact and the gate can tell it has taken every
        fact sent before it (of its bot's, in a fleet): the one moment a fact may be
        taken on the gateway's path without overtaking one still on the bus. Exactly
        0, never less: a count beyond what was sent means facts from elsewhere were
        counted, and then the bus keeps the order."""
        if self._taker is None or not isinstance(message, _FACTS):
            return False
        return self._caught_up(message)

    def _caught_up(self, message: Heartbeat | Fill | OrderUpdate) -> bool:
        """:meth:`caught_up` for a fact, with a gate that takes facts."""
        if self._fleet is not None:
            bot_id = message.bot_id
            return self._compared(bot_id) is not None and self.behind_of(bot_id) == 0
        return self._counter is not None and self.behind() == 0

    def _offer(self, taker: FactTaker, fact: Heartbeat | Fill | OrderUpdate,
               now: float) -> None:
        self.offered += 1
        try:
            self.taken += taker.take_fact(fact, now)
        except Exception:  # the fact is on the bus: the engine takes it there as before
            log.exception("order gate failed to take a %s on the gateway's path",
                          type(fact).__name__)

    def ahead(self, order: OrderRequest, now: float) -> DecidedAheadOfFacts | None:
        """The row to journal when ``order`` is decided ahead of some facts; None when
        the gate has taken them all, the common case. Besides those counted here, the
        facts sent before the engine's gate opened that were still queued for it then
        and have not reached it yet (``FactCounter.facts_queued``): the count here
        starts after them, and the replay must hold them back too."""
        if self._fleet is not None:
            kept = self._compared(order.bot_id)
            behind = 0 if kept is None else self.behind_of(order.bot_id) + kept[0].facts_queued
            if behind <= 0:
                return None
            return DecidedAheadOfFacts(request_id=order.request_id[:64], facts=behind,
                                       ts=now, bot_id=order.bot_id)
        counter = self._counter
        behind = 0 if counter is None else self.behind() + counter.facts_queued
        if behind <= 0:
            return None
        return DecidedAheadOfFacts(request_id=order.request_id[:64], facts=behind, ts=now)
