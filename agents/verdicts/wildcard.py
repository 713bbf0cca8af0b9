"""The Wild Card verdict adapter: what could blindside a trade in each symbol, now.

On every market snapshot it runs the built-in Wild Card analysis (the event
calendar in ``config/events.yaml``, volatility spikes, wide ranges, gaps,
weekends) for the live style's horizon, and publishes on
``verdict.current.wildcard`` either that or an external agent's verdict from
``verdict.wildcard`` while it is fresh.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from agents.verdicts._adapter import VerdictAdapter
from agents.verdicts._selection import Kind
from agents.verdicts.slice import WildCardSlice
from bus.protocol import Message
from planner.messages import MarketSnapshot, WildCardVerdict
from planner.validation import field_problem, snapshot_problems
from planner.wildcard import analyze_wildcard


class WildCardAdapter(VerdictAdapter[WildCardVerdict]):
    name: ClassVar[str] = "wildcard_adapter"
    kind: ClassVar[Kind] = "wildcard"
    subscriptions: ClassVar[tuple[str, ...]] = ("market.snapshot", "verdict.wildcard")

    def __init__(self, *, config: WildCardSlice) -> None:
        super().__init__(config=config)
        self._events = config.events

    async def handle(self, message: Message) -> Sequence[Message]:
        match message:
            case MarketSnapshot():
                self._analyse(message)
            case WildCardVerdict():
                return self.offer_external(message, message.symbol)
        return ()

    def _analyse(self, snapshot: MarketSnapshot) -> None:
        if field_problem(snapshot, "snapshot") or snapshot_problems(snapshot):
            return  # the planner refuses it with the reason; there is nothing to scan
        verdict = analyze_wildcard(snapshot, self.live.style, self._events, self.now(),
                                   self.planner.wildcard)
        self.set_builtin(snapshot.symbol, verdict)
