"""Each anomaly rule of the auditor, driven with plain numbers for time."""

from __future__ import annotations

from decimal import Decimal

from agents.audit.config import AuditConfig, Burst
from agents.audit.messages import TradeClosed
from agents.audit.rules import AnomalyRules, Finding
from bus.protocol import Fill, Heartbeat, Hello, Message, OrderDecision, OrderRequest, Side
from kernel.events import ActorStatusChanged, AnomalyDetected, BotLifecycleChanged

CFG = AuditConfig(decision_latency_ms=250, clock_skew_s=2, decode_errors=Burst(count=5,
                  window_s=60), heartbeat_gap_s=3, stale_tick_s=10, pnl_tolerance_usdt=1,
                  pnl_grace_s=5, denials=Burst(count=10, window_s=60),
                  restarts=Burst(count=3, window_s=600), repeat_s=60)


def kinds(found: list[Finding]) -> list[str]:
    return [f.kind for f in found]


def request(rid: str, ts: float, bot: str = "qe") -> OrderRequest:
    return OrderRequest(request_id=rid, bot_id=bot, ts=ts, symbol="BTCUSDT", side="buy",
                        qty=0.01, price=60_000)


def decision(rid: str, verdict: str = "ALLOW", code: str = "ok",
             bot: str = "qe", ts: float = 0.0) -> OrderDecision:
    return OrderDecision(request_id=rid, verdict=verdict, reason="r", code=code,  # type: ignore[arg-type]
                         trading_state="ACTIVE", bot_id=bot, ts=ts)


def beat(seq: int, *, ts: float = 1000.0, uptime: float | None = None, realized: float = 0.0,
         tick_age: float | None = 0.5, bot: str = "qe") -> Heartbeat:
    return Heartbeat(bot_id=bot, seq=seq, ts=ts, uptime_s=seq if uptime is None else uptime,
                     equity=10_000, realized_pnl=realized, unrealized_pnl=0,
                     last_tick_ts=None if tick_age is None else ts - tick_age)


def fill(side: Side, qty: float, price: float, fee: float = 0.0, bot: str = "qe") -> Fill:
    return Fill(request_id="f", symbol="BTCUSDT", side=side, qty=qty, price=price, ts=1.0,
                fee=fee, bot_id=bot)


def feed(rules: AnomalyRules, *steps: tuple[Message, float]) -> list[Finding]:
    """The anomalies found (closed trades have their own test)."""
    return [f for message, now in steps for f in rules.observe(message, now)
            if isinstance(f, Finding)]


def test_a_slow_decision_is_an_anomaly_and_a_very_slow_one_an_error() -> None:
    rules = AnomalyRules(CFG)
    assert feed(rules, (request("r1", 100.0), 100.0), (decision("r1"), 100.2)) == []
    slow = feed(rules, (request("r2", 200.0), 200.0), (decision("r2"), 200.4))
    assert kinds(slow) == ["decision_latency"] and slow[0].severity == "warning"
    assert "400 ms" in slow[0].detail and slow[0].subject == "bot qe"
    later = feed(rules, (request("r3", 300.0), 300.0), (decision("r3"), 303.0))
    assert kinds(later) == ["decision_latency"] and later[0].severity == "error"


def test_the_latency_is_the_decisions_own_time_not_when_the_auditor_reads_it() -> None:
    """Under load the auditor's inbox lags: a decision made 3 ms after its request but
    read 400 ms later is not slow. One made slowly is, however soon it is read."""
    rules = AnomalyRules(CFG)
    read_late = feed(rules, (request("r1", 100.0), 100.4), (decision("r1", ts=100.003), 100.4))
    made_late = feed(rules, (request("r2", 200.0), 200.0), (decision("r2", ts=200.4), 200.4))
    assert read_late == [] and kinds(made_late) == ["decision_latency"]
    assert "400 ms" in made_late[0].detail


