"""Contract validation: every seed check, outside picks, and the selector's own picks."""

from __future__ import annotations

from typing import Any

import pytest
from msgspec.structs import replace

from planner.contracts import ContractChoice
from planner.contracts_validation import choice_from_json, choice_of, validate_contract
from planner.options import plan_with_options
from tests.unit.planner.options_factories import NOW, OPTIONS, chain, opt, snap, stock_plan

GOOD = opt(100)
CHAIN = chain(GOOD, opt(100, kind="put"), opt(100, days=30))


def choice(**changes: Any) -> ContractChoice:
    return ContractChoice(**{**{"symbol": GOOD.symbol, "expiration": GOOD.expiration,
                                "bid": 2.0, "ask": 2.1, "strike": 100.0}, **changes})


def test_a_true_choice_passes_every_check() -> None:
    check = validate_contract(choice(), CHAIN)
    assert check.ok and check.reason == "" and check.contract == GOOD
    assert check.passed == [
        "symbol format: starts with O:", "expiration format: YYYY-MM-DD",
        "bid/ask: both present and positive", "strike: present and positive",
        "cross-reference: symbol is in the original chain",
        "consistency: strike, expiration and type agree with the chain"]


@pytest.mark.parametrize(("changes", "failure"), [
    ({"symbol": GOOD.symbol[2:]}, "symbol format: must start with \"O:\", found "
                                  "'AAPL260211C00100000'"),
    ({"symbol": None}, "symbol format: must start with \"O:\", found None"),
    ({"expiration": "02/11/2026"}, "expiration format: must be a YYYY-MM-DD date, found "
                                   "'02/11/2026'"),
    ({"expiration": "2026-02-30"}, "expiration format: must be a YYYY-MM-DD date, found "
                                   "'2026-02-30'"),
    ({"bid": None}, "bid/ask: both must exist and be positive, found bid None"),
    ({"ask": 0.0}, "bid/ask: both must exist and be positive, found ask 0.0"),
    ({"bid": -1.0, "ask": float("nan")}, "bid/ask: both must exist and be positive, found "
                                         "bid -1.0, ask nan"),
    ({"strike": None}, "strike: must exist and be positive, found None"),
    ({"strike": -5.0}, "strike: must exist and be positive, found -5.0"),
    ({"symbol": "O:AAPL260211C00105000"}, "cross-reference: symbol 'O:AAPL260211C00105000' "
                                          "is not in the original AAPL chain of 3 contracts"),
    ({"strike": 105.0}, "consistency: the chain's contract differs: strike 105 (chain: 100)"),
    ({"expiration": "2026-02-13"}, "consistency: the chain's contract differs: expiration "
                                   "2026-02-13 (chain: 2026-02-11)"),
], ids=["no-prefix", "no-symbol", "us-date", "impossible-date", "no-bid", "zero-ask",
        "negative-and-nan", "no-strike", "negative-strike", "not-in-chain", "wrong-strike",
        "wrong-expiry"])
def test_each_check_fails_alone_and_says_what_it_found(changes: dict[str, Any],
                                                      failure: str) -> None:
    """The first failure is the check under test; a bad symbol is also not in the chain."""
    check = validate_contract(choice(**changes), CHAIN)
    assert check.failed[0] == failure and not check.ok
    assert check.reason.startswith(f"Contract validation failed: {failure}")


def test_every_failed_check_is_named() -> None:
    check = validate_contract(ContractChoice(symbol="SPY 700C"), CHAIN)
    assert [f.split(":")[0] for f in check.failed] == [
        "symbol format", "expiration format", "bid/ask", "strike", "cross-reference"]


def test_an_llm_answer_is_read_leniently_and_never_raises() -> None:
    got = choice_from_json({"ticker": GOOD.symbol, "expiration_date": "2026-02-11",
                            "bid": "2.00", "ask": "$2.10", "strike_price": 100, "type": "call"})
    assert got == ContractChoice(symbol=GOOD.symbol, expiration="2026-02-11", bid=2.0, ask=2.1,
                                 strike=100.0, contract_type="call")
    assert choice_from_json({"bid": True, "ask": "n/a", "strike": [1]}) == ContractChoice()
    assert choice_from_json(GOOD.symbol) == ContractChoice(symbol=GOOD.symbol)
    assert choice_from_json(42) == ContractChoice()


def test_the_selectors_own_pick_is_in_the_shape_an_outside_pick_arrives_in() -> None:
    assert validate_contract(choice_of(GOOD), CHAIN).ok


@pytest.mark.parametrize(("changes", "check"), [
    ({"symbol": "O:AAPL260211C00101000"}, "cross-reference"),
    ({"bid": 0.0}, "bid/ask"),
    ({"symbol": "AAPL"}, "symbol format"),
])
def test_an_outside_pick_that_fails_is_rejected(changes: dict[str, Any], check: str) -> None:
    plan = plan_with_options(stock_plan(), CHAIN, snap(), NOW, OPTIONS, choice=choice(**changes))
    assert plan.decision == "NO_TRADE" and plan.position is None
    assert plan.options is not None and plan.options.status == "REJECTED"
    assert plan.no_trade_reasons[0].startswith(f"Contract validation failed: {check}")
    assert plan.options.reason == plan.no_trade_reasons[0]
    assert any(line.startswith(f"failed: {check}") for line in plan.options.validation)


def test_an_outside_pick_of_the_wrong_type_is_rejected() -> None:
    put = CHAIN.contracts[1]
    plan = plan_with_options(stock_plan(), CHAIN, snap(), NOW, OPTIONS, choice=choice_of(put))
    assert plan.options is not None and plan.options.status == "REJECTED"
    assert plan.no_trade_reasons == [f"Contract validation failed: type: {put.symbol} is a put; "
                                     "a LONG plan buys calls"]


def test_a_valid_outside_pick_is_priced_like_the_selectors_own_with_notes() -> None:
    late = CHAIN.contracts[2]
    plan = plan_with_options(stock_plan(), CHAIN, snap(), NOW, OPTIONS, choice=choice_of(late))
    assert plan.decision == "TRADE" and plan.options is not None
    assert (plan.options.symbol, plan.options.phase) == (late.symbol, "external")
    assert plan.options.caution_notes[:2] == [
        "Contract chosen outside the selector (an LLM or a bot) and validated against the chain",
        "Expires in 30 days, outside the window (DAY: 3–7 DTE)"]
    assert plan.options.expiry_label == "30 DTE, outside the window (DAY: 3–7 DTE)"
    assert all(line.startswith("passed: ") for line in plan.options.validation)


def test_the_selectors_own_pick_is_validated_too() -> None:
    bad_symbol = opt(100, symbol="AAPL260211C00100000")
    plan = plan_with_options(stock_plan(), chain(bad_symbol), snap(), NOW, OPTIONS)
    assert plan.options is not None and plan.options.status == "REJECTED"
    assert plan.no_trade_reasons == ["Contract validation failed: symbol format: must start "
                                     "with \"O:\", found 'AAPL260211C00100000'"]
    plan = plan_with_options(stock_plan(), chain(replace(GOOD, strike=None)), snap(), NOW,
                             OPTIONS)
    assert plan.no_trade_reasons == ["Contract validation failed: strike: must exist and be "
                                     "positive, found None"]
