"""The planner's LLM mode through the real client: each bad refinement caught, falls back.

The market is the planner tests' one: AAPL at $100, 30-day ATR $2, supports $99
and $97, resistances $102 and $104, HOD $103, LOD $98, VWAP $99.50; the DAY LONG
plan enters $99.50-$99.70. A price the LLM returns must lie within 0.1 ATR
($0.20) of a level in that data.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import msgspec
import pytest

from agents.moderator.llm_budget import TokenBudget
from agents.moderator.llm_client import LlmClient
from agents.moderator.llm_config import PlannerLlmConfig
from agents.planner.llm import FALLBACK, PlanInputs, data_levels
from agents.planner.refine import refine_plan
from planner.messages import TradePlan
from planner.validation import plan_problems
from tests.support.messages_api import MessagesApi, messages_api, server_error, tool_answer
from tests.unit.planner.options_factories import OPTIONS, chain, opt, stock_plan
from tests.unit.planner.planner_factories import CONFIG, NOW, macro, snap, tech, wild

ON = PlannerLlmConfig(enabled=True)
PLAN = stock_plan("LONG", "DAY")
INPUTS = PlanInputs(technical=tech("LONG"), macro=macro("LONG"), wildcard=wild(), snapshot=snap(),
                    config=CONFIG, now=NOW)
CHAIN = chain(opt(100, 7), opt(101, 7, delta=0.45), opt(99, 7, delta=0.55),
              opt(100, 7, "put"))
WITH_CHAIN = msgspec.structs.replace(INPUTS, chain=CHAIN, options=OPTIONS)


@pytest.fixture
def api() -> Iterator[MessagesApi]:
    with messages_api() as server:
        yield server


@pytest.fixture
async def client(api: MessagesApi) -> AsyncIterator[LlmClient]:
    from agents.moderator.llm_config import LlmConfig

    llm = LlmClient(LlmConfig(base_url=api.base_url, retries=0, timeout_s=2), api_key="sk-test",
                    budget=TokenBudget(1_000_000), publish=lambda _: None, clock=time.time)
    yield llm
    await llm.close()


def targets(*pairs: tuple[float, float]) -> list[dict[str, float]]:
    return [{"low": low, "high": high} for low, high in pairs]


def det_targets() -> list[dict[str, float]]:
    return targets(*((t.price_range.low, t.price_range.high) for t in PLAN.targets))


async def refine(client: LlmClient, api: MessagesApi, answer: dict[str, Any],
                 inputs: PlanInputs = INPUTS) -> TradePlan:
    api.script(tool_answer({"decision": "TRADE", "narrative": "Buy the VWAP retest.", **answer}))
    return await refine_plan(client, PLAN, inputs, ON)


def fell_back(plan: TradePlan) -> str:
    notes = [w for w in plan.warnings if w.startswith(FALLBACK)]
    assert len(notes) == 1, plan.warnings
    return notes[0]


def test_the_market_is_the_one_described() -> None:
    assert PLAN.entry is not None and (PLAN.entry.zone.low, PLAN.entry.zone.high) == (99.5, 99.7)
    assert {99.0, 97.0, 102.0, 104.0, 103.0, 98.0, 99.5, 100.0} <= set(data_levels(PLAN, INPUTS))


async def test_a_refinement_within_the_data_is_taken(client: LlmClient,
                                                     api: MessagesApi) -> None:
    plan = await refine(client, api, {"entry_zone": {"low": 99.5, "mid": 99.55, "high": 99.6},
                                      "targets": det_targets()})
    assert not [w for w in plan.warnings if w.startswith(FALLBACK)]
    assert plan.entry is not None and plan.entry.zone.high == 99.6
    assert "Adviser: Buy the VWAP retest." in plan.entry.strategy
    assert plan_problems(plan) == [] and plan.position == PLAN.position
    (seen,) = api.requests
    assert "ANTI-CHASE RULES" in seen.body["system"] and "LONG chase zone" in seen.prompt


async def test_a_hallucinated_level_is_caught(client: LlmClient, api: MessagesApi) -> None:
    plan = await refine(client, api, {"targets": targets((102.0, 102.2), (106.9, 107.4))})
    assert "hallucinated level: target 2 low $106.90 is not within 0.1× ATR" in fell_back(plan)
    assert plan.targets == PLAN.targets


async def test_a_chase_entry_is_caught_by_the_guard(client: LlmClient, api: MessagesApi) -> None:
    plan = await refine(client, api, {"entry_zone": {"low": 102.85, "mid": 102.9, "high": 103.0}})
    assert "anti-chase guard: BLOCK: LONG would chase" in fell_back(plan)
    assert plan.entry == PLAN.entry


async def test_an_entry_outside_the_deterministic_zone_is_caught(client: LlmClient,
                                                                 api: MessagesApi) -> None:
    plan = await refine(client, api, {"entry_zone": {"low": 99.0, "mid": 99.5, "high": 100.0}})
    assert "leaves the deterministic zone" in fell_back(plan)


@pytest.mark.parametrize(("pick", "words"), [
    ({"symbol": "O:AAPL260211C00105000", "expiration": "2026-02-11", "strike": 105,
      "bid": 1.0, "ask": 1.1, "contract_type": "call"}, "not in the original AAPL chain"),
    ({"symbol": "AAPL 100C", "expiration": "Feb 11", "strike": 100, "bid": 2.0, "ask": 2.1},
     "must start with \"O:\""),
    ({"symbol": CHAIN.contracts[0].symbol, "expiration": CHAIN.contracts[0].expiration,
      "strike": 120, "bid": 2.0, "ask": 2.1}, "the chain's contract differs: strike 120"),
])
async def test_an_invalid_contract_is_caught(client: LlmClient, api: MessagesApi,
                                             pick: dict[str, Any], words: str) -> None:
    plan = await refine(client, api, {"contract": pick}, WITH_CHAIN)
    note = fell_back(plan)
    assert "contract: Contract validation failed" in note and words in note
    assert plan.options is not None and plan.options.status == "SELECTED"  # the selector's own


async def test_a_valid_contract_pick_is_priced_like_the_selectors(client: LlmClient,
                                                                  api: MessagesApi) -> None:
    pick = CHAIN.contracts[1]
    plan = await refine(client, api, {"contract": {
        "symbol": pick.symbol, "expiration": pick.expiration, "strike": pick.strike,
        "bid": pick.bid, "ask": pick.ask, "contract_type": "call"}}, WITH_CHAIN)
    assert not [w for w in plan.warnings if w.startswith(FALLBACK)]
    assert plan.options is not None and plan.options.symbol == pick.symbol


async def test_advice_of_no_trade_is_always_taken(client: LlmClient, api: MessagesApi) -> None:
    api.script(tool_answer({"decision": "NO_TRADE", "narrative": "Earnings after the close."}))
    plan = await refine_plan(client, PLAN, INPUTS, ON)
    assert plan.decision == "NO_TRADE" and plan.position is None and plan_problems(plan) == []
    assert plan.no_trade_reasons == ["LLM review advises no trade: Earnings after the close."]


async def test_an_api_failure_keeps_the_deterministic_plan(client: LlmClient,
                                                           api: MessagesApi) -> None:
    api.script(server_error())
    plan = await refine_plan(client, PLAN, INPUTS, ON)
    assert "server_error" in fell_back(plan) and plan.entry == PLAN.entry


async def test_disabled_it_asks_nothing(client: LlmClient, api: MessagesApi) -> None:
    plan = await refine_plan(client, PLAN, INPUTS, PlannerLlmConfig(enabled=False))
    assert plan == PLAN and not api.requests


async def test_swapped_targets_are_caught_in_the_final_review(client: LlmClient,
                                                              api: MessagesApi) -> None:
    """Both prices are levels in the data and above the entry: only the order is wrong."""
    plan = await refine(client, api, {"targets": targets((102.9, 103.0), (101.9, 102.0))})
    assert ("final review: TP1 $102.90-$103.00 is not before TP2 $101.90-$102.00"
            in fell_back(plan))
    assert plan.targets == PLAN.targets


async def test_a_target_too_close_for_the_styles_reward_is_caught(client: LlmClient,
                                                                  api: MessagesApi) -> None:
    """TP1 at the price itself pays half the risk; the DAY style asks for 1R."""
    plan = await refine(client, api, {"targets": targets((99.9, 100.0), (102.9, 103.0))})
    assert "TP1 $99.90-$100.00 pays 0.50R from the entry's middle $99.60, below the DAY " \
           "minimum of 1R" in fell_back(plan)


async def test_a_moved_target_gets_its_own_chance_and_rationale(client: LlmClient,
                                                                api: MessagesApi) -> None:
    plan = await refine(client, api, {"targets": targets((101.9, 102.0), (103.8, 104.0))})
    assert not [w for w in plan.warnings if w.startswith(FALLBACK)], plan.warnings
    tp1, tp2 = plan.targets
    assert tp1 == PLAN.targets[0]  # not moved: as the planner made it
    assert tp2.price_range.low == 103.8 and tp2.probability.high < PLAN.targets[1].probability.high
    assert tp2.rationale.startswith("TP2 moved by the LLM adviser to $103.80-$104.00 (the "
                                    "planner had $102.90-$103.00: TP2 at resistance")
    assert any(w.startswith("Targets refined by the LLM adviser; checked against") and
               "target order and distances" in w for w in plan.warnings)


@pytest.mark.parametrize(("extra", "named"), [
    ({"stop_loss": {"low": 90.0, "high": 91.0}}, "stop_loss"),
    ({"targets": [{"low": 101.9, "high": 102.0, "probability": 99},
                  {"low": 102.9, "high": 103.0}]}, "targets[0].probability"),
    ({"entry_zone": {"low": 99.5, "mid": 99.55, "high": 99.6, "size": "MAX"}},
     "entry_zone.size"),
])
async def test_an_answer_with_keys_outside_its_schema_is_not_used(
        client: LlmClient, api: MessagesApi, extra: dict[str, Any], named: str) -> None:
    plan = await refine(client, api, extra)
    assert f"the answer has keys that are not part of it: {named}" in fell_back(plan)
    assert plan.entry == PLAN.entry and plan.targets == PLAN.targets


async def test_no_trade_is_taken_and_its_unknown_keys_are_noted(client: LlmClient,
                                                                api: MessagesApi) -> None:
    api.script(tool_answer({"decision": "NO_TRADE", "narrative": "Earnings.",
                            "halt_trading": True}))
    plan = await refine_plan(client, PLAN, INPUTS, ON)
    assert plan.decision == "NO_TRADE"
    assert "the answer has keys that are not part of it: halt_trading" in plan.warnings


async def test_the_narrative_reaches_the_plan_clean_and_bounded(client: LlmClient,
                                                               api: MessagesApi) -> None:
    narrative = "Buy\x1b[31m the\nretest\u202e " + "x" * 1900  # within the answer's 2,000
    api.script(tool_answer({"decision": "TRADE", "narrative": narrative}))
    plan = await refine_plan(client, PLAN, INPUTS, ON)
    assert plan.entry is not None
    said = plan.entry.strategy.split("Adviser: ", 1)[1]
    assert said.startswith("Buy[31m the retest x") and len(said) <= 600
    assert not any(ord(c) < 32 or c == "\u202e" for c in plan.entry.strategy)
    assert "Narrative by the LLM adviser; no price was changed" in plan.warnings
    api.script(tool_answer({"decision": "NO_TRADE", "narrative": "Halt\x07\nnow " * 200}))
    stopped = await refine_plan(client, PLAN, INPUTS, ON)
    (reason,) = stopped.no_trade_reasons
    assert reason.startswith("LLM review advises no trade: Halt now Halt now")
    assert len(reason) <= 650 and "\x07" not in reason and "\n" not in reason
