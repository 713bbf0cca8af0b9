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
