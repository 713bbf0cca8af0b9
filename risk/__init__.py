"""The global risk engine: pure limit rules over an immutable risk state.

No I/O and no clock: every function takes the time it should act at. The gate
(an actor in ``agents/``) keeps the current ``RiskState``, calls ``decide`` for
each order request, feeds heartbeats, fills and order updates through
``apply_heartbeat``, ``apply_fill`` and ``apply_order_update``, runs
``check_limits`` on a timer, publishes the events these return, and persists
the state. See ``docs/risk.md``.
"""

from risk.breakers import check_limits
from risk.decision import CODES, Decision, order_decision
from risk.engine import apply_decision, decide, evaluate
from risk.fills import apply_fill, apply_mark
from risk.heartbeat import apply_heartbeat, take_marks
from risk.lifecycle import (
    Step,
    after_restart,
    halt,
    initial_state,
    reduce,
    resume,
    roll_day,
    set_risk_multiplier,
)
from risk.limits import LossLimit, MultiplierBounds, ReconcileLimits, RiskLimits, SymbolLimits
from risk.messages import RiskEvent, RiskStateSnapshot
from risk.orders import apply_order_update
from risk.replay import OrderFact, replay
from risk.snapshot import snapshot
from risk.state import RiskState

__all__ = [
    "CODES",
    "Decision",
    "LossLimit",
    "MultiplierBounds",
    "OrderFact",
    "ReconcileLimits",
    "RiskEvent",
    "RiskLimits",
    "RiskState",
    "RiskStateSnapshot",
    "Step",
    "SymbolLimits",
    "after_restart",
    "apply_decision",
    "apply_fill",
    "apply_heartbeat",
    "apply_mark",
    "apply_order_update",
    "check_limits",
    "decide",
    "evaluate",
    "halt",
    "initial_state",
    "order_decision",
    "reduce",
    "replay",
    "resume",
    "roll_day",
    "set_risk_multiplier",
    "snapshot",
    "take_marks",
]
