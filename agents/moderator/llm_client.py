"""The one LLM client of the project, on the official ``anthropic`` SDK (async).

Why it looks like this:

* **Structured answers only.** Every question is a forced tool call whose
  ``input_schema`` is generated from the msgspec Struct of the answer, and the
  tool input is then decoded *and validated* by msgspec: the endpoint is not
  trusted to have enforced the schema.
* **Every call journaled** as an :class:`LlmCallMade` (purpose, model, prompt
  hash, tokens, latency, outcome), refusals for the budget included, followed
  by the day's :class:`LlmBudgetReported` for ``kernel status``.
* **Usage is not taken on trust.** An answer is charged what the endpoint
  reports, but never more than the request could cost: ``max_tokens`` out, and
  in the prompt's measured ceiling (:func:`token_ceiling`). A report above that,
  or none that can be read, is charged the ceiling, journaled on the call
  (``usage_clamped``) and as an ``llm_usage_clamped`` anomaly, so one answer
  cannot spend the day's budget.
* **Errors told apart** (rate limited, overloaded, timeout, auth, server,
  connection, bad request, bad response) and raised as :class:`LlmFailure`, so
  each caller ends in its own journaled fallback, never a silent default.
* **The key** comes only from ``ANTHROPIC_API_KEY``; it is handed to the SDK and
  to nothing else (any error text that would echo it is redacted).
* **Never blocks the loop.** The SDK costs about a second to import, so it is
  imported (and the HTTP client built) in a worker thread on first use; with no
  key it is never imported at all, and ``kernel run`` starts as fast offline.
"""

from __future__ import annotations

import asyncio
import importlib
import os
import time
from collections.abc import Callable
from types import ModuleType
from typing import Any, Final, Generic, NamedTuple, TypeVar

import msgspec

from agents.moderator.llm_budget import TokenBudget
from agents.moderator.llm_config import LlmConfig
from agents.moderator.llm_text import (
    Tool,
    estimate_tokens,
    prompt_hash,
    quote_data,
    token_ceiling,
    tool_schema,
)
from agents.moderator.messages import LlmCallMade, Outcome
from bus.protocol import Message
from kernel.events import AnomalyDetected

__all__ = ["KEY_ENV", "LlmClient", "LlmFailure", "LlmReply", "LlmUnavailable", "Tool"]

T = TypeVar("T")
KEY_ENV: Final = "ANTHROPIC_API_KEY"
_MAX_REPORTED: Final = 2**62
"""A reported count is kept up to this (it must fit a journal row)."""


class Usage(NamedTuple):
    """Tokens in and out of one call."""

    input: int
    output: int


class LlmFailure(Exception):
    """A call that gave no usable answer; ``outcome`` is the stable word for why."""

    def __init__(self, outcome: Outcome, detail: str) -> None:
        super().__init__(f"{outcome}: {detail}")
        self.outcome = outcome
        self.detail = detail


class LlmUnavailable(LlmFailure):
    """No call was made: disabled, no key, the key was refused, or the budget is spent."""


class LlmReply(msgspec.Struct, Generic[T], frozen=True, kw_only=True):
    value: T
    raw: dict[str, Any]
    """The tool input as sent, for checks the Struct cannot express (unknown keys)."""
    model: str
    input_tokens: int
    output_tokens: int
    latency_ms: float
    prompt_hash: str