def test_a_slow_condition_is_repeated_at_most_once_per_repeat_s_with_a_count() -> None:
    rules = AnomalyRules(CFG)
    first = feed(rules, (request("a", 0.0), 0.0), (decision("a"), 1.0))
    held = feed(rules, *[(m, 1.0 + i) for i in range(3)
                         for m in (request(f"b{i}", i), decision(f"b{i}"))])
    again = feed(rules, (request("c", 70.0), 70.0), (decision("c"), 71.0))
    assert kinds(first) == ["decision_latency"] and held == []
    assert kinds(again) == ["decision_latency"] and "+3 more" in again[0].detail


def test_a_request_from_the_future_means_the_bots_clock_is_off() -> None:
    rules = AnomalyRules(CFG)
    found = feed(rules, (request("r", 105.0), 100.0), (decision("r"), 100.01))
    assert kinds(found) == ["clock_skew"]


def test_a_decision_without_its_request_is_not_timed() -> None:
    assert feed(AnomalyRules(CFG), (decision("never-asked"), 50.0)) == []


def test_a_burst_of_undecodable_frames_is_an_error() -> None:
    rules = AnomalyRules(CFG)

    def bad(kind: str = "bad_frame", source: str = "gateway") -> AnomalyDetected:
        return AnomalyDetected(kind=kind, severity="warning", ts=0, source=source)

    assert feed(rules, *[(bad(), float(i)) for i in range(4)]) == []
    assert feed(rules, (bad(source="watchdog"), 4.0), (bad("reply_undelivered"), 4.0)) == []
    found = feed(rules, (bad("invalid_request"), 5.0))
    assert kinds(found) == ["decode_errors"] and found[0].severity == "error"
    assert "bad_frame ×4" in found[0].detail and "invalid_request ×1" in found[0].detail
    assert feed(AnomalyRules(CFG), *[(bad(), i * 20.0) for i in range(5)]) == []  # spread out


def test_a_gap_between_heartbeats_is_reported_but_a_new_session_is_not_a_gap() -> None:
    rules = AnomalyRules(CFG)
    assert feed(rules, (beat(1), 0.0), (beat(2), 1.0), (beat(3), 3.5)) == []
    gap = feed(rules, (beat(4), 7.0))
    assert kinds(gap) == ["heartbeat_gap"] and "3.50 s" in gap[0].detail
    assert feed(rules, (beat(1, uptime=0.5), 30.0)) == []  # restarted bot: uptime went back
    assert feed(rules, (beat(1, bot="other"), 100.0)) == []  # its first beat


def test_a_stale_tick_is_reported_once_until_the_feed_is_fresh_again() -> None:
    rules = AnomalyRules(CFG)
    found = feed(rules, (beat(1, tick_age=11), 0.0), (beat(2, tick_age=12), 1.0))
    assert kinds(found) == ["stale_tick"] and "11.0 s old" in found[0].detail
    assert feed(rules, (beat(3, tick_age=1), 2.0), (beat(4, tick_age=None), 3.0)) == []
    assert kinds(feed(rules, (beat(5, tick_age=20), 4.0))) == ["stale_tick"]


def test_the_bots_pnl_must_agree_with_its_fills_after_a_grace_period() -> None:
    rules = AnomalyRules(CFG)
    steps: list[tuple[Message, float]] = [
        (beat(1, realized=100.0), 0.0),  # the session's baseline: 100 already realised
        (fill("buy", 0.1, 60_000, fee=2.4), 0.5), (fill("sell", 0.1, 60_200, fee=2.408), 0.6),
        (beat(2, realized=115.192), 1.0)]  # +15.192, exactly what the fills say
    assert feed(rules, *steps) == []
    assert feed(rules, (beat(3, realized=125.0), 2.0), (beat(4, realized=125.0), 4.5)) == []
    found = feed(rules, (beat(5, realized=125.0), 7.5))  # off by 9.808 for 5.5 s
    assert kinds(found) == ["pnl_mismatch"]
    assert "+25.00" in found[0].detail and "+15.19" in found[0].detail
    assert feed(rules, (beat(6, realized=125.0), 9.0)) == []  # said once
    assert feed(rules, (beat(7, realized=115.5), 10.0)) == []  # within 1 USDT again
    assert feed(rules, (beat(1, uptime=0.1, realized=0.0), 11.0)) == []  # new session


