"""Synthesis of the agents' verdicts: the conflict table and the TRADE / NO TRADE rules.

Each row of the seed's tables is one branch here, in the seed's words, so that a
reader can hold the table beside the code. Where the seed leaves a case open the
choice is written next to its branch and in docs/planner.md.
"""

from __future__ import annotations

import msgspec

from planner.config import SynthesisConfig
from planner.messages import MacroVerdict, TechnicalVerdict, WildCardVerdict
from planner.parts import (
    AgentSupport,
    Agreement,
    Decision,
    Direction,
    MarketStatus,
    Stance,
    Synthesis,
    TradeDirection,
)
from planner.prices import fmt_price


class Resolution(msgspec.Struct, frozen=True, kw_only=True):
    """The outcome of the conflict table: a direction and a base confidence, or none."""

    direction: TradeDirection | None
    confidence: float
    agreement: Agreement
    rule: str
    ceiling: float = 100.0
    """The most this row can give (the agreement cap, the Macro-only cap): the confidence
    range is clipped to it like the point."""


class TradeDecision(msgspec.Struct, frozen=True, kw_only=True):
    decision: Decision
    resolution: Resolution
    reasons: tuple[str, ...] = ()


def _opposite(direction: TradeDirection) -> TradeDirection:
    return "SHORT" if direction == "LONG" else "LONG"


def resolve_conflict(
    technical: TechnicalVerdict, macro: MacroVerdict, cfg: SynthesisConfig
) -> Resolution:
    """The seed's conflict table, with its mirror image for SHORT."""
    t_dir, t_conf = technical.direction, technical.confidence
    m_dir, m_conf = macro.direction, macro.confidence
    if t_dir != "NEUTRAL" and m_dir == t_dir:
        base = min(cfg.confidence_cap, max(t_conf, m_conf) + cfg.agreement_bonus)
        rule = f"Technical and Macro both say {t_dir}: strong agreement → high-confidence trade"
        if base < cfg.strong_conviction:
            # The seed's words promise high confidence; two unsure agents do not give it,
            # and the plan must not say so beside a weak confidence.
            rule = (f"Technical and Macro both say {t_dir}, but at {t_conf:.0f}% and "
                    f"{m_conf:.0f}%: agreement → trade, at {base:.0f}% short of high confidence")
        return Resolution(direction=t_dir, agreement="agree", ceiling=cfg.confidence_cap,
                          confidence=base, rule=rule)
    if t_dir != "NEUTRAL" and m_dir == _opposite(t_dir):
        return Resolution(
            direction=t_dir, agreement="conflict",
            confidence=max(0.0, t_conf - cfg.conflict_penalty),
            rule=f"Technical says {t_dir}, Macro says {m_dir}: "
                 "Technical wins (has actual price data)",
        )
    if t_dir != "NEUTRAL":
        return Resolution(
            direction=t_dir, agreement="technical_only", confidence=t_conf,
            rule=f"Technical says {t_dir}, Macro is NEUTRAL: trade the Technical direction",
        )
    return _technical_neutral(m_dir, t_conf, m_conf, cfg)