class LlmClient:
    """Ask structured questions; see the module docstring for the rules it keeps."""

    def __init__(self, config: LlmConfig, *, api_key: str | None, budget: TokenBudget,
                 publish: Callable[[Message], None], clock: Callable[[], float],
                 monotonic: Callable[[], float] = time.perf_counter) -> None:
        self.config = config
        self._key = api_key or None
        self.budget = budget
        self._publish = publish
        self._clock = clock
        self._monotonic = monotonic
        self._sdk: Any = None
        self._module: ModuleType | None = None
        self._auth_failed = ""

    @classmethod
    def from_env(cls, config: LlmConfig, **kwargs: Any) -> LlmClient:
        return cls(config, api_key=os.environ.get(KEY_ENV), **kwargs)

    def offline_reason(self) -> str:
        """Why no call would be made now; empty when the LLM is usable."""
        if not self.config.enabled:
            return "the LLM is disabled in llm.yaml (enabled: false)"
        if self._key is None:
            return f"no {KEY_ENV} in the environment"
        if self._auth_failed:
            return f"the endpoint refused the key ({self._auth_failed}); fix {KEY_ENV}, restart"
        if self.budget.exhausted(self._clock()):
            return (f"the daily token budget is spent ({self.budget.used} of "
                    f"{self.budget.daily_tokens} tokens)")
        return ""

    def report_budget(self) -> None:
        reason = self.offline_reason()
        self._publish(self.budget.report(self._clock(), available=not reason,
                                         offline_reason=reason))

    async def ask(self, *, purpose: str, system: str, prompt: str, answer_type: type[T],
                  tool: Tool, request_id: str = "") -> LlmReply[T]:
        """One forced tool call; the validated answer, or :class:`LlmFailure`."""
        schema = tool_schema(answer_type)
        schema_text = quote_data(schema)
        fingerprint = prompt_hash(self.config.model, system, prompt, schema_text)
        reason = self.offline_reason()
        if reason:
            raise LlmUnavailable("unavailable", reason)
        now = self._clock()
        worst = estimate_tokens(system, prompt, schema_text) + self.config.max_tokens
        if not self.budget.room_for(worst, now):
            self.budget.refuse(now)
            detail = (f"up to {worst} tokens would pass the daily budget "
                      f"({self.budget.used} of {self.budget.daily_tokens} used)")
            self._journal(purpose, fingerprint, "budget_exhausted", 0.0, detail, request_id)
            raise LlmUnavailable("budget_exhausted", detail)
        ceiling = Usage(token_ceiling(system, prompt, schema_text, tool.name, tool.description),
                        self.config.max_tokens)
        try:
            sdk = await self._client()
        except ImportError as exc:
            raise LlmUnavailable("unavailable", f"the anthropic SDK cannot be imported: {exc}") \
                from exc
        started = self._monotonic()
        try:
            response = await self._create(sdk, system, prompt, schema, tool)
        except LlmFailure as exc:
            self._journal(purpose, fingerprint, exc.outcome, self._since(started),
                          exc.detail, request_id)
            raise
        return self._decode(response, answer_type, tool, purpose, fingerprint, started,
                            request_id, ceiling)

    async def close(self) -> None:
        if self._sdk is not None:
            sdk, self._sdk = self._sdk, None
            await sdk.close()

    # --- the call ---------------------------------------------------------------------

    async def _create(self, sdk: Any, system: str, prompt: str, schema: dict[str, Any],
                      tool: Tool) -> Any:
        try:
            async with asyncio.timeout(self.config.deadline_s):
                return await sdk.messages.create(
                    model=self.config.model, max_tokens=self.config.max_tokens, system=system,
                    messages=[{"role": "user", "content": prompt}],
                    tools=[{"name": tool.name, "description": tool.description,
                            "input_schema": schema}],
                    tool_choice={"type": "tool", "name": tool.name})
        except TimeoutError as exc:
            raise LlmFailure("timeout", f"no answer within deadline_s {self.config.deadline_s:g} "
                                        "s (retries included)") from exc
        except Exception as exc:
            outcome, detail = self._classify(exc)
            if outcome == "auth_failed":
                self._auth_failed = detail[:200]
            raise LlmFailure(outcome, detail) from exc

    async def _client(self) -> Any:
        if self._sdk is None:
            self._sdk = await asyncio.to_thread(self._build_sdk)
        return self._sdk

    def _build_sdk(self) -> Any:
        """Runs in a worker thread: the import and the TLS setup are slow, the loop is not."""
        module = self._module or importlib.import_module("anthropic")
        self._module = module
        return module.AsyncAnthropic(api_key=self._key, base_url=self.config.base_url,
                                     max_retries=self.config.retries,
                                     timeout=self.config.timeout_s)

    def _classify(self, exc: Exception) -> tuple[Outcome, str]:
        """The stable outcome word for an SDK error, with a redacted one-line detail."""
        sdk = self._module
        detail = self._redact(f"{type(exc).__name__}: {exc}")[:1000]
        if sdk is None:
            return "connection_error", detail
        table: tuple[tuple[str, Outcome], ...] = (
            ("RateLimitError", "rate_limited"), ("OverloadedError", "overloaded"),
            ("APITimeoutError", "timeout"), ("AuthenticationError", "auth_failed"),
            ("PermissionDeniedError", "auth_failed"), ("InternalServerError", "server_error"),
            ("APIConnectionError", "connection_error"), ("APIStatusError", "bad_request"),
        )
        for name, outcome in table:
            cls = getattr(sdk, name, None)
            if isinstance(cls, type) and isinstance(exc, cls):
                if outcome == "server_error" and getattr(exc, "status_code", 0) == 529:
                    return "overloaded", detail  # an SDK without OverloadedError
                return outcome, detail
        return "bad_response", detail  # the SDK could not parse what came back

    def _decode(self, response: Any, answer_type: type[T], tool: Tool, purpose: str,
                fingerprint: str, started: float, request_id: str,
                ceiling: Usage) -> LlmReply[T]:
        latency = self._since(started)
        usage = getattr(response, "usage", None)
        reported = Usage(_count(getattr(usage, "input_tokens", None)),
                         _count(getattr(usage, "output_tokens", None)))
        tokens_in, tokens_out = _charged(reported, ceiling)
        clamped = None if (tokens_in, tokens_out) == reported else reported
        model = str(getattr(response, "model", "") or self.config.model)
        try:
            raw = _tool_input(response, tool.name)
            value = msgspec.convert(raw, answer_type)
        except (LlmFailure, msgspec.ValidationError) as exc:
            detail = exc.detail if isinstance(exc, LlmFailure) else f"invalid answer: {exc}"
            self._journal(purpose, fingerprint, "bad_response", latency, detail, request_id,
                          tokens_in, tokens_out, model, clamped)
            raise LlmFailure("bad_response", detail) from exc
        self._journal(purpose, fingerprint, "ok", latency, "", request_id, tokens_in, tokens_out,
                      model, clamped)
        return LlmReply(value=value, raw=raw, model=model, input_tokens=tokens_in,
                        output_tokens=tokens_out, latency_ms=latency, prompt_hash=fingerprint)

    # --- journal ----------------------------------------------------------------------

    def _journal(self, purpose: str, fingerprint: str, outcome: Outcome, latency_ms: float,
                 detail: str, request_id: str, tokens_in: int = 0, tokens_out: int = 0,
                 model: str = "", clamped: Usage | None = None) -> None:
        """Journal one call; ``clamped``: what the endpoint reported, when it was more
        than the call was charged (or not readable, -1)."""
        now = self._clock()
        if outcome != "budget_exhausted":
            self.budget.spend(tokens_in + tokens_out, now)
        self._publish(LlmCallMade(
            purpose=purpose, model=model or self.config.model, prompt_hash=fingerprint,
            outcome=outcome, ts=now, input_tokens=tokens_in, output_tokens=tokens_out,
            latency_ms=round(latency_ms, 3), detail=self._redact(detail)[:4096],
            request_id=request_id[:64], usage_clamped=clamped is not None,
            reported_input_tokens=None if clamped is None or clamped.input < 0 else clamped.input,
            reported_output_tokens=None if clamped is None or clamped.output < 0
            else clamped.output))
        if clamped is not None:
            self._publish(AnomalyDetected(
                kind="llm_usage_clamped", severity="warning", ts=now, source=f"llm:{purpose}",
                detail=f"the endpoint reported {_shown(clamped.input)} tokens in and "
                       f"{_shown(clamped.output)} out for one {purpose} answer (call "
                       f"#{fingerprint}); charged {tokens_in} + {tokens_out}, the most the "
                       f"request could cost (max_tokens {self.config.max_tokens})"))
        self.report_budget()

    def _redact(self, text: str) -> str:
        return text.replace(self._key, "[redacted]") if self._key else text

    def _since(self, started: float) -> float:
        return (self._monotonic() - started) * 1000


