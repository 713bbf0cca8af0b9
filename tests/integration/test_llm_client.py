"""The one LLM client against a local Messages API server, through the real SDK."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import msgspec
import pytest

from agents.moderator._prompt import SYSTEM, TOOL
from agents.moderator.llm_budget import TokenBudget
from agents.moderator.llm_client import LlmClient, LlmFailure, LlmUnavailable
from agents.moderator.llm_config import LlmConfig
from agents.moderator.messages import LlmBudgetReported, LlmCallMade
from agents.moderator.parts import ModeratorAnswer
from bus.protocol import Message
from kernel.events import AnomalyDetected
from scripts._bench_support import free_ports
from tests.support.messages_api import (
    MessagesApi,
    Reply,
    error,
    messages_api,
    overloaded,
    rate_limited,
    server_error,
    text_answer,
    tool_answer,
    unauthorized,
)

KEY = "sk-test-never-in-the-journal"
OK = {"action": "OK", "reason": "calm market, no losses"}


@pytest.fixture
def api() -> Iterator[MessagesApi]:
    with messages_api() as server:
        yield server


class Harness:
    def __init__(self, api: MessagesApi, **config: Any) -> None:
        self.api = api
        self.events: list[Message] = []
        cfg = {"base_url": api.base_url, "retries": 1, "timeout_s": 2.0, "deadline_s": 10.0,
               **config}
        self.client = LlmClient(msgspec.convert(cfg, LlmConfig), api_key=KEY,
                                budget=TokenBudget(cfg.get("daily_token_budget", 100_000)),
                                publish=self.events.append, clock=time.time)

    async def ask(self) -> ModeratorAnswer:
        reply = await self.client.ask(purpose="moderator", system=SYSTEM, prompt="state: calm",
                                      answer_type=ModeratorAnswer, tool=TOOL, request_id="r-1")
        return reply.value

    async def failure(self) -> LlmFailure:
        with pytest.raises(LlmFailure) as info:
            await self.ask()
        return info.value

    def calls(self) -> list[LlmCallMade]:
        return [e for e in self.events if isinstance(e, LlmCallMade)]


@pytest.fixture
async def llm(api: MessagesApi) -> AsyncIterator[Harness]:
    harness = Harness(api)
    yield harness
    await harness.client.close()


async def test_a_structured_answer_is_decoded_validated_and_journaled(llm: Harness) -> None:
    llm.api.script(tool_answer({"action": "REDUCE_RISK", "reason": "three losses",
                                "risk_multiplier": 0.5, "confidence": 70}, usage=(321, 45)))
    assert await llm.ask() == ModeratorAnswer(action="REDUCE_RISK", reason="three losses",
                                              risk_multiplier=0.5, confidence=70.0)
    (seen,) = llm.api.requests
    assert seen.forced_tool == "moderate_trading"
    assert seen.body["tools"][0]["input_schema"]["properties"]["action"]["enum"]
    assert seen.body["system"] == SYSTEM and seen.body["max_tokens"] == 1024
    (call,) = llm.calls()
    assert (call.outcome, call.purpose, call.input_tokens, call.output_tokens) == (
        "ok", "moderator", 321, 45)
    assert call.latency_ms > 0 and len(call.prompt_hash) == 16 and call.request_id == "r-1"
    budget = [e for e in llm.events if isinstance(e, LlmBudgetReported)][-1]
    assert budget.used_tokens == 366 and budget.available


async def test_a_rate_limit_is_retried_after_retry_after(llm: Harness) -> None:
    llm.api.script(rate_limited(0.05), tool_answer(OK))
    started = time.perf_counter()
    assert (await llm.ask()).action == "OK"
    assert len(llm.api.requests) == 2 and time.perf_counter() - started >= 0.05


@pytest.mark.parametrize(("replies", "outcome"), [
    ([rate_limited(), rate_limited()], "rate_limited"),
    ([overloaded(), overloaded()], "overloaded"),
    ([server_error(), server_error()], "server_error"),
    ([unauthorized()], "auth_failed"),
    ([error(400, "invalid_request_error", "max_tokens too large")], "bad_request"),
])
async def test_each_error_class_is_told_apart(llm: Harness, replies: list[Reply],
                                              outcome: str) -> None:
    llm.api.script(*replies)
    failure = await llm.failure()
    assert failure.outcome == outcome
    assert [c.outcome for c in llm.calls()] == [outcome]
    assert len(llm.api.requests) == len(replies)  # retried as often as configured, no more


async def test_a_refused_key_takes_the_client_offline(llm: Harness) -> None:
    llm.api.script(unauthorized())
    await llm.failure()
    assert "refused the key" in llm.client.offline_reason()
    with pytest.raises(LlmUnavailable):
        await llm.ask()
    assert len(llm.api.requests) == 1


async def test_a_slow_answer_times_out(api: MessagesApi) -> None:
    harness = Harness(api, retries=0, timeout_s=0.3)
    api.script(tool_answer(OK, delay_s=2))
    try:
        assert (await harness.failure()).outcome == "timeout"
    finally:
        await harness.client.close()


async def test_a_long_retry_after_cannot_stall_past_the_deadline(api: MessagesApi) -> None:
    harness = Harness(api, retries=3, deadline_s=0.5)
    api.script(overloaded(retry_after=3600))
    started = time.perf_counter()
    try:
        failure = await harness.failure()
    finally:
        await harness.client.close()
    assert failure.outcome == "timeout" and "deadline_s" in failure.detail
    assert time.perf_counter() - started < 3


@pytest.mark.parametrize(("reply", "words"), [
    (Reply(body=b'{"type": "message", "content": [{"type": "tool_use"'), ""),
    (tool_answer({"action": "OK", "reason": "x", "risk_multiplier": "lots"}),
     "Expected `float | null`, got `str` - at `$.risk_multiplier`"),
    (tool_answer({"action": "RESUME", "reason": "x"}), "at `$.action`"),
    (tool_answer({"reason": "no action"}), "missing required field `action`"),
    (tool_answer({"action": "OK", "reason": "x", "pause_minutes": -5}), "$.pause_minutes"),
    (tool_answer("just text in the input"), "the tool input is str"),
    (text_answer("I think you should keep trading."), "no tool_use block"),
    (tool_answer(OK, name="another_tool"), "no tool_use block named 'moderate_trading'"),
])
async def test_malformed_and_wrong_typed_answers_are_bad_responses(llm: Harness, reply: Reply,
                                                                    words: str) -> None:
    llm.api.script(reply)
    failure = await llm.failure()
    assert failure.outcome == "bad_response" and words in failure.detail
    assert llm.calls()[-1].outcome == "bad_response"


async def test_the_budget_stops_calls_before_they_are_made(api: MessagesApi) -> None:
    harness = Harness(api, daily_token_budget=2000, max_tokens=1024)
    api.script(tool_answer(OK, usage=(700, 100)), tool_answer(OK))
    try:
        await harness.ask()
        failure = await harness.failure()
    finally:
        await harness.client.close()
    assert failure.outcome == "budget_exhausted" and len(api.requests) == 1
    assert [c.outcome for c in harness.calls()] == ["ok", "budget_exhausted"]
    budget = [e for e in harness.events if isinstance(e, LlmBudgetReported)][-1]
    assert budget.exhausted and not budget.available and budget.used_tokens == 800
    assert "budget is spent" in harness.client.offline_reason()


async def test_one_answer_cannot_charge_more_than_its_request_could_cost(
        api: MessagesApi) -> None:
    """An endpoint that reports 50 million tokens for one small answer: the call is
    charged the request's ceiling (max_tokens out, the prompt's measured size in),
    the clamp is journaled on the call and as an anomaly, and the day goes on."""
    harness = Harness(api, daily_token_budget=100_000, max_tokens=1024)
    api.script(tool_answer(OK, usage=(50_000_000, 9_000_000)), tool_answer(OK, usage=(700, 90)))
    try:
        await harness.ask()
        await harness.ask()
    finally:
        await harness.client.close()
    clamped, normal = harness.calls()
    sent = len(SYSTEM.encode()) + len(b"state: calm")
    assert clamped.usage_clamped and clamped.output_tokens == 1024
    assert sent < clamped.input_tokens < sent + 20_000  # the prompt, its schema, the framing
    assert (clamped.reported_input_tokens, clamped.reported_output_tokens) == (
        50_000_000, 9_000_000)
    assert not normal.usage_clamped and (normal.input_tokens, normal.output_tokens) == (700, 90)
    (anomaly,) = [e for e in harness.events if isinstance(e, AnomalyDetected)]
    assert (anomaly.kind, anomaly.severity, anomaly.source) == (
        "llm_usage_clamped", "warning", "llm:moderator")
    assert "reported 50,000,000 tokens in and 9,000,000 out" in anomaly.detail
    budget = [e for e in harness.events if isinstance(e, LlmBudgetReported)][-1]
    assert budget.used_tokens == clamped.input_tokens + 1024 + 790 and budget.available


async def test_an_answer_without_a_usable_count_is_charged_the_ceiling(api: MessagesApi) -> None:
    body = msgspec.json.decode(tool_answer(OK, name=TOOL.name).body)
    body["usage"] = {"input_tokens": "many", "output_tokens": -5}
    harness = Harness(api, max_tokens=512)
    api.script(Reply(body=msgspec.json.encode(body)))
    try:
        await harness.ask()
    finally:
        await harness.client.close()
    (call,) = harness.calls()
    assert call.usage_clamped and call.output_tokens == 512 and call.input_tokens > 1000
    assert call.reported_input_tokens is None and call.reported_output_tokens is None


async def test_the_key_goes_to_the_endpoint_and_nowhere_else(llm: Harness) -> None:
    llm.api.script(error(500, "api_error", f"bad key {KEY}"), error(500, "api_error", KEY))
    failure = await llm.failure()
    assert KEY not in failure.detail and "[redacted]" in failure.detail
    assert all(KEY not in msgspec.json.encode(e).decode() for e in llm.events)
    assert KEY in llm.api.requests[0].headers.get("authorization", "") + \
        llm.api.requests[0].headers.get("x-api-key", "")


async def test_no_endpoint_is_a_connection_error() -> None:
    (port,) = free_ports(1)
    client = LlmClient(LlmConfig(base_url=f"http://127.0.0.1:{port}", retries=0, timeout_s=1),
                       api_key=KEY, budget=TokenBudget(10_000), publish=lambda _: None,
                       clock=time.time)
    try:
        with pytest.raises(LlmFailure) as info:
            await client.ask(purpose="t", system="s", prompt="p", answer_type=ModeratorAnswer,
                             tool=TOOL)
    finally:
        await client.close()
    assert info.value.outcome == "connection_error"


@pytest.mark.parametrize(("config", "key", "words"), [
    ({"enabled": False}, KEY, "disabled in llm.yaml"),
    ({}, None, "no ANTHROPIC_API_KEY"),
])
async def test_no_call_without_a_key_or_when_disabled(config: dict[str, Any], key: str | None,
                                                      words: str) -> None:
    client = LlmClient(msgspec.convert(config, LlmConfig), api_key=key,
                       budget=TokenBudget(10_000), publish=lambda _: None, clock=time.time)
    assert words in client.offline_reason()
    with pytest.raises(LlmUnavailable):
        await client.ask(purpose="t", system="s", prompt="p", answer_type=ModeratorAnswer,
                         tool=TOOL)
    assert client._sdk is None  # the SDK was not even imported for it
