"""One tiny forced tool call to the configured endpoint, for ``kernel llm check``.

It goes through the project's one client (same SDK settings, same structured
answer path), so a passing check means the moderator's calls can pass too. It
runs outside the kernel: nothing is journaled and the kernel's budget is not
touched; the call costs a few dozen tokens.
"""

from __future__ import annotations

import time

import msgspec

from agents.moderator.llm_budget import TokenBudget
from agents.moderator.llm_client import LlmClient, LlmFailure, Tool
from agents.moderator.llm_config import LlmConfig
from bus.protocol import Message


class Pong(msgspec.Struct, frozen=True, kw_only=True):
    """Answer ok=true to show that structured answers work."""

    ok: bool


class ProbeResult(msgspec.Struct, frozen=True, kw_only=True):
    model: str = ""
    latency_ms: float = 0.0
    tokens: int = 0
    outcome: str = "ok"
    error: str = ""


_TOOL = Tool(name="answer_check", description="Confirm that the endpoint answers with a tool.")


async def probe(config: LlmConfig) -> ProbeResult:
    def ignore(_: Message) -> None:
        return None

    client = LlmClient.from_env(
        msgspec.structs.replace(config, enabled=True, max_tokens=min(config.max_tokens, 64)),
        budget=TokenBudget(10_000), publish=ignore, clock=time.time)
    try:
        reply = await client.ask(purpose="check", system="Answer with the tool.",
                                 prompt="Call answer_check with ok=true.", answer_type=Pong,
                                 tool=_TOOL)
    except LlmFailure as exc:
        return ProbeResult(outcome=exc.outcome, error=f"{exc.outcome}: {exc.detail}")
    finally:
        await client.close()
    return ProbeResult(model=reply.model, latency_ms=reply.latency_ms,
                       tokens=reply.input_tokens + reply.output_tokens)