def test_a_fill_that_ends_a_round_trip_is_reported_as_a_closed_trade() -> None:
    rules = AnomalyRules(CFG)
    assert rules.observe(fill("sell", 0.2, 60_000, fee=4.8), 1.0) == []  # a short opens
    assert rules.observe(fill("buy", 0.1, 59_000, fee=2.36), 2.0) == []  # half closed
    (closed,) = rules.observe(fill("buy", 0.1, 59_500, fee=2.38), 3.0)
    assert isinstance(closed, TradeClosed)
    assert (closed.direction, closed.qty, closed.entry_price) == (
        "short", Decimal("0.1"), Decimal(60_000))
    assert closed.exit_price == Decimal(59_500) and closed.ts == 3.0
    # 0.1 x 1,000 + 0.1 x 500 - (4.8 + 2.36 + 2.38) = 140.46
    assert closed.pnl == Decimal("140.46")


def test_a_bot_hammering_a_closed_gate_is_reported() -> None:
    rules = AnomalyRules(CFG)
    denied = [(m, float(i)) for i in range(9)
              for m in (request(f"r{i}", i), decision(f"r{i}", "DENY", "halted"))]
    assert feed(rules, *denied) == []
    found = feed(rules, (request("r9", 9.0), 9.0),
                 (decision("r9", "DENY", "daily_loss_limit"), 9.0))
    assert kinds(found) == ["denial_storm"] and found[0].subject == "bot qe"
    assert "halted ×9" in found[0].detail and "daily_loss_limit ×1" in found[0].detail
    assert feed(AnomalyRules(CFG), *[(decision(f"x{i}", "DENY"), i * 10.0)
                                     for i in range(10)]) == []  # not within 60 s


def test_restart_storms_of_the_bot_and_of_an_actor() -> None:
    rules = AnomalyRules(CFG)

    def restarting(now: float) -> tuple[Message, float]:
        return BotLifecycleChanged(bot_id="qe", state="restarting", ts=now), now

    def crashed(now: float) -> tuple[Message, float]:
        return ActorStatusChanged(actor="planner", state="FAULTED", ts=now), now

    assert feed(rules, restarting(0), restarting(100)) == []
    found = feed(rules, restarting(200))
    assert kinds(found) == ["restart_storm"] and found[0].subject == "bot qe"
    assert feed(rules, crashed(0), crashed(1)) == []
    actor = feed(rules, crashed(2))
    assert kinds(actor) == ["restart_storm"] and actor[0].subject == "actor planner"
    assert feed(AnomalyRules(CFG), restarting(0), restarting(400), restarting(800)) == []


def test_a_restarted_bot_is_a_new_session_from_its_hello_not_a_missing_fill() -> None:
    """Issue 15 item 3: the old bot held a long; the new one restarted flat, so its buy
    opens a position. Booked against the old long it would "realise" PnL the bot never
    had, and pnl_mismatch fired after every restart."""
    rules = AnomalyRules(CFG)
    steps: list[tuple[Message, float]] = [
        (Hello(bot_id="qe", mode="paper", pid=1), 0.0), (beat(1), 0.0),
        (fill("buy", 0.1, 60_000), 0.5), (beat(2), 1.0),
        (Hello(bot_id="qe", mode="paper", pid=2), 2.0),
        (beat(5, uptime=5.0), 3.0),  # its first beat: flat (uptime and seq both look older)
        (fill("buy", 0.1, 61_000), 3.5), (fill("sell", 0.1, 60_990), 3.6)]
    assert feed(rules, *steps) == []
    for second in range(4, 20):
        assert feed(rules, (beat(2 + second, uptime=5.0 + second, realized=-1.0),
                            float(second))) == []
    found = feed(rules, *[(beat(100 + t, uptime=100.0 + t, realized=-9.0), float(t))
                          for t in range(20, 28, 2)])
    assert kinds(found) == ["pnl_mismatch"]  # a real disagreement still fires
