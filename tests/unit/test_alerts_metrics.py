"""What the metrics count (agents/alerts/metrics.py) and which binds are loopback."""

from __future__ import annotations

from decimal import Decimal

import pytest
from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from agents.alerts.health import is_loopback
from agents.alerts.messages import AlertFailed
from agents.alerts.metrics import Metrics
from agents.moderator.messages import LlmCallMade
from agents.watchdog.messages import BotStateReported
from bus.protocol import Heartbeat, OrderDecision, OrderRequest
from kernel.events import AnomalyDetected
from risk.messages import RiskAnomalyDetected, RiskStateSnapshot
from tests.support.link import order


@pytest.mark.parametrize(("host", "expected"), [
    ("127.0.0.1", True), ("127.8.0.1", True), ("::1", True), ("[::1]", True),
    ("localhost", True), ("0.0.0.0", False), ("192.168.1.5", False), ("example.org", False),
])
def test_loopback_binds(host: str, expected: bool) -> None:
    assert is_loopback(host) is expected


def values(metrics: Metrics) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    text = generate_latest(metrics.registry).decode()
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def test_decisions_latency_anomalies_tokens_restarts_and_failed_alerts() -> None:
    metrics = Metrics()
    for message in (
        _request("r1", 100.0),
        OrderDecision(request_id="r1", verdict="DENY", reason="x", code="max_leverage",
                      trading_state="ACTIVE"),
        OrderDecision(request_id="r2", verdict="ALLOW", reason="", code="ok",
                      trading_state="ACTIVE"),
        AnomalyDetected(kind="heartbeat_gap", severity="warning", ts=1.0, source="auditor"),
        RiskAnomalyDetected(kind="position_mismatch", detail="d", ts=1.0),
        LlmCallMade(purpose="moderate", model="m", prompt_hash="h", outcome="ok", ts=1.0,
                    input_tokens=120, output_tokens=30),
        BotStateReported(state="running", mode="paper", ts=1.0, bot_id="qe-1", restarts=2),
        AlertFailed(target="phone", kind="halt", attempts=4, error="e", ts=1.0),
        Heartbeat(bot_id="qe-1", seq=1, ts=1.0, uptime_s=1, equity=1, realized_pnl=0,
                  unrealized_pnl=0),
    ):
        metrics.observe(message, 100.25)
    got = values(metrics)
    assert got[("qe_decisions_total", (("code", "max_leverage"), ("verdict", "DENY")))] == 1
    assert got[("qe_decisions_total", (("code", "ok"), ("verdict", "ALLOW")))] == 1
    assert got[("qe_decision_latency_seconds_count", ())] == 1  # r2 was never asked
    assert got[("qe_decision_latency_seconds_sum", ())] == pytest.approx(0.25)
    assert got[("qe_anomalies_total", (("kind", "heartbeat_gap"),))] == 1
    assert got[("qe_anomalies_total", (("kind", "position_mismatch"),))] == 1
    assert got[("qe_llm_tokens_total", (("direction", "input"),))] == 120
    assert got[("qe_bot_restarts", (("bot", "qe-1"),))] == 2
    assert got[("qe_alerts_failed_total", (("target", "phone"),))] == 1


def _request(request_id: str, ts: float) -> OrderRequest:
    return order(request_id, ts=ts)


def test_the_feature_events_have_one_line_summaries_and_are_warnings() -> None:
    from kernel.event_format import severity
    from kernel.summaries import summarize

    failed = {"type": "alert_failed", "target": "phone", "kind": "halt", "attempts": 4,
              "error": "HTTP 500\nretry", "ts": 1.0}
    refused = {"type": "chat_refused", "chat_id": 9, "user": "eve [x]", "text": "/halt\nnow",
               "ts": 1.0}
    assert summarize(failed) == 'alert halt to phone failed after 4 attempts: "HTTP 500\\nretry"'
    assert summarize(refused) == ('chat 9 ("eve [x]") is not on the allow-list, ignored: '
                                  '"/halt\\nnow"')
    assert summarize({"type": "alerts_dropped", "count": 3, "last_kind": "crash_loop",
                      "ts": 1.0}).startswith("3 alerts dropped")
    assert severity(failed) == severity(refused) == "warning"


def _snapshot(state: str, bot_id: str = "") -> RiskStateSnapshot:
    return RiskStateSnapshot(ts=1.0, day="2026-01-02", trading_state=state,  # type: ignore[arg-type]
                             max_leverage=Decimal(3), bot_id=bot_id)


def _states(metrics: Metrics) -> dict[str, str]:
    return {dict(labels)["scope"]: dict(labels)["qe_trading_state"]
            for (name, labels), value in values(metrics).items()
            if name == "qe_trading_state" and value == 1}


def test_a_fleet_has_a_trading_state_per_bot_never_the_newest_of_any() -> None:
    metrics = Metrics(fleet=("qe-1", "qe-2"))
    metrics.observe(_snapshot("HALTED", "qe-2"), 1.0)
    metrics.observe(_snapshot("ACTIVE", "qe-1"), 2.0)  # the newest: does not hide qe-2's
    assert _states(metrics) == {"bot:qe-1": "ACTIVE", "bot:qe-2": "HALTED"}
    metrics.kernel_state("HALTED")
    assert _states(metrics)["portfolio"] == _states(metrics)["global"] == "HALTED"
    metrics.observe(BotStateReported(state="external", mode="paper", ts=1.0, bot_id="qe-1",
                                     restarts=0), 2.0)
    per_bot = metrics.per_bot(3.0)
    assert per_bot["qe-1"] == {"trading_state": "ACTIVE", "heartbeat_age_s": None,
                               "restarts": 0}
    assert per_bot["qe-2"]["trading_state"] == "HALTED" and per_bot["qe-2"]["restarts"] is None


def test_one_bot_keeps_the_global_scope_only() -> None:
    metrics = Metrics()
    metrics.observe(_snapshot("REDUCING", "qe-1"), 1.0)
    metrics.kernel_state("REDUCING")
    assert _states(metrics) == {"global": "REDUCING"}


def test_the_latency_histogram_measures_at_the_decisions_time() -> None:
    """Read 2 s after it was made (a reader behind), a decision made 4 ms after its
    request counts as 4 ms."""
    metrics = Metrics()
    asked = order(request_id="r1", ts=100.0)
    metrics.observe(asked, 100.0)
    metrics.observe(OrderDecision(request_id="r1", verdict="ALLOW", reason="", code="allowed",
                                  trading_state="ACTIVE", ts=100.004), 102.0)
    assert values(metrics)[("qe_decision_latency_seconds_sum", ())] == pytest.approx(0.004)
