"""Which events are alerts and what they say (agents/alerts/mapping.py), pure."""

from __future__ import annotations

from decimal import Decimal

import msgspec
import pytest

from agents.alerts.mapping import Alert, alerts_for, with_bots
from agents.audit.messages import AnomalyCount, DailyAuditCompleted, Moment
from agents.moderator.messages import AdviceApplied, LlmBudgetReported
from agents.watchdog.messages import BotStateReported
from bus.protocol import Heartbeat, OrderDecision
from kernel.events import AnomalyDetected, BotLifecycleChanged, KernelStateChanged
from risk.messages import ManualCloseFlagged, ReasonView, RiskStateSnapshot, TradingStateChanged

NOW = 1_800_000_000.0
INJECTED = 'x\n[bold]Trading ACTIVE[/bold] <b>ok</b>\x1b[31m'


def one(message: object) -> Alert:
    alerts, _ = alerts_for(message, now=NOW, fraction=0.8, armed=frozenset())
    assert len(alerts) == 1, alerts
    return alerts[0]


def none_for(message: object) -> bool:
    return alerts_for(message, now=NOW, fraction=0.8, armed=frozenset())[0] == []


def halted(reason_text: str = "halted by hand: news", code: str = "manual_halt",
           way_out: str = 'kernel resume --reason "<why>"') -> TradingStateChanged:
    return TradingStateChanged(previous="ACTIVE", current="HALTED", by="human",
                               cause=f"halt: {reason_text}", ts=NOW, reasons=(ReasonView(
                                   level="HALTED", code=code, text=reason_text,
                                   way_out=way_out),))


def snapshot(daily_loss: str | None = None, drawdown: str | None = None) -> RiskStateSnapshot:
    return RiskStateSnapshot(
        ts=NOW, day="2027-01-04", trading_state="ACTIVE", max_leverage=Decimal(3),
        daily_loss=Decimal(daily_loss) if daily_loss else None, max_daily_loss=Decimal(300),
        drawdown=Decimal(drawdown) if drawdown else None, max_drawdown=Decimal(1000))


def test_a_halt_says_who_why_and_the_command_that_lifts_it() -> None:
    alert = one(halted())
    assert (alert.kind, alert.severity, alert.title) == ("halt", "critical", "Trading HALTED")
    assert "manual_halt" in alert.body and '"halted by hand: news"' in alert.body
    assert 'to lift it: kernel resume --reason "<why>"' in alert.body


def test_outside_text_stays_on_its_line_and_is_shown_not_obeyed() -> None:
    alert = one(halted(reason_text=INJECTED))
    lines = alert.body.splitlines()
    assert not any(line.startswith("[bold]Trading ACTIVE") for line in lines)
    assert "\x1b" not in alert.body and "\\x1b" in alert.body
    assert "<b>ok</b>" in alert.body  # plain text: shown as written, never rendered


def test_every_halt_is_its_own_alert_but_a_resume_and_reducing_too() -> None:
    later = TradingStateChanged(previous="ACTIVE", current="HALTED", by="human", cause="c",
                                ts=NOW + 1, reasons=halted().reasons)
    assert one(halted()).key != one(later).key  # never held back as a repeat
    resumed = one(TradingStateChanged(previous="HALTED", current="ACTIVE", by="human",
                                      cause="resume: done", ts=NOW))
    assert (resumed.kind, resumed.severity) == ("resume", "info")
    reducing = one(TradingStateChanged(previous="ACTIVE", current="REDUCING", by="limits",
                                       cause="c", ts=NOW))
    assert reducing.kind == "reducing"
    assert none_for(TradingStateChanged(previous="ACTIVE", current="ACTIVE", by="human",
                                        cause="c", ts=NOW))


