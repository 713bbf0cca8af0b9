"""The order gate: the one place the gateway asks ALLOW or DENY.

The gateway calls :meth:`OrderGate.decide` synchronously on its hot path and
journals the answer before the bot sees it. The risk engine registers itself as
the gate when it starts; until then, and whenever it is gone, the
:class:`ClosedGate` answers every order with DENY (fail closed).
"""

from __future__ import annotations

from typing import NamedTuple, Protocol, runtime_checkable

from bus.protocol import (
    DecisionCode,
    Fill,
    Heartbeat,
    OrderDecision,
    OrderRequest,
    OrderUpdate,
    TradingState,
    make_decision,
)

Fact = Heartbeat | Fill | OrderUpdate
"""What a bot reports that moves the risk state: the facts the engine takes."""


class MultiplierNote(NamedTuple):
    """Who set the risk multiplier, why, and how it ends; told to a bot in ``welcome``."""

    by: str = ""
    reason: str = ""
    until: str = ""


class OrderGate(Protocol):
    """What the gateway needs from whoever decides orders."""

    @property
    def trading_state(self) -> TradingState: ...

    @property
    def risk_multiplier(self) -> float: ...

    @property
    def risk_multiplier_note(self) -> MultiplierNote: ...

    def decide(self, order: OrderRequest, now: float) -> OrderDecision:
        """Answer one order; must not block and should not raise."""
        ...


@runtime_checkable
class FactCounter(Protocol):
    """A gate that counts the heartbeats, fills and order updates it has taken from
    the bus, so the gateway can tell when it decides ahead of some (journaled as
    ``DecidedAheadOfFacts`` for ``kernel replay``)."""

    @property
    def facts_taken(self) -> int: ...

    @property
    def facts_epoch(self) -> int:
        """Changes when the gate's count starts over at a new fence (facts sent to it
        were lost on the way): the gateway then compares from there on."""
        ...

    @property
    def facts_queued(self) -> int:
        """Facts sent before the gate's count began (before its gate opened) that were
        still queued for it then and are not taken yet: the gateway's count starts
        after them, so it adds them when it journals an order decided ahead of facts."""
        ...


@runtime_checkable
class PerBotFactCounter(Protocol):
    """A fleet's gate: each bot's own engine counts the facts of its bot, so the
    gateway compares a bot's facts with its engine's (``counter_of``: None while that
    engine is not running)."""

    def counter_of(self, bot_id: str) -> FactCounter | None: ...


@runtime_checkable
class MarkTaker(Protocol):
    """A gate that can take a heartbeat's marks synchronously (the risk engine).

    The gateway hands it the first heartbeat of each link before the heartbeat goes
    to the bus, so that a new session's first order is judged on that session's
    marks rather than on the marks of a bot that went away (``stale_feed``).
    """

    def take_marks(self, heartbeat: Heartbeat, now: float) -> None:
        """Put the marks in force; must not block and should not raise."""
        ...


@runtime_checkable
class FactTaker(Protocol):
    """A gate that can take a fact on the gateway's path, where the gateway reads it.

    The gateway offers a heartbeat, fill or order update only when the gate has taken
    every earlier one (``kernel._gateway_facts.FactsBehind`` says 0), right after
    journaling it with ``now`` as the row's time, so the engine takes facts in the
    journal's order and at the journal's time (what ``kernel replay`` does), and the
    next order is never decided ahead of it. The gate answers False, changing
    nothing, when the fact must go the bus way: its pure result carries events to
    save and publish first, or a side effect is due; that fact, and every later one
    until the engine has caught up, then reaches the engine over the bus as before.
    """

    def take_fact(self, fact: Fact, now: float) -> bool:
        """Apply ``fact`` now and say so (True), or leave it to the bus (False);
        must not block and should not raise."""
        ...


@runtime_checkable
class PerBotGate(Protocol):
    """A gate of several bots (the fleet's): a bot's ``welcome`` tells its own trading
    state and multiplier, not the fleet's."""

    def for_bot(self, bot_id: str) -> OrderGate:
        """The gate as ``bot_id`` sees it; must not raise."""
        ...


class ClosedGate:
    """Denies every order with a fixed code and reason: the fail-closed default."""

    def __init__(
        self,
        *,
        code: DecisionCode = "risk_engine_unavailable",
        reason: str = "the risk engine is not running, so no order can be checked; "
        "trading is closed until it is",
        trading_state: TradingState = "HALTED",
    ) -> None:
        self._code: DecisionCode = code
        self._reason = reason
        self._state: TradingState = trading_state

    @property
    def trading_state(self) -> TradingState:
        return self._state

    @property
    def risk_multiplier(self) -> float:
        """Neutral: the DENYs already stop trading, and a bot that read 0 here in
        its welcome would keep trading nothing after the gate opens."""
        return 1.0

    @property
    def risk_multiplier_note(self) -> MultiplierNote:
        return MultiplierNote(by="kernel", reason=f"the gate is closed ({self._code}): every "
                              "order is denied, whatever the multiplier")

    def decide(self, order: OrderRequest, now: float) -> OrderDecision:
        return deny(order, code=self._code, reason=self._reason, trading_state=self._state,
                    now=now)


def deny(
    order: OrderRequest, *, code: DecisionCode, reason: str, trading_state: TradingState,
    now: float,
) -> OrderDecision:
    """A DENY for ``order`` made at ``now`` (the gateway's own failures use it too)."""
    return make_decision(request_id=order.request_id, verdict="DENY", reason=reason, code=code,
                         trading_state=trading_state, bot_id=order.bot_id, ts=now)