def _count(value: Any) -> int:
    """A reported token count; -1 when there is none that can be read."""
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return min(value, _MAX_REPORTED)
    return -1


def _charged(reported: Usage, ceiling: Usage) -> tuple[int, int]:
    """What a call costs the budget: the report, within what the request could cost;
    the ceiling when the report is missing or unreadable."""
    return (ceiling.input if reported.input < 0 else min(reported.input, ceiling.input),
            ceiling.output if reported.output < 0 else min(reported.output, ceiling.output))


def _shown(count: int) -> str:
    return "no readable count of" if count < 0 else f"{count:,}"


def _tool_input(response: Any, name: str) -> dict[str, Any]:
    """The input of the tool_use block named ``name``, as a JSON object."""
    content = getattr(response, "content", None)
    if not isinstance(content, list):
        raise LlmFailure("bad_response", "the answer has no content list")
    for block in content:
        if getattr(block, "type", None) == "tool_use" and getattr(block, "name", None) == name:
            raw = getattr(block, "input", None)
            if not isinstance(raw, dict):
                raise LlmFailure("bad_response", f"the tool input is {type(raw).__name__}, "
                                                 "expected a JSON object")
            return raw
    kinds = ", ".join(str(getattr(b, "type", "?")) for b in content) or "nothing"
    raise LlmFailure("bad_response", f"no tool_use block named {name!r} in the answer "
                                     f"(found: {kinds}; stop_reason "
                                     f"{getattr(response, 'stop_reason', None)})")
