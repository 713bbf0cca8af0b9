"""The risk engine's state, each change of it told to the fleet's gate.

In a fleet the portfolio's veto keeps running totals of every bot's figures
(``risk.tally``). It used to find the states that changed since the last order by
comparing every engine's state with the one it last took in, on every order: some 4 %
of the loop's time with 20 bots (docs/perf/gate-stages.md, "Issue 19"). Now each
engine tells the gate (``FleetGate.moved``) and the totals look at those alone.

The engine assigns ``self._state`` in many places; this property is the one place all
of them pass through, so no path that moves the state can leave the sums behind. It
reads ``self._current`` (the same object, without the property's call) and never
assigns it (``tests/unit/test_risk_tracked.py`` reads the engine's source to hold it so).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from risk.state import RiskState

if TYPE_CHECKING:
    from agents.risk.fleet import FleetGate


class TrackedState:
    """``_state``, stored as ``_current``; see the module docstring."""

    tells_moves: ClassVar[bool] = True
    """Read by ``FleetGate``: holders without it (test doubles) are compared instead."""
    _current: RiskState
    _fleet: FleetGate | None
    _bot_id: str

    @property
    def _state(self) -> RiskState:
        return self._current

    @_state.setter
    def _state(self, state: RiskState) -> None:
        self._current = state
        if self._fleet is not None:
            self._fleet.moved(self._bot_id)
