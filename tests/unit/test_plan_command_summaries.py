"""The tap's one-line summaries of the planner's messages, from decoded builtins."""

from __future__ import annotations

from pathlib import Path

import msgspec

from kernel.console._plan_request import load_request
from kernel.summaries import summarize
from planner.builder import build_plan
from planner.config import PlannerConfig

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def body(message: object) -> dict[str, object]:
    decoded: dict[str, object] = msgspec.msgpack.decode(msgspec.msgpack.encode(message))
    return decoded


def test_plans_and_verdicts_read_as_one_line() -> None:
    config = PlannerConfig()
    inputs = load_request(EXAMPLES / "crypto_scalp_short.json", config, None)
    v = inputs.verdicts
    plan = build_plan(v.technical, v.macro, v.wildcard, inputs.snapshot, inputs.account,
                      inputs.style, inputs.now, config)
    line = summarize(body(plan))
    assert line.startswith("BTCUSDT SCALP TRADE SHORT 95% entry ")
    assert plan.position is not None and plan.position.size_limit == "notional cap"
    assert " stop " in line and " TP1 " in line
    assert line.endswith(f"coins risk {plan.position.max_risk:,.2f}")  # under the 50 budget
    assert summarize(body(v.technical)).startswith("BTCUSDT SHORT 72% rally_short")
    assert summarize(body(v.macro)).startswith("crypto risk_off SHORT")
    assert summarize(body(v.wildcard)) == "BTCUSDT risk low, 0 risk(s) (builtin)"
    assert summarize(body(inputs.snapshot)).startswith("BTCUSDT 62,")


def test_a_no_trade_plan_gives_its_first_reason() -> None:
    config = PlannerConfig()
    inputs = load_request(EXAMPLES / "no_trade_neutral.json", config, None)
    v = inputs.verdicts
    plan = build_plan(v.technical, v.macro, v.wildcard, inputs.snapshot, inputs.account,
                      inputs.style, inputs.now, config)
    assert summarize(body(plan)) == ("SPY DAY NO_TRADE: Both say NEUTRAL with <40% confidence "
                                     "each: No Trade")


def test_malformed_bodies_still_get_a_line() -> None:
    line = summarize({"type": "trade_plan", "decision": "TRADE", "targets": "x", "entry": 5,
                      "chase": [1], "position": None})
    assert "TRADE" in line and "entry ?-?" in line
    assert summarize({"type": "wildcard_verdict", "risks": [3, {"severity": "high"}]})
    assert summarize({"type": "technical_verdict", "supports": [1]})
    assert summarize({"type": "bars", "bars": "none"}).endswith("0 bar(s), last close ?")
