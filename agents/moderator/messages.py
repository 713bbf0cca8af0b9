"""Events of the LLM layer and the risk moderator, published on the bus and journaled.

Topics: ``moderator.*`` for what the duty officer saw, said and did;
``llm.*`` for every call to the endpoint and the day's token budget; and
``risk.multiplier_request`` for a change of the risk multiplier that the risk
engine (which owns it) carries out within its bounds. Every refusal says why,
so the tap and the journal show what the adviser asked for and did not get.
"""

from __future__ import annotations

from typing import ClassVar, Literal, TypeAlias

from agents.moderator.parts import Action, ModerationSummary, ModeratorAnswer, Source
from bus.protocol import Message, Text, Timestamp
from kernel.events import RequestId

Effect: TypeAlias = Literal["none", "risk_multiplier", "pause", "paper"]
Outcome: TypeAlias = Literal[
    "ok", "budget_exhausted", "rate_limited", "overloaded", "timeout", "auth_failed",
    "server_error", "connection_error", "bad_request", "bad_response", "unavailable",
]
"""How a call ended. Everything but ``ok`` ends in a fallback; ``unavailable`` (no key,
disabled, the key refused before) is not a call and is not journaled as one."""


class ModeratorAdviceGiven(Message, frozen=True, tag="moderator_advice"):
    """The answer to "should we keep trading?", who gave it, and what it was given.

    ``source`` is ``offline`` when the rules answered; ``fallback_reason`` then says
    why the LLM did not (no key, budget spent, rate limited, a bad answer, ...).
    """

    topic: ClassVar[str] = "moderator.advice"
    request_id: RequestId
    trigger: str
    source: Source
    answer: ModeratorAnswer
    summary: ModerationSummary
    ts: Timestamp
    fallback_reason: Text = ""
    prompt_hash: str = ""


class AdviceApplied(Message, frozen=True, tag="moderator_advice_applied"):
    """An answer passed the trust rules and was carried out (or, ``dry_run``, would be)."""

    topic: ClassVar[str] = "moderator.applied"
    request_id: RequestId
    action: Action
    effect: Effect
    detail: Text
    ts: Timestamp
    dry_run: bool = False
    evidence: Text = ""
    """REDUCE_RISK: today so far replayed with the reduced multiplier (docs/replay.md),
    or why it could not be."""


class AdviceRefused(Message, frozen=True, tag="moderator_advice_refused"):
    """An answer broke a trust rule; nothing of it was applied. ``reason`` names the rule."""

    topic: ClassVar[str] = "moderator.refused"
    request_id: RequestId
    action: str
    reason: Text
    ts: Timestamp
    source: Source = "llm"


class PauseStarted(Message, frozen=True, tag="moderator_pause_started"):
    """The bot was told to place no orders until ``until_ts`` (then told to resume)."""

    topic: ClassVar[str] = "moderator.pause"
    request_id: RequestId
    minutes: int
    until_ts: Timestamp
    ts: Timestamp


class PauseEnded(Message, frozen=True, tag="moderator_pause_ended"):
    """The moderator's own pause ran out and the bot was told to resume."""

    topic: ClassVar[str] = "moderator.pause"
    request_id: RequestId
    ts: Timestamp


class LlmCallMade(Message, frozen=True, tag="llm_call"):
    """One call to the endpoint (or one refused for the budget). Never holds the key.

    ``input_tokens`` and ``output_tokens`` are what the call was charged against the
    budget: what the endpoint reported, but never more than the request could cost
    (``max_tokens`` out, the prompt's measured ceiling in). When the report was
    more, ``usage_clamped`` is set and ``reported_*`` keep what it said."""

    topic: ClassVar[str] = "llm.call"
    purpose: str
    model: str
    prompt_hash: str
    outcome: Outcome
    ts: Timestamp
    input_tokens: int = 0
    output_tokens: int = 0
    latency_ms: float = 0.0
    detail: Text = ""
    request_id: RequestId = ""
    usage_clamped: bool = False
    reported_input_tokens: int | None = None
    reported_output_tokens: int | None = None


class LlmBudgetReported(Message, frozen=True, tag="llm_budget"):
    """Tokens spent today against the daily budget; also says whether the LLM is usable."""

    topic: ClassVar[str] = "llm.budget"
    day: str
    used_tokens: int
    daily_tokens: int
    calls: int
    exhausted: bool
    available: bool
    ts: Timestamp
    offline_reason: Text = ""
    """Why calls are not made now (no key, disabled, budget spent, auth failed)."""


LlmEvent: TypeAlias = (
    ModeratorAdviceGiven | AdviceApplied | AdviceRefused | PauseStarted
    | PauseEnded | LlmCallMade | LlmBudgetReported
)
"""Every event of this domain; the kernel composes it into the bus union."""
