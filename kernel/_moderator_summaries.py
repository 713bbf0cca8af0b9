"""One-line summaries of the moderator's and the LLM layer's messages (see ``kernel/summaries.py``).

Like every summary they read decoded builtins, never Structs, so a tap shows
messages from a newer kernel too. A refusal is a warning: it is the adviser
asking for something the trust rules do not allow, and a person should see it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from kernel.untrusted import ident, one_line, quoted

Summary = Callable[[dict[str, Any]], str]


def _advice(m: dict[str, Any]) -> str:
    answer = m.get("answer") or {}
    extra = ""
    if answer.get("risk_multiplier") is not None:
        extra += f" risk_multiplier {answer['risk_multiplier']}"
    if answer.get("pause_minutes") is not None:
        extra += f" pause {answer['pause_minutes']} min"
    source = m.get("source")
    fallback = f" (fallback: {m['fallback_reason']})" if m.get("fallback_reason") else ""
    return (f"{ident(m.get('request_id'))} {source} says {answer.get('action')}{extra}: "
            f"{quoted(answer.get('reason'))} [trigger: {m.get('trigger')}]{fallback}")


def _applied(m: dict[str, Any]) -> str:
    how = "would apply (dry run)" if m.get("dry_run") else "applied"
    evidence = f" [{m['evidence']}]" if m.get("evidence") else ""
    return f"{ident(m.get('request_id'))} {how} {m.get('action')}: {m.get('detail')}{evidence}"


def _llm_call(m: dict[str, Any]) -> str:
    tokens = f"{m.get('input_tokens', 0)}+{m.get('output_tokens', 0)} tokens"
    if m.get("usage_clamped"):
        tokens += (f" (usage clamped: the endpoint reported {m.get('reported_input_tokens')}+"
                   f"{m.get('reported_output_tokens')})")
    detail = f": {m['detail']}" if m.get("detail") else ""
    return (f"{m.get('purpose')} {ident(m.get('model'))} {m.get('outcome')} {tokens} "
            f"{m.get('latency_ms', 0):.0f} ms #{m.get('prompt_hash')}{detail}")


def _budget(m: dict[str, Any]) -> str:
    state = "available" if m.get("available") else f"offline ({m.get('offline_reason')})"
    return (f"{m.get('day')}: {m.get('used_tokens')} of {m.get('daily_tokens')} tokens, "
            f"{m.get('calls')} calls; {state}")


MODERATOR_SUMMARIES: dict[str, Summary] = {
    "moderation_requested": lambda m: f"{ident(m.get('request_id'))} asked by "
                                      f"{ident(m.get('requested_by'))}: "
                                      f"{quoted(m.get('reason'))}",
    "moderator_advice": _advice,
    "moderator_advice_applied": _applied,
    "moderator_advice_refused": lambda m: f"{ident(m.get('request_id'))} REFUSED "
                                          f"{ident(m.get('action'))} "
                                          f"({m.get('source')}): {m.get('reason')}",
    "moderator_pause_started": lambda m: f"bot paused {m.get('minutes')} min by the moderator "
                                         f"({ident(m.get('request_id'))})",
    "moderator_pause_ended": lambda m: f"moderator pause {ident(m.get('request_id'))} ended",
    "risk_multiplier_requested": lambda m: f"risk multiplier -> {m.get('value')} asked by "
                                           f"{ident(m.get('requested_by'))}: "
                                           f"{quoted(m.get('reason'))}",
    "llm_call": _llm_call,
    "llm_budget": _budget,
}

MODERATOR_SEVERITIES: dict[str, str] = {
    "moderator_advice_refused": "warning",
    "moderator_pause_started": "warning",
    "risk_multiplier_requested": "warning",
}
"""A refusal, a pause or a multiplier change stands out like an operator's command."""


def status_lines(budget: Any, advice: Any) -> list[str]:
    """``kernel status``: the LLM's state and budget, and the moderator's last word."""
    lines = []
    if isinstance(budget, dict):
        lines.append(one_line(f"llm: {_budget(budget)}"))
    else:
        lines.append("llm: no budget reported yet (is the moderator running?)")
    if isinstance(advice, dict):
        answer = advice.get("answer") or {}
        lines.append(one_line(f"moderator: last advice {answer.get('action')} from "
                              f"{advice.get('source')} ({advice.get('trigger')}): "
                              f"{quoted(answer.get('reason'))}"))
    return lines
