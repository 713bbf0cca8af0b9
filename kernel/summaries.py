"""One-line, human summaries of bus messages, for ``kernel tap`` and logs.

Works on the decoded builtins (a dict with a ``type``) rather than on Structs,
so a viewer can show messages from newer kernels or remote actors it does not
know the types of.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from kernel._plan_summaries import PLAN_SUMMARIES

Summary = Callable[[dict[str, Any]], str]


def _money(value: Any) -> str:
    return f"{value:,.2f}" if isinstance(value, int | float) else str(value)


def _heartbeat(m: dict[str, Any]) -> str:
    pnl = (m.get("realized_pnl") or 0) + (m.get("unrealized_pnl") or 0)
    return (f"{m.get('bot_id')} #{m.get('seq')} equity {_money(m.get('equity'))} "
            f"pnl {pnl:+,.2f} positions {len(m.get('positions') or [])} "
            f"up {m.get('uptime_s', 0):.0f}s")


def _order_request(m: dict[str, Any]) -> str:
    flags = " reduce-only" if m.get("reduce_only") else ""
    return (f"{m.get('bot_id')} {m.get('request_id')} {m.get('side')} {m.get('qty')} "
            f"{m.get('symbol')} @ {m.get('price')}{flags}")


def _order_decision(m: dict[str, Any]) -> str:
    return f"{m.get('verdict')} {m.get('request_id')} [{m.get('code')}] {m.get('reason')}"


def _fill(m: dict[str, Any]) -> str:
    return (f"{m.get('bot_id')} {m.get('side')} {m.get('qty')} {m.get('symbol')} "
            f"@ {m.get('price')} fee {m.get('fee')}")


_SUMMARIES: dict[str, Summary] = {
    "heartbeat": _heartbeat,
    "order_request": _order_request,
    "order_decision": _order_decision,
    "fill": _fill,
    "hello": lambda m: f"{m.get('bot_id')} mode={m.get('mode')} pid={m.get('pid')}",
    "command_ack": lambda m: f"{m.get('command_id')} ok={m.get('ok')} {m.get('detail', '')}",
    "anomaly": lambda m: f"{m.get('severity')} {m.get('kind')} ({m.get('source')}): "
                         f"{m.get('detail', '')}",
    "actor_status": lambda m: f"{m.get('actor')} {m.get('state')} {m.get('detail', '')}".strip(),
    "kernel_state": lambda m: f"{m.get('state')} {m.get('reason', '')}".strip(),
    "bot_lifecycle": lambda m: f"{m.get('bot_id')} {m.get('state')} {m.get('detail', '')}".strip(),
    **PLAN_SUMMARIES,
}


def summarize(body: Any) -> str:
    """The best one-line summary we know for a decoded payload."""
    if not isinstance(body, dict):
        return repr(body)[:200]
    kind = body.get("type")
    summary = _SUMMARIES.get(kind) if isinstance(kind, str) else None
    if summary is not None:
        try:
            return summary(body)
        except (TypeError, ValueError):
            pass  # a malformed body still gets the generic form below
    fields = " ".join(f"{k}={v}" for k, v in body.items() if k != "type")
    return f"{kind or '?'} {fields}"[:300]


def severity(body: Any) -> str:
    """info / warning / error, for colouring lines."""
    if not isinstance(body, dict):
        return "info"
    if body.get("type") == "anomaly":
        return str(body.get("severity", "warning"))
    if body.get("verdict") == "DENY" or body.get("state") in {"halted", "FAULTED", "crashed",
                                                              "hung", "gave_up"}:
        return "warning"
    return "info"