def test_a_limit_near_alerts_once_per_crossing() -> None:
    alerts, armed = alerts_for(snapshot(daily_loss="250"), now=NOW, fraction=0.8,
                               armed=frozenset())
    assert [a.kind for a in alerts] == ["limit_near"] and armed == {"daily loss"}
    assert "daily loss at 83 %" in alerts[0].title
    again, armed = alerts_for(snapshot(daily_loss="260"), now=NOW, fraction=0.8, armed=armed)
    assert again == [] and armed == {"daily loss"}
    calm, armed = alerts_for(snapshot(daily_loss="100"), now=NOW, fraction=0.8, armed=armed)
    assert calm == [] and armed == frozenset()
    back, _ = alerts_for(snapshot(daily_loss="240", drawdown="900"), now=NOW, fraction=0.8,
                         armed=armed)
    assert sorted(a.key for a in back) == ["limit_near/daily loss", "limit_near/drawdown"]


def test_unknown_figures_are_not_alerts() -> None:
    assert none_for(snapshot())


def test_heartbeats_and_state_reports_are_never_alerts() -> None:
    beat = Heartbeat(bot_id="qe-1", seq=1, ts=NOW, uptime_s=1, equity=1000,
                     realized_pnl=0, unrealized_pnl=0)
    assert none_for(beat)
    assert none_for(BotStateReported(state="running", mode="paper", ts=NOW))


@pytest.mark.parametrize(("state", "kind"), [("hung", "bot_hung"), ("gave_up", "bot_gave_up")])
def test_a_hung_or_abandoned_bot_is_critical(state: str, kind: str) -> None:
    alert = one(BotLifecycleChanged(bot_id="qe-1", state=state, ts=NOW,  # type: ignore[arg-type]
                                    detail="no heartbeat for 30 s"))
    assert (alert.kind, alert.severity) == (kind, "critical")
    assert "qe-1" in alert.title and alert.key == f"{kind}/qe-1"


def test_routine_lifecycle_steps_are_not_alerts() -> None:
    assert none_for(BotLifecycleChanged(bot_id="qe-1", state="running", ts=NOW))


@pytest.mark.parametrize(("state", "kind", "severity"), [
    ("running", "kernel_started", "info"), ("stopping", "kernel_stopping", "warning"),
    ("halted", "kernel_halted", "critical")])
def test_the_kernel_start_stop_and_halt(state: str, kind: str, severity: str) -> None:
    alert = one(KernelStateChanged(state=state, ts=NOW, reason="Ctrl-C"))  # type: ignore[arg-type]
    assert (alert.kind, alert.severity) == (kind, severity)
    assert alert.body


def test_starting_and_stopped_are_not_alerts() -> None:
    assert none_for(KernelStateChanged(state="starting", ts=NOW))
    assert none_for(KernelStateChanged(state="stopped", ts=NOW))


def test_manual_close_lists_the_positions() -> None:
    alert = one(ManualCloseFlagged(reason="the bot did not close", ts=NOW,
                                   positions={"BTCUSDT": Decimal("0.1")}))
    assert alert.kind == "manual_close_needed" and "BTCUSDT 0.1" in alert.body


def test_a_crash_loop_and_only_that_anomaly() -> None:
    alert = one(AnomalyDetected(kind="restart_storm", severity="error", ts=NOW, source="auditor",
                                detail="actor risk: 3 crashes in 600 s"))
    assert (alert.kind, alert.severity) == ("crash_loop", "error")
    assert alert.key == "crash_loop/actor risk"  # the count in the detail may change
    assert none_for(AnomalyDetected(kind="heartbeat_gap", severity="warning", ts=NOW,
                                    source="auditor"))


def test_a_denial_for_the_journal_is_an_alert_and_others_are_not() -> None:
    alert = one(OrderDecision(request_id="r", verdict="DENY", reason="journal down",
                              code="journal_unavailable", trading_state="HALTED"))
    assert (alert.kind, alert.ts) == ("journal_unavailable", NOW)
    assert none_for(OrderDecision(request_id="r", verdict="DENY", reason="x",
                                  code="max_leverage", trading_state="ACTIVE"))


def test_moderator_changes_but_not_dry_runs() -> None:
    applied = AdviceApplied(request_id="a", action="REDUCE_RISK", effect="risk_multiplier",
                            detail="risk multiplier 1 -> 0.5", ts=NOW)
    assert one(applied).kind == "moderator_applied"
    assert none_for(AdviceApplied(request_id="a", action="REDUCE_RISK", effect="risk_multiplier",
                                  detail="d", ts=NOW, dry_run=True))


