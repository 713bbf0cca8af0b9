"""One-line summaries of the planner's messages for ``kernel tap`` (see ``kernel/summaries.py``).

Like every summary they read decoded builtins, never Structs, so a tap shows
plans from a newer kernel too; a missing field prints as ``?``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from kernel.untrusted import ident, quoted

Summary = Callable[[dict[str, Any]], str]


def _num(value: Any) -> str:
    if isinstance(value, int | float):
        return f"{value:,.6g}" if abs(value) < 1000 else f"{value:,.2f}"
    return "?"


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _range(part: Any, key: str = "price_range") -> str:
    rng = part.get(key) if isinstance(part, dict) else None
    if not isinstance(rng, dict):
        return "?"
    return f"{_num(rng.get('low'))}-{_num(rng.get('high'))}"


def trade_plan(m: dict[str, Any]) -> str:
    head = f"{ident(m.get('symbol'))} {m.get('style')} {m.get('decision')}"
    if m.get("decision") != "TRADE":
        reasons = _list(m.get("no_trade_reasons")) or ["?"]
        return f"{head}: {reasons[0]}"
    entry, position = _dict(m.get("entry")), _dict(m.get("position"))
    zone = _dict(entry.get("zone"))
    targets = _list(m.get("targets")) or [{}]
    line = (f"{head} {m.get('direction')} {_num(m.get('confidence'))}% "
            f"entry {_num(zone.get('low'))}-{_num(zone.get('high'))} "
            f"stop {_range(m.get('stop_loss'))} TP1 {_range(targets[0])} "
            f"qty {_num(position.get('quantity'))} {position.get('unit', '')} "
            f"risk {_num(position.get('max_risk'))}")
    if _dict(m.get("chase")).get("status") == "BLOCK":
        line += " (wait for pullback)"
    return line


def _source(m: dict[str, Any]) -> str:
    return f"({ident(m.get('source', '?'))})"


def technical_verdict(m: dict[str, Any]) -> str:
    supports, resistances = _list(m.get("supports")), _list(m.get("resistances"))
    levels = ""
    if supports:
        levels += f" S {_num(_dict(supports[0]).get('price'))}"
    if resistances:
        levels += f" R {_num(_dict(resistances[0]).get('price'))}"
    return (f"{ident(m.get('symbol'))} {m.get('direction')} {_num(m.get('confidence'))}% "
            f"{m.get('entry_type')}{levels} {_source(m)}")


def macro_verdict(m: dict[str, Any]) -> str:
    return (f"{m.get('asset_class') or 'all'} {m.get('regime')} {m.get('direction')} "
            f"{_num(m.get('confidence'))}% {_source(m)} "
            f"{quoted(m.get('economic_assessment', ''))}")


def wildcard_verdict(m: dict[str, Any]) -> str:
    risks = [_dict(r) for r in _list(m.get("risks"))]
    rank = {"low": 0, "medium": 1, "high": 2, "critical": 3}
    worst = max((str(r.get("severity", "low")) for r in risks), key=lambda s: rank.get(s, 0),
                default="low")
    first = f": {quoted(risks[0].get('description'))}" if risks else ""
    return f"{ident(m.get('symbol'))} risk {worst}, {len(risks)} risk(s) {_source(m)}{first}"


def market_snapshot(m: dict[str, Any]) -> str:
    return (f"{ident(m.get('symbol'))} {_num(m.get('price'))} HOD {_num(m.get('hod'))} "
            f"LOD {_num(m.get('lod'))} VWAP {_num(m.get('vwap'))} "
            f"ATR30 {_num(m.get('atr_30d'))} {m.get('market_status')}")


def bars(m: dict[str, Any]) -> str:
    items = _list(m.get("bars"))
    last = _dict(items[-1]) if items else {}
    return (f"{ident(m.get('bot_id') or '?')} {ident(m.get('symbol'))} {len(items)} bar(s), "
            f"last close {_num(last.get('close'))}")


def plan_request(m: dict[str, Any]) -> str:
    return (f"{ident(m.get('bot_id') or '?')} {ident(m.get('request_id'))} "
            f"{ident(m.get('symbol'))} "
            f"{m.get('style') or 'configured style'}")


PLAN_SUMMARIES: dict[str, Summary] = {
    "trade_plan": trade_plan,
    "technical_verdict": technical_verdict,
    "macro_verdict": macro_verdict,
    "wildcard_verdict": wildcard_verdict,
    "market_snapshot": market_snapshot,
    "bars": bars,
    "plan_request": plan_request,
}
