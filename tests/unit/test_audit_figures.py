"""The daily figures on a hand-built journal, against numbers worked out by hand here."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from agents.audit.figures import Book, Chain, Event, daily_audit
from agents.audit.messages import DailyAuditCompleted
from agents.watchdog.messages import BotExited, ModeChanged, TradingHaltRequested
from bus.protocol import Fill, Heartbeat, Hello, Message, OrderDecision, OrderRequest, Side
from kernel.events import (
    ActorStatusChanged,
    AnomalyDetected,
    BotLifecycleChanged,
    OperatorCommandIssued,
)
from risk.messages import LimitTripped, RiskAnomalyDetected, TradingStateChanged
from risk.state import PositionState

DAY = "2024-05-01"
T0 = datetime(2024, 5, 1, 9, 0, tzinfo=UTC).timestamp()
NO_CHAIN = Chain(None, "")


class Day:
    """Builds a journal of typed events, one second apart, seq from 1."""

    def __init__(self) -> None:
        self.events: list[Event] = []

    def add(self, message: Message, source: str = "gateway") -> None:
        self.events.append(Event(len(self.events) + 1, T0 + len(self.events), source, message))

    def beat(self, equity: float, unrealized: float = 0.0, bot: str = "qe") -> None:
        self.add(Heartbeat(bot_id=bot, seq=len(self.events), ts=T0, uptime_s=1.0,
                           equity=equity, realized_pnl=0.0, unrealized_pnl=unrealized))

    def order(self, rid: str, side: Side, qty: float, price: float, symbol: str = "BTCUSDT",
              *, verdict: str = "ALLOW", code: str = "ok", fee: float | None = None) -> None:
        self.add(OrderRequest(request_id=rid, bot_id="qe", ts=T0, symbol=symbol, side=side,
                              qty=qty, price=price))
        if verdict:
            self.add(OrderDecision(request_id=rid, verdict=verdict,  # type: ignore[arg-type]
                                   reason="r", code=code, trading_state="ACTIVE", bot_id="qe"))
        if fee is not None:
            self.add(Fill(request_id=rid, symbol=symbol, side=side, qty=qty, price=price,
                          ts=T0, fee=fee, bot_id="qe"))

    def audit(self, opening: Book | None = None,
              now: float | None = None) -> DailyAuditCompleted:
        return daily_audit(DAY, "UTC", self.events, opening=opening or {},
                           now=now if now is not None else T0 + 86_400, complete=True,
                           chain=NO_CHAIN)


def a_day_of_trading() -> Day:
    d = Day()
    d.beat(10_000)
    d.order("r1", "buy", 0.1, 60_000, fee=2.4)
    d.beat(10_010)
    d.order("r2", "sell", 0.1, 60_200, fee=2.408)       # trade 1: 20 - 2.4 - 2.408 = +15.192
    d.beat(10_015.192)
    d.order("r3", "buy", 1, 3_000, "ETHUSDT", fee=1.2)
    d.beat(9_980)
    d.order("r4", "sell", 1, 2_970, "ETHUSDT", fee=1.188)  # trade 2: -30 - 1.2 - 1.188 = -32.388
    d.beat(9_982.804)
    d.order("r5", "buy", 0.1, 60_000, verdict="DENY", code="daily_loss_limit")
    d.order("r6", "buy", 0.1, 60_000, verdict="DENY", code="halted")
    d.order("r6b", "buy", 0.1, 60_000, verdict="DENY", code="halted")
    d.order("r7", "buy", 0.1, 60_000, verdict="")       # asked, never answered
    d.order("r8", "buy", 0.05, 60_000, fee=1.2)          # still open at the end of the day
    d.beat(9_975.0, unrealized=-6.604)
    return d


def test_pnl_trades_and_win_rate_match_the_hand_computed_numbers() -> None:
    audit = a_day_of_trading().audit()
    pnl, trades = audit.pnl, audit.trades
    assert trades.fills == 5
    assert (trades.trades, trades.wins, trades.losses) == (2, 1, 1)
    assert trades.win_rate_pct == Decimal("50.00")
    assert trades.average_win == trades.largest_win == Decimal("15.192")
    assert trades.average_loss == trades.largest_loss == Decimal("-32.388")
    assert trades.trades_pnl == Decimal("-17.196")
    # realised = both trades, plus the fee of the position still open: 15.192 - 32.388 - 1.2
    assert pnl.realized_pnl == Decimal("-18.396")
    assert pnl.fees == Decimal("8.396")  # 2.4 + 2.408 + 1.2 + 1.188 + 1.2
    assert (pnl.start_equity, pnl.end_equity) == (Decimal("10000"), Decimal("9975.0"))
    assert pnl.unrealized_pnl == Decimal("-6.604")


def test_max_drawdown_is_the_largest_fall_from_the_running_peak() -> None:
    pnl = a_day_of_trading().audit().pnl
    assert pnl.max_drawdown == Decimal("40.192")  # peak 10,015.192, low 9,975.0 after it
    assert pnl.max_drawdown_pct == Decimal("0.40")  # 40.192 / 10,015.192 = 0.4013 %


def test_orders_by_verdict_and_reason_code() -> None:
    orders = a_day_of_trading().audit().orders
    assert (orders.requested, orders.allowed, orders.denied, orders.unanswered) == (9, 5, 3, 1)
    assert orders.denied_by_code == {"halted": 2, "daily_loss_limit": 1}


def test_a_day_without_trading_says_so() -> None:
    d = Day()
    d.beat(10_000)
    d.beat(10_000)
    audit = d.audit()
    assert not audit.traded
    assert audit.trades.trades == 0 and audit.trades.win_rate_pct is None
    assert audit.pnl.realized_pnl == 0 and audit.pnl.max_drawdown == 0
    assert any("No trading" in note for note in audit.notes)


def test_an_empty_day_has_no_equity_rather_than_zero() -> None:
    audit = Day().audit()
    assert audit.rows == 0 and audit.first_seq is None
    assert audit.pnl.start_equity is None and audit.pnl.end_equity is None
    assert audit.pnl.max_drawdown_pct is None


def test_a_trade_opened_yesterday_is_priced_at_its_real_entry() -> None:
    d = Day()
    d.add(Fill(request_id="s1", symbol="SOLUSDT", side="sell", qty=10, price=151, ts=T0,
               fee=0.604, bot_id="qe"))
    opening = {("qe", "SOLUSDT"): PositionState(qty=Decimal(10), avg_price=Decimal(150),
                                                trade_pnl=Decimal("-0.6"))}
    audit = d.audit(opening)
    assert audit.pnl.realized_pnl == Decimal("9.396")  # 10 x (151 - 150) - today's fee
    assert audit.trades.trades == 1
    assert audit.trades.trades_pnl == Decimal("8.796")  # yesterday's fee counts in the trade
    assert any("carried in" in note and "SOLUSDT" in note for note in audit.notes)


def test_two_bots_are_booked_apart_and_their_equity_summed() -> None:
    d = Day()
    d.beat(1_000, bot="a")
    d.beat(2_000, bot="b")
    d.add(Fill(request_id="x", symbol="BTCUSDT", side="buy", qty=1, price=100, ts=T0, bot_id="a"))
    d.add(Fill(request_id="y", symbol="BTCUSDT", side="sell", qty=1, price=110, ts=T0,
               bot_id="b"))  # b opens a short: it does not close a's long
    d.beat(900, bot="a")
    audit = d.audit()
    assert audit.trades.trades == 0
    assert (audit.pnl.start_equity, audit.pnl.end_equity) == (Decimal(3_000), Decimal(2_900))
    assert audit.pnl.max_drawdown == Decimal(100)


def test_limits_halts_modes_operators_bots_and_anomalies_are_listed() -> None:
    d = Day()
    d.add(LimitTripped(code="daily_loss_limit", reason="daily loss 300 reached",
                       value=Decimal(301), limit=Decimal(300), action="close_all", ts=T0), "risk")
    d.add(TradingStateChanged(previous="ACTIVE", current="HALTED", by="limits",
                              cause="daily loss", ts=T0), "risk")
    d.add(TradingHaltRequested(code="bot_hung", reason="no heartbeat", source="watchdog",
                               ts=T0), "watchdog")
    d.add(ModeChanged(previous="demo", mode="paper", requested_by="ops", reason="test", ts=T0))
    d.add(OperatorCommandIssued(action="halt", reason="lunch", user="ann", ts=T0), "operator")
    for state in ("starting", "running", "hung", "restarting", "crashed", "restarting"):
        d.add(BotLifecycleChanged(bot_id="qe", state=state, ts=T0), "watchdog")
    d.add(BotExited(pid=1, exit_code=-9, description="killed", expected=False, mode="paper",
                    uptime_s=3, ts=T0), "watchdog")
    d.add(ActorStatusChanged(actor="planner", state="FAULTED", ts=T0), "kernel")
    for severity in ("warning", "error", "warning"):
        d.add(AnomalyDetected(kind="bad_frame", severity=severity, ts=T0,
                              source="gateway"))
    d.add(RiskAnomalyDetected(kind="equity_mismatch", detail="x", ts=T0), "risk")
    audit = d.audit()
    assert [m.what for m in audit.limits_fired] == ["daily_loss_limit"]
    assert "301 of 300" in audit.limits_fired[0].detail
    assert [m.what for m in audit.halts] == ["HALTED", "halt_requested"]
    assert [m.what for m in audit.mode_changes] == ["paper"]
    assert [(m.what, m.detail) for m in audit.operator_commands] == [("halt", "by ann: lunch")]
    bots = audit.bots
    assert (bots.starts, bots.hangs, bots.restarts, bots.crashes) == (1, 1, 2, 1)
    assert bots.unexpected_exits == 1 and bots.actor_restarts == {"planner": 1}
    assert [(a.kind, a.count, a.worst, a.sources) for a in audit.anomalies] == [
        ("bad_frame", 3, "error", ("gateway",)), ("equity_mismatch", 1, "warning", ("risk",))]


def test_a_day_in_progress_is_marked_so() -> None:
    audit = daily_audit(DAY, "UTC", [], opening={}, now=T0, complete=False, chain=NO_CHAIN)
    assert not audit.complete
    assert any("not over" in note for note in audit.notes)


def test_a_bot_that_restarts_flat_begins_a_session_and_the_figures_add_up() -> None:
    """Issue 15 item 3: the long bought before the restart is gone with the old bot's
    account; the new session's buy opens a position, it does not close the old one."""
    d = Day()
    d.add(Hello(bot_id="qe", mode="paper", pid=1))
    d.beat(10_000)
    d.order("a", "buy", 0.1, 60_000, fee=0.0)
    d.beat(9_990, unrealized=-10)  # then killed -9: its account is lost
    d.add(Hello(bot_id="qe", mode="paper", pid=2))
    d.beat(10_000)  # restarted flat with a fresh account
    d.order("b", "buy", 0.1, 61_000, fee=0.0)
    d.order("c", "sell", 0.1, 61_050, fee=0.0)
    d.add(Heartbeat(bot_id="qe", seq=99, ts=T0, uptime_s=9.0, equity=10_005,
                    realized_pnl=5.0, unrealized_pnl=0.0))
    p = d.audit().pnl
    assert p.realized_pnl == Decimal(5)  # b opened, c closed: +5, nothing of the old long
    assert (p.sessions, p.equity_reset) == (2, Decimal(10))
    assert (p.start_equity, p.end_equity) == (Decimal(10_000), Decimal(10_005))
    assert Decimal(10_005) - 10_000 - p.equity_reset == Decimal(-5)  # -10 open, then +5
    assert p.max_drawdown == Decimal(10)  # the jump back up is not a new peak to fall from
