"""The one call of the planner's LLM mode: ask, then keep only what passes the checks.

The checks themselves are pure and live in :mod:`agents.planner.llm`; this is the
thin shell that awaits the LLM client between building the prompt and applying
the answer.
"""

from __future__ import annotations

from agents.moderator.llm_client import LlmClient, LlmFailure
from agents.moderator.llm_config import PlannerLlmConfig
from agents.planner.llm import (
    TOOL,
    PlanInputs,
    PlanRefinement,
    apply_refinement,
    deterministic,
    fallback,
    planner_prompt,
    unknown_keys,
)
from planner.messages import TradePlan


async def refine_plan(client: LlmClient, plan: TradePlan, inputs: PlanInputs,
                      cfg: PlannerLlmConfig, *, request_id: str = "") -> TradePlan:
    """Ask the LLM (through the one client) and keep only what passes the checks."""
    if not cfg.enabled or plan.decision != "TRADE":
        return deterministic(plan, inputs)
    system, prompt = planner_prompt(plan, inputs, cfg)
    try:
        reply = await client.ask(purpose="planner", system=system, prompt=prompt,
                                 answer_type=PlanRefinement, tool=TOOL, request_id=request_id)
    except LlmFailure as exc:
        return fallback(plan, inputs, f"{exc.outcome}: {exc.detail}")
    return apply_refinement(plan, reply.value, inputs, cfg, unknown=unknown_keys(reply.raw))
