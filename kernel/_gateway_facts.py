"""How far the deciding engine is behind the facts the gateway put on the bus.

The gateway decides an order synchronously, while the heartbeats, fills and order
updates it read before that order reach the risk engine over the bus, a loop turn
or more later. When an order is decided before the engine took them all, the
journal says so (``DecidedAheadOfFacts``), so ``kernel replay`` can decide it on
the same facts. Only a gate that counts what it took (``kernel.gate.FactCounter``,
the one bot's engine) can be compared; the check is made once per gate installed,
not per order.
"""

from __future__ import annotations

from bus.protocol import OrderRequest
from kernel.events import DecidedAheadOfFacts
from kernel.gate import FactCounter, OrderGate


class FactsBehind:
    """Facts sent to the bus, against those the installed gate has taken."""

    def __init__(self) -> None:
        self.sent = 0
        """Heartbeats, fills and order updates put on the bus, for the engine to take."""
        self._counter: FactCounter | None = None
        self._base = 0
        """Facts sent before the installed gate started counting."""

    def installed(self, gate: OrderGate | None) -> None:
        """A new gate decides from now on; a counting one is compared from here."""
        if isinstance(gate, FactCounter):
            if gate is not self._counter:
                self._counter, self._base = gate, self.sent - gate.facts_taken
        else:
            self._counter = None

    def behind(self) -> int:
        """How many facts the gate has not taken yet; 0 when it cannot tell."""
        counter = self._counter
        return 0 if counter is None else self.sent - self._base - counter.facts_taken

    def ahead(self, order: OrderRequest, now: float) -> DecidedAheadOfFacts | None:
        """The row to journal when ``order`` is decided ahead of some facts; None when
        the gate has taken them all, the common case."""
        behind = self.behind()
        if behind <= 0:
            return None
        return DecidedAheadOfFacts(request_id=order.request_id[:64], facts=behind, ts=now)