def test_an_exhausted_llm_budget_once_a_day() -> None:
    budget = LlmBudgetReported(day="2027-01-04", used_tokens=100, daily_tokens=100, calls=3,
                               exhausted=True, available=False, ts=NOW)
    assert one(budget).kind == "llm_budget_exhausted"
    alerts, armed = alerts_for(budget, now=NOW, fraction=0.8, armed=frozenset({"drawdown"}))
    assert len(alerts) == 1 and armed == {"drawdown", "llm budget 2027-01-04"}
    again, armed = alerts_for(budget, now=NOW, fraction=0.8, armed=armed)
    assert again == []
    _calm, armed = alerts_for(snapshot(), now=NOW, fraction=0.8, armed=armed)
    assert armed == {"llm budget 2027-01-04"}  # a snapshot re-arms limits only
    tomorrow = LlmBudgetReported(day="2027-01-05", used_tokens=100, daily_tokens=100,
                                 calls=3, exhausted=True, available=False, ts=NOW)
    alerts, armed = alerts_for(tomorrow, now=NOW, fraction=0.8, armed=armed)
    assert len(alerts) == 1 and armed == {"llm budget 2027-01-05"}
    assert none_for(LlmBudgetReported(day="d", used_tokens=1, daily_tokens=100, calls=1,
                                      exhausted=False, available=True, ts=NOW))


def test_the_daily_all_clear_and_a_day_that_needs_a_look() -> None:
    clear = one(DailyAuditCompleted(day="2027-01-04", timezone="UTC", ts=NOW, complete=True,
                                    traded=True, rows=10, chain_seq=9, chain_head="ab" * 32))
    assert clear.title == "Daily audit 2027-01-04: all clear" and clear.severity == "info"
    assert "chain head #9" in clear.body
    rough = one(DailyAuditCompleted(
        day="2027-01-04", timezone="UTC", ts=NOW, complete=True, traded=True, rows=10,
        halts=(Moment(ts=NOW, what="HALTED"),),
        anomalies=(AnomalyCount(kind="restart_storm", count=2, worst="error"),)))
    assert rough.title.endswith("needs a look") and rough.severity == "warning"
    assert none_for(DailyAuditCompleted(day="d", timezone="UTC", ts=NOW, complete=False,
                                        traded=False, rows=0))


def test_alerts_about_trading_name_the_bots_and_others_are_left_alone() -> None:
    halt = with_bots(one(halted()), ["qe-2", "qe-1"])
    assert halt.body.startswith("bots: qe-1, qe-2\n")
    alone = with_bots(one(halted()), [])
    assert alone.body.startswith("bots: none connected\n")
    hung = one(BotLifecycleChanged(bot_id="qe-1", state="hung", ts=NOW))
    assert with_bots(hung, ["qe-1"]) == hung  # it names its bot already


def test_in_a_fleet_a_bots_halt_names_that_bot_alone() -> None:
    alert = with_bots(one(msgspec.structs.replace(halted(), bot_id="qe-2")), ["qe-1", "qe-2"])
    assert alert.title == "bot qe-2: Trading HALTED" and alert.bot == "qe-2"
    assert alert.body.startswith("bots: qe-2\n")
    portfolio = with_bots(one(halted()), ["qe-1", "qe-2"])  # the one bot's engine names none
    assert portfolio.title == "Trading HALTED" and portfolio.body.startswith("bots: qe-1, qe-2")


def test_in_a_fleet_each_bots_limits_are_armed_apart() -> None:
    """qe-2 still under its limit does not re-arm qe-1's crossing (and vice versa)."""
    def of(bot: str, loss: str) -> RiskStateSnapshot:
        return msgspec.structs.replace(snapshot(daily_loss=loss), bot_id=bot)
    armed: frozenset[str] = frozenset()
    sent = []
    for message in (of("qe-1", "250"), of("qe-2", "10"), of("qe-1", "260"), of("qe-2", "260")):
        alerts, armed = alerts_for(message, now=NOW, fraction=0.8, armed=armed)
        sent += [a.title for a in alerts]
    assert sent == ["bot qe-1: daily loss at 83 % of its limit",
                    "bot qe-2: daily loss at 87 % of its limit"]
