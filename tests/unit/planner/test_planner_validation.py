"""Bad input never becomes a plan: a clear error naming the field, or NO TRADE with the reason."""

from __future__ import annotations

import math

import msgspec
import pytest

from planner.builder import build_plan
from planner.messages import MarketSnapshot, TechnicalVerdict, TradePlan
from planner.parts import Range
from planner.validation import plan_problems
from tests.unit.planner.planner_factories import (
    CONFIG,
    NOW,
    account,
    bar,
    macro,
    snap,
    tech,
    wild,
)


def reasons_for(**changes: object) -> list[str]:
    parts = {"technical": tech(), "macro": macro(), "wildcard": wild(), "snapshot": snap(),
             "account": account(), "now": NOW, **changes}
    plan = build_plan(parts["technical"], parts["macro"], parts["wildcard"],  # type: ignore[arg-type]
                      parts["snapshot"], parts["account"], "DAY", parts["now"],  # type: ignore[arg-type]
                      CONFIG)
    assert plan.decision == "NO_TRADE"
    assert plan_problems(plan) == []
    msgspec.json.decode(msgspec.json.encode(plan), type=TradePlan)  # still a valid message
    return plan.no_trade_reasons


@pytest.mark.parametrize(("changes", "expected"), [
    ({"snapshot": snap(price=math.nan)}, "snapshot.price"),
    ({"snapshot": snap(hod=97.0, lod=98.0)}, "snapshot.hod 97 is below snapshot.lod 98"),
    ({"snapshot": snap(atr=0.0)}, "snapshot.atr_30d"),
    ({"snapshot": snap(atr=math.inf)}, "snapshot.atr_30d"),
    ({"snapshot": snap(vwap=-1.0)}, "snapshot.vwap"),
    ({"snapshot": snap(bars=[bar(NOW, 100, 101, high=100.5)])}, "snapshot.bars[0]"),
    ({"technical": tech(confidence=120)}, "technical.confidence"),
    ({"technical": tech(supports=(math.nan,))}, "technical.supports[0].price"),
    ({"macro": macro(confidence=-1)}, "macro.confidence"),
    ({"account": account(risk_pct=0)}, "account.risk_pct"),
    ({"account": account(size=0)}, "account.size"),
    ({"now": math.nan}, "now:"),
    ({"technical": tech(symbol="MSFT")}, "technical.symbol 'MSFT' does not match"),
])
def test_bad_input_is_no_trade_naming_the_field(changes: dict[str, object], expected: str) -> None:
    reasons = reasons_for(**changes)
    assert any(expected in r for r in reasons), reasons
    assert all(r.startswith("Critical system error: invalid input:") for r in reasons)


def test_decoding_an_out_of_range_verdict_names_the_field() -> None:
    raw = {"type": "technical_verdict", "symbol": "AAPL", "ts": NOW, "direction": "LONG",
           "confidence": 120}
    with pytest.raises(msgspec.ValidationError, match=r"<= 100.* at `\$\.confidence`"):
        msgspec.json.decode(msgspec.json.encode(raw), type=TechnicalVerdict)


def test_decoding_a_nan_price_from_msgpack_is_refused() -> None:
    raw = msgspec.to_builtins(snap())
    raw["price"] = math.nan
    with pytest.raises(msgspec.ValidationError, match=r"\$\.price"):
        msgspec.msgpack.decode(msgspec.msgpack.encode(raw), type=MarketSnapshot)


def test_unknown_direction_word_is_refused() -> None:
    raw = msgspec.to_builtins(tech())
    raw["direction"] = "UP"
    with pytest.raises(msgspec.ValidationError, match=r"\$\.direction"):
        msgspec.convert(raw, TechnicalVerdict)


def test_empty_bars_still_plan_and_count_as_no_pullback() -> None:
    plan = build_plan(tech(), macro(), wild(), snap(102.95, bars=[]), account(), "DAY", NOW,
                      CONFIG)
    assert plan.chase is not None and plan.chase.status == "BLOCK"
    assert plan_problems(plan) == []


def test_plan_checks_catch_a_self_contradicting_trade() -> None:
    good = build_plan(tech(), macro(), wild(), snap(), account(), "DAY", NOW, CONFIG)
    assert good.position is not None and good.stop_loss is not None
    bad = msgspec.structs.replace(
        good, confidence=0.0,
        position=msgspec.structs.replace(good.position, quantity=0.0),
        stop_loss=msgspec.structs.replace(good.stop_loss,
                                          price_range=Range(low=99.6, high=100.0)))
    problems = plan_problems(bad)
    assert "TRADE with confidence 0" in problems
    assert "TRADE with quantity 0" in problems
    assert "LONG stop is not below the entry zone" in problems


def test_plan_checks_catch_a_no_trade_without_reason() -> None:
    plan = build_plan(tech(), macro(), wild(), snap(status="closed"), account(), "DAY", NOW,
                      CONFIG)
    assert plan_problems(msgspec.structs.replace(plan, no_trade_reasons=[])) == [
        "NO_TRADE without a reason"]
