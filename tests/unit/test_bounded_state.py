"""Every per-key structure a bot's input can grow stops at its documented bound.

One test per cache: adding the key after the last one the bound allows evicts the
oldest (docs/architecture.md, "Bounded state", lists each with its bound).
"""

from __future__ import annotations

from typing import Any

import msgspec
import pytest
import zmq

from agents.alerts.metrics import BOTS_MAX, Metrics
from agents.audit.rules import KEYS_MAX, PENDING_MAX, AnomalyRules
from bus.codec import Header
from bus.protocol import Heartbeat, OrderDecision, Position
from bus.pubsub import BusFrame
from kernel._gateway_faults import KINDS_KEPT, FaultReporter
from kernel._gateway_sessions import (
    LINK_BURST,
    LINK_FRAMES_PER_S,
    ONE_BOT_SESSIONS,
    BotSession,
    LinkBudget,
    SessionTable,
)
from kernel._state_cache import KEYS_KEPT, StateCache
from kernel.bounded import BoundedDict
from risk import decide
from risk.engine import BUCKETS_MAX
from risk.ledger import SYMBOLS_MAX, with_marks
from risk.state import PositionState
from tests.unit.risk.risk_world import NOW, limits, order, ready
from tests.unit.test_audit_rules import CFG


def test_a_bounded_dict_evicts_the_least_recently_written_key() -> None:
    kept: BoundedDict[str, int] = BoundedDict(3)
    for i, key in enumerate("abc"):
        kept[key] = i
    kept["a"] = 10  # written again: now the newest
    kept["d"] = 3
    assert list(kept) == ["c", "a", "d"] and kept.evicted == 1
    assert kept.setdefault("e", 4) == 4 and "c" not in kept and len(kept) == 3
    assert kept.setdefault("e", 5) == 4


def test_a_bounded_dict_needs_room_for_one_key() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        BoundedDict(0)


def _session(n: int, seen: float) -> BotSession:
    return BotSession(identity=b"link-%d" % n, bot_id=f"bot-{n}", mode="paper", pid=n,
                      version="", json=True, connected_at=seen, last_seen=seen)


def test_the_session_table_forgets_the_least_recently_heard_link() -> None:
    table = SessionTable()
    assert table.limit == ONE_BOT_SESSIONS
    for n in range(ONE_BOT_SESSIONS):
        table.register(_session(n, seen=100.0 + n))
    table.seen(b"link-0", 500.0)  # heard again: kept
    table.register(_session(99, seen=600.0))
    assert len(table) == ONE_BOT_SESSIONS
    assert table.get(b"link-1") is None and table.get(b"link-0") is not None
    assert table.get(b"link-99") is not None


def test_a_fleet_session_table_holds_one_link_per_configured_bot() -> None:
    table = SessionTable(2)
    for n in range(3):
        table.register(_session(n, seen=float(n)))
    assert [s.bot_id for s in table.all()] == ["bot-1", "bot-2"]


class _Emitter:
    source = "gateway"

    def __init__(self) -> None:
        self.emitted: list[Any] = []

    def emit(self, message: Any) -> None:
        self.emitted.append(message)


def test_the_fault_reporter_counts_a_bounded_number_of_kinds() -> None:
    faults = FaultReporter(_Emitter(), lambda: 1.0)  # type: ignore[arg-type]
    for n in range(KINDS_KEPT + 1):
        faults.report(f"kind-{n}", "warning", "x")
    assert len(faults.counts) == KINDS_KEPT and "kind-0" not in faults.counts
    assert len(faults._window) == KINDS_KEPT


def test_the_state_cache_keeps_a_bounded_number_of_keys() -> None:
    context: zmq.Context[Any] = zmq.Context()
    try:
        cache = StateCache(context, fleet=True)
        for n in range(KEYS_KEPT + 1):
            payload = msgspec.msgpack.encode({"type": "risk_state", "bot_id": f"b{n}"})
            cache._keep(BusFrame(topic="risk.state", payload=payload, header=Header("risk")))
        assert len(cache.latest) == KEYS_KEPT
        assert "risk.state" in cache.latest and "risk.state/b0" not in cache.latest
        cache.stop()
    finally:
        context.term()


def _denied(n: int) -> OrderDecision:
    return OrderDecision(request_id=f"r{n}", verdict="DENY", reason="r",
                         code="identity_mismatch", trading_state="ACTIVE", bot_id=f"claimed-{n}")


def test_the_auditor_keeps_denial_windows_for_a_bounded_number_of_bots() -> None:
    rules = AnomalyRules(CFG)
    for n in range(KEYS_MAX + 1):
        rules.observe(_denied(n), 1000.0)
    assert len(rules._denials) == KEYS_MAX


def test_the_auditor_keeps_a_bounded_number_of_requests_awaiting_a_decision() -> None:
    rules = AnomalyRules(CFG)
    for n in range(PENDING_MAX + 1):
        rules.observe(order(request_id=f"p{n}"), 1000.0)
    assert len(rules._pending) == PENDING_MAX and "p0" not in rules._pending


def test_the_auditor_keeps_a_bounded_number_of_beating_bots() -> None:
    rules = AnomalyRules(CFG)
    for n in range(KEYS_MAX + 1):
        rules.observe(Heartbeat(bot_id=f"b{n}", seq=1, ts=1000.0, uptime_s=1, equity=1,
                                realized_pnl=0, unrealized_pnl=0), 1000.0)
    assert len(rules._bots) == KEYS_MAX and "b0" not in rules._bots


def test_the_metrics_keep_a_bounded_number_of_heartbeat_ages() -> None:
    metrics = Metrics()
    for n in range(BOTS_MAX + 1):
        metrics.observe(Heartbeat(bot_id=f"b{n}", seq=1, ts=1.0, uptime_s=1, equity=1,
                                  realized_pnl=0, unrealized_pnl=0), 1.0)
    assert len(metrics._beats) == BOTS_MAX


def test_the_engine_keeps_a_bounded_number_of_rate_buckets() -> None:
    lim = limits(max_orders_per_second=1000.0, max_notional_per_symbol=1e9, max_leverage=1e3)
    state = ready(lim)
    for n in range(BUCKETS_MAX + 1):
        decision, state = decide(order(qty=0.001, bot_id=f"b{n}"), state, lim, NOW)
        assert decision.allowed, decision.reason
    assert len(state.buckets) == BUCKETS_MAX and "b0" not in state.buckets


def test_the_ledger_forgets_the_oldest_flat_marks_and_never_a_held_position() -> None:
    held = {"HELD": PositionState(qty=msgspec.convert("1", type=type(PositionState().qty)))}
    rows = [Position(symbol=f"S{n}", qty=0, avg_price=1, mark_price=1) for n in range(SYMBOLS_MAX)]
    after = with_marks(held, rows, tick_ts=NOW)
    assert len(after) == SYMBOLS_MAX and "HELD" in after and "S0" not in after
    assert f"S{SYMBOLS_MAX - 1}" in after


def test_a_link_budget_refuses_the_frame_beyond_its_burst_and_refills_with_time() -> None:
    budget = LinkBudget(ts=10.0)
    assert all(budget.spend(10.0) for _ in range(int(LINK_BURST)))
    assert not budget.spend(10.0) and budget.refused == 1
    assert budget.spend(10.0 + 1 / LINK_FRAMES_PER_S)  # one frame's worth of time later
    assert not budget.spend(10.0 + 1 / LINK_FRAMES_PER_S)
