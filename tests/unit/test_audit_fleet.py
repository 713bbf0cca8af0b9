"""``kernel report`` in a fleet: per-bot sections beside the portfolio's total."""

from __future__ import annotations

from decimal import Decimal

from agents.audit.markdown import render
from bus.protocol import Fill, OrderDecision, OrderRequest
from risk.messages import RiskStateSnapshot
from tests.unit.test_audit_figures import T0, Day


def trade(day: Day, bot: str, rid: str, side: str, price: float) -> None:
    day.add(OrderRequest(request_id=rid, bot_id=bot, ts=T0, symbol="BTCUSDT",
                         side=side, qty=0.1, price=price))  # type: ignore[arg-type]
    day.add(OrderDecision(request_id=rid, verdict="ALLOW", reason="r", code="allowed",
                          trading_state="ACTIVE", bot_id=bot))
    day.add(Fill(request_id=rid, symbol="BTCUSDT", side=side, qty=0.1,  # type: ignore[arg-type]
                 price=price, ts=T0, fee=1.0, bot_id=bot))


def test_two_bots_get_a_section_each_and_the_total_sums_them() -> None:
    day = Day()
    day.beat(10_000, bot="a")
    day.beat(20_000, bot="b")
    trade(day, "a", "a1", "buy", 60_000)
    trade(day, "a", "a2", "sell", 61_000)  # +100, fees 2
    trade(day, "b", "b1", "buy", 60_000)
    trade(day, "b", "b2", "sell", 59_500)  # -50, fees 2
    day.beat(10_098, bot="a")
    day.beat(19_948, bot="b")
    audit = day.audit()
    a, b = audit.per_bot["a"], audit.per_bot["b"]
    assert (a.pnl.realized_pnl, b.pnl.realized_pnl) == (Decimal(98), Decimal(-52))
    assert (a.pnl.start_equity, b.pnl.end_equity) == (Decimal(10_000), Decimal(19_948))
    assert (a.trades.wins, b.trades.losses, a.orders.requested) == (1, 1, 2)
    assert audit.pnl.realized_pnl == Decimal(46)  # the portfolio's total
    assert audit.pnl.start_equity == Decimal(30_000)
    text = render(audit)
    assert "## Per bot (the figures above are the portfolio's total)" in text
    assert "| a | 10,000.00 | 10,098.00 | 98.00 | 2.00 | 1 | 100.00% | 2 | 0 |" in text


def test_one_bot_has_no_per_bot_section() -> None:
    day = Day()
    day.beat(10_000)
    trade(day, "qe", "r1", "buy", 60_000)
    audit = day.audit()
    assert audit.per_bot == {} and "Per bot" not in render(audit)


def _snapshot(bot: str, state: str, max_daily_loss: int) -> RiskStateSnapshot:
    return RiskStateSnapshot(ts=T0, day="d", trading_state=state,  # type: ignore[arg-type]
                             max_leverage=Decimal(3), max_daily_loss=Decimal(max_daily_loss),
                             bot_id=bot)


def test_the_limits_in_force_are_each_bots_own() -> None:
    """The newest snapshot of the day is one bot's: it must not stand for the other's."""
    day = Day()
    day.add(_snapshot("a", "HALTED", 300), source="risk.a")
    day.add(_snapshot("b", "ACTIVE", 500), source="risk.b")
    day.add(_snapshot("b", "ACTIVE", 500), source="risk.b")  # the newest
    limits = day.audit().limits_in_force
    assert limits["bot:a trading_state"] == "HALTED" and limits["bot:a max_daily_loss"] == "300"
    assert limits["bot:b trading_state"] == "ACTIVE" and limits["bot:b max_daily_loss"] == "500"
    assert "trading_state" not in limits
    assert "| bot:a max_daily_loss | 300 |" in render(day.audit())


def test_one_bots_limits_keep_their_names() -> None:
    day = Day()
    day.add(_snapshot("", "ACTIVE", 300), source="risk")
    assert day.audit().limits_in_force["max_daily_loss"] == "300"