def _technical_neutral(
    m_dir: Direction, t_conf: float, m_conf: float, cfg: SynthesisConfig
) -> Resolution:
    """Rows the conflict table leaves to the TRADE / NO TRADE rules."""
    threshold = cfg.neutral_no_trade_below
    if m_dir == "NEUTRAL" and t_conf < threshold and m_conf < threshold:
        return Resolution(direction=None, confidence=0.0, agreement="none",
                          rule=f"Both say NEUTRAL with <{threshold:g}% confidence each: No Trade")
    if m_dir == "NEUTRAL":
        # Seed-silent: both neutral but one of them with conviction. There is no
        # direction to trade, so this is NO TRADE as well.
        return Resolution(direction=None, confidence=0.0, agreement="none",
                          rule=f"Both say NEUTRAL (Technical {t_conf:.0f}%, Macro {m_conf:.0f}%): "
                               "no direction to trade")
    if m_conf > cfg.single_agent_trade_above:
        # One agent directional with >50%: trade it, capped, since no price
        # structure confirms it.
        return Resolution(direction=m_dir, agreement="macro_only", ceiling=cfg.macro_only_cap,
                          confidence=min(m_conf, cfg.macro_only_cap),
                          rule=f"Technical is NEUTRAL, Macro says {m_dir} with {m_conf:.0f}% "
                               f"(>{cfg.single_agent_trade_above:g}%): trade the Macro direction, "
                               f"confidence capped at {cfg.macro_only_cap:g}")
    # Seed-silent: only Macro is directional and without >50%; none of the TRADE
    # rules holds, so NO TRADE.
    return Resolution(direction=None, confidence=0.0, agreement="none",
                      rule=f"Technical is NEUTRAL and Macro's {m_dir} is only {m_conf:.0f}% "
                           f"(needs >{cfg.single_agent_trade_above:g}% to trade alone)")


def decide_trade(
    technical: TechnicalVerdict,
    macro: MacroVerdict,
    *,
    market_status: MarketStatus,
    critical_error: str | None,
    cfg: SynthesisConfig,
) -> TradeDecision:
    """TRADE unless a NO TRADE rule holds; every rule that holds is a reason."""
    resolution = resolve_conflict(technical, macro, cfg)
    reasons: list[str] = []
    if critical_error:
        reasons.append(f"Critical system error: {critical_error}")
    if market_status == "closed":
        reasons.append("Market is completely closed")
    if resolution.direction is None:
        reasons.append(resolution.rule)
    decision: Decision = "NO_TRADE" if reasons else "TRADE"
    return TradeDecision(decision=decision, resolution=resolution, reasons=tuple(reasons))


def vwap_bias(price: float, vwap: float | None, atr: float, band_atr: float) -> Direction:
    """Price above VWAP favours longs, below favours shorts; on it, neither."""
    if vwap is None:
        return "NEUTRAL"
    band = band_atr * atr
    if price > vwap + band:
        return "LONG"
    if price < vwap - band:
        return "SHORT"
    return "NEUTRAL"


def vwap_note(price: float, vwap: float | None, bias: Direction) -> str:
    if vwap is None:
        return "No VWAP in the snapshot: no intraday bias"
    where = {"LONG": "above", "SHORT": "below", "NEUTRAL": "at"}[bias]
    favour = {"LONG": "favours longs", "SHORT": "favours shorts", "NEUTRAL": "no bias"}[bias]
    return f"Price {fmt_price(price)} is {where} VWAP {fmt_price(vwap)}: {favour}"


def _stance(agent_dir: Direction, plan_dir: TradeDirection | None) -> Stance:
    if agent_dir == "NEUTRAL" or plan_dir is None:
        return "neutral"
    return "supports" if agent_dir == plan_dir else "opposes"


def make_synthesis(
    technical: TechnicalVerdict,
    macro: MacroVerdict,
    wildcard: WildCardVerdict,
    resolution: Resolution,
    *,
    bias: Direction,
    bias_note: str,
) -> Synthesis:
    """The plan's account of who said what and how it was settled."""
    plan_dir = resolution.direction
    tech = AgentSupport(agent="technical", direction=technical.direction,
                        confidence=technical.confidence,
                        stance=_stance(technical.direction, plan_dir),
                        note=f"entry type {technical.entry_type}, "
                             f"pattern {technical.pattern_state}")
    mac = AgentSupport(agent="macro", direction=macro.direction, confidence=macro.confidence,
                       stance=_stance(macro.direction, plan_dir),
                       note=f"regime {macro.regime}, alignment {macro.alignment:.0f}%")
    risks = "; ".join(f"{r.severity}: {r.description}" for r in wildcard.risks) or "no risks found"
    return Synthesis(technical=tech, macro=mac, agreement=resolution.agreement,
                     resolution=resolution.rule, wildcard_risk=wildcard.overall_risk,
                     wildcard_summary=risks, vwap_bias=bias, vwap_note=bias_note)
