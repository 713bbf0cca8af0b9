"""One-line summaries and severities for every message type the tap shows.

Each body is built from the real Struct, so a field renamed in a domain module
fails here (the summary would fall back to ``type key=value``) rather than
quietly on an operator's screen.
"""

from __future__ import annotations

from decimal import Decimal

import msgspec
import pytest

from agents.watchdog.messages import (
    BotExited,
    BotStateReported,
    ModeChanged,
    TradingHaltRequested,
)
from bus.protocol import Command, Error, Fill, OrderRequest
from kernel.events import (
    ActorStatusChanged,
    AnomalyDetected,
    BotLifecycleChanged,
    KernelStateChanged,
    ModeChangeRequested,
    OperatorCommandAnswered,
    OperatorCommandIssued,
)
from kernel.summaries import severity, summarize, summarize_decision
from risk.messages import (
    CloseAllRequested,
    DayRolled,
    FlatConfirmed,
    LimitTripped,
    ManualCloseFlagged,
    OperatorCommandRefused,
    ReasonView,
    RiskAnomalyDetected,
    RiskMultiplierChanged,
    RiskStateSnapshot,
    TradingStateChanged,
)

T = 1_800_000_000.0
HALT = ReasonView(level="HALTED", code="daily_loss_limit", text="daily loss 300 reached")

CASES: list[tuple[msgspec.Struct, list[str], str]] = [
    (BotStateReported(state="running", mode="paper", ts=T, pid=7, bot_id="qe", uptime_s=12.0,
                      last_heartbeat_age_s=0.25, equity=10_000.0),
     ["qe running paper pid 7", "up 12s", "beat 0.2s ago", "equity 10,000.00"], "debug"),
    (BotStateReported(state="hung", mode="paper", ts=T, detail="no heartbeat for 5 s"),
     ["hung", ": no heartbeat for 5 s"], "error"),
    (BotExited(pid=7, exit_code=-9, description="killed by SIGKILL", expected=False,
               mode="paper", uptime_s=30.0, ts=T, last_lines=["a", "boom"]),
     ["pid 7 ended unexpectedly (killed by SIGKILL) after 30s", 'last output: "boom"'], "error"),
    (BotExited(pid=7, exit_code=2, description="exited with code 2", expected=False,
               mode="paper", uptime_s=3.0, ts=T),
     ["pid 7 ended unexpectedly (exited with code 2) after 3s"], "error"),
    (BotExited(pid=7, exit_code=0, description="exited 0", expected=True, mode="paper",
               uptime_s=1.0, ts=T), ["pid 7 stopped as asked (exited 0)"], "info"),
    (ModeChanged(previous="paper", mode="off", requested_by="ops", reason="night", ts=T),
     ['mode paper -> off by ops: "night"'], "warning"),
    (ModeChangeRequested(mode="off", requested_by="moderator", reason="calm", ts=T),
     ['mode -> off asked by moderator: "calm"'], "warning"),
    (TradingHaltRequested(code="bot_gave_up", reason="too many crashes", source="watchdog",
                          ts=T), ["halt asked by watchdog [bot_gave_up]: too many crashes"],
     "error"),
    (OperatorCommandIssued(action="resume", reason="checked", user="ana", ts=T, confirmed=True),
     ['resume by ana: "checked" (confirmed)'], "warning"),
    (OperatorCommandRefused(action="resume", reason="needs --yes", user="ana", ts=T),
     ["resume by ana refused: needs --yes"], "warning"),
    (OperatorCommandAnswered(request_id="op-1", action="risk_multiplier", outcome="refused",
                             detail="risk_multiplier 5.0 is outside its bounds [0.1, 1]", ts=T),
     ["risk_multiplier op-1 refused: risk_multiplier 5.0 is outside"], "warning"),
    (OperatorCommandAnswered(request_id="op-2", action="halt", outcome="applied",
                             detail="trading HALTED", ts=T),
     ["halt op-2 applied: trading HALTED"], "info"),
    (RiskStateSnapshot(ts=T, day="d", trading_state="HALTED", max_leverage=Decimal("2"),
                       reasons=(HALT,), manual_close_needed=True, daily_loss=Decimal("300"),
                       max_daily_loss=Decimal("300"), leverage=Decimal("0.5")),
     ["HALTED daily loss 300.00/300.00", "leverage 0.50x/2.00x", "MANUAL CLOSE NEEDED",
      ": daily loss 300 reached"], "error"),
    (RiskStateSnapshot(ts=T, day="d", trading_state="ACTIVE", max_leverage=Decimal("2")),
     ["ACTIVE daily loss None/None"], "debug"),
    (TradingStateChanged(previous="ACTIVE", current="HALTED", by="limits", cause="daily_loss",
                         ts=T, reasons=(HALT,)),
     ["ACTIVE -> HALTED by limits (daily_loss): daily loss 300 reached"], "error"),
    (TradingStateChanged(previous="ACTIVE", current="REDUCING", by="heartbeat", cause="x",
                         ts=T), ["ACTIVE -> REDUCING"], "warning"),
    (TradingStateChanged(previous="HALTED", current="ACTIVE", by="human", cause="resume", ts=T),
     ["HALTED -> ACTIVE by human"], "info"),
    (LimitTripped(code="daily_loss_limit", reason="daily loss", value=Decimal("301.5"),
                  limit=Decimal("300"), action="close_all", ts=T),
     ["daily_loss_limit: daily loss (301.50 of 300.00), then close_all"], "error"),
    (CloseAllRequested(reason="loss halt", deadline_ts=T + 30, ts=T), ["close all: loss halt"],
     "warning"),
    (ManualCloseFlagged(reason="still open", ts=T, positions={"BTCUSDT": Decimal("0.5")}),
     ["MANUAL CLOSE NEEDED: still open (open: BTCUSDT 0.5)"], "error"),
    (FlatConfirmed(ts=T), ["flat: no open position"], "info"),
    (DayRolled(previous_day="2027-01-14", day="2027-01-15", ts=T),
     ["new trading day 2027-01-15 (was 2027-01-14)"], "info"),
    (RiskMultiplierChanged(previous=1.0, current=0.5, reason="moderator", ts=T),
     ['risk multiplier 1.0 -> 0.5: "moderator"'], "info"),
    (RiskMultiplierChanged(previous=1.0, current=0.5, reason="losing (by moderator:offline)",
                           ts=T, by="moderator:offline", until="until the next trading day"),
     ['risk multiplier 1.0 -> 0.5: "losing (by moderator:offline)"; until the next trading day'],
     "info"),
    (RiskAnomalyDetected(kind="equity_mismatch", detail="bot 10 vs ledger 9", ts=T),
     ["equity_mismatch: bot 10 vs ledger 9"], "warning"),
    (AnomalyDetected(kind="bad_frame", severity="critical", ts=T, source="gateway"),
     ["critical bad_frame (gateway)"], "critical"),
    (KernelStateChanged(state="halted", ts=T, reason="actor crashed"),
     ["halted actor crashed"], "critical"),
    (ActorStatusChanged(actor="risk", state="FAULTED", ts=T, detail="boom"),
     ["risk FAULTED boom"], "error"),
    (BotLifecycleChanged(bot_id="qe", state="restarting", ts=T), ["qe restarting"], "warning"),
    (BotLifecycleChanged(bot_id="qe", state="running", ts=T), ["qe running"], "info"),
    (Command(command_id="c1", action="close_all"), ["close_all c1"], "info"),
    (Fill(request_id="r1", symbol="ETHUSDT", side="buy", qty=0.33, price=3005.93696, ts=T,
          fee=0.39879075, bot_id="qe"), ["qe buy 0.33 ETHUSDT @ 3,005.94 fee 0.398791"], "info"),
    (OrderRequest(request_id="r2", bot_id="qe", ts=T, symbol="PEPEUSDT", side="sell",
                  qty=1e6, price=0.0000123456, reduce_only=True),
     ["qe r2 sell 1000000.0 PEPEUSDT @ 0.0000123456 reduce-only"], "info"),
    (Error(reason="frame too big", code="too_big"), ["[too_big] frame too big"], "warning"),
]


