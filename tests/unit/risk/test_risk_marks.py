"""Marks of flat symbols from the heartbeat's ``marks``, and the watchdog's halt.

A bot that lists only its open positions (as the reference bot does) gives the
engine no mark for a symbol it holds nothing in; ``marks`` fills that gap, and
old bots that do not send it still decode and are still refused, fail closed.
"""

from __future__ import annotations

from decimal import Decimal

import msgspec

from bus.codec import bot_frame_decoder
from bus.protocol import Heartbeat
from risk import apply_heartbeat, evaluate, halt, initial_state, resume
from tests.unit.risk.risk_world import NOW, limits, order


def beat(marks: dict[str, float], **fields: object) -> Heartbeat:
    base: dict[str, object] = dict(bot_id="qe", seq=1, ts=NOW, uptime_s=1.0, equity=10_000.0,
                                   realized_pnl=0.0, unrealized_pnl=0.0, positions=[],
                                   last_tick_ts=NOW, marks=marks)
    return Heartbeat(**{**base, **fields})  # type: ignore[arg-type]


def test_a_flat_symbol_can_be_opened_once_its_mark_is_known() -> None:
    lim = limits()
    unmarked, _ = apply_heartbeat(initial_state(lim, NOW), beat({}), lim, NOW)
    assert evaluate(order(), unmarked, lim, NOW).code == "no_mark_price"
    marked, _ = apply_heartbeat(initial_state(lim, NOW), beat({"BTCUSDT": 50_000.0}), lim, NOW)
    assert marked.positions["BTCUSDT"].mark_price == Decimal(50_000)
    assert marked.positions["BTCUSDT"].qty == 0
    assert evaluate(order(), marked, lim, NOW).code == "allowed"


def test_a_positions_own_mark_wins_over_the_marks_map() -> None:
    lim = limits()
    hb = bot_frame_decoder.decode(msgspec.json.encode({
        "type": "heartbeat", "bot_id": "qe", "seq": 1, "ts": NOW, "uptime_s": 1,
        "equity": 10_000, "realized_pnl": 0, "unrealized_pnl": 0, "last_tick_ts": NOW,
        "positions": [{"symbol": "BTCUSDT", "qty": 0.1, "avg_price": 50_000,
                       "mark_price": 50_100}],
        "marks": {"BTCUSDT": 49_000, "ETHUSDT": 2_500}}))
    assert isinstance(hb, Heartbeat)
    state, _ = apply_heartbeat(initial_state(lim, NOW), hb, lim, NOW)
    assert state.positions["BTCUSDT"].mark_price == Decimal(50_100)
    assert state.positions["ETHUSDT"].mark_price == Decimal(2_500)


def test_an_impossible_mark_refuses_the_whole_heartbeat() -> None:
    lim = limits()
    start = initial_state(lim, NOW)
    state, events = apply_heartbeat(start, beat({"BTCUSDT": float("nan")}), lim, NOW)
    assert state == start
    assert [e.kind for e in events] == ["invalid_heartbeat"]


def test_a_heartbeat_without_marks_from_an_older_bot_still_decodes() -> None:
    old = {"type": "heartbeat", "bot_id": "qe", "seq": 1, "ts": NOW, "uptime_s": 1,
           "equity": 10_000, "realized_pnl": 0, "unrealized_pnl": 0}
    hb = bot_frame_decoder.decode(msgspec.msgpack.encode(old))
    assert isinstance(hb, Heartbeat) and hb.marks == {}


def test_a_halt_by_the_watchdog_carries_its_own_code_and_a_person_resumes() -> None:
    lim = limits()
    state, _ = apply_heartbeat(initial_state(lim, NOW), beat({"BTCUSDT": 50_000.0}), lim, NOW)
    halted, events = halt(state, "the bot crashed 4 times", NOW, code="bot_gave_up",
                          by="watchdog")
    assert [(r.code, r.text) for r in halted.reasons] == [("bot_gave_up",
                                                          "the bot crashed 4 times")]
    assert [(e.by, e.current) for e in events] == [("watchdog", "HALTED")]
    resumed, _ = resume(halted, "bot fixed", lim, NOW)
    assert resumed.trading_state == "ACTIVE"