@pytest.mark.parametrize(("message", "parts", "level"), CASES,
                         ids=[f"{type(c[0]).__name__}-{i}" for i, c in enumerate(CASES)])
def test_summary_and_severity(message: msgspec.Struct, parts: list[str], level: str) -> None:
    body = msgspec.to_builtins(message)
    line = summarize(body)
    for part in parts:
        assert part in line, (part, line)
    assert severity(body) == level


def test_a_decision_with_its_request_reads_as_a_sentence() -> None:
    deny = {"verdict": "DENY", "code": "max_leverage", "reason": "2.5x over 2x",
            "request_id": "r1"}
    order = {"side": "buy", "qty": 1.5, "symbol": "ETHUSDT", "price": "3000.5"}
    assert summarize_decision(deny, order) == (
        "DENY buy 1.5 ETHUSDT @ 3,000.50 [max_leverage]: 2.5x over 2x")
    assert summarize_decision({**deny, "verdict": "ALLOW"}, order).startswith(
        "ALLOW buy 1.5 ETHUSDT @ 3,000.50: ")
    assert summarize_decision(deny, None) == "DENY r1 [max_leverage] 2.5x over 2x"


@pytest.mark.parametrize("body", [
    {"type": "anomaly", "severity": "shouting"}, {"type": "bot_exited"}, [1], "x",
    {"type": "trading_state_changed", "reasons": "not a list"},
])
def test_odd_bodies_get_a_known_severity_and_a_summary(body: object) -> None:
    assert severity(body) in {"debug", "info", "warning", "error", "critical"}
    assert isinstance(summarize(body), str)
